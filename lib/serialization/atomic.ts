/**
 * Crash-safe writes: the data goes to a temporary file in the target's directory, is fsynced,
 * renamed over the target, and the directory is fsynced. A crash at any moment leaves either
 * the previous file or the new one, never a torn one. A killed writer leaves its `.tmp-*` file;
 * the next successful write to the same target removes those of processes no longer alive.
 */
import * as fs from 'fs';
import * as path from 'path';

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now().toString(36)}`);
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

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch { /* some filesystems refuse to fsync directories */ }
}

export function writeFileAtomic(file: string, data: Buffer): void {
  const tmp = tempName(file);
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
  removeStale(file);
}

export async function writeFileAtomicAsync(file: string, data: Buffer): Promise<void> {
  const tmp = tempName(file);
  const fh = await fs.promises.open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await fs.promises.rename(tmp, file);
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
    write(tmp);
    fsyncFile(tmp);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
  removeStale(file);
}

/** writeWithAtomic for an asynchronous writer. */
export async function writeWithAtomicAsync(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempName(file);
  try {
    await write(tmp);
    const fh = await fs.promises.open(tmp, 'r+');
    try { await fh.sync(); } finally { await fh.close(); }
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await fs.promises.rename(tmp, file);
  syncDir(path.dirname(file));
  removeStale(file);
}
