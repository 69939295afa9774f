/**
 * nn.Module, the base class of every model, and nn.Parameter.
 *
 * Registration (one rule): a module's children and parameters are the values of its own
 * enumerable properties that are `Module`s or `Parameter`s (or arrays of Modules, named
 * `name.0`, `name.1`, … like PyTorch's ModuleList), in the order the properties were first
 * assigned, which for class fields is their declaration order. Properties whose name starts
 * with `_` are private and never registered. Built-in layers (LSTM, Linear, …) hold their
 * parameters in libtorch and report them under PyTorch's names.
 */
import { atenOp, ModuleHandle, native, TensorHandle } from '../binding';
import { DType, isFloating, SCALAR_TYPE } from '../dtype';
import { invalidArg, TorchError, withCallerStack } from '../errors';
import { noGrad, zeroGradOf } from '../autograd';
import { checkTensor, keep, sameShape, Tensor } from '../tensor';
import { checkBool, checkOptions, checkToTarget, Device } from '../validate';
import { load as loadFile, loadAsync as loadFileAsync, save as saveFile, saveAsync as saveFileAsync, SaveOptions } from '../serialization';

const DETACH = atenOp('detach');

/**
 * Refuses an input tensor whose dtype is not the module's, as the built-in modules do, except a
 * floating-point one under autocast: there PyTorch's operators cast their inputs themselves (a
 * float32 Linear or LSTM takes the bfloat16 output of a layer before it; oneDNN's bfloat16 LSTM on
 * CPUs with AVX-512 BF16 gives one).
 */
export function checkModuleDtype(t: Tensor, dtype: DType, name: string): void {
  if (t.dtype === dtype) return;
  if (isFloating(t.dtype) && isFloating(dtype)) {
    const ac = native.autocastState();
    if (ac.cpu || ac.cuda) return;
  }
  invalidArg(`a ${dtype} tensor (the module's dtype)`, name, t);
}

/**
 * A tensor that a Module registers as trainable (requiresGrad by default), as torch.nn.Parameter.
 * It shares data with the tensor it is made from. Parameters are never disposed by tidy().
 * @example this.scale = new nn.Parameter(torch.ones([4]));
 */
export class Parameter<D extends DType = DType> extends Tensor<D> {
  constructor(data: Tensor<D>, requiresGrad = true) {
    const handle = data instanceof Tensor
      ? native.call(DETACH, checkTensor(data, 'data').handle('data')) as TensorHandle
      : (data as unknown as TensorHandle); // internal: a native module's own parameter
    super(handle);
    keep(this);
    if (requiresGrad) this.requiresGrad_(checkBool(requiresGrad, 'requiresGrad'));
  }
}

/** A registered buffer: its tensor (null: registered, but none yet) and whether stateDict() has it. */
interface BufferSlot { tensor: Tensor | null; persistent: boolean }

function isModuleArray(v: unknown): v is Module[] {
  return Array.isArray(v) && v.length > 0 && v.every((m) => m instanceof Module);
}

export abstract class Module {
  /** True in training mode (dropout active), false after eval(). */
  training = true;
  /** @internal The libtorch module of a built-in layer. */
  _native: ModuleHandle | null = null;
  /** @internal A built-in layer's parameters, wrapped once (stable objects for optimizers). */
  _nativeParams: [string, Parameter][] = [];
  /** @internal The buffers registered with registerBuffer, in registration order. */
  _buffers = new Map<string, BufferSlot>();
  /** @internal Whether trainStep traces forward by default (a TorchScript module runs its own graph). */
  readonly _traceable: boolean = true;

  /** The computation. Built-in layers implement it; a model written in TypeScript overrides it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...args: any[]): unknown;

  /**
   * forward() off the JS thread, resolving with the same result. Built-in layers run on the
   * executor. A model written in TypeScript runs its forward on the JS thread once every job
   * queued before the call has finished (its traced, fully native form arrives with tracing).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async forwardAsync(...args: any[]): Promise<unknown> {
    await withCallerStack(native.barrierAsync(), new Error());
    return (this.forward as (...a: unknown[]) => unknown)(...args);
  }

  /** @internal Adopts a native module: its parameters become this module's own. */
  protected _adopt(handle: ModuleHandle): void {
    this._native = handle;
    const [names, handles] = native.moduleParameters(handle);
    this._nativeParams = names.map((n, i) => [n, new Parameter(handles[i] as unknown as Tensor, false)]);
    // PyTorch's attributes (linear.weight, lstm.weight_ih_l0): non-enumerable, so not registered twice
    for (const [n, p] of this._nativeParams) Object.defineProperty(this, n, { get: () => p, enumerable: false, configurable: true });
  }

  /** The direct children, with their names (`lstm`, or `0`, `1`, … in a Sequential). */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (key.startsWith('_')) continue;
      if (value instanceof Module) out.push([key, value]);
      else if (isModuleArray(value)) value.forEach((m, i) => out.push([`${key}.${i}`, m]));
    }
    return out;
  }
  children(): Module[] { return this.namedChildren().map(([, m]) => m); }

  /** This module and every descendant, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }
  modules(): Module[] { return this.namedModules().map(([, m]) => m); }

  /** Parameters registered on this module itself (not its children). */
  protected ownParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [...this._nativeParams];
    for (const [key, value] of Object.entries(this)) {
      if (!key.startsWith('_') && value instanceof Parameter) out.push([key, value]);
    }
    return out;
  }

  /** Every parameter with PyTorch's dotted names (`lstm.weight_ih_l0`), each once. */
  namedParameters(): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }
  parameters(): Parameter[] { return this.namedParameters().map(([, p]) => p); }
  /** The number of trainable values. */
  numParameters(): number { return this.parameters().reduce((n, p) => n + p.numel(), 0); }

  /**
   * Registers a tensor that is module state but not a parameter (running statistics, a fixed
   * mask, a loss's class weights), as PyTorch's register_buffer: it is in stateDict() under
   * its dotted name (unless `persistent: false`), moves and converts with to() (dtype only
   * when it is floating point), is a graph input of traced steps (so an in-place update in
   * forward, `this.steps.add_(1)`, happens in every trainStep), and reads and assigns as
   * `module[name]`. `null` registers the name without a tensor yet.
   * @example this.registerBuffer('runningMean', torch.zeros([n]));
   */
  registerBuffer(name: string, tensor: Tensor | null, opts?: { persistent?: boolean }): void {
    if (typeof name !== 'string' || name === '' || name.includes('.')) invalidArg('a non-empty name without "."', 'name', name);
    if (name.startsWith('_')) invalidArg('a name that does not start with "_" (those are private)', 'name', name);
    const o = checkOptions<{ persistent: boolean }>(opts, 'options', ['persistent']);
    const persistent = o.persistent === undefined ? true : checkBool(o.persistent, 'persistent');
    if (tensor !== null) keep(checkTensor(tensor, 'tensor'));
    if (!this._buffers.has(name) && name in this) invalidArg('a name that is not already an attribute of the module', 'name', name);
    this._buffers.set(name, { tensor, persistent });
    Object.defineProperty(this, name, {
      get: () => this._buffers.get(name)!.tensor,
      set: (v: unknown) => {
        if (v !== null) keep(checkTensor(v, name));
        this._buffers.get(name)!.tensor = v as Tensor | null;
      },
      enumerable: false, // not a child or parameter by the registration rule
      configurable: true,
    });
  }

  /** Every buffer with its dotted name (`bn.runningMean`), each once; unset (null) ones skipped. */
  namedBuffers(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m._buffers) {
        if (b.tensor === null || seen.has(b.tensor)) continue;
        seen.add(b.tensor);
        out.push([prefix ? `${prefix}.${name}` : name, b.tensor]);
      }
    }
    return out;
  }
  buffers(): Tensor[] { return this.namedBuffers().map(([, b]) => b); }

  /** @internal The tensors stateDict() holds, by key: parameters and persistent buffers, module by module. */
  private stateTensors(): [string, Tensor][] {
    const params = new Map(this.namedParameters().map(([n, p]) => [p as Tensor, n]));
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [, p] of m.ownParameters()) {
        const n = params.get(p);
        if (n !== undefined) { out.push([n, p]); params.delete(p); }
      }
      for (const [name, b] of m._buffers) if (b.persistent && b.tensor !== null) out.push([prefix ? `${prefix}.${name}` : name, b.tensor]);
    }
    return out;
  }

  /** Training mode (default) or evaluation mode, for this module and its descendants. */
  train(mode = true): this {
    checkBool(mode, 'mode');
    for (const m of this.modules()) {
      m.training = mode;
      if (m._native) native.moduleTrain(m._native, mode);
    }
    return this;
  }
  eval(): this { return this.train(false); }

  /**
   * Moves and/or converts every parameter in place, like Module.to in PyTorch:
   * `to('float64')`, `to('cpu')`, `to({ dtype, device })`.
   */
  to(target: DType | Device | { dtype?: DType; device?: Device }): this {
    const { dtype, device } = checkToTarget(target);
    if (dtype !== undefined && !['float32', 'float64', 'float16', 'bfloat16'].includes(dtype)) invalidArg('a floating-point dtype', 'dtype', dtype);
    const conv = { ...(dtype ? { dtype } : {}), ...(device ? { device } : {}) };
    noGrad(() => {
      for (const m of this.modules()) {
        if (m._native) native.moduleTo(m._native, dtype ? SCALAR_TYPE[dtype] : null, device ?? null);
        for (const [, p] of m.ownParameters()) {
          if (m._native && m._nativeParams.some(([, q]) => q === p)) continue; // moduleTo moved them
          const moved = p.to(conv);
          native.setData(p.handle(), moved.handle());
          moved.dispose();
        }
      }
      for (const m of this.modules()) {
        for (const [, b] of m._buffers) {
          if (b.tensor === null) continue;
          // dtype applies to floating-point buffers only (running statistics, not counters), as in PyTorch
          const moved = b.tensor.to({ ...(dtype && isFloating(b.tensor.dtype) ? { dtype } : {}), ...(device ? { device } : {}) });
          native.setData(b.tensor.handle(), moved.handle());
          moved.dispose();
          b.tensor.clearMeta();
        }
      }
      for (const p of this.parameters()) {
        p.clearMeta(); // its dtype/device changed under the wrapper: the grad setter checks against them
        const g = p.grad;
        if (g !== null) { p.grad = g.to(conv) as Tensor; g.dispose(); }
      }
    });
    return this;
  }

  /** Clears gradients: zeroes them (PyTorch 1.13's default) or, with setToNone, drops them. */
  zeroGrad(opts?: { setToNone?: boolean }): void {
    const o = checkOptions<{ setToNone: boolean }>(opts, 'options', ['setToNone']);
    zeroGradOf(this.parameters(), o.setToNone === undefined ? false : checkBool(o.setToNone, 'setToNone'));
  }

  /** The parameters and persistent buffers by PyTorch's keys, as tensors sharing their data (detached). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of this.stateTensors()) out[name] = t.detach();
    return out;
  }

  /**
   * Copies values into the parameters. With strict (default) every key must match; a shape
   * mismatch always fails. Errors are ERR_CHECKPOINT naming every offending key and shape.
   */
  loadStateDict(stateDict: Record<string, Tensor>, opts?: { strict?: boolean }): { missingKeys: string[]; unexpectedKeys: string[] } {
    if (stateDict === null || typeof stateDict !== 'object' || Array.isArray(stateDict)) invalidArg('an object of tensors', 'stateDict', stateDict);
    const o = checkOptions<{ strict: boolean }>(opts, 'options', ['strict']);
    const strict = o.strict === undefined ? true : checkBool(o.strict, 'strict');
    const own = new Map<string, Tensor>(this.stateTensors());
    for (const [k, v] of Object.entries(stateDict)) checkTensor(v, `stateDict["${k}"]`);
    const missingKeys = [...own.keys()].filter((k) => !(k in stateDict));
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !own.has(k));
    const mismatched = [...own].filter(([k, p]) => k in stateDict && !sameShape(stateDict[k].shape, p.shape));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.map((k) => JSON.stringify(k)).join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.map((k) => JSON.stringify(k)).join(', ')}`);
    for (const [k, p] of mismatched) {
      problems.push(`size mismatch for ${k}: the checkpoint has shape [${stateDict[k].shape.join(', ')}], the model has [${p.shape.join(', ')}]`);
    }
    if (problems.length) {
      throw new TorchError(`Error(s) in loading stateDict for ${this.constructor.name}: ${problems.join('; ')}`, 'ERR_CHECKPOINT');
    }
    noGrad(() => {
      for (const [k, p] of own) if (k in stateDict) p.copy_(stateDict[k]);
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Writes stateDict() to a file (torch.save(model.state_dict(), path)); the format follows the
   * extension (see torch.save).
   * @example model.save('model.safetensors');
   */
  save(file: string, opts?: SaveOptions): void {
    this._checkLive();
    saveFile(this.stateDict(), file, opts);
  }

  /** save() on the executor: parameters are read after the jobs queued before it. */
  saveAsync(file: string, opts?: SaveOptions): Promise<void> {
    this._checkLive();
    return saveFileAsync(this.stateDict(), file, opts);
  }

  /**
   * Loads a state dict file into this module (model.load_state_dict(torch.load(path))) and
   * returns the module. `strict` as in loadStateDict.
   * @example model.load('model.safetensors');
   */
  load(file: string, opts?: { strict?: boolean; format?: SaveOptions['format'] }): this {
    const o = this._loadOptions(opts);
    return this._loadAndFree(loadFile(file, o.format), o.strict);
  }

  /** load() with the file read without blocking the event loop. */
  async loadAsync(file: string, opts?: { strict?: boolean; format?: SaveOptions['format'] }): Promise<this> {
    const o = this._loadOptions(opts);
    return this._loadAndFree(await loadFileAsync(file, o.format), o.strict);
  }

  private _loadOptions(opts: unknown): { strict?: { strict: boolean }; format?: { format: NonNullable<SaveOptions['format']> } } {
    this._checkLive();
    const o = checkOptions<{ strict: boolean; format: SaveOptions['format'] }>(opts, 'options', ['strict', 'format']);
    return { strict: o.strict === undefined ? undefined : { strict: o.strict }, format: o.format === undefined ? undefined : { format: o.format } };
  }

  private _loadAndFree(sd: Record<string, Tensor>, strict: { strict: boolean } | undefined): this {
    try {
      this.loadStateDict(sd, strict);
    } finally {
      for (const t of Object.values(sd)) if (t instanceof Tensor) t.dispose();
    }
    return this;
  }

  /**
   * Builds a module with the constructor's arguments and loads a state dict file into it.
   * @example const lstm = nn.LSTM.load('lstm.safetensors', { inputSize: 8, hiddenSize: 16 });
   */
  static load<M extends Module, A extends unknown[]>(this: new (...args: A) => M, file: string, ...args: A): M {
    const m = new this(...args);
    try {
      return m.load(file);
    } catch (err) {
      m.dispose();
      throw err;
    }
  }

  /** True once dispose() was called. */
  get isDisposed(): boolean { return this._disposed; }
  /** @internal */
  _disposed = false;

  /** Frees every parameter's native memory now; later use of the module throws. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const [, p] of m.ownParameters()) p.dispose();
      for (const [, b] of m._buffers) b.tensor?.dispose();
      m._native = null;
      m._nativeParams = [];
      m._disposed = true;
    }
  }

  /** @internal Throws the error for a disposed module. */
  _checkLive(name = 'module'): void {
    if (this._disposed) invalidArg('a live module', name, `a disposed ${this.constructor.name}`);
  }

  toString(): string {
    const children = this.namedChildren();
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (children.length === 0) return `${head})`;
    const lines = children.map(([n, m]) => `  (${n}): ${String(m).split('\n').join('\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }
  /** Extra text inside this module's toString(), as PyTorch's extra_repr. */
  extraRepr(): string { return ''; }
}
