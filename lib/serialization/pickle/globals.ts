/**
 * The globals the running line's weights-only unpickler allows (torch 1.13's
 * `torch/_weights_only_unpickler.py`, or 2.6's on libtorch 2.6: lib/compat.ts), held as data:
 * a GLOBAL or STACK_GLOBAL opcode resolves its name here or is refused, before anything else
 * happens. Nothing is ever imported or called.
 */
import { weightsOnlyList } from '../../compat';
import { DType } from '../../dtype';
import { TorchError } from '../../errors';

export type Kind = 'OrderedDict' | 'rebuild_v2' | 'rebuild' | 'rebuild_parameter' | 'Parameter' | 'Size' | 'storage' | 'tensorClass' | 'unsupported'
  | 'Counter' | 'device' | 'encode' | 'bytearray' | 'set' | 'rebuild_from_type';

/** A global the file named: an allowed class or function, held as data (never imported). */
export class PyGlobal {
  constructor(readonly path: string, readonly kind: Kind, readonly dtype: DType | 'unsupported' | null = null, readonly why = '') {}
}

const STORAGE_DTYPES: Record<string, DType | 'unsupported'> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool', ComplexFloatStorage: 'unsupported', ComplexDoubleStorage: 'unsupported',
};
const QUANTIZED_STORAGES = ['QInt32Storage', 'QInt8Storage', 'QUInt2x4Storage', 'QUInt4x2Storage', 'QUInt8Storage'];
const TENSOR_CLASSES = ['BFloat16', 'Bool', 'Byte', 'Char', 'Double', 'Float', 'Half', 'Int', 'Long', 'Short'];
/** torch.<name> dtype globals allowed by torch 1.13 (bfloat16, bool and uint8 are not among them). */
const DTYPE_GLOBALS: Record<string, string> = {
  complex32: 'complex32', complex64: 'complex64', complex128: 'complex128', float16: 'float16', float32: 'float32',
  float64: 'float64', int8: 'int8', int16: 'int16', int32: 'int32', int64: 'int64',
};

const ALLOWED = new Map<string, PyGlobal | string>();
{
  const add = (g: PyGlobal) => ALLOWED.set(g.path, g);
  add(new PyGlobal('collections.OrderedDict', 'OrderedDict'));
  add(new PyGlobal('torch._utils._rebuild_tensor_v2', 'rebuild_v2'));
  add(new PyGlobal('torch._utils._rebuild_tensor', 'rebuild'));
  add(new PyGlobal('torch._utils._rebuild_parameter', 'rebuild_parameter'));
  add(new PyGlobal('torch.nn.parameter.Parameter', 'Parameter'));
  add(new PyGlobal('torch.Size', 'Size'));
  add(new PyGlobal('torch.Tensor', 'tensorClass'));
  add(new PyGlobal('torch._utils._rebuild_sparse_tensor', 'unsupported', null, 'sparse tensors are not supported'));
  add(new PyGlobal('torch._utils._rebuild_meta_tensor_no_storage', 'unsupported', null, 'meta tensors (without data) are not supported'));
  add(new PyGlobal('torch.serialization._get_layout', 'unsupported', null, 'tensor layouts other than strided are not supported'));
  add(new PyGlobal('torch.storage.UntypedStorage', 'storage', 'uint8'));
  add(new PyGlobal('torch.storage.TypedStorage', 'storage', 'unsupported'));
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) {
    add(new PyGlobal(`torch.${name}`, 'storage', dtype));
    add(new PyGlobal(`torch.cuda.${name}`, 'storage', dtype));
  }
  for (const name of QUANTIZED_STORAGES) add(new PyGlobal(`torch.${name}`, 'storage', 'unsupported'));
  for (const c of TENSOR_CLASSES) {
    add(new PyGlobal(`torch.${c}Tensor`, 'tensorClass'));
    add(new PyGlobal(`torch.cuda.${c}Tensor`, 'tensorClass'));
    if (c !== 'Bool') {
      add(new PyGlobal(`torch.sparse.${c}Tensor`, 'tensorClass'));
      add(new PyGlobal(`torch.cuda.sparse.${c}Tensor`, 'tensorClass'));
    }
  }
  for (const [name, dtype] of Object.entries(DTYPE_GLOBALS)) ALLOWED.set(`torch.${name}`, dtype);
  if (weightsOnlyList === '1.13') {
    add(new PyGlobal('torch._utils._rebuild_sparse_csr_tensor', 'unsupported', null, 'sparse tensors are not supported'));
  } else {
    // What torch 2.6's list adds (its _get_allowed_globals()).
    add(new PyGlobal('collections.Counter', 'Counter'));
    add(new PyGlobal('torch.device', 'device'));
    add(new PyGlobal('_codecs.encode', 'encode'));
    add(new PyGlobal('builtins.bytearray', 'bytearray'));
    add(new PyGlobal('builtins.set', 'set'));
    add(new PyGlobal('builtins.complex', 'unsupported', null, 'complex numbers are not supported'));
    add(new PyGlobal('torch._utils._rebuild_parameter_with_state', 'rebuild_parameter'));
    add(new PyGlobal('torch._tensor._rebuild_from_type_v2', 'rebuild_from_type'));
    add(new PyGlobal('torch._utils._rebuild_tensor_v3', 'unsupported', null, 'tensors of dtypes without a typed storage (uint16, uint32, uint64) are not supported'));
    add(new PyGlobal('torch._utils._rebuild_qtensor', 'unsupported', null, 'quantized tensors are not supported'));
    add(new PyGlobal('torch._utils._rebuild_nested_tensor', 'unsupported', null, 'nested tensors are not supported'));
    add(new PyGlobal('torch._utils._rebuild_wrapper_subclass', 'unsupported', null, 'tensor subclasses are not supported'));
    add(new PyGlobal('torch._utils._rebuild_device_tensor_from_numpy', 'unsupported', null, 'tensors saved through numpy are not supported'));
    add(new PyGlobal('torch._utils._rebuild_device_tensor_from_cpu_tensor', 'unsupported', null, 'tensors on devices without storage are not supported'));
    // The dtypes and quantization schemes 2.6 adds, as their names (values, as 1.13's dtypes are).
    for (const name of ['bfloat16', 'bool', 'uint8', 'uint16', 'uint32', 'uint64', 'bits16', 'bits1x8', 'bits2x4', 'bits4x2', 'bits8',
      'float8_e4m3fn', 'float8_e4m3fnuz', 'float8_e5m2', 'float8_e5m2fnuz', 'qint32', 'qint8', 'quint2x4', 'quint4x2', 'quint8',
      'per_channel_affine', 'per_channel_affine_float_qparams', 'per_channel_symmetric', 'per_tensor_affine', 'per_tensor_symmetric']) {
      ALLOWED.set(`torch.${name}`, name);
    }
  }
}

/** The globals a file may name (the running line's weights_only list), for documentation and tests. */
export const ALLOWED_GLOBALS: readonly string[] = [...ALLOWED.keys()];

/**
 * The allowed global `<module>.<name>`, or ERR_CHECKPOINT `Refusing to load global … from <file>`.
 * A PyGlobal for a class or function; the dtype's name (a string) for a dtype global.
 */
export function resolveGlobal(module: string, name: string, file: string): PyGlobal | string {
  // 2.6's unpickler maps Python 2 module names as pickle does (protocol 2 writes __builtin__)
  const path = `${weightsOnlyList === '2.6' && module === '__builtin__' ? 'builtins' : module}.${name}`;
  const g = ALLOWED.get(path);
  if (g === undefined) throw new TorchError(`Refusing to load global ${path} from ${file}: only containers, primitives and tensors are allowed`, 'ERR_CHECKPOINT');
  return g;
}
