/**
 * Automatic mixed precision (torch.amp): the autocast scope and GradScaler, with PyTorch's
 * semantics and names. On CUDA, autocast runs eligible operations (matmul, linear, the
 * recurrent layers' matrix products …) in float16 and GradScaler scales the loss so that small
 * float16 gradients do not flush to zero. On the CPU, autocast uses bfloat16 (as PyTorch's CPU
 * autocast) and GradScaler works too (`device: 'cpu'`, as in PyTorch 2.3+).
 *
 * Where PyTorch 1.13 warns and disables itself when asked for CUDA on a machine without it,
 * torchrnn throws ERR_CUDA_UNAVAILABLE (pass `enabled: torch.cuda.isAvailable()` for code that
 * runs on both).
 */
import { AutocastState, native } from './binding';
import { DType, SCALAR_TYPE, checkDType } from './dtype';
import { invalidArg, TorchError } from './errors';
import { Optimizer } from './optim/optimizer';
import { noGrad } from './autograd';
import { full, zeros } from './creation';
import { stack } from './ops';
import { checkTensor, Tensor, tidy } from './tensor';
import { assertCuda, checkBool, checkInt, checkNumber, checkOptions, checkString } from './validate';

export type AmpDevice = 'cuda' | 'cpu';

export interface AutocastOptions {
  /** 'cuda' or 'cpu' (required, as torch.autocast's device_type). */
  deviceType: AmpDevice;
  /** The lower precision: 'float16' (CUDA's default) or 'bfloat16' (the CPU's, and its only one in libtorch 1.13). */
  dtype?: DType;
  /** Default true; false turns autocast off inside the scope. */
  enabled?: boolean;
  /** Reuse casts of the same weights within the scope. Default true. */
  cacheEnabled?: boolean;
}

function checkAmpDevice(v: unknown, name: string): AmpDevice {
  const d = checkString(v, name, ['cuda', 'cpu']);
  if (d === 'cuda') assertCuda('cuda');
  return d;
}

/** The default lower-precision dtype of a device type. */
export function defaultAmpDtype(device: AmpDevice): DType { return device === 'cuda' ? 'float16' : 'bfloat16'; }

/** @internal The autocast state that `opts` asks for, starting from `prev`. */
export function autocastState(opts: unknown, prev: AutocastState = native.autocastState()): AutocastState {
  const o = checkOptions<AutocastOptions>(opts, 'options', ['deviceType', 'dtype', 'enabled', 'cacheEnabled']);
  const device = checkAmpDevice(o.deviceType, 'deviceType');
  const dtype = o.dtype === undefined ? defaultAmpDtype(device) : checkDType(o.dtype);
  const allowed: DType[] = device === 'cuda' ? ['float16', 'bfloat16'] : ['bfloat16'];
  if (!allowed.includes(dtype)) invalidArg(`${allowed.join(' or ')} (what ${device.toUpperCase()} autocast supports)`, 'dtype', dtype);
  const enabled = o.enabled === undefined ? true : checkBool(o.enabled, 'enabled');
  const next = { ...prev, cache: o.cacheEnabled === undefined ? true : checkBool(o.cacheEnabled, 'cacheEnabled') };
  if (device === 'cpu') { next.cpu = enabled; next.cpuDtype = SCALAR_TYPE[dtype]; } else { next.cuda = enabled; next.cudaDtype = SCALAR_TYPE[dtype]; }
  return next;
}

/**
 * Runs `fn` with autocast on (torch.autocast). Async jobs that `fn` queues (forwardAsync …) run
 * with the same state: it is captured when a job is queued, like grad mode. Scopes nest; leaving
 * the outermost one drops the cached casts.
 * @example const y = torch.autocast({ deviceType: 'cpu' }, () => model.forward(x)); // bfloat16 matmuls
 */
export function autocast<T>(opts: AutocastOptions, fn: () => T): T {
  const prev = native.autocastState();
  const next = autocastState(opts, prev);
  if (typeof fn !== 'function') invalidArg('a function', 'fn', fn);
  native.setAutocastState(next);
  try {
    return fn();
  } finally {
    native.setAutocastState(prev);
  }
}

/** Whether autocast is on for the device type on the JS thread (torch.is_autocast_enabled, torch.is_autocast_cpu_enabled). */
export function isAutocastEnabled(deviceType: AmpDevice = 'cuda'): boolean {
  const s = native.autocastState();
  return checkString(deviceType, 'deviceType', ['cuda', 'cpu']) === 'cpu' ? s.cpu : s.cuda;
}

export interface GradScalerOptions {
  /** Where the scale lives: 'cuda' (default, as torch.cuda.amp.GradScaler) or 'cpu'. */
  device?: AmpDevice;
  /** Default 2^16. */
  initScale?: number;
  /** Default 2. */
  growthFactor?: number;
  /** Default 0.5. */
  backoffFactor?: number;
  /** Good steps before the scale grows. Default 2000. */
  growthInterval?: number;
  /** false makes every method a pass-through (scale returns the loss, step calls optimizer.step()). Default true. */
  enabled?: boolean;
}

/** GradScaler's state dict, with torch.cuda.amp.GradScaler's keys. */
export interface GradScalerStateDict { scale: number; growth_factor: number; backoff_factor: number; growth_interval: number; _growth_tracker: number }

type Stage = 'ready' | 'unscaled' | 'stepped';

/**
 * Loss scaling for float16 training (torch.cuda.amp.GradScaler): scale(loss).backward(), then
 * step(optimizer) unscales the gradients and skips the step when one is inf or NaN, and
 * update() lowers the scale after such a step or raises it after growthInterval good ones.
 * trainStep({ amp }) does all of this inside its one native job.
 * @example
 * const scaler = new torch.GradScaler();
 * scaler.scale(loss).backward(); scaler.step(optimizer); scaler.update();
 */
export class GradScaler {
  readonly device: AmpDevice;
  private readonly enabled: boolean;
  /** @internal float32 [1] and int32 [1]: the native training step updates them in place. */
  _scale: Tensor | null = null;
  /** @internal */
  _growthTracker: Tensor | null = null;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private readonly stages = new Map<Optimizer, { stage: Stage; foundInf: boolean }>();

  constructor(opts?: GradScalerOptions) {
    const o = checkOptions<GradScalerOptions>(opts, 'options', ['device', 'initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled']);
    this.enabled = o.enabled === undefined ? true : checkBool(o.enabled, 'enabled');
    this.device = o.device === undefined ? 'cuda' : checkString(o.device, 'device', ['cuda', 'cpu']);
    if (this.enabled && this.device === 'cuda') assertCuda('cuda');
    const initScale = o.initScale === undefined ? 2 ** 16 : checkNumber(o.initScale, 'initScale');
    if (!(initScale > 0) || !Number.isFinite(initScale)) invalidArg('a finite number > 0', 'initScale', initScale);
    this.growthFactor = o.growthFactor === undefined ? 2 : checkNumber(o.growthFactor, 'growthFactor');
    if (!(this.growthFactor > 1)) invalidArg('a number > 1', 'growthFactor', this.growthFactor);
    this.backoffFactor = o.backoffFactor === undefined ? 0.5 : checkNumber(o.backoffFactor, 'backoffFactor');
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) invalidArg('a number in (0, 1)', 'backoffFactor', this.backoffFactor);
    this.growthInterval = o.growthInterval === undefined ? 2000 : checkInt(o.growthInterval, 'growthInterval', { min: 1 });
    if (this.enabled) {
      this._scale = full([1], initScale, { dtype: 'float32', device: this.device });
      this._growthTracker = zeros([1], { dtype: 'int32', device: this.device });
    }
  }

  isEnabled(): boolean { return this.enabled; }

  /** The current scale (1 when disabled). Reads it after the jobs queued before. */
  getScale(): number { return this._scale ? Number(this._scale.item()) : 1; }
  getGrowthFactor(): number { return this.growthFactor; }
  getBackoffFactor(): number { return this.backoffFactor; }
  getGrowthInterval(): number { return this.growthInterval; }

  /** outputs * scale (a tensor, or an array of them). Disabled: the outputs themselves. */
  scale<T extends Tensor | Tensor[]>(outputs: T): T {
    if (!this.enabled) return outputs;
    const one = (t: Tensor, name: string) => checkTensor(t, name).mul(this._scale!.to(t.device as never));
    if (Array.isArray(outputs)) return outputs.map((t, i) => one(t, `outputs[${i}]`)) as T;
    return one(outputs as Tensor, 'outputs') as T;
  }

  private stateOf(optimizer: unknown): { stage: Stage; foundInf: boolean } {
    if (!(optimizer instanceof Optimizer)) invalidArg('an optimizer (torch.optim.*)', 'optimizer', optimizer);
    let s = this.stages.get(optimizer);
    if (!s) { s = { stage: 'ready', foundInf: false }; this.stages.set(optimizer, s); }
    return s;
  }

  /** Divides the optimizer's gradients by the scale (before clipping them) and records whether one is inf or NaN. */
  unscale_(optimizer: Optimizer): void {
    if (!this.enabled) return;
    const s = this.stateOf(optimizer);
    if (s.stage === 'unscaled') throw new TorchError('unscale_() has already been called on this optimizer since the last update()', 'ERR_INVALID_ARG');
    if (s.stage === 'stepped') throw new TorchError('unscale_() is being called after step()', 'ERR_INVALID_ARG');
    // one read of the result for all gradients, not one per gradient
    const foundInf = noGrad(() => tidy(() => {
      const inv = this._scale!.reciprocal();
      const finite: Tensor[] = [];
      for (const g of optimizer.paramGroups) {
        for (const p of g.params) {
          const grad = p.grad;
          if (!grad) continue;
          grad.mul_(inv.to(grad.dtype));
          finite.push(grad.isfinite().all());
        }
      }
      return finite.length > 0 && !(stack(finite).all().item() as boolean);
    }));
    s.stage = 'unscaled';
    s.foundInf = foundInf;
  }

  /** Unscales (unless unscale_ was called) and steps, unless a gradient is inf or NaN. */
  step(optimizer: Optimizer): void {
    if (!this.enabled) { optimizer.step(); return; }
    if (this.prepareStep(optimizer)) optimizer.step();
  }

  /** step() with the optimizer's step queued on the executor. */
  async stepAsync(optimizer: Optimizer): Promise<void> {
    if (!this.enabled) return optimizer.stepAsync();
    if (this.prepareStep(optimizer)) await optimizer.stepAsync();
  }

  private prepareStep(optimizer: Optimizer): boolean {
    const s = this.stateOf(optimizer);
    if (s.stage === 'stepped') throw new TorchError('step() has already been called since the last update()', 'ERR_INVALID_ARG');
    if (s.stage === 'ready') this.unscale_(optimizer);
    s.stage = 'stepped';
    return !s.foundInf;
  }

  /**
   * Updates the scale for the next iteration: times backoffFactor after a step that found inf
   * or NaN gradients, times growthFactor after growthInterval steps without; or sets `newScale`.
   */
  update(newScale?: number | Tensor): void {
    if (!this.enabled) return;
    noGrad(() => {
      if (newScale !== undefined) {
        const v = newScale instanceof Tensor ? Number(checkTensor(newScale, 'newScale').item()) : checkNumber(newScale, 'newScale');
        if (!(v > 0) || !Number.isFinite(v)) invalidArg('a finite scale > 0', 'newScale', newScale);
        this._scale!.fill_(v);
      } else {
        if (this.stages.size === 0) throw new TorchError('No inf checks were recorded prior to update(): call step(optimizer) (or unscale_) first', 'ERR_INVALID_ARG');
        const foundInf = [...this.stages.values()].some((s) => s.foundInf);
        if (foundInf) {
          this._scale!.mul_(this.backoffFactor);
          this._growthTracker!.fill_(0);
        } else {
          const next = Number(this._growthTracker!.item()) + 1;
          if (next >= this.growthInterval) {
            this._scale!.mul_(this.growthFactor);
            this._growthTracker!.fill_(0);
          } else {
            this._growthTracker!.fill_(next);
          }
        }
      }
    });
    this.stages.clear();
  }

  /** @internal The scaler as the native training step takes it. */
  _native(): { scale: ReturnType<Tensor['handle']>; growthTracker: ReturnType<Tensor['handle']>; growthFactor: number; backoffFactor: number; growthInterval: number } | null {
    if (!this.enabled) return null;
    return { scale: this._scale!.handle(), growthTracker: this._growthTracker!.handle(), growthFactor: this.growthFactor, backoffFactor: this.backoffFactor, growthInterval: this.growthInterval };
  }

  /** torch.cuda.amp.GradScaler's state_dict (empty when disabled). */
  stateDict(): GradScalerStateDict | Record<string, never> {
    if (!this.enabled) return {};
    return { scale: this.getScale(), growth_factor: this.growthFactor, backoff_factor: this.backoffFactor, growth_interval: this.growthInterval, _growth_tracker: Number(this._growthTracker!.item()) };
  }

  loadStateDict(sd: GradScalerStateDict): void {
    if (!this.enabled) throw new TorchError('loadStateDict() on a disabled GradScaler', 'ERR_INVALID_ARG');
    const o = checkOptions<GradScalerStateDict>(sd, 'stateDict', ['scale', 'growth_factor', 'backoff_factor', 'growth_interval', '_growth_tracker']);
    const scale = checkNumber(o.scale, 'stateDict.scale');
    if (!(scale > 0) || !Number.isFinite(scale)) invalidArg('a finite scale > 0', 'stateDict.scale', scale);
    if (o.growth_factor !== undefined) this.growthFactor = checkNumber(o.growth_factor, 'stateDict.growth_factor');
    if (o.backoff_factor !== undefined) this.backoffFactor = checkNumber(o.backoff_factor, 'stateDict.backoff_factor');
    if (o.growth_interval !== undefined) this.growthInterval = checkInt(o.growth_interval, 'stateDict.growth_interval', { min: 1 });
    noGrad(() => {
      this._scale!.fill_(scale);
      this._growthTracker!.fill_(o._growth_tracker === undefined ? 0 : checkInt(o._growth_tracker, 'stateDict._growth_tracker', { min: 0 }));
    });
  }

  /** Frees the scale tensors. */
  dispose(): void {
    this._scale?.dispose();
    this._growthTracker?.dispose();
  }
}
