#!/usr/bin/env node
/**
 * The torchrnn CLI: trains real sequence models on datasets that install with npm or apt,
 * and uses trained runs. `torchrnn --help` lists everything. Bad arguments print one line
 * and exit with code 2; Ctrl-C stops after the current step and leaves a resumable checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../index';
import { parseArgs, UsageError, OptionSpec } from './args';
import { lineChart, Series } from './svg';
import { TASKS } from './tasks';
import type { Metric, Task, TaskOption, TaskOptionValues, TrainConfig } from './tasks/task';
import { doctor } from './doctor';
import { exportRun } from './export';

const TRAIN_OPTIONS: Record<string, OptionSpec> = {
  cell: { type: 'string', choices: ['lstm', 'gru', 'rnn'] },
  hidden: { type: 'int', min: 1, max: 65536 },
  layers: { type: 'int', min: 1, max: 64 },
  bidirectional: { type: 'flag' },
  'no-bidirectional': { type: 'flag' },
  dropout: { type: 'number', min: 0, max: 0.99 },
  epochs: { type: 'int', min: 1, max: 100000 },
  batch: { type: 'int', min: 1, max: 1 << 20 },
  lr: { type: 'number', min: 0 },
  device: { type: 'string', choices: ['cpu', 'cuda'] },
  threads: { type: 'int', min: 1, max: 1024 },
  seed: { type: 'int', min: 0 },
  out: { type: 'string' },
  resume: { type: 'flag' },
  limit: { type: 'int', min: 2 },
  quiet: { type: 'flag' },
  tensorboard: { type: 'string' },
};
const SAMPLE_OPTIONS: Record<string, OptionSpec> = {
  count: { type: 'int', min: 1, max: 10000 },
  temperature: { type: 'number', min: 0.01, max: 100 },
  prompt: { type: 'string' },
  seed: { type: 'int', min: 0 },
};

function optionLines(opts: Record<string, TaskOption> | undefined, label: string): string[] {
  return Object.entries(opts ?? {}).map(([k, o]) => {
    const arg = o.type === 'flag' ? '' : o.choices ? ` ${o.choices.join('|')}` : ` ${o.arg ?? (o.type === 'string' ? 'text' : 'N')}`;
    const def = o.default === undefined || o.type === 'flag' ? '' : ` (default ${o.default})`;
    return `${`${o.on ?? label} --${k}${arg}`.padEnd(30)} ${o.help}${def}`;
  });
}

function help(): string {
  const tasks = Object.values(TASKS).map((t) => {
    const lines = [`  ${t.name.padEnd(10)} ${t.summary}`, `  ${''.padEnd(10)} data: ${t.source}`];
    const d = t.defaults;
    lines.push(`  ${''.padEnd(10)} defaults: ${d.cell} hidden ${d.hidden} × ${d.layers}${d.bidirectional ? ' bidirectional' : ''}, dropout ${d.dropout}, ${d.epochs} epochs, batch ${d.batch}, lr ${d.lr}`);
    for (const l of optionLines(t.trainOptions, 'train')) lines.push(`  ${''.padEnd(10)} ${l}`);
    if (t.sample) lines.push(`  ${''.padEnd(10)} sample <run-dir> [--count N] [--temperature t] [--prompt text]`);
    if (t.predict) lines.push(`  ${''.padEnd(10)} predict <run-dir> ${t.predictUsage ?? '<input…>'}`);
    for (const l of optionLines(t.useOptions, t.predict ? 'predict' : 'sample')) lines.push(`  ${''.padEnd(10)} ${l}`);
    return lines.join('\n');
  }).join('\n');
  return `torchrnn — train recurrent networks on libtorch from Node.js

Usage:
  torchrnn train <task> [options]      train a task's model; writes a run directory
  torchrnn sample <run-dir> [options]  generate from a trained run (${Object.values(TASKS).filter((t) => t.sample).map((t) => t.name).join(', ')})
  torchrnn predict <run-dir> <input…>  use a trained run on new inputs (${Object.values(TASKS).filter((t) => t.predict).map((t) => t.name).join(', ')})
  torchrnn evaluate <run-dir>          the task's metric on its validation split
  torchrnn export <run-dir> [--format torchscript|pt|safetensors] [--out file]
                                       the model for Python/C++ without torchrnn (default TorchScript)
  torchrnn run --nproc N script.js …   start N distributed workers (torchrun's variables; see run --help)
  torchrnn doctor                      what torchrnn runs on: addon, libtorch, BLAS, threads, CUDA
  torchrnn --help                      this text

Tasks:
${tasks}

Train options (defaults are the task's):
  --cell lstm|gru|rnn    recurrent cell             --hidden N        hidden size
  --layers N             stacked layers             --bidirectional   both directions
                                                    --no-bidirectional  one direction
  --dropout p            dropout in [0, 1)          --epochs N        passes over the training data
  --batch N              batch size                 --lr x            Adam's learning rate
  --device cpu|cuda      where to train             --threads N       libtorch intra-op threads
  --seed N               random seed (default 0)    --limit N         use the first N examples only
                         (a quick run; text: the first N characters; forecast: the last N training windows)
  --out dir              run directory (default runs/<task>-<timestamp>)
  --resume               continue the run in --out from its last checkpoint
  --tensorboard dir      TensorBoard logs in dir: loss per batch and epoch, the metric per epoch
                         (view with: tensorboard --logdir dir)
  --quiet                no progress output

Sample options: --count N, --temperature t, --prompt text, --seed N (defaults are the task's)

A run directory holds model.safetensors (loads in PyTorch), checkpoint.safetensors (model,
optimizer, epoch, RNG: what --resume reads), config.json, metrics.json, loss.svg, metric.svg.
Exit codes: 0 done, 1 an unexpected error, 2 bad arguments or a missing dataset, 130 interrupted.
`;
}

interface RunConfig { task: string; config: TrainConfig; meta: Record<string, unknown>; torchrnn: string; created: string }
interface EpochMetrics { epoch: number; loss: number; valLoss: number; metric: number; seconds: number; extra?: Record<string, number> }

function say(quiet: boolean, line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function writeReport(dir: string, task: Task, metrics: EpochMetrics[], metricName: string, baseline?: Metric['baseline']): void {
  const report = { task: task.name, metric: metricName, ...(baseline ? { baseline } : {}), epochs: metrics, final: metrics[metrics.length - 1] ?? null };
  writeAtomic(path.join(dir, 'metrics.json'), JSON.stringify(report, null, 2) + '\n');
  writeAtomic(path.join(dir, 'loss.svg'), lineChart(`${task.name}: loss per epoch`, 'cross-entropy (nats)', [
    { name: 'training', values: metrics.map((m) => m.loss), color: '#1f77b4' },
    { name: 'validation', values: metrics.map((m) => m.valLoss), color: '#ff7f0e' },
  ]));
  const series: Series[] = [{ name: baseline ? 'model (validation)' : 'validation', values: metrics.map((m) => m.metric), color: '#2ca02c' }];
  if (baseline) series.push({ name: baseline.name, values: metrics.map(() => baseline.value), color: '#7f7f7f', dashed: true });
  writeAtomic(path.join(dir, 'metric.svg'), lineChart(`${task.name}: ${metricName}`, metricName, series));
}

function checkRunDir(dir: string): RunConfig {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new UsageError(`${dir} is not a torchrnn run directory (no config.json)`);
  try {
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as RunConfig;
    if (!TASKS[cfg.task]) throw new Error(`unknown task ${cfg.task}`);
    return cfg;
  } catch (err) {
    throw new UsageError(`${dir} is not a torchrnn run directory (${(err as Error).message})`);
  }
}

function taskOf(name: string | undefined): Task {
  if (!name) throw new UsageError(`train needs a task: ${Object.keys(TASKS).join(', ')}`);
  const task = TASKS[name];
  if (!task) throw new UsageError(`unknown task "${name}" (tasks: ${Object.keys(TASKS).join(', ')})`);
  return task;
}

function prepareData(task: Task, cfg: TrainConfig) {
  try {
    return task.prepare(cfg);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND') throw new UsageError(`the ${task.name} task's dataset is not installed (${task.source}): ${e.message.split('\n')[0]}`);
    throw err;
  }
}

function saveCheckpoint(dir: string, model: torch.nn.Module, optimizer: torch.optim.Optimizer, epoch: number): void {
  torch.save(model.stateDict(), path.join(dir, 'model.safetensors'));
  torch.checkpoint.save(path.join(dir, 'checkpoint.safetensors'), { model, optimizer, epoch });
}

type OptionKind = 'trainOptions' | 'useOptions';

/** Every task's own options of one kind, so that the command line parses before the task is known. */
function allTaskOptions(kind: OptionKind): Record<string, OptionSpec> {
  const specs: Record<string, OptionSpec> = {};
  for (const t of Object.values(TASKS)) Object.assign(specs, t[kind] ?? {});
  return specs;
}

/** The task's own option values, defaults filled in; another task's option is a usage error. */
function taskOptions(task: Task, kind: OptionKind, options: Record<string, string | number | boolean>, common: Record<string, OptionSpec>): TaskOptionValues {
  const own = task[kind] ?? {};
  const values: TaskOptionValues = {};
  for (const [k, o] of Object.entries(own)) if (o.default !== undefined) values[k] = o.default;
  for (const [k, v] of Object.entries(options)) {
    if (k in common) continue;
    if (!(k in own)) throw new UsageError(`--${k} is not an option of the ${task.name} task (see torchrnn --help)`);
    values[k] = v;
  }
  return values;
}

async function train(argv: string[]): Promise<void> {
  const { positional, options } = parseArgs(argv, { ...allTaskOptions('trainOptions'), ...TRAIN_OPTIONS });
  const task = taskOf(positional[0]);
  if (positional.length > 1) throw new UsageError(`unexpected argument "${positional[1]}"`);
  const own = taskOptions(task, 'trainOptions', options, TRAIN_OPTIONS);
  if (options.bidirectional && options['no-bidirectional']) throw new UsageError('--bidirectional and --no-bidirectional contradict each other');
  const quiet = Boolean(options.quiet);
  let dir = options.out as string | undefined;
  let cfg: TrainConfig;
  let startEpoch = 0;
  let metrics: EpochMetrics[] = [];
  let resumeFrom: string | null = null;
  if (options.resume) {
    if (!dir) throw new UsageError('--resume needs --out <run-dir>');
    const run = checkRunDir(dir);
    if (run.task !== task.name) throw new UsageError(`${dir} is a ${run.task} run, not ${task.name}`);
    const changed = Object.keys(options).filter((k) => !['resume', 'out', 'epochs', 'quiet', 'threads', 'device', 'tensorboard'].includes(k));
    if (changed.length) throw new UsageError(`--resume continues with the run's own settings: --${changed[0]} cannot be given with it (only --epochs)`);
    cfg = { ...run.config, epochs: (options.epochs as number | undefined) ?? run.config.epochs };
    resumeFrom = path.join(dir, 'checkpoint.safetensors');
    if (!fs.existsSync(resumeFrom)) throw new UsageError(`${dir} has no checkpoint.safetensors to resume from`);
    try { metrics = (JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as { epochs: EpochMetrics[] }).epochs; } catch { metrics = []; }
  } else {
    cfg = { ...task.defaults };
    for (const k of ['cell', 'hidden', 'layers', 'dropout', 'epochs', 'batch', 'lr', 'seed', 'limit'] as const) {
      if (options[k] !== undefined) (cfg as unknown as Record<string, unknown>)[k] = options[k];
    }
    if (options.bidirectional) cfg.bidirectional = true;
    if (options['no-bidirectional']) cfg.bidirectional = false;
    cfg.options = own;
    dir = dir ?? path.join('runs', `${task.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  }
  if (options.device === 'cuda' && !torch.cuda.isAvailable()) throw new UsageError('--device cuda: CUDA is not available here (torchrnn doctor tells what was found)');
  if (options.threads !== undefined) torch.setNumThreads(options.threads as number);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UsageError(`cannot write to ${dir}`);
  }
  const tbDir = options.tensorboard as string | undefined;
  if (tbDir !== undefined) {
    try {
      fs.mkdirSync(tbDir, { recursive: true });
      fs.accessSync(tbDir, fs.constants.W_OK);
    } catch {
      throw new UsageError(`--tensorboard: cannot write to ${tbDir}`);
    }
  }

  torch.manualSeed(cfg.seed);
  const prepared = prepareData(task, cfg);
  const model = task.build(cfg, prepared.meta);
  const optimizer = new torch.optim.Adam(model.parameters(), { lr: cfg.lr });
  if (resumeFrom) {
    const { epoch } = torch.checkpoint.load(resumeFrom, { model, optimizer });
    startEpoch = (epoch ?? -1) + 1;
    metrics = metrics.slice(0, startEpoch);
  } else {
    const run: RunConfig = { task: task.name, config: cfg, meta: prepared.meta, torchrnn: (require('../../package.json') as { version: string }).version, created: new Date().toISOString() };
    writeAtomic(path.join(dir, 'config.json'), JSON.stringify(run, null, 2) + '\n');
  }
  say(quiet, `torchrnn train ${task.name}: ${prepared.summary}`);
  say(quiet, `model: ${model.numParameters().toLocaleString('en-US')} parameters, ${cfg.cell} hidden ${cfg.hidden} × ${cfg.layers} layer(s)${cfg.bidirectional ? ', bidirectional' : ''}; run directory ${dir}`);
  if (startEpoch >= cfg.epochs) { say(quiet, `already trained for ${cfg.epochs} epochs`); return; }

  const abort = new AbortController();
  const onSigint = () => { say(quiet, '\ninterrupted: stopping after the current step'); abort.abort(); };
  process.once('SIGINT', onSigint);
  let metricName = 'metric';
  let lastMetric: Metric | null = null;
  let epochStart = Date.now();
  const tb = tbDir === undefined ? null : startTensorBoard(tbDir, task, cfg, model, dir, startEpoch);
  const batchesPerEpoch = (prepared.train as { length?: number }).length;
  let batch = 0;
  try {
    const history = await torch.fit({
      model, optimizer, loss: task.loss, data: prepared.train, validationData: prepared.valid,
      epochs: cfg.epochs - startEpoch, signal: abort.signal, progress: !quiet, trace: task.trace ?? true,
      ...(task.clipGradNorm ? { clipGradNorm: task.clipGradNorm } : {}),
      callbacks: [{
        onEpochBegin: (e) => { epochStart = Date.now(); batch = batchesPerEpoch === undefined ? 0 : (startEpoch + e) * batchesPerEpoch; },
        onBatchEnd: (_b, logs) => { tb?.addScalar('loss/batch', logs.loss, batch++); },
        onEpochEnd: async (e, logs) => {
          const epoch = startEpoch + e;
          const m: Metric = await task.metric(logs.valLoss ?? NaN, model, prepared, {});
          model.train();
          metricName = m.name;
          lastMetric = m;
          metrics.push({ epoch: epoch + 1, loss: logs.loss, valLoss: logs.valLoss ?? NaN, metric: m.value, seconds: (Date.now() - epochStart) / 1000, ...(m.extra ? { extra: m.extra } : {}) });
          say(quiet, `  ${describeMetric(m).join(', ')}`);
          if (tb) logEpoch(tb, epoch + 1, logs, m);
          saveCheckpoint(dir!, model, optimizer, epoch);
          writeReport(dir!, task, metrics, metricName, m.baseline);
        },
      }],
    });
    if (history.aborted) {
      say(quiet, `stopped; resume with: torchrnn train ${task.name} --out ${dir} --resume`);
      process.exitCode = 130;
      return;
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    await tb?.close();
  }
  const last = metrics[metrics.length - 1];
  const vs = lastMetric ? versus(lastMetric) : '';
  say(quiet, `done: ${metricName} ${last.metric.toFixed(4)} after ${last.epoch} epochs${vs ? `; ${vs}` : ''}; wrote ${dir}`);
  model.eval();
  if (task.sample) {
    say(quiet, 'samples:');
    const d = task.sampleDefaults ?? {};
    const opts = { count: d.count ?? 20, temperature: 0.8, prompt: d.prompt ?? '', seed: cfg.seed, options: taskOptions(task, 'useOptions', {}, {}), runDir: dir };
    for (const s of task.sample(model, prepared.meta, opts)) process.stdout.write(`  ${s.replace(/\n/g, '\n  ')}\n`);
  } else if (task.predict && task.examples) {
    say(quiet, 'predictions:');
    const lines = await task.predict(model, { config: cfg, meta: prepared.meta }, task.examples, taskOptions(task, 'useOptions', {}, {}));
    for (const s of lines) process.stdout.write(`  ${s}\n`);
  }
}

/** `--tensorboard dir`: the writer, with the run's settings as text at the first step. */
function startTensorBoard(tbDir: string, task: Task, cfg: TrainConfig, model: torch.nn.Module, runDir: string, startEpoch: number): torch.utils.tensorboard.SummaryWriter {
  const tb = new torch.utils.tensorboard.SummaryWriter(tbDir);
  const settings = `torchrnn train ${task.name}${startEpoch ? ` (resumed at epoch ${startEpoch + 1})` : ''}, run directory \`${runDir}\`, ${model.numParameters()} parameters\n\n\`\`\`json\n${JSON.stringify(cfg, null, 2)}\n\`\`\``;
  tb.addText('run', settings, startEpoch);
  return tb;
}

/** One epoch's figures, at step = the epoch's number (from 1, as in metrics.json). */
function logEpoch(tb: torch.utils.tensorboard.SummaryWriter, epoch: number, logs: torch.Logs, m: Metric): void {
  tb.addScalar('loss/train', logs.loss, epoch);
  if (logs.valLoss !== undefined) tb.addScalar('loss/validation', logs.valLoss, epoch);
  tb.addScalar(`metric/${m.name}`, m.value, epoch);
  for (const [k, v] of Object.entries(m.extra ?? {})) tb.addScalar(`metric/${k}`, v, epoch);
  if (logs.lr !== undefined) tb.addScalar('learning_rate', logs.lr, epoch);
}

/** How the metric compares with its baseline: "beats the seed material's LSTM (91.1500) by 2.8500, 3.1 % higher". */
function versus(m: Metric): string {
  if (!m.baseline) return '';
  const diff = m.value - m.baseline.value;
  const good = m.better === 'higher' ? diff > 0 : diff < 0;
  const rel = m.baseline.value !== 0 ? `, ${Math.abs((diff / m.baseline.value) * 100).toFixed(1)} % ${diff > 0 ? 'higher' : 'lower'}` : '';
  return `${good ? 'beats' : 'does not beat'} ${m.baseline.name} (${m.baseline.value.toFixed(4)}) by ${Math.abs(diff).toFixed(4)}${rel}`;
}

/** The metric, its other figures and the baseline comparison, as printable parts. */
function describeMetric(m: Metric): string[] {
  const parts = [`${m.name}: ${m.value.toFixed(4)}`];
  for (const [k, v] of Object.entries(m.extra ?? {})) parts.push(`${k}: ${v.toFixed(4)}`);
  const vs = versus(m);
  if (vs) parts.push(vs);
  return parts;
}

function loadRun(dir: string | undefined): { run: RunConfig; task: Task; model: torch.nn.Module } {
  if (!dir) throw new UsageError('needs a run directory');
  const run = checkRunDir(dir);
  const task = TASKS[run.task];
  const file = path.join(dir, 'model.safetensors');
  if (!fs.existsSync(file)) throw new UsageError(`${dir} has no model.safetensors yet`);
  const model = task.build(run.config, run.meta);
  model.loadStateDict(torch.load(file) as Record<string, torch.Tensor>);
  model.eval();
  return { run, task, model };
}

/** Parses a command that uses a run: its options plus the run's task's own (sample, predict, evaluate). */
function parseRunCommand(argv: string[], common: Record<string, OptionSpec>) {
  const { positional, options } = parseArgs(argv, { ...allTaskOptions('useOptions'), ...common });
  const loaded = loadRun(positional[0]);
  return { ...loaded, positional, options, own: taskOptions(loaded.task, 'useOptions', options, common) };
}

function sample(argv: string[]): void {
  const { run, task, model, positional, options, own } = parseRunCommand(argv, SAMPLE_OPTIONS);
  if (!task.sample) throw new UsageError(`the ${task.name} task does not sample${task.predict ? `: use torchrnn predict ${positional[0]} ${task.predictUsage ?? ''}`.trimEnd() : ''}`);
  if (positional.length > 1) throw new UsageError(`unexpected argument "${positional[1]}"`);
  const d = task.sampleDefaults ?? {};
  const out = task.sample(model, run.meta, {
    count: (options.count as number | undefined) ?? d.count ?? 20, temperature: (options.temperature as number | undefined) ?? d.temperature ?? 1,
    prompt: (options.prompt as string | undefined) ?? d.prompt ?? '', seed: (options.seed as number | undefined) ?? 0, options: own,
    runDir: positional[0],
  });
  for (const s of out) process.stdout.write(`${s}\n`);
}

async function predictRun(argv: string[]): Promise<void> {
  const { run, task, model, positional, own } = parseRunCommand(argv, {});
  if (!task.predict) throw new UsageError(`the ${task.name} task does not predict: use torchrnn sample ${positional[0]}`);
  const lines = await task.predict(model, { config: run.config, meta: run.meta }, positional.slice(1), own);
  for (const s of lines) process.stdout.write(`${s}\n`);
}

async function evaluateRun(argv: string[]): Promise<void> {
  const { run, task, model, positional, own } = parseRunCommand(argv, {});
  if (positional.length > 1) throw new UsageError(`unexpected argument "${positional[1]}"`);
  const prepared = prepareData(task, run.config);
  const { loss } = await torch.evaluate({ model, loss: task.loss, data: prepared.valid });
  const m = await task.metric(loss, model, prepared, own);
  process.stdout.write(`${m.name}: ${m.value.toFixed(4)} (validation loss ${loss.toFixed(4)})\n`);
  for (const [k, v] of Object.entries(m.extra ?? {})) process.stdout.write(`${k}: ${v.toFixed(4)}\n`);
  const vs = versus(m);
  if (vs) process.stdout.write(`${vs}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') { process.stdout.write(help()); return; }
  switch (command) {
    case 'train': return train(rest);
    case 'sample': return sample(rest);
    case 'predict': return predictRun(rest);
    case 'evaluate': return evaluateRun(rest);
    case 'export': process.stdout.write(`${await exportRun(rest, { loadRun, prepareData })}\n`); return;
    case 'doctor': return doctor();
    case 'run': return (await import('./run')).run(rest);  // the distributed launcher (lib/cli/run.ts)
    default: throw new UsageError(`unknown command "${command}" (see torchrnn --help)`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`torchrnn: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`torchrnn: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
