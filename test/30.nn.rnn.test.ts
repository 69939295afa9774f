// RNN, LSTM, GRU, their cells and the layers against PyTorch 1.13: outputs, final states and
// the gradients of the inputs and of every parameter (fixtures from scripts/gen-fixtures.py).
import * as assert from 'assert';
import * as torch from '../lib';
import { assertMatches, Encoded, fromFixture, loadFixture } from './helpers';
import { construct, ModuleCase, moduleFor, runCase } from './nn-fixtures';

const fixture = loadFixture<{ cases: ModuleCase[]; inits: { kind: string; options: Record<string, unknown>; seed: number; stateDict: Record<string, Encoded> }[] }>('nn.json');

function checkCase(c: ModuleCase, m: torch.nn.Module, outs: torch.Tensor[], inputs: Record<string, torch.Tensor>): void {
  assert.strictEqual(outs.length, c.outputs.length, 'number of outputs');
  outs.forEach((o, i) => assertMatches(o, c.outputs[i], `output ${i}`));
  const loss = outs.map((o, i) => o.mul(fromFixture(c.projections[i])).sum()).reduce((a, b) => a.add(b));
  const gradInputs = Object.keys(c.inputGrads);
  const params = m.namedParameters();
  assert.deepStrictEqual(params.map(([n]) => n), Object.keys(c.paramGrads), 'parameter names and order');
  const grads = torch.autograd.grad(loss, [...gradInputs.map((k) => inputs[k]), ...params.map(([, p]) => p)], { allowUnused: true });
  gradInputs.forEach((k, i) => assertMatches(grads[i]!, c.inputGrads[k]!, `grad of ${k}`));
  params.forEach(([n], i) => {
    const want = c.paramGrads[n];
    const got = grads[gradInputs.length + i];
    if (want === null) assert.strictEqual(got, null, `grad of ${n}`);
    else assertMatches(got!, want, `grad of ${n}`);
  });
}

describe('nn modules match PyTorch (outputs, states, input and parameter gradients)', () => {
  it('covers the grid', () => {
    const names = fixture.cases.map((c) => c.name);
    for (const kind of ['rnn_tanh', 'rnn_relu', 'lstm', 'gru']) {
      for (const l of [1, 2, 3]) assert.ok(names.some((n) => n.startsWith(`${kind}_l${l}_bi_bf`)), `${kind} ${l} layers`);
      for (const s of ['nobias', 'h0', 'dropout_eval', 'lengths', 'lengths_h0', 'unbatched', 'f64']) assert.ok(names.includes(`${kind}_${s}`), `${kind}_${s}`);
    }
    assert.ok(names.includes('lstm_proj_bi') && names.includes('lstm_proj_h0_lengths'));
    assert.ok(fixture.cases.length >= 100);
  });

  fixture.cases.forEach((c, index) => {
    it(c.name, () => {
      torch.tidy(() => {
        const m = moduleFor(c);
        const { outs, inputs } = runCase(c, m, index % 2 === 0);
        checkCase(c, m, outs as torch.Tensor[], inputs);
      });
    });
  });

  for (const name of ['lstm_lengths_h0', 'gru_f64', 'rnn_relu_lengths_bi_bf', 'lstmcell_state', 'sequential', 'linear']) {
    it(`forwardAsync gives the same results: ${name}`, async () => {
      const c = fixture.cases.find((x) => x.name === name)!;
      const m = moduleFor(c);
      const { outs, inputs } = runCase(c, m, false, true);
      assert.ok(outs instanceof Promise);
      checkCase(c, m, await outs, inputs);
    });
  }
});

describe('initialization matches PyTorch after manualSeed', () => {
  for (const init of fixture.inits) {
    it(`${init.kind} ${JSON.stringify(init.options)}`, () => {
      torch.manualSeed(init.seed);
      const m = construct(init.kind, init.options);
      const sd = m.stateDict();
      assert.deepStrictEqual(Object.keys(sd), Object.keys(init.stateDict));
      for (const [k, v] of Object.entries(init.stateDict)) assertMatches(sd[k], v, k);
    });
  }
});
