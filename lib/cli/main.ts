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
import { lineChart } from './svg';
import { TASKS } from './tasks';
import type { Metric, Task, TrainConfig } from './tasks/task';
import { doctor } from './doctor';

const TRAIN_OPTIONS: Record<string, OptionSpec> = {
  cell: { type: 'string', choices: ['lstm', 'gru', 'rnn'] },
  hidden: { type: 'int', min: 1, max: 65536 },
  layers: { type: 'int', min: 1, max: 64 },
  bidirectional: { type: 'flag' },
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
};
const SAMPLE_OPTIONS: Record<string, OptionSpec> = {
  count: { type: 'int', min: 1, max: 10000 },
  temperature: { type: 'number', min: 0.01, max: 100 },
  prompt: { type: 'string' },
  seed: { type: 'int', min: 0 },
};

function help(): string {
  const tasks = Object.values(TASKS).map((t) => `  ${t.name.padEnd(10)} ${t.summary}\n  ${''.padEnd(10)} data: ${t.source}`).join('\n');
  return `torchrnn — train recurrent networks on libtorch from Node.js

Usage:
  torchrnn train <task> [options]     train a task's model; writes a run directory
  torchrnn sample <run-dir> [options] generate from a trained run (language-model tasks)
  torchrnn evaluate <run-dir>         the task's metric on its validation split
  torchrnn doctor                     what torchrnn runs on: addon, libtorch, BLAS, threads, CUDA
  torchrnn --help                     this text

Tasks:
${tasks}

Train options (defaults are the task's):
  --cell lstm|gru|rnn    recurrent cell             --hidden N        hidden size
  --layers N             stacked layers             --bidirectional   both directions
  --dropout p            dropout in [0, 1)          --epochs N        passes over the training data
  --batch N              batch size                 --lr x            Adam's learning rate
  --device cpu|cuda      where to train             --threads N       libtorch intra-op threads
  --seed N               random seed (default 0)    --limit N         use the first N examples only
  --out dir              run directory (default runs/<task>-<timestamp>)
  --resume               continue the run in --out from its last checkpoint
  --quiet                no progress output

Sample options: --count N (20), --temperature t (1), --prompt text, --seed N

A run directory holds model.safetensors (loads in PyTorch), checkpoint.safetensors (model,
optimizer, epoch, RNG: what --resume reads), config.json, metrics.json, loss.svg, metric.svg.
`;
}

interface RunConfig { task: string; config: TrainConfig; meta: Record<string, unknown>; torchrnn: string; created: string }
interface EpochMetrics { epoch: number; loss: number; valLoss: number; metric: number; seconds: number }

function say(quiet: boolean, line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function writeReport(dir: string, task: Task, metrics: EpochMetrics[], metricName: string): void {
  writeAtomic(path.join(dir, 'metrics.json'), JSON.stringify({ task: task.name, metric: metricName, epochs: metrics, final: metrics[metrics.length - 1] ?? null }, null, 2) + '\n');
  writeAtomic(path.join(dir, 'loss.svg'), lineChart(`${task.name}: loss per epoch`, 'cross-entropy (nats)', [
    { name: 'training', values: metrics.map((m) => m.loss), color: '#1f77b4' },
    { name: 'validation', values: metrics.map((m) => m.valLoss), color: '#ff7f0e' },
  ]));
  writeAtomic(path.join(dir, 'metric.svg'), lineChart(`${task.name}: ${metricName}`, metricName, [{ name: 'validation', values: metrics.map((m) => m.metric), color: '#2ca02c' }]));
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
    if (e.code === 'MODULE_NOT_FOUND') throw new UsageError(`the ${task.name} task's dataset is not installed (${task.source}): run npm install`);
    throw err;
  }
}

function saveCheckpoint(dir: string, model: torch.nn.Module, optimizer: torch.optim.Optimizer, epoch: number): void {
  torch.save(model.stateDict(), path.join(dir, 'model.safetensors'));
  torch.checkpoint.save(path.join(dir, 'checkpoint.safetensors'), { model, optimizer, epoch });
}

async function train(argv: string[]): Promise<void> {
  const { positional, options } = parseArgs(argv, TRAIN_OPTIONS);
  const task = taskOf(positional[0]);
  if (positional.length > 1) throw new UsageError(`unexpected argument "${positional[1]}"`);
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
  say(quiet, `model: ${model.numParameters().toLocaleString('en-US')} parameters, ${cfg.cell} hidden ${cfg.hidden} × ${cfg.layers} layer(s); run directory ${dir}`);
  if (startEpoch >= cfg.epochs) { say(quiet, `already trained for ${cfg.epochs} epochs`); return; }

  const abort = new AbortController();
  const onSigint = () => { say(quiet, '\ninterrupted: stopping after the current step'); abort.abort(); };
  process.once('SIGINT', onSigint);
  let metricName = 'metric';
  let epochStart = Date.now();
  try {
    const history = await torch.fit({
      model, optimizer, loss: task.loss, data: prepared.train, validationData: prepared.valid,
      epochs: cfg.epochs - startEpoch, signal: abort.signal, progress: !quiet,
      callbacks: [{
        onEpochBegin: () => { epochStart = Date.now(); },
        onEpochEnd: async (e, logs) => {
          const epoch = startEpoch + e;
          const m: Metric = await task.metric(logs.valLoss ?? NaN, model, prepared);
          model.train();
          metricName = m.name;
          metrics.push({ epoch: epoch + 1, loss: logs.loss, valLoss: logs.valLoss ?? NaN, metric: m.value, seconds: (Date.now() - epochStart) / 1000 });
          say(quiet, `  ${m.name}: ${m.value.toFixed(4)}`);
          saveCheckpoint(dir!, model, optimizer, epoch);
          writeReport(dir!, task, metrics, metricName);
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
  }
  const last = metrics[metrics.length - 1];
  say(quiet, `done: ${metricName} ${last.metric.toFixed(4)} after ${last.epoch} epochs; wrote ${dir}`);
  if (task.sample) {
    model.eval();
    say(quiet, 'samples:');
    for (const s of task.sample(model, prepared.meta, { count: 20, temperature: 0.8, prompt: '', seed: cfg.seed })) process.stdout.write(`  ${s}\n`);
  }
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

function sample(argv: string[]): void {
  const { positional, options } = parseArgs(argv, SAMPLE_OPTIONS);
  const { run, task, model } = loadRun(positional[0]);
  if (!task.sample) throw new UsageError(`the ${task.name} task does not sample`);
  const out = task.sample(model, run.meta, {
    count: (options.count as number | undefined) ?? 20, temperature: (options.temperature as number | undefined) ?? 1,
    prompt: (options.prompt as string | undefined) ?? '', seed: (options.seed as number | undefined) ?? 0,
  });
  for (const s of out) process.stdout.write(`${s}\n`);
}

async function evaluateRun(argv: string[]): Promise<void> {
  const { positional } = parseArgs(argv, {});
  const { run, task, model } = loadRun(positional[0]);
  const prepared = prepareData(task, run.config);
  const { loss } = await torch.evaluate({ model, loss: task.loss, data: prepared.valid });
  const m = await task.metric(loss, model, prepared);
  process.stdout.write(`${m.name}: ${m.value.toFixed(4)} (validation loss ${loss.toFixed(4)})\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') { process.stdout.write(help()); return; }
  switch (command) {
    case 'train': return train(rest);
    case 'sample': return sample(rest);
    case 'evaluate': return evaluateRun(rest);
    case 'doctor': return doctor();
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
