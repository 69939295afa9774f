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
import { native, TensorHandle, TracedHandle } from './binding';
import { invalidArg, withCallerStack } from './errors';
import { checkTensor, Tensor, tracing, wrap } from './tensor';
import { noGrad } from './autograd';
import type { Module } from './nn/module';
import { GraphCache, signature } from './graph-cache';
import { ScriptModule } from './jit-script';

export { ScriptModule, load } from './jit-script';

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
  /** The example inputs given to trace(): what save() traces the exported graph with. */
  private readonly example: Tensor[];

  constructor(module: Module, example: Tensor[]) {
    this.module = module;
    this.example = example;
  }

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

  /**
   * The module as a TorchScript module that needs nothing of torchrnn: traced again with the
   * example inputs, on libtorch's own RNN operators (torchrnn's fused kernels are not in other
   * programs), in the module's current mode (call `eval()` first for inference), with its
   * parameters and buffers as attributes under their stateDict() names.
   */
  toScript(): ScriptModule {
    this.module._checkLive('module');
    const fused = native.fusedRnnFlags().enabled;
    native.setFusedRnnEnabled(false);
    let g: Graph;
    try {
      g = traceModuleGraph(this.module, this.example, () => (this.module.forward as (...a: Tensor[]) => unknown)(...this.example));
    } finally {
      native.setFusedRnnEnabled(fused);
    }
    const named: [string, Tensor, boolean][] = [
      ...this.module.namedParameters().map(([k, p]): [string, Tensor, boolean] => [k, p, false]),
      ...this.module.namedBuffers().map(([k, b]): [string, Tensor, boolean] => [k, b, true]),
    ];
    const modules = this.module.namedModules().map(([k, m]): [string, string, boolean] => [k, m.constructor.name, m.training]);
    const h = native.tracedExport(g.handle, named.map(([k]) => k), named.map(([, t]) => t.handle()), named.map(([, , b]) => b), modules, g.structure);
    return new ScriptModule(h);
  }

  /**
   * Saves the module as a TorchScript archive (toScript(), then ScriptModule.save): Python's
   * `torch.jit.load(path)` and C++'s `torch::jit::load(path)` run it without torchrnn.
   */
  save(path: string): void { this.toScript().save(path); }

  /** save() with the file written on the executor. */
  saveAsync(path: string): Promise<void> { return this.toScript().saveAsync(path); }
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
  const inputs = (Array.isArray(exampleInputs) ? exampleInputs : [exampleInputs]).map((t, i) => checkTensor(t, `exampleInputs[${i}]`));
  const traced = new TracedModule(module, inputs);
  traced.graphFor(inputs);
  return traced;
}

/**
 * torch.jit.save: writes a traced module (jit.trace) or a TorchScript module (jit.load) as a
 * TorchScript archive that Python and C++ load without torchrnn.
 * @example torch.jit.save(torch.jit.trace(model.eval(), [x]), 'model.pt');   // Python: torch.jit.load('model.pt')
 */
export function save(module: TracedModule | ScriptModule, path: string): void {
  checkScriptable(module).save(path);
}

/** jit.save() with the archive written on the executor. */
export function saveAsync(module: TracedModule | ScriptModule, path: string): Promise<void> {
  return checkScriptable(module).saveAsync(path);
}

function checkScriptable(m: unknown): TracedModule | ScriptModule {
  if (m instanceof TracedModule || m instanceof ScriptModule) return m;
  return invalidArg('a traced module (jit.trace) or a TorchScript module (jit.load)', 'module', m);
}
