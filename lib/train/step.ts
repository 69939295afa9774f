/**
 * trainStep: forward, loss, backward, gradient clipping and the optimizer step as one native
 * job. Which path a model takes:
 * - traced (default, `trace: true`): the model's forward and the loss are traced once per
 *   input signature (jit.ts) and the whole step runs on the executor: no JS work per step.
 * - untraced (`trace: false`, for a forward with data-dependent control flow or that reads
 *   tensor values): forward and loss run on the JS thread, then backward, clipping and the
 *   step run on the executor as one job.
 * Both give the same parameters (tested over 20 steps).
 */
import { native, TensorHandle } from '../binding';
import { invalidArg, withCallerStack } from '../errors';
import { GraphCache } from '../graph-cache';
import { Graph, traceModuleGraph } from '../jit';
import { Module } from '../nn/module';
import { DistributedDataParallel } from '../nn/parallel';
import { autocast, autocastState, AutocastOptions, defaultAmpDtype, GradScaler } from '../amp';
import { DType } from '../dtype';
import { Optimizer } from '../optim/optimizer';
import { getRngState, setRngState } from '../runtime';
import { checkTensor, Tensor, tidy } from '../tensor';
import { checkBool, checkOptions } from '../validate';

/** A loss module (nn.CrossEntropyLoss …) or a function of (output, target) built from torchrnn operations. */
export type LossFn = Module | ((output: never, target: Tensor) => Tensor);

export interface TrainStepOptions {
  model: Module;
  loss: LossFn;
  optimizer: Optimizer;
  /** Clip the gradients' total norm to this value before each step (clipGradNorm_). Default: no clipping. */
  clipGradNorm?: number;
  /** The norm's order for clipGradNorm. Default 2. */
  normType?: number;
  /** Trace the model (default true); false runs forward and loss on the JS thread. */
  trace?: boolean;
  /**
   * Mixed precision: true, or { dtype, scaler }. The forward and loss run under autocast for
   * the model's device ('float16' on CUDA, 'bfloat16' on the CPU by default); with a GradScaler
   * (made for you on CUDA with float16; pass `scaler: null` for none) the backward uses the
   * scaled loss, inf/NaN gradients skip the step and the scale is updated, as
   * scaler.scale(loss).backward(); scaler.step(optimizer); scaler.update() would.
   */
  amp?: boolean | { dtype?: DType; scaler?: GradScaler | null };
}

/** One step's inputs: a tensor, or the arguments of the model's forward (tensors). */
export type StepInput = Tensor | Tensor[];

export interface TrainStep {
  (input: StepInput, target: Tensor): Promise<number>;
  /** Which path this step takes. */
  readonly traced: boolean;
  /** The GradScaler of a mixed-precision step, or null. */
  readonly scaler: GradScaler | null;
}

function lossOf(loss: LossFn): (out: unknown, target: Tensor) => Tensor {
  if (loss instanceof Module) return (out, target) => (loss.forward as (o: unknown, t: Tensor) => Tensor)(out, target);
  return loss as (out: unknown, target: Tensor) => Tensor;
}

/** @internal Validates one batch. */
export function batchArgs(input: unknown, target: unknown): [Tensor[], Tensor] {
  const inputs = Array.isArray(input) ? input : [input];
  if (inputs.length === 0) invalidArg('a Tensor or an array of Tensors', 'input', input);
  return [inputs.map((t, i) => checkTensor(t, inputs.length === 1 ? 'input' : `input[${i}]`)), checkTensor(target, 'target')];
}

/**
 * Builds the fused training step for a model, a loss and an optimizer.
 * @example
 * const step = torch.trainStep({ model, loss: new nn.CrossEntropyLoss(), optimizer });
 * const lossValue = await step(x, y);
 */
export function trainStep(opts: TrainStepOptions): TrainStep {
  const o = checkOptions<TrainStepOptions>(opts, 'options', ['model', 'loss', 'optimizer', 'clipGradNorm', 'normType', 'trace', 'amp']);
  if (!(o.model instanceof Module)) invalidArg('an nn.Module', 'model', o.model);
  if (!(o.optimizer instanceof Optimizer)) invalidArg('an optimizer (torch.optim.*)', 'optimizer', o.optimizer);
  if (!(o.loss instanceof Module) && typeof o.loss !== 'function') invalidArg('a loss module or a function (output, target) => Tensor', 'loss', o.loss);
  const maxNorm = o.clipGradNorm === undefined ? 0 : o.clipGradNorm;
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) invalidArg('a number > 0', 'clipGradNorm', o.clipGradNorm);
  const normType = o.normType === undefined ? 2 : o.normType;
  if (typeof normType !== 'number' || Number.isNaN(normType)) invalidArg('a number or Infinity', 'normType', normType);
  // DistributedDataParallel: the step traces and runs the wrapped module, and drives the
  // Reducer itself on the executor (its forward would ready the Reducer on the JS thread).
  const ddp = o.model instanceof DistributedDataParallel ? o.model : null;
  const ddpArg = ddp ? ddp._ddp : null;
  const model = ddp ? ddp.module : o.model;
  const traced = o.trace === undefined ? model._traceable : checkBool(o.trace, 'trace');
  if (traced && !model._traceable) {
    invalidArg('false for a TorchScript module (its forward runs in the interpreter; tracing would unroll its control flow)', 'trace', o.trace);
  }
  const optimizer = o.optimizer;
  const loss = lossOf(o.loss);
  const graphs = new GraphCache<Graph>();
  const amp = ampOf(o.amp, model);
  const scalerArg = amp?.scaler?._native() ?? null;
  // the forward and the loss, under autocast when amp is on (no cast cache while tracing, as
  // PyTorch advises for torch.jit.trace under autocast)
  const forwardLoss = (inputs: Tensor[], t: Tensor, tracing: boolean) => {
    const run = () => tidy(() => loss((model.forward as (...a: Tensor[]) => unknown)(...inputs), t));
    return amp ? autocast({ ...amp.autocast, cacheEnabled: !tracing }, run) : run();
  };

  const step = (input: StepInput, target: Tensor): Promise<number> => {
    model._checkLive('model');
    const [inputs, t] = batchArgs(input, target);
    // DDP with buffers: rank 0's buffers are broadcast first, queued ahead of the step (an
    // untraced forward, run here, waits for them as every synchronous op waits for queued jobs)
    const bufferSync = ddp ? ddp._queueBufferSync() : [];
    let done: Promise<number>;
    try {
      done = queueStep(inputs, t, new Error());
    } catch (err) {
      for (const p of bufferSync) p.catch(() => undefined); // the step's error is the one to report
      throw err;
    }
    return bufferSync.length ? Promise.all([...bufferSync, done]).then(() => done) : done;
  };

  const queueStep = (inputs: Tensor[], t: Tensor, caller: Error): Promise<number> => {
    if (traced) {
      const all = [...inputs, t];
      // parameters and buffers are graph inputs: a buffer that forward updates in place
      // (running statistics) is updated by every step
      const params = [...model.parameters(), ...model.buffers()];
      const g = graphs.get(all, model.training, () => {
        // Tracing runs the forward once; it must not consume random numbers (dropout), or a
        // resumed run would diverge from an uninterrupted one at its first step.
        const rng = getRngState();
        try {
          return traceModuleGraph(model, all, () => forwardLoss(inputs, t, true));
        } finally {
          setRngState(rng);
          rng.dispose();
        }
      }, params);
      const handles = [...params, ...all].map((x) => x.handle());
      return withCallerStack(native.trainStepAsync({ traced: g.handle, inputs: handles, loss: null, optimizer: optimizer._h, groups: optimizer._groupOptions(), maxNorm, normType, scaler: scalerArg, ddp: ddpArg }), caller);
    }
    const l = forwardLoss(inputs, t, false);
    if (!(l instanceof Tensor) || l.numel() !== 1) invalidArg('a loss with one element (a reduced loss)', 'loss', l);
    try {
      return withCallerStack(native.trainStepAsync({ traced: null, inputs: [], loss: l.handle() as TensorHandle, optimizer: optimizer._h, groups: optimizer._groupOptions(), maxNorm, normType, scaler: scalerArg, ddp: ddpArg }), caller);
    } finally {
      l.dispose(); // the queued job holds its own reference
    }
  };
  return Object.assign(step, { traced, scaler: amp?.scaler ?? null });
}

/** The amp option: autocast settings for the model's device and the scaler, or null. */
function ampOf(v: unknown, model: Module): { autocast: AutocastOptions; scaler: GradScaler | null } | null {
  if (v === undefined || v === false) return null;
  const o = v === true ? {} : checkOptions<{ dtype: DType; scaler: GradScaler | null }>(v, 'amp', ['dtype', 'scaler']);
  const first = model.parameters()[0];
  const deviceType = first && first.device.startsWith('cuda') ? 'cuda' : 'cpu';
  const opts: AutocastOptions = { deviceType, dtype: o.dtype };
  autocastState(opts); // validates dtype for the device now, not at the first step
  const dtype = o.dtype ?? defaultAmpDtype(deviceType);
  if (o.scaler !== undefined && o.scaler !== null && !(o.scaler instanceof GradScaler)) invalidArg('a GradScaler or null', 'amp.scaler', o.scaler);
  if (o.scaler instanceof GradScaler && o.scaler.isEnabled() && o.scaler.device !== deviceType) {
    invalidArg(`a GradScaler on the model's device (${deviceType})`, 'amp.scaler', `a GradScaler on ${o.scaler.device}`);
  }
  const scaler = o.scaler !== undefined ? o.scaler : deviceType === 'cuda' && dtype === 'float16' ? new GradScaler({ device: 'cuda' }) : null;
  return { autocast: opts, scaler };
}
