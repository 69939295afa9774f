// Losses (lib/nn/functional.ts, lib/nn/loss.ts) against the running line's PyTorch (1.13 or 2.6): outputs and the gradients
// of every differentiable argument (fixtures from scripts/gen-fixtures-loss.py); module forms
// equal the functional forms; trainStep with a loss module; bad input with exact messages; a
// seeded run of random bad calls that must throw only TorchErrors and leak nothing.
import * as assert from 'assert';
import * as torch from '../lib';
import { assertMatches, Encoded, fromFixture, invalid, loadFixture, Rng, sameParams, throwsTorch, values } from './helpers';
import { twins } from './models';
import { libtorchLine } from '../lib/compat';

const { nn, optim } = torch;
const F = nn.functional;

type Arg = (Encoded & { grad: boolean }) | { list: number[] };
interface LossCase {
  name: string;
  fn: keyof typeof FUNCTIONS;
  options: Record<string, unknown>;
  args: Arg[];
  output: Encoded;
  projection: Encoded | null;
  grads: (Encoded | null)[];
}

const fixture = loadFixture<{ torch: string; cases: LossCase[] }>('loss.json');

/* eslint-disable @typescript-eslint/no-explicit-any */
const FUNCTIONS = {
  crossEntropy: F.crossEntropy,
  nllLoss: F.nllLoss,
  mseLoss: F.mseLoss,
  l1Loss: F.l1Loss,
  smoothL1Loss: F.smoothL1Loss,
  huberLoss: F.huberLoss,
  binaryCrossEntropy: F.binaryCrossEntropy,
  binaryCrossEntropyWithLogits: F.binaryCrossEntropyWithLogits,
  ctcLoss: F.ctcLoss,
} as const;
const MODULES: Record<keyof typeof FUNCTIONS, new (o?: any) => torch.nn.Module> = {
  crossEntropy: nn.CrossEntropyLoss,
  nllLoss: nn.NLLLoss,
  mseLoss: nn.MSELoss,
  l1Loss: nn.L1Loss,
  smoothL1Loss: nn.SmoothL1Loss,
  huberLoss: nn.HuberLoss,
  binaryCrossEntropy: nn.BCELoss,
  binaryCrossEntropyWithLogits: nn.BCEWithLogitsLoss,
  ctcLoss: nn.CTCLoss,
};
const callLoss = (fn: keyof typeof FUNCTIONS, args: unknown[], opts?: unknown): torch.Tensor => (FUNCTIONS[fn] as (...a: unknown[]) => torch.Tensor)(...args, opts);

function decodeOptions(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    out[k] = v !== null && typeof v === 'object' && 'tensor' in v ? fromFixture((v as { tensor: Encoded }).tensor) : v;
  }
  return out;
}

function decodeArgs(args: Arg[]): (torch.Tensor | number[])[] {
  return args.map((a) => ('list' in a ? [...a.list] : fromFixture(a, a.grad)));
}

/**
 * Captures process warnings (the broadcasting losses emit PyTorch's UserWarning) in each of this
 * file's describes: hooks at the top level of a file would be mocha root hooks, replacing
 * process.emitWarning for every file of the suite.
 */
const warnings: string[] = [];
const realEmitWarning = process.emitWarning;
function captureWarnings(): void {
  before(() => {
    process.emitWarning = ((w: string | Error) => { warnings.push(String(w)); }) as typeof process.emitWarning;
  });
  after(() => { process.emitWarning = realEmitWarning; });
}

describe('losses match PyTorch (outputs and gradients)', () => {
  captureWarnings();
  it('covers the grid', () => {
    assert.strictEqual(fixture.torch.split('.').slice(0, 2).join('.'), libtorchLine);
    const names = fixture.cases.map((c) => c.name);
    const fns = new Set(fixture.cases.map((c) => c.fn));
    assert.deepStrictEqual([...fns].sort(), Object.keys(FUNCTIONS).sort());
    for (const r of ['mean', 'sum', 'none']) {
      for (const p of ['ce', 'ce_weight', 'ce_ls', 'ce_probs', 'ce_probs_ls', 'ce_ignore_custom', 'ce_ncl', 'ce_unbatched', 'ce_f64', 'nll', 'nll_weight',
        'mse', 'l1', 'smoothl1_beta05', 'smoothl1_beta0', 'huber_delta2', 'bce', 'bce_weight', 'bcel_posweight', 'ctc_padded_lists', 'ctc_concat_tensors',
        'ctc_zero_infinity']) {
        assert.ok(names.includes(`${p}_${r}`), `${p}_${r}`);
      }
    }
    assert.ok(fixture.cases.length >= 150, `${fixture.cases.length} cases`);
  });

  for (const c of fixture.cases) {
    it(`${c.name}`, () => {
      torch.tidy(() => {
        const args = decodeArgs(c.args);
        const opts = decodeOptions(c.options);
        const out = callLoss(c.fn, args, opts);
        assertMatches(out, c.output, 'output');
        // The module form gives the same values.
        const m = new MODULES[c.fn](opts);
        try {
          const mout = m.forward(...args) as torch.Tensor;
          assert.deepStrictEqual(values(mout), values(out), 'module form');
          assert.deepStrictEqual(mout.shape, out.shape, 'module form shape');
        } finally {
          m.dispose();
        }
        const diff = args.map((a, i) => (c.args[i] as { grad?: boolean }).grad ? a as torch.Tensor : null);
        const inputs = diff.filter((a): a is torch.Tensor => a !== null);
        if (inputs.length === 0) return;
        const total = c.projection === null ? out.sum() : out.mul(fromFixture(c.projection)).sum();
        const grads = torch.autograd.grad(total, inputs, { allowUnused: true });
        let k = 0;
        diff.forEach((a, i) => {
          if (a === null) return;
          const g = grads[k++];
          assert.ok(g !== null, `grad of argument ${i}`);
          assertMatches(g, c.grads[i]!, `grad of argument ${i}`);
        });
      });
    });
  }
});

describe('loss modules', () => {
  captureWarnings();
  it('hold PyTorch attributes; weights are buffers (in stateDict under PyTorch\'s keys), not parameters', () => {
    const w = torch.tensor([1, 2, 3], { dtype: 'float32' });
    const ce = new nn.CrossEntropyLoss({ weight: w, labelSmoothing: 0.2, ignoreIndex: 1 });
    assert.strictEqual(ce.reduction, 'mean');
    assert.strictEqual(ce.ignoreIndex, 1);
    assert.strictEqual(ce.labelSmoothing, 0.2);
    assert.deepStrictEqual(values(ce.weight!), [1, 2, 3]);
    assert.deepStrictEqual(ce.parameters(), []);
    // PyTorch: nn.CrossEntropyLoss(weight=w).state_dict().keys() == ['weight'];
    // nn.BCEWithLogitsLoss(pos_weight=p).state_dict().keys() == ['pos_weight']
    assert.deepStrictEqual(Object.keys(ce.stateDict()), ['weight']);
    assert.deepStrictEqual(Object.keys(new nn.BCEWithLogitsLoss({ posWeight: torch.ones([3]) }).stateDict()), ['pos_weight']);
    assert.deepStrictEqual(Object.keys(new nn.CrossEntropyLoss().stateDict()), []);
    assert.strictEqual(String(ce), 'CrossEntropyLoss()');
    assert.strictEqual(new nn.CTCLoss().blank, 0);
    assert.strictEqual(new nn.CTCLoss().zeroInfinity, false);
    assert.strictEqual(new nn.SmoothL1Loss().beta, 1);
    assert.strictEqual(new nn.HuberLoss({ reduction: 'sum' }).delta, 1);
    assert.strictEqual(new nn.BCEWithLogitsLoss().posWeight, null);
    ce.to('float64');
    assert.strictEqual(ce.weight!.dtype, 'float64');
    const x = torch.randn([2, 3], { dtype: 'float64' });
    const t = torch.tensor([0, 2], { dtype: 'int64' });
    assert.deepStrictEqual(values(ce.forward(x, t)), values(F.crossEntropy(x, t, { weight: w.to('float64'), labelSmoothing: 0.2, ignoreIndex: 1 })));
    ce.dispose();
    throwsTorch(() => ce.forward(x, t), 'ERR_INVALID_ARG', 'Expected a live module for module but received "a disposed CrossEntropyLoss"');
    assert.strictEqual(w.isDisposed, false, "the caller's weight tensor stays alive");
  });

  it('a weight made inside tidy() survives the scope', () => {
    const loss = torch.tidy(() => new nn.NLLLoss({ weight: torch.ones([3]) }));
    assert.strictEqual(loss.weight!.isDisposed, false);
    const out = loss.forward(torch.zeros([2, 3]), torch.tensor([0, 1], { dtype: 'int64' }));
    assert.ok(out.item() === 0, String(out.item()));
    loss.dispose();
  });

  it('broadcasting losses warn once per shape pair, with PyTorch\'s message', () => {
    const before = warnings.length;
    const x = torch.randn([5, 2]);
    const t = torch.randn([5, 1]);
    F.mseLoss(x, t);
    F.mseLoss(x, t);
    const msg = 'Using a target size ([5, 1]) that is different to the input size ([5, 2]). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.';
    assert.deepStrictEqual(warnings.slice(before), [msg]);
    F.mseLoss(x, x);
    assert.strictEqual(warnings.length, before + 1);
  });

  it('CTC lengths: arrays, tensors, mixed, and one number for unbatched input give the same loss', () => {
    torch.manualSeed(3);
    const lp = torch.randn([10, 2, 5]).logSoftmax(2);
    const tg = torch.randint(1, 5, [2, 4]);
    const ref = values(F.ctcLoss(lp, tg, [10, 8], [4, 2]));
    assert.deepStrictEqual(values(F.ctcLoss(lp, tg, torch.tensor([10, 8], { dtype: 'int64' }), [4, 2])), ref);
    assert.deepStrictEqual(values(F.ctcLoss(lp, tg, [10, 8], torch.tensor([4, 2], { dtype: 'int32' }))), ref);
    const u = lp.select(1, 0);
    const tu = tg.select(0, 0);
    const refU = values(F.ctcLoss(u, tu, [10], [4]));
    assert.deepStrictEqual(values(F.ctcLoss(u, tu, 10, 4)), refU);
    assert.deepStrictEqual(values(F.ctcLoss(u, tu, torch.tensor(10, { dtype: 'int64' }), torch.tensor([4], { dtype: 'int64' }))), refU);
    // padding past a target's length is not read (here -1, a common padding value)
    const padded = torch.tensor([[1, 2, 3, 4], [2, 3, -1, -1]], { dtype: 'int64' });
    F.ctcLoss(lp, padded, [10, 8], [4, 2]);
  });
});

describe('trainStep with loss modules', () => {
  captureWarnings();
  class Net extends nn.Module {
    lstm = new nn.LSTM({ inputSize: 3, hiddenSize: 6, batchFirst: true });
    head = new nn.Linear(6, 4);
    forward(x: torch.Tensor): torch.Tensor {
      const [out] = this.lstm.forward(x);
      return this.head.forward(out.select(1, -1));
    }
  }

  for (const trace of [true, false]) {
    it(`new nn.CrossEntropyLoss() trains (${trace ? 'traced' : 'untraced'}) exactly like the PyTorch-style loop`, async () => {
      const [a, b] = twins(() => new Net(), 21);
      const weight = torch.tensor([1, 2, 0.5, 1], { dtype: 'float32' });
      const step = torch.trainStep({ model: a, loss: new nn.CrossEntropyLoss({ weight, labelSmoothing: 0.1 }), optimizer: new optim.SGD(a.parameters(), { lr: 0.1 }), trace });
      const optB = new optim.SGD(b.parameters(), { lr: 0.1 });
      const criterion = new nn.CrossEntropyLoss({ weight, labelSmoothing: 0.1 });
      torch.manualSeed(8);
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const x = torch.randn([5, 4, 3]);
        const y = torch.randint(0, 4, [5]);
        const la = await step(x, y);
        optB.zeroGrad();
        const l = criterion.forward(b.forward(x), y);
        l.backward();
        optB.step();
        assert.ok(Math.abs(la - (l.item() as number)) < 1e-6, `step ${i}: ${la} vs ${l.item()}`);
        losses.push(la);
      }
      assert.ok(losses[7] < losses[0], `loss went down: ${losses}`);
      sameParams(a, b, 1e-6);
    });
  }

  it('fit() with nn.MSELoss and nn.BCEWithLogitsLoss', async () => {
    torch.manualSeed(4);
    for (const loss of [new nn.MSELoss(), new nn.BCEWithLogitsLoss({ posWeight: torch.tensor([2, 1, 1, 1], { dtype: 'float32' }) })]) {
      const model = new Net();
      const batches = Array.from({ length: 4 }, () => [torch.randn([6, 5, 3]), torch.rand([6, 4]).gt(0.5).to('float32')] as [torch.Tensor, torch.Tensor]);
      const history = await torch.fit({ model, loss, optimizer: new optim.Adam(model.parameters(), { lr: 1e-2 }), data: batches, epochs: 3 });
      assert.strictEqual(history.loss.length, 3);
      assert.ok(history.loss.every(Number.isFinite));
    }
  });
});

describe('loss errors', () => {
  captureWarnings();
  const x = torch.randn([4, 5]);
  const t = torch.tensor([1, 0, 4, 2], { dtype: 'int64' });
  const lp = torch.randn([12, 3, 6]).logSoftmax(2);
  const tg = torch.tensor([[1, 2, 3], [4, 5, 1], [2, 2, 2]], { dtype: 'int64' });

  it('tensors and shapes', () => {
    invalid(() => F.crossEntropy('x' as never, t), 'Expected a Tensor for input but received "x"');
    invalid(() => F.crossEntropy(x, [1, 2] as never), 'Expected a Tensor for target but received [1, 2]');
    invalid(() => F.crossEntropy(t, t), 'Expected a floating-point tensor for input but received an int64 Tensor of shape [4]');
    invalid(() => F.mseLoss(torch.randn([2, 3]), torch.randn([3, 2])),
      "Expected a tensor whose shape broadcasts with the input's shape [2, 3] for target but received a float32 Tensor of shape [3, 2]");
    invalid(() => F.crossEntropy(x, torch.rand([4, 4])),
      "Expected a floating-point tensor of shape [4, 5] (class probabilities, the input's shape) for target but received a float32 Tensor of shape [4, 4]");
    invalid(() => F.crossEntropy(x, t.to('int32')),
      'Expected an int64 tensor of class indices or a floating-point tensor of class probabilities for target but received an int32 Tensor of shape [4]');
    invalid(() => F.crossEntropy(x, t.unsqueeze(1)),
      'Expected an int64 tensor of shape [4] (class indices for an input of shape [4, 5]) for target but received an int64 Tensor of shape [4, 1]');
    invalid(() => F.crossEntropy(torch.randn([2, 5, 3]), torch.randint(0, 5, [2, 5])),
      'Expected an int64 tensor of shape [2, 3] (class indices for an input of shape [2, 5, 3]) for target but received an int64 Tensor of shape [2, 5]');
    invalid(() => F.nllLoss(x, torch.rand([4])), 'Expected an int64 tensor of class indices for target but received a float32 Tensor of shape [4]');
    invalid(() => F.binaryCrossEntropy(torch.rand([3, 4]), torch.rand([4])),
      "Expected a float32 tensor of shape [3, 4] (the input's dtype and shape) for target but received a float32 Tensor of shape [4]");
    invalid(() => F.binaryCrossEntropy(torch.rand([3, 4]), torch.rand([3, 4], { dtype: 'float64' })),
      "Expected a float32 tensor of shape [3, 4] (the input's dtype and shape) for target but received a float64 Tensor of shape [3, 4]");
    invalid(() => F.binaryCrossEntropyWithLogits(torch.rand([3, 4]), torch.rand([3, 1])),
      "Expected a tensor of shape [3, 4] (the input's shape) for target but received a float32 Tensor of shape [3, 1]");
    const dead = torch.randn([4, 5]);
    dead.dispose();
    invalid(() => F.crossEntropy(dead, t), 'Expected a live Tensor for input but received a disposed Tensor');
  });

  it('class indices, weights and options', () => {
    invalid(() => F.crossEntropy(x, torch.tensor([1, 7, 0, 0], { dtype: 'int64' })),
      'Expected class indices in [0, 4] or ignoreIndex (-100) for target but received an int64 Tensor of shape [4] containing 7');
    invalid(() => F.nllLoss(x, torch.tensor([1, -1, 0, 0], { dtype: 'int64' }), { ignoreIndex: 3 }),
      'Expected class indices in [0, 4] or ignoreIndex (3) for target but received an int64 Tensor of shape [4] containing -1');
    invalid(() => F.crossEntropy(x, t, { reduction: 'avg' as never }), 'Expected one of "none", "mean", "sum" for reduction but received "avg"');
    invalid(() => F.crossEntropy(x, t, { labelSmoothing: 1.5 }), 'Expected a number in [0, 1] for labelSmoothing but received 1.5');
    invalid(() => F.crossEntropy(x, t, { labelSmoothing: NaN }), 'Expected a number in [0, 1] for labelSmoothing but received NaN');
    invalid(() => F.crossEntropy(x, t, { weight: torch.ones([4]) }),
      "Expected a 1-D float32 tensor of 5 class weights (the input's dtype) for weight but received a float32 Tensor of shape [4]");
    invalid(() => F.nllLoss(x, t, { weight: torch.ones([5], { dtype: 'float64' }) }),
      "Expected a 1-D float32 tensor of 5 class weights (the input's dtype) for weight but received a float64 Tensor of shape [5]");
    invalid(() => F.crossEntropy(x, t, { ignoreIndex: 1.5 }), 'Expected an integer for ignoreIndex but received 1.5');
    invalid(() => F.crossEntropy(x, torch.rand([4, 5]), { ignoreIndex: 1 }),
      'Expected a negative ignoreIndex (class-probability targets ignore no class) for ignoreIndex but received 1');
    invalid(() => F.crossEntropy(x, t, { labelsmoothing: 0.1 } as never),
      'Expected one of the options weight, ignoreIndex, reduction, labelSmoothing for an option of options but received "labelsmoothing"');
    invalid(() => F.smoothL1Loss(x, x, { beta: -1 }), 'Expected a number >= 0 for beta but received -1');
    invalid(() => F.huberLoss(x, x, { delta: 0 }), 'Expected a number > 0 for delta but received 0');
    invalid(() => F.binaryCrossEntropy(torch.rand([3, 4]), torch.rand([3, 4]), { weight: torch.rand([5]) }),
      "Expected a tensor whose shape broadcasts to the input's shape [3, 4] for weight but received a float32 Tensor of shape [5]");
    invalid(() => F.binaryCrossEntropyWithLogits(torch.rand([3, 4]), torch.rand([3, 4]), { posWeight: torch.rand([3]) }),
      "Expected a tensor whose shape broadcasts to the input's shape [3, 4] for posWeight but received a float32 Tensor of shape [3]");
    invalid(() => new nn.CrossEntropyLoss({ reduction: 'avg' as never }), 'Expected one of "none", "mean", "sum" for reduction but received "avg"');
    invalid(() => new nn.NLLLoss({ weight: torch.ones([2, 2]) }), 'Expected a 1-D tensor of class weights or null for weight but received a float32 Tensor of shape [2, 2]');
    invalid(() => new nn.CrossEntropyLoss({ labelSmoothing: -0.1 }), 'Expected a number in [0, 1] for labelSmoothing but received -0.1');
    invalid(() => new nn.HuberLoss({ delta: -2 }), 'Expected a number > 0 for delta but received -2');
    invalid(() => new nn.CTCLoss({ zeroInfinity: 1 as never }), 'Expected a boolean for zeroInfinity but received 1');
    invalid(() => new nn.MSELoss({ beta: 1 } as never), 'Expected one of the options reduction for an option of options but received "beta"');
  });

  it('CTC arguments', () => {
    const ok = [12, 10, 11];
    const tl = [3, 3, 3];
    invalid(() => F.ctcLoss(torch.randn([12, 6]).sum(1), tg, ok, tl),
      'Expected a floating-point tensor of shape [T, N, C], or [T, C] unbatched for logProbs but received a float32 Tensor of shape [12]');
    invalid(() => F.ctcLoss(lp, tg.to('float32'), ok, tl), 'Expected an int64 or int32 tensor of class indices for targets but received a float32 Tensor of shape [3, 3]');
    invalid(() => F.ctcLoss(lp, tg.narrow(0, 0, 2), ok, tl),
      'Expected a tensor of shape [3, S] (padded) or a 1-D tensor (concatenated targets) for targets but received an int64 Tensor of shape [2, 3]');
    invalid(() => F.ctcLoss(lp, torch.tensor([[1, 2, 99], [1, 2, 3], [1, 1, 1]], { dtype: 'int64' }), ok, tl),
      'Expected class indices in [0, 5] (the last dimension of logProbs) for targets but received an int64 Tensor of shape [3, 3] containing 99');
    invalid(() => F.ctcLoss(lp, tg, ok, tl, { blank: 6 }), 'Expected an integer in [0, 5] for blank but received 6');
    invalid(() => F.ctcLoss(lp, tg, [13, 10, 11], tl), 'Expected lengths <= 12 (the length T of logProbs) for inputLengths but received [13, 10, 11]');
    invalid(() => F.ctcLoss(lp, tg, torch.tensor([12, 14, 1], { dtype: 'int64' }), tl),
      'Expected lengths <= 12 (the length T of logProbs) for inputLengths but received an int64 Tensor of shape [3] containing 14');
    invalid(() => F.ctcLoss(lp, tg, [12, 10], tl),
      'Expected an integer tensor of shape [3] or an array of 3 integers (one per batch element) for inputLengths but received [12, 10]');
    invalid(() => F.ctcLoss(lp, tg, ok, [3, -1, 3]), 'Expected an integer >= 0 for targetLengths but received -1');
    invalid(() => F.ctcLoss(lp, tg, ok, [3, 4, 3]), 'Expected lengths <= 3 (the padded length S of targets) for targetLengths but received [3, 4, 3]');
    invalid(() => F.ctcLoss(lp, tg.flatten(), ok, [3, 3, 2]),
      'Expected lengths that add up to 9 (the number of concatenated targets) for targetLengths but received [3, 3, 2]');
    invalid(() => F.ctcLoss(lp, tg, ok, torch.tensor([3, 3, 3], { dtype: 'float32' })),
      'Expected an integer tensor of shape [3] or an array of 3 integers (one per batch element) for targetLengths but received a float32 Tensor of shape [3]');
  });

  it("libtorch's own refusals arrive as ERR_TORCH, and the process lives on", () => {
    throwsTorch(() => F.binaryCrossEntropy(torch.tensor([0.5, 1.5]), torch.tensor([0, 1], { dtype: 'float32' })), 'ERR_TORCH', 'all elements of input should be between 0 and 1');
    // too large to read in JS: libtorch checks the class index
    const big = torch.zeros([70000], { dtype: 'int64' });
    big.index([5]).fill_(9);
    throwsTorch(() => F.nllLoss(torch.zeros([70000, 3]), big), 'ERR_TORCH', /Target 9 is out of bounds/);
    throwsTorch(() => F.l1Loss(torch.tensor([1, 2]), torch.tensor([0, 1])), 'ERR_TORCH', /mean\(\): could not infer output dtype/);
    assert.strictEqual(F.mseLoss(torch.ones([2]), torch.zeros([2])).item(), 1);
  });
});

// ---- random bad calls -------------------------------------------------------------------------------

describe('loss robustness', () => {
  captureWarnings();
  it('2,000 seeded random calls with bad arguments throw only TorchErrors, leak nothing, and the process lives on', function () {
    this.timeout(60000);
    const dead = torch.randn([2]);
    dead.dispose();
    const P = {
      f45: torch.randn([4, 5]), f4: torch.randn([4]), f34: torch.randn([3, 4]), d45: torch.randn([4, 5], { dtype: 'float64' }),
      p45: torch.rand([4, 5]), u34: torch.rand([3, 4]), out01: torch.tensor([0.5, 1.5, -1, 0.2]), f0: torch.randn([]), e05: torch.zeros([0, 5]),
      i4: torch.tensor([1, 0, 4, 2], { dtype: 'int64' }), i4bad: torch.tensor([1, 9, -7, 2], { dtype: 'int64' }), i32: torch.tensor([1, 0, 4, 2], { dtype: 'int32' }),
      b4: torch.tensor([true, false, true, false]), i0: torch.tensor(3, { dtype: 'int64' }), f253: torch.randn([2, 5, 3]), i23: torch.randint(0, 5, [2, 3]),
      nan: torch.full([4, 5], NaN), lp: torch.randn([12, 3, 6]).logSoftmax(2), lp2: torch.randn([12, 6]).logSoftmax(1),
      tg: torch.randint(1, 6, [3, 5]), tgBad: torch.randint(-3, 12, [3, 5]), tgCat: torch.randint(1, 6, [9]), len3: torch.tensor([12, 10, 11], { dtype: 'int64' }),
      lenBig: torch.tensor([40, 10, 11], { dtype: 'int64' }), lenNeg: torch.tensor([-1, 3, 3], { dtype: 'int64' }), lenF: torch.tensor([3, 3, 3], { dtype: 'float32' }),
      tl3: torch.tensor([3, 3, 3], { dtype: 'int32' }), h45: torch.randn([4, 5]).to('float16'), r4: torch.rand([4]), dead,
    };
    const tensors = Object.values(P);
    const junk: unknown[] = [undefined, null, 0, -1, 1.5, NaN, Infinity, 'mean', '', true, [], [1, 2], {}, { a: 1 }, () => 1, 10n, Symbol('s')];
    const anyArg = (r: Rng) => (r.next() < 0.8 ? r.pick(tensors) : r.pick(junk));
    const lengths: unknown[] = [[12, 10, 11], [3, 3, 3], [5, 2, 0], [12, 10], [13, 1, 1], [-1, 2, 2], [1.5, 2, 2], ['a', 1, 1], 12, 3, P.len3, P.lenBig, P.lenNeg, P.lenF, P.tl3, P.i4, null, 'x'];
    const optionValues: Record<string, unknown[]> = {
      reduction: ['mean', 'sum', 'none', 'avg', 1, null],
      weight: [null, P.f4, torch.ones([5]), torch.ones([5], { dtype: 'float64' }), torch.ones([3, 4]), P.i4, dead, 'w', [1, 2, 3, 4, 5]],
      posWeight: [null, torch.ones([4]), torch.ones([3]), P.f34, dead, 2],
      ignoreIndex: [-100, 0, 2, 9, -1, 1.5, NaN, '1'],
      labelSmoothing: [0, 0.1, 1, -0.1, 1.5, NaN, Infinity, '0.1'],
      beta: [0, 0.5, 1, -1, NaN, Infinity, 'b'],
      delta: [0, 0.5, 2, -1, NaN, 'd'],
      blank: [0, 5, 6, -1, 1.5, 'b'],
      zeroInfinity: [true, false, 0, 'yes'],
      bogus: [1],
    };
    const keys = Object.keys(optionValues);
    const randomOptions = (r: Rng): unknown => {
      const roll = r.next();
      if (roll < 0.1) return r.pick(junk);
      if (roll < 0.35) return {};
      const o: Record<string, unknown> = {};
      for (let i = r.int(3); i >= 0; i--) { const k = r.pick(keys); o[k] = r.pick(optionValues[k]); }
      return o;
    };
    const fns = Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[];
    // valid arguments, used for a third of the calls (then usually only an option is bad)
    const good: Record<keyof typeof FUNCTIONS, unknown[]> = {
      crossEntropy: [P.f45, P.i4], nllLoss: [P.f45, P.i4], mseLoss: [P.f34, P.u34], l1Loss: [P.f34, P.u34], smoothL1Loss: [P.f34, P.u34],
      huberLoss: [P.f34, P.u34], binaryCrossEntropy: [P.u34, P.u34], binaryCrossEntropyWithLogits: [P.f34, P.u34], ctcLoss: [P.lp, P.tg, [12, 10, 11], [5, 3, 4]],
    };
    // arguments that pass validation and that libtorch refuses (BCE input outside [0, 1], integer or half inputs on the CPU)
    const refused: Record<keyof typeof FUNCTIONS, unknown[]> = {
      crossEntropy: [P.h45, P.i4], nllLoss: [P.h45, P.i4], mseLoss: [P.b4, P.b4], l1Loss: [P.i4, P.i4], smoothL1Loss: [P.i4, P.i4],
      huberLoss: [P.b4, P.b4], binaryCrossEntropy: [P.out01, P.r4], binaryCrossEntropyWithLogits: [P.f4, P.i4], ctcLoss: [P.lp.to('float16'), P.tg, [12, 10, 11], [5, 3, 4]],
    };
    const rng = new Rng(0x1055);
    // one warm-up call of each so lazily created libtorch state is not counted as a leak
    torch.tidy(() => { F.crossEntropy(P.f45, P.i4); F.ctcLoss(P.lp, P.tg, [12, 10, 11], [3, 3, 3]); });
    const baseline = torch.memory();
    const failures: string[] = [];
    const codes: Record<string, number> = {};
    let ok = 0;
    for (let i = 0; i < 2000; i++) {
      const fn = rng.pick(fns);
      const asModule = rng.next() < 0.3;
      const kind = rng.next();
      const args = kind < 0.3 ? good[fn] : kind < 0.45 ? refused[fn] : fn === 'ctcLoss'
        ? [rng.next() < 0.6 ? rng.pick([P.lp, P.lp2]) : anyArg(rng), rng.next() < 0.6 ? rng.pick([P.tg, P.tgBad, P.tgCat, P.i4]) : anyArg(rng), rng.pick(lengths), rng.pick(lengths)]
        : [anyArg(rng), anyArg(rng)];
      const opts = randomOptions(rng);
      let module: torch.nn.Module | null = null;
      try {
        torch.tidy(() => {
          if (asModule) {
            module = new MODULES[fn](opts);
            (module as unknown as { forward(...a: unknown[]): torch.Tensor }).forward(...args);
          } else {
            callLoss(fn, args, opts);
          }
        });
        ok++;
      } catch (err) {
        if (!(err instanceof torch.TorchError)) failures.push(`#${i} ${fn}${asModule ? ' (module)' : ''}: ${String(err)}`);
        else {
          codes[err.code] = (codes[err.code] ?? 0) + 1;
          if (err.code !== 'ERR_INVALID_ARG' && err.code !== 'ERR_TORCH') failures.push(`#${i} ${fn}: code ${err.code}: ${err.message}`);
          if (err.code === 'ERR_INVALID_ARG' && !/^Expected [\s\S]+ for [\s\S]+ but received [\s\S]+$/.test(err.message)) failures.push(`#${i} ${fn}: message shape: ${err.message}`);
          if (err.code === 'ERR_TORCH' && /Exception raised from|\nframe #/.test(err.message)) failures.push(`#${i} ${fn}: backtrace in ${err.message}`);
        }
      } finally {
        (module as torch.nn.Module | null)?.dispose();
      }
    }
    assert.deepStrictEqual(failures.slice(0, 10), [], `${failures.length} calls failed the wrong way`);
    assert.ok((codes.ERR_INVALID_ARG ?? 0) >= 1000, JSON.stringify({ codes, ok }));
    assert.ok((codes.ERR_TORCH ?? 0) >= 50, JSON.stringify({ codes, ok }));
    assert.ok(ok >= 20, `only ${ok} calls succeeded: the generator should also make some valid calls`);
    assert.deepStrictEqual(torch.memory(), baseline);
    assert.strictEqual(F.mseLoss(torch.ones([2]), torch.zeros([2])).item(), 1);
  });
});

describe('ctcLoss in a traced trainStep', () => {
  captureWarnings();
  it('labels of later batches are checked in the graph: a bad label gives a NaN loss that is not applied, never a read outside logProbs', async () => {
    torch.manualSeed(3);
    const model = new nn.Linear(4, 5); // [T, N, 4] -> [T, N, 5] classes
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
    const loss = (out: torch.Tensor, t: torch.Tensor) => F.ctcLoss(out.logSoftmax(2), t, [6, 6], [2, 2]);
    const step = torch.trainStep({ model, loss, optimizer });
    assert.ok(step.traced);
    const x = torch.randn([6, 2, 4]);
    const good = torch.tensor([[1, 2, 0], [3, 4, 99]], { dtype: 'int64' }); // 99 is padding (beyond length 2)
    const first = await step(x, good);
    assert.ok(Number.isFinite(first));
    // the reference: the same call untraced
    const before = values(model.weight);
    const bad = torch.tensor([[1, 99, 0], [3, 4, 0]], { dtype: 'int64' });
    const l = await step(x, bad);
    assert.ok(Number.isNaN(l), `loss ${l}`);
    assert.deepStrictEqual(values(model.weight), before, 'the step with a bad label was not applied');
    const negative = torch.tensor([[1, 2, 0], [-3, 4, 0]], { dtype: 'int64' });
    assert.ok(Number.isNaN(await step(x, negative)));
    // and good labels after that train again, with the same numbers as untraced
    const again = await step(x, good);
    const ref = F.ctcLoss(model.forward(x).logSoftmax(2), good, [6, 6], [2, 2]).item() as number;
    assert.ok(Math.abs(again - ref) < 1e-4 * Math.max(1, Math.abs(ref)) || again > ref, `${again} vs ${ref}`);
  });
});
