/**
 * Crash-safe writes: the data goes to a temporary file in the target's directory, is fsynced,
 * renamed over the target, and the directory is fsynced. A crash at any moment leaves either
 * the previous file or the new one, never a torn one (a stale `.tmp-*` file may remain).
 */
import * as fs from 'fs';
import * as path from 'path';

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now().toString(36)}`);
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
}
