/**
 * The `torch` TensorFlow.js backend: a KernelBackend whose DataIds map to libtorch tensors.
 *
 * Storage: each DataId has one entry holding a native tensor handle (float32, int32, bool
 * and complex64 tensors are libtorch Float, Int, Bool and ComplexFloat tensors of the same
 * shape) or, for tfjs `string` tensors, which libtorch has no type for, the encoded bytes in JS.
 * A small float32/int32 tensor may also have its values in JS (`small`: the small kernels'
 * results, which get a native tensor only when a libtorch kernel takes them, and the inputs
 * they read; kernels/small.ts).
 * The DataIds this backend makes are their own entries (no map between them); data moved in
 * from another backend is found through a DataStorage (a WeakMap) under that backend's DataId.
 * Reference counts follow tfjs's contract (write → 1, incRef, disposeData decrements and frees
 * the native tensor at 0), so `tf.memory()` counts exactly what is alive and `dispose`/`tidy`
 * free native memory at once.
 *
 * Reading: `readSync` copies on the JS thread once the tensor's data is written (in the
 * asynchronous mode, after the queued job that writes it); `read` copies a small tensor whose
 * data is there at once, anything else on torchrnn's executor thread after every queued job.
 *
 * Threads: everything here runs on the JS thread; kernels are synchronous libtorch calls, or,
 * in the asynchronous mode (lib/tfjs/queue.ts), jobs queued on torchrnn's executor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendTimingInfo, DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { native, TensorHandle } from '../binding';
import { SCALAR_TYPE } from '../dtype';
import type { KernelHost, TensorData } from './kernel-host';
import { usePacedFit } from './queue';
import { installFusedRecurrentLayers } from './rnn';
import { atenOwned, CODE, release } from './torch';

type BackendValues = tf.backend_util.BackendValues;

export type { TensorData };

/** The floating-point, integer and bool array types libtorch's fromData accepts directly. */
function sourceCode(values: ArrayBufferView): number | null {
  if (values instanceof Float32Array) return SCALAR_TYPE.float32;
  if (values instanceof Int32Array) return SCALAR_TYPE.int32;
  if (values instanceof Uint8Array || values instanceof Uint8ClampedArray) return SCALAR_TYPE.uint8;
  if (values instanceof Float64Array) return SCALAR_TYPE.float64;
  if (values instanceof Int16Array) return SCALAR_TYPE.int16;
  if (values instanceof Int8Array) return SCALAR_TYPE.int8;
  return null;
}

/**
 * One DataId's storage. The backend's own DataIds (write, makeOutput) ARE their entries: a
 * kernel finds its inputs' tensors without a map lookup, and making or freeing a tensor touches
 * no WeakMap (tfjs-core's DataStorage costs a WeakMap insertion per tensor, a fifth of a tiny
 * kernel). Only data moved in from another backend (`move`) keeps a DataStorage entry under
 * that backend's DataId. Every live entry is on the backend's list (prev/next), for dispose().
 */
class Entry implements TensorData {
  h: TensorHandle | null;
  small: Float32Array | Int32Array | null = null;
  strings: Uint8Array[] | null;
  dtype: DataType;
  shape: number[];
  refCount: number;
  recurrent: TensorData['recurrent'] = undefined;
  /** The backend this is a live DataId of (null: freed, or a moved-in entry, found through `data`). */
  owner: TorchBackend | null = null;
  prev: Entry | null = null;
  next: Entry | null = null;

  constructor(h: TensorHandle | null, strings: Uint8Array[] | null, dtype: DataType, shape: number[], refCount: number) {
    this.h = h;
    this.strings = strings;
    this.dtype = dtype;
    this.shape = shape;
    this.refCount = refCount;
  }
}

export class TorchBackend extends tf.KernelBackend implements KernelHost {
  /** Moved-in DataId → entry. tfjs's DataStorage moves data in from other backends on first use. */
  readonly data: tf.DataStorage<TensorData>;
  /** The live entries (own and moved-in), a list so that dispose() can free them all. */
  private readonly head = new Entry(null, null, 'float32', [], 0);
  private liveCount = 0;
  private disposed = false;

  constructor() {
    super();
    this.data = new tf.DataStorage<TensorData>(this, tf.engine());
    this.head.prev = this.head;
    this.head.next = this.head;
    // tfjs-layers may have been loaded after `torchrnn/tfjs`: route its recurrent layers now.
    installFusedRecurrentLayers();
    usePacedFit();
  }

  // ---- storage ---------------------------------------------------------------------------

  private link(e: Entry): void {
    const last = this.head.prev as Entry;
    e.prev = last;
    e.next = this.head;
    last.next = e;
    this.head.prev = e;
    this.liveCount++;
  }

  private unlink(e: Entry): void {
    if (e.prev === null) return;
    (e.prev as Entry).next = e.next;
    (e.next as Entry).prev = e.prev;
    e.prev = null;
    e.next = null;
    this.liveCount--;
  }

  /** The entry of one of this backend's live DataIds (undefined: another backend's, moved in, or freed). */
  private own(dataId: DataId): Entry | undefined {
    return (dataId as Partial<Entry>).owner === this ? dataId as Entry : undefined;
  }

  /** A new DataId of this backend (its own entry), refCount 1 unless given. */
  private newOwn(h: TensorHandle | null, strings: Uint8Array[] | null, dtype: DataType, shape: number[], refCount = 1): Entry {
    const e = new Entry(h, strings, dtype, shape, refCount);
    e.owner = this;
    this.link(e);
    return e;
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const [h, strings] = fromValues(values, shape, dtype);
    return this.newOwn(h, strings, dtype, shape.slice());
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    const [h, strings] = fromValues(values, shape, dtype);
    const e = new Entry(h, strings, dtype, shape.slice(), refCount);
    this.data.set(dataId, e);
    this.link(e);
  }

  /** Registers a kernel's output handle as a new DataId (refCount 1). */
  makeOutput(h: TensorHandle, shape: number[], dtype: DataType): TensorInfo {
    return { dataId: this.newOwn(h, null, dtype, shape), shape, dtype };
  }

  /** Registers a string kernel output. */
  makeStringOutput(strings: Uint8Array[], shape: number[]): TensorInfo {
    return { dataId: this.newOwn(null, strings, 'string', shape), shape, dtype: 'string' };
  }

  /** Registers a small output computed in JS (kernels/small.ts), with no libtorch tensor yet. */
  makeSmallOutput(values: Float32Array | Int32Array, shape: number[], dtype: DataType): TensorInfo {
    const e = this.newOwn(null, null, dtype, shape);
    e.small = values;
    return { dataId: e, shape, dtype };
  }

  override refCount(dataId: DataId): number {
    const e = this.own(dataId);
    if (e !== undefined) return e.refCount;
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: DataId): void {
    (this.own(dataId) ?? this.data.get(dataId)).refCount++;
  }

  override numDataIds(): number {
    return this.liveCount;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const own = this.own(dataId);
    if (own !== undefined) {
      own.refCount--;
      if (!force && own.refCount > 0) return false;
      own.owner = null;
      this.free(own);
      return true;
    }
    if (!this.data.has(dataId)) return true;
    const entry = this.data.get(dataId) as Entry;
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    this.free(entry);
    this.data.delete(dataId);
    return true;
  }

  /** Frees an intermediate TensorInfo a kernel made with makeOutput and did not return. */
  disposeIntermediateTensorInfo(info: TensorInfo): void {
    this.disposeData(info.dataId);
  }

  private free(entry: Entry): void {
    if (entry.h !== null) release(entry.h);
    if (entry.recurrent) {
      for (const h of entry.recurrent.saved) release(h);
      if (entry.recurrent.state) native.tfjsRecurrentRelease(entry.recurrent.state);
      release(entry.recurrent.kernel);
      release(entry.recurrent.recurrentKernel);
      entry.recurrent = undefined;
    }
    entry.h = null;
    entry.small = null;
    entry.strings = null;
    this.unlink(entry);
  }

  // ---- reading ---------------------------------------------------------------------------

  /** The entry of a DataId (moved in from another backend if it lives there). */
  entry(dataId: DataId): TensorData {
    const own = this.own(dataId);
    if (own !== undefined) return own;
    const e = this.data.get(dataId);
    if (e === undefined) throw new Error('torch backend: this tensor was disposed (its data is gone)');
    return e;
  }

  override readSync(dataId: DataId): BackendValues {
    const e = this.entry(dataId);
    if (e.strings !== null) return e.strings;
    if (e.small !== null) return e.small.slice();  // a copy: the caller may write into what it gets
    if (e.h === null) throw new Error('torch backend: this tensor was disposed (its data is gone)');
    if (e.dtype === 'complex64') {
      const real = atenOwned('view_as_real', '', e.h) as TensorHandle;
      try { return native.readReady(real) as Float32Array; } finally { release(real); }
    }
    return native.readReady(e.h) as BackendValues;
  }

  override async read(dataId: DataId): Promise<BackendValues> {
    const e = this.entry(dataId);
    if (e.strings !== null) return e.strings;
    if (e.small !== null) return e.small.slice();
    if (e.h === null) throw new Error('torch backend: this tensor was disposed (its data is gone)');
    if (e.dtype === 'complex64') {
      const real = atenOwned('view_as_real', '', e.h) as TensorHandle;
      try { return (await native.readQueued(real)) as Float32Array; } finally { release(real); }
    }
    return (await native.readQueued(e.h)) as BackendValues;
  }

  /** The values as a TensorBuffer (strings decoded), for kernels that work element by element. */
  bufferSync<R extends tf.Rank, D extends DataType>(t: TensorInfo): tf.TensorBuffer<R, D> {
    const data = this.readSync(t.dataId);
    if (t.dtype === 'string') {
      const strings = (data as Uint8Array[]).map((d) => tf.util.decodeString(d));
      return tf.buffer(t.shape as tf.ShapeMap[R], t.dtype as D, strings as unknown as tf.DataTypeMap[D]);
    }
    return tf.buffer(t.shape as tf.ShapeMap[R], t.dtype as D, data as tf.DataTypeMap[D]);
  }

  // ---- the rest of the contract ------------------------------------------------------------

  override async time(f: () => void): Promise<BackendTimingInfo> {
    const start = tf.util.now();
    f();
    return { kernelMs: tf.util.now() - start };
  }

  override timerAvailable(): boolean { return true; }

  override memory(): { unreliable: boolean; reasons?: string[]; numTorchTensors: number; numTorchBytes: number; numTensorsInJs: number; numBytesInJs: number } {
    // tfjs's own counts (numTensors, numDataBuffers, numBytes) are exact: DataIds are freed
    // when their refCount reaches 0. numTorch* are torchrnn's native totals (all of
    // torchrnn's tensors in this process, not only this backend's). numTensorsInJs: the small
    // tensors computed in JS that have no libtorch tensor (yet), and their bytes; which small
    // results stay in JS depends on whether their inputs' data was written when they were
    // computed, so a leak check adds them to numTorchTensors and numTorchBytes.
    const m = native.memory();
    let inJs = 0, bytesInJs = 0;
    for (let e = this.head.next as Entry; e !== this.head; e = e.next as Entry) {
      if (e.h === null && e.small !== null) inJs++, bytesInJs += e.small.byteLength;
    }
    return { unreliable: false, numTorchTensors: m.tensors, numTorchBytes: m.bytes, numTensorsInJs: inJs, numBytesInJs: bytesInJs };
  }

  override floatPrecision(): 32 { return 32; }

  override dispose(): void {
    if (this.disposed) return;
    while (this.head.next !== this.head) {
      const e = this.head.next as Entry;
      e.owner = null;
      this.free(e);
    }
    this.disposed = true;
  }
}

/** A new entry's storage: a libtorch tensor, or for a string tensor its encoded bytes. */
function fromValues(values: BackendValues, shape: number[], dtype: DataType): [TensorHandle | null, Uint8Array[] | null] {
  if (dtype !== 'string') return [handleFromValues(values, shape, dtype), null];
  const strings = (values ?? []) as Uint8Array[];
  if (!Array.isArray(strings)) throw new Error(`torch backend: expected an array of encoded strings for a string tensor but received ${describeValues(values)}`);
  return [null, strings];
}

function describeValues(values: unknown): string {
  if (values === null || values === undefined) return String(values);
  if (ArrayBuffer.isView(values)) return `${values.constructor.name}(${(values as unknown as { length: number }).length})`;
  return typeof values;
}

/** Copies tfjs backend values into a new libtorch tensor of the tfjs dtype. */
export function handleFromValues(values: BackendValues | null, shape: number[], dtype: DataType): TensorHandle {
  const size = tf.util.sizeFromShape(shape);
  const dst = CODE[dtype as keyof typeof CODE];
  if (dst === undefined) throw new Error(`torch backend: unsupported dtype ${dtype}`);
  if (values === null || values === undefined) {
    // tfjs allocates some outputs before writing them; zeros keep libtorch's memory defined.
    return atenOwned('zeros', '', shape, dst) as TensorHandle;
  }
  if (!ArrayBuffer.isView(values)) throw new Error(`torch backend: expected a TypedArray for a ${dtype} tensor but received ${describeValues(values)}`);
  let arr = values as unknown as ArrayLike<number> & ArrayBufferView;
  if (dtype === 'complex64') {
    if (!(arr instanceof Float32Array)) arr = Float32Array.from(arr);
    if (arr.length !== 2 * size) throw new Error(`torch backend: a complex64 tensor of shape [${shape}] needs ${2 * size} interleaved values but received ${arr.length}`);
    const pairs = native.fromData(arr, [...shape, 2], SCALAR_TYPE.float32, SCALAR_TYPE.float32, false, null);
    try {
      return atenOwned('view_as_complex', '', pairs) as TensorHandle;
    } finally {
      release(pairs);
    }
  }
  let src = sourceCode(arr);
  if (src === null) {
    arr = dtype === 'float32' ? Float32Array.from(arr) : Int32Array.from(arr);
    src = dtype === 'float32' ? SCALAR_TYPE.float32 : SCALAR_TYPE.int32;
  }
  if (arr.length !== size) throw new Error(`torch backend: a tensor of shape [${shape}] needs ${size} values but received ${arr.length}`);
  return native.fromData(arr, shape, src, dst, false, null);
}

