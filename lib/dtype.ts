import { invalidArg } from './errors';

/** The dtypes torchrnn supports, with PyTorch's names. */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'bool' | 'complex64' | 'complex128';

/** The typed array that carries each dtype's data. float16/bfloat16 are raw 16-bit patterns. */
export interface DataTypeMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
  /** real and imaginary parts interleaved: [re0, im0, re1, im1, ...] (2 numbers per element) */
  complex64: Float32Array;
  complex128: Float64Array;
}
export type DataFor<D extends DType> = DataTypeMap[D];
/** What `item()` and `toArray()` give for each dtype. */
export type ScalarFor<D extends DType> = D extends 'bool' ? boolean : D extends 'complex64' | 'complex128' ? Complex : number;
/** A complex number, as `item()` and `toArray()` give the elements of complex64/complex128 tensors. */
export interface Complex { re: number; im: number }

/** c10::ScalarType codes (stable across libtorch releases). */
export const SCALAR_TYPE: Record<DType, number> = {
  uint8: 0, int8: 1, int16: 2, int32: 3, int64: 4, float16: 5, float32: 6, float64: 7, bool: 11, bfloat16: 15,
  complex64: 9, complex128: 10,
};
/** c10::ScalarType codes of the complex types, which have no torchrnn DType (the tfjs backend's complex64 is one). */
export const COMPLEX_SCALAR_TYPE = { complex64: 9, complex128: 10 } as const;
const BY_CODE = new Map<number, DType>(Object.entries(SCALAR_TYPE).map(([k, v]) => [v, k as DType]));

export const ITEM_SIZE: Record<DType, number> = {
  uint8: 1, int8: 1, int16: 2, int32: 4, int64: 8, float16: 2, float32: 4, float64: 8, bool: 1, bfloat16: 2,
  complex64: 8, complex128: 16,
};

export const DTYPES = Object.keys(SCALAR_TYPE) as DType[];
export const FLOAT_DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16'];

export function isComplex(d: DType): d is 'complex64' | 'complex128' {
  return d === 'complex64' || d === 'complex128';
}

export function isFloating(d: DType): boolean {
  return FLOAT_DTYPES.includes(d);
}

export function dtypeFromCode(code: number): DType {
  const d = BY_CODE.get(code);
  if (d === undefined) throw new Error(`torchrnn: unsupported libtorch dtype code ${code}`);
  return d;
}

export function checkDType(value: unknown, name = 'dtype'): DType {
  if (typeof value !== 'string' || !(value in SCALAR_TYPE)) invalidArg(`one of ${DTYPES.join(', ')}`, name, value);
  return value as DType;
}

type AnyTypedArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;

/** The dtype whose values a typed array holds (Uint16Array has none: it carries float16/bfloat16 bits). */
export function dtypeOfArray(a: ArrayBufferView): DType | null {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return 'uint8';
  return null;
}

/** Allocates the typed array for `n` elements of `d`. */
export function allocData(d: DType, n: number): AnyTypedArray {
  switch (d) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'complex64': return new Float32Array(2 * n);
    case 'complex128': return new Float64Array(2 * n);
    case 'float16': case 'bfloat16': return new Uint16Array(n);
    case 'int8': return new Int8Array(n);
    case 'int16': return new Int16Array(n);
    case 'int32': return new Int32Array(n);
    case 'int64': return new BigInt64Array(n);
    default: return new Uint8Array(n);
  }
}
