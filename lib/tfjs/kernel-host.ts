/**
 * What the kernels (lib/tfjs/kernels/*, lib/tfjs/rnn.ts) see of the `torch` backend: one
 * DataId's storage entry and the calls that make, read and free outputs. TorchBackend
 * (lib/tfjs/backend.ts) implements it. It is declared here, below both, because backend.ts
 * imports rnn.ts (to route tfjs-layers' recurrent layers when the backend starts), so the
 * kernels must not import backend.ts back.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { SavedState, TensorHandle } from '../binding';

/** What one DataId holds. */
export interface TensorData {
  /**
   * The libtorch tensor (null for string tensors, and for a small tensor whose values are in JS
   * only until a libtorch kernel takes it: common.ts's T() makes it then).
   */
  h: TensorHandle | null;
  /**
   * A small float32 or int32 tensor's values in JS (a DataId's values never change): computed by
   * kernels/small.ts, or a copy it read once from `h`. Null otherwise.
   */
  small: Float32Array | Int32Array | null;
  /** The UTF-8 bytes of a string tensor's elements. */
  strings: Uint8Array[] | null;
  dtype: DataType;
  shape: number[];
  refCount: number;
  /**
   * What a fused recurrent kernel saved for its gradient kernel (the activations of every
   * step and the weights), kept while its output lives (lib/tfjs/rnn.ts). Freed with the entry.
   * A queued forward (the asynchronous mode) keeps them natively instead: `state`.
   */
  recurrent?: { saved: TensorHandle[]; state?: SavedState; kernel: TensorHandle; recurrentKernel: TensorHandle; hasBias: boolean };
}

/** The backend as a kernel uses it (TorchBackend's methods of the same names). */
export interface KernelHost {
  /** The entry of a DataId (moved in from another backend if it lives there). */
  entry(dataId: DataId): TensorData;
  /** Registers a kernel's output handle as a new DataId (refCount 1). */
  makeOutput(h: TensorHandle, shape: number[], dtype: DataType): TensorInfo;
  /** Registers a string kernel output. */
  makeStringOutput(strings: Uint8Array[], shape: number[]): TensorInfo;
  /** Registers a small output computed in JS (kernels/small.ts), with no libtorch tensor yet. */
  makeSmallOutput(values: Float32Array | Int32Array, shape: number[], dtype: DataType): TensorInfo;
  readSync(dataId: DataId): tf.backend_util.BackendValues;
  incRef(dataId: DataId): void;
  disposeData(dataId: DataId, force?: boolean): boolean;
}
