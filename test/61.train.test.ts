// trainStep (traced and untraced), fit(), evaluate(), predict() (lib/train/). The models and data
// they train: test/models.ts; jit.trace: test/55; DataLoader: test/60; checkpoints: test/62;
// trainStep({ amp }): test/63.
import * as assert from 'assert';
import * as torch from '../lib';
import { sameParams, throwsTorch, values } from './helpers';
import { Classifier, nll, sequences, twin } from './models';

const { nn, optim, data } = torch;

describe('trainStep', () => {
  it('traced and untraced training give the same parameters after 20 steps', async () => {
    const [a, b] = twin();
    const stepA = torch.trainStep({ model: a, loss: nll, optimizer: new optim.Adam(a.parameters(), { lr: 1e-2 }), clipGradNorm: 1 });
    const stepB = torch.trainStep({ model: b, loss: nll, optimizer: new optim.Adam(b.parameters(), { lr: 1e-2 }), clipGradNorm: 1, trace: false });
    assert.strictEqual(stepA.traced, true);
    assert.strictEqual(stepB.traced, false);
    torch.manualSeed(5);
    for (let i = 0; i < 20; i++) {
      const x = torch.randn([6, 7, 4]);
      const y = torch.randint(0, 3, [6]);
      const [la, lb] = await Promise.all([stepA(x, y), stepB(x, y)]);
      assert.strictEqual(la, lb, `loss at step ${i}`);
    }
    sameParams(a, b);
  });

  it('equals the PyTorch-style loop: zeroGrad, forward, loss, backward, clip, step', async () => {
    const [a, b] = twin();
    const optA = new optim.SGD(a.parameters(), { lr: 0.1, momentum: 0.9 });
    const optB = new optim.SGD(b.parameters(), { lr: 0.1, momentum: 0.9 });
    const step = torch.trainStep({ model: a, loss: nll, optimizer: optA, clipGradNorm: 0.5 });
    torch.manualSeed(6);
    for (let i = 0; i < 10; i++) {
      const x = torch.randn([5, 6, 4]);
      const y = torch.randint(0, 3, [5]);
      const la = await step(x, y);
      optB.zeroGrad();
      const l = nll(b.forward(x), y);
      l.backward();
      torch.nn.utils.clipGradNorm_(b.parameters(), 0.5);
      optB.step();
      assert.ok(Math.abs(la - (l.item() as number)) < 1e-6);
    }
    sameParams(a, b, 1e-6);
  });

  it('variable-length batches: traced (lengths as a graph input) and untraced agree', async () => {
    const [a, b] = twin();
    const loader = new data.DataLoader(sequences(24, 1), { batchSize: 6, shuffle: true, seed: 3 });
    const stepA = torch.trainStep({ model: a, loss: nll, optimizer: new optim.Adam(a.parameters()) });
    const stepB = torch.trainStep({ model: b, loss: nll, optimizer: new optim.Adam(b.parameters()), trace: false });
    for (let epoch = 0; epoch < 2; epoch++) {
      for (const [input, target] of loader) {
        assert.ok(Array.isArray(input));
        const la = await stepA(input, target);
        const lb = await stepB(input, target);
        assert.ok(Math.abs(la - lb) < 1e-6, `${la} vs ${lb}`);
      }
    }
    sameParams(a, b, 1e-6);
  });

  it('a model that packs its batch (nn.utils.rnn.packPaddedSequence in forward): traced and untraced agree, new lengths on the same graph', async () => {
    class Packing extends nn.Module {
      lstm = new nn.LSTM({ inputSize: 3, hiddenSize: 8, numLayers: 2, batchFirst: true });
      head = new nn.Linear(8, 2);
      forward(x: torch.Tensor, lengths: torch.Tensor): torch.Tensor {
        const [, [h]] = this.lstm.forward(nn.utils.rnn.packPaddedSequence(x, lengths, { batchFirst: true, enforceSorted: false }));
        return this.head.forward(h.select(0, -1));
      }
    }
    const run = async (trace: boolean) => {
      torch.manualSeed(0);
      const m = new Packing();
      const x = torch.randn([4, 6, 3]);
      const y = torch.tensor([0, 1, 1, 0], { dtype: 'int64' });
      const step = torch.trainStep({ model: m, loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(m.parameters(), { lr: 0.01 }), trace });
      const losses: number[] = [];
      for (const l of [[3, 6, 1, 4], [3, 6, 1, 4], [6, 2, 2, 5], [1, 1, 6, 3]]) losses.push(await step([x, torch.tensor(l, { dtype: 'int64' })], y));
      return losses;
    };
    const traced = await run(true);
    const eager = await run(false);
    traced.forEach((l, i) => assert.ok(Math.abs(l - eager[i]) < 1e-6, `step ${i}: ${l} vs ${eager[i]}`));
    assert.ok(new Set(traced).size === traced.length, 'the steps differ');
  });

  it('many un-awaited steps run in order', async () => {
    const [a, b] = twin();
    const stepA = torch.trainStep({ model: a, loss: nll, optimizer: new optim.Adam(a.parameters()) });
    const stepB = torch.trainStep({ model: b, loss: nll, optimizer: new optim.Adam(b.parameters()) });
    torch.manualSeed(9);
    const batches = Array.from({ length: 30 }, () => [torch.randn([4, 5, 4]), torch.randint(0, 3, [4])] as const);
    const queued = batches.map(([x, y]) => stepA(x, y));
    const la = await Promise.all(queued);
    for (let i = 0; i < batches.length; i++) assert.strictEqual(await stepB(...batches[i]), la[i]);
    sameParams(a, b);
  });

  it('bad input: shapes, dtypes, ranks, disposed models', async () => {
    const m = new Classifier();
    const step = torch.trainStep({ model: m, loss: nll, optimizer: new optim.Adam(m.parameters()) });
    assert.throws(() => step(torch.randn([2, 5, 7]), torch.tensor([0, 1])), {
      code: 'ERR_INVALID_ARG', message: 'Expected a tensor whose last dimension is 4 (inputSize) for input but received a float32 Tensor of shape [2, 5, 7]',
    });
    assert.throws(() => step(torch.randn([2, 5, 4, 1]), torch.tensor([0, 1])), {
      code: 'ERR_INVALID_ARG', message: 'Expected a 2-D (unbatched) or 3-D (batched) tensor for input but received a float32 Tensor of shape [2, 5, 4, 1]',
    });
    // a float target reaches the loss function's gather: its validation names the argument
    throwsTorch(() => step(torch.randn([2, 5, 4]), torch.tensor([0.5, 1.5])), 'ERR_INVALID_ARG', 'Expected an int64 index tensor for index but received a float32 Tensor of shape [2, 1]');
    throwsTorch(() => step('x' as never, torch.tensor([0])), 'ERR_INVALID_ARG', 'Expected a Tensor for input but received "x"');
    throwsTorch(() => torch.trainStep({ model: m, loss: nll, optimizer: {} as never }), 'ERR_INVALID_ARG', 'Expected an optimizer (torch.optim.*) for optimizer but received an object');
    throwsTorch(() => torch.trainStep({ model: m, loss: 3 as never, optimizer: new optim.SGD(m.parameters(), { lr: 1 }) }), 'ERR_INVALID_ARG', 'Expected a loss module or a function (output, target) => Tensor for loss but received 3');
    // still usable after the errors
    assert.ok(Number.isFinite(await step(torch.randn([2, 5, 4]), torch.tensor([0, 1]))));
    m.dispose();
    throwsTorch(() => step(torch.randn([2, 5, 4]), torch.tensor([0, 1])), 'ERR_INVALID_ARG', 'Expected a live module for model but received "a disposed Classifier"');
    throwsTorch(() => m.forward(torch.randn([2, 5, 4])), 'ERR_INVALID_ARG', 'Expected a live module for module but received "a disposed LSTM"');
  });
});

describe('fit', () => {
  it('trains, reports a History, calls callbacks in order, steps the scheduler', async () => {
    const [m] = twin();
    const optimizer = new optim.Adam(m.parameters(), { lr: 1e-2 });
    const loader = new data.DataLoader(sequences(30, 2), { batchSize: 5, shuffle: true, seed: 1, bucketByLength: true });
    const val = new data.DataLoader(sequences(10, 3), { batchSize: 5 });
    const events: string[] = [];
    let schedulerSteps = 0;
    const history = await torch.fit({
      model: m, optimizer, loss: nll, data: loader, validationData: val, epochs: 3,
      scheduler: { step: () => { schedulerSteps++; optimizer.paramGroups[0].lr *= 0.5; } },
      callbacks: [{
        onTrainBegin: () => { events.push('trainBegin'); },
        onEpochBegin: (e) => { events.push(`epochBegin ${e}`); },
        onBatchEnd: (b, logs) => { if (b === 0) events.push(`batch0 ${Number.isFinite(logs.loss)}`); },
        onEpochEnd: (e, logs) => { events.push(`epochEnd ${e} ${logs.valLoss !== undefined}`); },
        onTrainEnd: () => { events.push('trainEnd'); },
      }],
    });
    assert.deepStrictEqual(history.epoch, [0, 1, 2]);
    assert.strictEqual(history.loss.length, 3);
    assert.strictEqual(history.valLoss.length, 3);
    assert.deepStrictEqual(history.lr, [0.01, 0.005, 0.0025]);
    assert.strictEqual(schedulerSteps, 3);
    assert.ok(history.loss[2] < history.loss[0], `loss ${history.loss}`);
    assert.deepStrictEqual(events, ['trainBegin', 'epochBegin 0', 'batch0 true', 'epochEnd 0 true', 'epochBegin 1', 'batch0 true', 'epochEnd 1 true', 'epochBegin 2', 'batch0 true', 'epochEnd 2 true', 'trainEnd']);
    assert.strictEqual(m.training, true);
    const ev = await torch.evaluate({ model: m, loss: nll, data: val });
    assert.ok(Math.abs(ev.loss - history.valLoss[2]) < 1e-6);
    const fixed = new data.DataLoader(sequences(10, 3, 5, 5), { batchSize: 4 });
    const preds = await torch.predict({ model: m, data: fixed });
    assert.deepStrictEqual(preds.shape, [10, 3]);
  });

  it('early stopping', async () => {
    const [m] = twin();
    const history = await torch.fit({
      model: m, optimizer: new optim.SGD(m.parameters(), { lr: 0 }), loss: nll, epochs: 10,
      data: new data.DataLoader(sequences(10, 4), { batchSize: 5 }),
      callbacks: [torch.earlyStopping({ monitor: 'loss', patience: 1 })],
    });
    assert.strictEqual(history.epoch.length, 2);
    assert.strictEqual(history.stoppedEarly, true);
  });

  it('an AbortSignal stops after the current step and leaves a usable model', async () => {
    const [m] = twin();
    const ac = new AbortController();
    let batches = 0;
    const history = await torch.fit({
      model: m, optimizer: new optim.Adam(m.parameters()), loss: nll, epochs: 5, signal: ac.signal,
      data: new data.DataLoader(sequences(40, 5), { batchSize: 4 }),
      callbacks: [{ onBatchEnd: () => { if (++batches === 3) ac.abort(); } }],
    });
    assert.strictEqual(history.aborted, true);
    assert.strictEqual(batches, 3);
    assert.ok(values(m.forward(torch.randn([1, 4, 4]))).every(Number.isFinite));
  });

  it('a non-finite loss throws by default (the step is not applied), or is skipped, or stops', async () => {
    const badData = () => [[torch.randn([2, 3, 4]), torch.tensor([0, 1])], [torch.full([2, 3, 4], NaN), torch.tensor([0, 1])], [torch.randn([2, 3, 4]), torch.tensor([1, 2])]] as [torch.Tensor, torch.Tensor][];
    const [m] = twin();
    const before = m.stateDict();
    const snapshot = Object.fromEntries(Object.entries(before).map(([k, v]) => [k, values(v)]));
    const opt = new optim.SGD(m.parameters(), { lr: 0 });
    await assert.rejects(torch.fit({ model: m, optimizer: opt, loss: nll, data: badData() }),
      { code: 'ERR_TORCH', message: "The loss is NaN at epoch 1, batch 2; the step was not applied (pass onNonFinite: 'skip' or 'stop' to go on)" });
    for (const [k, v] of Object.entries(m.stateDict())) assert.deepStrictEqual(values(v), snapshot[k]);
    let seen = 0;
    const skipped = await torch.fit({ model: m, optimizer: opt, loss: nll, data: badData(), onNonFinite: 'skip', callbacks: [{ onBatchEnd: () => { seen++; } }] });
    assert.strictEqual(seen, 2);
    assert.ok(Number.isFinite(skipped.loss[0]));
    const stopped = await torch.fit({ model: m, optimizer: opt, loss: nll, data: badData(), onNonFinite: 'stop', epochs: 3 });
    assert.strictEqual(stopped.stoppedEarly, true);
    assert.strictEqual(stopped.epoch.length, 1);
  });

  it('a data source that throws mid-epoch rejects fit() with that error; the model stays usable', async () => {
    const [m] = twin();
    const boom = new Error('disk on fire');
    async function* source() {
      yield [torch.randn([2, 3, 4]), torch.tensor([0, 1])] as [torch.Tensor, torch.Tensor];
      throw boom;
    }
    await assert.rejects(torch.fit({ model: m, optimizer: new optim.Adam(m.parameters()), loss: nll, data: source() }), (e) => e === boom);
    const resumed = await torch.fit({ model: m, optimizer: new optim.Adam(m.parameters()), loss: nll, data: (async function* () { yield [torch.randn([2, 3, 4]), torch.tensor([0, 1])] as [torch.Tensor, torch.Tensor]; })() });
    assert.strictEqual(resumed.epoch.length, 1);
  });

  it('bad options', async () => {
    const [m] = twin();
    await assert.rejects(torch.fit({ model: m, optimizer: new optim.Adam(m.parameters()), loss: nll, data: 5 as never }),
      { code: 'ERR_INVALID_ARG', message: 'Expected an iterable or async iterable of [input, target] batches (or a data.DataLoader) for data but received 5' });
    await assert.rejects(torch.fit({ model: m, optimizer: new optim.Adam(m.parameters()), loss: nll, data: [], onNonFinite: 'ignore' as never }),
      { code: 'ERR_INVALID_ARG', message: 'Expected one of "throw", "skip", "stop" for onNonFinite but received "ignore"' });
  });
});
