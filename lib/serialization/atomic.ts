/**
 * Crash-safe writes: the data goes to a temporary file in the target's directory, is fsynced,
 * renamed over the target, and the directory is fsynced. A crash at any moment leaves either
 * the previous file or the new one, never a torn one. A killed writer leaves its `.tmp-*` file;
 * the next successful write to the same target removes those of processes no longer alive.
 * A file that cannot be written (no such directory, a read-only or virtual file system, a
 * directory in the way, a full disk) throws ERR_CHECKPOINT naming the target:
 * `Cannot save <file>: <reason> (<errno code>)`, and leaves no temporary file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { threadId } from 'worker_threads';
import { TorchError } from '../errors';

let written = 0;

/**
 * A temporary name no other writer in the process uses: the pid (removeStale reads it), the
 * worker thread and a counter. Two saves of one file at once (un-awaited saveAsync calls,
 * workers) wrote the same temporary file within a millisecond, and one failed with ENOENT.
 */
function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${threadId}-${Date.now().toString(36)}-${(written++).toString(36)}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temporary files that dead writers left for this target. */
function removeStale(file: string): void {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.tmp-`;
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) fs.rmSync(path.join(dir, n), { force: true });
  }
}

/**
 * A file-system error's reason without the paths it names ("ENOENT: no such file or directory,
 * open '/dir/.x.tmp-…'" → "no such file or directory (ENOENT)"), or null for another error.
 */
export function fileSystemReason(err: unknown): string | null {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || typeof e.syscall !== 'string') return null;
  return `${e.message.replace(/^[A-Z0-9_]+: /, '').replace(/, \w+ '[\s\S]*$/, '')} (${e.code})`;
}

/**
 * The error a failed write throws: ERR_CHECKPOINT naming the target (not the temporary file) for
 * a file-system error or libtorch's refusal to write; anything else as it is.
 */
function saveError(file: string, tmp: string, err: unknown): unknown {
  let reason: string;
  if (err instanceof TorchError) {
    if (err.code !== 'ERR_TORCH') return err;
    reason = err.message.split(tmp).join(file);
  } else {
    const r = fileSystemReason(err);
    if (r === null) return err;
    reason = r;
  }
  const out = new TorchError(`Cannot save ${file}: ${reason}`, 'ERR_CHECKPOINT');
  Object.defineProperty(out, 'cause', { value: err, configurable: true, writable: true });
  return out;
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch { /* some filesystems refuse to fsync directories */ }
}

/**
 * `fs.promises.mkdir(dir, { recursive: true })` without its endless loop: Node's recursive mkdir
 * retries forever where mkdir fails with ENOENT under a parent that exists (a directory in
 * /proc or /sys; seen with Node 20). Throws the file system's error.
 */
export async function makeDirectory(dir: string): Promise<void> {
  const made = async (d: string) => {
    try {
      await fs.promises.mkdir(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!(await fs.promises.stat(d)).isDirectory()) throw err;
    }
  };
  try {
    await made(dir);
  } catch (err) {
    const parent = path.dirname(dir);
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dir) throw err;
    await makeDirectory(parent);
    await made(dir); // once more, now that the parent exists: a second ENOENT is final
  }
}

export function writeFileAtomic(file: string, data: Buffer): void {
  const tmp = tempName(file);
  try {
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw saveError(file, tmp, err);
  }
  syncDir(path.dirname(file));
  removeStale(file);
}

export async function writeFileAtomicAsync(file: string, data: Buffer): Promise<void> {
  const tmp = tempName(file);
  try {
    const fh = await fs.promises.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw saveError(file, tmp, err);
  }
  syncDir(path.dirname(file));
  removeStale(file);
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

/**
 * writeFileAtomic for a writer that makes the file itself (libtorch's Module::save): `write`
 * writes the temporary file it is given, which is then fsynced and renamed over `file`.
 */
export function writeWithAtomic(file: string, write: (tmp: string) => void): void {
  const tmp = tempName(file);
  try {
    fs.closeSync(fs.openSync(tmp, 'w', 0o644)); // an unwritable place fails here, with the file system's reason
    write(tmp);
    fsyncFile(tmp);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw saveError(file, tmp, err);
  }
  syncDir(path.dirname(file));
  removeStale(file);
}

/** writeWithAtomic for an asynchronous writer. */
export async function writeWithAtomicAsync(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempName(file);
  try {
    await (await fs.promises.open(tmp, 'w', 0o644)).close();
    await write(tmp);
    const fh = await fs.promises.open(tmp, 'r+');
    try { await fh.sync(); } finally { await fh.close(); }
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw saveError(file, tmp, err);
  }
  syncDir(path.dirname(file));
  removeStale(file);
}
