/**
 * Packed sequences, torch.nn.utils.rnn: PackedSequence, packPaddedSequence, padPackedSequence.
 * The same operations as PyTorch's Python functions (sort, index_select, libtorch's
 * _pack_padded_sequence / _pad_packed_sequence), so the same layout and the same numbers.
 * RNN, LSTM and GRU take a PackedSequence as input and return one (nn/rnn.ts); unlike
 * `forward(x, { lengths })`, that leaves padding the output to the caller, who may not need it.
 */
import { atenOp as op, native, TensorHandle } from '../binding';
import { invalidArg } from '../errors';
import { checkTensor, Tensor, TENSORS, tracing, wrap } from '../tensor';
import { tensor } from '../creation';
import { checkBool, checkInt, checkNumber, checkOptions } from '../validate';

const call = native.call;
const OP = {
  sort: op('sort'), indexSelect: op('index_select'), pack: op('_pack_padded_sequence'), pad: op('_pad_packed_sequence'),
  emptyLike: op('empty_like'), scatter: op('scatter', 'src'), arange: op('arange', 'start_step'),
};
const INT64 = 4; // c10::ScalarType::Long

/**
 * A batch of variable-length sequences packed time step by time step, torch.nn.utils.rnn.PackedSequence:
 * `data` [sum of lengths, *], `batchSizes` (int64, CPU: how many sequences are still running at
 * each step), `sortedIndices` / `unsortedIndices` (int64; null when the batch was already sorted).
 * Made by packPaddedSequence and by the recurrent modules; `dispose()` frees its tensors.
 */
export class PackedSequence {
  constructor(
    readonly data: Tensor,
    readonly batchSizes: Tensor<'int64'>,
    readonly sortedIndices: Tensor<'int64'> | null = null,
    readonly unsortedIndices: Tensor<'int64'> | null = null,
  ) {}

  /** The four tensors, for tidy() and keep(). @internal */
  [TENSORS](): Tensor[] {
    return [this.data, this.batchSizes, ...(this.sortedIndices ? [this.sortedIndices] : []), ...(this.unsortedIndices ? [this.unsortedIndices] : [])];
  }

  /** A PackedSequence over new data with this one's batch sizes and orders (new Tensor objects over the same memory). */
  withData(data: Tensor): PackedSequence {
    return new PackedSequence(data, this.batchSizes.detach(), this.sortedIndices?.detach() ?? null, this.unsortedIndices?.detach() ?? null);
  }

  dispose(): void {
    for (const t of this[TENSORS]()) t.dispose();
  }
}

/** @internal Lengths as a CPU int64 tensor (a new one, which the caller disposes), checked against batch and seq unless tracing. */
export function lengthsTensor(lengths: unknown, batch: number, seq: number): Tensor<'int64'> {
  if (tracing.active && lengths instanceof Tensor) {
    // While tracing a lengths tensor is a graph input: its values are not read (they would
    // become constants); libtorch checks them.
    const t = checkTensor(lengths, 'lengths');
    if (t.dim() !== 1 || t.dtype !== 'int64' || t.shape[0] !== batch) invalidArg(`a 1-D int64 tensor of ${batch} lengths (the batch size)`, 'lengths', t);
    return t.detach() as Tensor<'int64'>;
  }
  let values: number[];
  if (Array.isArray(lengths)) {
    values = lengths;
  } else {
    const t = checkTensor(lengths, 'lengths');
    if (t.dim() !== 1 || (t.dtype !== 'int64' && t.dtype !== 'int32')) invalidArg('a 1-D int64 tensor or an array of integers', 'lengths', t);
    values = Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
  }
  if (values.length !== batch) invalidArg(`${batch} lengths (the batch size)`, 'lengths', lengths);
  if (!values.every((v) => Number.isInteger(v) && v >= 1 && v <= seq)) invalidArg(`integer lengths in [1, ${seq}] (the sequence length)`, 'lengths', lengths);
  return tensor(values, { dtype: 'int64' });
}

/**
 * Packs a padded batch, torch.nn.utils.rnn.pack_padded_sequence. `input` is [T, B, *]
 * ([B, T, *] with batchFirst); `lengths` (array or 1-D int tensor) each sequence's length.
 * With enforceSorted (the default, as in PyTorch) the lengths must be in decreasing order;
 * enforceSorted: false sorts them and records the order in the result.
 * @example const packed = nn.utils.rnn.packPaddedSequence(x, [5, 3, 4], { batchFirst: true, enforceSorted: false });
 */
export function packPaddedSequence(input: Tensor, lengths: Tensor | number[], opts?: { batchFirst?: boolean; enforceSorted?: boolean }): PackedSequence {
  const x = checkTensor(input, 'input');
  const o = checkOptions<{ batchFirst: boolean; enforceSorted: boolean }>(opts, 'options', ['batchFirst', 'enforceSorted']);
  const batchFirst = o.batchFirst === undefined ? false : checkBool(o.batchFirst, 'batchFirst');
  const enforceSorted = o.enforceSorted === undefined ? true : checkBool(o.enforceSorted, 'enforceSorted');
  if (x.dim() < 2) invalidArg('a tensor of at least 2 dimensions ([T, B, *], or [B, T, *] with batchFirst)', 'input', x);
  const batchDim = batchFirst ? 0 : 1;
  const len = lengthsTensor(lengths, x.shape[batchDim], x.shape[1 - batchDim]);
  if (enforceSorted && !tracing.active) {
    const v = Array.from(len.dataSync() as ArrayLike<bigint>, Number);
    if (v.some((n, i) => i > 0 && n > v[i - 1])) {
      len.dispose();
      invalidArg('lengths in decreasing order when enforceSorted is true (pass { enforceSorted: false } to have them sorted)', 'lengths', lengths);
    }
  }
  if (enforceSorted) {
    try {
      const [data, batchSizes] = call(OP.pack, x.handle('input'), len.handle(), batchFirst) as [TensorHandle, TensorHandle];
      return new PackedSequence(wrap(data), wrap<'int64'>(batchSizes));
    } finally {
      len.dispose();
    }
  }
  const [sortedLengths, sortedIndices] = call(OP.sort, len.handle(), 0, true) as [TensorHandle, TensorHandle];
  len.dispose();
  const sortedInput = call(OP.indexSelect, x.handle('input'), batchDim, sortedIndices) as TensorHandle;
  try {
    const [data, batchSizes] = call(OP.pack, sortedInput, sortedLengths, batchFirst) as [TensorHandle, TensorHandle];
    // unsortedIndices = the inverse permutation, as PyTorch's invert_permutation
    const n = x.shape[batchDim];
    const positions = call(OP.arange, 0, n, 1, INT64, null, null) as TensorHandle;
    const empty = call(OP.emptyLike, sortedIndices) as TensorHandle;
    const unsorted = call(OP.scatter, empty, 0, sortedIndices, positions) as TensorHandle;
    native.dispose(positions);
    native.dispose(empty);
    return new PackedSequence(wrap(data), wrap<'int64'>(batchSizes), wrap<'int64'>(sortedIndices), wrap<'int64'>(unsorted));
  } finally {
    native.dispose(sortedInput);
    native.dispose(sortedLengths);
  }
}

/**
 * Pads a packed batch back, torch.nn.utils.rnn.pad_packed_sequence: returns [padded, lengths]
 * with padded [T, B, *] ([B, T, *] with batchFirst) in the original batch order, positions past
 * each length set to paddingValue (0), T the longest length or totalLength.
 */
export function padPackedSequence(sequence: PackedSequence, opts?: { batchFirst?: boolean; paddingValue?: number; totalLength?: number }): [Tensor, Tensor<'int64'>] {
  if (!(sequence instanceof PackedSequence)) invalidArg('a PackedSequence', 'sequence', sequence);
  const o = checkOptions<{ batchFirst: boolean; paddingValue: number; totalLength: number }>(opts, 'options', ['batchFirst', 'paddingValue', 'totalLength']);
  const batchFirst = o.batchFirst === undefined ? false : checkBool(o.batchFirst, 'batchFirst');
  const paddingValue = o.paddingValue === undefined ? 0 : checkNumber(o.paddingValue, 'paddingValue');
  const steps = sequence.batchSizes.shape[0];
  let total = steps;
  if (o.totalLength !== undefined) {
    total = checkInt(o.totalLength, 'totalLength');
    if (total < steps) invalidArg(`a totalLength of at least ${steps} (the longest sequence)`, 'totalLength', o.totalLength);
  }
  const [padded, lengths] = call(OP.pad, sequence.data.handle('sequence.data'), sequence.batchSizes.handle('sequence.batchSizes'), batchFirst, paddingValue, total) as [TensorHandle, TensorHandle];
  if (sequence.unsortedIndices === null) return [wrap(padded), wrap<'int64'>(lengths)];
  const u = sequence.unsortedIndices.handle('sequence.unsortedIndices');
  try {
    return [wrap(call(OP.indexSelect, padded, batchFirst ? 0 : 1, u) as TensorHandle), wrap<'int64'>(call(OP.indexSelect, lengths, 0, u) as TensorHandle)];
  } finally {
    native.dispose(padded);
    native.dispose(lengths);
  }
}
