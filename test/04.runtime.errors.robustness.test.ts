/**
 * Seeded random bad calls (issue 2, "Tests"): well over 1,000 randomized calls with bad arguments
 * to creation, operations, autograd, scopes and CUDA devices, each of which must throw a
 * TorchError with a documented code and the standard message shape, while nothing leaks, no
 * random number is drawn and the process lives on. The exact message of each validation branch:
 * test/03, 13, 14 and 21.
 */
import * as assert from 'assert';
import * as torch from '../lib';
import { describe as describeValue } from '../lib/errors';
import { dead, HAS_CUDA, Rng } from './helpers';

/** The documented codes (lib/errors.ts) a call outside distributed training can give. */
const CODES: readonly torch.ErrorCode[] = ['ERR_INVALID_ARG', 'ERR_TORCH', 'ERR_LIBTORCH_NOT_FOUND', 'ERR_CUDA_UNAVAILABLE', 'ERR_CHECKPOINT'];

type Thunk = () => unknown;
type Code = torch.ErrorCode;
interface BadCall { label: string; codes: readonly Code[]; run: () => unknown }

const INVALID: readonly Code[] = ['ERR_INVALID_ARG'];
const LIBTORCH: readonly Code[] = ['ERR_TORCH'];
const NO_CUDA: readonly Code[] = ['ERR_CUDA_UNAVAILABLE'];

const k = (x: unknown): Thunk => () => x;
const fresh = {
  symbol: () => Symbol('bad'),
  fn: () => () => 0,
  dead: () => dead(),
  nullProto: () => Object.create(null) as unknown,
};

/** Neither a number, a boolean nor a live Tensor: refused wherever a tensor-or-number operand goes. */
const NOT_OPERAND: Thunk[] = [
  k('a'), k(''), k('1'), k({}), k({ x: 1 }), fresh.nullProto, fresh.fn, fresh.symbol, k(undefined), k(null), k([1, 2]), k([]),
  k(1n), () => new Map(), () => new Float32Array(2), fresh.dead,
];
/** Not a live Tensor (numbers too). */
const NOT_TENSOR: Thunk[] = [...NOT_OPERAND, k(1), k(0.5), k(NaN), k(true)];
/** Not a safe integer. */
const NOT_INT: Thunk[] = [
  k(0.5), k(-1.5), k(NaN), k(Infinity), k(-Infinity), k(2 ** 60), k(-(2 ** 60)), k(2 ** 53), k('1'), k(null), k(true), k({}), k([]),
  k(1n), fresh.symbol, fresh.fn,
];
/** Not a valid dimension of any tensor of rank <= 3, even where rank + 1 dims are allowed (and not null/arrays, which mean "all dims"). */
const BAD_DIM: Thunk[] = [
  k(5), k(6), k(64), k(-6), k(-64), k(0.5), k(-1.5), k(NaN), k(Infinity), k(-Infinity), k(2 ** 60), k('0'), k('a'), k(true), k({}),
  k(1n), fresh.symbol, fresh.fn,
];
/** BAD_DIM without {}: torch.cat/stack take `{ dim }` as Python's keyword, so {} means the default dim. */
const BAD_DIM_POSITIONAL: Thunk[] = BAD_DIM.filter((t) => { const v = t(); return v === null || typeof v !== 'object' || Array.isArray(v); });
/** Not a boolean (and not undefined, which means the default). */
const NOT_BOOL: Thunk[] = [k(0), k(1), k('true'), k('false'), k(null), k({}), k([]), k(NaN), k(1n), fresh.symbol, fresh.fn];
/** Not a function. */
const NOT_FN: Thunk[] = [k(undefined), k(null), k(1), k('fn'), k({}), k([]), fresh.symbol, k(1n), k(true), () => torch.ones([1])];
/** Not a finite number. */
const NOT_FINITE: Thunk[] = [k(NaN), k(Infinity), k(-Infinity), k('a'), k('1'), k(1n), fresh.symbol, fresh.fn, k(true)];
/** A size that no shape may contain (-1 is allowed where a size is inferred, so it is listed apart). */
const BAD_SIZE: Thunk[] = [
  k(-2), k(-7), k(0.5), k(NaN), k(Infinity), k(-Infinity), k(2 ** 60), k(2 ** 48 + 1), k(2 ** 53), k('2'), k(null), k(undefined), k({}),
  k([2]), k(1n), k(true), fresh.symbol,
];
const NOT_ARRAY: Thunk[] = [
  k(2), k('2,3'), k({}), k(null), k(undefined), fresh.fn, fresh.symbol, k(1n), k(true), () => new Int32Array([2, 3]), () => ({ length: 1, 0: 2 }),
];
/** Shapes that pass validation but that libtorch refuses at once: 4 TB and more, or overflowing counts. */
const HUGE_SHAPES: number[][] = [
  [1e6, 1e6], [2 ** 47], [2 ** 48], [2 ** 24, 2 ** 24], [2 ** 40, 2 ** 40], [2 ** 20, 2 ** 20, 2 ** 20], [2 ** 16, 2 ** 16, 2 ** 16, 2 ** 16],
  [2 ** 48, 2 ** 48],
];

interface BadOption { make: Thunk; codes: readonly Code[]; intGrad?: boolean }
const BAD_OPTIONS: BadOption[] = [
  ...[k('float32'), k(5), k(true), k([]), fresh.fn, k(null), fresh.symbol, k(1n)].map((make) => ({ make, codes: INVALID })),
  ...[
    { foo: 1 }, { dtype: 'float' }, { dtype: 'Float32' }, { dtype: 6 }, { dtype: null }, { device: 'gpu' }, { device: 'CPU' },
    { device: 'cuda:x' }, { device: 5 }, { device: null }, { requiresGrad: 1 }, { requiresGrad: 'yes' }, { requiresGrad: null },
  ].map((o) => ({ make: () => ({ ...o }), codes: INVALID })),
  ...[{ dtype: 'int64' }, { dtype: 'uint8' }, { dtype: 'int32' }].map((o) => ({ make: () => ({ ...o, requiresGrad: true }), codes: INVALID, intGrad: true })),
  ...(HAS_CUDA ? [] : [{ device: 'cuda' }, { device: 'cuda:0' }, { device: 'cuda:1' }, { device: 'cuda:15', dtype: 'float64' }]
    .map((o) => ({ make: () => ({ ...o }), codes: NO_CUDA }))),
];

function method(t: unknown, name: string, ...args: unknown[]): unknown {
  const fn = (t as Record<string, unknown>)[name];
  return (fn as (...a: unknown[]) => unknown).apply(t, args);
}

function label(name: string, args: unknown[]): string {
  return `${name}(${args.map((a) => describeValue(a)).join(', ')})`;
}

/** A call: `name` on `self` (or a function when self is null) with `args`, refused with one of `codes`. */
function bad(codes: readonly Code[], name: string, self: unknown, ...args: unknown[]): BadCall {
  const run = self === null
    ? () => (fnByName[name] as (...a: unknown[]) => unknown)(...args)
    : () => method(self, name, ...args);
  return { label: self === null ? label(name, args) : `${describeValue(self)}.${label(name, args)}`, codes, run };
}

const fnByName: Record<string, unknown> = {
  zeros: torch.zeros, ones: torch.ones, rand: torch.rand, randn: torch.randn, full: torch.full, randint: torch.randint, tensor: torch.tensor,
  fromBuffer: torch.fromBuffer, arange: torch.arange, linspace: torch.linspace, eye: torch.eye, zerosLike: torch.zerosLike,
  onesLike: torch.onesLike, randnLike: torch.randnLike, manualSeed: torch.manualSeed, setNumThreads: torch.setNumThreads,
  setRngState: torch.setRngState, where: torch.where, cat: torch.cat, stack: torch.stack, tidy: torch.tidy, keep: torch.keep,
  noGrad: torch.noGrad, enableGrad: torch.enableGrad, setGradEnabled: torch.setGradEnabled, grad: torch.autograd.grad,
};

interface Bases {
  f23: torch.Tensor; f234: torch.Tensor; f4: torch.Tensor; f0: torch.Tensor; i4: torch.Tensor; b23: torch.Tensor;
  leaf: torch.Tensor; all: torch.Tensor[]; nd: torch.Tensor[]; floats: torch.Tensor[];
}

function makeBases(): Bases {
  // Deterministic values: this file leaves libtorch's random generator where it found it.
  const f23 = torch.linspace(-1, 1, 6).reshape(2, 3);
  const f234 = torch.linspace(-2, 2, 24).reshape(2, 3, 4);
  const f4 = torch.tensor([0.5, -1, 2, 3]);
  const f0 = torch.tensor(1.5);
  const i4 = torch.tensor([1, 2, 3, 4]);
  const b23 = f23.gt(0);
  const leaf = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32', requiresGrad: true });
  return { f23, f234, f4, f0, i4, b23, leaf, all: [f23, f234, f4, f0, i4, b23], nd: [f23, f234, f4], floats: [f23, f234, f4, f0] };
}

/** Generators of definitely-invalid calls, by area. Every tensor they make is made inside the tidy() of the call. */
function generators(B: Bases): Record<string, (r: Rng) => BadCall> {
  const creators = ['zeros', 'ones', 'rand', 'randn', 'full', 'randint'] as const;
  const create = (codes: readonly Code[], name: string, shape: unknown): BadCall =>
    name === 'full' ? bad(codes, 'full', null, shape, 1.5) : name === 'randint' ? bad(codes, 'randint', null, 0, 5, shape) : bad(codes, name, null, shape);
  /** Small valid sizes with one bad size inserted somewhere. */
  const badArray = (r: Rng, pool: readonly Thunk[]): unknown[] => {
    const shape: unknown[] = Array.from({ length: r.int(4) }, () => r.int(4));
    shape.splice(r.int(shape.length + 1), 0, r.from(pool));
    return shape;
  };
  const badShape = (r: Rng, pool: readonly Thunk[]): unknown => (r.int(4) === 0 ? r.from(NOT_ARRAY) : badArray(r, pool));
  const inferBad = BAD_SIZE; // -1 is not in BAD_SIZE
  const createBad = [...BAD_SIZE, k(-1)];
  const binary = ['add', 'sub', 'mul', 'div', 'pow', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'add_', 'sub_', 'mul_', 'div_'];
  const nested = (r: Rng): unknown[] => {
    const shape = [1 + r.int(3), 1 + r.int(3), 1 + r.int(3)].slice(0, 1 + r.int(3));
    const build = (d: number): unknown[] => Array.from({ length: shape[d] }, () => (d === shape.length - 1 ? r.int(10) + 0.5 : build(d + 1)));
    return build(0);
  };
  const leafAt = (data: unknown[], r: Rng): [unknown[], number] => {
    let arr = data;
    while (Array.isArray(arr[0])) arr = arr[r.int(arr.length)] as unknown[];
    return [arr, r.int(arr.length)];
  };

  return {
    creationShape(r) { return create(INVALID, r.pick(creators), badShape(r, createBad)); },
    creationHuge(r) { return create(LIBTORCH, r.pick(creators), r.pick(HUGE_SHAPES)); },
    creationOptions(r) {
      const o = r.pick(BAD_OPTIONS);
      const opts = o.make();
      const isObject = typeof opts === 'object' && opts !== null;
      const choices: [string, unknown[]][] = [
        ['zeros', [[2]]], ['ones', [[2, 1]]], ['rand', [[2]]], ['randn', [[3]]], ['full', [[2], 1.5]], ['tensor', [[1.5, 2]]],
        ['eye', [2, 2]], ['linspace', [0, 1, 3]], ['zerosLike', [B.f23]], ['onesLike', [B.f4]],
      ];
      if (isObject) choices.push(['arange', [0, 3]], ['fromBuffer', [new ArrayBuffer(8)]]);
      if (!o.intGrad) choices.push(['randint', [0, 5, [2]]]);
      const [name, args] = r.pick(choices);
      return bad(o.codes, name, null, ...args, opts);
    },
    creationScalars(r) {
      switch (r.int(12)) {
        case 0: return bad(INVALID, 'full', null, [2], r.from(NOT_OPERAND));
        case 1: return bad(INVALID, 'arange', null, r.from(NOT_FINITE));
        case 2: return bad(INVALID, 'arange', null, r.from(NOT_FINITE), 5);
        case 3: return bad(INVALID, 'arange', null, 0, r.from(NOT_FINITE));
        case 4: return bad(INVALID, 'arange', null, 0, 5, r.from([...NOT_FINITE, k(0)]));
        case 5: return r.pick([bad(INVALID, 'arange', null, 5, 0), bad(INVALID, 'arange', null, 0, 5, -1), bad(INVALID, 'arange', null, 0, -5, 2)]);
        case 6: return r.pick([
          bad(INVALID, 'linspace', null, r.from(NOT_FINITE), 1, 3), bad(INVALID, 'linspace', null, 0, r.from(NOT_FINITE), 3),
          bad(INVALID, 'linspace', null, 0, 1, r.from([...NOT_INT, k(-1), k(-100)]))]);
        case 7: return r.pick([
          bad(INVALID, 'eye', null, r.from([...NOT_INT, k(-1)])),
          bad(INVALID, 'eye', null, 2, r.from([k(0.5), k(-1), k(NaN), k(Infinity), k('2'), k(true), k(1n), fresh.symbol, fresh.fn, k(2 ** 60)]))]);
        case 8: return r.pick([
          bad(INVALID, 'randint', null, r.from(NOT_INT), 5, [2]), bad(INVALID, 'randint', null, 0, r.from([...NOT_INT, k(0), k(-3)]), [2]),
          bad(INVALID, 'randint', null, 5, 5, [2])]);
        case 9: return bad(INVALID, 'manualSeed', null, r.from([
          k(-(2 ** 53)), k(0.5), k(NaN), k(Infinity), k(2 ** 60), k('1'), k(null), k({}), k(-(2n ** 63n) - 1n), k(2n ** 64n), k(true), fresh.symbol, fresh.fn, k(undefined)]));
        case 10: return bad(INVALID, 'setNumThreads', null, r.from([k(0), k(-1), k(1025), k(2 ** 40), ...NOT_INT]));
        default: return r.pick([
          bad(INVALID, 'setRngState', null, r.from(NOT_OPERAND)),
          { label: 'setRngState(float32 [2])', codes: INVALID, run: () => torch.setRngState(torch.ones([2]) as never) },
          { label: 'setRngState(uint8 [2, 2])', codes: INVALID, run: () => torch.setRngState(torch.ones([2, 2], { dtype: 'uint8' })) },
          { label: 'setRngState(uint8 [3])', codes: LIBTORCH, run: () => torch.setRngState(torch.ones([3], { dtype: 'uint8' })) }]);
      }
    },
    tensorData(r) {
      switch (r.int(7)) {
        case 0: return bad(INVALID, 'tensor', null, r.from([
          k('abc'), k({}), k(null), k(undefined), fresh.symbol, fresh.fn, () => new Map(), () => new Uint32Array(2), () => new BigUint64Array(2),
          () => new DataView(new ArrayBuffer(4)), () => new Uint16Array(2), () => new Float32Array(2).buffer]));
        case 1: {
          const data = nested(r);
          const [arr, i] = leafAt(data, r);
          arr[i] = r.from([k('a'), k({}), k(null), k(undefined), fresh.symbol, fresh.fn, k([]), k([1]), k('NaN'), () => torch.ones([1])]);
          return bad(INVALID, 'tensor', null, data);
        }
        case 2: { // ragged: one inner array one longer or shorter
          const data = [[1, 2, 3], [4, 5, 6], [7, 8, 9]];
          const row = data[r.int(3)];
          if (r.int(2) === 0) row.pop(); else row.push(0);
          return bad(INVALID, 'tensor', null, data);
        }
        case 3: { // bigints beside non-integers
          const data: unknown[] = [0.5, 1.5, 2.5, 3.5];
          data[r.int(4)] = 7n;
          return bad(INVALID, 'tensor', null, data);
        }
        case 4: return bad(INVALID, 'tensor', null, r.pick([[1, 2, 3, 4, 5, 6], new Float64Array(6), new Int32Array(6)]),
          { shape: r.pick([[4], [7], [2, 2], [6, 2], [0], [3, 3]]) });
        case 5: {
          const [dtype, sizes] = r.pick([['float32', [1, 2, 3, 5, 6, 7]], ['float64', [1, 3, 4, 7, 9]], ['int16', [1, 3, 5]], ['int64', [4, 12]]] as const);
          return bad(INVALID, 'tensor', null, Buffer.alloc(r.pick(sizes)), { dtype });
        }
        default: return bad(INVALID, 'tensor', null, new Uint16Array(4), { dtype: r.pick(['float32', 'int64', 'uint8', 'bool']) });
      }
    },
    operands(r) {
      const x = r.pick(B.floats);
      switch (r.int(8)) {
        case 0: case 1: case 2: return bad(INVALID, r.pick(binary), x, r.from(NOT_OPERAND));
        case 3: return r.pick([bad(INVALID, 'clamp', x, r.from(NOT_OPERAND)), bad(INVALID, 'clamp', x, null, r.from(NOT_OPERAND)),
          bad(INVALID, 'clamp', x), bad(INVALID, 'clamp', x, null, null), bad(INVALID, 'clamp_', x),
          bad(INVALID, 'clamp_', x, r.from([k('a'), k({}), k(1n), k(true), fresh.symbol, () => torch.ones([1])])),
          bad(INVALID, 'clamp_', x, null, r.from([k('a'), k([]), k(1n), () => torch.ones([1])]))]);
        case 4: return bad(INVALID, 'fill_', x, r.from(NOT_OPERAND));
        case 5: return r.pick([bad(INVALID, 'maskedFill', B.f23, B.b23, r.from(NOT_OPERAND)), bad(INVALID, 'where', null, B.b23, r.from(NOT_OPERAND), 0),
          bad(INVALID, 'where', null, B.b23, 0, r.from(NOT_OPERAND))]);
        case 6: return r.pick(['matmul', 'mm', 'bmm', 'copy_', 'max', 'min'].map((m) => bad(INVALID, m, x, r.from(m === 'max' || m === 'min' ? NOT_OPERAND : NOT_TENSOR))));
        default: return r.pick([bad(INVALID, 'indexSelect', x, 0, r.from(NOT_TENSOR)), bad(INVALID, 'gather', x, 0, r.from(NOT_TENSOR)),
          bad(INVALID, 'maskedFill', x, r.from(NOT_TENSOR), 0), bad(INVALID, 'where', null, r.from(NOT_TENSOR), 1, 0)]);
      }
    },
    opOptions(r) {
      const x = r.pick(B.floats);
      const common = [k('x'), k(5), k(null), k([]), fresh.fn, fresh.symbol, k(true)];
      switch (r.int(5)) {
        case 0: return bad(INVALID, r.pick(['add', 'sub', 'add_', 'sub_']), x, 1, r.from([...common, k({ alpha: 'x' }), k({ alpha: null }), k({ alpha: 1n }), k({ beta: 1 })]));
        case 1: return bad(INVALID, 'div', x, 2, r.from([...common, k({ roundingMode: 'round' }), k({ roundingMode: null }), k({ roundingMode: 5 }), k({ mode: 'floor' })]));
        case 2: {
          const opts = r.from([...common, k({ dtype: 'x' }), k({ dtype: null }), k({ dtype: 7 }), k({ keepdim: true })]);
          return r.pick([bad(INVALID, 'sum', x, 0, false, opts), bad(INVALID, 'mean', x, null, undefined, opts), bad(INVALID, 'softmax', x, 0, opts), bad(INVALID, 'logSoftmax', x, -1, opts)]);
        }
        case 3: return bad(INVALID, 'gelu', x, r.from([...common, k({ approximate: 'fast' }), k({ approximate: null }), k({ approximate: true }), k({ approx: 'tanh' })]));
        default: return bad(INVALID, 'to', x, r.from([
          k(5), k(null), k(true), k(undefined), k(1n), fresh.symbol, fresh.fn, k('float'), k('Float32'), k('gpu'), k('cuda:x'), k(''), k([]),
          k({ foo: 1 }), k({ dtype: 'x' }), k({ device: 'tpu' }), k({ dtype: null }), k({ device: 5 })]));
      }
    },
    dims(r) {
      const x = r.pick(B.all);
      const d = r.from(BAD_DIM);
      const sameRankIndex = () => torch.zeros(x.shape.map(() => 1), { dtype: 'int64' });
      const calls: (() => BadCall)[] = [
        () => bad(INVALID, r.pick(['sum', 'mean', 'argmax', 'argmin', 'softmax', 'logSoftmax', 'squeeze', 'unsqueeze', 'flatten', 'size']), x, d),
        () => bad(INVALID, r.pick(['sum', 'mean']), x, [0, d]),
        () => bad(INVALID, r.pick(['max', 'min']), x, d, r.pick([undefined, true])),
        () => bad(INVALID, 'flatten', x, 0, d), () => bad(INVALID, 'transpose', x, d, 0), () => bad(INVALID, 'transpose', x, 0, d),
        () => bad(INVALID, 'narrow', x, d, 0, 1), () => bad(INVALID, 'select', x, d, 0), () => bad(INVALID, 'chunk', x, 1, d),
        () => bad(INVALID, 'split', x, 1, d),
        () => ({ label: `indexSelect(${describeValue(d)}, [0])`, codes: INVALID, run: () => x.indexSelect(d as never, torch.tensor([0])) }),
        () => ({ label: `gather(${describeValue(d)}, index)`, codes: INVALID, run: () => x.gather(d as never, sameRankIndex()) }),
        () => bad(INVALID, r.pick(['cat', 'stack']), null, [x, x], r.from(BAD_DIM_POSITIONAL)),
      ];
      return r.pick(calls)();
    },
    keepdim(r) {
      return bad(INVALID, r.pick(['sum', 'mean', 'argmax', 'argmin', 'max', 'min']), r.pick(B.floats), 0, r.from(NOT_BOOL));
    },
    intArgs(r) {
      const x = r.pick(B.nd);
      switch (r.int(8)) {
        case 0: return bad(INVALID, 'select', x, 0, r.from([k(100), k(-100), k(4), k(-5), ...NOT_INT]));
        case 1: return bad(INVALID, 'narrow', x, 0, r.from([k(100), k(-100), k(5), k(-5), ...NOT_INT]), 1);
        case 2: return bad(INVALID, 'narrow', x, 0, 0, r.from([k(100), k(-1), k(5), ...NOT_INT]));
        case 3: return bad(INVALID, r.pick(['chunk', 'split']), x, r.from([k(0), k(-1), ...NOT_INT]));
        case 4: return bad(INVALID, 'split', x, r.pick([[100], [-1, 3], [0.5, 1.5], ['1', '1'], [1, 1, 1, 1, 1, 1, 1], [null], [NaN]]));
        case 5: return r.pick([bad(INVALID, 'slice', x, 0, r.from([k(0.5), k(NaN), k(Infinity), k('a'), k(2 ** 60), k({}), k(1n), k(true), fresh.symbol])),
          bad(INVALID, 'slice', x, 0, 0, r.from([k(0.5), k(NaN), k(-Infinity), k('1'), k([]), k(1n)])),
          bad(INVALID, 'slice', x, 0, null, null, r.from([k(0), k(-1), k(0.5), k(NaN), k('a'), k(null), k(true), k({})]))]);
        case 6: {
          const n = x.dim();
          const dims = Array.from({ length: n }, (_, i) => i);
          return r.pick([
            bad(INVALID, 'permute', x, ...dims, n), // one too many
            bad(INVALID, 'permute', x, ...dims.slice(1)), // one too few
            bad(INVALID, 'permute', x, ...(n > 1 ? [...dims.slice(0, -1), 0] : [5])), // a repeated dim (or out of range)
            bad(INVALID, 'permute', x, [r.from(BAD_DIM), ...dims.slice(1)]),
          ]);
        }
        default: return bad(INVALID, 'size', x, r.from([k(4), k(-5), k(0.5), k('0'), k(null), k(NaN), k(2 ** 60)]));
      }
    },
    shapes(r) {
      const x = r.pick(B.nd);
      // reshape(2, 3) or reshape([2, 3]); a one-element shape is always passed as an array, since
      // reshape([2]) spread would become reshape([2]) again and expand([2]) can be valid.
      const asArgs = (shape: unknown[]) => (shape.length === 1 || r.int(2) === 0 ? [shape] : shape);
      switch (r.int(5)) {
        case 0: case 1: return bad(INVALID, r.pick(['reshape', 'view', 'expand']), x, ...asArgs(badArray(r, inferBad)));
        case 2: return bad(INVALID, r.pick(['reshape', 'view']), x, ...asArgs(r.pick([[7], [-1, 7], [5, 5], [0, -1], [-1, -1], [2 ** 48, -1], [2 ** 47, 0], [-1, 0]])));
        case 3: return bad(INVALID, 'expand', x, ...asArgs(Array.from({ length: x.dim() - 1 }, () => 2)));
        default: return bad(LIBTORCH, 'expand', x, 5, 5, 5, 5);
      }
    },
    indexing(r) {
      const x = r.pick(B.floats);
      switch (r.int(4)) {
        case 0: return bad(INVALID, 'index', x, r.from([k(0), k('a'), k({}), k(null), k(undefined), fresh.symbol, fresh.fn, k(true), k(1n), () => torch.tensor([0])]));
        case 1: case 2: return bad(INVALID, 'index', x, [r.from([
          k(0.5), k(NaN), k(Infinity), k(-Infinity), k(2 ** 60), k('abc'), k('::0'), k('1:2:3:4'), k('::-1'), k(':::'), k('a:b'), k({ begin: 1 }),
          k({ step: 0 }), k({ step: -2 }), k({ start: 'a' }), k({ start: 0.5 }), k({ stop: NaN }), k(undefined), fresh.symbol, k(1n), fresh.fn, k([]),
          () => torch.ones([1]), () => torch.zeros([1], { dtype: 'float64' }), fresh.dead])]);
        default: return r.pick([bad(LIBTORCH, 'index', x, [100]), bad(LIBTORCH, 'index', x, [-100]), bad(LIBTORCH, 'index', x, [0, 0, 0, 0]),
          { label: 'index([tensor([100])])', codes: LIBTORCH, run: () => x.index([torch.tensor([100])]) }]);
      }
    },
    tensorArgs(r) {
      const { f23, f234, f4 } = B;
      const calls: [string, readonly Code[], () => unknown][] = [
        ['f4.mm(f23)', INVALID, () => f4.mm(f23)], ['f23.mm(f234)', INVALID, () => f23.mm(f234)], ['f23.mm(f4)', INVALID, () => f23.mm(f4)],
        ['f23.mm(f23)', LIBTORCH, () => f23.mm(f23)], ['f23.bmm(f234)', INVALID, () => f23.bmm(f234)], ['f234.bmm(f23)', INVALID, () => f234.bmm(f23)],
        ['f234.bmm(f234)', LIBTORCH, () => f234.bmm(f234)], ['f23.matmul(f23)', LIBTORCH, () => f23.matmul(f23)],
        ['f4.matmul(f23)', LIBTORCH, () => f4.matmul(f23)], ['f0.matmul(f0)', LIBTORCH, () => B.f0.matmul(B.f0)],
        ['f23.matmul(float64)', LIBTORCH, () => f23.matmul(torch.ones([3, 2], { dtype: 'float64' }))],
        ['indexSelect(float index)', INVALID, () => f23.indexSelect(0, torch.ones([1]))],
        ['indexSelect(bool index)', INVALID, () => f23.indexSelect(0, torch.ones([1], { dtype: 'bool' }))],
        ['indexSelect(2-D index)', INVALID, () => f23.indexSelect(0, torch.zeros([1, 1], { dtype: 'int64' }))],
        ['indexSelect(out of range)', LIBTORCH, () => f23.indexSelect(0, torch.tensor([100]))],
        ['gather(int32 index)', INVALID, () => f23.gather(0, torch.zeros([1, 1], { dtype: 'int32' }))],
        ['gather(wrong rank)', INVALID, () => f234.gather(0, torch.zeros([1, 1], { dtype: 'int64' }))],
        ['gather(out of range)', LIBTORCH, () => f23.gather(1, torch.tensor([[100]]))],
        ['maskedFill(float mask)', INVALID, () => f23.maskedFill(f23, 0)], ['maskedFill(int mask)', INVALID, () => f4.maskedFill(B.i4, 0)],
        ['maskedFill(mask [5])', LIBTORCH, () => r.pick(B.nd).maskedFill(torch.ones([5], { dtype: 'bool' }), 0)],
        ['where(float condition)', INVALID, () => torch.where(f23, 1, 0)],
        ['where(shapes)', LIBTORCH, () => torch.where(B.b23, f4, 0)],
        ['copy_([5])', LIBTORCH, () => r.pick(B.nd).copy_(torch.ones([5]))],
        ['fill_(1-D tensor)', LIBTORCH, () => f23.fill_(torch.ones([2]))],
        ['cat(shapes)', LIBTORCH, () => torch.cat([f23, torch.ones([2, 4])])],
        ['cat(0-D)', LIBTORCH, () => torch.cat([B.f0, B.f0])],
        ['cat([])', INVALID, () => torch.cat([])], ['stack(shapes)', INVALID, () => torch.stack([f23, f4])],
        ['cat(non-array)', INVALID, () => torch.cat(r.from(NOT_OPERAND) as never)],
        ['stack([x, bad])', INVALID, () => torch.stack([f23, r.from(NOT_TENSOR)] as never)],
        ['broadcast', LIBTORCH, () => method(r.pick([f23, f234]), r.pick(['add', 'sub', 'mul', 'div', 'eq', 'lt', 'max', 'min', 'pow']), torch.ones([5]))],
        ['in-place broadcast', LIBTORCH, () => method(f4, r.pick(['add_', 'sub_', 'mul_', 'div_']), f23)],
      ];
      const [name, codes, run] = r.pick(calls);
      return { label: name, codes, run };
    },
    dtypes(r) {
      const calls: [string, readonly Code[], () => unknown][] = [
        ['bool neg', LIBTORCH, () => B.b23.neg()], ['bool sub', LIBTORCH, () => B.b23.sub(B.b23)], ['int64 mean', LIBTORCH, () => B.i4.mean()],
        ['int64 softmax', LIBTORCH, () => B.i4.softmax(0)], ['bool relu', LIBTORCH, () => B.b23.relu()], ['int64 pow(-1)', LIBTORCH, () => B.i4.pow(-1)],
        ['int64 add_(1.5)', LIBTORCH, () => B.i4.clone().add_(1.5)], ['int64 div_(2)', LIBTORCH, () => B.i4.clone().div_(2)],
        ['int64 gelu', LIBTORCH, () => B.i4.gelu()], ['bool argmax', LIBTORCH, () => B.b23.argmax()],
        ['int64 floor-div by 0', LIBTORCH, () => B.i4.div(0, { roundingMode: 'floor' })],
        ['full 1000 uint8', LIBTORCH, () => torch.full([2], 1000, { dtype: 'uint8' })],
        ['full NaN int32', LIBTORCH, () => torch.full([2], NaN, { dtype: 'int32' })],
        ['int64 fill_(NaN)', LIBTORCH, () => B.i4.clone().fill_(NaN)],
        ['randint uint8 to 1000', LIBTORCH, () => torch.randint(0, 1000, [2], { dtype: 'uint8' })],
        ['rand int dtype', INVALID, () => torch.rand([2], { dtype: r.pick(['int64', 'int32', 'uint8', 'bool'] as const) })],
        ['randn int dtype', INVALID, () => torch.randn([2], { dtype: r.pick(['int64', 'int8', 'bool'] as const) })],
        ['randnLike(int tensor)', INVALID, () => torch.randnLike(B.i4)],
        ['int requiresGrad_', INVALID, () => r.pick([B.i4, B.b23]).requiresGrad_()],
        ['index(float tensor)', INVALID, () => B.f23.index([torch.ones([2])])],
      ];
      const [name, codes, run] = r.pick(calls);
      return { label: name, codes, run };
    },
    disposed(r) {
      const d = dead(r.pick([[2], [2, 3], [], [0]]));
      const x = B.f23;
      const onDead: [string, unknown[]][] = [
        ['add', [1]], ['sub', [x]], ['mul_', [2]], ['neg', []], ['sum', []], ['mean', [0]], ['max', []], ['argmax', []], ['softmax', [0]],
        ['matmul', [x]], ['mm', [x]], ['reshape', [-1]], ['view', [-1]], ['permute', [0]], ['select', [0, 0]], ['index', [[0]]], ['split', [1]],
        ['to', ['float64']], ['to', ['cpu']], ['clone', []], ['detach', []], ['zero_', []], ['fill_', [1]], ['copy_', [x]], ['clamp_', [0]],
        ['gelu', []], ['dataSync', []], ['data', []], ['item', []], ['toArray', []], ['numel', []], ['dim', []], ['size', []], ['backward', []],
        ['backwardAsync', []], ['requiresGrad_', [false]], ['retainGrad', []], ['unsqueeze', [0]], ['expand', [2]], ['relu', []],
      ];
      const asArg: [string, () => unknown][] = [
        ['x.add(dead)', () => x.add(d)], ['x.matmul(dead)', () => x.matmul(d)], ['x.mm(dead)', () => x.mm(d)], ['x.max(dead)', () => x.max(d)],
        ['x.copy_(dead)', () => x.copy_(d)], ['x.fill_(dead)', () => x.fill_(d)], ['x.clamp(dead)', () => x.clamp(d)],
        ['x.indexSelect(0, dead)', () => x.indexSelect(0, d)], ['x.gather(0, dead)', () => x.gather(0, d)],
        ['x.maskedFill(dead, 0)', () => x.maskedFill(d, 0)], ['where(dead, 1, 0)', () => torch.where(d, 1, 0)],
        ['cat([x, dead])', () => torch.cat([x, d])], ['stack([dead, x])', () => torch.stack([d, x])], ['zerosLike(dead)', () => torch.zerosLike(d)],
        ['randnLike(dead)', () => torch.randnLike(d)], ['keep(dead)', () => torch.keep(d)], ['setRngState(dead)', () => torch.setRngState(d as never)],
        ['x.index([dead])', () => x.index([d])], ['x.grad = dead', () => { B.leaf.grad = d; }],
        ['y.backward(dead)', () => B.leaf.mul(2).backward(d)], ['grad(dead, leaf)', () => torch.autograd.grad(d, B.leaf)],
      ];
      const props = ['shape', 'dtype', 'device', 'requiresGrad', 'grad', 'isLeaf', 'gradFn'];
      switch (r.int(3)) {
        case 0: { const [name, args] = r.pick(onDead); return bad(INVALID, name, d, ...args); }
        case 1: { const [name, run] = r.pick(asArg); return { label: name, codes: INVALID, run }; }
        default: { const p = r.pick(props); return { label: `dead.${p}`, codes: INVALID, run: () => (d as unknown as Record<string, unknown>)[p] }; }
      }
    },
    autograd(r) {
      const leaf = B.leaf;
      const g = torch.autograd.grad;
      const backOpts = [k(5), k('x'), k(null), k([]), k({ retain: true }), k({ retainGraph: 1 }), k({ createGraph: 'x' }), k({ retainGraph: null }), fresh.fn];
      const calls: [string, readonly Code[], () => unknown][] = [
        ['no-grad backward', INVALID, () => r.pick([torch.ones([1]), B.f23.sum(), B.f0])[r.pick(['backward', 'backwardAsync'] as const)]()],
        ['non-scalar implicit backward', INVALID, () => leaf.mul(2)[r.pick(['backward', 'backwardAsync'] as const)](r.pick([undefined, null]))],
        ['bad gradient', INVALID, () => leaf.mul(2).backward(r.from(NOT_OPERAND.filter((t) => t() !== null && t() !== undefined)) as never)],
        ['wrong-shape gradient', INVALID, () => leaf.mul(2).backward(torch.ones(r.pick([[5], [3, 2], [2, 3, 1], []])))],
        ['bad backward options', INVALID, () => leaf.sum()[r.pick(['backward', 'backwardAsync'] as const)](null, r.from(backOpts) as never)],
        ['grad(bad outputs)', INVALID, () => g(r.from([...NOT_TENSOR, k([])]) as never, leaf)],
        ['grad(bad inputs)', INVALID, () => g(leaf.sum(), r.from([...NOT_TENSOR, k([])]) as never)],
        ['grad(no-grad output)', INVALID, () => g(B.f23.sum(), leaf)], ['grad(no-grad input)', INVALID, () => g(leaf.sum(), B.f23)],
        ['grad(non-scalar implicit)', INVALID, () => g(leaf.mul(2), leaf)],
        ['grad(bad gradOutputs)', INVALID, () => g(leaf.mul(2), leaf, { gradOutputs: r.from([k('a'), k([]), k([null]), k([1]), k([torch.ones([2, 3]), torch.ones([2, 3])]), fresh.dead]) as never })],
        ['grad(bad flag)', INVALID, () => g(leaf.sum(), leaf, { [r.pick(['retainGraph', 'createGraph', 'allowUnused'])]: r.from(NOT_BOOL) })],
        ['grad(bad options)', INVALID, () => g(leaf.sum(), leaf, r.from([k(5), k('x'), k(null), k([]), k({ retain: true })]) as never)],
        ['requiresGrad_(bad)', INVALID, () => B.f23.requiresGrad_(r.from(NOT_BOOL) as never)],
        ['requiresGrad = bad', INVALID, () => { (B.f23 as { requiresGrad: unknown }).requiresGrad = r.from(NOT_BOOL); }],
        ['grad = bad', INVALID, () => { (leaf as { grad: unknown }).grad = r.from(NOT_OPERAND.filter((t) => t() !== null)); }],
        ['grad(unused input)', LIBTORCH, () => g(leaf.sum(), [leaf, torch.ones([2], { requiresGrad: true })])],
        ['grad(gradOutputs shape)', LIBTORCH, () => g(leaf.mul(2), leaf, { gradOutputs: [torch.ones([5])] })],
        ['backward twice', LIBTORCH, () => { const s = leaf.mul(leaf).sum(); s.backward(); s.backward(); }],
        ['in-place on a leaf', LIBTORCH, () => leaf.add_(1)],
        ['requiresGrad_(false) on a non-leaf', LIBTORCH, () => leaf.mul(2).requiresGrad_(false)],
        ['retainGrad without grad', LIBTORCH, () => torch.ones([2]).retainGrad()],
      ];
      const [name, codes, run] = r.pick(calls);
      return { label: name, codes, run };
    },
    scopes(r) {
      switch (r.int(4)) {
        case 0: return bad(INVALID, r.pick(['tidy', 'noGrad', 'enableGrad']), null, r.from(NOT_FN));
        case 1: return bad(INVALID, 'setGradEnabled', null, r.from([...NOT_BOOL, k(undefined)]));
        case 2: return bad(INVALID, 'keep', null, r.from(NOT_TENSOR));
        default: return bad(INVALID, 'tidy', null, async () => 1);
      }
    },
    cuda(r) {
      if (HAS_CUDA) return bad(INVALID, 'to', B.f23, 'cuda:x');
      const device = r.pick(['cuda', 'cuda:0', 'cuda:1', 'cuda:7']);
      switch (r.int(3)) {
        case 0: return bad(NO_CUDA, 'to', r.pick(B.all), r.pick([device, { device }, { device, dtype: 'float64' }]));
        case 1: return bad(NO_CUDA, r.pick(['zeros', 'ones', 'rand', 'randn']), null, [2], { device });
        default: return r.pick([bad(NO_CUDA, 'tensor', null, [1.5], { device }), bad(NO_CUDA, 'arange', null, 3, { device }),
          bad(NO_CUDA, 'eye', null, 2, { device }), bad(NO_CUDA, 'zerosLike', null, B.f23, { device }), bad(NO_CUDA, 'randint', null, 0, 3, [2], { device })]);
      }
    },
  };
}

describe('errors: robustness', () => {
  const SEED = 0x80e7705;
  const CALLS = 1500;

  it(`${CALLS} seeded random bad calls each throw a TorchError with a documented code; nothing leaks; the process lives on`, function () {
    this.timeout(60000);
    const rngState = torch.getRngState();
    const B = makeBases();
    const gens = generators(B);
    const names = Object.keys(gens);
    const rng = new Rng(SEED);
    const baseline = torch.memory();
    const failures: string[] = [];
    const succeeded: string[] = [];
    const perGenerator: Record<string, number> = {};
    const perCode: Partial<Record<Code, number>> = {};
    let calls = 0;
    for (let i = 0; i < CALLS; i++) {
      const gen = names[rng.int(names.length)];
      let call: BadCall | undefined;
      let err: unknown;
      let threw = false;
      try {
        torch.tidy(() => {
          call = gens[gen](rng);
          calls++;
          const result = call.run();
          if (result instanceof Promise) result.catch(() => undefined);
        });
      } catch (e) {
        threw = true;
        err = e;
      }
      const where = `#${i} ${gen}: ${call?.label ?? '(the generator threw)'}`;
      perGenerator[gen] = (perGenerator[gen] ?? 0) + 1;
      if (!threw) { succeeded.push(where); continue; }
      if (call === undefined) { failures.push(`${where}: ${String(err)}`); continue; }
      if (!(err instanceof torch.TorchError)) { failures.push(`${where}: not a TorchError: ${String(err)}`); continue; }
      perCode[err.code] = (perCode[err.code] ?? 0) + 1;
      const m = err.message;
      if (!CODES.includes(err.code)) failures.push(`${where}: undocumented code ${err.code}`);
      else if (!call.codes.includes(err.code)) failures.push(`${where}: expected ${call.codes.join('|')}, got ${err.code}: ${m}`);
      else if (typeof m !== 'string' || m.length === 0) failures.push(`${where}: empty message`);
      else if (err.code === 'ERR_INVALID_ARG' && !/^Expected [\s\S]+ for [\s\S]+ but received [\s\S]+$/.test(m)) failures.push(`${where}: message shape: ${m}`);
      else if (err.code === 'ERR_TORCH' && (m.includes('Exception raised from') || /\nframe #/.test(m))) failures.push(`${where}: backtrace in ${m}`);
      else if (err.code === 'ERR_CUDA_UNAVAILABLE' && !m.startsWith('CUDA ')) failures.push(`${where}: ${m}`);
    }
    assert.ok(calls >= 1000, `only ${calls} calls`);
    assert.deepStrictEqual(succeeded.slice(0, 20), [], `${succeeded.length} known-invalid calls succeeded`);
    assert.deepStrictEqual(failures.slice(0, 20), [], `${failures.length} calls failed the wrong way`);
    for (const name of names) assert.ok((perGenerator[name] ?? 0) >= 20, `generator ${name} ran ${perGenerator[name] ?? 0} times`);
    assert.ok((perCode.ERR_INVALID_ARG ?? 0) >= 900, JSON.stringify(perCode));
    assert.ok((perCode.ERR_TORCH ?? 0) >= 50, JSON.stringify(perCode));
    if (!HAS_CUDA) assert.ok((perCode.ERR_CUDA_UNAVAILABLE ?? 0) >= 50, JSON.stringify(perCode));
    // Failed calls leak no native tensor, and the process still computes.
    assert.deepStrictEqual(torch.memory(), baseline);
    assert.strictEqual(torch.isGradEnabled(), true);
    assert.strictEqual(torch.ones([2, 2]).matmul(torch.ones([2, 2])).sum().item(), 8);
    assert.ok(B.all.every((t) => !t.isDisposed));
    // Refused calls draw no random numbers.
    const after = torch.getRngState();
    assert.ok(Buffer.from(after.dataSync()).equals(Buffer.from(rngState.dataSync())), 'the random generator moved');
    after.dispose();
    rngState.dispose();
    for (const t of [...B.all, B.leaf]) t.dispose();
  });
});
