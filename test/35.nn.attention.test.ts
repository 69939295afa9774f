// nn.MultiheadAttention and nn.functional's multiHeadAttentionForward (lib/nn/attention.ts)
// against PyTorch: every case of test/fixtures/torch-<line>/attention.json
// (scripts/gen-fixtures-attention.py) checks the seeded initial parameters, the repr and the
// state-dict keys, the output, the weights and the gradient of every input and parameter;
// then state dicts exchanged with PyTorch both ways, trainStep (traced == eager), dropout only
// in training, and bad input with exact messages.
import * as assert from 'assert';
import * as child_process from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { libtorchLine, libtorchVersion } from '../lib/compat';
import { assertMatches, byLine, CROSS_CPU_TOL, Encoded, fixturePath, fromFixture, invalid, loadFixture, sameParams, suiteTmpDir, throwsTorch, tolerance, Tolerance, values, warningsOf } from './helpers';

const { nn } = torch;
const { multiHeadAttentionForward } = nn.functional;
const PYTHON = '/usr/bin/python3';

interface Ctor { embedDim: number; numHeads: number; dropout?: number; bias?: boolean; addBiasKv?: boolean; addZeroAttn?: boolean; kdim?: number; vdim?: number; batchFirst?: boolean }
interface Case {
  name: string; seed: number; ctor: Ctor; init: Record<string, Encoded>; keys: string[]; repr: string; dtype: 'float32' | 'float64';
  inputs: { query: Encoded; key: Encoded | 'query'; value: Encoded | 'query' | 'key' };
  options: { keyPaddingMask?: Encoded; attnMask?: Encoded; needWeights: boolean; averageAttnWeights: boolean; isCausal?: boolean };
  training: boolean; noGrad: boolean; forwardSeed: number | null; fastPath: boolean;
  output: Encoded; weights: Encoded | null; projection: Encoded | null; projectionWeights: Encoded | null; grads: Record<string, Encoded> | null;
}
interface Exchange { ctor: Ctor; file: string; keys: string[]; state: Record<string, Encoded>; inputs: { query: Encoded; key: Encoded; value: Encoded }; output: Encoded; weights: Encoded }
const FX = loadFixture<{ torch: string; cases: Case[]; exchange: Exchange }>('attention.json');

const build = (c: Ctor) => {
  const { embedDim, numHeads, ...opts } = c;
  return new nn.MultiheadAttention(embedDim, numHeads, opts);
};

/** The fast path (a fused kernel) rounds differently from the composed operators. */
const FAST_PATH_TOL: Tolerance = { rtol: 1e-10, atol: 1e-12 };

describe(`nn.MultiheadAttention against PyTorch ${FX.torch} (${FX.cases.length} cases)`, () => {
  it('the fixtures cover the grid', () => {
    const names = FX.cases.map((c) => c.name);
    for (const n of ['self', 'self_batch_first', 'cross_kv_same', 'cross_separate', 'kdim_vdim', 'bias_off', 'add_bias_kv', 'add_zero_attn',
      'kpm_bool', 'kpm_float', 'attn_bool_2d', 'attn_float_2d', 'attn_bool_3d', 'attn_float_3d', 'both_bool', 'no_weights', 'per_head',
      'unbatched_self', 'unbatched_cross_masks', 'dropout_train', 'dropout_eval', 'fast_path_candidate']) {
      assert.ok(names.includes(n), n);
    }
    assert.ok(FX.cases.length >= byLine({ '1.13': 46, '2.6': 50 }));
  });

  for (const c of FX.cases) {
    const note = c.fastPath ? ' (PyTorch took its fast path)' : '';
    it(`${c.name}: initial parameters, repr, keys, output, weights${c.grads ? ', gradients' : ''}${note}`, () => {
      torch.manualSeed(c.seed);
      const m = build(c.ctor);
      const sd = m.stateDict();
      assert.deepStrictEqual(Object.keys(sd), c.keys, 'state-dict keys');
      for (const k of c.keys) assertMatches(sd[k], c.init[k], `initial ${k}`);
      assert.strictEqual(String(m), c.repr);
      m.to(c.dtype).train(c.training);
      const grad = !c.noGrad;
      const q = fromFixture(c.inputs.query, grad);
      const k = c.inputs.key === 'query' ? q : fromFixture(c.inputs.key, grad);
      const v = c.inputs.value === 'query' ? q : c.inputs.value === 'key' ? k : fromFixture(c.inputs.value, grad);
      const o = c.options;
      const opts: torch.nn.MultiheadAttentionForwardOptions = { needWeights: o.needWeights, averageAttnWeights: o.averageAttnWeights };
      if (o.keyPaddingMask) opts.keyPaddingMask = fromFixture(o.keyPaddingMask);
      if (o.attnMask) opts.attnMask = fromFixture(o.attnMask);
      if (o.isCausal !== undefined) opts.isCausal = o.isCausal;
      if (c.forwardSeed !== null) torch.manualSeed(c.forwardSeed);
      const [out, w] = c.noGrad ? torch.noGrad(() => m.forward(q, k, v, opts)) : m.forward(q, k, v, opts);
      const tol = c.fastPath ? FAST_PATH_TOL : tolerance(c.dtype);
      assertMatches(out, c.output, 'output', tol);
      if (c.weights === null) assert.strictEqual(w, null, 'weights');
      else assertMatches(w!, c.weights, 'weights', tol);
      if (!c.grads) return;
      let total = out.mul(fromFixture(c.projection!)).sum();
      if (w !== null) total = total.add(w.mul(fromFixture(c.projectionWeights!)).sum());
      total.backward();
      const params = new Map(m.namedParameters());
      const inputs: Record<string, torch.Tensor> = { query: q, key: k, value: v };
      const names = Object.keys(c.grads);
      assert.deepStrictEqual(names.filter((n) => !(n in inputs)), [...params.keys()], 'every parameter has a gradient in the fixture');
      for (const n of names) {
        const t = inputs[n] ?? params.get(n)!;
        assert.ok(t.grad !== null, `${n} has a gradient`);
        // (the parameters' gradients sum over every row in a BLAS product: CROSS_CPU_TOL in float32)
        assertMatches(t.grad!, c.grads[n], `grad ${n}`, c.dtype === 'float32' && !c.fastPath && params.has(n) ? CROSS_CPU_TOL : tol);
      }
    });
  }
});

describe('nn.functional.multiHeadAttentionForward', () => {
  const run = (ctor: Ctor, qs: number[], ks: number[], vs: number[], opts: torch.nn.MultiheadAttentionForwardOptions = {}) => {
    torch.manualSeed(3);
    const m = build(ctor).to('float64');
    const q = torch.randn(qs, { dtype: 'float64' });
    const k = torch.randn(ks, { dtype: 'float64' });
    const v = ks === vs ? k : torch.randn(vs, { dtype: 'float64' });
    const [o1, w1] = m.forward(q, k, v, opts);
    const sep = m.in_proj_weight === null;
    const [o2, w2] = multiHeadAttentionForward(q, k, v, m.embedDim, m.numHeads, m.in_proj_weight, m.in_proj_bias, m.bias_k, m.bias_v,
      m.addZeroAttn, 0, m.out_proj.weight, m.out_proj.bias ?? null,
      { ...opts, useSeparateProjWeight: sep, qProjWeight: m.q_proj_weight, kProjWeight: m.k_proj_weight, vProjWeight: m.v_proj_weight });
    return { o1, w1, o2, w2, q, k, v, m };
  };

  it("is what the module computes with its parameters (packed and separate projections, masks)", () => {
    const mask = torch.tensor([[false, true, false, false], [false, false, false, true], [true, false, false, false]]);
    for (const [ctor, ks, vs] of [
      [{ embedDim: 8, numHeads: 2 }, [4, 2, 8], [4, 2, 8]],
      [{ embedDim: 8, numHeads: 4, kdim: 5, vdim: 6, addBiasKv: true, addZeroAttn: true }, [4, 2, 5], [4, 2, 6]],
    ] as [Ctor, number[], number[]][]) {
      const { o1, w1, o2, w2 } = run(ctor, [3, 2, 8], ks, vs, { attnMask: mask });
      assert.deepStrictEqual(values(o2), values(o1));
      assert.deepStrictEqual(values(w2!), values(w1!));
    }
  });

  it('takes Python\'s positional form and staticK / staticV (projected keys and values used as given)', () => {
    const { q, k, m } = run({ embedDim: 8, numHeads: 2 }, [3, 2, 8], [4, 2, 8], [4, 2, 8]);
    const sk = torch.randn([4, 5, 4], { dtype: 'float64' });
    const sv = torch.randn([4, 5, 4], { dtype: 'float64' });
    const [out, w] = multiHeadAttentionForward(q, k, k, 8, 2, m.in_proj_weight, m.in_proj_bias, null, null, false, 0, m.out_proj.weight, m.out_proj.bias ?? null,
      { staticK: sk, staticV: sv, keyPaddingMask: torch.zeros([2, 5], { dtype: 'bool' }) });
    assert.deepStrictEqual(out.shape, [3, 2, 8]);
    assert.deepStrictEqual(w!.shape, [2, 3, 5]);
    // by hand: the query's projection against the static keys
    const [wq] = m.in_proj_weight!.chunk(3);
    const [bq] = m.in_proj_bias!.chunk(3);
    const qp = q.matmul(wq.t()).add(bq).contiguous().view(3, 4, 4).transpose(0, 1);
    const p = qp.div(2).bmm(sk.transpose(1, 2)).softmax(-1);
    const want = p.view(2, 2, 3, 5).mean(1);
    values(w!).forEach((x, i) => assert.ok(Math.abs(x - values(want)[i]) < 1e-12, `w[${i}]`));
  });

  it('bad arguments name the argument', () => {
    const { q, k, m } = run({ embedDim: 8, numHeads: 2 }, [3, 2, 8], [4, 2, 8], [4, 2, 8]);
    const W = m.in_proj_weight;
    const B = m.in_proj_bias;
    const O = m.out_proj.weight;
    invalid(() => multiHeadAttentionForward(q, k, k, 8, 3, W, B, null, null, false, 0, O, null), 'Expected an embedDim divisible by numHeads (3) for embedDimToCheck but received 8');
    invalid(() => multiHeadAttentionForward(q, k, k, 6, 2, W, B, null, null, false, 0, O, null), 'Expected a tensor whose last dimension is 6 (embedDim) for query but received a float64 Tensor of shape [3, 2, 8]');
    invalid(() => multiHeadAttentionForward(q, k, k, 8, 2, null, B, null, null, false, 0, O, null), 'Expected a tensor of shape [24, 8] for inProjWeight but received null');
    invalid(() => multiHeadAttentionForward(q, k, k, 8, 2, W, B, m.in_proj_bias, null, false, 0, O, null), 'Expected a tensor (biasK and biasV come together) for biasV but received null');
    invalid(() => multiHeadAttentionForward(q, k, k, 8, 2, W, B, null, null, false, 1.5, O, null), 'Expected a probability in [0, 1] for dropoutP but received 1.5');
    invalid(() => multiHeadAttentionForward(q, k, k, 8, 2, W, B, null, null, false, 0, O, null, { useSeparateProjWeight: true }), 'Expected a tensor of shape [8, 8] for qProjWeight but received null');
    invalid(() => multiHeadAttentionForward(q, k, k, 8, 2, W, B, null, null, false, 0, O, null, { staticK: torch.zeros([4, 5, 3], { dtype: 'float64' }) }),
      'Expected a tensor of shape [4, S, 4] (batch size × numHeads, any length, headDim) for staticK but received a float64 Tensor of shape [4, 5, 3]');
    invalid(() => multiHeadAttentionForward(q, k, k, 8, 2, W, B, null, null, false, 0, O, null, { bogus: 1 } as never),
      'Expected one of the options key, value, embedDimToCheck, numHeads, inProjWeight, inProjBias, biasK, biasV, addZeroAttn, dropoutP, outProjWeight, outProjBias, training, keyPaddingMask, needWeights, attnMask, useSeparateProjWeight, qProjWeight, kProjWeight, vProjWeight, staticK, staticV, averageAttnWeights, isCausal for an option of torch.nn.functional.multi_head_attention_forward but received "bogus"');
  });

  it(`scaledDotProductAttention ${byLine({ '1.13': 'is not in libtorch 1.13', '2.6': 'is libtorch 2.6\'s' })}`, () => {
    const q = torch.randn([1, 2, 3, 4]);
    if (libtorchLine === '1.13') {
      throwsTorch(() => torch.nn.functional.scaledDotProductAttention(q, q, q), 'ERR_UNSUPPORTED',
        `torch.nn.functional.scaled_dot_product_attention is not available in libtorch ${libtorchVersion}; libtorch 2.6 has it`);
    } else {
      const want = q.matmul(q.transpose(-2, -1)).div(2).softmax(-1).matmul(q);
      values(torch.nn.functional.scaledDotProductAttention(q, q, q)).forEach((x, i) => assert.ok(Math.abs(x - values(want)[i]) < 1e-5));
    }
  });
});

describe('nn.MultiheadAttention state dicts exchanged with PyTorch', () => {
  const dir = suiteTmpDir('trnn-mha-');
  const ex = FX.exchange;

  it('a state dict PyTorch wrote (torch.save) loads, and the module computes PyTorch\'s output', () => {
    const m = build(ex.ctor);
    m.load(fixturePath(ex.file));
    const sd = m.stateDict();
    assert.deepStrictEqual(Object.keys(sd), ex.keys);
    for (const k of ex.keys) assertMatches(sd[k], ex.state[k], k, { rtol: 0, atol: 0 });
    m.eval();
    const [out, w] = torch.noGrad(() => m.forward(fromFixture(ex.inputs.query), fromFixture(ex.inputs.key), fromFixture(ex.inputs.value)));
    assertMatches(out, ex.output, 'output');
    assertMatches(w!, ex.weights, 'weights');
  });

  it('PyTorch loads what torchrnn writes (load_state_dict strict) and computes the same output', function () {
    this.timeout(120000);
    const probe = fs.existsSync(PYTHON) ? child_process.spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120000 }) : null;
    if (!probe || probe.status !== 0) {
      console.log(`      (skipped: ${PYTHON} cannot import torch; install python3-torch to run the Python side)`);
      this.skip();
    }
    torch.manualSeed(21);
    const m = new nn.MultiheadAttention(8, 2, { kdim: 5, vdim: 6, addBiasKv: true, batchFirst: true }).eval();
    torch.noGrad(() => { for (const p of m.parameters()) p.add_(torch.randnLike(p).mul(0.1)); });
    const q = torch.randn([2, 3, 8]);
    const k = torch.randn([2, 4, 5]);
    const v = torch.randn([2, 4, 6]);
    const mask = torch.tensor([[false, false, true, false], [false, false, false, false]]);
    const [out, w] = torch.noGrad(() => m.forward(q, k, v, { keyPaddingMask: mask }));
    const file = path.join(dir(), 'mha.pt');
    torch.save({ state: m.stateDict(), query: q, key: k, value: v, mask, output: out, weights: w! }, file);
    const script = [
      'import sys, torch',
      'd = torch.load(sys.argv[1])',
      'm = torch.nn.MultiheadAttention(8, 2, kdim=5, vdim=6, add_bias_kv=True, batch_first=True)',
      'm.load_state_dict(d["state"], strict=True)',
      'm.eval()',
      'with torch.no_grad():',
      '    out, w = m(d["query"], d["key"], d["value"], key_padding_mask=d["mask"])',
      'assert torch.allclose(out, d["output"], rtol=1e-5, atol=1e-6), (out - d["output"]).abs().max()',
      'assert torch.allclose(w, d["weights"], rtol=1e-5, atol=1e-6), (w - d["weights"]).abs().max()',
      'print("OK", ",".join(d["state"].keys()))',
    ].join('\n');
    const r = child_process.spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8', timeout: 120000 });
    assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.strictEqual(r.stdout.trim(), 'OK q_proj_weight,k_proj_weight,v_proj_weight,in_proj_bias,bias_k,bias_v,out_proj.weight,out_proj.bias');
  });
});

class AttnModel extends nn.Module {
  attn = new nn.MultiheadAttention(8, 2, { batchFirst: true });
  head = new nn.Linear(8, 1);
  _mask = torch.tensor([[false, true, true, true, true], [false, false, true, true, true], [false, false, false, true, true], [false, false, false, false, true], [false, false, false, false, false]]);
  forward(x: torch.Tensor): torch.Tensor {
    const [o] = this.attn.forward(x, x, x, { attnMask: this._mask, needWeights: false });
    const [o2, w] = this.attn.forward(o, x, x);
    return this.head.forward(o2.add(w!.sum(-1, true)).mean(1));
  }
}

describe('nn.MultiheadAttention in a model', () => {
  it('trainStep: traced and eager training give the same losses and parameters', async () => {
    torch.manualSeed(8);
    const a = new AttnModel();
    torch.manualSeed(8);
    const b = new AttnModel();
    sameParams(a, b);
    const mse = (y: torch.Tensor, t: torch.Tensor) => torch.nn.functional.mseLoss(y, t);
    const stepA = torch.trainStep({ model: a, loss: mse, optimizer: new torch.optim.Adam(a.parameters(), { lr: 1e-2 }) });
    const stepB = torch.trainStep({ model: b, loss: mse, optimizer: new torch.optim.Adam(b.parameters(), { lr: 1e-2 }), trace: false });
    const losses: number[] = [];
    torch.manualSeed(9);
    const x = torch.randn([4, 5, 8]);
    const y = torch.randn([4, 1]);
    for (let i = 0; i < 8; i++) {
      const la = await stepA(x, y);
      const lb = await stepB(x, y);
      assert.ok(Math.abs(la - lb) <= 1e-6 * Math.max(1, Math.abs(lb)), `step ${i}: ${la} vs ${lb}`);
      losses.push(la);
    }
    assert.strictEqual(stepA.traced, true);
    assert.ok(losses[losses.length - 1] < losses[0], `the loss falls: ${losses.join(', ')}`);
    sameParams(a, b, 1e-5);
  });

  it('forwardAsync gives forward()\'s result', async () => {
    const m = new nn.MultiheadAttention(8, 2).eval();
    const x = torch.randn([3, 2, 8]);
    const [o, w] = await m.forwardAsync(x, x, x);
    const [o2, w2] = m.forward(x, x, x);
    assert.deepStrictEqual(values(o), values(o2));
    assert.deepStrictEqual(values(w!), values(w2!));
  });

  it('dropout acts in training mode only', () => {
    torch.manualSeed(4);
    const m = new nn.MultiheadAttention(8, 2, { dropout: 0.5 });
    torch.manualSeed(4);
    const plain = new nn.MultiheadAttention(8, 2);
    sameParams(m, plain);
    const x = torch.randn([6, 3, 8]);
    // eval: no dropout, the module without dropout's results
    m.eval();
    plain.eval();
    const [e1, ew1] = m.forward(x, x, x);
    const [e2] = m.forward(x, x, x);
    const [p1, pw1] = plain.forward(x, x, x, { averageAttnWeights: false });
    assert.deepStrictEqual(values(e1), values(e2));
    assert.deepStrictEqual(values(e1), values(plain.forward(x, x, x)[0]));
    assert.deepStrictEqual(values(ew1!), values(plain.forward(x, x, x)[1]!));
    // training: each weight is dropped (0) or scaled by 1 / (1 - p); draws differ between calls
    m.train();
    const [t1, tw] = m.forward(x, x, x, { averageAttnWeights: false });
    const [t2] = m.forward(x, x, x);
    assert.notDeepStrictEqual(values(t1), values(p1));
    assert.notDeepStrictEqual(values(t1), values(t2));
    const kept = values(tw!);
    const base = values(pw1!);
    let dropped = 0;
    kept.forEach((x2, i) => {
      if (x2 === 0) dropped++;
      else assert.ok(Math.abs(x2 - 2 * base[i]) < 1e-6, `weight ${i}: ${x2} vs 2 × ${base[i]}`);
    });
    assert.ok(dropped > kept.length * 0.3 && dropped < kept.length * 0.7, `${dropped} of ${kept.length} dropped`);
    // the same seed, the same draws
    torch.manualSeed(12);
    const [s1] = m.forward(x, x, x);
    torch.manualSeed(12);
    const [s2] = m.forward(x, x, x);
    assert.deepStrictEqual(values(s1), values(s2));
  });
});

describe('nn.MultiheadAttention bad input', () => {
  it('constructor options', () => {
    invalid(() => new nn.MultiheadAttention(0, 1), 'Expected an integer >= 1 for embedDim but received 0');
    invalid(() => new nn.MultiheadAttention(8, 0), 'Expected an integer >= 1 for numHeads but received 0');
    invalid(() => new nn.MultiheadAttention(8, 3), 'Expected an embedDim divisible by numHeads (3) for embedDim but received 8');
    invalid(() => new nn.MultiheadAttention(8, 2, { dropout: 1.5 }), 'Expected a probability in [0, 1] for dropout but received 1.5');
    invalid(() => new nn.MultiheadAttention(8, 2, { kdim: 0 }), 'Expected an integer >= 1 for kdim but received 0');
    invalid(() => new nn.MultiheadAttention(8, 2, { vdim: 2.5 }), 'Expected an integer >= 1 for vdim but received 2.5');
    invalid(() => new nn.MultiheadAttention(8, 2, { bias: 1 as never }), 'Expected a boolean for bias but received 1');
    invalid(() => new nn.MultiheadAttention(8, 2, { batchFirst: 'yes' as never }), 'Expected a boolean for batchFirst but received "yes"');
    invalid(() => new nn.MultiheadAttention(8, 2, { heads: 2 } as never),
      'Expected one of the options dropout, bias, addBiasKv, addZeroAttn, kdim, vdim, batchFirst for an option of options but received "heads"');
  });

  it('forward: ranks, sizes, dtypes, masks', () => {
    const m = new nn.MultiheadAttention(8, 2, { kdim: 5, vdim: 6 });
    const q = torch.randn([3, 2, 8]);
    const k = torch.randn([4, 2, 5]);
    const v = torch.randn([4, 2, 6]);
    invalid(() => m.forward(torch.randn([1, 3, 2, 8]), k, v), 'Expected a 2-D (unbatched) or 3-D (batched) tensor for query but received a float32 Tensor of shape [1, 3, 2, 8]');
    invalid(() => m.forward(q, torch.randn([4, 5]), v), 'Expected a 3-D tensor (as the query is) for key but received a float32 Tensor of shape [4, 5]');
    invalid(() => m.forward(q, k, torch.randn([4, 2, 5])), 'Expected a tensor whose last dimension is 6 (vdim) for value but received a float32 Tensor of shape [4, 2, 5]');
    invalid(() => m.forward(q, torch.randn([4, 2, 8]), v), 'Expected a tensor whose last dimension is 5 (kdim) for key but received a float32 Tensor of shape [4, 2, 8]');
    invalid(() => m.forward(torch.randn([3, 2, 6]), k, v), 'Expected a tensor whose last dimension is 8 (embedDim) for query but received a float32 Tensor of shape [3, 2, 6]');
    invalid(() => m.forward(q, torch.randn([4, 3, 5]), v), "Expected a tensor with the query's batch size (2) for key but received a float32 Tensor of shape [4, 3, 5]");
    invalid(() => m.forward(q, k, torch.randn([5, 2, 6])), "Expected a tensor with the key's sequence length (4) for value but received a float32 Tensor of shape [5, 2, 6]");
    invalid(() => m.forward(q.double(), k, v), "Expected a float32 tensor (the module's dtype) for query but received a float64 Tensor of shape [3, 2, 8]");
    invalid(() => m.forward(q, k.double(), v), "Expected a float32 tensor (the query's dtype) for key but received a float64 Tensor of shape [4, 2, 5]");
    invalid(() => m.forward(q, k, v, { keyPaddingMask: torch.zeros([2, 4], { dtype: 'int64' }) }), "Expected a bool or float32 (the query's dtype) tensor for keyPaddingMask but received an int64 Tensor of shape [2, 4]");
    invalid(() => m.forward(q, k, v, { keyPaddingMask: torch.zeros([4, 2], { dtype: 'bool' }) }), "Expected a tensor of shape [2, 4] (batch size, the key's sequence length) for keyPaddingMask but received a bool Tensor of shape [4, 2]");
    invalid(() => m.forward(q, k, v, { attnMask: torch.zeros([4, 3], { dtype: 'bool' }) }),
      "Expected a tensor of shape [3, 4] or [4, 3, 4] (batch size × numHeads, the query's and the key's sequence lengths) for attnMask but received a bool Tensor of shape [4, 3]");
    invalid(() => m.forward(q, k, v, { attnMask: torch.zeros([2, 3, 4]) }),
      "Expected a tensor of shape [3, 4] or [4, 3, 4] (batch size × numHeads, the query's and the key's sequence lengths) for attnMask but received a float32 Tensor of shape [2, 3, 4]");
    invalid(() => m.forward(q, k, v, { attnMask: torch.zeros([3, 4], { dtype: 'float64' }) }), "Expected a bool or float32 (the query's dtype) tensor for attnMask but received a float64 Tensor of shape [3, 4]");
    invalid(() => m.forward(q, k, v, { needWeights: 0 as never }), 'Expected a boolean for needWeights but received 0');
    invalid(() => m.forward(q, k, v, { mask: null } as never),
      'Expected one of the options keyPaddingMask, needWeights, attnMask, averageAttnWeights, isCausal for an option of options but received "mask"');
    // unbatched: [S] padding masks, [numHeads, L, S] 3-D masks
    const qu = torch.randn([3, 8]);
    invalid(() => m.forward(qu, torch.randn([4, 5]), torch.randn([4, 6]), { keyPaddingMask: torch.zeros([1, 4], { dtype: 'bool' }) }),
      "Expected a tensor of shape [4] (the key's sequence length) for keyPaddingMask but received a bool Tensor of shape [1, 4]");
    invalid(() => m.forward(qu, torch.randn([4, 5]), torch.randn([4, 6]), { attnMask: torch.zeros([4, 3, 4], { dtype: 'bool' }) }),
      "Expected a tensor of shape [3, 4] or [2, 3, 4] (numHeads, the query's and the key's sequence lengths) for attnMask but received a bool Tensor of shape [4, 3, 4]");
    invalid(() => m.forward(q.int(), k, v), "Expected a float32 tensor (the module's dtype) for query but received an int32 Tensor of shape [3, 2, 8]");
  });

  it(`isCausal ${byLine({ '1.13': 'is not in libtorch 1.13', '2.6': 'needs attnMask' })}`, () => {
    const m = new nn.MultiheadAttention(8, 2);
    const x = torch.randn([3, 2, 8]);
    if (libtorchLine === '1.13') {
      throwsTorch(() => m.forward(x, x, x, { isCausal: true }), 'ERR_UNSUPPORTED',
        `options.isCausal of torch.nn.MultiheadAttention.forward is not available in libtorch ${libtorchVersion}; libtorch 2.6 has it`);
    } else {
      invalid(() => m.forward(x, x, x, { isCausal: true, needWeights: false }),
        'Expected a mask when isCausal is true (isCausal is a hint that attnMask is the causal mask; it does not replace it) for attnMask but received null');
      invalid(() => m.forward(x, x, x, { isCausal: 1 as never, attnMask: torch.zeros([3, 3]) }), 'Expected a boolean for isCausal but received 1');
    }
  });

  it(`a bool and a float mask together ${byLine({ '1.13': 'merge without a warning, as in PyTorch 1.13', '2.6': "warn once, as PyTorch 2.x's deprecation" })}`, async () => {
    const m = new nn.MultiheadAttention(8, 2);
    const x = torch.randn([3, 2, 8]);
    const seen = await warningsOf(() => m.forward(x, x, x, { keyPaddingMask: torch.zeros([2, 3], { dtype: 'bool' }), attnMask: torch.zeros([3, 3]) }));
    assert.deepStrictEqual(seen, byLine({ '1.13': [], '2.6': ['Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type for both instead.'] }));
  });

  it('a disposed module or input', () => {
    const m = new nn.MultiheadAttention(8, 2);
    const x = torch.randn([3, 2, 8]);
    const d = torch.randn([3, 2, 8]);
    d.dispose();
    invalid(() => m.forward(x, d, x), 'Expected a live Tensor for key but received a disposed Tensor');
    m.dispose();
    invalid(() => m.forward(x, x, x), 'Expected a live module for module but received "a disposed MultiheadAttention"');
  });
});
