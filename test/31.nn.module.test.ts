// nn.Module: registration, state dicts with PyTorch's keys, modes, conversion, gradients,
// Dropout statistics, and bad input to the modules.
import * as assert from 'assert';
import * as torch from '../lib';
import { throwsTorch, values } from './helpers';

const { nn } = torch;

class Classifier extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 4, hiddenSize: 6, numLayers: 2, batchFirst: true });
  head = new nn.Linear(6, 3);
  scale = new nn.Parameter(torch.ones([3]));
  blocks = [new nn.LayerNorm(6), new nn.Linear(6, 6, { bias: false })];
  _cache = new nn.Linear(2, 2); // private: not registered
  forward(x: torch.Tensor): torch.Tensor {
    const [out] = this.lstm.forward(x);
    let h = out.select(1, -1);
    for (const b of this.blocks) h = b.forward(h);
    return this.head.forward(h).mul(this.scale);
  }
}

describe('nn.Module', () => {
  it('registers children and parameters from its properties, with PyTorch keys and order', () => {
    const m = new Classifier();
    assert.deepStrictEqual(Object.keys(m.stateDict()), [
      'scale',
      'lstm.weight_ih_l0', 'lstm.weight_hh_l0', 'lstm.bias_ih_l0', 'lstm.bias_hh_l0',
      'lstm.weight_ih_l1', 'lstm.weight_hh_l1', 'lstm.bias_ih_l1', 'lstm.bias_hh_l1',
      'head.weight', 'head.bias',
      'blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight',
    ]);
    assert.deepStrictEqual(m.namedChildren().map(([n]) => n), ['lstm', 'head', 'blocks.0', 'blocks.1']);
    assert.strictEqual(m.modules().length, 5);
    assert.strictEqual(m.children()[1], m.head);
    const lstmCount = 4 * 6 * (4 + 6) + 4 * 6 * 2 + 4 * 6 * (6 + 6) + 4 * 6 * 2;
    assert.strictEqual(m.numParameters(), 3 + lstmCount + 6 * 3 + 3 + 6 + 6 + 36);
    assert.ok(m.parameters().every((p) => p.requiresGrad && p.isLeaf));
    assert.strictEqual(m.parameters()[1], m.lstm.parameters()[0], 'parameter objects are stable');
  });

  it('Sequential names children 0, 1, … and chains forward', () => {
    const s = new nn.Sequential(new nn.Linear(3, 4), new nn.Dropout(0.5), new nn.Linear(4, 2));
    assert.deepStrictEqual(Object.keys(s.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
    assert.strictEqual(s.length, 3);
    assert.strictEqual(s.at(-1), s.children()[2]);
    s.eval();
    const x = torch.randn([5, 3]);
    const manual = (s.at(2) as torch.nn.Linear).forward((s.at(0) as torch.nn.Linear).forward(x));
    assert.deepStrictEqual(values(s.forward(x)), values(manual));
  });

  it('forwardAsync of a TypeScript model gives forward()\'s result', async () => {
    const m = new Classifier().eval();
    const x = torch.randn([2, 5, 4]);
    const y = await m.forwardAsync(x) as torch.Tensor;
    assert.deepStrictEqual(values(y), values(m.forward(x)));
  });

  it('loadStateDict round-trips and copies values, not references', () => {
    const a = new Classifier();
    const b = new Classifier();
    const sd = a.stateDict();
    const r = b.loadStateDict(sd);
    assert.deepStrictEqual(r, { missingKeys: [], unexpectedKeys: [] });
    for (const [k, v] of Object.entries(b.stateDict())) assert.deepStrictEqual(values(v), values(sd[k]), k);
    sd['head.bias'].fill_(7); // stateDict shares data with a's parameter
    assert.deepStrictEqual(values(a.head.parameters()[1]), [7, 7, 7]);
    assert.notDeepStrictEqual(values(b.head.parameters()[1]), [7, 7, 7]);
  });

  it('strict loadStateDict names every missing, unexpected and mis-shaped key (ERR_CHECKPOINT)', () => {
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.Linear(4, 2));
    const sd = m.stateDict();
    delete sd['1.bias'];
    sd['2.weight'] = torch.zeros([1]);
    sd['0.weight'] = torch.zeros([4, 4]);
    throwsTorch(() => m.loadStateDict(sd), 'ERR_CHECKPOINT',
      'Error(s) in loading stateDict for Sequential: missing keys: "1.bias"; unexpected keys: "2.weight"; ' +
      'size mismatch for 0.weight: the checkpoint has shape [4, 4], the model has [4, 3]');
    sd['0.weight'] = torch.zeros([4, 3]);
    const r = m.loadStateDict(sd, { strict: false });
    assert.deepStrictEqual(r, { missingKeys: ['1.bias'], unexpectedKeys: ['2.weight'] });
    assert.deepStrictEqual(values(m.at(0).parameters()[0]), new Array(12).fill(0));
  });

  it('train() and eval() set the mode on every descendant', () => {
    const m = new Classifier();
    assert.ok(m.modules().every((x) => x.training));
    m.eval();
    assert.ok(m.modules().every((x) => !x.training));
    m.train();
    assert.ok(m.modules().every((x) => x.training));
  });

  it('to(dtype) converts every parameter in place and keeps them trainable', () => {
    const m = new Classifier();
    const before = m.parameters();
    m.to('float64');
    assert.ok(m.parameters().every((p, i) => p === before[i] && p.dtype === 'float64' && p.requiresGrad));
    const y = m.forward(torch.randn([2, 3, 4], { dtype: 'float64' }));
    assert.strictEqual(y.dtype, 'float64');
    y.sum().backward();
    assert.ok(m.parameters().every((p) => p.grad !== null && p.grad.dtype === 'float64'));
    // gradients that exist convert with their parameters (built-in layers and TypeScript ones)
    m.to('float32');
    assert.ok(m.parameters().every((p) => p.dtype === 'float32' && p.grad !== null && p.grad.dtype === 'float32'));
    assert.throws(() => m.to('cuda'), { code: 'ERR_CUDA_UNAVAILABLE' });
  });

  it('zeroGrad zeroes (PyTorch 1.13 default) or drops gradients', () => {
    const m = new nn.Linear(3, 2);
    m.forward(torch.randn([4, 3])).sum().backward();
    m.zeroGrad();
    assert.ok(m.parameters().every((p) => values(p.grad!).every((v) => v === 0)));
    m.zeroGrad({ setToNone: true });
    assert.ok(m.parameters().every((p) => p.grad === null));
  });

  it('toString looks like PyTorch\'s module repr', () => {
    const s = new nn.Sequential(new nn.Linear(3, 4), new nn.LSTM({ inputSize: 4, hiddenSize: 8, numLayers: 2, batchFirst: true }));
    assert.strictEqual(String(s), 'Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n  (1): LSTM(4, 8, num_layers=2, batch_first=True)\n)');
  });

  it('parameters survive tidy()', () => {
    const m = torch.tidy(() => new nn.Linear(2, 2));
    assert.ok(m.parameters().every((p) => !p.isDisposed));
  });
});

describe('nn.Dropout', () => {
  it('drops at rate p in training mode (within 3 standard deviations over 10^5 elements) and scales by 1/(1-p)', () => {
    for (const p of [0.1, 0.5, 0.8]) {
      const d = new nn.Dropout(p);
      const y = values(d.forward(torch.ones([100000])));
      const n = y.length;
      const dropped = y.filter((v) => v === 0).length;
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(dropped - n * p) < 3 * sd, `p=${p}: dropped ${dropped}, expected ${n * p} ± ${3 * sd}`);
      assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / (1 - p)) < 1e-6));
    }
  });

  it('is the identity in eval mode, and recurrent dropout is off in eval mode (deterministic)', () => {
    const d = new nn.Dropout(0.5).eval();
    const x = torch.randn([1000]);
    assert.deepStrictEqual(values(d.forward(x)), values(x));
    const lstm = new nn.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 3, dropout: 0.5 });
    const input = torch.randn([5, 2, 3]);
    lstm.eval();
    assert.deepStrictEqual(values(lstm.forward(input)[0]), values(lstm.forward(input)[0]));
    lstm.train();
    assert.notDeepStrictEqual(values(lstm.forward(input)[0]), values(lstm.forward(input)[0]));
  });
});

describe('nn bad input', () => {
  const lstm = new nn.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
  const gru = new nn.GRU({ inputSize: 3, hiddenSize: 4, batchFirst: true });
  const x = torch.randn([5, 2, 3]);

  it('constructor options', () => {
    throwsTorch(() => new nn.LSTM(undefined as never), 'ERR_INVALID_ARG', 'Expected an options object with inputSize and hiddenSize for options but received undefined');
    throwsTorch(() => new nn.LSTM({ inputSize: 3.5, hiddenSize: 4 }), 'ERR_INVALID_ARG', 'Expected an integer >= 1 for inputSize but received 3.5');
    throwsTorch(() => new nn.LSTM({ inputSize: 3, hiddenSize: 0 }), 'ERR_INVALID_ARG', 'Expected an integer >= 1 for hiddenSize but received 0');
    throwsTorch(() => new nn.GRU({ inputSize: 3, hiddenSize: 4, numLayers: '2' as never }), 'ERR_INVALID_ARG', 'Expected an integer >= 1 for numLayers but received "2"');
    throwsTorch(() => new nn.RNN({ inputSize: 3, hiddenSize: 4, dropout: -0.1 }), 'ERR_INVALID_ARG', 'Expected a number in [0, 1) for dropout but received -0.1');
    throwsTorch(() => new nn.RNN({ inputSize: 3, hiddenSize: 4, dropout: 1 }), 'ERR_INVALID_ARG', 'Expected a number in [0, 1) for dropout but received 1');
    throwsTorch(() => new nn.LSTM({ inputSize: 3, hiddenSize: 4, projSize: 4 }), 'ERR_INVALID_ARG', 'Expected an integer in [0, 3] for projSize but received 4');
    throwsTorch(() => new nn.RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'sigmoid' as never }), 'ERR_INVALID_ARG', 'Expected one of "tanh", "relu" for nonlinearity but received "sigmoid"');
    throwsTorch(() => new nn.GRU({ inputSize: 3, hiddenSize: 4, projSize: 2 } as never), 'ERR_INVALID_ARG', 'Expected one of the options inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional for an option of options but received "projSize"');
    throwsTorch(() => new nn.LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: 1 as never }), 'ERR_INVALID_ARG', 'Expected a boolean for batchFirst but received 1');
    throwsTorch(() => new nn.Linear(-1, 2), 'ERR_INVALID_ARG', 'Expected an integer >= 0 for inFeatures but received -1');
    throwsTorch(() => new nn.Embedding(10, 4, { paddingIdx: 10 }), 'ERR_INVALID_ARG', 'Expected an integer in [-10, 9] for paddingIdx but received 10');
    throwsTorch(() => new nn.Dropout(1.5), 'ERR_INVALID_ARG', 'Expected a probability in [0, 1] for p but received 1.5');
    throwsTorch(() => new nn.LayerNorm([]), 'ERR_INVALID_ARG', 'Expected a positive integer or a non-empty array of them for normalizedShape but received []');
    throwsTorch(() => new nn.LSTMCell({ inputSize: 3 } as never), 'ERR_INVALID_ARG', 'Expected an integer >= 1 for hiddenSize but received undefined');
  });

  it('wrong rank, feature size, dtype', () => {
    throwsTorch(() => lstm.forward(torch.randn([5, 2, 3, 1])), 'ERR_INVALID_ARG', 'Expected a 2-D (unbatched) or 3-D (batched) tensor for input but received a float32 Tensor of shape [5, 2, 3, 1]');
    throwsTorch(() => lstm.forward(torch.randn([5, 2, 7])), 'ERR_INVALID_ARG', 'Expected a tensor whose last dimension is 3 (inputSize) for input but received a float32 Tensor of shape [5, 2, 7]');
    throwsTorch(() => lstm.forward(torch.randn([5, 2, 3], { dtype: 'float64' })), 'ERR_INVALID_ARG', "Expected a float32 tensor (the module's dtype) for input but received a float64 Tensor of shape [5, 2, 3]");
    throwsTorch(() => lstm.forward([1, 2, 3] as never), 'ERR_INVALID_ARG', 'Expected a Tensor for input but received [1, 2, 3]');
    throwsTorch(() => new nn.LSTMCell({ inputSize: 3, hiddenSize: 4 }).forward(x), 'ERR_INVALID_ARG', 'Expected a 1-D (unbatched) or 2-D (batched) tensor for input but received a float32 Tensor of shape [5, 2, 3]');
    throwsTorch(() => new nn.Linear(3, 2).forward(torch.randn([2, 4])), 'ERR_INVALID_ARG', 'Expected a tensor whose last dimension is 3 (inFeatures) for input but received a float32 Tensor of shape [2, 4]');
    throwsTorch(() => new nn.Embedding(10, 2).forward(torch.randn([2])), 'ERR_INVALID_ARG', 'Expected an int64 or int32 tensor of indices for input but received a float32 Tensor of shape [2]');
    throwsTorch(() => new nn.Embedding(10, 2).forward(torch.tensor([3, 10])), 'ERR_TORCH', /index out of range in self/);
    throwsTorch(() => new nn.LayerNorm([2, 3]).forward(torch.randn([3, 2])), 'ERR_INVALID_ARG', 'Expected a tensor whose last dimensions are [2, 3] (normalizedShape) for input but received a float32 Tensor of shape [3, 2]');
  });

  it('states: batch mismatch, wrong layers, wrong form', () => {
    throwsTorch(() => lstm.forward(x, [torch.zeros([2, 3, 4]), torch.zeros([2, 2, 4])]), 'ERR_INVALID_ARG', 'Expected a tensor of shape [2, 2, 4] for h0 but received a float32 Tensor of shape [2, 3, 4]');
    throwsTorch(() => lstm.forward(x, [torch.zeros([2, 2, 4]), torch.zeros([1, 2, 4])]), 'ERR_INVALID_ARG', 'Expected a tensor of shape [2, 2, 4] for c0 but received a float32 Tensor of shape [1, 2, 4]');
    throwsTorch(() => lstm.forward(x, torch.zeros([2, 2, 4]) as never), 'ERR_INVALID_ARG', 'Expected [h0, c0] (two tensors) for hx but received a float32 Tensor of shape [2, 2, 4]');
    throwsTorch(() => gru.forward(torch.randn([2, 5, 3]), torch.zeros([1, 5, 4])), 'ERR_INVALID_ARG', 'Expected a tensor of shape [1, 2, 4] for h0 but received a float32 Tensor of shape [1, 5, 4]');
    const cell = new nn.GRUCell({ inputSize: 3, hiddenSize: 4 });
    throwsTorch(() => cell.forward(torch.randn([2, 3]), torch.zeros([3, 4])), 'ERR_INVALID_ARG', 'Expected a tensor of shape [2, 4] for h but received a float32 Tensor of shape [3, 4]');
  });

  it('lengths: count, range, type', () => {
    throwsTorch(() => lstm.forward(x, { lengths: [5] }), 'ERR_INVALID_ARG', 'Expected 2 lengths (the batch size) for lengths but received [5]');
    throwsTorch(() => lstm.forward(x, { lengths: [5, 6] }), 'ERR_INVALID_ARG', 'Expected integer lengths in [1, 5] (the sequence length) for lengths but received [5, 6]');
    throwsTorch(() => lstm.forward(x, { lengths: [0, 2] }), 'ERR_INVALID_ARG', 'Expected integer lengths in [1, 5] (the sequence length) for lengths but received [0, 2]');
    throwsTorch(() => lstm.forward(x, { lengths: [2.5, 2] }), 'ERR_INVALID_ARG', 'Expected integer lengths in [1, 5] (the sequence length) for lengths but received [2.5, 2]');
    throwsTorch(() => lstm.forward(x, { lengths: torch.tensor([2.0, 3.5]) }), 'ERR_INVALID_ARG', 'Expected a 1-D int64 tensor or an array of integers for lengths but received a float32 Tensor of shape [2]');
    throwsTorch(() => lstm.forward(torch.randn([5, 3]), { lengths: [5] }), 'ERR_INVALID_ARG', 'Expected a batched (3-D) input when lengths are given for input but received a float32 Tensor of shape [5, 3]');
    throwsTorch(() => gru.forward(torch.randn([2, 5, 3]), { lengths: [5, 6] }), 'ERR_INVALID_ARG', 'Expected integer lengths in [1, 5] (the sequence length) for lengths but received [5, 6]');
  });

  it('disposed inputs and async rejections', async () => {
    const d = torch.randn([5, 2, 3]);
    d.dispose();
    throwsTorch(() => lstm.forward(d), 'ERR_INVALID_ARG', 'Expected a live Tensor for input but received a disposed Tensor');
    assert.throws(() => lstm.forwardAsync(d), { code: 'ERR_INVALID_ARG' });
    const seq = new nn.Sequential(new nn.Linear(3, 4), new nn.Linear(5, 1));
    await assert.rejects(seq.forwardAsync(torch.randn([2, 3])), (e: unknown) => e instanceof torch.TorchError && e.code === 'ERR_TORCH' && /cannot be multiplied/.test(e.message));
    // the executor goes on
    const [out] = await lstm.forwardAsync(x);
    assert.deepStrictEqual(out.shape, [5, 2, 4]);
  });
});

describe('buffers (registerBuffer): module state that is not a parameter', () => {
  // PyTorch 1.13 and 2.6 print, for the same Outer/Inner in Python:
  //   state_dict keys ['scale', 'steps', 'inner.running_mean', 'inner.lin.weight', 'inner.lin.bias']
  //   named_buffers   ['steps', 'inner.running_mean', 'inner.tmp']
  //   after .to(torch.float64): running_mean float64, steps int64
  class Inner extends nn.Module {
    lin = new nn.Linear(2, 2);
    declare running_mean: torch.Tensor;
    constructor() {
      super();
      this.registerBuffer('running_mean', torch.zeros([2]));
      this.registerBuffer('tmp', torch.ones([1]), { persistent: false });
    }
    forward(x: torch.Tensor): torch.Tensor { return this.lin.forward(x); }
  }
  class Outer extends nn.Module {
    inner = new Inner();
    scale = new nn.Parameter(torch.ones([1]));
    declare steps: torch.Tensor;
    constructor() {
      super();
      this.registerBuffer('steps', torch.tensor(0));
    }
    forward(x: torch.Tensor): torch.Tensor {
      // state updated in place by forward: a step counter and a running mean of the input
      this.steps.add_(1);
      this.inner.running_mean.mul_(0.9).add_(x.detach().mean([0]), { alpha: 0.1 });
      return this.inner.forward(x).mul(this.scale).sum([1]);
    }
  }

  it('are in stateDict() with PyTorch\'s keys and order (persistent ones), and in namedBuffers()', () => {
    const m = new Outer();
    assert.deepStrictEqual(Object.keys(m.stateDict()), ['scale', 'steps', 'inner.running_mean', 'inner.lin.weight', 'inner.lin.bias']);
    assert.deepStrictEqual(m.namedBuffers().map(([n]) => n), ['steps', 'inner.running_mean', 'inner.tmp']);
    assert.strictEqual(m.buffers().length, 3);
    assert.ok(!m.parameters().includes(m.steps as never), 'a buffer is not a parameter');
    assert.deepStrictEqual(m.namedChildren().map(([n]) => n), ['inner']);
  });

  it('move with to(): floating buffers convert, integer ones keep their dtype', () => {
    const m = new Outer().to('float64');
    assert.strictEqual(m.inner.running_mean.dtype, 'float64');
    assert.strictEqual(m.steps.dtype, 'int64');
  });

  it('load from a state dict (strict: a missing buffer is named), and survive tidy()', () => {
    const a = new Outer();
    const b = new Outer();
    a.inner.running_mean.fill_(3);
    b.loadStateDict(a.stateDict());
    assert.deepStrictEqual(values(b.inner.running_mean), [3, 3]);
    const partial = a.stateDict();
    delete partial['inner.running_mean'];
    throwsTorch(() => b.loadStateDict(partial), 'ERR_CHECKPOINT', 'Error(s) in loading stateDict for Outer: missing keys: "inner.running_mean"');
    const c = torch.tidy(() => new Outer());
    assert.deepStrictEqual(values(c.steps), [0]);
  });

  it('are graph inputs of trainStep and jit.trace: an in-place update in forward happens in every step', async () => {
    torch.manualSeed(0);
    const m = new Outer();
    const step = torch.trainStep({ model: m, loss: (y: torch.Tensor, t: torch.Tensor) => y.sub(t).pow(2).mean(), optimizer: new torch.optim.SGD(m.parameters(), { lr: 0.01 }) });
    const x = torch.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    for (let i = 0; i < 3; i++) await step(x, torch.zeros([2]));
    assert.strictEqual(step.traced, true);
    assert.deepStrictEqual(values(m.steps), [3]);
    // running mean of the column means [2, 3] after 3 updates from 0: (1 - 0.9^3) * [2, 3]
    values(m.inner.running_mean).forEach((v, i) => assert.ok(Math.abs(v - (1 - 0.9 ** 3) * [2, 3][i]) < 1e-5, `${v}`));
    const traced = torch.jit.trace(m, [x]);
    traced.forward(x);
    traced.forward(x);
    // tracing runs forward once but puts the buffers back: one update per call
    assert.deepStrictEqual(values(m.steps), [5]);
  });

  it('a buffer registered after the first traced call: the module\'s state is part of the graph\'s signature, so it is traced again', async () => {
    class Late extends nn.Module {
      lin = new nn.Linear(2, 1);
      declare count?: torch.Tensor;
      forward(x: torch.Tensor): torch.Tensor {
        if (this.count) this.count.add_(1);
        return this.lin.forward(x).squeeze(-1);
      }
    }
    const m = new Late();
    const step = torch.trainStep({ model: m, loss: (y: torch.Tensor, t: torch.Tensor) => y.sub(t).pow(2).mean(), optimizer: new torch.optim.SGD(m.parameters(), { lr: 0.01 }) });
    const x = torch.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    await step(x, torch.zeros([2]));
    m.registerBuffer('count', torch.zeros([1]));
    await step(x, torch.zeros([2]));
    await step(x, torch.zeros([2]));
    assert.deepStrictEqual(values(m.count!), [2]);
    const traced = torch.jit.trace(m, [x]);
    m.registerBuffer('count', torch.tensor([10], { dtype: 'float32' }));  // the same shape: the same graph, the new tensor
    traced.forward(x);
    assert.deepStrictEqual(values(m.count!), [11]);
    m.registerBuffer('count', null);
    assert.deepStrictEqual(values(traced.forward(x) as torch.Tensor), values(m.forward(x)));
  });

  it('a buffer can be reassigned, or registered without a tensor yet', () => {
    const m = new Outer();
    m.steps = torch.tensor(41);
    assert.deepStrictEqual(values(m.stateDict().steps), [41]);
    m.registerBuffer('later', null);
    assert.strictEqual((m as unknown as { later: unknown }).later, null);
    assert.ok(!('later' in m.stateDict()));
  });

  it('bad input names the argument', () => {
    const m = new Outer();
    throwsTorch(() => m.registerBuffer('a.b', torch.ones([1])), 'ERR_INVALID_ARG', 'Expected a non-empty name without "." for name but received "a.b"');
    throwsTorch(() => m.registerBuffer('_x', torch.ones([1])), 'ERR_INVALID_ARG', 'Expected a name that does not start with "_" (those are private) for name but received "_x"');
    throwsTorch(() => m.registerBuffer('inner', torch.ones([1])), 'ERR_INVALID_ARG', 'Expected a name that is not already an attribute of the module for name but received "inner"');
    throwsTorch(() => m.registerBuffer('x', [1] as never), 'ERR_INVALID_ARG', 'Expected a Tensor for tensor but received [1]');
    throwsTorch(() => m.registerBuffer('x', torch.ones([1]), { persistent: 1 } as never), 'ERR_INVALID_ARG', 'Expected a boolean for persistent but received 1');
  });
});

describe('nn.init: seeded fills equal PyTorch\'s', () => {
  const I = nn.init;
  // /usr/bin/python3 (PyTorch 1.13; the same calls on 2.6 give the same values), after
  // torch.manual_seed(0), rounded to 6 decimals: uniform_(empty(2,3),-1,2), normal_(empty(2,3),0.5,2),
  // xavier_uniform_(empty(3,4),1.5), xavier_normal_(empty(3,4,2)), kaiming_uniform_(empty(4,3),a=sqrt(5)),
  // kaiming_normal_(empty(4,3),mode='fan_out',nonlinearity='relu'), orthogonal_(empty(3,5),2),
  // orthogonal_(empty(4,2)), eye_(empty(2,3)); calculate_gain('tanh'), ('leaky_relu',0.2), ('selu'), ('relu')
  const EXPECTED: Record<string, number[]> = {"uniform": [0.48877, 1.304665, -0.734568, -0.603909, -0.077732, 0.902236], "normal": [3.028917, -0.874853, 0.820763, -0.712902, -1.066128, 2.624342], "xu": [-0.941477, -0.60474, 0.504411, 1.153185, -0.285801, 1.039203, -0.22384, 0.146947, 1.257462, -1.288284, -0.874258, -0.351578], "xn": [-0.054228, -0.042184, -0.231913, 0.011941, -0.186214, 0.093892, 0.166189, 0.042487, 0.205346, -0.149356, 0.077681, -0.170209, -0.216603, -0.209906, 0.224633, 0.582799, 0.687791, -0.208458, -0.500926, 0.071267, -0.026107, -0.187064, -0.565403, -0.073264], "ku": [-0.44492, -0.211581, 0.226904, 0.478363, 0.502414, 0.509429, 0.114901, -0.502054, 0.053112, -0.361193, -0.538064, 0.512971], "kn": [1.135575, 0.30254, -0.479162, 0.73694, -1.379751, 0.296006, 2.348595, 0.619709, 0.872931, -0.82321, -0.016993, 0.458201], "orth": [1.60081, -0.123308, -0.770958, 0.909836, -0.004826, -0.741687, -1.62956, -0.681996, 0.507633, 0.267629, 0.376593, -0.540139, 1.635187, 0.653409, 0.682384], "orth2": [-0.188267, 0.938142, -0.841498, -0.002701, -0.500364, -0.334547, -0.077927, -0.089216], "eye": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], "gain": [1.6666666666666667, 1.3867504905630728, 0.75, 1.4142135623730951]};
  const v = (t: torch.Tensor) => Array.from(t.dataSync() as Float32Array).map((x) => +x.toFixed(6));

  it('uniform_, normal_, xavier*, kaiming*, orthogonal_, eye_ in one seeded stream; calculateGain', () => {
    torch.manualSeed(0);
    const got: Record<string, number[]> = {
      uniform: v(I.uniform_(torch.empty([2, 3]), -1, 2)),
      normal: v(I.normal_(torch.empty([2, 3]), 0.5, 2)),
      xu: v(I.xavierUniform_(torch.empty([3, 4]), 1.5)),
      xn: v(I.xavierNormal_(torch.empty([3, 4, 2]))),
      ku: v(I.kaimingUniform_(torch.empty([4, 3]), { a: Math.sqrt(5) })),
      kn: v(I.kaimingNormal_(torch.empty([4, 3]), { mode: 'fan_out', nonlinearity: 'relu' })),
      orth: v(I.orthogonal_(torch.empty([3, 5]), 2)),
      orth2: v(I.orthogonal_(torch.empty([4, 2]))),
      eye: v(I.eye_(torch.empty([2, 3]))),
      gain: [I.calculateGain('tanh'), I.calculateGain('leaky_relu', 0.2), I.calculateGain('selu'), I.calculateGain('relu')],
    };
    for (const k of Object.keys(EXPECTED)) {
      assert.strictEqual(got[k].length, EXPECTED[k].length, k);
      got[k].forEach((x, i) => assert.ok(Math.abs(x - EXPECTED[k][i]) < 2e-6, `${k}[${i}]: ${x} vs ${EXPECTED[k][i]}`));
    }
  });

  it('fills parameters in place without recording autograd; constant_, zeros_, ones_', () => {
    const lin = new nn.Linear(3, 2);
    const w = lin.weight as torch.Tensor;
    assert.strictEqual(I.constant_(w, 0.5), w);
    assert.deepStrictEqual(values(w), [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    assert.strictEqual(w.requiresGrad, true);
    assert.strictEqual(w.gradFn, null);
    assert.deepStrictEqual(values(I.zeros_(torch.ones([2]))), [0, 0]);
    assert.deepStrictEqual(values(I.ones_(torch.zeros([2]))), [1, 1]);
  });

  it('bad input names the argument; fans need 2 dimensions, as in PyTorch', () => {
    throwsTorch(() => I.xavierUniform_(torch.empty([3])), 'ERR_INVALID_ARG', 'Fan in and fan out can not be computed for tensor with fewer than 2 dimensions');
    throwsTorch(() => I.eye_(torch.empty([3])), 'ERR_INVALID_ARG', 'Expected a 2-D tensor for tensor but received a float32 Tensor of shape [3]');
    throwsTorch(() => I.uniform_([1] as never), 'ERR_INVALID_ARG', 'Expected a Tensor for tensor but received [1]');
    throwsTorch(() => I.kaimingUniform_(torch.empty([2, 2]), { mode: 'fanIn' as never }), 'ERR_INVALID_ARG', 'Expected one of "fan_in", "fan_out" for mode but received "fanIn"');
    throwsTorch(() => I.calculateGain('gelu' as never), 'ERR_INVALID_ARG', /^Expected one of "linear", .* for nonlinearity but received "gelu"$/);
  });
});

describe('activation and shape modules, ModuleList, ModuleDict', () => {
  // /usr/bin/python3 (PyTorch 1.13) on x = [[-1.5, 0.5, 2, -0.25], [3, -2, 0, 1]]: outputs (6 decimals), shapes, repr
  const EXPECTED: Record<string, [number[], number[], string]> = {"relu": [[0.0, 0.5, 2.0, 0.0, 3.0, 0.0, 0.0, 1.0], [2, 4], "ReLU()"], "leaky": [[-0.3, 0.5, 2.0, -0.05, 3.0, -0.4, 0.0, 1.0], [2, 4], "LeakyReLU(negative_slope=0.2)"], "gelu": [[-0.100211, 0.345731, 1.9545, -0.100323, 2.99595, -0.0455, 0.0, 0.841345], [2, 4], "GELU(approximate='none')"], "gelut": [[-0.100428, 0.345714, 1.954598, -0.100325, 2.996363, -0.045402, 0.0, 0.841192], [2, 4], "GELU(approximate='tanh')"], "tanh": [[-0.905148, 0.462117, 0.964028, -0.244919, 0.995055, -0.964028, 0.0, 0.761594], [2, 4], "Tanh()"], "sigmoid": [[0.182426, 0.622459, 0.880797, 0.437824, 0.952574, 0.119203, 0.5, 0.731059], [2, 4], "Sigmoid()"], "silu": [[-0.273638, 0.31123, 1.761594, -0.109456, 2.857723, -0.238406, 0.0, 0.731059], [2, 4], "SiLU()"], "glu": [[-1.321196, 0.218912, 1.5, -1.462117], [2, 2], "GLU(dim=-1)"], "softmax": [[0.022225, 0.16422, 0.735983, 0.077572, 0.839024, 0.005653, 0.041773, 0.11355], [2, 4], "Softmax(dim=1)"], "logsoftmax": [[-4.511048, -0.07889, -0.126928, -1.501929, -0.011048, -2.57889, -2.126928, -0.251929], [2, 4], "LogSoftmax(dim=0)"], "flatten": [[-1.5, 0.5, 2.0, -0.25, 3.0, -2.0, 0.0, 1.0], [8], "Flatten(start_dim=0, end_dim=-1)"], "unflatten": [[-1.5, 0.5, 2.0, -0.25, 3.0, -2.0, 0.0, 1.0], [2, 2, 2], "Unflatten(dim=1, unflattened_size=(2, 2))"]};
  const x = () => torch.tensor([[-1.5, 0.5, 2, -0.25], [3, -2, 0, 1]], { dtype: 'float32' });
  const make: Record<string, () => torch.nn.Module> = {
    relu: () => new nn.ReLU(), leaky: () => new nn.LeakyReLU({ negativeSlope: 0.2 }), gelu: () => new nn.GELU(),
    gelut: () => new nn.GELU({ approximate: 'tanh' }), tanh: () => new nn.Tanh(), sigmoid: () => new nn.Sigmoid(), silu: () => new nn.SiLU(),
    glu: () => new nn.GLU(), softmax: () => new nn.Softmax({ dim: 1 }), logsoftmax: () => new nn.LogSoftmax({ dim: 0 }),
    flatten: () => new nn.Flatten({ startDim: 0 }), unflatten: () => new nn.Unflatten(1, [2, 2]),
  };

  for (const [name, [want, shape]] of Object.entries(EXPECTED)) {
    it(`${name} computes what PyTorch does`, () => {
      const y = (make[name]().forward as (t: torch.Tensor) => torch.Tensor)(x());
      assert.deepStrictEqual([...y.shape], shape);
      values(y).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 2e-6, `${name}[${i}]: ${v} vs ${want[i]}`));
    });
  }

  it('Identity passes its input through; options are validated', () => {
    const t = x();
    assert.strictEqual(new nn.Identity().forward(t), t);
    throwsTorch(() => new nn.LeakyReLU({ negativeSlope: 'a' as never }), 'ERR_INVALID_ARG', 'Expected a number for negativeSlope but received "a"');
    throwsTorch(() => new nn.GELU({ approximate: 'fast' as never }), 'ERR_INVALID_ARG', 'Expected one of "none", "tanh" for approximate but received "fast"');
    throwsTorch(() => new nn.Unflatten(1, [] as never), 'ERR_INVALID_ARG', 'Expected a non-empty array of integers for unflattenedSize but received []');
  });

  it('ModuleList and ModuleDict register their modules under PyTorch\'s names', () => {
    class M extends nn.Module {
      blocks = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 1)]);
      heads = new nn.ModuleDict({ cls: new nn.Linear(1, 3), reg: new nn.Linear(1, 1, { bias: false }) });
      forward(t: torch.Tensor) {
        let h = t;
        for (const b of this.blocks) h = (b as torch.nn.Linear).forward(h);
        return (this.heads.get('cls') as torch.nn.Linear).forward(h);
      }
    }
    const m = new M();
    // PyTorch: ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias", "heads.cls.weight", "heads.cls.bias", "heads.reg.weight"]
    assert.deepStrictEqual(Object.keys(m.stateDict()), ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias", "heads.cls.weight", "heads.cls.bias", "heads.reg.weight"]);
    assert.deepStrictEqual(m.forward(torch.ones([4, 2])).shape, [4, 3]);
    assert.strictEqual(m.blocks.length, 2);
    assert.strictEqual(m.blocks.at(-1), [...m.blocks][1]);
    m.blocks.append(new nn.Linear(1, 1));
    assert.ok(Object.keys(m.stateDict()).includes('blocks.2.weight'));
    throwsTorch(() => m.blocks.append({} as never), 'ERR_INVALID_ARG', 'Expected a Module for module but received an object');
    throwsTorch(() => m.heads.set('a.b', new nn.Identity()), 'ERR_INVALID_ARG', 'Expected a non-empty key without "." for key but received "a.b"');
  });
});

describe('Conv1d and Conv2d: PyTorch\'s initialization, outputs and names', () => {
  // /usr/bin/python3 (PyTorch 1.13), after torch.manual_seed(0): Conv1d(2, 3, 2, stride=1, padding=1),
  // Conv2d(2, 4, (2, 3), padding='same', groups=2, bias=False), x1 = randn(1, 2, 5), x2 = randn(1, 2, 4, 4)
  // (5 decimals; y2: the first 8 outputs)
  const EXPECTED = {"w1": [-0.00374, 0.26822, -0.41152, -0.36797, -0.19258, 0.13408, -0.00991, 0.39644, -0.04437, 0.13231, -0.15111, -0.09828], "b1": [-0.47767, -0.33114, -0.20611], "w2": [0.01512, 0.16139, 0.24496, -0.27677, -0.17778, 0.14828, 0.339, -0.08402, 0.3055, -0.0658, 0.0432, 0.36966, -0.37872, -0.25701, -0.10335, -0.15914, 0.35273, -0.26462, -0.18793, -0.28522, -0.38235, -0.23831, 0.35093, 0.18217], "y1": [-0.46881, -1.85495, -0.97476, 0.71149, 0.37854, 0.22172, 0.61662, -0.41709, -0.26947, -0.49228, -1.58848, -0.10087, -0.06647, -0.79473, -0.36354, 0.27118, -0.09234, 0.09838], "y2s": [1, 4, 4, 4], "y2": [0.07661, 0.86643, 0.54084, -0.3469, -0.36866, 0.49872, 0.92652, 0.16764], "keys": ["weight"], "r1": "Conv1d(2, 3, kernel_size=(2,), stride=(1,), padding=(1,))", "r2": "Conv2d(2, 4, kernel_size=(2, 3), stride=(1, 1), padding=same, groups=2, bias=False)"};
  const v = (t: torch.Tensor) => Array.from(t.dataSync() as Float32Array).map((x) => +x.toFixed(5));
  const close = (got: number[], want: number[], label: string) => {
    assert.strictEqual(got.length, want.length, label);
    got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 2e-5, `${label}[${i}]: ${x} vs ${want[i]}`));
  };

  it('seeded weights, bias and outputs equal PyTorch\'s; repr and stateDict keys too', () => {
    torch.manualSeed(0);
    const c1 = new nn.Conv1d(2, 3, 2, { stride: 1, padding: 1 });
    const c2 = new nn.Conv2d(2, 4, [2, 3], { padding: 'same', groups: 2, bias: false });
    const x1 = torch.randn([1, 2, 5]);
    const x2 = torch.randn([1, 2, 4, 4]);
    close(v(c1.weight), EXPECTED.w1, 'w1');
    close(v(c1.bias!), EXPECTED.b1, 'b1');
    close(v(c2.weight), EXPECTED.w2, 'w2');
    close(v(c1.forward(x1)), EXPECTED.y1, 'y1');
    const y2 = c2.forward(x2);
    assert.deepStrictEqual([...y2.shape], EXPECTED.y2s);
    close(v(y2).slice(0, 8), EXPECTED.y2, 'y2');
    assert.deepStrictEqual(Object.keys(c2.stateDict()), EXPECTED.keys);
    assert.strictEqual(String(c1), EXPECTED.r1);
    assert.strictEqual(String(c2), EXPECTED.r2);
    // gradients reach the weights
    c1.forward(x1).sum().backward();
    assert.deepStrictEqual(c1.weight.grad!.shape, [3, 2, 2]);
  });

  it('bad options name the argument', () => {
    throwsTorch(() => new nn.Conv2d(3, 4, 2, { groups: 2 }), 'ERR_INVALID_ARG', 'Expected an inChannels divisible by groups (2) for inChannels but received 3');
    throwsTorch(() => new nn.Conv1d(2, 2, 0), 'ERR_INVALID_ARG', 'Expected an integer >= 1 or an array of 1 such integers for kernelSize but received 0');
    throwsTorch(() => new nn.Conv2d(2, 2, 3, { padding: 'full' as never }), 'ERR_INVALID_ARG', 'Expected one of "valid", "same" for padding but received "full"');
    throwsTorch(() => new nn.Conv2d(2, 2, 3, { padding: 'same', stride: 2 }), 'ERR_INVALID_ARG', "Expected stride 1 with padding 'same' for stride but received 2");
    throwsTorch(() => new nn.Conv2d(2, 2, 3, { paddingMode: 'reflect' as never }), 'ERR_INVALID_ARG', 'Expected one of "zeros" for paddingMode but received "reflect"');
  });
});
