/**
 * safetensors, as specified by its authors: an 8-byte little-endian header length N, N bytes
 * of JSON (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`,
 * padded with spaces to a multiple of 8), then the raw little-endian data; offsets are relative
 * to the data's start. Pure data, no code: the default format for checkpoints.
 * Reading copies each tensor out of the file buffer (no mmap): files are read whole, after their
 * header was checked against the file's size, so nothing larger than the file is allocated.
 */
import * as fs from 'fs';
import { fromBuffer } from '../creation';
import { DType, ITEM_SIZE } from '../dtype';
import { TorchError } from '../errors';
import { Tensor } from '../tensor';
import { writeFileAtomic, writeFileAtomicAsync } from './atomic';

/** safetensors' dtype names; the format has no complex dtype. */
const TO_ST: Partial<Record<DType, string>> = {
  bool: 'BOOL', uint8: 'U8', int8: 'I8', int16: 'I16', int32: 'I32', int64: 'I64',
  float16: 'F16', bfloat16: 'BF16', float32: 'F32', float64: 'F64',
};
const FROM_ST = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType])) as Record<string, DType>;

function bad(file: string, problem: string): never {
  throw new TorchError(`Cannot load ${file}: ${problem}`, 'ERR_CHECKPOINT');
}

/** Serializes tensors (their data read on the JS thread) and string metadata. */
export function encodeSafetensors(entries: [string, Tensor, ArrayBufferView][], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  // The reference implementation orders data by alignment (largest dtype first), then name.
  const order = [...entries].sort((a, b) => ITEM_SIZE[b[1].dtype] - ITEM_SIZE[a[1].dtype] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let offset = 0;
  for (const [name, t, data] of order) {
    const dtype = TO_ST[t.dtype];
    if (dtype === undefined) throw new TorchError(`Expected a tensor of a dtype safetensors stores (not complex) for ${name} but received ${t.describeForError()}`, 'ERR_INVALID_ARG');
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = Buffer.allocUnsafe(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let pos = 8 + json.length;
  for (const [, , data] of order) {
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, pos);
    pos += data.byteLength;
  }
  return out;
}

/** Parses and checks a whole file; every inconsistency is an ERR_CHECKPOINT naming it. */
export function decodeSafetensors(buf: Buffer, file: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  if (buf.length < 8) bad(file, `the file is ${buf.length} bytes, shorter than the 8-byte header length`);
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(buf.length - 8)) bad(file, `the header length ${n} goes beyond the end of the file (${buf.length} bytes)`);
  const headerLen = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    bad(file, `the header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) bad(file, 'the header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (info === null || typeof info !== 'object' || Array.isArray(info)) bad(file, '__metadata__ is not an object');
        for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
          if (typeof v !== 'string') bad(file, `__metadata__["${k}"] is not a string`);
          metadata[k] = v;
        }
        continue;
      }
      const e = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (e === null || typeof e !== 'object') bad(file, `the entry of tensor "${name}" is not an object`);
      const dtype = typeof e.dtype === 'string' ? FROM_ST[e.dtype] : undefined;
      if (!dtype) bad(file, `tensor "${name}" has an unsupported dtype ${JSON.stringify(e.dtype)}`);
      if (!Array.isArray(e.shape) || !e.shape.every((s) => Number.isSafeInteger(s) && s >= 0)) bad(file, `tensor "${name}" has an invalid shape ${JSON.stringify(e.shape)}`);
      const off = e.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[0] > off[1]) bad(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
      const [begin, end] = off as [number, number];
      if (end > dataLen) bad(file, `tensor "${name}" ends at byte ${end}, beyond the ${dataLen} bytes of data`);
      const shape = e.shape as number[];
      const bytes = shape.reduce((a, b) => a * BigInt(b), BigInt(ITEM_SIZE[dtype])); // exact, however large
      if (bytes !== BigInt(end - begin)) bad(file, `tensor "${name}" of dtype ${e.dtype} and shape [${shape.join(', ')}] needs ${bytes} bytes but data_offsets give ${end - begin}`);
      spans.push([begin, end, name]);
      tensors[name] = fromBuffer(buf.subarray(dataStart + begin, dataStart + end), { dtype, shape });
    }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i][0] < spans[i - 1][1]) bad(file, `tensors "${spans[i - 1][2]}" and "${spans[i][2]}" overlap`);
    }
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

function checkTensors(tensors: Record<string, Tensor>): [string, Tensor][] {
  if (tensors === null || typeof tensors !== 'object') throw new TorchError(`Expected an object of tensors for tensors but received ${String(tensors)}`, 'ERR_INVALID_ARG');
  return Object.entries(tensors).map(([k, t]) => {
    if (!(t instanceof Tensor) || t.isDisposed) throw new TorchError(`Expected a live Tensor for tensors["${k}"] but received ${t instanceof Tensor ? 'a disposed Tensor' : typeof t}`, 'ERR_INVALID_ARG');
    return [k, t];
  });
}

/** Writes tensors (and string metadata) atomically: temporary file, fsync, rename. */
export function saveSafetensors(tensors: Record<string, Tensor>, file: string, metadata?: Record<string, string>): void {
  const entries = checkTensors(tensors).map(([k, t]) => [k, t, t.dataSync()] as [string, Tensor, ArrayBufferView]);
  writeFileAtomic(file, encodeSafetensors(entries, metadata));
}

/** saveSafetensors with the data read after queued async jobs and the file written asynchronously. */
export async function saveSafetensorsAsync(tensors: Record<string, Tensor>, file: string, metadata?: Record<string, string>): Promise<void> {
  const list = checkTensors(tensors);
  // dtype and shape are read (and kept by the Tensor) now, with the data's job queued: the
  // caller may dispose the tensors once saveAsync returned, as with the .pt format.
  for (const [, t] of list) void t.shape;
  const entries = await Promise.all(list.map(async ([k, t]) => [k, t, await t.data()] as [string, Tensor, ArrayBufferView]));
  await writeFileAtomicAsync(file, encodeSafetensors(entries, metadata));
}

function readChecked(file: string): Buffer {
  let stat: fs.Stats;
  try { stat = fs.statSync(file); } catch { bad(file, 'no such file'); }
  if (!stat.isFile()) bad(file, 'not a file');
  return fs.readFileSync(file);
}

export function loadSafetensors(file: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  return decodeSafetensors(readChecked(file), file);
}

export async function loadSafetensorsAsync(file: string): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> }> {
  let buf: Buffer;
  try {
    const stat = await fs.promises.stat(file);
    if (!stat.isFile()) bad(file, 'not a file');
    buf = await fs.promises.readFile(file);
  } catch (err) {
    if (err instanceof TorchError) throw err;
    bad(file, 'no such file');
  }
  return decodeSafetensors(buf, file);
}
