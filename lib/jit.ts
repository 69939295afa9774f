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
import { checkTensor, Tensor, tidy, tracing, wrap } from './tensor';
import { noGrad } from './autograd';
import { cat } from './ops';
import { getRngState, setRngState } from './runtime';
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

function flatTensors(v: unknown): Tensor[] {
  return v instanceof Tensor ? [v] : Array.isArray(v) ? v.flatMap(flatTensors) : [];
}

/** The largest difference between two forward results, or Infinity when their structure or shapes differ. */
function difference(a: unknown, b: unknown): number {
  const x = flatTensors(a);
  const y = flatTensors(b);
  if (x.length !== y.length) return Infinity;
  let worst = 0;
  x.forEach((t, i) => {
    if (t.shape.join() !== y[i].shape.join()) { worst = Infinity; return; }
    if (t.numel() > 0) worst = Math.max(worst, t.sub(y[i]).abs().max().item() as number);
  });
  return worst;
}

/**
 * The example inputs at another size along dimension 0 (the batch, or the time of a
 * sequence-first model): the first half, or the example twice over when it has one row.
 * Inputs of another size there (a lengths tensor beside a sequence-first input) stay as they are.
 */
function otherSize(inputs: Tensor[]): Tensor[] {
  const n = inputs[0].shape[0];
  return inputs.map((t) => (t.dim() > 0 && t.shape[0] === n ? (n > 1 ? t.narrow(0, 0, Math.ceil(n / 2)) : cat([t, t], 0)) : t));
}

/** The line that says why the interpreter failed ("RuntimeError: …" under its traceback), else the first. */
function reasonOf(err: unknown): string {
  const lines = String((err as Error)?.message ?? err).split('\n').map((l) => l.trim()).filter(Boolean);
  const raised = [...lines].reverse().find((l) => /^\w+(Error|Exception): /.test(l));
  return raised ? raised.replace(/^\w+: /, '') : lines[0] ?? '';
}

/** A module's forward traced on libtorch's own RNN operators (what toScript() exports). */
function traceStock(module: Module, inputs: Tensor[]): Graph {
  const fused = native.fusedRnnFlags().enabled;
  native.setFusedRnnEnabled(false);
  try {
    return traceModuleGraph(module, inputs, () => (module.forward as (...a: Tensor[]) => unknown)(...inputs));
  } finally {
    native.setFusedRnnEnabled(fused);
  }
}

/** A graph's IR without its value types (which carry the sizes it was traced at), one line a node. */
function irLines(g: Graph): string[] {
  return native.tracedGraph(g.handle).replace(/\b[A-Z][A-Za-z]*\([^()]*\)/g, 'T').split('\n').map((l) => l.trim());
}

/**
 * Where an exported graph departs from its module: on inputs with `rows` rows in dimension 0
 * (`exampleRows`: the example's) it failed (`error`), gave other values (by `difference`), or,
 * traced with them, records other constants (`constants`: the first node that differs, as
 * traced with the example and with `rows`).
 */
export interface Specialization { rows: number; exampleRows: number; error?: string; difference?: number; constants?: [string, string] }

/**
 * @internal Whether `script` (the module exported from a trace with `example`) computes what
 * `module` computes at other sizes along dimension 0. A forward that reads sizes in JavaScript
 * (`x.shape[0]`) records them as constants: traced again at another size (otherSize), its graph
 * differs. Then, when that size is smaller, the exported graph runs on it and its failure or
 * difference is reported (never on a larger one: libtorch 2.6's LSTM corrupts memory when the
 * input has more rows than a fixed initial state). Also checks the example itself. Null when
 * nothing departs, or when the module's own forward refuses the other size (no evidence).
 * Call in eval mode (dropout draws differ between two runs); runs under noGrad.
 */
export function shapeSpecialization(script: ScriptModule, module: Module, example: Tensor[]): Specialization | null {
  if (example.length === 0 || example[0].dim() === 0) return null;
  const exampleRows = example[0].shape[0];
  const rng = getRngState(); // every run starts from it, and it is put back afterwards
  const run = (xs: Tensor[]): Specialization | null => {
    const rows = xs[0].shape[0];
    let want: unknown;
    try {
      setRngState(rng);
      want = (module.forward as (...a: Tensor[]) => unknown)(...xs);
    } catch {
      return null; // the module itself refuses these inputs: they tell nothing about the graph
    }
    let got: unknown;
    try {
      setRngState(rng); // the same random draws as the module's forward (a noise layer, sampling)
      got = script.forward(...xs);
    } catch (err) {
      return { rows, exampleRows, error: reasonOf(err) };
    }
    const d = difference(got, want);
    const scale = Math.max(1, ...flatTensors(want).filter((t) => t.numel() > 0).map((t) => t.abs().max().item() as number));
    return d <= 1e-4 * scale ? null : { rows, exampleRows, difference: d };
  };
  try {
    return noGrad(() => tidy(() => check(run)));
  } finally {
    setRngState(rng);
    rng.dispose();
  }

  function check(run: (xs: Tensor[]) => Specialization | null): Specialization | null {
    const onExample = run(example);
    if (onExample) return onExample;
    const other = otherSize(example);
    const rows = other[0].shape[0];
    let traced: string[];
    try {
      traced = irLines(traceStock(module, other));
    } catch {
      return null; // the module itself refuses these inputs: they tell nothing about the graph
    }
    const original = irLines(traceStock(module, example));
    const at = original.findIndex((l, i) => l !== traced[i]);
    if (at < 0 && original.length === traced.length) return null;
    const node = (l: string | undefined) => (l ?? '(none)').replace(/^.* = /, '');
    const constants: [string, string] = [node(original[at]), node(traced[at])];
    return (rows < exampleRows ? run(other) : null) ?? { rows, exampleRows, constants };
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
    const g = traceStock(this.module, this.example);
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
   * `torch.jit.load(path)` and C++'s `torch::jit::load(path)` run it without torchrnn. The first
   * save of a traced module checks the graph at another batch size (shapeSpecialization) and
   * warns (a TracerWarning, code TORCHRNN_TRACE_SHAPE) when it is fixed to the example's.
   */
  save(path: string): void {
    const script = this.toScript();
    this.checkShapes(script);
    script.save(path);
  }

  /** save() with the file written on the executor. */
  saveAsync(path: string): Promise<void> {
    const script = this.toScript();
    this.checkShapes(script);
    return script.saveAsync(path);
  }

  private shapesChecked = false;

  /** Warns once per traced module when the exported graph only works at the example's size. */
  private checkShapes(script: ScriptModule): void {
    if (this.shapesChecked) return;
    this.shapesChecked = true;
    const m = this.module;
    // in eval mode (the archive's module is exported in the current one): dropout would make
    // two runs differ; modes and buffers (a forward may update them) are put back afterwards
    const modes = m.modules().map((x): [Module, boolean] => [x, x.training]);
    const buffers = m.buffers();
    const saved = noGrad(() => buffers.map((b) => b.clone()));
    let found: Specialization | null;
    try {
      const evalScript = m.training || modes.some(([, t]) => t) ? (m.eval(), this.toScript()) : script;
      found = shapeSpecialization(evalScript, m, this.example);
    } finally {
      for (const [x, t] of modes) x.train(t);
      noGrad(() => buffers.forEach((b, i) => { b.copy_(saved[i]); saved[i].dispose(); }));
    }
    if (found === null) return;
    const how = found.error !== undefined ? `it fails (${found.error})`
      : found.difference !== undefined ? `it gives other values than the module's forward (by ${found.difference})`
        : `its graph records other constants (${found.constants?.[0]} becomes ${found.constants?.[1]})`;
    const shapes = this.example.map((t) => `[${t.shape.join(', ')}]`).join(', ');
    process.emitWarning(found.rows === found.exampleRows
      ? `the traced graph of ${m.constructor.name} does not compute what its forward computes on the example (${shapes}): ${how}. `
        + 'The forward may depend on values or state that tracing does not record.'
      : `the traced graph of ${m.constructor.name} is fixed to the example's shapes (${shapes}): `
        + `with ${found.rows} instead of ${found.exampleRows} in dimension 0 ${how}. The saved file works only for inputs of the example's sizes. `
        + 'Its forward computes with sizes read in JavaScript (x.shape, size()), which tracing records as constants: '
        + 'use -1 in reshape/view, flatten(), zerosLike()/expandAs() instead, or save one file per input size.',
    { type: 'TracerWarning', code: 'TORCHRNN_TRACE_SHAPE' });
  }
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
