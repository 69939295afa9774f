// The npm package: `npm run prebuild` (prebuildify on binding.gyp: this is CI's node-gyp
// build), `npm pack`, and an install of that tarball into a new project from the registry
// cache only, with no compiler on PATH, that runs a training step on the prebuilt binary. Then
// what the loader and the install script do where the prebuild does not fit: another libtorch,
// another build of the same libtorch (undefined symbols), a libtorch that has only its runtime
// libraries (no CMake files), none at all. With prebuilds for both libtorch lines in prebuilds/
// (npm run prebuild:all), the tarball carries both and the install picks this machine's.
import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prebuildName, PREBUILD, elfDynamic } = require('../scripts/load-addon.js') as {
  prebuildName(found: unknown): string; PREBUILD: RegExp; elfDynamic(file: string): { needed: string[]; soname: string | null } | null;
};
interface Found { version: string; libDir: string; source: string }
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { findLibtorch } = require('../scripts/find-libtorch.js') as { findLibtorch(opts?: { runtime?: boolean }): { found: Found | null } };
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const lineOf = (version: string) => version.split('.').slice(0, 2).join('.');

/**
 * A copy of the installed package whose find-libtorch.js looks only where `dirs` says: system
 * CMake dirs, system library dirs, and no Python (whose torch would be found too).
 */
function packageCopy(from: string, to: string, dirs: { cmake: string[]; lib: string[] }): string {
  fs.cpSync(from, to, { recursive: true, dereference: true });
  const finder = path.join(to, 'scripts', 'find-libtorch.js');
  const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  let src = fs.readFileSync(finder, 'utf8');
  for (const [re, by] of [
    [/const SYSTEM_CMAKE_DIRS = \[[^\]]*\];/, `const SYSTEM_CMAKE_DIRS = ${list(dirs.cmake)};`],
    [/const SYSTEM_LIB_DIRS = \[[^\]]*\];/, `const SYSTEM_LIB_DIRS = ${list(dirs.lib)};`],
    [/'python3', '\/usr\/bin\/python3'/, "'/nonexistent/python3'"],
  ] as [RegExp, string][]) {
    assert.match(src, re, `${finder} still has ${re}`);
    src = src.replace(re, by);
  }
  fs.writeFileSync(finder, src);
  return to;
}

/** A PATH holding only node, npm and sh: no compiler, cmake or make. */
function bareBin(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  // npm's own script: <prefix>/lib/node_modules/npm/bin/npm-cli.js from nodejs.org's builds,
  // /usr/share/nodejs/npm/bin/npm-cli.js from Debian 13's npm package; `npm` on PATH links to it
  const npmCli = fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

/** The modification time of the newest file under native/. */
function newestNativeSource(dir = path.join(ROOT, 'native')): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestNativeSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

describe('the npm package (prebuild, pack, install without a compiler)', function () {
  this.timeout(600000);
  let work: string;
  let tarball: string;
  let files: string[];
  let consumer: string;
  let env: NodeJS.ProcessEnv;
  let runtime: Found;          // the libtorch found by its shared libraries (what a prebuild is chosen for)
  let name: string;            // this machine's prebuild
  let lines: Set<string>;      // the libtorch lines prebuilds/ holds

  before(function () {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'torchrnn-pkg-'));
    const found = findLibtorch().found;
    assert.ok(found, 'libtorch must be installed to build a prebuild');
    name = prebuildName(found);
    runtime = findLibtorch({ runtime: true }).found!;
    assert.ok(runtime, 'the run-time lookup finds the libtorch the build lookup found');
    assert.strictEqual(prebuildName(runtime), name, 'build time and run time name the prebuild alike');
    const prebuilt = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`, name);
    // a prebuild older than the native sources (left from an earlier checkout) is made again
    if (!fs.existsSync(prebuilt) || fs.statSync(prebuilt).mtimeMs < newestNativeSource()) execFileSync('npm', ['run', 'prebuild'], { cwd: ROOT, stdio: 'inherit' });
    assert.ok(fs.existsSync(prebuilt), `npm run prebuild wrote ${prebuilt}`);
    lines = new Set(fs.readdirSync(path.dirname(prebuilt)).map((f) => PREBUILD.exec(f)).filter((m) => m).map((m) => lineOf(m![2])));
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
    const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(work, info[0].filename);
    files = info[0].files.map((f) => f.path);
    consumer = path.join(work, 'consumer');
    fs.mkdirSync(consumer);
    // The consumer's lock file lists torchrnn's dependency closure as this checkout's lock
    // resolved it, so that `npm ci --offline` installs from the npm cache alone (npm needs no
    // registry metadata with a lock file; `npm ci` here has cached every tarball).
    const spec = `file:../${path.basename(tarball)}`;
    const ours = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    const packages: Record<string, unknown> = {
      '': { name: 'consumer', version: '1.0.0', dependencies: { torchrnn: spec } },
      'node_modules/torchrnn': { version: pkg.version, resolved: spec, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines, hasInstallScript: true },
    };
    for (const [k, v] of Object.entries(ours.packages)) if (k && !v.dev && !v.devOptional) packages[k] = v;
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: { torchrnn: spec } }));
    fs.writeFileSync(path.join(consumer, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
    env = { ...process.env, PATH: bareBin(work) };
    delete env.LIBTORCH;
    delete env.CXX;
    delete env.TORCHRNN_ADDON; // the installed package's own choice is tested here (npm run test:asan sets it)
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('npm pack holds the prebuild, compiled JS and types, and no tests, fixtures or build leftovers', () => {
    assert.ok(files.includes(`prebuilds/${process.platform}-${process.arch}/${name}`), `this machine's prebuild ${name}`);
    // every line in prebuilds/ (both, after npm run prebuild:all) is in the tarball
    const packed = new Set(files.map((f) => PREBUILD.exec(path.basename(f))).filter((m) => m).map((m) => lineOf(m![2])));
    assert.deepStrictEqual([...packed].sort(), [...lines].sort());
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/index.mjs', 'dist/tfjs/index.js', 'dist/tfjs/index.d.ts', 'dist/tfjs/node.js', 'dist/tfjs/node-image.js', 'dist/cli/main.js', 'scripts/load-addon.js', 'scripts/install.js', 'scripts/find-libtorch.js', 'native/addon.cc', 'CMakeLists.txt', 'binding.gyp', 'package.json', 'README.md']) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    const bad = files.filter((f) => /^(test|bench|build|lib|runs)\//.test(f) || /fixtures|\.tsbuildinfo$|\.o$|\.test\./.test(f));
    assert.deepStrictEqual(bad, []);
  });

  it('installs from the tarball with the registry cache only and no compiler on PATH, and trains a step on the prebuild', () => {
    for (const tool of ['g++', 'c++', 'cc', 'cmake', 'make']) {
      const r = spawnSync('sh', ['-c', `command -v ${tool}`], { env });
      assert.ok(!r.error && r.status !== 0, `${tool} is hidden`);
    }
    const r = spawnSync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: consumer, env, encoding: 'utf8' });
    assert.strictEqual(r.status, 0, `npm ci failed:\n${r.stdout}\n${r.stderr}`);
    console.log(`      npm ci --offline: ${(r.stdout + r.stderr).split('\n').filter((l) => /torchrnn|added/.test(l)).join(' | ')}`);
    const program = `
      const torch = require('torchrnn');
      const { nn, optim } = torch;
      torch.manualSeed(0);
      const model = new nn.LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true });
      const head = new nn.Linear(4, 2);
      const net = new (class extends nn.Module { constructor() { super(); this.lstm = model; this.head = head; }
        forward(x) { return this.head.forward(this.lstm.forward(x)[0].select(1, -1)); } })();
      const optimizer = new optim.Adam(net.parameters(), { lr: 0.01 });
      const step = torch.trainStep({ model: net, loss: new nn.CrossEntropyLoss(), optimizer });
      const x = torch.randn([8, 5, 3]);
      const y = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1], { dtype: 'int64' });
      (async () => {
        const first = await step(x, y);
        let last = first;
        for (let i = 0; i < 20; i++) last = await step(x, y);
        console.log(JSON.stringify({ first, last, addon: torch.buildInfo().addon }));
      })();`;
    const run = spawnSync(process.execPath, ['-e', program], { cwd: consumer, env, encoding: 'utf8' });
    assert.strictEqual(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { first: number; last: number; addon: { file: string; kind: string } };
    assert.strictEqual(out.addon.kind, 'prebuild');
    assert.ok(out.addon.file.startsWith(path.join(consumer, 'node_modules', 'torchrnn', 'prebuilds')), out.addon.file);
    assert.ok(out.last < out.first, `training lowers the loss: ${out.first} -> ${out.last}`);
    assert.ok(!fs.existsSync(path.join(consumer, 'node_modules', 'torchrnn', 'build')), 'nothing was compiled');
    // the bin works too
    const doctor = spawnSync(path.join(consumer, 'node_modules', '.bin', 'torchrnn'), ['doctor'], { cwd: consumer, env, encoding: 'utf8' });
    assert.strictEqual(doctor.status, 0, doctor.stderr);
    assert.match(doctor.stdout, /^addon: .*node_modules\/torchrnn\/prebuilds\/linux-x64\/torchrnn\.napi\.glibc-[\d.]+\.libtorch-[\d.]+-cpu\.node \(prebuilt binary\)$/m);
    assert.match(doctor.stdout, /^BLAS: /m);
    // the line, the variant and the prebuild loaded
    assert.match(doctor.stdout, new RegExp(`^libtorch line: ${escape(lineOf(runtime.version))} \\(libtorch ${escape(runtime.version)}, cpu\\) from ${escape(runtime.libDir)}/libtorch_cpu\\.so\\S*$`, 'm'));
    assert.match(doctor.stdout, new RegExp(`^prebuild loaded: ${escape(name)} \\(made for libtorch ${escape(runtime.version)}, cpu, glibc [\\d.]+ or newer\\)$`, 'm'));
    assert.match(doctor.stdout, new RegExp(`^libtorch found: ${escape(runtime.version)} \\(cpu\\) from system in ${escape(runtime.libDir)}$`, 'm'));
  });

  it('with both libtorch lines in the tarball (npm run prebuild:all), the install picks this machine\'s and names the other one passed over', function () {
    if (lines.size < 2) this.skip(); // prebuilds/ holds this machine's line only
    const pkg = path.join(consumer, 'node_modules', 'torchrnn');
    const others = fs.readdirSync(path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`)).filter((f) => f !== name);
    assert.ok(others.some((f) => lineOf(PREBUILD.exec(f)![2]) !== lineOf(runtime.version)), `another line installed: ${others.join(', ')}`);
    const inst = spawnSync(process.execPath, [path.join(pkg, 'scripts', 'install.js')], { cwd: consumer, env, encoding: 'utf8' });
    assert.strictEqual(inst.status, 0, inst.stdout + inst.stderr);
    assert.match(inst.stdout, new RegExp(`^torchrnn: using the prebuilt binary prebuilds/${process.platform}-${process.arch}/${escape(name)} \\(libtorch ${escape(runtime.version)}, cpu, from system in ${escape(runtime.libDir)}\\); nothing to compile$`, 'm'));
    const run = spawnSync(process.execPath, ['-e', "const t = require('torchrnn'); console.log(JSON.stringify({ addon: t.buildInfo().addon, sum: t.ones([3]).add(1).sum().item() }))"], { cwd: consumer, env, encoding: 'utf8' });
    assert.strictEqual(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { addon: { file: string; kind: string }; sum: number };
    assert.deepStrictEqual([out.addon.kind, path.basename(out.addon.file), out.sum], ['prebuild', name, 6]);
    const doctor = spawnSync(process.execPath, [path.join(pkg, 'dist', 'cli', 'main.js'), 'doctor'], { cwd: consumer, env, encoding: 'utf8' });
    assert.strictEqual(doctor.status, 0, doctor.stderr);
    for (const other of others) {
      const m = PREBUILD.exec(other)!;
      const why = m[2] !== runtime.version
        ? `built for libtorch ${escape(m[2])} \\(${m[3]}\\), but this machine has libtorch ${escape(runtime.version)} \\(cpu\\) from system in ${escape(runtime.libDir)}`
        : `needs glibc ${escape(m[1])}, this machine has [\\d.]+`;
      assert.match(doctor.stdout, new RegExp(`^prebuild not used: ${escape(other)}: ${why}$`, 'm'));
      assert.match(inst.stdout, new RegExp(`^torchrnn: prebuilt binary not used: ${escape(other)}: ${why}$`, 'm'));
    }
  });

  it('runtime libraries only (Debian\'s libtorch1.13/libtorch2.6 without libtorch-dev: no CMake files, no libtorch.so): the prebuild is chosen and loads', () => {
    // a system library directory holding only what the runtime package has: lib{c10,torch_cpu,torch}.so.X.Y(.Z)
    const libs = path.join(work, 'runtime-only-lib');
    fs.mkdirSync(libs);
    const soname = lineOf(runtime.version);
    for (const f of fs.readdirSync(runtime.libDir)) {
      if (/^lib(c10|torch_cpu|torch)\.so\./.test(f) && f.includes(`.so.${soname}`)) fs.symlinkSync(fs.realpathSync(path.join(runtime.libDir, f)), path.join(libs, f));
    }
    assert.ok(!fs.readdirSync(libs).some((f) => /\.so$/.test(f)), 'no unversioned names');
    const pkg = path.join(consumer, 'node_modules', 'torchrnn');
    const copy = packageCopy(pkg, path.join(work, 'runtime-only'), { cmake: ['/nonexistent/cmake/Torch'], lib: [libs] });
    const e2 = { ...env, PYTHON: '/nonexistent/python' };
    const finder = path.join(copy, 'scripts', 'find-libtorch.js');
    // the build lookup (CMake files) finds nothing here; the run-time lookup finds the libraries
    const build = spawnSync(process.execPath, [finder], { env: e2, encoding: 'utf8' });
    assert.strictEqual(build.status, 1, build.stdout);
    const rt = spawnSync(process.execPath, [finder, '--runtime'], { env: e2, encoding: 'utf8' });
    assert.strictEqual(rt.status, 0, rt.stderr);
    const found = JSON.parse(rt.stdout) as Found & { cmakeDir: string | null };
    assert.deepStrictEqual([found.source, found.libDir, found.version, found.cmakeDir], ['system', libs, runtime.version, null]);
    const inst = spawnSync(process.execPath, [path.join(copy, 'scripts', 'install.js')], { cwd: copy, env: e2, encoding: 'utf8' });
    assert.strictEqual(inst.status, 0, inst.stdout + inst.stderr);
    assert.match(inst.stdout, new RegExp(`^torchrnn: using the prebuilt binary prebuilds/${process.platform}-${process.arch}/${escape(name)} \\(libtorch ${escape(runtime.version)}, cpu, from system in ${escape(libs)}\\); nothing to compile$`, 'm'));
    const run = spawnSync(process.execPath, ['-e', `const t = require(${JSON.stringify(copy)}); console.log(JSON.stringify({ addon: t.buildInfo().addon, sum: t.ones([3]).add(1).sum().item() }))`], { cwd: work, env: e2, encoding: 'utf8' });
    assert.strictEqual(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { addon: { file: string; kind: string }; sum: number };
    assert.deepStrictEqual([out.addon.kind, out.addon.file, out.sum], ['prebuild', path.join(copy, 'prebuilds', `${process.platform}-${process.arch}`, name), 6]);
    const doctor = spawnSync(process.execPath, [path.join(copy, 'dist', 'cli', 'main.js'), 'doctor'], { cwd: work, env: e2, encoding: 'utf8' });
    assert.strictEqual(doctor.status, 0, doctor.stderr);
    assert.match(doctor.stdout, new RegExp(`^libtorch found: ${escape(runtime.version)} \\(cpu\\) from system in ${escape(libs)}$`, 'm'));
    // with no prebuild that fits, the install says what building from source needs
    fs.rmSync(path.join(copy, 'prebuilds'), { recursive: true });
    const inst2 = spawnSync(process.execPath, [path.join(copy, 'scripts', 'install.js')], { cwd: copy, env: e2, encoding: 'utf8' });
    assert.strictEqual(inst2.status, 1, inst2.stdout + inst2.stderr);
    assert.match(inst2.stderr, new RegExp(`^torchrnn: ERR_LIBTORCH_NOT_FOUND: libtorch ${escape(runtime.version)} \\(cpu\\) was found from system in ${escape(libs)}, but no prebuilt binary fits it, and building from source needs its headers and CMake files, which were not found\\. Looked at:\n`));
    assert.match(inst2.stderr, /Install them \(Debian\/Ubuntu: sudo apt-get install libtorch-dev, the same version as the runtime\), or set LIBTORCH to a libtorch that has them, and run `npm rebuild torchrnn`\.\n$/);
  });

  it('another build of the same libtorch (undefined symbols): the loader\'s error is reported, and the install goes on to build from source', function () {
    // Stand-ins for libtorch with the sonames the prebuild links against, and nothing in them:
    // the tag and the sonames fit, dlopen fails on the first missing symbol.
    const cc = ['cc', 'gcc'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
    if (!cc) this.skip();
    const prebuilt = path.join(consumer, 'node_modules', 'torchrnn', 'prebuilds', `${process.platform}-${process.arch}`, name);
    const needed = elfDynamic(prebuilt)!.needed;
    const fake = path.join(work, 'libtorch-other-build');
    fs.mkdirSync(path.join(fake, 'lib'), { recursive: true });
    for (const n of ['c10', 'torch_cpu', 'torch']) {
      const so = needed.find((x) => x.startsWith(`lib${n}.so`));
      assert.ok(so, `the prebuild links against lib${n}: ${needed.join(', ')}`);
      execFileSync(cc!, ['-shared', '-o', path.join(fake, 'lib', `lib${n}.so`), `-Wl,-soname,${so}`, '-x', 'c', '/dev/null']);
    }
    fs.writeFileSync(path.join(fake, 'build-version'), `${runtime.version}+cpu\n`);
    fs.mkdirSync(path.join(fake, 'share', 'cmake', 'Torch'), { recursive: true });
    fs.writeFileSync(path.join(fake, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '# fake\n');
    const e2 = { ...env, LIBTORCH: fake };
    const run = spawnSync(process.execPath, ['-e', "try { require('torchrnn') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"], { cwd: consumer, env: e2, encoding: 'utf8' });
    assert.strictEqual(run.status, 0, run.stderr);
    const err = JSON.parse(run.stdout) as { code: string; message: string };
    assert.strictEqual(err.code, 'ERR_LIBTORCH_NOT_FOUND');
    assert.match(err.message, new RegExp(`^torchrnn: could not load its native addon ${escape(prebuilt)} \\(${escape(prebuilt)}: undefined symbol: \\S+\\)\\.\n`));
    assert.match(err.message, new RegExp(`^The prebuilt binary was made for another build of libtorch ${escape(runtime.version)} than the one in ${escape(fake)}/lib \\(a symbol it needs is missing there\\): build it from source for this one\\.$`, 'm'));
    const inst = spawnSync(process.execPath, [path.join(consumer, 'node_modules', 'torchrnn', 'scripts', 'install.js')], { cwd: consumer, env: e2, encoding: 'utf8' });
    assert.strictEqual(inst.status, 1, inst.stdout + inst.stderr);
    assert.match(inst.stdout, new RegExp(`^torchrnn: the prebuilt binary ${escape(name)} does not load here \\(${escape(prebuilt)}: undefined symbol: \\S+\\); building from source$`, 'm'));
    assert.match(inst.stderr, new RegExp(`^torchrnn: ERR_BUILD_TOOLS_NOT_FOUND: no prebuilt binary fits libtorch ${escape(runtime.version)} \\(cpu\\) from LIBTORCH, and building from source needs cmake, g\\+\\+, make, not found on PATH\\.`));
    // A build whose libraries have other sonames (pip's torch names them libtorch_cpu.so …) is
    // told apart before loading: the prebuild's DT_NEEDED entries are not among them.
    const pipLike = path.join(work, 'libtorch-pip-like');
    fs.mkdirSync(path.join(pipLike, 'lib'), { recursive: true });
    for (const n of ['c10', 'torch_cpu', 'torch']) {
      execFileSync(cc!, ['-shared', '-o', path.join(pipLike, 'lib', `lib${n}.so`), `-Wl,-soname,lib${n}.so`, '-x', 'c', '/dev/null']);
    }
    fs.writeFileSync(path.join(pipLike, 'version.py'), `__version__ = '${runtime.version}+cpu'\ncuda = None\n`);
    const run2 = spawnSync(process.execPath, ['-e', "try { require('torchrnn') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"], { cwd: consumer, env: { ...env, LIBTORCH: pipLike }, encoding: 'utf8' });
    const err2 = JSON.parse(run2.stdout) as { code: string; message: string };
    assert.strictEqual(err2.code, 'ERR_LIBTORCH_NOT_FOUND');
    assert.match(err2.message, /^torchrnn: no native addon fits this machine\./);
    const wanted = needed.filter((n) => /^lib(torch|c10)/.test(n)).join(', ');
    // A prebuild whose loading ends the process (here: abort() in a static initializer, as a
    // libtorch that meets another copy of itself does): the install script, which loads it in a
    // child process, reports it and goes on to build from source.
    const aborting = path.join(work, 'aborting');
    fs.cpSync(path.join(consumer, 'node_modules', 'torchrnn'), aborting, { recursive: true, dereference: true });
    const csrc = path.join(work, 'abort.c');
    fs.writeFileSync(csrc, '#include <stdlib.h>\n__attribute__((constructor)) static void die(void) { abort(); }\n');
    execFileSync(cc!, ['-shared', '-fPIC', '-o', path.join(aborting, 'prebuilds', `${process.platform}-${process.arch}`, name), csrc]);
    const inst3 = spawnSync(process.execPath, [path.join(aborting, 'scripts', 'install.js')], { cwd: aborting, env, encoding: 'utf8' });
    assert.strictEqual(inst3.status, 1, inst3.stdout + inst3.stderr);
    assert.match(inst3.stdout, new RegExp(`^torchrnn: the prebuilt binary ${escape(name)} does not load here \\(the process loading it was killed by SIGABRT\\); building from source$`, 'm'));
    assert.match(inst3.stderr, new RegExp(`^torchrnn: ERR_BUILD_TOOLS_NOT_FOUND: no prebuilt binary fits libtorch ${escape(runtime.version)} \\(cpu\\) from system, and building from source needs cmake, g\\+\\+, make, not found on PATH\\.`));
    assert.match(err2.message, new RegExp(`^Not loaded: ${escape(name)}: links against ${escape(wanted)}, which the libtorch ${escape(runtime.version)} in ${escape(pipLike)}/lib does not provide \\(its libraries are libc10\\.so, libtorch_cpu\\.so, libtorch\\.so: another build of libtorch ${escape(runtime.version)}\\)\\.$`, 'm'));
  });

  it('a prebuild for another libtorch is never loaded: a clear ERR_LIBTORCH_NOT_FOUND', () => {
    // a fake libtorch 9.9.9 where LIBTORCH points: found first, and no prebuild matches it
    const fake = path.join(work, 'libtorch-9.9.9');
    fs.mkdirSync(path.join(fake, 'share', 'cmake', 'Torch'), { recursive: true });
    fs.mkdirSync(path.join(fake, 'lib'));
    for (const n of ['c10', 'torch_cpu', 'torch']) fs.writeFileSync(path.join(fake, 'lib', `lib${n}.so`), '');
    fs.writeFileSync(path.join(fake, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '# fake\n');
    fs.writeFileSync(path.join(fake, 'share', 'cmake', 'Torch', 'TorchConfigVersion.cmake'), 'set(PACKAGE_VERSION "9.9.9")\n');
    const e2 = { ...env, LIBTORCH: fake };
    const run = spawnSync(process.execPath, ['-e', "try { require('torchrnn') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"], { cwd: consumer, env: e2, encoding: 'utf8' });
    const err = JSON.parse(run.stdout) as { code: string; message: string };
    assert.strictEqual(err.code, 'ERR_LIBTORCH_NOT_FOUND');
    assert.match(err.message, /^torchrnn: no native addon fits this machine\./);
    assert.match(err.message, new RegExp(`^Not loaded: ${escape(name)}: built for libtorch ${escape(runtime.version)} \\(cpu\\), but this machine has libtorch 9\\.9\\.9 \\(cpu\\) from LIBTORCH in ${escape(fake)}/lib\\.$`, 'm'));
    assert.match(err.message, /npm rebuild torchrnn/);
    // the install script then wants to build from source, and says which tools are missing
    const inst = spawnSync(process.execPath, [path.join(consumer, 'node_modules', 'torchrnn', 'scripts', 'install.js')], { cwd: consumer, env: e2, encoding: 'utf8' });
    assert.strictEqual(inst.status, 1);
    assert.match(inst.stderr, /^torchrnn: ERR_BUILD_TOOLS_NOT_FOUND: no prebuilt binary fits libtorch 9\.9\.9 \(cpu\) from LIBTORCH, and building from source needs cmake, g\+\+, make, not found on PATH\./);
  });

  it('no libtorch anywhere: the install script fails with ERR_LIBTORCH_NOT_FOUND and the three ways to provide one', () => {
    // hide the system libtorch (its CMake files and its libraries) and Python's torch from a
    // copy of find-libtorch.js
    const pkg = path.join(consumer, 'node_modules', 'torchrnn');
    const copy = packageCopy(pkg, path.join(work, 'nolib'), { cmake: ['/nonexistent/cmake/Torch'], lib: ['/nonexistent/lib'] });
    fs.rmSync(path.join(copy, 'prebuilds'), { recursive: true });
    const inst = spawnSync(process.execPath, [path.join(copy, 'scripts', 'install.js')], { cwd: copy, env: { ...env, PYTHON: '/nonexistent/python' }, encoding: 'utf8' });
    assert.strictEqual(inst.status, 1, inst.stdout + inst.stderr);
    assert.match(inst.stderr, /^torchrnn: ERR_LIBTORCH_NOT_FOUND: libtorch was not found\. Looked at:\n/);
    assert.match(inst.stderr, /1\. Debian\/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-pthread\n {2}2\. A Python torch install[^\n]*\n {2}3\. An unpacked libtorch: export LIBTORCH=/);
  });
});

// TORCHRNN_ADDON=<file>: the addon scripts/load-addon.js loads instead of its own choice (the
// sanitizer build: npm run build:asan, npm run test:asan).
describe('TORCHRNN_ADDON (the sanitizer build\'s loader switch)', function () {
  this.timeout(120000);
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchrnn-addon-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // a child process: the addon is loaded once per process
  const child = (env: NodeJS.ProcessEnv, script: string) => spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: __dirname, env, encoding: 'utf8' });

  it('loads the file it names, and nothing else; `torchrnn doctor` says so', () => {
    // a copy of the addon this process runs (build/Release, or the sanitizer build under npm run test:asan)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = (require('../lib') as typeof import('../lib')).buildInfo().addon.file;
    const copy = path.join(dir, 'copy.node');
    fs.copyFileSync(loaded, copy);
    const run = child({ ...process.env, TORCHRNN_ADDON: copy },
      "const t = require('../lib'); console.log(JSON.stringify({ addon: t.buildInfo().addon, sum: t.tensor([1, 2]).sum().item(), doctor: require('../lib/cli/doctor').doctorLines() }))");
    assert.strictEqual(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { addon: { file: string; kind: string }; sum: number; doctor: string[] };
    assert.deepStrictEqual(out.addon, { file: copy, kind: 'build' });
    assert.strictEqual(out.sum, 3);
    assert.ok(out.doctor.includes(`addon: ${copy} (built from source)`), out.doctor.join('\n'));
    assert.ok(out.doctor.includes(`TORCHRNN_ADDON is set: ${copy} (loaded instead of build/Release or a prebuild)`), out.doctor.join('\n'));
    // without it, doctor has no such line (the variable removed from a child's environment)
    const plain = { ...process.env };
    delete plain.TORCHRNN_ADDON;
    delete plain.LD_PRELOAD;
    const run2 = child(plain, "console.log(JSON.stringify(require('../lib/cli/doctor').doctorLines()))");
    assert.strictEqual(run2.status, 0, run2.stderr);
    assert.ok(!(JSON.parse(run2.stdout) as string[]).some((l) => l.startsWith('TORCHRNN_ADDON')));
  });

  it('a file that is not there: ERR_LIBTORCH_NOT_FOUND naming it and the variable, no fallback to build/Release', () => {
    const missing = path.join(dir, 'missing.node');
    const run = child({ ...process.env, TORCHRNN_ADDON: missing }, "try { require('../lib') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }");
    const err = JSON.parse(run.stdout) as { code: string; message: string };
    assert.strictEqual(err.code, 'ERR_LIBTORCH_NOT_FOUND');
    assert.strictEqual(err.message, [
      `torchrnn: could not load its native addon ${missing} (${missing}: cannot open shared object file: No such file or directory).`,
      `Tried: ${missing} (TORCHRNN_ADDON).`,
      `TORCHRNN_ADDON is set (${missing}): only that file is tried; unset it to load build/Release or a prebuild.`,
    ].join('\n'));
  });

  it('an AddressSanitizer build without the sanitizer runtime preloaded: refused with a message (loading it would end the process)', function () {
    // a tiny instrumented library stands in for build-asan/Release/torchrnn.node: what matters is its DT_NEEDED libasan
    const src = path.join(dir, 'asan.c');
    const lib = path.join(dir, 'asan.node');
    fs.writeFileSync(src, 'int torchrnn_asan_probe(int* p) { return p[1]; }\n');
    const cc = spawnSync('gcc', ['-shared', '-fPIC', '-fsanitize=address', '-o', lib, src], { encoding: 'utf8' });
    if (cc.error) this.skip(); // no gcc here
    assert.strictEqual(cc.status, 0, cc.stderr);
    assert.ok(elfDynamic(lib)!.needed.some((n) => /^libasan\.so/.test(n)));
    const env: NodeJS.ProcessEnv = { ...process.env, TORCHRNN_ADDON: lib };
    delete env.LD_PRELOAD;
    delete env.ASAN_OPTIONS;
    const run = child(env, "try { require('../lib') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }");
    assert.strictEqual(run.status, 0, run.stderr);
    const err = JSON.parse(run.stdout) as { code: string; message: string };
    assert.strictEqual(err.code, 'ERR_LIBTORCH_NOT_FOUND');
    assert.match(err.message, new RegExp(`^torchrnn: could not load its native addon ${escape(lib)} \\(${escape(lib)} is an AddressSanitizer build \\(it links libasan\\.so\\.\\d+\\): preload its runtime, LD_PRELOAD=\\$\\(gcc -print-file-name=libasan\\.so\\), or run it through \`npm run test:asan\`\\)\\.$`, 'm'));
  });
});
