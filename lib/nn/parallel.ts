/**
 * nn.parallel.DistributedDataParallel: data-parallel training across the processes of the
 * default process group (distributed.initProcessGroup), on libtorch's own c10d Reducer
 * (native/distributed/ddp.{h,cc}), as PyTorch's DDP:
 * - at construction every rank checks that it has the same parameters as the others and takes
 *   rank 0's parameters and buffers, so all ranks start from the same model;
 * - with broadcastBuffers (the default), every forward that will synchronize gradients first
 *   copies rank 0's buffers (BatchNorm's running statistics) to the other ranks, as PyTorch
 *   does before each forward;
 * - during backward, gradients are copied into buckets (1 MiB first, then bucketCapMB) and each
 *   bucket is all-reduced as soon as it is full, overlapping communication with the rest of
 *   backward; when backward ends every rank holds the gradients averaged over the ranks, so
 *   the optimizer steps keep the ranks' parameters identical.
 *
 * Works with trainStep() and fit() (the fused step drives the Reducer on the executor) and
 * with a hand-written loop (`ddp.forward(x)`, `loss.backward()`, `optimizer.step()`).
 * State-dict keys carry PyTorch's `module.` prefix; save `ddp.module.stateDict()` for a
 * checkpoint that loads into the bare model.
 * @example
 * distributed.initProcessGroup();
 * const ddp = new nn.parallel.DistributedDataParallel(model);
 * const optimizer = new optim.Adam(ddp.parameters(), { lr: 1e-3 });
 * await torch.fit({ model: ddp, optimizer, loss, data: loaderWithDistributedSampler, epochs: 10 });
 */
import { DdpHandle, native, TensorHandle } from '../binding';
import { isGradEnabled } from '../autograd';
import { invalidArg, TorchError } from '../errors';
import { broadcast, broadcastAsync } from '../distributed/collectives';
import { isInitialized } from '../distributed/process-group';
import { Tensor } from '../tensor';
import { checkBool, checkOptions } from '../validate';
import { Module } from './module';

export interface DistributedDataParallelOptions {
  /** The size of the gradient buckets after the first (1 MiB) one, in MiB. Default 25 (PyTorch's). */
  bucketCapMB?: number;
  /**
   * Let parameters that a forward did not use take part (their gradient counts as zero). Costs
   * a traversal of the autograd graph per step. Default false (PyTorch's).
   */
  findUnusedParameters?: boolean;
  /** Gradients become views into the buckets (saves a copy and memory). Default false. */
  gradientAsBucketView?: boolean;
  /**
   * Before each forward (in training, with gradients synchronized), rank 0's buffers (running
   * statistics) are broadcast to the other ranks. Default true (PyTorch's).
   */
  broadcastBuffers?: boolean;
}

function tensorsIn(v: unknown, out: TensorHandle[] = []): TensorHandle[] {
  if (v instanceof Tensor) out.push(v.handle());
  else if (Array.isArray(v)) for (const x of v) tensorsIn(x, out);
  return out;
}

export class DistributedDataParallel<M extends Module = Module> extends Module {
  /** The wrapped model (PyTorch's `ddp.module`). */
  readonly module: M;
  /** @internal The Reducer. */
  readonly _ddp: DdpHandle;
  /** @internal False inside noSync(). */
  _requireGradSync = true;
  /** PyTorch's require_forward_param_sync: whether the last forward synchronized (initially true). */
  private _forwardSynced = true;
  private readonly _options: Required<DistributedDataParallelOptions>;

  /**
   * Wraps `module`; every rank of the default group must construct it at the same point, with
   * the same model (the same parameters' shapes and dtypes). Blocks until they all have.
   */
  constructor(module: M, opts?: DistributedDataParallelOptions) {
    super();
    if (!(module instanceof Module)) invalidArg('an nn.Module', 'module', module);
    if (module instanceof DistributedDataParallel) invalidArg('a module that is not already a DistributedDataParallel', 'module', module);
    module._checkLive('module');
    const o = checkOptions<DistributedDataParallelOptions>(opts, 'options', ['bucketCapMB', 'findUnusedParameters', 'gradientAsBucketView', 'broadcastBuffers']);
    const bucketCapMB = o.bucketCapMB === undefined ? 25 : o.bucketCapMB;
    if (typeof bucketCapMB !== 'number' || !(bucketCapMB > 0) || !Number.isFinite(bucketCapMB)) invalidArg('a number of MiB > 0', 'bucketCapMB', o.bucketCapMB);
    const findUnused = o.findUnusedParameters === undefined ? false : checkBool(o.findUnusedParameters, 'findUnusedParameters');
    const asView = o.gradientAsBucketView === undefined ? false : checkBool(o.gradientAsBucketView, 'gradientAsBucketView');
    const broadcastBuffers = o.broadcastBuffers === undefined ? true : checkBool(o.broadcastBuffers, 'broadcastBuffers');
    if (!isInitialized()) {
      throw new TorchError('DistributedDataParallel: the default process group has not been initialized: call distributed.initProcessGroup() first', 'ERR_DISTRIBUTED');
    }
    const params = module.parameters().filter((p) => p.requiresGrad);
    if (params.length === 0) invalidArg('a module with at least one parameter that requires grad', 'module', module);
    this.module = module;
    this._options = { bucketCapMB, findUnusedParameters: findUnused, gradientAsBucketView: asView, broadcastBuffers };
    this._ddp = native.ddpCreate(params.map((p) => p.handle()), Math.round(bucketCapMB * 1024 * 1024), findUnused, asView);
    // PyTorch's _sync_module_states: the buffers too start as rank 0's
    for (const b of module.buffers()) broadcast(b, 0);
    this.training = module.training;
  }

  /**
   * The wrapped module's forward. With grad enabled (and outside noSync) it also readies the
   * Reducer, so that the next backward of this output all-reduces the gradients.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(...args: any[]): any {
    const grad = isGradEnabled();
    const sync = grad && this._requireGradSync;
    if (grad) native.ddpPrepareForward(this._ddp, sync);
    for (const b of this._buffersToSync(sync)) broadcast(b, 0);
    const out = (this.module.forward as (...a: unknown[]) => unknown)(...args);
    if (sync) native.ddpPrepareBackward(this._ddp, this._options.findUnusedParameters ? tensorsIn(out) : []);
    return out;
  }

  /**
   * @internal The buffers that the coming forward first takes from rank 0 (PyTorch's
   * _check_sync_bufs_pre_fwd: when broadcastBuffers is on and the previous forward
   * synchronized), and records whether this one does (`sync`).
   */
  _buffersToSync(sync: boolean): Tensor[] {
    const due = this._options.broadcastBuffers && this._forwardSynced;
    this._forwardSynced = sync;
    return due ? this.module.buffers() : [];
  }

  /**
   * @internal The fused step's form (a step always synchronizes its gradients): queues the
   * broadcasts of rank 0's buffers on the executor, ahead of the step that the caller queues
   * next (jobs run in order).
   */
  _queueBufferSync(): Promise<void>[] {
    return this._buffersToSync(true).map((b) => broadcastAsync(b, 0));
  }

  /**
   * Runs `fn` without gradient synchronization (PyTorch's no_sync()): backward passes inside
   * accumulate gradients locally; the first synchronized backward after it all-reduces the sum.
   * `fn` may return a Promise; synchronization resumes when it settles.
   * @example
   * ddp.noSync(() => { ddp.forward(x1); loss1.backward(); });   // accumulate
   * const out = ddp.forward(x2); loss2.backward();               // all-reduce both
   */
  noSync<T>(fn: () => T): T {
    if (typeof fn !== 'function') invalidArg('a function', 'fn', fn);
    const prev = this._requireGradSync;
    this._requireGradSync = false;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this._requireGradSync = prev;
      throw err;
    }
    if (result instanceof Promise) return result.finally(() => { this._requireGradSync = prev; }) as T;
    this._requireGradSync = prev;
    return result;
  }

  extraRepr(): string {
    return `bucketCapMB=${this._options.bucketCapMB}${this._options.findUnusedParameters ? ', findUnusedParameters=true' : ''}`;
  }
}
