/**
 * jit.trace: records a module's forward with libtorch's tracer (what torch.jit.trace does),
 * with the module's parameters as graph inputs so they stay trainable. The recorded graph
 * runs without JavaScript, on the executor (forwardAsync, trainStep) or the JS thread.
 *
 * What tracing cannot see (as in PyTorch): control flow that depends on tensor values, and
 * plain numbers computed from shapes, which become constants. A traced module therefore
 * keeps one graph per input signature (shapes and dtypes, and the training flag) and traces
 * again when a new one comes; a forward that reads tensor values throws while tracing.
 */
import * as fs from 'fs';
import { isTensorHandle, native, ScriptHandle, TensorHandle, TracedHandle } from './binding';
import { invalidArg, TorchError, withCallerStack } from './errors';
import { checkDevice, checkOptions, Device } from './validate';
import { checkTensor, Tensor, tracing, wrap } from './tensor';
import { noGrad } from './autograd';
import type { Module } from './nn/module';
import { GraphCache, signature } from './graph-cache';

/** Where each output tensor goes in the forward's result (tensors, arrays of them, nested). */
type Structure = number | Structure[];

function flatten(value: unknown, out: Tensor[]): Structure {
  if (value instanceof Tensor) { out.push(value); return out.length - 1; }
  if (Array.isArray(value)) return value.map((v) => flatten(v, out));
  return invalidArg('a Tensor or (nested) arrays of Tensors as the traced function\'s result', 'output', value);
}

function rebuild(s: Structure, handles: (TensorHandle | null)[]): unknown {
  return typeof s === 'number' ? wrap(handles[s]) : s.map((x) => rebuild(x, handles));
}

export { signature };

export interface Graph { handle: TracedHandle; structure: Structure }

/**
 * traceGraph for a module's forward: tracing runs forward once, so buffers it updates in place
 * (running statistics, step counters) are put back afterwards; the traced graph's run makes the
 * update, once per call. @internal
 */
export function traceModuleGraph(module: Module, inputs: Tensor[], fn: () => unknown): Graph {
  const buffers = module.buffers();
  const saved = noGrad(() => buffers.map((b) => b.clone()));
  try {
    return traceGraph([...module.parameters(), ...buffers], inputs, fn);
  } finally {
    noGrad(() => buffers.forEach((b, i) => { b.copy_(saved[i]); saved[i].dispose(); }));
  }
}

/**
 * Traces `fn` (which uses `params` and `inputs`) into a graph whose inputs are
 * `[...params, ...inputs]`. @internal
 */
export function traceGraph(params: Tensor[], inputs: Tensor[], fn: () => unknown): Graph {
  let structure: Structure = [];
  const outs: Tensor[] = [];
  if (tracing.active) invalidArg('no trace already in progress', 'trace', 'a nested trace');
  tracing.active = true;
  try {
    // The trace run records the graph under noGrad: no autograd graph (and no saved
    // activations) is built for a run that no backward will use. The recorded ops are the same;
    // autograd applies when the graph runs.
    const handle = native.trace([...params, ...inputs].map((t) => t.handle()), () => {
      structure = flatten(noGrad(fn), outs);
      return outs.map((t) => t.handle('output'));
    });
    return { handle, structure };
  } finally {
    tracing.active = false;
    for (const t of outs) t.dispose(); // the trace run's own results; the graph does not need them
  }
}

/** A module with its traced graphs. Parameters are the module's own (updates are shared). */
export class TracedModule {
  readonly module: Module;
  private readonly graphs = new GraphCache<Graph>();

  constructor(module: Module) { this.module = module; }

  private inputs(args: unknown[]): Tensor[] {
    if (args.length === 0) invalidArg('at least one input tensor', 'inputs', args);
    return args.map((a, i) => checkTensor(a, `inputs[${i}]`));
  }

  /** @internal The graph for these inputs (and the module's state), tracing it if this signature is new. */
  graphFor(inputs: Tensor[], state = this.state()): Graph {
    return this.graphs.get(inputs, this.module.training,
      () => traceModuleGraph(this.module, inputs, () => (this.module.forward as (...a: Tensor[]) => unknown)(...inputs)), state);
  }

  /** The module's tensors the graph takes as inputs: parameters, then buffers (updated in place where forward does). */
  private state(): Tensor[] {
    return [...this.module.parameters(), ...this.module.buffers()];
  }

  private run(inputs: Tensor[]): [Graph, TensorHandle[]] {
    const state = this.state();
    return [this.graphFor(inputs, state), [...state, ...inputs].map((t) => t.handle())];
  }

  /** The traced forward, on the JS thread. */
  forward(...args: Tensor[]): unknown {
    const [g, handles] = this.run(this.inputs(args));
    return rebuild(g.structure, native.tracedRun(g.handle, handles));
  }

  /** The traced forward on the executor thread. */
  forwardAsync(...args: Tensor[]): Promise<unknown> {
    const [g, handles] = this.run(this.inputs(args));
    return withCallerStack(native.tracedRunAsync(g.handle, handles), new Error()).then((outs) => rebuild(g.structure, outs));
  }

  /** The TorchScript IR of the graph traced for these inputs (as torch.jit.trace's .graph). */
  graph(...args: Tensor[]): string { return native.tracedGraph(this.graphFor(this.inputs(args)).handle); }
}

/**
 * Traces a module with example inputs (torch.jit.trace). The result's forward/forwardAsync
 * run the recorded graph; other input shapes are traced on first use.
 * @example const traced = torch.jit.trace(model, [x]); const y = await traced.forwardAsync(x);
 */
export function trace(module: Module, exampleInputs: Tensor | Tensor[]): TracedModule {
  if (module === null || typeof module !== 'object' || typeof (module as Module).forward !== 'function' || typeof (module as Module).parameters !== 'function') {
    invalidArg('an nn.Module', 'module', module);
  }
  const traced = new TracedModule(module);
  const inputs = Array.isArray(exampleInputs) ? exampleInputs : [exampleInputs];
  traced.graphFor(inputs.map((t, i) => checkTensor(t, `exampleInputs[${i}]`)));
  return traced;
}

// ---- TorchScript modules ---------------------------------------------------------------------

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

/** A TorchScript module saved by Python, run by libtorch's interpreter (control flow included). */
export class ScriptModule {
  /** @internal */
  readonly _h: ScriptHandle;
  constructor(handle: ScriptHandle) { this._h = handle; }
  /** Runs forward. Outputs: tensors, tuples and lists as arrays, dicts as objects. Arguments are converted by forward's signature. */
  forward(...inputs: unknown[]): unknown { return tensorsIn(native.scriptForward(this._h, scriptArgs(inputs))); }
  /** forward() on the executor. */
  forwardAsync(...inputs: unknown[]): Promise<unknown> {
    return withCallerStack(native.scriptForwardAsync(this._h, scriptArgs(inputs)), new Error()).then(tensorsIn);
  }
  train(mode = true): this { native.scriptTrain(this._h, mode); return this; }
  eval(): this { return this.train(false); }
  /** The parameters with their dotted names. */
  namedParameters(): [string, Tensor][] {
    const [names, handles] = native.scriptParameters(this._h);
    return names.map((n, i) => [n, wrap(handles[i])]);
  }
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
