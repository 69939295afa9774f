/**
 * TorchScript modules (torch.jit.load / torch.jit.save): a module scripted or traced in Python,
 * or exported from torchrnn (jit.trace(...).toScript()), run by libtorch's interpreter with its
 * own control flow. A ScriptModule is an nn.Module: its parameters are the TorchScript module's
 * own tensors, so optimizers, trainStep, fit, stateDict()/loadStateDict() and to() work on it
 * as on a model written in TypeScript, and save() writes the fine-tuned module back as a
 * TorchScript archive for Python or C++.
 */
import * as fs from 'fs';
import { isTensorHandle, native, ScriptHandle } from './binding';
import { invalidArg, TorchError, withCallerStack } from './errors';
import { checkDevice, checkOptions, Device } from './validate';
import { checkTensor, keep, Tensor, wrap } from './tensor';
import { Module, Parameter } from './nn/module';
import { writeWithAtomic, writeWithAtomicAsync } from './serialization/atomic';

/** Converts the interpreter's results: tensor handles become Tensors, inside arrays and objects too. */
function tensorsIn(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (isTensorHandle(v)) return wrap(v);
  if (Array.isArray(v)) return v.map(tensorsIn);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tensorsIn(x)]));
}

function scriptArgs(args: unknown[]): unknown[] {
  return args.map((a, i) => (a instanceof Tensor ? checkTensor(a, `inputs[${i}]`).handle(`inputs[${i}]`) : Array.isArray(a) ? a.map((x) => (x instanceof Tensor ? x.handle() : x)) : a));
}

function checkSavePath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) invalidArg('a file path', 'path', path);
}

/** A TorchScript module, run by libtorch's interpreter (control flow included). */
export class ScriptModule extends Module {
  /** @internal */
  readonly _h: ScriptHandle;
  /** trainStep runs the interpreter's forward as it is: tracing it would unroll its control flow. */
  readonly _traceable = false;

  /** The submodules, in the TorchScript module's order (names like `0`, `1` included). */
  private readonly _children: [string, ScriptModule][];

  constructor(handle: ScriptHandle) {
    super();
    this._h = handle;
    // the TorchScript module's own tensors (updates are the module's); its submodules are
    // ScriptModules too, so stateDict() has PyTorch's keys in PyTorch's order
    const [names, handles] = native.scriptParameters(handle, false);
    this._nativeParams = names.map((n, i) => [n, new Parameter(handles[i] as unknown as Tensor, false)]);
    const [bnames, bhandles] = native.scriptBuffers(handle, false);
    bnames.forEach((n, i) => this._buffers.set(n, { tensor: keep(wrap(bhandles[i])), persistent: true }));
    this._children = native.scriptChildren(handle).map(([n, h]) => [n, new ScriptModule(h)]);
    this.training = native.scriptIsTraining(handle);
  }

  namedChildren(): [string, Module][] { return [...this._children]; }

  /** Runs forward. Outputs: tensors, tuples and lists as arrays, dicts as objects. Arguments are converted by forward's signature. */
  forward(...inputs: unknown[]): unknown {
    this._checkLive('module');
    return tensorsIn(native.scriptForward(this._h, scriptArgs(inputs)));
  }

  /** forward() on the executor. */
  forwardAsync(...inputs: unknown[]): Promise<unknown> {
    this._checkLive('module');
    return withCallerStack(native.scriptForwardAsync(this._h, scriptArgs(inputs)), new Error()).then(tensorsIn);
  }

  /** Training or evaluation mode, for the TorchScript module and its submodules (their `training` attributes). */
  train(mode = true): this {
    super.train(mode);
    native.scriptTrain(this._h, mode);
    return this;
  }

  /** The TorchScript IR of forward. */
  get graph(): string { return native.scriptGraph(this._h); }

  /**
   * Writes the module, with its current parameters, as a TorchScript archive (torch.jit.save;
   * Python's `torch.jit.load` reads it), atomically: a failed save leaves the previous file.
   * (A model's state dict alone: torch.save(m.stateDict(), path).)
   */
  save(path: string): void {
    checkSavePath(path);
    this._checkLive('module');
    writeWithAtomic(path, (tmp) => native.scriptSave(this._h, tmp));
  }

  /** save() with the archive written on the executor. */
  saveAsync(path: string): Promise<void> {
    checkSavePath(path);
    this._checkLive('module');
    const caller = new Error();
    return writeWithAtomicAsync(path, (tmp) => withCallerStack(native.scriptSaveAsync(this._h, tmp), caller));
  }

  extraRepr(): string { return 'TorchScript'; }
}

/**
 * Loads a TorchScript module (torch.jit.script or torch.jit.trace, then .save() in Python).
 * A missing or corrupt file throws ERR_CHECKPOINT. The module starts in eval mode.
 * @example const m = torch.jit.load('model.pt'); const [y, state] = m.forward(x) as [Tensor, Record<string, Tensor>];
 */
export function load(path: string, opts?: { device?: Device }): ScriptModule {
  if (typeof path !== 'string' || path.length === 0) invalidArg('a file path', 'path', path);
  const o = checkOptions<{ device: Device }>(opts, 'options', ['device']);
  const device = o.device === undefined ? null : checkDevice(o.device);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch {
    throw new TorchError(`Cannot load a TorchScript module from ${path}: no such file`, 'ERR_CHECKPOINT');
  }
  if (!stat.isFile()) throw new TorchError(`Cannot load a TorchScript module from ${path}: not a file`, 'ERR_CHECKPOINT');
  try {
    return new ScriptModule(native.scriptLoad(path, device));
  } catch (err) {
    if (err instanceof TorchError && err.code === 'ERR_TORCH') throw new TorchError(`Cannot load a TorchScript module from ${path}: ${err.message}`, 'ERR_CHECKPOINT');
    throw err;
  }
}
