/**
 * fit(), evaluate() and predict(): Promise-based training loops over any iterable or async
 * iterable of [input, target] batches (a data.DataLoader, an array, a generator). Each
 * training step is one native job (trainStep); while it runs, the loop collates the next
 * batch on the JS thread, and the event loop stays free.
 */
import { noGrad } from '../autograd';
import { TorchError, invalidArg } from '../errors';
import { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import { cat } from '../ops';
import { Tensor, tidy } from '../tensor';
import { checkBool, checkInt, checkOptions, checkString } from '../validate';
import { batchArgs, LossFn, StepInput, trainStep } from './step';
import { DataLoader } from '../data/dataloader';

/** What callbacks receive at the end of a batch or an epoch. */
export interface Logs { loss: number; valLoss?: number; lr?: number; [metric: string]: number | undefined }

export interface Callback {
  onTrainBegin?(ctx: FitContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: FitContext): void | Promise<void>;
  onBatchEnd?(batch: number, logs: Logs, ctx: FitContext): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs, ctx: FitContext): void | Promise<void>;
  onTrainEnd?(history: History, ctx: FitContext): void | Promise<void>;
}

/** Shared with callbacks: set `stopTraining` to end after the current epoch. */
export interface FitContext { model: Module; optimizer: Optimizer; stopTraining: boolean; epoch: number; /** True once `signal` aborted the run (the current epoch is partial). */ aborted: boolean }

/** Loss (and validation loss) per epoch, like Keras' History. */
export interface History { epoch: number[]; loss: number[]; valLoss: number[]; lr: number[]; stoppedEarly: boolean; aborted: boolean }

/** Something with a step() that changes the learning rate (optim.lrScheduler.*). */
export interface SchedulerLike { step(metric?: number): void }

export type Batches = Iterable<[StepInput, Tensor]> | AsyncIterable<[StepInput, Tensor]>;

export interface FitOptions {
  model: Module;
  optimizer: Optimizer;
  loss: LossFn;
  /** Training batches [input, target]; input is a tensor or the forward's tensor arguments. */
  data: Batches;
  /** The number of the last epoch to run, counted from 0 (as Keras' epochs). Default 1. */
  epochs?: number;
  /** The epoch to start at, to resume a run (Keras' initialEpoch): runs epochs initialEpoch … epochs-1. Default 0. */
  initialEpoch?: number;
  validationData?: Batches;
  callbacks?: Callback[];
  /** Stops after the current step; the model stays consistent, fit() resolves with aborted: true. */
  signal?: AbortSignal;
  /** A progress bar on a TTY (loss, rate, ETA), one line per epoch otherwise. Default false. */
  progress?: boolean;
  /** On a NaN/infinite loss (the step is not applied): 'throw' (default), 'skip' the batch, or 'stop'. */
  onNonFinite?: 'throw' | 'skip' | 'stop';
  /** A learning-rate scheduler stepped after every epoch ('epoch', default) or batch; ReduceLROnPlateau gets valLoss (or loss). */
  scheduler?: SchedulerLike;
  schedulerStep?: 'epoch' | 'batch';
  clipGradNorm?: number;
  /** Trace the model (default true); see trainStep. */
  trace?: boolean;
}

function isIterable(v: unknown): v is Batches {
  return v !== null && typeof v === 'object' && (Symbol.iterator in v || Symbol.asyncIterator in v);
}

async function* batchesOf(data: Batches): AsyncGenerator<[StepInput, Tensor]> {
  if (Symbol.asyncIterator in data) yield* data as AsyncIterable<[StepInput, Tensor]>;
  else yield* data as Iterable<[StepInput, Tensor]>;
}

function disposeBatch(b: [StepInput, Tensor] | undefined, keepFrom: unknown): void {
  if (!b || keepFrom === 'keep') return;
  const [x, y] = b;
  for (const t of [...(Array.isArray(x) ? x : [x]), y]) if (t instanceof Tensor) t.dispose();
}

/** Batches that a DataLoader made are the loop's to free; user-owned batches (arrays) are not. */
function ownsBatches(data: Batches): boolean {
  return !Array.isArray(data);
}

class Progress {
  private readonly tty = Boolean(process.stderr.isTTY);
  private start = 0;
  constructor(private readonly enabled: boolean, private readonly epochs: number) {}
  epochBegin(): void { this.start = Date.now(); }
  batch(epoch: number, n: number, total: number | null, loss: number): void {
    if (!this.enabled || !this.tty) return;
    const secs = (Date.now() - this.start) / 1000;
    const rate = n / Math.max(secs, 1e-9);
    const width = 24;
    const done = total ? Math.min(width, Math.round((n / total) * width)) : 0;
    const bar = total ? `[${'='.repeat(done)}${done < width ? '>' : ''}${' '.repeat(Math.max(0, width - done - 1))}] ${n}/${total}` : `${n}`;
    const eta = total ? ` ETA ${Math.max(0, (total - n) / rate).toFixed(0)}s` : '';
    process.stderr.write(`\rEpoch ${epoch + 1}/${this.epochs} ${bar} loss ${loss.toFixed(4)} ${rate.toFixed(1)} batch/s${eta}   `);
  }
  epochEnd(epoch: number, n: number, logs: Logs): void {
    if (!this.enabled) return;
    const secs = (Date.now() - this.start) / 1000;
    const val = logs.valLoss === undefined ? '' : ` val_loss ${logs.valLoss.toFixed(4)}`;
    process.stderr.write(`${this.tty ? '\r' : ''}Epoch ${epoch + 1}/${this.epochs} ${n} batches ${secs.toFixed(1)}s loss ${logs.loss.toFixed(4)}${val}${' '.repeat(this.tty ? 20 : 0)}\n`);
  }
}

/**
 * Trains `model` for `epochs` passes over `data`. Resolves with the History.
 * @example
 * const history = await torch.fit({ model, optimizer, loss: new nn.CrossEntropyLoss(), data: loader, epochs: 10, progress: true });
 */
export async function fit(opts: FitOptions): Promise<History> {
  const o = checkOptions<FitOptions>(opts, 'options', ['model', 'optimizer', 'loss', 'data', 'epochs', 'initialEpoch', 'validationData', 'callbacks', 'signal', 'progress', 'onNonFinite', 'scheduler', 'schedulerStep', 'clipGradNorm', 'trace']);
  if (!isIterable(o.data)) invalidArg('an iterable or async iterable of [input, target] batches (or a data.DataLoader)', 'data', o.data);
  if (o.validationData !== undefined && !isIterable(o.validationData)) invalidArg('an iterable of [input, target] batches', 'validationData', o.validationData);
  const epochs = o.epochs === undefined ? 1 : checkInt(o.epochs, 'epochs', { min: 0 });
  const initialEpoch = o.initialEpoch === undefined ? 0 : checkInt(o.initialEpoch, 'initialEpoch', { min: 0 });
  const callbacks = o.callbacks ?? [];
  if (!Array.isArray(callbacks)) invalidArg('an array of callbacks', 'callbacks', callbacks);
  const onNonFinite = o.onNonFinite === undefined ? 'throw' : checkString(o.onNonFinite, 'onNonFinite', ['throw', 'skip', 'stop']);
  const schedulerStep = o.schedulerStep === undefined ? 'epoch' : checkString(o.schedulerStep, 'schedulerStep', ['epoch', 'batch']);
  if (o.scheduler !== undefined && (o.scheduler === null || typeof o.scheduler.step !== 'function')) invalidArg('a learning-rate scheduler', 'scheduler', o.scheduler);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) invalidArg('an AbortSignal', 'signal', o.signal);
  const progress = new Progress(o.progress === undefined ? false : checkBool(o.progress, 'progress'), epochs);
  const step = trainStep({ model: o.model!, loss: o.loss!, optimizer: o.optimizer!, clipGradNorm: o.clipGradNorm, trace: o.trace });
  const model = o.model!;
  const optimizer = o.optimizer!;
  const ctx: FitContext = { model, optimizer, stopTraining: false, epoch: initialEpoch, aborted: false };
  const history: History = { epoch: [], loss: [], valLoss: [], lr: [], stoppedEarly: false, aborted: false };
  const total = (o.data as { length?: number }).length;
  const owned = ownsBatches(o.data!);
  const isPlateau = (s: SchedulerLike) => s.constructor?.name === 'ReduceLROnPlateau';

  model.train();
  for (const cb of callbacks) await cb.onTrainBegin?.(ctx);
  for (let epoch = initialEpoch; epoch < epochs && !ctx.stopTraining && !history.aborted; epoch++) {
    ctx.epoch = epoch;
    // A DistributedSampler reshuffles with seed + epoch (PyTorch needs sampler.set_epoch(epoch) by hand).
    if (o.data instanceof DataLoader) o.data.sampler?.setEpoch?.(epoch);
    for (const cb of callbacks) await cb.onEpochBegin?.(epoch, ctx);
    progress.epochBegin();
    const it = batchesOf(o.data!)[Symbol.asyncIterator]();
    let sum = 0;
    let count = 0;
    let n = 0;
    let next = it.next();
    for (;;) {
      const r = await next;
      if (r.done) break;
      const batch = r.value;
      if (!Array.isArray(batch) || batch.length !== 2) invalidArg('an [input, target] batch', `data (batch ${n})`, batch);
      const pending = step(batch[0], batch[1]);
      next = it.next(); // collate the next batch while the step runs
      let value: number;
      try {
        value = await pending;
      } finally {
        if (owned) disposeBatch(batch, null);
      }
      n++;
      if (!Number.isFinite(value)) {
        if (onNonFinite === 'throw') {
          throw new TorchError(`The loss is ${value} at epoch ${epoch + 1}, batch ${n}; the step was not applied (pass onNonFinite: 'skip' or 'stop' to go on)`, 'ERR_TORCH');
        }
        if (onNonFinite === 'stop') { ctx.stopTraining = true; break; }
        continue;
      }
      sum += value;
      count++;
      progress.batch(epoch, n, total ?? null, sum / count);
      for (const cb of callbacks) await cb.onBatchEnd?.(n - 1, { loss: value }, ctx);
      if (o.scheduler && schedulerStep === 'batch' && !isPlateau(o.scheduler)) o.scheduler.step();
      if (o.signal?.aborted) { history.aborted = ctx.aborted = true; break; }
    }
    if (history.aborted && count === 0) break;
    const logs: Logs = { loss: count ? sum / count : NaN, lr: optimizer.paramGroups[0].lr };
    if (o.validationData !== undefined && !history.aborted) logs.valLoss = (await evaluate({ model, loss: o.loss!, data: o.validationData })).loss;
    model.train();
    history.epoch.push(epoch);
    history.loss.push(logs.loss);
    history.lr.push(logs.lr!);
    if (logs.valLoss !== undefined) history.valLoss.push(logs.valLoss);
    progress.epochEnd(epoch, n, logs);
    if (o.scheduler && (schedulerStep === 'epoch' || isPlateau(o.scheduler))) {
      if (isPlateau(o.scheduler)) o.scheduler.step(logs.valLoss ?? logs.loss);
      else o.scheduler.step();
    }
    for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs, ctx);
  }
  history.stoppedEarly = ctx.stopTraining;
  for (const cb of callbacks) await cb.onTrainEnd?.(history, ctx);
  return history;
}

export interface EvaluateOptions { model: Module; loss: LossFn; data: Batches }

/** The mean loss over `data` (weighted by batch size), in eval mode, without gradients. Forward runs on the executor for built-in modules. */
export async function evaluate(opts: EvaluateOptions): Promise<{ loss: number; batches: number }> {
  const o = checkOptions<EvaluateOptions>(opts, 'options', ['model', 'loss', 'data']);
  if (!(o.model instanceof Module)) invalidArg('an nn.Module', 'model', o.model);
  if (!isIterable(o.data)) invalidArg('an iterable of [input, target] batches', 'data', o.data);
  const model = o.model;
  const loss = o.loss instanceof Module ? (out: unknown, t: Tensor) => (o.loss as Module).forward(out, t) as Tensor : o.loss as (out: unknown, t: Tensor) => Tensor;
  const wasTraining = model.training;
  model.eval();
  let sum = 0;
  let weight = 0;
  let batches = 0;
  try {
    for await (const batch of batchesOf(o.data)) {
      const [inputs, target] = batchArgs(batch[0], batch[1]);
      const out = await noGrad(() => model.forwardAsync(...inputs));
      const n = target.dim() > 0 ? target.shape[0] : 1;
      sum += noGrad(() => tidy(() => loss(out, target).item() as number)) * n;
      weight += n;
      batches++;
      disposeDeep(out);
      if (ownsBatches(o.data)) disposeBatch(batch, null);
    }
  } finally {
    model.train(wasTraining);
  }
  return { loss: weight ? sum / weight : NaN, batches };
}

/**
 * Outputs of `model` over `data`, concatenated along the batch dimension: a DataLoader (its
 * batches' inputs are used), or an iterable of inputs (a tensor, or the forward's tensor arguments).
 */
export async function predict(opts: { model: Module; data: DataLoader | Iterable<StepInput> | AsyncIterable<StepInput> }): Promise<Tensor> {
  const o = checkOptions<{ model: Module; data: Batches }>(opts, 'options', ['model', 'data']);
  if (!(o.model instanceof Module)) invalidArg('an nn.Module', 'model', o.model);
  if (!isIterable(o.data)) invalidArg('an iterable of batches', 'data', o.data);
  const model = o.model;
  const wasTraining = model.training;
  model.eval();
  const outs: Tensor[] = [];
  try {
    for await (const item of batchesOf(o.data)) {
      const input = o.data instanceof DataLoader ? (item as unknown as [StepInput, Tensor])[0] : item as unknown as StepInput;
      const [inputs] = batchArgs(input, input instanceof Tensor ? input : (input as Tensor[])[0]);
      const out = await noGrad(() => model.forwardAsync(...inputs));
      if (!(out instanceof Tensor)) invalidArg('a model whose forward returns one Tensor', 'model', model);
      outs.push(out);
    }
  } finally {
    model.train(wasTraining);
  }
  if (outs.length === 0) invalidArg('at least one batch', 'data', o.data);
  const result = cat(outs, 0);
  for (const t of outs) t.dispose();
  return result;
}

function disposeDeep(v: unknown): void {
  if (v instanceof Tensor) v.dispose();
  else if (Array.isArray(v)) v.forEach(disposeDeep);
}

/** Stops training when `monitor` has not improved by minDelta for `patience` epochs (Keras' EarlyStopping). */
export function earlyStopping(opts?: { monitor?: 'loss' | 'valLoss'; patience?: number; minDelta?: number; mode?: 'min' | 'max' }): Callback {
  const o = checkOptions<{ monitor: string; patience: number; minDelta: number; mode: string }>(opts, 'options', ['monitor', 'patience', 'minDelta', 'mode']);
  const monitor = o.monitor === undefined ? 'valLoss' : checkString(o.monitor, 'monitor', ['loss', 'valLoss']);
  const patience = o.patience === undefined ? 0 : checkInt(o.patience, 'patience', { min: 0 });
  const minDelta = o.minDelta === undefined ? 0 : Math.abs(Number(o.minDelta));
  const mode = o.mode === undefined ? 'min' : checkString(o.mode, 'mode', ['min', 'max']);
  let best = mode === 'min' ? Infinity : -Infinity;
  let wait = 0;
  return {
    onTrainBegin() { best = mode === 'min' ? Infinity : -Infinity; wait = 0; },
    onEpochEnd(_epoch, logs, ctx) {
      const v = logs[monitor];
      if (v === undefined) throw new TorchError(`earlyStopping monitors ${monitor}, which this fit() does not compute (give validationData or monitor 'loss')`, 'ERR_INVALID_ARG');
      const better = mode === 'min' ? v < best - minDelta : v > best + minDelta;
      if (better) { best = v; wait = 0; } else if (++wait >= patience) ctx.stopTraining = true;
    },
  };
}
