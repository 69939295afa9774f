/**
 * torchrnn's side of the benchmark suite (a worker process; see bench/common.ts for the
 * protocol). Training steps use the fused `torch.trainStep` (forward, loss, backward and Adam
 * as one native job, awaited per step: what `fit()` runs); inference calls the module's
 * synchronous forward under noGrad and reads the logits.
 */
import type * as T from '../lib';
import {
  Case, eventLoopDuring, Hello, LoopCase, mappedBlas, ModelCase, Request, Runner, ServeCase, servePeer,
} from './common';

// The compiled package, as npm installs it (suite.ts compiles it first when lib/ is newer).
const torch: typeof T = require('../dist');
const { nn, optim } = torch;
type Tensor = T.Tensor;

class Classifier extends nn.Module {
  rnn: T.nn.LSTM | T.nn.GRU | T.nn.RNN;
  head: T.nn.Linear;
  constructor(c: { cell: 'lstm' | 'gru' | 'rnn'; input: number; hidden: number; layers: number; classes: number; proj?: number; dropout?: number }) {
    super();
    const opts = { inputSize: c.input, hiddenSize: c.hidden, numLayers: c.layers, batchFirst: true, dropout: c.dropout ?? 0 };
    this.rnn = c.cell === 'lstm' ? new nn.LSTM({ ...opts, projSize: c.proj ?? 0 }) : c.cell === 'gru' ? new nn.GRU(opts) : new nn.RNN(opts);
    this.head = new nn.Linear(c.proj || c.hidden, c.classes);
  }
  forward(x: Tensor, lengths?: Tensor): Tensor {
    if (lengths) {
      // packed sequences, as the Python peer: the last layer's final state, taken at each
      // sequence's true end (the packed output is not padded back: it is not used)
      const packed = nn.utils.rnn.packPaddedSequence(x, lengths, { batchFirst: true, enforceSorted: false });
      // (a union of the three module types: TypeScript cannot pick among their overloads)
      const [, state] = (this.rnn as T.nn.GRU).forward(packed) as [unknown, Tensor | [Tensor, Tensor]];
      const h = Array.isArray(state) ? state[0] : state;
      return this.head.forward(h.select(0, -1));
    }
    const [out] = (this.rnn as T.nn.GRU).forward(x);
    return this.head.forward(out.select(1, -1));
  }
}

class CharLM extends nn.Module {
  embed: T.nn.Embedding;
  rnn: T.nn.LSTM;
  head: T.nn.Linear;
  constructor(private readonly c: ModelCase) {
    super();
    this.embed = new nn.Embedding(c.classes, c.embed!);
    this.rnn = new nn.LSTM({ inputSize: c.embed!, hiddenSize: c.hidden, numLayers: c.layers, batchFirst: true });
    this.head = new nn.Linear(c.hidden, c.classes);
  }
  forward(x: Tensor): Tensor {
    const [out] = this.rnn.forward(this.embed.forward(x));
    return this.head.forward(out).reshape(-1, this.c.classes);
  }
}

function modelRunner(c: ModelCase): Runner {
  torch.manualSeed(0);
  const model = c.kind === 'charlm' ? new CharLM(c) : new Classifier(c);
  let x: Tensor;
  let y: Tensor;
  let lengths: Tensor | undefined;
  if (c.kind === 'charlm') {
    x = torch.randint(0, c.classes, [c.batch, c.seq]);
    y = torch.randint(0, c.classes, [c.batch * c.seq]);
  } else {
    x = torch.randn([c.batch, c.seq, c.input]);
    y = torch.randint(0, c.classes, [c.batch]);
    if (c.lengths) {
      lengths = torch.tensor(c.lengths, { dtype: 'int64' });
      // zero the padding, as a padded batch has it
      const l = lengths;
      const padded = torch.keep(torch.tidy(() => x.mul(torch.arange(c.seq).unsqueeze(0).lt(l.unsqueeze(1)).unsqueeze(2).to('float32'))));
      x.dispose();
      x = padded;
    }
  }
  const held: Tensor[] = [x, y, ...(lengths ? [lengths] : [])];
  if (c.mode === 'train') {
    const step = torch.trainStep({ model, loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }) });
    const input = lengths ? [x, lengths] : x;
    return { iter: () => step(input, y), dispose: () => { held.forEach((t) => t.dispose()); model.dispose(); } };
  }
  model.eval();
  return {
    iter: () => torch.tidy(() => torch.noGrad(() => { (lengths ? (model as Classifier).forward(x, lengths) : model.forward(x) as Tensor).dataSync(); })),
    dispose: () => { held.forEach((t) => t.dispose()); model.dispose(); },
  };
}

async function eventLoop(c: LoopCase): Promise<unknown> {
  torch.manualSeed(1);
  const model = new Classifier(c);
  const batches = Array.from({ length: c.steps }, () => [torch.randn([c.batch, c.seq, c.input]), torch.randint(0, c.classes, [c.batch])] as [Tensor, Tensor]);
  const r = await eventLoopDuring(async () => {
    await torch.fit({ model, optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }), loss: new nn.CrossEntropyLoss(), data: batches, epochs: 1 });
    return c.steps;
  }, c.intervalMs);
  batches.flat().forEach((t) => t.dispose());
  model.dispose();
  return r;
}

/**
 * Serving: the recurrent module alone on one sequence, under no-grad, its outputs released (a
 * server would read them: the job has computed them when its promise resolves). 'concurrent':
 * `inflight` async functions, each awaiting one forwardAsync after another, until `requests`.
 */
function serveRunner(c: ServeCase): Runner {
  torch.manualSeed(0);
  const opts = { inputSize: c.input, hiddenSize: c.hidden, numLayers: c.layers, batchFirst: true };
  const rnn = c.cell === 'lstm' ? new nn.LSTM(opts) : new nn.GRU(opts);
  rnn.eval();
  const x = torch.randn([1, c.seq, c.input]);
  const release = ([out, state]: [Tensor, Tensor | [Tensor, Tensor]]) => {
    out.dispose();
    if (Array.isArray(state)) { state[0].dispose(); state[1].dispose(); } else state.dispose();
  };
  // (a union of the two module types: TypeScript cannot pick among their overloads)
  const m = rnn as T.nn.GRU;
  const dispose = () => { x.dispose(); rnn.dispose(); };
  if (c.mode === 'sync') return { iter: () => { release(torch.noGrad(() => m.forward(x))); }, dispose };
  const call = async () => { release(await torch.noGrad(() => m.forwardAsync(x))); };
  if (c.mode === 'async') return { iter: call, dispose };
  return {
    iter: async () => {
      let left = c.requests;
      const client = async () => { while (left > 0) { left--; await call(); } };
      await Promise.all(Array.from({ length: c.inflight }, client));
    },
    dispose,
  };
}

function setup(c: Case): Runner {
  switch (c.kind) {
    case 'classifier': case 'charlm': return modelRunner(c);
    case 'serve': return serveRunner(c);
    case 'matmul': {
      const a = torch.randn([c.n, c.n]);
      const b = torch.randn([c.n, c.n]);
      return { iter: () => { a.matmul(b).dispose(); }, dispose: () => { a.dispose(); b.dispose(); } };
    }
    case 'tiny': {
      const lin = new nn.Linear(4, 4);
      const x = torch.randn([1, 4]);
      const dispose = () => { lin.dispose(); x.dispose(); };
      if (c.op === 'add') return { iter: () => { for (let i = 0; i < c.calls; i++) x.add(x).dispose(); }, dispose };
      if (!c.async) return { iter: () => { for (let i = 0; i < c.calls; i++) lin.forward(x).dispose(); }, dispose };
      return { iter: async () => { for (let i = 0; i < c.calls; i++) (await lin.forwardAsync(x)).dispose(); }, dispose };
    }
    default: throw new Error(`no runner for ${(c as Case).kind}`);
  }
}

servePeer({
  async hello(req: Request): Promise<Hello> {
    if (typeof req.threads === 'number') torch.setNumThreads(req.threads);
    const info = torch.buildInfo();
    const hello: Hello = {
      peer: 'torchrnn', version: `torchrnn ${require('../package.json').version} on libtorch ${info.libtorch}`,
      threads: torch.getNumThreads(), blas: mappedBlas(), notes: [`addon: ${info.addon.kind}`],
    };
    return hello;
  },
  setup,
  eventLoop,
});
