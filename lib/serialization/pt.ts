/**
 * PyTorch's `.pt` / `.pth` files (torch.save's zip format, PyTorch ≥ 1.6), both ways, in
 * TypeScript: no native code, and loading never executes anything from the file.
 *
 * A file is a zip archive whose entries live in one folder, `<archive>/` (torch 1.13 names it
 * after the file, without extension): `data.pkl` (a pickle of the object, tensors as
 * `torch._utils._rebuild_tensor_v2` calls on persistent storage ids), `data/<key>` (each
 * storage's raw little-endian bytes, 64-byte aligned) and `version` ("3\n").
 * See zip.ts for the archive checks and pickle/globals.ts for what the restricted unpickler accepts
 * and how Python values map to JavaScript.
 */
import * as fs from 'fs';
import * as path from 'path';
import { fromBuffer } from '../creation';
import { DType, ITEM_SIZE } from '../dtype';
import { badFile, TorchError } from '../errors';
import { Tensor } from '../tensor';
import { writeFileAtomic, writeFileAtomicAsync } from './atomic';
import { pickle, unpickle } from './pickle';
import { readZip, writeZip } from './zip';

/** What a `.pt` file holds once loaded, and what savePt() writes. */
export type PtValue =
  | Tensor | number | bigint | string | boolean | null
  | PtValue[] | { [key: string]: PtValue } | Map<string | number | bigint, PtValue>;

/** Options of savePt. @internal `zip64` forces zip64 records (tests). */
export interface SavePtOptions { zip64?: boolean }

/** torch 1.13 names the archive folder after the file: its base name up to the last dot. */
function archiveName(file: string): string {
  const base = path.basename(file);
  const dot = base.lastIndexOf('.');
  const name = dot >= 0 ? base.slice(0, dot) : base;
  return name.length > 0 ? name : 'archive';
}

function encode(file: string, pkl: Buffer, data: ArrayBufferView[], opts: SavePtOptions): Buffer {
  const dir = archiveName(file);
  // torch.save writes the storages in the order of their keys sorted as strings.
  const keys = data.map((_, i) => String(i)).sort();
  return writeZip([
    { name: `${dir}/data.pkl`, data: pkl },
    ...keys.map((k) => ({ name: `${dir}/data/${k}`, data: data[Number(k)] })),
    { name: `${dir}/version`, data: Buffer.from('3\n') },
  ], { zip64: opts.zip64 === true });
}

/**
 * Writes `obj` (a state dict, or nested objects, arrays and Maps of tensors and primitives)
 * as torch.save does, atomically (temporary file, fsync, rename). Python reads it with
 * `torch.load(path)` (`weights_only=True` too, unless it holds non-integral numbers: torch
 * 1.13's weights-only unpickler has no opcode for floats). Each tensor is written contiguous,
 * with its own storage; the same Tensor object twice is written once.
 * @example savePt({ weight: torch.ones([2, 3]) }, 'model.pt');
 */
export function savePt(obj: unknown, file: string, opts: SavePtOptions = {}): void {
  const { pkl, tensors } = pickle(obj);
  writeFileAtomic(file, encode(file, pkl, tensors.map((t) => t.dataSync()), opts));
}

/** savePt() with tensor data read after the queued async jobs, and the file written without blocking. */
export async function savePtAsync(obj: unknown, file: string, opts: SavePtOptions = {}): Promise<void> {
  const { pkl, tensors } = pickle(obj);
  const data = await Promise.all(tensors.map((t) => t.data()));
  await writeFileAtomicAsync(file, encode(file, pkl, data, opts));
}

/**
 * Parses a whole `.pt` file. Corrupt or hostile files throw ERR_CHECKPOINT naming the problem
 * (a refused global is named: `Refusing to load global os.system from <file>: …`).
 */
export function decodePt(buf: Buffer, file: string): PtValue {
  const zip = readZip(buf, file);
  const first = zip.names()[0];
  const slash = first.indexOf('/');
  if (slash <= 0) badFile(file, `its first entry ${JSON.stringify(first)} is not inside a folder (torch.save writes "<name>/data.pkl")`);
  const dir = first.slice(0, slash + 1);
  if (!zip.has(`${dir}data.pkl`)) {
    if (zip.has(`${dir}constants.pkl`)) badFile(file, 'it is a TorchScript module (torch.jit.save), not a torch.save file: load it with torch.jit.load');
    badFile(file, `the archive has no ${dir}data.pkl (not a torch.save file)`);
  }
  const versionEntry = zip.has(`${dir}.data/version`) ? `${dir}.data/version` : `${dir}version`;
  if (zip.has(versionEntry)) {
    const v = zip.read(versionEntry).toString('latin1').trim();
    if (!/^[0-9]{1,3}$/.test(v)) badFile(file, `its format version ${JSON.stringify(v.slice(0, 20))} is not a number`);
  }
  return unpickle(zip.read(`${dir}data.pkl`), {
    file,
    readStorage(key: string, dtype: DType, numel: number): Tensor {
      const name = `${dir}data/${key}`;
      const e = zip.entries.get(name);
      if (e === undefined) badFile(file, `storage "${key}" is missing (no entry ${name})`);
      const nbytes = numel * ITEM_SIZE[dtype];
      if (e.size !== nbytes) badFile(file, `storage "${key}" holds ${e.size} bytes, but ${numel} ${dtype} elements need ${nbytes}`);
      return fromBuffer(zip.read(name), { dtype, shape: [numel] });
    },
  }) as PtValue;
}

function readChecked(file: string): Buffer {
  let stat: fs.Stats;
  try { stat = fs.statSync(file); } catch { badFile(file, 'no such file'); }
  if (!stat.isFile()) badFile(file, 'not a file');
  return fs.readFileSync(file);
}

/**
 * Reads a file written by Python's torch.save (or savePt). State dicts come back as
 * `Record<string, Tensor>`; nested containers are kept (see pickle/calls.ts for the mapping).
 * @example const sd = loadPt<Record<string, Tensor>>('model.pt'); model.loadStateDict(sd);
 */
export function loadPt<T = PtValue>(file: string): T {
  return decodePt(readChecked(file), file) as T;
}

/** loadPt() with the file read without blocking the event loop. */
export async function loadPtAsync<T = PtValue>(file: string): Promise<T> {
  let buf: Buffer;
  try {
    const stat = await fs.promises.stat(file);
    if (!stat.isFile()) badFile(file, 'not a file');
    buf = await fs.promises.readFile(file);
  } catch (err) {
    if (err instanceof TorchError) throw err;
    badFile(file, 'no such file');
  }
  return decodePt(buf, file) as T;
}
