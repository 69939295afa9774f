// Hand-made .pt files for test/51 and 52: a tiny pickle assembler, a writer of .pt archives
// around a pickle, and a reader of one stored zip entry (the library's reader is what is under
// test elsewhere).
import * as fs from 'fs';
import * as path from 'path';
import { writeZip } from '../lib/serialization/zip';

/** Bytes: strings as latin1, arrays of byte values, Buffers. */
export const B = (...parts: (string | number[] | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
/** BINUNICODE: a UTF-8 string. */
export const X = (s: string) => { const b = Buffer.from(s, 'utf8'); const n = Buffer.alloc(4); n.writeUInt32LE(b.length); return B('X', n, b); };
/** BININT1: a small int. */
export const K = (n: number) => B([0x4b, n]);
/** torch._utils._rebuild_tensor_v2 of a storage, as torch.save writes it. */
export const tensorCall = (key: string, storage: string, numel: number, size: number[], stride: number[], offset = 0, grad = false) => B(
  'ctorch._utils\n_rebuild_tensor_v2\n((', X('storage'), `ctorch\n${storage}\n`, X(key), X('cpu'), K(numel), 't', 'Q', K(offset),
  '(', ...size.map(K), 't', '(', ...stride.map(K), 't', [grad ? 0x88 : 0x89], 'ccollections\nOrderedDict\n)Rt', 'R');

/** Writes dir/name, a .pt archive (folder "h/") with the given pickle and storages; gives its path. */
export function archive(dir: string, name: string, pkl: Buffer, storages: [string, Buffer][] = [], folder = 'h'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, writeZip([
    { name: `${folder}/data.pkl`, data: pkl },
    ...storages.map(([k, d]) => ({ name: `${folder}/data/${k}`, data: d })),
    { name: `${folder}/version`, data: Buffer.from('3\n') },
  ]));
  return file;
}

/** One stored entry's bytes (test helper; the library's reader is what is under test elsewhere). */
export function loadZipEntry(buf: Buffer, name: string): Buffer {
  let p = buf.readUInt32LE(buf.length - 22 + 16);
  for (;;) {
    const n = buf.readUInt16LE(p + 28);
    const entry = buf.subarray(p + 46, p + 46 + n).toString('utf8');
    if (entry === name) {
      const local = buf.readUInt32LE(p + 42);
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      return buf.subarray(start, start + buf.readUInt32LE(p + 20));
    }
    p += 46 + n + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
}
