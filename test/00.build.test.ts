// The built package: it loads from require and import, finds libtorch without
// LD_LIBRARY_PATH, and says what to do when the addon cannot load. lib/'s import graph: test/01.
import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { libtorchLine } from '../lib/compat';
import { ROOT, tmpDir } from './helpers';

const ADDON = path.join(ROOT, 'build', 'Release', 'torchrnn.node');

function node(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8', timeout: 60000 });
}

describe('build and packaging', () => {
  let project: string;
  before(() => {
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'index.js')), 'run `npm run compile` first (dist/ is missing)');
    project = tmpDir('torchrnn-consumer-');
    fs.mkdirSync(path.join(project, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(project, 'node_modules', 'torchrnn'), 'dir');
  });
  after(() => fs.rmSync(project, { recursive: true, force: true }));

  it('the addon records the libtorch it was built against (rpath), and needs no LD_LIBRARY_PATH', () => {
    const dyn = execFileSync('readelf', ['-d', ADDON], { encoding: 'utf8' });
    assert.match(dyn, /\((RPATH|RUNPATH)\)\s+Library r(un)?path: \[[^\]]+\]/);
    const env = { ...process.env };
    delete env.LD_LIBRARY_PATH;
    const ldd = execFileSync('ldd', [ADDON], { encoding: 'utf8', env });
    assert.doesNotMatch(ldd, /not found/);
    assert.match(ldd, /libtorch_cpu\.so/);
  });

  it('works through require("torchrnn")', () => {
    const r = node(['-e', "const t=require('torchrnn'); const x=t.tensor([1,2,3]); console.log(x.sum().item(), typeof t.Tensor)"], project);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.stdout.trim(), '6 function');
  });

  it('works through import * as torch from "torchrnn"', () => {
    const src = "import * as torch from 'torchrnn'; import def from 'torchrnn'; const x = torch.ones([2, 2]); console.log(x.sum().item(), def.ones === torch.ones, x instanceof torch.Tensor)";
    const r = node(['--input-type=module', '-e', src], project);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.stdout.trim(), '4 true true');
  });

  it("the README's first example runs as written and prints what its comments say", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)![1];
    const expected: string[] = [];
    let inLog = false;
    for (const line of code.split('\n')) {
      const m = /^(.*?)\/\/ ?(.*)$/.exec(line);
      const isLog = line.trimStart().startsWith('console.log');
      if (m && isLog) { expected.push(m[2].trim()); inLog = true; } else if (m && inLog && m[1].trim() === '') expected.push(m[2].trim()); else inLog = false;
    }
    assert.ok(expected.length >= 2);
    const r = node(['-e', code], project);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(r.stdout.trim().split('\n').map((l) => l.trim()), expected);
  });

  it('every complete README example (starting with require) runs as written; the fit() example learns', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.startsWith("const torch = require('torchrnn');"));
    assert.ok(blocks.length >= 3, `${blocks.length} runnable examples`);
    for (const code of blocks) {
      const r = node(['-e', code], project);
      assert.strictEqual(r.status, 0, `${code.slice(0, 200)}\n${r.stderr}`);
      if (code.includes('torch.fit(')) {
        const m = /^validation loss ([\d.]+)(?: → ([\d.]+))+$/m.exec(r.stdout);
        assert.ok(m, r.stdout);
        const losses = r.stdout.trim().split('\n').pop()!.replace('validation loss ', '').split(' → ').map(Number);
        assert.ok(losses[losses.length - 1] < losses[0] * 0.7, `validation loss ${losses.join(' → ')}`);
      }
    }
  });

  it('ships types: dist/index.d.ts declares the public API', () => {
    const dts = fs.readFileSync(path.join(ROOT, 'dist', 'index.d.ts'), 'utf8');
    for (const name of ['Tensor', 'tensor', 'zeros', 'noGrad', 'TorchError', 'memory', 'tidy']) assert.match(dts, new RegExp(`\\b${name}\\b`));
  });

  it('a missing addon gives ERR_LIBTORCH_NOT_FOUND saying what was tried and what to do', () => {
    const dir = tmpDir('torchrnn-noaddon-');
    try {
      fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'scripts'));
      for (const f of ['load-addon.js', 'find-libtorch.js']) fs.copyFileSync(path.join(ROOT, 'scripts', f), path.join(dir, 'scripts', f));
      const env = { ...process.env };
      delete env.TORCHRNN_ADDON; // the loader's own search is tested here (npm run test:asan sets it)
      const r = node(['-e', "try { require('./dist/index.js') } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })) }"], dir, env);
      assert.strictEqual(r.status, 0, r.stderr);
      const err = JSON.parse(r.stdout) as { name: string; code: string; message: string };
      assert.strictEqual(err.name, 'TorchError');
      assert.strictEqual(err.code, 'ERR_LIBTORCH_NOT_FOUND');
      assert.match(err.message, /^torchrnn: no native addon fits this machine\.\nTried: \S+\/build\/Release\/torchrnn\.node \(a build from source\), then \S+\/prebuilds\/linux-x64 \(0 prebuilt binaries\)\./);
      assert.match(err.message, /apt-get install libtorch-dev/);
      assert.match(err.message, /LIBTORCH/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports what it was built against', () => {
    const info = torch.buildInfo();
    assert.match(info.libtorch, /^(1\.13|2\.6)\./);
    assert.strictEqual(info.libtorch.split('.').slice(0, 2).join('.'), libtorchLine);
    assert.strictEqual(info.cuda, false);
  });

  it('works inside worker_threads (per-environment state)', () => {
    const src = `
      const { Worker } = require('worker_threads');
      const code = "const t = require('torchrnn'); const { parentPort } = require('worker_threads');" +
        "t.ones([3], { requiresGrad: true }).mul(2).sum().backwardAsync().then(() => parentPort.postMessage(t.ones([2]).sum().item()));";
      let done = 0;
      for (let i = 0; i < 3; i++) {
        const w = new Worker(code, { eval: true });
        w.on('message', (m) => { if (m === 2) done++; });
        w.on('exit', () => { if (++exited === 3) console.log(done); });
      }
      let exited = 0;
      require('torchrnn').ones([1]);`;
    const r = node(['-e', src], project);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.stdout.trim(), '3');
  });

  it('exits cleanly with async jobs still queued', () => {
    const src = "const t = require('torchrnn'); const w = t.randn([256, 256], { requiresGrad: true });" +
      "for (let i = 0; i < 50; i++) w.matmul(w).sum().backwardAsync(); process.exit(0);";
    const r = node(['-e', src], project);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.signal, null);
  });

  it('pending jobs keep the process alive until they finish', () => {
    const src = "const t = require('torchrnn'); const x = t.randn([64, 64], { requiresGrad: true });" +
      "x.matmul(x).sum().backwardAsync().then(() => console.log('done', x.grad.shape.join('x')));";
    const r = node(['-e', src], project);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.stdout.trim(), 'done 64x64');
  });
});
