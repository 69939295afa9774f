/**
 * A minimal, checked ZIP reader and writer: what PyTorch's `.pt` files need (torch.save writes a
 * zip archive through caffe2's PyTorchStreamWriter, miniz underneath).
 *
 * Reading takes the whole file as one Buffer and trusts nothing in it: every offset and size is
 * checked against the file before it is used, so nothing larger than the file is allocated
 * (deflated entries may not claim more than deflate's maximum ratio). Refused, as ERR_CHECKPOINT
 * naming the problem: truncated archives, bad magic, entries outside the file or overlapping,
 * names that are absolute or contain "..", duplicate names, encryption, compression methods
 * other than stored (0) and deflate (8), multi-disk archives and CRC-32 mismatches.
 * Zip64 records are read when present.
 *
 * Writing produces STORED entries whose data starts at a multiple of 64 bytes (padded with an
 * "FB" extra field of 'Z's, exactly as PyTorchStreamWriter does, so libtorch can map tensors in
 * place), UTF-8 names, a fixed timestamp (reproducible files), and zip64 records when an offset,
 * size or count needs them.
 */
import * as zlib from 'zlib';
import { badFile } from '../errors';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const U16 = 0xffff;
const U32 = 0xffffffff;
/** deflate cannot expand data by more than about 1032:1; a larger claim is a lie (a zip bomb). */
const MAX_DEFLATE_RATIO = 1032;

/** One file in an archive, as its central directory describes it (after the checks). */
export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate. */
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  /** Uncompressed size in bytes. */
  readonly size: number;
  readonly localOffset: number;
  /** Where the entry's (possibly compressed) bytes start in the file. */
  readonly dataOffset: number;
}

/** A checked archive over one file's bytes. */
export class ZipReader {
  /** Entries in central-directory order, by name. */
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly buf: Buffer;
  private readonly file: string;

  /** @internal Use readZip(). */
  constructor(buf: Buffer, file: string, entries: Map<string, ZipEntry>) {
    this.buf = buf;
    this.file = file;
    this.entries = entries;
  }

  /** Entry names in central-directory order. */
  names(): string[] { return [...this.entries.keys()]; }

  has(name: string): boolean { return this.entries.has(name); }

  /**
   * The uncompressed bytes of an entry, CRC-checked. Stored entries are views into the file's
   * Buffer (no copy). Throws ERR_CHECKPOINT if the entry is missing or corrupt.
   */
  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (e === undefined) badFile(this.file, `the archive has no entry "${name}"`);
    const raw = this.buf.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
    let out: Buffer;
    if (e.method === 0) {
      out = raw;
    } else {
      try {
        out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        badFile(this.file, `entry "${name}" is corrupt (${(err as Error).message})`);
      }
      if (out.length !== e.size) badFile(this.file, `entry "${name}" inflates to ${out.length} bytes, not the ${e.size} its header says`);
    }
    if ((zlib.crc32(out) >>> 0) !== e.crc32) badFile(this.file, `entry "${name}" is corrupt (CRC-32 mismatch)`);
    return out;
  }
}

function u64(buf: Buffer, at: number, file: string, what: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) badFile(file, `the zip64 ${what} ${v} is beyond any file size`);
  return Number(v);
}

/** Names must stay inside the archive: no absolute paths, drive letters, backslashes or "..". */
function checkName(name: string, file: string): void {
  const unsafe = name.length === 0 || name.includes('\0') || name.startsWith('/') || name.includes('\\') || /^[A-Za-z]:/.test(name)
    || name.split('/').includes('..');
  if (unsafe) badFile(file, `entry name ${JSON.stringify(name)} is not a safe relative path (absolute, or with "..")`);
}

function findEocd(buf: Buffer): number {
  const stop = Math.max(0, buf.length - 22 - U16);
  for (let p = buf.length - 22; p >= stop; p--) {
    if (buf.readUInt32LE(p) === SIG_EOCD && p + 22 + buf.readUInt16LE(p + 20) <= buf.length) return p;
  }
  return -1;
}

function hex(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Parses and checks an archive's directory. Entry data is checked (CRC) when read.
 * `file` names the file in error messages.
 */
export function readZip(buf: Buffer, file: string): ZipReader {
  if (buf.length === 0) badFile(file, 'the file is empty');
  if (buf.length < 4 || buf.readUInt32LE(0) !== SIG_LOCAL) {
    if (buf.length >= 4 && buf.readUInt32LE(0) === SIG_EOCD) badFile(file, 'the zip archive has no entries');
    if (buf[0] === 0x80) badFile(file, 'it is a bare pickle, not a zip archive (torch.save\'s legacy format from before PyTorch 1.6, or pickle.dump); re-save it with a current torch.save');
    badFile(file, `not a zip archive (PyTorch files start with the bytes 50 4b 03 04, this one with ${hex(buf.subarray(0, 4))})`);
  }
  const eocd = findEocd(buf);
  if (eocd < 0) badFile(file, `the zip archive is truncated or corrupt (no end-of-central-directory record in its ${buf.length} bytes)`);
  let disk = buf.readUInt16LE(eocd + 4);
  let cdDisk = buf.readUInt16LE(eocd + 6);
  let onDisk = buf.readUInt16LE(eocd + 8);
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  let cdEnd = eocd;
  const loc = eocd - 20;
  if (loc >= 0 && buf.readUInt32LE(loc) === SIG_LOCATOR64) {
    const at = u64(buf, loc + 8, file, 'end-of-central-directory offset');
    if (at + 56 > loc || buf.readUInt32LE(at) !== SIG_EOCD64) badFile(file, 'the zip64 end-of-central-directory record is missing or corrupt');
    disk = buf.readUInt32LE(at + 16);
    cdDisk = buf.readUInt32LE(at + 20);
    onDisk = u64(buf, at + 24, file, 'entry count');
    count = u64(buf, at + 32, file, 'entry count');
    cdSize = u64(buf, at + 40, file, 'central directory size');
    cdOffset = u64(buf, at + 48, file, 'central directory offset');
    cdEnd = at;
  } else if (count === U16 || cdSize === U32 || cdOffset === U32) {
    badFile(file, 'the zip archive is truncated or corrupt (its zip64 end-of-central-directory locator is missing)');
  }
  if (disk !== 0 || cdDisk !== 0 || onDisk !== count) badFile(file, 'multi-disk (split) zip archives are not supported');
  if (cdOffset + cdSize > cdEnd) badFile(file, `the central directory (bytes ${cdOffset}–${cdOffset + cdSize}) lies outside the file (${buf.length} bytes)`);
  if (count === 0) badFile(file, 'the zip archive has no entries');
  if (count * 46 > cdSize) badFile(file, `the central directory (${cdSize} bytes) is too small for the ${count} entries it claims`);

  const entries = new Map<string, ZipEntry>();
  const spans: [number, number, string][] = [];
  const cdStop = cdOffset + cdSize;
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdStop || buf.readUInt32LE(p) !== SIG_CENTRAL) badFile(file, `central directory entry ${i} is corrupt`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let comp = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let startDisk = buf.readUInt16LE(p + 34);
    let local = buf.readUInt32LE(p + 42);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > cdStop) badFile(file, `central directory entry ${i} is corrupt (it runs past the directory's end)`);
    const nameBytes = buf.subarray(p + 46, p + 46 + nameLen);
    const name = nameBytes.toString('utf8');
    // zip64 extended information: the 64-bit values of the fields set to 0xFFFFFFFF, in order.
    for (let q = p + 46 + nameLen, end = q + extraLen; q + 4 <= end;) {
      const id = buf.readUInt16LE(q);
      const len = buf.readUInt16LE(q + 2);
      if (q + 4 + len > end) badFile(file, `entry ${JSON.stringify(name)} has a corrupt extra field`);
      if (id === 0x0001) {
        let r = q + 4;
        const take = (what: string): number => {
          if (r + 8 > q + 4 + len) badFile(file, `entry ${JSON.stringify(name)} has a truncated zip64 extra field`);
          const v = u64(buf, r, file, what);
          r += 8;
          return v;
        };
        if (size === U32) size = take('size');
        if (comp === U32) comp = take('compressed size');
        if (local === U32) local = take('offset');
        if (startDisk === U16) {
          if (r + 4 > q + 4 + len) badFile(file, `entry ${JSON.stringify(name)} has a truncated zip64 extra field`);
          startDisk = buf.readUInt32LE(r);
        }
      }
      q += 4 + len;
    }
    checkName(name, file);
    if (entries.has(name)) badFile(file, `duplicate entry ${JSON.stringify(name)}`);
    if (startDisk !== 0) badFile(file, 'multi-disk (split) zip archives are not supported');
    if (flags & 0x41) badFile(file, `entry ${JSON.stringify(name)} is encrypted`);
    if (method !== 0 && method !== 8) badFile(file, `entry ${JSON.stringify(name)} uses compression method ${method} (only stored and deflate are supported)`);
    if (method === 0 && comp !== size) badFile(file, `entry ${JSON.stringify(name)} is stored but its sizes differ (${comp} and ${size} bytes)`);
    if (method === 8 && size > comp * MAX_DEFLATE_RATIO + 64) badFile(file, `entry ${JSON.stringify(name)} claims ${size} bytes from ${comp} compressed bytes, more than deflate can produce`);
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== SIG_LOCAL) badFile(file, `entry ${JSON.stringify(name)} points outside the file or at no local header (offset ${local}, the file has ${buf.length} bytes)`);
    const localNameLen = buf.readUInt16LE(local + 26);
    const dataOffset = local + 30 + localNameLen + buf.readUInt16LE(local + 28);
    const dataEnd = dataOffset + comp;
    if (dataEnd > buf.length) badFile(file, `entry ${JSON.stringify(name)} (bytes ${dataOffset}–${dataEnd}) points outside the file (${buf.length} bytes)`);
    if (dataEnd > cdOffset) badFile(file, `entry ${JSON.stringify(name)} (bytes ${dataOffset}–${dataEnd}) overlaps the central directory (from byte ${cdOffset})`);
    if (!buf.subarray(local + 30, local + 30 + localNameLen).equals(nameBytes)) badFile(file, `entry ${JSON.stringify(name)}: its local header names ${JSON.stringify(buf.subarray(local + 30, local + 30 + localNameLen).toString('utf8'))}`);
    entries.set(name, { name, method, crc32: crc, compressedSize: comp, size, localOffset: local, dataOffset });
    spans.push([local, dataEnd, name]);
    p = next;
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) badFile(file, `entries ${JSON.stringify(spans[i - 1][2])} and ${JSON.stringify(spans[i][2])} overlap`);
  }
  return new ZipReader(buf, file, entries);
}

/** One file to write. */
export interface ZipRecord { name: string; data: ArrayBufferView }

/**
 * Builds an archive of STORED entries, each entry's data aligned to `align` bytes (64, as
 * PyTorchStreamWriter does). `zip64: true` writes zip64 records even when nothing needs them
 * (tests use it); otherwise they are written only when an offset, size or count overflows.
 */
export function writeZip(records: ZipRecord[], opts: { align?: number; zip64?: boolean } = {}): Buffer {
  const align = opts.align ?? 64;
  const force = opts.zip64 === true;
  const names = new Set<string>();
  type Laid = { name: Buffer; data: Buffer; offset: number; dataOffset: number; crc: number; zip64Local: boolean };
  const laid: Laid[] = [];
  let offset = 0;
  for (const r of records) {
    if (names.has(r.name)) throw new Error(`torchrnn: duplicate zip entry ${r.name}`);
    names.add(r.name);
    const name = Buffer.from(r.name, 'utf8');
    const data = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
    const zip64Local = force || data.length >= U32;
    const before = offset + 30 + name.length + (zip64Local ? 20 : 0) + 4;
    const pad = (align - (before % align)) % align;
    const dataOffset = before + pad;
    laid.push({ name, data, offset, dataOffset, crc: zlib.crc32(data) >>> 0, zip64Local });
    offset = dataOffset + data.length;
  }
  const cdOffset = offset;
  const central64 = laid.map((e) => ({
    size: force || e.data.length >= U32,
    offset: force || e.offset >= U32,
  }));
  const cdSize = laid.reduce((n, e, i) => {
    const c = central64[i];
    const x = (c.size ? 16 : 0) + (c.offset ? 8 : 0);
    return n + 46 + e.name.length + (x ? 4 + x : 0);
  }, 0);
  const zip64End = force || laid.length >= U16 || cdOffset >= U32 || cdSize >= U32;
  const total = cdOffset + cdSize + (zip64End ? 56 + 20 : 0) + 22;
  const out = Buffer.alloc(total);
  const DOS_DATE = 0x21; // 1980-01-01, 00:00: a fixed timestamp keeps files reproducible
  for (const e of laid) {
    let q = e.offset;
    q = out.writeUInt32LE(SIG_LOCAL, q);
    q = out.writeUInt16LE(e.zip64Local ? 45 : 10, q); // version needed
    q = out.writeUInt16LE(0x0800, q); // UTF-8 names
    q = out.writeUInt16LE(0, q); // stored
    q = out.writeUInt16LE(0, q); // time
    q = out.writeUInt16LE(DOS_DATE, q);
    q = out.writeUInt32LE(e.crc, q);
    q = out.writeUInt32LE(e.zip64Local ? U32 : e.data.length, q);
    q = out.writeUInt32LE(e.zip64Local ? U32 : e.data.length, q);
    q = out.writeUInt16LE(e.name.length, q);
    const pad = e.dataOffset - (e.offset + 30 + e.name.length + (e.zip64Local ? 20 : 0) + 4);
    q = out.writeUInt16LE((e.zip64Local ? 20 : 0) + 4 + pad, q);
    q += e.name.copy(out, q);
    if (e.zip64Local) {
      q = out.writeUInt16LE(0x0001, q);
      q = out.writeUInt16LE(16, q);
      q = out.writeBigUInt64LE(BigInt(e.data.length), q);
      q = out.writeBigUInt64LE(BigInt(e.data.length), q);
    }
    q += out.write('FB', q, 'latin1');
    q = out.writeUInt16LE(pad, q);
    out.fill(0x5a /* 'Z' */, q, q + pad);
    e.data.copy(out, e.dataOffset);
  }
  let q = cdOffset;
  laid.forEach((e, i) => {
    const c = central64[i];
    const x = (c.size ? 16 : 0) + (c.offset ? 8 : 0);
    q = out.writeUInt32LE(SIG_CENTRAL, q);
    q = out.writeUInt16LE(x ? 45 : 20, q); // version made by (MS-DOS attributes)
    q = out.writeUInt16LE(x ? 45 : 10, q); // version needed
    q = out.writeUInt16LE(0x0800, q);
    q = out.writeUInt16LE(0, q);
    q = out.writeUInt16LE(0, q);
    q = out.writeUInt16LE(DOS_DATE, q);
    q = out.writeUInt32LE(e.crc, q);
    q = out.writeUInt32LE(c.size ? U32 : e.data.length, q);
    q = out.writeUInt32LE(c.size ? U32 : e.data.length, q);
    q = out.writeUInt16LE(e.name.length, q);
    q = out.writeUInt16LE(x ? 4 + x : 0, q);
    q = out.writeUInt16LE(0, q); // comment
    q = out.writeUInt16LE(0, q); // disk
    q = out.writeUInt16LE(0, q); // internal attributes
    q = out.writeUInt32LE(0, q); // external attributes
    q = out.writeUInt32LE(c.offset ? U32 : e.offset, q);
    q += e.name.copy(out, q);
    if (x) {
      q = out.writeUInt16LE(0x0001, q);
      q = out.writeUInt16LE(x, q);
      if (c.size) {
        q = out.writeBigUInt64LE(BigInt(e.data.length), q);
        q = out.writeBigUInt64LE(BigInt(e.data.length), q);
      }
      if (c.offset) q = out.writeBigUInt64LE(BigInt(e.offset), q);
    }
  });
  if (zip64End) {
    const at = q;
    q = out.writeUInt32LE(SIG_EOCD64, q);
    q = out.writeBigUInt64LE(44n, q); // size of the rest of this record
    q = out.writeUInt16LE(45, q);
    q = out.writeUInt16LE(45, q);
    q = out.writeUInt32LE(0, q);
    q = out.writeUInt32LE(0, q);
    q = out.writeBigUInt64LE(BigInt(laid.length), q);
    q = out.writeBigUInt64LE(BigInt(laid.length), q);
    q = out.writeBigUInt64LE(BigInt(cdSize), q);
    q = out.writeBigUInt64LE(BigInt(cdOffset), q);
    q = out.writeUInt32LE(SIG_LOCATOR64, q);
    q = out.writeUInt32LE(0, q);
    q = out.writeBigUInt64LE(BigInt(at), q);
    q = out.writeUInt32LE(1, q);
  }
  q = out.writeUInt32LE(SIG_EOCD, q);
  q = out.writeUInt16LE(0, q);
  q = out.writeUInt16LE(0, q);
  q = out.writeUInt16LE(zip64End ? U16 : laid.length, q);
  q = out.writeUInt16LE(zip64End ? U16 : laid.length, q);
  q = out.writeUInt32LE(zip64End ? U32 : cdSize, q);
  q = out.writeUInt32LE(zip64End ? U32 : cdOffset, q);
  out.writeUInt16LE(0, q);
  return out;
}
