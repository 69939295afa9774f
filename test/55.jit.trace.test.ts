// jit.trace (lib/jit.ts): a traced module gives the eager outputs and gradients, sync and async
// (an LSTM with projSize too: its fused layers are graph nodes); JS data made inside the forward
// becomes graph constants; a forward that reads values cannot be
// traced. TorchScript from Python (jit.load): test/56; the traced training step: test/61.
import * as assert from 'assert';
import * as torch from '../lib';
import { throwsTorch, values } from './helpers';
import { twin } from './models';

const { nn } = torch;

describe('jit.trace', () => {
  // the fused layer even at small batches (auto sends them to oneDNN's LSTM on 2.x)
  before(() => { torch.backends.fusedRnn.auto = false; });
  after(() => { torch.backends.fusedRnn.auto = true; });
  it('a traced module gives the eager outputs and gradients, sync and async', async () => {
    const [m] = twin();
    const x = torch.randn([3, 5, 4]);
    const traced = torch.jit.trace(m, [x]);
    // a training-mode float32 LSTM records the fused layer: one node, whose backward is its own
    const graph = traced.graph(x);
    assert.match(graph, /torchrnn::lstm_layer/);
    assert.doesNotMatch(graph, /aten::addmm_out|aten::sigmoid_/);
    const eager = m.forward(x);
    const y = traced.forward(x) as torch.Tensor;
    assert.deepStrictEqual(values(y), values(eager));
    const ga = torch.autograd.grad(eager.sum(), m.parameters());
    const gb = torch.autograd.grad(y.sum(), m.parameters());
    ga.forEach((g, i) => assert.deepStrictEqual(values(g!), values(gb[i]!)));
    const z = await traced.forwardAsync(torch.randn([2, 3, 4])) as torch.Tensor; // a new signature is traced again
    assert.deepStrictEqual(z.shape, [2, 3]);
  });

  it('an LSTM with projSize traces its fused layers (torchrnn::lstm_proj_layer, lstm_proj_layer_packed with lengths): the eager outputs and gradients', () => {
    class Projected extends nn.Module {
      lstm = new nn.LSTM({ inputSize: 4, hiddenSize: 6, projSize: 3, numLayers: 2, bidirectional: true, batchFirst: true });
      // one output: outputs, states and the packed run's output, flattened and weighted (the
      // weights tell a swapped state from another)
      forward(x: torch.Tensor, lengths: torch.Tensor): torch.Tensor {
        const [out, [h, c]] = this.lstm.forward(x);
        const [packed] = this.lstm.forward(x, { lengths }) as [torch.Tensor, unknown];
        return torch.cat([out, h, c, packed].map((t, i) => t.flatten().mul(i + 1)));
      }
    }
    torch.manualSeed(12);
    const m = new Projected();
    const x = torch.randn([3, 5, 4]), lengths = torch.tensor([5, 2, 4]);
    const traced = torch.jit.trace(m, [x, lengths]);
    const graph = traced.graph(x, lengths);
    assert.strictEqual(graph.match(/torchrnn::lstm_proj_layer\(/g)?.length, 4); // 2 layers x 2 directions
    assert.strictEqual(graph.match(/torchrnn::lstm_proj_layer_packed\(/g)?.length, 4);
    assert.doesNotMatch(graph, /aten::lstm/);
    const eager = m.forward(x, lengths);
    const got = traced.forward(x, lengths) as torch.Tensor;
    assert.deepStrictEqual(got.shape, [3 * 5 * 6 + 4 * 3 * 3 + 4 * 3 * 6 + 3 * 5 * 6]);
    assert.deepStrictEqual(values(got), values(eager));
    const ga = torch.autograd.grad(eager.pow(2).sum(), m.parameters());
    const gb = torch.autograd.grad(got.pow(2).sum(), m.parameters());
    ga.forEach((g, i) => assert.deepStrictEqual(values(g!), values(gb[i]!)));
  });

  it('a module with several outputs (nn.LSTM: output, [h, c]) gives them all, in their structure, sync and async', async () => {
    torch.manualSeed(5);
    const lstm = new nn.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, batchFirst: true });
    const x = torch.randn([2, 5, 3]);
    const traced = torch.jit.trace(lstm, [x]);
    const [eOut, [eH, eC]] = lstm.forward(x);
    for (const got of [traced.forward(x), await traced.forwardAsync(x)]) {
      const [out, [h, c]] = got as [torch.Tensor, [torch.Tensor, torch.Tensor]];
      assert.deepStrictEqual([out.shape, h.shape, c.shape], [[2, 5, 4], [2, 2, 4], [2, 2, 4]]);
      assert.deepStrictEqual(values(out), values(eOut));
      assert.deepStrictEqual(values(h), values(eH));
      assert.deepStrictEqual(values(c), values(eC));
    }
  });

  it('tensors made from JS data inside the forward are constants of the graph (not uninitialized memory)', () => {
    class Offset extends nn.Module {
      forward(x: torch.Tensor) { return x.add(torch.tensor([10, 20, 30], { dtype: 'float64' }).to('float32')); }
    }
    const traced = torch.jit.trace(new Offset(), [torch.zeros([3])]);
    assert.match(traced.graph(torch.zeros([3])), /prim::Constant\[value= 10  20  30/);
    for (let i = 0; i < 5; i++) {
      torch.randn([1000]); // reuse freed memory between runs
      assert.deepStrictEqual(values(traced.forward(torch.ones([3])) as torch.Tensor), [11, 21, 31]);
    }
  });

  it('a forward that reads values cannot be traced: a clear error', () => {
    class Branchy extends nn.Module {
      lin = new nn.Linear(2, 2);
      forward(x: torch.Tensor) { return (x.sum().item() as number) > 0 ? this.lin.forward(x) : x; }
    }
    throwsTorch(() => torch.jit.trace(new Branchy(), [torch.ones([1, 2])]), 'ERR_INVALID_ARG',
      'Cannot read tensor values while tracing (they would become constants of the graph): pass { trace: false } for a model whose forward reads values');
  });
});
