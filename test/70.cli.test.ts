// The torchrnn CLI end to end, on a small slice of the data (--limit), through the built bin.
import * as assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');

function cli(args: string[], cwd = ROOT) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 300000 });
}

describe('torchrnn CLI', () => {
  let tmp: string;
  before(() => {
    assert.ok(fs.existsSync(BIN), 'run npm run build first');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchrnn-cli-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('--help lists every command, task and option', () => {
    const r = cli(['--help']);
    assert.strictEqual(r.status, 0);
    for (const word of ['train <task>', 'sample <run-dir>', 'evaluate <run-dir>', 'doctor', 'names', '--hidden', '--resume', '--limit', '--temperature']) assert.ok(r.stdout.includes(word), word);
  });

  it('doctor prints what torchrnn runs on', () => {
    const r = cli(['doctor']);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^addon: .*torchrnn\.node \((built from source|prebuilt binary)\)$/m);
    assert.match(r.stdout, /^libtorch linked: 1\.13\.\d \(CPU\)/m);
    assert.match(r.stdout, /^BLAS: OpenBLAS/m);
    assert.match(r.stdout, /^threads: libtorch intra-op \d+/m);
    assert.match(r.stdout, /^CUDA: not available \(CPU-only libtorch, or no GPU visible\); cuDNN: not available$/m);
  });

  it('train names: one epoch on a slice writes the run directory; sample and evaluate use it', () => {
    const out = path.join(tmp, 'names-run');
    const r = cli(['train', 'names', '--limit', '300', '--epochs', '1', '--hidden', '32', '--layers', '1', '--out', out, '--quiet']);
    assert.strictEqual(r.status, 0, r.stderr);
    for (const f of ['config.json', 'metrics.json', 'model.safetensors', 'checkpoint.safetensors', 'loss.svg', 'metric.svg']) assert.ok(fs.existsSync(path.join(out, f)), f);
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { metric: string; final: { metric: number } };
    assert.strictEqual(metrics.metric, 'validation bits per character');
    assert.ok(Number.isFinite(metrics.final.metric) && metrics.final.metric > 0);
    assert.match(fs.readFileSync(path.join(out, 'loss.svg'), 'utf8'), /^<svg[\s\S]*<\/svg>$/);
    assert.strictEqual(r.stdout.trim().split('\n').length, 20, 'twenty sampled names');
    const s = cli(['sample', out, '--count', '5', '--temperature', '0.7', '--prompt', 'Ma']);
    assert.strictEqual(s.status, 0, s.stderr);
    const samples = s.stdout.trim().split('\n');
    assert.strictEqual(samples.length, 5);
    assert.ok(samples.every((x) => x.startsWith('Ma')), s.stdout);
    const e = cli(['evaluate', out]);
    assert.strictEqual(e.status, 0, e.stderr);
    assert.match(e.stdout, /^validation bits per character: \d+\.\d{4} \(validation loss \d+\.\d{4}\)$/m);
  });

  it('an interrupted run (SIGINT) leaves a checkpoint that --resume continues', async () => {
    const out = path.join(tmp, 'names-resume');
    const child = spawn(process.execPath, [BIN, 'train', 'names', '--limit', '2000', '--epochs', '50', '--hidden', '32', '--layers', '1', '--out', out, '--quiet'], { cwd: ROOT });
    const deadline = Date.now() + 120000;
    while (!fs.existsSync(path.join(out, 'checkpoint.safetensors')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.strictEqual(code, 130);
    const done = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { epochs: unknown[] };
    const r = cli(['train', 'names', '--out', out, '--resume', '--epochs', String(done.epochs.length + 1), '--quiet']);
    assert.strictEqual(r.status, 0, r.stderr);
    const after = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { epochs: { epoch: number }[] };
    assert.strictEqual(after.epochs.length, done.epochs.length + 1);
    assert.deepStrictEqual(after.epochs.map((x) => x.epoch), after.epochs.map((_, i) => i + 1));
  });

  it('bad arguments: one clear line, exit code 2', () => {
    const cases: [string[], string][] = [
      [['train', 'nope'], 'torchrnn: unknown task "nope" (tasks: names)'],
      [['train'], 'torchrnn: train needs a task: names'],
      [['train', 'names', '--hidden', 'big'], 'torchrnn: --hidden must be an integer, not "big"'],
      [['train', 'names', '--frobnicate'], 'torchrnn: unknown option --frobnicate (see torchrnn --help)'],
      [['train', 'names', '--cell', 'lstmx'], 'torchrnn: --cell must be one of lstm, gru, rnn, not "lstmx"'],
      [['train', 'names', '--dropout', '2'], 'torchrnn: --dropout must be in [0, 0.99], not 2'],
      [['train', 'names', '--out', '/dev/null/run'], 'torchrnn: cannot write to /dev/null/run'],
      [['train', 'names', '--device', 'cuda'], 'torchrnn: --device cuda: CUDA is not available here (torchrnn doctor tells what was found)'],
      [['sample', '/tmp'], 'torchrnn: /tmp is not a torchrnn run directory (no config.json)'],
      [['frob'], 'torchrnn: unknown command "frob" (see torchrnn --help)'],
      [['train', 'names', '--resume'], 'torchrnn: --resume needs --out <run-dir>'],
    ];
    for (const [args, line] of cases) {
      const r = cli(args);
      assert.strictEqual(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.strictEqual(r.stderr.trim(), line);
    }
  });
});
