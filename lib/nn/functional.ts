/**
 * torch.nn.functional's losses, with PyTorch's semantics and option names in camelCase. Each
 * validates its arguments here, then calls libtorch's own operator (aten::cross_entropy_loss,
 * aten::nll_loss_nd, aten::mse_loss, …) through the dispatcher, as Python's functions do, so
 * values and gradients are PyTorch's exactly. All are synchronous and record autograd.
 *
 * Shapes (one rule per family):
 * - crossEntropy / nllLoss: input (N, C), (C) or (N, C, d1, …); class-index targets are int64 of
 *   shape (N), () or (N, d1, …); class-probability targets (crossEntropy) have the input's shape.
 * - mseLoss, l1Loss, smoothL1Loss, huberLoss: input and target must be broadcastable, as in
 *   PyTorch; when their shapes differ both are broadcast and a warning is emitted once per shape
 *   pair (PyTorch's UserWarning, as a process warning of type 'UserWarning').
 * - binaryCrossEntropy / binaryCrossEntropyWithLogits: the target has the input's shape (PyTorch
 *   raises otherwise); weight and posWeight broadcast to it.
 * - ctcLoss: logProbs (T, N, C) or (T, C); targets (N, S) padded, or 1-D concatenated.
 *
 * Values that only libtorch can check cheaply (BCE inputs outside [0, 1], class indices of
 * tensors on a GPU or of large tensors) arrive as ERR_TORCH errors with libtorch's message.
 */
import { atenOp as op, native, TensorHandle } from '../binding';
import { DType, isFloating } from '../dtype';
import { invalidArg } from '../errors';
import { checkTensor, keep, sameShape, Tensor, tidy, tracing, wrap } from '../tensor';
import { arange, tensor as makeTensor } from '../creation';
import { where } from '../ops';
import { checkBool, checkInt, checkOptions, checkString } from '../validate';

const call = native.call;

const OP = {
  crossEntropy: op('cross_entropy_loss'),
  nllLoss: op('nll_loss_nd'),
  mseLoss: op('mse_loss'),
  l1Loss: op('l1_loss'),
  smoothL1Loss: op('smooth_l1_loss'),
  huberLoss: op('huber_loss'),
  bce: op('binary_cross_entropy'),
  bceWithLogits: op('binary_cross_entropy_with_logits'),
  ctcList: op('ctc_loss', 'IntList'),
  ctcTensor: op('ctc_loss', 'Tensor'),
  broadcast: op('broadcast_tensors'),
  expand: op('expand'),
};

/** How the per-element losses are combined: PyTorch's `reduction`. */
export type Reduction = 'none' | 'mean' | 'sum';
/** @internal */
export const REDUCTIONS: readonly Reduction[] = ['none', 'mean', 'sum'];
/** libtorch's at::Reduction enum. */
const REDUCTION_ENUM: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

export interface CrossEntropyOptions {
  /** A weight per class: a 1-D tensor of C elements with the input's dtype. Default: none. */
  weight?: Tensor | null;
  /** Targets equal to this class index are ignored (index targets only). Default -100. */
  ignoreIndex?: number;
  /** Default 'mean'. */
  reduction?: Reduction;
  /** Amount of smoothing in [0, 1]. Default 0. */
  labelSmoothing?: number;
}
export interface NLLLossOptions {
  /** A weight per class: a 1-D tensor of C elements with the input's dtype. Default: none. */
  weight?: Tensor | null;
  /** Targets equal to this class index are ignored. Default -100. */
  ignoreIndex?: number;
  /** Default 'mean'. */
  reduction?: Reduction;
}
export interface ReductionOptions {
  /** Default 'mean'. */
  reduction?: Reduction;
}
export interface SmoothL1LossOptions extends ReductionOptions {
  /** Where the loss changes from quadratic to linear (>= 0; 0 is the L1 loss). Default 1. */
  beta?: number;
}
export interface HuberLossOptions extends ReductionOptions {
  /** Where the loss changes from quadratic to linear (> 0). Default 1. */
  delta?: number;
}
export interface BCEOptions extends ReductionOptions {
  /** A weight per element, broadcast to the input's shape. Default: none. */
  weight?: Tensor | null;
}
export interface BCEWithLogitsOptions extends BCEOptions {
  /** A weight of positive examples, broadcast to the input's shape (usually one per class, the last dimension). Default: none. */
  posWeight?: Tensor | null;
}
export interface CTCLossOptions extends ReductionOptions {
  /** The blank label's index. Default 0. */
  blank?: number;
  /** Replace infinite losses (impossible alignments) and their gradients by zero. Default false. */
  zeroInfinity?: boolean;
}
/** CTC lengths: an integer tensor of shape [N], an array of N integers, or one integer (unbatched). */
export type Lengths = Tensor | number[] | number;

// ---- shared validation -------------------------------------------------------------------------

const shapeStr = (s: readonly number[]) => `[${s.join(', ')}]`;
const INT_DTYPES: readonly DType[] = ['int64', 'int32', 'int16', 'int8', 'uint8'];
/** Class indices are checked in JS only for CPU tensors up to this size (reading them is cheap). */
const INDEX_CHECK_LIMIT = 65536;

/** @internal Validates `reduction` (default 'mean'). */
export function reductionOf(value: unknown): Reduction {
  return value === undefined ? 'mean' : checkString(value, 'reduction', REDUCTIONS);
}

function floatTensor(value: unknown, name: string): Tensor {
  const t = checkTensor(value, name);
  if (!isFloating(t.dtype)) invalidArg('a floating-point tensor', name, t);
  return t;
}

function optionalTensor(value: unknown, name: string): Tensor | null {
  return value === undefined || value === null ? null : checkTensor(value, name);
}

/** The shape two shapes broadcast to, or null when they do not. */
function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** A tensor that broadcasts to `shape` (e.g. a weight per class for [N, C]). */
function broadcastsTo(t: Tensor, shape: readonly number[], name: string): void {
  const b = broadcastShapes(t.shape, shape);
  if (b === null || !sameShape(b, shape)) invalidArg(`a tensor whose shape broadcasts to the input's shape ${shapeStr(shape)}`, name, t);
}

/** A received value that prints as the tensor plus the offending element. */
function holding(t: Tensor, value: number): { describeForError(): string } {
  return { describeForError: () => `${t.describeForError()} containing ${value}` };
}

/** Whether element values may be read now: on the CPU, not too many, not while tracing. */
function readable(t: Tensor, limit = INDEX_CHECK_LIMIT): boolean {
  return !tracing.active && t.device === 'cpu' && t.numel() <= limit;
}

function intValues(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
}

// ---- classification ------------------------------------------------------------------------------

/** Input (N, C, …) or (C): the class count and the shape of an index target. */
function classShape(x: Tensor): [number, number[]] {
  if (x.dim() < 1) invalidArg('a tensor of shape [N, C], [C] or [N, C, d1, ...]', 'input', x);
  if (x.dim() === 1) return [x.shape[0], []];
  return [x.shape[1], [x.shape[0], ...x.shape.slice(2)]];
}

function indexTarget(x: Tensor, t: Tensor, classes: number, expected: number[], ignoreIndex: number): void {
  if (!sameShape(t.shape, expected)) invalidArg(`an int64 tensor of shape ${shapeStr(expected)} (class indices for an input of shape ${shapeStr(x.shape)})`, 'target', t);
  if (!readable(t)) return; // libtorch checks the rest ("Target 7 is out of bounds")
  for (const v of intValues(t)) {
    if ((v < 0 || v >= classes) && v !== ignoreIndex) invalidArg(`class indices in [0, ${classes - 1}] or ignoreIndex (${ignoreIndex})`, 'target', holding(t, v));
  }
}

function classWeight(value: unknown, x: Tensor, classes: number): TensorHandle | null {
  const w = optionalTensor(value, 'weight');
  if (w === null) return null;
  if (w.dim() !== 1 || w.shape[0] !== classes || w.dtype !== x.dtype) invalidArg(`a 1-D ${x.dtype} tensor of ${classes} class weights (the input's dtype)`, 'weight', w);
  return w.handle('weight');
}

function ignoreIndexOf(value: unknown): number {
  return value === undefined ? -100 : checkInt(value, 'ignoreIndex');
}

/**
 * Cross entropy between logits and class indices or class probabilities, torch.nn.functional.cross_entropy.
 * input: (N, C), (C) or (N, C, d1, …) unnormalized scores; target: int64 class indices of shape
 * (N), () or (N, d1, …), or probabilities of the input's shape. Defaults: weight none,
 * ignoreIndex -100, reduction 'mean', labelSmoothing 0.
 * @example
 * const logits = torch.randn([4, 3], { requiresGrad: true });
 * const loss = nn.functional.crossEntropy(logits, torch.tensor([0, 2, 1, 2], { dtype: 'int64' }), { labelSmoothing: 0.1 });
 * loss.backward();
 */
export function crossEntropy(input: Tensor, target: Tensor, opts?: CrossEntropyOptions): Tensor {
  const x = floatTensor(input, 'input');
  const t = checkTensor(target, 'target');
  const o = checkOptions<CrossEntropyOptions>(opts, 'options', ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing']);
  const reduction = reductionOf(o.reduction);
  const ignoreIndex = ignoreIndexOf(o.ignoreIndex);
  const smoothing = o.labelSmoothing === undefined ? 0 : o.labelSmoothing;
  if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing <= 1)) invalidArg('a number in [0, 1]', 'labelSmoothing', smoothing);
  const [classes, expected] = classShape(x);
  if (isFloating(t.dtype)) {
    if (!sameShape(t.shape, x.shape)) invalidArg(`a floating-point tensor of shape ${shapeStr(x.shape)} (class probabilities, the input's shape)`, 'target', t);
    if (ignoreIndex >= 0) invalidArg('a negative ignoreIndex (class-probability targets ignore no class)', 'ignoreIndex', ignoreIndex);
  } else if (t.dtype === 'int64') {
    indexTarget(x, t, classes, expected, ignoreIndex);
  } else {
    invalidArg('an int64 tensor of class indices or a floating-point tensor of class probabilities', 'target', t);
  }
  const w = classWeight(o.weight, x, classes);
  return wrap(call(OP.crossEntropy, x.handle('input'), t.handle('target'), w, REDUCTION_ENUM[reduction], ignoreIndex, smoothing));
}

/**
 * Negative log-likelihood of log-probabilities at class indices, torch.nn.functional.nll_loss.
 * input: (N, C), (C) or (N, C, d1, …) log-probabilities; target: int64 of shape (N), () or
 * (N, d1, …). Defaults: weight none, ignoreIndex -100, reduction 'mean'.
 * @example const loss = nn.functional.nllLoss(logits.logSoftmax(1), target);
 */
export function nllLoss(input: Tensor, target: Tensor, opts?: NLLLossOptions): Tensor {
  const x = floatTensor(input, 'input');
  const t = checkTensor(target, 'target');
  const o = checkOptions<NLLLossOptions>(opts, 'options', ['weight', 'ignoreIndex', 'reduction']);
  const reduction = reductionOf(o.reduction);
  const ignoreIndex = ignoreIndexOf(o.ignoreIndex);
  const [classes, expected] = classShape(x);
  if (t.dtype !== 'int64') invalidArg('an int64 tensor of class indices', 'target', t);
  indexTarget(x, t, classes, expected, ignoreIndex);
  const w = classWeight(o.weight, x, classes);
  return wrap(call(OP.nllLoss, x.handle('input'), t.handle('target'), w, REDUCTION_ENUM[reduction], ignoreIndex));
}

// ---- regression ------------------------------------------------------------------------------------

const warned = new Set<string>();

/** input and target, broadcast as PyTorch does (with its warning) when their shapes differ. */
function pointwise(input: unknown, target: unknown, run: (x: TensorHandle, t: TensorHandle) => unknown): Tensor {
  const x = checkTensor(input, 'input');
  const t = checkTensor(target, 'target');
  if (sameShape(x.shape, t.shape)) return wrap(run(x.handle('input'), t.handle('target')));
  if (broadcastShapes(x.shape, t.shape) === null) invalidArg(`a tensor whose shape broadcasts with the input's shape ${shapeStr(x.shape)}`, 'target', t);
  const message = `Using a target size (${shapeStr(t.shape)}) that is different to the input size (${shapeStr(x.shape)}). `
    + 'This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.';
  if (!warned.has(message) && warned.size < 100) {
    warned.add(message);
    process.emitWarning(message, 'UserWarning');
  }
  const [bx, bt] = call(OP.broadcast, [x.handle('input'), t.handle('target')]) as TensorHandle[];
  try {
    return wrap(run(bx, bt));
  } finally {
    native.dispose(bx);
    native.dispose(bt);
  }
}

/**
 * Mean squared error, torch.nn.functional.mse_loss. Input and target broadcast (PyTorch warns; so does this).
 * Default reduction 'mean'.
 * @example const loss = nn.functional.mseLoss(prediction, target, { reduction: 'sum' });
 */
export function mseLoss(input: Tensor, target: Tensor, opts?: ReductionOptions): Tensor {
  const r = REDUCTION_ENUM[reductionOf(checkOptions<ReductionOptions>(opts, 'options', ['reduction']).reduction)];
  return pointwise(input, target, (x, t) => call(OP.mseLoss, x, t, r));
}

/**
 * Mean absolute error, torch.nn.functional.l1_loss. Default reduction 'mean'.
 * @example const loss = nn.functional.l1Loss(prediction, target);
 */
export function l1Loss(input: Tensor, target: Tensor, opts?: ReductionOptions): Tensor {
  const r = REDUCTION_ENUM[reductionOf(checkOptions<ReductionOptions>(opts, 'options', ['reduction']).reduction)];
  return pointwise(input, target, (x, t) => call(OP.l1Loss, x, t, r));
}

/**
 * Smooth L1 loss, torch.nn.functional.smooth_l1_loss: 0.5·d²/beta where |d| < beta, else |d| − 0.5·beta.
 * Defaults: reduction 'mean', beta 1 (beta 0 is the L1 loss).
 * @example const loss = nn.functional.smoothL1Loss(prediction, target, { beta: 0.5 });
 */
export function smoothL1Loss(input: Tensor, target: Tensor, opts?: SmoothL1LossOptions): Tensor {
  const o = checkOptions<SmoothL1LossOptions>(opts, 'options', ['reduction', 'beta']);
  const r = REDUCTION_ENUM[reductionOf(o.reduction)];
  const beta = o.beta === undefined ? 1 : o.beta;
  if (typeof beta !== 'number' || !(beta >= 0)) invalidArg('a number >= 0', 'beta', beta);
  return pointwise(input, target, (x, t) => call(OP.smoothL1Loss, x, t, r, beta));
}

/**
 * Huber loss, torch.nn.functional.huber_loss: 0.5·d² where |d| < delta, else delta·(|d| − 0.5·delta).
 * Defaults: reduction 'mean', delta 1.
 * @example const loss = nn.functional.huberLoss(prediction, target, { delta: 2 });
 */
export function huberLoss(input: Tensor, target: Tensor, opts?: HuberLossOptions): Tensor {
  const o = checkOptions<HuberLossOptions>(opts, 'options', ['reduction', 'delta']);
  const r = REDUCTION_ENUM[reductionOf(o.reduction)];
  const delta = o.delta === undefined ? 1 : o.delta;
  if (typeof delta !== 'number' || !(delta > 0)) invalidArg('a number > 0', 'delta', delta);
  return pointwise(input, target, (x, t) => call(OP.huberLoss, x, t, r, delta));
}

// ---- binary classification ----------------------------------------------------------------------------

/**
 * Binary cross entropy of probabilities, torch.nn.functional.binary_cross_entropy. input: values
 * in [0, 1] (libtorch rejects others); target: the input's dtype and shape. weight broadcasts
 * to the input's shape. Defaults: weight none, reduction 'mean'.
 * @example const loss = nn.functional.binaryCrossEntropy(logits.sigmoid(), labels);
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts?: BCEOptions): Tensor {
  const x = floatTensor(input, 'input');
  const t = checkTensor(target, 'target');
  const o = checkOptions<BCEOptions>(opts, 'options', ['weight', 'reduction']);
  const r = REDUCTION_ENUM[reductionOf(o.reduction)];
  if (!sameShape(t.shape, x.shape) || t.dtype !== x.dtype) invalidArg(`a ${x.dtype} tensor of shape ${shapeStr(x.shape)} (the input's dtype and shape)`, 'target', t);
  const w = optionalTensor(o.weight, 'weight');
  if (w === null) return wrap(call(OP.bce, x.handle('input'), t.handle('target'), null, r));
  broadcastsTo(w, x.shape, 'weight');
  if (sameShape(w.shape, x.shape)) return wrap(call(OP.bce, x.handle('input'), t.handle('target'), w.handle('weight'), r));
  const expanded = call(OP.expand, w.handle('weight'), [...x.shape]) as TensorHandle; // what PyTorch's Python function does
  try {
    return wrap(call(OP.bce, x.handle('input'), t.handle('target'), expanded, r));
  } finally {
    native.dispose(expanded);
  }
}

/**
 * Sigmoid and binary cross entropy in one numerically stable step,
 * torch.nn.functional.binary_cross_entropy_with_logits. target: the input's shape. weight and
 * posWeight broadcast to the input's shape (posWeight usually has one value per class, the last
 * dimension). Defaults: weight none, reduction 'mean', posWeight none.
 * @example const loss = nn.functional.binaryCrossEntropyWithLogits(logits, labels, { posWeight: torch.tensor([3, 1, 1]) });
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts?: BCEWithLogitsOptions): Tensor {
  const x = floatTensor(input, 'input');
  const t = checkTensor(target, 'target');
  const o = checkOptions<BCEWithLogitsOptions>(opts, 'options', ['weight', 'reduction', 'posWeight']);
  const r = REDUCTION_ENUM[reductionOf(o.reduction)];
  if (!sameShape(t.shape, x.shape)) invalidArg(`a tensor of shape ${shapeStr(x.shape)} (the input's shape)`, 'target', t);
  const w = optionalTensor(o.weight, 'weight');
  if (w !== null) broadcastsTo(w, x.shape, 'weight');
  const pw = optionalTensor(o.posWeight, 'posWeight');
  if (pw !== null) broadcastsTo(pw, x.shape, 'posWeight');
  return wrap(call(OP.bceWithLogits, x.handle('input'), t.handle('target'), w?.handle('weight') ?? null, pw?.handle('posWeight') ?? null, r));
}

// ---- CTC ------------------------------------------------------------------------------------------------

/** Lengths as [values or null (a tensor that cannot be read now), the tensor or null]. */
function lengthsOf(value: unknown, name: string, n: number, batched: boolean): [number[] | null, Tensor | null] {
  const what = batched ? `an integer tensor of shape [${n}] or an array of ${n} integers (one per batch element)` : 'an integer, an array of one integer or an integer tensor of one element';
  if (typeof value === 'number') {
    if (batched && n !== 1) invalidArg(what, name, value);
    return [[checkInt(value, name, { min: 0 })], null];
  }
  if (Array.isArray(value)) {
    if (value.length !== n) invalidArg(what, name, value);
    return [value.map((v) => checkInt(v, name, { min: 0 })), null];
  }
  if (!(value instanceof Tensor)) invalidArg(what, name, value);
  const t = checkTensor(value, name);
  const okShape = batched ? sameShape(t.shape, [n]) : t.numel() === 1 && t.dim() <= 1;
  if (!INT_DTYPES.includes(t.dtype) || !okShape) invalidArg(what, name, t);
  if (!readable(t)) return [null, t];
  const values = intValues(t);
  values.forEach((v) => { if (v < 0) invalidArg('lengths >= 0', name, holding(t, v)); });
  return [values, t];
}

/** ctcLoss with labels checked by tensor operations (see ctcLoss). */
function guardedCtc(lp: Tensor, tg: Tensor, classes: number, padded: boolean, lengths: Tensor | number[] | null, run: (safe: Tensor) => Tensor): Tensor {
  return tidy(() => {
    let ok = tg.ge(0).mul(tg.lt(classes));
    if (padded && lengths !== null) {
      const len = lengths instanceof Tensor ? lengths.to('int64') : makeTensor(lengths, { dtype: 'int64', device: tg.device });
      const beyond = arange(tg.shape[1], { dtype: 'int64', device: tg.device }).unsqueeze(0).ge(len.unsqueeze(1));
      ok = ok.add(beyond).gt(0); // a padding position may hold anything
    }
    const safe = where(ok, tg, 0).to(tg.dtype);
    const penalty = where(ok.to('float32').min().gt(0), 0, NaN).to(lp.dtype);
    return keep(withoutGuard(() => run(safe)).add(penalty));
  });
}

/** Runs fn with the label guard of ctcLoss turned off (its targets are already safe). */
let guardOff = false;
function withoutGuard<T>(fn: () => T): T {
  guardOff = true;
  try { return fn(); } finally { guardOff = false; }
}

/**
 * Connectionist Temporal Classification loss, torch.nn.functional.ctc_loss.
 * logProbs: (T, N, C) log-probabilities (logSoftmax(2)), or (T, C) unbatched; targets: int64 or
 * int32 class indices, (N, S) padded or 1-D concatenated (sum(targetLengths) elements);
 * inputLengths, targetLengths: an integer tensor of shape (N) or an array of N integers.
 * Defaults: blank 0, reduction 'mean' (each loss divided by its target length, then averaged),
 * zeroInfinity false.
 * @example
 * const logProbs = torch.randn([50, 16, 20], { requiresGrad: true }).logSoftmax(2);
 * const targets = torch.randint(1, 20, [16, 30]);
 * const loss = nn.functional.ctcLoss(logProbs, targets, Array(16).fill(50), Array(16).fill(30));
 */
export function ctcLoss(logProbs: Tensor, targets: Tensor, inputLengths: Lengths, targetLengths: Lengths, opts?: CTCLossOptions): Tensor {
  const lp = checkTensor(logProbs, 'logProbs');
  if (!isFloating(lp.dtype) || (lp.dim() !== 3 && lp.dim() !== 2)) invalidArg('a floating-point tensor of shape [T, N, C], or [T, C] unbatched', 'logProbs', lp);
  const batched = lp.dim() === 3;
  const [steps, n, classes] = batched ? lp.shape : [lp.shape[0], 1, lp.shape[1]];
  const tg = checkTensor(targets, 'targets');
  if (tg.dtype !== 'int64' && tg.dtype !== 'int32') invalidArg('an int64 or int32 tensor of class indices', 'targets', tg);
  const padded = tg.dim() === 2;
  if (batched ? !(padded && tg.shape[0] === n) && tg.dim() !== 1 : tg.dim() !== 1) {
    invalidArg(batched ? `a tensor of shape [${n}, S] (padded) or a 1-D tensor (concatenated targets)` : 'a 1-D tensor (unbatched)', 'targets', tg);
  }
  const o = checkOptions<CTCLossOptions>(opts, 'options', ['blank', 'reduction', 'zeroInfinity']);
  const blank = o.blank === undefined ? 0 : checkInt(o.blank, 'blank', { min: 0, max: Math.max(classes - 1, 0) });
  const r = REDUCTION_ENUM[reductionOf(o.reduction)];
  const zeroInfinity = o.zeroInfinity === undefined ? false : checkBool(o.zeroInfinity, 'zeroInfinity');
  const [inLen, inT] = lengthsOf(inputLengths, 'inputLengths', n, batched);
  const [tgLen, tgT] = lengthsOf(targetLengths, 'targetLengths', n, batched);
  if (inLen !== null) inLen.forEach((v) => { if (v > steps) invalidArg(`lengths <= ${steps} (the length T of logProbs)`, 'inputLengths', inT ? holding(inT, v) : inputLengths); });
  if (tgLen !== null) {
    const bad = (what: string, v: number) => invalidArg(what, 'targetLengths', tgT ? holding(tgT, v) : targetLengths);
    if (padded) tgLen.forEach((v) => { if (v > tg.shape[1]) bad(`lengths <= ${tg.shape[1]} (the padded length S of targets)`, v); });
    else {
      const total = tgLen.reduce((a, b) => a + b, 0);
      if (total !== tg.numel()) bad(`lengths that add up to ${tg.numel()} (the number of concatenated targets)`, total);
    }
  }
  // libtorch's CPU kernel does not check label values (it would read outside logProbs): check them here.
  if (readable(tg, Infinity)) {
    const values = intValues(tg);
    const used = (i: number) => {
      if (!padded || tgLen === null) return true;
      const s = tg.shape[1];
      return i % s < tgLen[Math.floor(i / s)];
    };
    values.forEach((v, i) => {
      if ((v < 0 || v >= classes) && used(i)) invalidArg(`class indices in [0, ${classes - 1}] (the last dimension of logProbs)`, 'targets', holding(tg, v));
    });
  }
  // Where the labels cannot be read now (while tracing trainStep's graph, or off the CPU), the
  // check goes into the computation: bad labels are replaced by the blank before the kernel
  // (no read outside logProbs) and make the loss NaN, which trainStep refuses to apply.
  if (!guardOff && !readable(tg, Infinity)) return guardedCtc(lp, tg, classes, padded, tgT ?? tgLen, (safe) => ctcLoss(lp, safe, inputLengths, targetLengths, opts));
  const args = [lp.handle('logProbs'), tg.handle('targets')];
  if (inT === null && tgT === null) return wrap(call(OP.ctcList, ...args, inLen, tgLen, blank, r, zeroInfinity));
  // One tensor and one array: the array becomes a tensor (the Tensor overload reads both the same way).
  const made: Tensor[] = [];
  const asTensor = (t: Tensor | null, values: number[] | null, name: string): TensorHandle => {
    if (t !== null) return t.handle(name);
    const m = makeTensor(values!, { dtype: 'int64' });
    made.push(m);
    return m.handle(name);
  };
  try {
    return wrap(call(OP.ctcTensor, ...args, asTensor(inT, inLen, 'inputLengths'), asTensor(tgT, tgLen, 'targetLengths'), blank, r, zeroInfinity));
  } finally {
    made.forEach((m) => m.dispose());
  }
}

// The rest of PyTorch's nn.functional that maps onto one aten operator, generated
// (scripts/gen-api/); the functions above are hand-written and the generator skips their names.
export * from './functional-python';
export * from './functional-resample';
export { multiHeadAttentionForward } from './attention';
export * from '../api/generated/functional';
