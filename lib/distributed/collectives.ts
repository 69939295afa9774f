/**
 * Collectives of the default process group, with torch.distributed's names. They work in
 * place, as in PyTorch. The synchronous forms block until the collective finished on this
 * rank (after the async jobs queued before them, as every synchronous call); the Async forms
 * return a Promise and run on the executor in call order, so the event loop stays free.
 *
 * Every rank must call the same collectives in the same order, with tensors of the same
 * shape and dtype. A rank that died makes the others fail at their next collective; a rank
 * that hangs makes them fail after the group's timeout: ERR_DISTRIBUTED, in both cases.
 */
import { native, TensorHandle } from '../binding';
import { invalidArg, withCallerStack } from '../errors';
import { DType } from '../dtype';
import { checkTensor, Tensor } from '../tensor';
import { checkInt, checkString } from '../validate';
import { _group, Backend } from './process-group';

/** Reduction operations, as torch.distributed.ReduceOp. */
export const ReduceOp = { SUM: 'sum', AVG: 'avg', PRODUCT: 'product', MIN: 'min', MAX: 'max' } as const;
export type ReduceOpName = typeof ReduceOp[keyof typeof ReduceOp];
const OPS: readonly ReduceOpName[] = ['sum', 'avg', 'product', 'min', 'max'];

/** The dtypes Gloo reduces and moves. */
const GLOO_DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'int8', 'uint8', 'int32', 'int64'];

function checkCollectiveTensor(t: unknown, name: string, backend: Backend): Tensor {
  const x = checkTensor(t, name);
  if (backend === 'gloo' && !GLOO_DTYPES.includes(x.dtype)) invalidArg(`a tensor of dtype ${GLOO_DTYPES.join(', ')} (what Gloo supports)`, name, x);
  if (backend === 'gloo' && x.device !== 'cpu') invalidArg("a CPU tensor (backend 'gloo')", name, x);
  if (backend === 'nccl' && !x.device.startsWith('cuda')) invalidArg("a CUDA tensor (backend 'nccl')", name, x);
  if (!native.distIsDense(x.handle(name))) invalidArg('a contiguous tensor (call .contiguous() first)', name, x);
  return x;
}

function checkOp(op: unknown): ReduceOpName {
  return op === undefined ? 'sum' : checkString(op, 'op', OPS);
}

/** A list of worldSize tensors with the shape, dtype and device of `like`. */
function checkList(list: unknown, name: string, like: Tensor, g: { worldSize: number; backend: Backend }): TensorHandle[] {
  const n = g.worldSize;
  if (!Array.isArray(list) || list.length !== n) invalidArg(`an array of ${n} tensors (one per rank)`, name, list);
  return list.map((t, i) => {
    const x = checkCollectiveTensor(t, `${name}[${i}]`, g.backend);
    if (x.dtype !== like.dtype || x.device !== like.device || x.shape.join(',') !== like.shape.join(',')) {
      invalidArg(`a tensor like ${like.describeForError()}`, `${name}[${i}]`, x);
    }
    return x.handle();
  });
}

/**
 * Reduces `tensor` across all ranks, in place: every rank ends with the result.
 * `op`: 'sum' (default), 'avg' (integer tensors are divided with truncation), 'product', 'min', 'max'.
 * @example
 * const grad = torch.tensor([rank + 1.0]);
 * dist.allReduce(grad, dist.ReduceOp.AVG);
 */
export function allReduce(tensor: Tensor, op?: ReduceOpName): void {
  const g = _group('allReduce');
  const t = checkCollectiveTensor(tensor, 'tensor', g.backend);
  native.distAllReduce(t.handle(), checkOp(op));
}

/** allReduce() on the executor; resolves once `tensor` holds the result. */
export function allReduceAsync(tensor: Tensor, op?: ReduceOpName): Promise<void> {
  const g = _group('allReduceAsync');
  const t = checkCollectiveTensor(tensor, 'tensor', g.backend);
  return withCallerStack(native.distAllReduceAsync(t.handle(), checkOp(op)), new Error());
}

function checkSrc(src: unknown, worldSize: number): number {
  return checkInt(src, 'src', { min: 0, max: worldSize - 1 });
}

/**
 * Copies rank `src`'s `tensor` into `tensor` on every other rank.
 * @example
 * const seed = torch.tensor([rank === 0 ? Date.now() : 0], { dtype: 'int64' });
 * dist.broadcast(seed, 0);
 */
export function broadcast(tensor: Tensor, src: number): void {
  const g = _group('broadcast');
  const t = checkCollectiveTensor(tensor, 'tensor', g.backend);
  native.distBroadcast(t.handle(), checkSrc(src, g.worldSize));
}

/** broadcast() on the executor. */
export function broadcastAsync(tensor: Tensor, src: number): Promise<void> {
  const g = _group('broadcastAsync');
  const t = checkCollectiveTensor(tensor, 'tensor', g.backend);
  return withCallerStack(native.distBroadcastAsync(t.handle(), checkSrc(src, g.worldSize)), new Error());
}

/**
 * Gathers every rank's `tensor` into `tensorList` (worldSize tensors of its shape and dtype),
 * in rank order, on every rank.
 * @example
 * const parts = [...Array(dist.getWorldSize())].map(() => torch.zeros([2]));
 * dist.allGather(parts, torch.full([2], rank));
 */
export function allGather(tensorList: Tensor[], tensor: Tensor): void {
  const g = _group('allGather');
  const t = checkCollectiveTensor(tensor, 'tensor', g.backend);
  native.distAllGather(checkList(tensorList, 'tensorList', t, g), t.handle());
}

/** allGather() on the executor. */
export function allGatherAsync(tensorList: Tensor[], tensor: Tensor): Promise<void> {
  const g = _group('allGatherAsync');
  const t = checkCollectiveTensor(tensor, 'tensor', g.backend);
  return withCallerStack(native.distAllGatherAsync(checkList(tensorList, 'tensorList', t, g), t.handle()), new Error());
}

/**
 * Reduces `inputList[i]` across all ranks and leaves the result in `output` on rank i. With
 * Gloo (which has no reduce-scatter in libtorch 1.13) it runs as an all-reduce of the whole
 * list of which each rank keeps its part: the same values, worldSize times the traffic.
 * @example
 * const out = torch.zeros([2]);
 * dist.reduceScatter(out, [torch.ones([2]), torch.full([2], 2)]);   // rank 0: [2, 2], rank 1: [4, 4]
 */
export function reduceScatter(output: Tensor, inputList: Tensor[], op?: ReduceOpName): void {
  const g = _group('reduceScatter');
  const out = checkCollectiveTensor(output, 'output', g.backend);
  native.distReduceScatter(out.handle(), checkList(inputList, 'inputList', out, g), checkOp(op));
}

/** reduceScatter() on the executor. */
export function reduceScatterAsync(output: Tensor, inputList: Tensor[], op?: ReduceOpName): Promise<void> {
  const g = _group('reduceScatterAsync');
  const out = checkCollectiveTensor(output, 'output', g.backend);
  return withCallerStack(native.distReduceScatterAsync(out.handle(), checkList(inputList, 'inputList', out, g), checkOp(op)), new Error());
}
