// The npm package: `npm run prebuild` (prebuildify on binding.gyp: this is CI's node-gyp
// build), `npm pack`, and an install of that tarball into a new project from the registry
// cache only, with no compiler on PATH, that runs a training step on the prebuilt binary. Then
// what the loader and the install script do where the prebuild does not fit.
import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prebuildName, PREBUILD } = require('../scripts/load-addon.js') as { prebuildName(found: unknown): string; PREBUILD: RegExp };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { findLibtorch } = require('../scripts/find-libtorch.js') as { findLibtorch(): { found: { version: string } | null } };

/** A PATH holding only node, npm and sh: no compiler, cmake or make. */
function bareBin(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const npmCli = path.join(path.dirname(path.dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

describe('the npm package (prebuild, pack, install without a compiler)', function () {
  this.timeout(600000);
  let work: string;
  let tarball: string;
  let files: string[];
  let consumer: string;
  let env: NodeJS.ProcessEnv;

  before(function () {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'torchrnn-pkg-'));
    const found = findLibtorch().found;
    assert.ok(found, 'libtorch must be installed to build a prebuild');
    const name = prebuildName(found);
    const prebuilt = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`, name);
    if (!fs.existsSync(prebuilt)) execFileSync('npm', ['run', 'prebuild'], { cwd: ROOT, stdio: 'inherit' });
    assert.ok(fs.existsSync(prebuilt), `npm run prebuild wrote ${prebuilt}`);
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
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('npm pack holds the prebuild, compiled JS and types, and no tests, fixtures or build leftovers', () => {
    assert.ok(files.some((f) => PREBUILD.test(path.basename(f)) && f.startsWith(`prebuilds/${process.platform}-${process.arch}/`)), 'a tagged prebuild');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/index.mjs', 'dist/cli/main.js', 'scripts/load-addon.js', 'scripts/install.js', 'scripts/find-libtorch.js', 'native/addon.cc', 'CMakeLists.txt', 'binding.gyp', 'package.json', 'README.md']) {
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
  });

  it('a prebuild for another libtorch is never loaded: a clear ERR_LIBTORCH_NOT_FOUND', () => {
    // a fake libtorch 9.9.9 where LIBTORCH points: found first, and no prebuild matches it
    const fake = path.join(work, 'libtorch-9.9.9');
    fs.mkdirSync(path.join(fake, 'share', 'cmake', 'Torch'), { recursive: true });
    fs.mkdirSync(path.join(fake, 'lib'));
    fs.writeFileSync(path.join(fake, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '# fake\n');
    fs.writeFileSync(path.join(fake, 'share', 'cmake', 'Torch', 'TorchConfigVersion.cmake'), 'set(PACKAGE_VERSION "9.9.9")\n');
    const e2 = { ...env, LIBTORCH: fake };
    const run = spawnSync(process.execPath, ['-e', "try { require('torchrnn') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"], { cwd: consumer, env: e2, encoding: 'utf8' });
    const err = JSON.parse(run.stdout) as { code: string; message: string };
    assert.strictEqual(err.code, 'ERR_LIBTORCH_NOT_FOUND');
    assert.match(err.message, /^torchrnn: no native addon fits this machine\./);
    assert.match(err.message, new RegExp(`Not loaded: torchrnn\\.napi\\.glibc-[\\d.]+\\.libtorch-${findLibtorch().found!.version.replace(/\./g, '\\.')}-cpu\\.node: built for libtorch [\\d.]+ \\(cpu\\), but this machine has libtorch 9\\.9\\.9 \\(cpu\\) from LIBTORCH in ${fake.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`));
    assert.match(err.message, /npm rebuild torchrnn/);
    // the install script then wants to build from source, and says which tools are missing
    const inst = spawnSync(process.execPath, [path.join(consumer, 'node_modules', 'torchrnn', 'scripts', 'install.js')], { cwd: consumer, env: e2, encoding: 'utf8' });
    assert.strictEqual(inst.status, 1);
    assert.match(inst.stderr, /^torchrnn: ERR_BUILD_TOOLS_NOT_FOUND: no prebuilt binary fits libtorch 9\.9\.9 \(cpu\) from LIBTORCH, and building from source needs cmake, g\+\+, make, not found on PATH\./);
  });

  it('no libtorch anywhere: the install script fails with ERR_LIBTORCH_NOT_FOUND and the three ways to provide one', () => {
    // hide the system libtorch from find-libtorch.js by pointing LIBTORCH at nothing and
    // running a copy of the script whose system directories do not exist
    const pkg = path.join(consumer, 'node_modules', 'torchrnn');
    const copy = path.join(work, 'nolib');
    fs.cpSync(pkg, copy, { recursive: true, dereference: true });
    const finder = path.join(copy, 'scripts', 'find-libtorch.js');
    fs.writeFileSync(finder, fs.readFileSync(finder, 'utf8').replace(/'\/usr\/[^']*cmake\/Torch'/g, "'/nonexistent/cmake/Torch'"));
    fs.rmSync(path.join(copy, 'prebuilds'), { recursive: true });
    const inst = spawnSync(process.execPath, [path.join(copy, 'scripts', 'install.js')], { cwd: copy, env: { ...env, PYTHON: '/nonexistent/python' }, encoding: 'utf8' });
    assert.strictEqual(inst.status, 1, inst.stdout + inst.stderr);
    assert.match(inst.stderr, /^torchrnn: ERR_LIBTORCH_NOT_FOUND: libtorch was not found\. Looked at:\n/);
    assert.match(inst.stderr, /1\. Debian\/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-pthread\n {2}2\. A Python torch install[^\n]*\n {2}3\. An unpacked libtorch: export LIBTORCH=/);
  });
});
