// Learning-rate schedulers against the running line's PyTorch, 1.13 or 2.6 (fixtures from scripts/gen-fixtures-sched.py):
// every group's lr (and momentum / beta1 for OneCycleLR) after construction and after each of 60
// steps, the state dict at the end, state-dict round trips, and bad input with exact messages.
// The schedulers drive a minimal stand-in optimizer: they only read and write its param groups.
import * as assert from 'assert';
import * as torch from '../lib';
import type { Optimizer } from '../lib/optim/optimizer';
import {
  CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, LRScheduler, LrLambda, MultiStepLR, OneCycleLR, ReduceLROnPlateau,
  SchedulerOptimizer, SchedulerStateDict, StepLR,
} from '../lib/optim/lr-scheduler';
import { loadFixture, throwsTorch } from './helpers';
import { libtorchLine } from '../lib/compat';

// Every optim.Optimizer is something a scheduler can drive (checked by the compiler).
const optimizerIsSchedulable: (o: Optimizer) => SchedulerOptimizer = (o) => o;
void optimizerIsSchedulable;

interface FixtureGroup { lr: number; momentum?: number; betas?: number[]; initialLr?: number }
interface Case {
  name: string;
  scheduler: string;
  optimizer?: 'SGD' | 'Adam' | 'Adagrad';
  options: Record<string, unknown>;
  groups: FixtureGroup[];
  metrics?: number[];
  lrs: number[][];
  momentums?: number[][];
  stateDict: Record<string, unknown>;
  groupsAfter: Record<string, unknown>[];
}
const fixture = loadFixture<{ torch: string; steps: number; cases: Case[] }>('lr-scheduler.json');
const STEPS = fixture.steps;

const LAMBDAS: Record<string, LrLambda> = {
  pow95: (e) => 0.95 ** e,
  warmup10: (e) => Math.min(1.0, (e + 1) / 10),
  halfEvery20: (e) => 0.5 ** Math.floor(e / 20),
};

const DEFAULTS: Record<string, Record<string, unknown>> = {
  SGD: { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
  Adam: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false },
  Adagrad: { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 },
};

/** A stand-in optimizer: the param groups torch.optim would have (defaults filled in), no parameters. */
function standIn(c: Case): SchedulerOptimizer {
  const defaults = structuredClone(DEFAULTS[c.optimizer ?? 'SGD']);
  const paramGroups = c.groups.map((g) => {
    const pg: Record<string, unknown> = { ...structuredClone(defaults), params: [], lr: g.lr };
    if (g.momentum !== undefined) pg.momentum = g.momentum;
    if (g.betas !== undefined) pg.betas = [...g.betas];
    if (g.initialLr !== undefined) pg.initialLr = g.initialLr;
    return pg;
  });
  return { paramGroups, defaults } as unknown as SchedulerOptimizer;
}

type AnyScheduler = LRScheduler | ReduceLROnPlateau;

function make(c: Case, opt: SchedulerOptimizer): AnyScheduler {
  const o = { ...c.options };
  if (o.lrLambda !== undefined) o.lrLambda = Array.isArray(o.lrLambda) ? o.lrLambda.map((n: string) => LAMBDAS[n]) : LAMBDAS[o.lrLambda as string];
  switch (c.scheduler) {
    case 'StepLR': return new StepLR(opt, o as never);
    case 'MultiStepLR': return new MultiStepLR(opt, o as never);
    case 'ExponentialLR': return new ExponentialLR(opt, o as never);
    case 'CosineAnnealingLR': return new CosineAnnealingLR(opt, o as never);
    case 'LinearLR': return new LinearLR(opt, o as never);
    case 'LambdaLR': return new LambdaLR(opt, o as never);
    case 'OneCycleLR': return new OneCycleLR(opt, o as never);
    case 'ReduceLROnPlateau': return new ReduceLROnPlateau(opt, o as never);
    default: throw new Error(`unknown scheduler ${c.scheduler}`);
  }
}

function stepOnce(c: Case, s: AnyScheduler, i: number): void {
  if (s instanceof ReduceLROnPlateau) s.step(c.metrics![i]);
  else s.step();
}

const lrsOf = (opt: SchedulerOptimizer) => opt.paramGroups.map((g) => g.lr);
const momentumsOf = (opt: SchedulerOptimizer) => opt.paramGroups.map((g) => (Array.isArray(g.betas) ? g.betas[0] as number : g.momentum as number));

function close(a: number, b: number): boolean {
  if (Number.isNaN(b)) return Number.isNaN(a);
  if (!Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}

function assertClose(got: number[], want: number[], label: string): void {
  assert.strictEqual(got.length, want.length, `${label}: number of groups`);
  got.forEach((g, i) => assert.ok(close(g, want[i]), `${label}[${i}]: got ${g}, expected ${want[i]} (|diff| ${Math.abs(g - want[i])})`));
}

/** Fixture values with "Infinity"/"-Infinity"/"NaN" strings read as numbers. */
function decode(v: unknown): unknown {
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === 'NaN') return NaN;
  if (Array.isArray(v)) return v.map(decode);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  return v;
}

/** Deep equality with numbers compared to 1e-12 relative. */
function assertSameState(got: unknown, want: unknown, label: string): void {
  if (typeof want === 'number') {
    assert.strictEqual(typeof got, 'number', `${label}: type`);
    assert.ok(close(got as number, want), `${label}: got ${String(got)}, expected ${want}`);
  } else if (Array.isArray(want)) {
    assert.ok(Array.isArray(got), `${label}: expected an array, got ${String(got)}`);
    assert.strictEqual(got.length, want.length, `${label}: length`);
    want.forEach((w, i) => assertSameState(got[i], w, `${label}[${i}]`));
  } else if (want !== null && typeof want === 'object') {
    assert.ok(got !== null && typeof got === 'object', `${label}: expected an object`);
    assert.deepStrictEqual(Object.keys(got as object).sort(), Object.keys(want).sort(), `${label}: keys`);
    for (const [k, w] of Object.entries(want)) assertSameState((got as Record<string, unknown>)[k], w, `${label}.${k}`);
  } else {
    assert.strictEqual(got, want, label);
  }
}

describe(`lr schedulers match PyTorch ${libtorchLine}`, () => {
  it('covers every scheduler, option set and optimizer kind', () => {
    assert.strictEqual(fixture.torch.split('+')[0].split('.').slice(0, 2).join('.'), libtorchLine);
    const kinds = new Set(fixture.cases.map((c) => c.scheduler));
    for (const k of ['StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR', 'OneCycleLR', 'LinearLR', 'ReduceLROnPlateau', 'LambdaLR']) assert.ok(kinds.has(k), k);
    const oneCycle = fixture.cases.filter((c) => c.scheduler === 'OneCycleLR');
    assert.ok(oneCycle.some((c) => c.options.annealStrategy === 'linear') && oneCycle.some((c) => c.options.annealStrategy === undefined));
    assert.ok(oneCycle.some((c) => c.options.threePhase) && oneCycle.some((c) => c.optimizer === 'Adam') && oneCycle.some((c) => c.groups[0].momentum !== undefined));
    const plateau = fixture.cases.filter((c) => c.scheduler === 'ReduceLROnPlateau');
    for (const mode of ['min', 'max']) {
      for (const tm of ['rel', 'abs']) {
        assert.ok(plateau.some((c) => (c.options.mode ?? 'min') === mode && (c.options.thresholdMode ?? 'rel') === tm), `${mode} ${tm}`);
      }
    }
    assert.ok(fixture.cases.filter((c) => c.groups.length > 1).length >= 8, 'several cases with more than one param group');
    for (const c of fixture.cases) assert.strictEqual(c.lrs.length, STEPS + 1, c.name);
  });

  for (const c of fixture.cases) {
    it(c.name, () => {
      const opt = standIn(c);
      const s = make(c, opt);
      assertClose(lrsOf(opt), c.lrs[0], 'lr after construction');
      assertClose(s.getLastLr(), c.lrs[0], 'getLastLr() after construction');
      if (c.momentums) assertClose(momentumsOf(opt), c.momentums[0], 'momentum after construction');
      for (let i = 0; i < STEPS; i++) {
        stepOnce(c, s, i);
        assertClose(lrsOf(opt), c.lrs[i + 1], `lr after step ${i + 1}`);
        assertClose(s.getLastLr(), c.lrs[i + 1], `getLastLr() after step ${i + 1}`);
        if (c.momentums) assertClose(momentumsOf(opt), c.momentums[i + 1], `momentum after step ${i + 1}`);
      }
      // Adam's beta2 is left alone
      opt.paramGroups.forEach((g, i) => {
        if (c.groups[i].betas) assert.strictEqual((g.betas as number[])[1], c.groups[i].betas![1]);
      });
      // the keys PyTorch adds to the groups (initial_lr, max_lr, min_lr, max_momentum, base_momentum)
      c.groupsAfter.forEach((want, i) => {
        for (const [k, v] of Object.entries(want)) assertSameState(opt.paramGroups[i][k], v, `paramGroups[${i}].${k}`);
      });
      assertSameState(s.stateDict(), decode(c.stateDict), 'stateDict()');
    });
  }
});

describe('lr scheduler state dicts', () => {
  for (const c of fixture.cases) {
    it(`round trip through JSON continues identically: ${c.name}`, () => {
      const split = 23;
      const optA = standIn(c);
      const a = make(c, optA);
      for (let i = 0; i < split; i++) stepOnce(c, a, i);
      const saved = JSON.parse(JSON.stringify(a.stateDict())) as SchedulerStateDict;
      const savedGroups = structuredClone(optA.paramGroups); // what the optimizer's own state dict restores

      // as a resumed PyTorch job: build the optimizer and scheduler, then load both states
      const optB = standIn(c);
      const b = make(c, optB);
      optB.paramGroups.forEach((g, i) => {
        for (const k of Object.keys(g)) delete g[k];
        Object.assign(g, structuredClone(savedGroups[i]));
      });
      b.loadStateDict(saved);
      assert.deepStrictEqual(b.stateDict(), a.stateDict());
      for (let i = split; i < STEPS; i++) {
        stepOnce(c, b, i);
        assertClose(lrsOf(optB), c.lrs[i + 1], `restored: lr after step ${i + 1}`);
        if (c.momentums) assertClose(momentumsOf(optB), c.momentums[i + 1], `restored: momentum after step ${i + 1}`);
      }
      assertSameState(b.stateDict(), decode(c.stateDict), 'stateDict() at the end');
    });
  }

  it("loads PyTorch's state dict (as the fixture script converts it) and gives it back", () => {
    for (const c of fixture.cases) {
      const s = make(c, standIn(c));
      s.loadStateDict(c.stateDict);
      assertSameState(s.stateDict(), decode(c.stateDict), c.name);
    }
  });

  it('is plain data: stateDict() copies, loadStateDict() does not keep the object', () => {
    const opt = standIn(fixture.cases[0]);
    const s = new StepLR(opt, { stepSize: 2 });
    const sd = s.stateDict();
    (sd.baseLrs as number[])[0] = 42;
    assert.deepStrictEqual(s.baseLrs, [0.1]);
    s.loadStateDict(sd);
    (sd.baseLrs as number[])[0] = 7;
    assert.deepStrictEqual(s.baseLrs, [42]);
    const last = s.getLastLr();
    last[0] = 5;
    assert.deepStrictEqual(s.getLastLr(), [0.1]);
  });

  it('MultiStepLR keeps milestones as PyTorch\'s Counter: { epoch: count }', () => {
    const s = new MultiStepLR(standIn(fixture.cases[0]), { milestones: [30, 10, 30] });
    assert.deepStrictEqual(s.stateDict().milestones, { 10: 1, 30: 2 });
    assert.deepStrictEqual([...s.milestones].sort(), [[10, 1], [30, 2]]);
  });

  it('LambdaLR leaves functions out, but keeps properties set on them (like a callable object\'s __dict__)', () => {
    const opt = { paramGroups: [{ params: [], lr: 1 }, { params: [], lr: 2 }], defaults: {} } as unknown as SchedulerOptimizer;
    const scaled = Object.assign((e: number) => scaled.scale * e, { scale: 2 });
    const s = new LambdaLR(opt, { lrLambda: [(e) => e + 1, scaled] });
    assert.deepStrictEqual(s.stateDict().lrLambdas, [null, { scale: 2 }]);
    const t = new LambdaLR(opt, { lrLambda: [(e) => e + 1, Object.assign((e: number) => e, { scale: 1 })] });
    t.loadStateDict({ ...s.stateDict(), lrLambdas: [null, { scale: 3 }] });
    assert.strictEqual((t.lrLambdas[1] as unknown as { scale: number }).scale, 3);
  });

  it('ReduceLROnPlateau: Infinity (no best yet) survives JSON as null', () => {
    for (const mode of ['min', 'max'] as const) {
      const opt = standIn(fixture.cases[0]);
      const s = new ReduceLROnPlateau(opt, { mode });
      const json = JSON.parse(JSON.stringify(s.stateDict())) as SchedulerStateDict;
      assert.strictEqual(json.best, null);
      const t = new ReduceLROnPlateau(standIn(fixture.cases[0]), { mode: mode === 'min' ? 'max' : 'min' });
      t.loadStateDict(json);
      assert.strictEqual(t.mode, mode);
      assert.strictEqual(t.best, mode === 'min' ? Infinity : -Infinity);
      assert.strictEqual(t.modeWorse, t.best);
      assert.deepStrictEqual(t.stateDict(), s.stateDict());
    }
  });
});

describe('lr schedulers: behaviour', () => {
  const sgd = (...lrs: number[]) => ({
    paramGroups: lrs.map((lr) => ({ params: [], lr, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false })),
    defaults: { lr: lrs[0], momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
  }) as unknown as SchedulerOptimizer;

  it('stores initialLr on every group, and a second scheduler starts from it', () => {
    const opt = sgd(0.1, 0.2);
    const warmup = new LinearLR(opt, { startFactor: 0.5, totalIters: 2 });
    assert.deepStrictEqual(opt.paramGroups.map((g) => g.initialLr), [0.1, 0.2]);
    assert.deepStrictEqual(opt.paramGroups.map((g) => g.lr), [0.05, 0.1]);
    const decay = new ExponentialLR(opt, { gamma: 0.5 }); // chained, as in PyTorch
    assert.deepStrictEqual(decay.baseLrs, [0.1, 0.2]);
    warmup.step();
    decay.step();
    assertClose(opt.paramGroups.map((g) => g.lr), [0.0375, 0.075], 'lr');
  });

  it('ReduceLROnPlateau takes a one-element tensor as the metric', () => {
    const opt = sgd(0.1);
    const s = new ReduceLROnPlateau(opt, { patience: 0 });
    s.step(torch.tensor([2.5]));
    assert.strictEqual(s.best, 2.5);
    s.step(torch.tensor(3, { dtype: 'float64' }));
    assert.deepStrictEqual(s.getLastLr(), [0.010000000000000002]);
  });

  it('verbose prints PyTorch\'s lines', () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => { lines.push(line); };
    try {
      const opt = sgd(0.1);
      const s = new StepLR(opt, { stepSize: 1, verbose: true });
      s.step();
      const r = new ReduceLROnPlateau(opt, { patience: 0, verbose: true });
      r.step(1);
      r.step(1);
    } finally {
      console.log = log;
    }
    assert.deepStrictEqual(lines, [
      'Adjusting learning rate of group 0 to 1.0000e-01.',
      'Adjusting learning rate of group 0 to 1.0000e-02.',
      'Epoch 00002: reducing learning rate of group 0 to 1.0000e-03.',
    ]);
  });

  it('OneCycleLR writes betas as a new array and keeps beta2', () => {
    const betas = [0.9, 0.99];
    const opt = { paramGroups: [{ params: [], lr: 1e-3, betas }], defaults: { lr: 1e-3, betas: [0.9, 0.999] } } as unknown as SchedulerOptimizer;
    const s = new OneCycleLR(opt, { maxLr: 0.01, totalSteps: 10 });
    assert.strictEqual(s.useBeta1, true);
    assert.deepStrictEqual(opt.paramGroups[0].betas, [0.95, 0.99]);
    assert.deepStrictEqual(betas, [0.9, 0.99]);
  });

  it('OneCycleLR with cycleMomentum false leaves momentum alone and has no useBeta1 (as PyTorch)', () => {
    const opt = sgd(0.1);
    const s = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, cycleMomentum: false });
    assert.strictEqual(opt.paramGroups[0].momentum, 0);
    assert.ok(!('useBeta1' in s.stateDict()));
    assert.ok(!('maxMomentum' in opt.paramGroups[0]));
  });
});

describe('lr schedulers: bad input', () => {
  const E = 'ERR_INVALID_ARG';
  const sgd = (...lrs: number[]) => ({
    paramGroups: lrs.map((lr) => ({ params: [], lr, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false })),
    defaults: { lr: lrs[0], momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
  }) as unknown as SchedulerOptimizer;

  it('something that is not an optimizer', () => {
    const bad: unknown[] = [undefined, null, 3, {}, [], { paramGroups: [] , defaults: {} }, { paramGroups: [{ lr: '0.1' }], defaults: {} },
      { paramGroups: [{ params: [], lr: 0.1 }] }, { paramGroups: [null], defaults: {} }];
    const received = ['undefined', 'null', '3', 'an object', '[]', 'an object', 'an object', 'an object', 'an object'];
    bad.forEach((b, i) => {
      const message = `Expected an optimizer for optimizer but received ${received[i]}`;
      throwsTorch(() => new StepLR(b as never, { stepSize: 1 }), E, message);
      throwsTorch(() => new ReduceLROnPlateau(b as never), E, message);
      throwsTorch(() => new OneCycleLR(b as never, { maxLr: 0.1, totalSteps: 10 }), E, message);
      throwsTorch(() => new LambdaLR(b as never, { lrLambda: () => 1 }), E, message);
    });
    class Model { paramGroups = 'none'; }
    throwsTorch(() => new ExponentialLR(new Model() as never, { gamma: 0.5 }), E, 'Expected an optimizer for optimizer but received a Model');
  });

  it('options of every scheduler', () => {
    const cases: [() => unknown, string][] = [
      [() => new StepLR(sgd(0.1), undefined as never), 'Expected an options object with stepSize for options but received undefined'],
      [() => new StepLR(sgd(0.1), 5 as never), 'Expected an options object for options but received 5'],
      [() => new StepLR(sgd(0.1), { stepSize: 0 }), 'Expected an integer >= 1 for stepSize but received 0'],
      [() => new StepLR(sgd(0.1), { stepSize: 2.5 }), 'Expected an integer >= 1 for stepSize but received 2.5'],
      [() => new StepLR(sgd(0.1), { stepSize: 2, gamma: -0.1 }), 'Expected a finite number >= 0 for gamma but received -0.1'],
      [() => new StepLR(sgd(0.1), { stepSize: 2, step_size: 3 } as never),
        'Expected one of the options stepSize, gamma, lastEpoch, verbose for an option of options but received "step_size"'],
      [() => new StepLR(sgd(0.1), { stepSize: 2, lastEpoch: -2 }), 'Expected an integer >= -1 for lastEpoch but received -2'],
      [() => new StepLR(sgd(0.1), { stepSize: 2, verbose: 1 as never }), 'Expected a boolean for verbose but received 1'],
      [() => new MultiStepLR(sgd(0.1), { milestones: [1, 2.5] }), 'Expected an array of integers >= 0 for milestones but received [1, 2.5]'],
      [() => new MultiStepLR(sgd(0.1), { milestones: 3 as never }), 'Expected an array of integers >= 0 for milestones but received 3'],
      [() => new MultiStepLR(sgd(0.1), {} as never), 'Expected an array of integers >= 0 for milestones but received undefined'],
      [() => new ExponentialLR(sgd(0.1), {} as never), 'Expected a finite number >= 0 for gamma but received undefined'],
      [() => new ExponentialLR(sgd(0.1), { gamma: NaN }), 'Expected a finite number >= 0 for gamma but received NaN'],
      [() => new ExponentialLR(sgd(0.1), { gamma: Infinity }), 'Expected a finite number >= 0 for gamma but received Infinity'],
      [() => new CosineAnnealingLR(sgd(0.1), { tMax: 0 }), 'Expected an integer >= 1 for tMax but received 0'],
      [() => new CosineAnnealingLR(sgd(0.1), { T_max: 10 } as never),
        'Expected one of the options tMax, etaMin, lastEpoch, verbose for an option of options but received "T_max"'],
      [() => new CosineAnnealingLR(sgd(0.1), { tMax: 10, etaMin: -1e-3 }), 'Expected a finite number >= 0 for etaMin but received -0.001'],
      [() => new LinearLR(sgd(0.1), { startFactor: 0 }), 'Expected a number in (0, 1] for startFactor but received 0'],
      [() => new LinearLR(sgd(0.1), { startFactor: 1.5 }), 'Expected a number in (0, 1] for startFactor but received 1.5'],
      [() => new LinearLR(sgd(0.1), { endFactor: 1.5 }), 'Expected a number in [0, 1] for endFactor but received 1.5'],
      [() => new LinearLR(sgd(0.1), { totalIters: 0 }), 'Expected an integer >= 1 for totalIters but received 0'],
      [() => new LambdaLR(sgd(0.1), {} as never), 'Expected a function or an array of 1 function (one per param group) for lrLambda but received undefined'],
      [() => new LambdaLR(sgd(0.1, 0.2), { lrLambda: [() => 1] }),
        'Expected a function or an array of 2 functions (one per param group) for lrLambda but received [a function]'],
      [() => new LambdaLR(sgd(0.1), { lrLambda: 0.5 as never }), 'Expected a function or an array of 1 function (one per param group) for lrLambda but received 0.5'],
      [() => new OneCycleLR(sgd(0.1), undefined as never), 'Expected an options object with maxLr for options but received undefined'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1 }), 'Expected an integer >= 1 (or epochs and stepsPerEpoch) for totalSteps but received undefined'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, epochs: 10 }), 'Expected an integer >= 1 for stepsPerEpoch but received undefined'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, stepsPerEpoch: 10 }), 'Expected an integer >= 1 for epochs but received undefined'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 0 }), 'Expected an integer >= 1 for totalSteps but received 0'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, epochs: -1 }), 'Expected an integer >= 1 for epochs but received -1'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, pctStart: 1.5 }), 'Expected a number in [0, 1] for pctStart but received 1.5'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, annealStrategy: 'exp' as never }),
        'Expected one of "cos", "linear" for annealStrategy but received "exp"'],
      [() => new OneCycleLR(sgd(0.1, 0.2), { maxLr: [0.1], totalSteps: 10 }), 'Expected 2 values (one per param group) for maxLr but received [0.1]'],
      [() => new OneCycleLR(sgd(0.1, 0.2), { maxLr: [0.1, -1], totalSteps: 10 }), 'Expected a finite number >= 0 for maxLr[1] but received -1'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: '0.1' as never, totalSteps: 10 }),
        'Expected a finite number >= 0 or an array of 1 of them (one per param group) for maxLr but received "0.1"'],
      [() => new OneCycleLR(sgd(0.1), { totalSteps: 10 } as never),
        'Expected a finite number >= 0 or an array of 1 of them (one per param group) for maxLr but received undefined'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, divFactor: 0 }), 'Expected a finite number > 0 for divFactor but received 0'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, finalDivFactor: -1 }), 'Expected a finite number > 0 for finalDivFactor but received -1'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, baseMomentum: 1.5 }), 'Expected a number in [0, 1] for baseMomentum but received 1.5'],
      [() => new OneCycleLR(sgd(0.1, 0.2), { maxLr: 0.1, totalSteps: 10, maxMomentum: [0.9] }), 'Expected 2 values (one per param group) for maxMomentum but received [0.9]'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, threePhase: 'yes' as never }), 'Expected a boolean for threePhase but received "yes"'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, cycleMomentum: 0 as never }), 'Expected a boolean for cycleMomentum but received 0'],
      [() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, total_steps: 10 } as never),
        'Expected one of the options maxLr, totalSteps, epochs, stepsPerEpoch, pctStart, annealStrategy, cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase, lastEpoch, verbose for an option of options but received "total_steps"'],
      [() => new ReduceLROnPlateau(sgd(0.1), { factor: 1 }), 'Expected a number in [0, 1) for factor but received 1'],
      [() => new ReduceLROnPlateau(sgd(0.1), { factor: -0.5 }), 'Expected a number in [0, 1) for factor but received -0.5'],
      [() => new ReduceLROnPlateau(sgd(0.1), { mode: 'avg' as never }), 'Expected one of "min", "max" for mode but received "avg"'],
      [() => new ReduceLROnPlateau(sgd(0.1), { thresholdMode: 'pct' as never }), 'Expected one of "rel", "abs" for thresholdMode but received "pct"'],
      [() => new ReduceLROnPlateau(sgd(0.1), { patience: -1 }), 'Expected an integer >= 0 for patience but received -1'],
      [() => new ReduceLROnPlateau(sgd(0.1), { cooldown: 1.5 }), 'Expected an integer >= 0 for cooldown but received 1.5'],
      [() => new ReduceLROnPlateau(sgd(0.1), { threshold: -1 }), 'Expected a finite number >= 0 for threshold but received -1'],
      [() => new ReduceLROnPlateau(sgd(0.1), { eps: NaN }), 'Expected a finite number >= 0 for eps but received NaN'],
      [() => new ReduceLROnPlateau(sgd(0.1, 0.2), { minLr: [0] }), 'Expected 2 values (one per param group) for minLr but received [0]'],
      [() => new ReduceLROnPlateau(sgd(0.1), { minLr: -1 }), 'Expected a finite number >= 0 for minLr but received -1'],
      [() => new ReduceLROnPlateau(sgd(0.1), { min_lr: 0 } as never),
        'Expected one of the options mode, factor, patience, threshold, thresholdMode, cooldown, minLr, eps, verbose for an option of options but received "min_lr"'],
    ];
    for (const [fn, message] of cases) throwsTorch(fn, E, message);
  });

  it('a failed constructor leaves the optimizer untouched', () => {
    const opt = sgd(0.1, 0.2);
    const before = structuredClone(opt.paramGroups);
    assert.throws(() => new StepLR(opt, { stepSize: 0 }));
    assert.throws(() => new OneCycleLR(opt, { maxLr: [0.1, 0.2], totalSteps: 10, maxMomentum: 2 }));
    assert.throws(() => new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, pctStart: 0.1 }));
    assert.throws(() => new ReduceLROnPlateau(opt, { minLr: [1] }));
    assert.deepStrictEqual(opt.paramGroups, before);
  });

  it('resuming (lastEpoch >= 0) needs the groups\' initialLr, as PyTorch', () => {
    throwsTorch(() => new StepLR(sgd(0.1), { stepSize: 3, lastEpoch: 5 }), E,
      "Expected a number (the group's initial lr, needed to resume with lastEpoch 5) for optimizer.paramGroups[0].initialLr but received undefined");
    const opt = sgd(0.1);
    opt.paramGroups[0].initialLr = 0.1;
    throwsTorch(() => new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, lastEpoch: 3 }), E,
      'Expected a number (set by OneCycleLR, needed to resume with lastEpoch 3) for optimizer.paramGroups[0].maxLr but received undefined');
  });

  it('OneCycleLR on an optimizer without momentum or betas needs cycleMomentum: false (PyTorch: "optimizer must support momentum")', () => {
    class Adagrad {
      paramGroups = [{ params: [], lr: 0.01, lrDecay: 0 }];
      defaults = { lr: 0.01, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 };
    }
    const opt = new Adagrad() as unknown as SchedulerOptimizer;
    throwsTorch(() => new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10 }), E,
      'Expected an optimizer with momentum or betas (SGD, RMSprop, Adam, AdamW) when cycleMomentum is true for optimizer but received an optimizer without either (Adagrad)');
    throwsTorch(() => new OneCycleLR({ paramGroups: [{ lr: 0.1 }], defaults: {} } as never, { maxLr: 0.1, totalSteps: 10 }), E,
      'Expected an optimizer with momentum or betas (SGD, RMSprop, Adam, AdamW) when cycleMomentum is true for optimizer but received an optimizer without either');
    assert.ok(!('initialLr' in opt.paramGroups[0]), 'nothing written');
    new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, cycleMomentum: false });
    assertClose([opt.paramGroups[0].lr], [0.004], 'lr');
    const adam = { paramGroups: [{ params: [], lr: 1e-3, betas: 0.9 }], defaults: { betas: [0.9, 0.999] } } as unknown as SchedulerOptimizer;
    throwsTorch(() => new OneCycleLR(adam, { maxLr: 0.1, totalSteps: 10 }), E,
      'Expected an array [beta1, beta2] for optimizer.paramGroups[0].betas but received 0.9');
  });

  it('OneCycleLR refuses to step past its end (PyTorch: "Tried to step 12 times") and leaves its state alone', () => {
    const opt = sgd(0.1);
    const s = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10 });
    for (let i = 0; i < 10; i++) s.step();
    const lr = opt.paramGroups[0].lr;
    throwsTorch(() => s.step(), E, "Expected at most 10 steps after the constructor's (totalSteps) for OneCycleLR.step() but received step 11");
    assert.strictEqual(s.lastEpoch, 10);
    assert.strictEqual(s._stepCount, 11);
    assert.strictEqual(opt.paramGroups[0].lr, lr);
    throwsTorch(() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, lastEpoch: 10 }), E,
      "Expected at most 10 steps after the constructor's (totalSteps) for OneCycleLR.step() but received step 11");
  });

  it('OneCycleLR with a phase of no steps (PyTorch: ZeroDivisionError)', () => {
    // pctStart * totalSteps == 1: the first phase is empty and the first step falls in it
    throwsTorch(() => new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, pctStart: 0.1 }), E,
      'Expected a pctStart that leaves no phase of the cycle empty (with totalSteps 10, phase 1 has no steps) for pctStart but received 0.1');
    // pctStart 1: the second phase is empty, reached only at the extra step PyTorch allows
    const opt = sgd(0.1);
    const s = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 3, pctStart: 1 });
    s.step();
    s.step();
    assert.strictEqual(opt.paramGroups[0].lr, 0.1);
    throwsTorch(() => s.step(), E,
      'Expected a pctStart that leaves no phase of the cycle empty (with totalSteps 3, phase 2 has no steps) for pctStart but received 1');
  });

  it('a scheduler on an optimizer whose param groups changed since', () => {
    const opt = sgd(0.1);
    const s = new StepLR(opt, { stepSize: 1 });
    const r = new ReduceLROnPlateau(opt);
    (opt.paramGroups as unknown[]).push({ params: [], lr: 0.5 });
    const message = 'Expected an optimizer with 1 param group (as when the scheduler was made) for optimizer but received an optimizer with 2 param groups';
    throwsTorch(() => s.step(), E, message);
    assert.strictEqual(opt.paramGroups[0].lr, 0.1);
    assert.strictEqual(s.lastEpoch, 0);
    if (libtorchLine === '1.13') {
      throwsTorch(() => r.step(1), E, message);
      assert.strictEqual(r.lastEpoch, 0);
    } else {
      // 2.6: ReduceLROnPlateau made with one minLr gives it to groups added later
      r.step(1);
      assert.deepStrictEqual(r.minLrs, [0, 0]);
      assert.strictEqual(r.lastEpoch, 1);
      const perGroup = new ReduceLROnPlateau(sgd(0.1), { minLr: [0.01] });
      (perGroup.optimizer.paramGroups as unknown[]).push({ params: [], lr: 0.5 });
      throwsTorch(() => perGroup.step(1), E, message);
    }
  });

  it('step() arguments', () => {
    const s = new StepLR(sgd(0.1), { stepSize: 1 });
    throwsTorch(() => (s.step as (e: number) => void)(5), E,
      "Expected no argument (PyTorch's deprecated epoch argument is not supported) for step() but received 5");
    const r = new ReduceLROnPlateau(sgd(0.1));
    throwsTorch(() => (r.step as () => void)(), E, 'Expected a number or a one-element Tensor for metrics but received undefined');
    throwsTorch(() => r.step('0.5' as never), E, 'Expected a number or a one-element Tensor for metrics but received "0.5"');
    throwsTorch(() => r.step(torch.tensor([1, 2])), E, /^Expected a number or a one-element Tensor for metrics but received /);
    assert.strictEqual(r.lastEpoch, 0);
  });

  it('LambdaLR: a function that does not return a finite number', () => {
    const opt = sgd(0.1, 0.2);
    const s = new LambdaLR(opt, { lrLambda: [() => 1, (e) => (e < 2 ? 1 : NaN)] });
    s.step();
    throwsTorch(() => s.step(), E, 'Expected a finite number for lrLambda[1](2) but received NaN');
    assert.strictEqual(s.lastEpoch, 1, 'the failed step changed nothing');
    assert.deepStrictEqual(opt.paramGroups.map((g) => g.lr), [0.1, 0.2]);
    const t = new LambdaLR(sgd(0.1), { lrLambda: (e) => (e > 0 ? 'x' : 1) as never });
    throwsTorch(() => t.step(), E, 'Expected a finite number for lrLambda(1) but received "x"');
  });

  it('loadStateDict from another kind of scheduler, or for other param groups', () => {
    const opt = sgd(0.1);
    const step = new StepLR(opt, { stepSize: 2 });
    const cosine = new CosineAnnealingLR(sgd(0.1), { tMax: 10 });
    const exp = new ExponentialLR(sgd(0.1), { gamma: 0.9 });
    const plateau = new ReduceLROnPlateau(sgd(0.1));
    const lambda = new LambdaLR(sgd(0.1), { lrLambda: () => 1 });
    const onecycle = new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10, cycleMomentum: false });
    const before = step.stateDict();
    throwsTorch(() => step.loadStateDict(cosine.stateDict()), E, 'Expected a StepLR state dict for stateDict but received a CosineAnnealingLR state dict');
    throwsTorch(() => step.loadStateDict(exp.stateDict()), E, 'Expected a StepLR state dict for stateDict but received an ExponentialLR state dict');
    throwsTorch(() => exp.loadStateDict(step.stateDict()), E, 'Expected an ExponentialLR state dict for stateDict but received a StepLR state dict');
    throwsTorch(() => step.loadStateDict(plateau.stateDict()), E, 'Expected a StepLR state dict for stateDict but received a ReduceLROnPlateau state dict');
    throwsTorch(() => plateau.loadStateDict(step.stateDict()), E, 'Expected a ReduceLROnPlateau state dict for stateDict but received a StepLR state dict');
    throwsTorch(() => step.loadStateDict(lambda.stateDict()), E, 'Expected a StepLR state dict for stateDict but received a LambdaLR state dict');
    throwsTorch(() => cosine.loadStateDict(onecycle.stateDict()), E, 'Expected a CosineAnnealingLR state dict for stateDict but received a OneCycleLR state dict');
    throwsTorch(() => step.loadStateDict({ foo: 1 }), E,
      'Expected a StepLR state dict for stateDict but received an object without stepSize, gamma, baseLrs, lastEpoch, verbose, _stepCount, _lastLr and with unexpected key foo');
    throwsTorch(() => step.loadStateDict({ ...before, extra: 1, other: 2 }), E,
      'Expected a StepLR state dict for stateDict but received an object with unexpected keys extra, other');
    throwsTorch(() => step.loadStateDict(null as never), E, 'Expected a StepLR state dict for stateDict but received null');
    throwsTorch(() => step.loadStateDict({ ...before, stepSize: 0 }), E, 'Expected an integer >= 1 for stateDict.stepSize but received 0');
    throwsTorch(() => step.loadStateDict({ ...before, lastEpoch: '3' }), E, 'Expected an integer >= -1 for stateDict.lastEpoch but received "3"');
    const two = new StepLR(sgd(0.1, 0.3), { stepSize: 2 });
    throwsTorch(() => step.loadStateDict(two.stateDict()), E,
      'Expected an array of 1 number (one per param group of the optimizer) for stateDict.baseLrs but received [0.1, 0.3]');
    throwsTorch(() => plateau.loadStateDict({ ...plateau.stateDict(), minLrs: [0, 0] }), E,
      'Expected an array of 1 finite number >= 0 (one per param group of the optimizer) for stateDict.minLrs but received [0, 0]');
    throwsTorch(() => plateau.loadStateDict({ ...plateau.stateDict(), best: 'low' }), E,
      'Expected a number (or null for none yet) for stateDict.best but received "low"');
    throwsTorch(() => onecycle.loadStateDict({ ...onecycle.stateDict(), _annealFuncType: 'exp' }), E,
      'Expected one of "cos", "linear" for stateDict._annealFuncType but received "exp"');
    throwsTorch(() => onecycle.loadStateDict({ ...onecycle.stateDict(), _schedulePhases: [{ endStep: 1 }] }), E,
      'Expected 2 or 3 phases { endStep, startLr, endLr, startMomentum, endMomentum } for stateDict._schedulePhases but received [an object]');
    assert.deepStrictEqual(step.stateDict(), before, 'a refused state dict changes nothing');
    assert.deepStrictEqual(opt.paramGroups[0].lr, 0.1);
  });

  it('OneCycleLR state on an optimizer that lacks the keys it wrote', () => {
    const a = new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10 });
    const c = new OneCycleLR(sgd(0.1), { maxLr: 0.1, totalSteps: 10 });
    c.loadStateDict(a.stateDict());
    // a OneCycleLR whose optimizer lost maxLr (say, restored from a state dict without it)
    delete c.optimizer.paramGroups[0].maxLr;
    throwsTorch(() => c.step(), E, 'Expected a number (set by OneCycleLR) for optimizer.paramGroups[0].maxLr but received undefined');
  });
});
