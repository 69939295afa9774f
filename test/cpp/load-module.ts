// Builds test/cpp/load_module.cc (a C++ program that torch::jit::load's an archive and runs it)
// with g++ against the libtorch the loaded addon links, once: the binary is cached in
// build/test-cpp/ under a hash of the source and the compile command, so a later run reuses it.
// Used by test/57 to check that torchrnn's TorchScript archives load in C++.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../../lib';
import { ROOT, values } from '../helpers';

const SOURCE = path.join(__dirname, 'load_module.cc');
const CACHE = path.join(ROOT, 'build', 'test-cpp');
// g++ must not be given the compiler's own system directories (#include_next breaks)
const SYSTEM_INCLUDES = new Set(['/usr/include', '/usr/local/include']);

export interface CppBuild {
  binary: string;
  /** Seconds the compile took, or null when the cached binary was used. */
  compileSeconds: number | null;
  libDir: string;
}

/** The libtorch_cpu library mapped into this process (the addon's), resolved through symlinks. */
function addonLibtorch(): string | null {
  let maps: string;
  try { maps = fs.readFileSync('/proc/self/maps', 'utf8'); } catch { return null; }
  const file = maps.split('\n').map((l) => l.split(/\s+/)[5]).find((f) => f && /\/libtorch_cpu\.so[^/]*$/.test(f));
  return file ? fs.realpathSync(file) : null;
}

/** The CMake package dir the addon was configured with (build/CMakeCache.txt's Torch_DIR), if there is one. */
function cmakeTorchDir(): string | null {
  try {
    const m = /^Torch_DIR:PATH=(.+)$/m.exec(fs.readFileSync(path.join(ROOT, 'build', 'CMakeCache.txt'), 'utf8'));
    return m ? m[1].trim() : null;
  } catch {
    return null;
  }
}

/**
 * The built program, or the reason it cannot be built here (no compiler, no libtorch headers,
 * or the libtorch with headers is not the one the addon links).
 */
export function buildLoadModule(): CppBuild | { skip: string } {
  torch.zeros([1]); // the addon (and so libtorch) is loaded
  const linked = addonLibtorch();
  if (!linked) return { skip: 'cannot tell which libtorch the addon links (no /proc/self/maps)' };
  const torchDir = cmakeTorchDir();
  const lookup = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'find-libtorch.js'), '--json'],
    { encoding: 'utf8', timeout: 120000, env: torchDir ? { ...process.env, LIBTORCH: torchDir } : process.env });
  if (lookup.status !== 0) return { skip: `no libtorch with headers (scripts/find-libtorch.js: ${lookup.stderr.split('\n')[0]}); install libtorch-dev` };
  const found = JSON.parse(lookup.stdout) as { includeDirs: string[]; libDir: string; version: string };
  let foundLib: string;
  try { foundLib = fs.realpathSync(path.join(found.libDir, 'libtorch_cpu.so')); } catch { return { skip: `no libtorch_cpu.so in ${found.libDir}` }; }
  if (foundLib !== linked) return { skip: `the libtorch with headers (${foundLib}) is not the one the addon links (${linked})` };
  const headers = found.includeDirs.filter((d) => !SYSTEM_INCLUDES.has(path.resolve(d)));
  if (!fs.existsSync(path.join(found.includeDirs[0], 'torch', 'script.h'))) return { skip: `no torch/script.h in ${found.includeDirs[0]}; install libtorch-dev` };
  const cxx = process.env.CXX || 'g++';
  const version = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) return { skip: `no C++ compiler (${cxx}); install g++` };
  const args = ['-std=c++17', '-O0', '-D_GLIBCXX_USE_CXX11_ABI=1', ...headers.map((d) => `-I${d}`), SOURCE,
    `-L${found.libDir}`, `-Wl,-rpath,${found.libDir}`, '-Wl,--no-as-needed', '-ltorch', '-ltorch_cpu', '-lc10'];
  const key = crypto.createHash('sha256').update(fs.readFileSync(SOURCE)).update(JSON.stringify([cxx, version.stdout.split('\n')[0], args, linked])).digest('hex').slice(0, 16);
  const binary = path.join(CACHE, `load_module-${key}`);
  if (fs.existsSync(binary)) return { binary, compileSeconds: null, libDir: found.libDir };
  fs.mkdirSync(CACHE, { recursive: true });
  const tmp = `${binary}.tmp-${process.pid}`;
  const start = process.hrtime.bigint();
  const cc = spawnSync(cxx, [...args, '-o', tmp], { encoding: 'utf8', timeout: 600000 });
  const compileSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (cc.status !== 0) {
    fs.rmSync(tmp, { force: true });
    assert.fail(`${cxx} ${args.join(' ')} failed:\n${cc.stderr.slice(-3000)}`);
  }
  fs.renameSync(tmp, binary); // atomic: a concurrent run sees the whole binary or none
  for (const old of fs.readdirSync(CACHE)) {
    if (/^load_module-[0-9a-f]{16}$/.test(old) && old !== path.basename(binary)) fs.rmSync(path.join(CACHE, old), { force: true }); // an older source's
  }
  return { binary, compileSeconds, libDir: found.libDir };
}

export interface CppResult {
  training: boolean;
  evalTraining: boolean;
  parameters: [string, number[]][];
  buffers: [string, number[]][];
  outputs: { shape: number[]; data: number[] }[];
}

/**
 * Runs archives in the C++ program, each on its inputs (written to text files in `dir`), in one
 * process (libtorch loads once): one result per archive, in order.
 */
export function runInCpp(binary: string, runs: [archive: string, inputs: torch.Tensor[]][], dir: string): CppResult[] {
  const args = runs.flatMap(([archive, inputs]) => {
    const spec = path.join(dir, `${path.basename(archive)}.inputs.txt`);
    fs.writeFileSync(spec, [String(inputs.length), ...inputs.map((t) => [t.dtype, t.dim(), ...t.shape, ...values(t)].join(' '))].join('\n') + '\n');
    return [archive, spec];
  });
  const r = spawnSync(binary, args, { encoding: 'utf8', timeout: 120000, maxBuffer: 256 * 1024 * 1024 });
  assert.strictEqual(r.status, 0, `${path.basename(binary)}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.strictEqual(lines.length, runs.length, r.stdout);
  return lines.map((line) => {
    const out = JSON.parse(line) as CppResult;
    for (const o of out.outputs) o.data = o.data.map(Number);
    return out;
  });
}
