/**
 * Python pickles, restricted to what `torch.save` writes for state dicts and optimizer state:
 * containers, primitives and tensors. Nothing here ever runs code from a file.
 *
 * Reading (`unpickle`) follows the running line's `torch/_weights_only_unpickler.py` (1.13's, or
 * 2.6's on libtorch 2.6: lib/compat.ts): a GLOBAL or STACK_GLOBAL opcode may only name the globals
 * that file allows (collections.OrderedDict,
 * torch._utils._rebuild_tensor_v2 and the other rebuild functions, torch.nn.Parameter,
 * torch.Size, the torch.*Storage / torch.*Tensor classes, the dtypes); any other global (os.system,
 * builtins.eval, …) is refused with ERR_CHECKPOINT naming it, before anything else happens.
 * Calls (REDUCE, NEWOBJ, BUILD) are interpreted, never executed: each allowed callable has a
 * TypeScript implementation below. Persistent ids `('storage', StorageClass, key, location,
 * numel)` are resolved through a callback (the zip's `data/<key>` record); tensors become
 * `as_strided` views of their storage, so tensors that share a storage in the file share it
 * after loading too.
 *
 * Python → JavaScript: dict and OrderedDict → plain object (key order kept, except that JS
 * lists integer-like keys first; int keys become their decimal strings), list and tuple → array,
 * torch.Size → array of numbers, int → number (a bigint beyond ±(2^53 − 1)), float → number,
 * str → string, bool → boolean, None → null, a dtype global → its name ('float32'),
 * a set → array, a bare storage → a 1-D tensor over it; with 2.6's list also bytes and bytearray
 * → Uint8Array, torch.device → its string ('cpu', 'cuda:0'), collections.Counter → plain object.
 * Tensors always load on the CPU.
 *
 * Writing (`pickle`) emits protocol 2, as torch.save does: dicts (EMPTY_DICT/SETITEMS),
 * lists (EMPTY_LIST/APPENDS) and `torch._utils._rebuild_tensor_v2` calls with persistent
 * storage ids, which Python's torch.load (weights_only=True included) reads.
 */
import { native } from '../binding';
import { weightsOnlyList } from '../compat';
import { DType, isFloating } from '../dtype';
import { badFile, describe, invalidArg, TorchError } from '../errors';
import { Tensor, wrap } from '../tensor';

// ---- the globals the running line's weights-only unpickler allows ----------------------------

type Kind = 'OrderedDict' | 'rebuild_v2' | 'rebuild' | 'rebuild_parameter' | 'Parameter' | 'Size' | 'storage' | 'tensorClass' | 'unsupported'
  | 'Counter' | 'device' | 'encode' | 'bytearray' | 'set' | 'rebuild_from_type';

/** A global the file named: an allowed class or function, held as data (never imported). */
class PyGlobal {
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

// ---- reading ---------------------------------------------------------------------------------

/** What unpickle() needs from the archive. */
export interface UnpickleSource {
  /** The file's name, for error messages. */
  file: string;
  /** A 1-D tensor holding storage `key` (`numel` elements of `dtype`); called once per key. */
  readStorage(key: string, dtype: DType, numel: number): Tensor;
}

/** A storage named by a persistent id; its tensor is read on first use. */
class StorageRef {
  base: Tensor | null = null;
  constructor(readonly key: string, readonly dtype: DType, readonly numel: number) {}
}

const AS_STRIDED = native.op('aten::as_strided', '');
const MAX_DIMS = 64;

// Opcodes (pickletools' names).
const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, BINFLOAT: 0x47, BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d,
  NONE: 0x4e, BINPERSID: 0x51, REDUCE: 0x52, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, BINUNICODE: 0x58,
  EMPTY_LIST: 0x5d, APPEND: 0x61, BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64, APPENDS: 0x65, BINGET: 0x68,
  LONG_BINGET: 0x6a, LIST: 0x6c, BINPUT: 0x71, LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, SETITEMS: 0x75,
  EMPTY_DICT: 0x7d, EMPTY_TUPLE: 0x29, PROTO: 0x80, NEWOBJ: 0x81, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d,
  EMPTY_SET: 0x8f, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95,
} as const;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Little-endian two's complement bytes → number (bigint beyond 2^53). */
function decodeLong(bytes: Buffer): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Reads one pickle. Refuses every global outside torch 1.13's weights-only list (ERR_CHECKPOINT
 * `Refusing to load global <module>.<name> from <file>: …`) and every corrupt or unsupported
 * construct (ERR_CHECKPOINT `Cannot load <file>: …`). On error, every tensor it made is freed.
 */
function reachableTensors(root: unknown): Set<Tensor> {
  const out = new Set<Tensor>();
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length) { // iterative: pickles may nest very deeply
    const v = stack.pop();
    if (v instanceof Tensor) { out.add(v); continue; }
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
    else if (v instanceof Set) for (const x of v) stack.push(x);
    else for (const x of Object.values(v)) stack.push(x);
  }
  return out;
}

export function unpickle(data: Buffer, source: UnpickleSource): unknown {
  const file = source.file;
  const made: Tensor[] = [];
  const storages = new Map<string, StorageRef>();
  try {
    const result = run(data, source, made, storages);
    // Storages are kept alive by the views made of them; the 1-D bases are freed here.
    for (const s of storages.values()) s.base?.dispose();
    // Tensors the result does not hold (a dict key set twice, a value popped from the stack
    // by a corrupt pickle) are freed too.
    const kept = reachableTensors(result);
    for (const t of made) if (!kept.has(t)) t.dispose();
    return result;
  } catch (err) {
    for (const t of made) t.dispose();
    if (err instanceof TorchError) throw err;
    if (err instanceof RangeError) badFile(file, `the pickle is corrupt (${err.message})`);
    throw err;
  }
}

function run(data: Buffer, source: UnpickleSource, made: Tensor[], storages: Map<string, StorageRef>): unknown {
  const file = source.file;
  const dicts = new WeakSet<object>();
  const ordered = new WeakSet<object>();
  const lists = new WeakSet<object>();
  const tuples = new WeakSet<object>();
  const memo = new Map<number, unknown>();
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  let pos = 0;
  let opAt = 0;

  const kind = (v: unknown): string => (Array.isArray(v) ? (lists.has(v) ? 'a list' : 'a tuple') : kindOf(v));
  const corrupt = (what: string): never => badFile(file, `the pickle is corrupt (${what} at byte ${opAt} of data.pkl)`);
  const need = (n: number): number => {
    if (n > data.length - pos) corrupt('it ends early');
    const at = pos;
    pos += n;
    return at;
  };
  const bytes = (n: number): Buffer => data.subarray(need(n), pos);
  const text = (b: Buffer): string => {
    try { return UTF8.decode(b); } catch { return corrupt('a string is not valid UTF-8'); }
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) corrupt('a GLOBAL name has no line end');
    const s = text(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) corrupt('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) corrupt('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) return corrupt('no MARK');
    stack = prev;
    return items;
  };
  const tuple = (items: unknown[]): unknown[] => { tuples.add(items); return items; };
  const newDict = (isOrdered: boolean): Record<string, unknown> => {
    const d: Record<string, unknown> = {};
    dicts.add(d);
    if (isOrdered) ordered.add(d);
    return d;
  };
  const setItem = (d: unknown, k: unknown, v: unknown): void => {
    if (d === null || typeof d !== 'object' || !dicts.has(d)) badFile(file, `the pickle sets an item on ${kind(d)}, which is not a dict`);
    let key: string;
    if (typeof k === 'string') key = k;
    else if ((typeof k === 'number' && Number.isFinite(k)) || typeof k === 'bigint') key = String(k);
    else return badFile(file, `a dict key that is ${kind(k)} is not supported (only str and int keys)`);
    // defineProperty: a "__proto__" key is data, not the prototype setter
    Object.defineProperty(d, key, { value: v, enumerable: true, writable: true, configurable: true });
  };
  const global = (module: string, name: string): unknown => {
    // 2.6's unpickler maps Python 2 module names as pickle does (protocol 2 writes __builtin__)
    const path = `${weightsOnlyList === '2.6' && module === '__builtin__' ? 'builtins' : module}.${name}`;
    const g = ALLOWED.get(path);
    if (g === undefined) throw new TorchError(`Refusing to load global ${path} from ${file}: only containers, primitives and tensors are allowed`, 'ERR_CHECKPOINT');
    return g;
  };
  const int = (v: unknown, what: string, min = 0): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) badFile(file, `${what} is ${describe(v)}, not an integer >= ${min}`);
    return v;
  };
  const ints = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v) || v.length > MAX_DIMS) badFile(file, `${what} is ${describe(v)}, not a tuple of at most ${MAX_DIMS} integers`);
    return v.map((x, i) => int(x, `${what}[${i}]`));
  };

  const persistentLoad = (pid: unknown): StorageRef => {
    if (!Array.isArray(pid) || !tuples.has(pid) || pid[0] !== 'storage') badFile(file, `only persistent ids of storages are allowed, not ${describe(pid)}`);
    if (pid.length !== 5) badFile(file, `a storage's persistent id has ${pid.length} fields, not 5`);
    const [, type, rawKey, location, rawNumel] = pid as unknown[];
    if (!(type instanceof PyGlobal) || type.kind !== 'storage') badFile(file, `a storage's type is ${kind(type)}, not a torch storage class`);
    if (typeof rawKey !== 'string' && typeof rawKey !== 'number') badFile(file, `a storage's key is ${describe(rawKey)}, not a string`);
    if (typeof location !== 'string') badFile(file, `storage "${rawKey}" has location ${describe(location)}, not a string`);
    const key = String(rawKey);
    if (type.dtype === 'unsupported' || type.dtype === null) badFile(file, `storage "${key}" has type ${type.path}, whose dtype torchrnn does not support`);
    const numel = int(rawNumel, `the element count of storage "${key}"`);
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== type.dtype || known.numel !== numel) badFile(file, `storage "${key}" is named as ${known.numel} ${known.dtype} and as ${numel} ${type.dtype} elements`);
      return known;
    }
    const s = new StorageRef(key, type.dtype, numel);
    storages.set(key, s);
    return s;
  };
  const baseOf = (s: StorageRef): Tensor => {
    if (s.base === null) {
      s.base = source.readStorage(s.key, s.dtype, s.numel);
      made.push(s.base);
    }
    return s.base;
  };
  const rebuild = (args: unknown[], withGrad: boolean): Tensor => {
    const [s, rawOffset, rawSize, rawStride] = args;
    if (!(s instanceof StorageRef)) badFile(file, `a tensor is rebuilt from ${kind(s)}, not a storage`);
    const offset = int(rawOffset, `the storage offset of a tensor in storage "${s.key}"`);
    const size = ints(rawSize, `the size of a tensor in storage "${s.key}"`);
    const stride = ints(rawStride, `the stride of a tensor in storage "${s.key}"`);
    if (stride.length !== size.length) badFile(file, `a tensor in storage "${s.key}" has ${size.length} sizes but ${stride.length} strides`);
    const numel = size.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(numel)) badFile(file, `a tensor of shape [${size.join(', ')}] has more than 2^53 elements`);
    const needed = numel === 0 ? offset : offset + size.reduce((a, n, i) => a + (n - 1) * stride[i], 0) + 1;
    if (!Number.isSafeInteger(needed) || needed > s.numel) {
      badFile(file, `a tensor of shape [${size.join(', ')}] (strides [${stride.join(', ')}], offset ${offset}) needs ${needed} elements but storage "${s.key}" has ${s.numel}`);
    }
    const requiresGrad = withGrad ? args[4] : false;
    if (typeof requiresGrad !== 'boolean') badFile(file, `requires_grad of a tensor in storage "${s.key}" is ${describe(requiresGrad)}, not a bool`);
    const t = wrap(native.call(AS_STRIDED, baseOf(s).handle(), size, stride, offset));
    made.push(t);
    if (requiresGrad) setRequiresGrad(t);
    return t;
  };
  const setRequiresGrad = (t: Tensor): void => {
    if (!isFloating(t.dtype)) badFile(file, `${t.dtype.startsWith('int') ? 'an' : 'a'} ${t.dtype} tensor is marked requires_grad (only floating-point tensors can be)`);
    t.requiresGrad_(true);
  };
  const parameter = (args: unknown[]): Tensor => {
    const [t, rg = true] = args;
    if (!(t instanceof Tensor)) badFile(file, `a Parameter is made of ${kind(t)}, not a tensor`);
    if (typeof rg !== 'boolean') badFile(file, `requires_grad of a Parameter is ${describe(rg)}, not a bool`);
    if (rg) setRequiresGrad(t);
    return t;
  };
  const call = (f: unknown, args: unknown): unknown => {
    if (!Array.isArray(args) || !tuples.has(args)) badFile(file, `a call's arguments are ${kind(args)}, not a tuple`);
    if (!(f instanceof PyGlobal)) return badFile(file, `the pickle calls ${kind(f)} (only torch's tensor-rebuilding functions may be called)`);
    switch (f.kind) {
      case 'rebuild_v2':
        if (args.length !== 6 && args.length !== 7) badFile(file, `${f.path} is called with ${args.length} arguments, not 6`);
        return rebuild(args, true);
      case 'rebuild':
        if (args.length !== 4) badFile(file, `${f.path} is called with ${args.length} arguments, not 4`);
        return rebuild(args, false);
      case 'rebuild_parameter': { // (data, requires_grad, hooks[, state]): hooks and Python attributes are dropped
        const want = f.path.endsWith('_with_state') ? 4 : 3;
        if (args.length !== want) badFile(file, `${f.path} is called with ${args.length} arguments, not ${want}`);
        return parameter(args.slice(0, 2));
      }
      case 'Parameter':
        if (args.length > 2) badFile(file, `${f.path} is called with ${args.length} arguments, not 1 or 2`);
        return parameter(args);
      case 'OrderedDict': {
        const d = newDict(true);
        if (args.length > 1) badFile(file, `${f.path} is called with ${args.length} arguments, not 0 or 1`);
        if (args.length === 1) {
          if (!Array.isArray(args[0])) badFile(file, `${f.path} is called with ${kind(args[0])}, not a list of pairs`);
          for (const pair of args[0] as unknown[]) {
            if (!Array.isArray(pair) || pair.length !== 2) badFile(file, `${f.path} is called with an item that is not a pair`);
            setItem(d, pair[0], pair[1]);
          }
        }
        return d;
      }
      case 'Size':
        if (args.length !== 1) badFile(file, `${f.path} is called with ${args.length} arguments, not 1`);
        return tuple(ints(args[0], 'a torch.Size'));
      case 'tensorClass':
        return badFile(file, `legacy tensor construction through ${f.path} is not supported`);
      case 'Counter': {
        if (args.length > 1) badFile(file, `${f.path} is called with ${args.length} arguments, not 0 or 1`);
        const d = newDict(false);
        const from = args[0];
        if (from !== undefined) {
          if (from === null || typeof from !== 'object' || !dicts.has(from)) badFile(file, `${f.path} is called with ${kind(from)}, not a dict`);
          for (const [k, v] of Object.entries(from as object)) setItem(d, k, v);
        }
        return d;
      }
      case 'device': {
        const [type, index] = args;
        if (typeof type !== 'string' || args.length > 2 || (index !== undefined && index !== null && typeof index !== 'number')) {
          badFile(file, `${f.path} is called with ${describe(args)}, not a device type and an optional index`);
        }
        return typeof index === 'number' ? `${type}:${index}` : type;
      }
      case 'encode': { // protocol 2's bytes: _codecs.encode(str, 'latin1')
        const [str, encoding] = args;
        if (typeof str !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) badFile(file, `${f.path} is called with ${describe(args)}, not a str and 'latin1'`);
        return new Uint8Array(Buffer.from(str as string, 'latin1'));
      }
      case 'bytearray': {
        const from = args[0] ?? new Uint8Array(0);
        if (args.length > 1 || !(from instanceof Uint8Array)) badFile(file, `${f.path} is called with ${describe(args)}, not bytes`);
        return new Uint8Array(from as Uint8Array);
      }
      case 'set': {
        const from = args[0] ?? [];
        if (args.length > 1 || !Array.isArray(from)) badFile(file, `${f.path} is called with ${kind(from)}, not a list`);
        return tuple([...(from as unknown[])]);
      }
      case 'rebuild_from_type': { // (func, type, args, state): a tensor rebuilt by func, then given `type`
        const [func, type, inner, state] = args;
        if (args.length !== 4) badFile(file, `${f.path} is called with ${args.length} arguments, not 4`);
        const plain = type instanceof PyGlobal && (type.path === 'torch.Tensor' || type.kind === 'Parameter');
        const stateless = state === null || (typeof state === 'object' && Object.keys(state as object).length === 0);
        if (!plain || !stateless) badFile(file, `${f.path}: tensor subclasses and tensors with Python attributes are not supported`);
        return call(func, inner);
      }
      case 'unsupported':
        return badFile(file, `${f.path}: ${f.why}`);
      default:
        return badFile(file, `the pickle calls ${f.path}, which is not a function`);
    }
  };

  if (data.length === 0) badFile(file, 'data.pkl is empty');
  for (;;) {
    opAt = pos;
    const op = data[need(1)];
    switch (op) {
      case OP.PROTO: {
        const v = data[need(1)];
        if (v > 5) corrupt(`unknown pickle protocol ${v}`);
        break;
      }
      case OP.FRAME: need(8); break; // frames only group opcodes; the data is read as it comes
      case OP.STOP: {
        const result = pop();
        return finish(result, file, baseOf, made);
      }
      case OP.MARK: metastack.push(stack); stack = []; break;
      case OP.POP: pop(); break;
      case OP.POP_MARK: popMark(); break;
      case OP.NONE: stack.push(null); break;
      case OP.NEWTRUE: stack.push(true); break;
      case OP.NEWFALSE: stack.push(false); break;
      case OP.BININT: stack.push(data.readInt32LE(need(4))); break;
      case OP.BININT1: stack.push(data[need(1)]); break;
      case OP.BININT2: stack.push(data.readUInt16LE(need(2))); break;
      case OP.LONG1: {
        const n = data[need(1)];
        stack.push(decodeLong(bytes(n)));
        break;
      }
      case OP.LONG4: {
        const n = data.readInt32LE(need(4));
        if (n < 0 || n > 256) corrupt(`an integer of ${n} bytes`);
        stack.push(decodeLong(bytes(n)));
        break;
      }
      case OP.BINFLOAT: stack.push(data.readDoubleBE(need(8))); break;
      case OP.SHORT_BINUNICODE: stack.push(text(bytes(data[need(1)]))); break;
      case OP.BINUNICODE: stack.push(text(bytes(data.readUInt32LE(need(4))))); break;
      case OP.BINUNICODE8: {
        const n = data.readBigUInt64LE(need(8));
        if (n > BigInt(data.length)) corrupt('it ends early');
        stack.push(text(bytes(Number(n))));
        break;
      }
      // Python 2 byte strings: torch.load decodes them with encoding='utf-8'.
      case OP.SHORT_BINSTRING: stack.push(text(bytes(data[need(1)]))); break;
      case OP.BINSTRING: {
        const n = data.readInt32LE(need(4));
        if (n < 0) corrupt('a negative string length');
        stack.push(text(bytes(n)));
        break;
      }
      case OP.EMPTY_DICT: stack.push(newDict(false)); break;
      case OP.EMPTY_LIST: { const l: unknown[] = []; lists.add(l); stack.push(l); break; }
      case OP.EMPTY_TUPLE: stack.push(tuple([])); break;
      case OP.EMPTY_SET: stack.push(tuple([])); break;
      case OP.TUPLE: { const items = popMark(); stack.push(tuple(items)); break; } // popMark() replaces `stack`
      case OP.TUPLE1: { const a = pop(); stack.push(tuple([a])); break; }
      case OP.TUPLE2: { const b = pop(); const a = pop(); stack.push(tuple([a, b])); break; }
      case OP.TUPLE3: { const c = pop(); const b = pop(); const a = pop(); stack.push(tuple([a, b, c])); break; }
      case OP.LIST: { const l = popMark(); lists.add(l); stack.push(l); break; }
      case OP.DICT: {
        const items = popMark();
        if (items.length % 2) corrupt('an odd number of dict items');
        const d = newDict(false);
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case OP.SETITEM: { const v = pop(); const k = pop(); setItem(top(), k, v); break; }
      case OP.SETITEMS: {
        const items = popMark();
        if (items.length % 2) corrupt('an odd number of dict items');
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case OP.APPEND: case OP.APPENDS: {
        const items = op === OP.APPEND ? [pop()] : popMark();
        const l = top();
        if (!Array.isArray(l) || !lists.has(l)) badFile(file, `the pickle appends to ${kind(l)}, which is not a list`);
        for (const x of items) l.push(x);
        break;
      }
      case OP.BINPUT: memo.set(data[need(1)], top()); break;
      case OP.LONG_BINPUT: memo.set(data.readUInt32LE(need(4)), top()); break;
      case OP.MEMOIZE: memo.set(memo.size, top()); break;
      case OP.BINGET: case OP.LONG_BINGET: {
        const i = op === OP.BINGET ? data[need(1)] : data.readUInt32LE(need(4));
        if (!memo.has(i)) corrupt(`memo entry ${i} is missing`);
        stack.push(memo.get(i));
        break;
      }
      case OP.GLOBAL: {
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') corrupt('STACK_GLOBAL without two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const f = pop();
        stack.push(call(f, args));
        break;
      }
      case OP.NEWOBJ: {
        const args = pop();
        const cls = pop();
        if (!(cls instanceof PyGlobal) || cls.kind !== 'Parameter') badFile(file, `the pickle instantiates ${kind(cls)} (only torch.nn.Parameter may be)`);
        stack.push(call(cls, args));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const inst = top();
        if (inst !== null && typeof inst === 'object' && ordered.has(inst)) break; // OrderedDict attributes (a state dict's _metadata): dropped
        const empty = state === null || (typeof state === 'object' && Object.keys(state as object).length === 0);
        if (inst instanceof Tensor && empty) break;
        badFile(file, `the pickle sets the state of ${kind(inst)} (only tensors, parameters and OrderedDicts may have one)`);
        break;
      }
      case OP.BINPERSID: stack.push(persistentLoad(pop())); break;
      default:
        corrupt(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

function kindOf(v: unknown): string {
  if (v instanceof PyGlobal) return v.path;
  if (v instanceof StorageRef) return `storage "${v.key}"`;
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Tensor) return 'a tensor';
  if (typeof v === 'object') return 'a dict';
  return `a ${typeof v === 'string' ? 'str' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? 'number' : typeof v}`;
}

/**
 * Replaces leftover storages with 1-D tensors and refuses classes or functions left as values.
 * Iterative: a deeply nested pickle cannot overflow the JS stack.
 */
function finish(result: unknown, file: string, baseOf: (s: StorageRef) => Tensor, made: Tensor[]): unknown {
  const fix = (v: unknown): unknown => {
    if (v instanceof PyGlobal) return badFile(file, `the pickle holds ${v.path} as a value (only containers, primitives and tensors are returned)`);
    if (v instanceof StorageRef) {
      const b = baseOf(v);
      const t = wrap(native.call(AS_STRIDED, b.handle(), [v.numel], [1], 0));
      made.push(t);
      return t;
    }
    return v;
  };
  const root = fix(result);
  const seen = new Set<object>();
  const todo: object[] = [];
  const visit = (v: unknown) => {
    if (v !== null && typeof v === 'object' && !(v instanceof Tensor) && !ArrayBuffer.isView(v) && !seen.has(v)) { seen.add(v); todo.push(v); }
  };
  visit(root);
  while (todo.length) {
    const o = todo.pop() as Record<string, unknown> | unknown[];
    if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i++) { o[i] = fix(o[i]); visit(o[i]); }
    } else {
      for (const k of Object.keys(o)) { o[k] = fix(o[k]); visit(o[k]); }
    }
  }
  return root;
}

// ---- writing ---------------------------------------------------------------------------------

/** torch storage class names by dtype. */
const STORAGE_OF: Record<DType, string> = {
  float32: 'FloatStorage', float64: 'DoubleStorage', float16: 'HalfStorage', bfloat16: 'BFloat16Storage',
  int64: 'LongStorage', int32: 'IntStorage', int16: 'ShortStorage', int8: 'CharStorage', uint8: 'ByteStorage', bool: 'BoolStorage',
};

class Writer {
  private buf = Buffer.alloc(1024);
  private n = 0;
  private reserve(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  op(...codes: number[]): void { this.reserve(codes.length); for (const c of codes) this.buf[this.n++] = c; }
  bytes(b: Buffer): void { this.reserve(b.length); b.copy(this.buf, this.n); this.n += b.length; }
  u8(v: number): void { this.op(v); }
  u16(v: number): void { this.reserve(2); this.n = this.buf.writeUInt16LE(v, this.n); }
  u32(v: number): void { this.reserve(4); this.n = this.buf.writeUInt32LE(v, this.n); }
  i32(v: number): void { this.reserve(4); this.n = this.buf.writeInt32LE(v, this.n); }
  f64be(v: number): void { this.reserve(8); this.n = this.buf.writeDoubleBE(v, this.n); }
  done(): Buffer { return this.buf.subarray(0, this.n); }
}

/** Python's pickle.encode_long: minimal little-endian two's complement. */
function encodeLong(v: bigint): Buffer {
  if (v === 0n) return Buffer.alloc(0);
  const out: number[] = [];
  let x = v;
  for (;;) {
    const b = Number(x & 0xffn);
    out.push(b);
    x >>= 8n;
    if ((x === 0n && !(b & 0x80)) || (x === -1n && (b & 0x80))) break;
  }
  return Buffer.from(out);
}

const MAX_DEPTH = 1000;
const BATCH = 1000; // Python's pickler batches APPENDS/SETITEMS by 1000
const INT_KEY = /^-?(0|[1-9][0-9]*)$/;

/**
 * Pickles `obj` (protocol 2) as torch.save would: tensors become `_rebuild_tensor_v2` calls on
 * persistent storage ids `('storage', torch.<Dtype>Storage, '<key>', 'cpu', numel)`, keys '0',
 * '1', … in order of first appearance; the same Tensor object twice is written once (a memo
 * reference). Returns the pickle and the tensors whose data goes to `data/<index>`.
 * Plain-object keys that are canonical integers ('0', '17') are written as Python ints (as in
 * optimizer state dicts); a Map keeps its keys' types. Integral numbers become Python ints,
 * other numbers floats. `name` names the argument in ERR_INVALID_ARG messages.
 */
export function pickle(obj: unknown, name = 'obj'): { pkl: Buffer; tensors: Tensor[] } {
  const w = new Writer();
  const memo = new Map<unknown, number>();
  const tensors: Tensor[] = [];
  const tensorKeys = new Map<Tensor, number>();
  const active = new Set<object>();

  const put = (key: unknown): void => {
    const i = memo.size;
    memo.set(key, i);
    if (i < 256) w.op(OP.BINPUT, i); else { w.op(OP.LONG_BINPUT); w.u32(i); }
  };
  const get = (i: number): void => {
    if (i < 256) w.op(OP.BINGET, i); else { w.op(OP.LONG_BINGET); w.u32(i); }
  };
  const str = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    w.op(OP.BINUNICODE);
    w.u32(b.length);
    w.bytes(b);
  };
  const glob = (module: string, nm: string): void => {
    const key = `global:${module}.${nm}`;
    const i = memo.get(key);
    if (i !== undefined) { get(i); return; }
    w.op(OP.GLOBAL);
    w.bytes(Buffer.from(`${module}\n${nm}\n`, 'utf8'));
    put(key);
  };
  const int = (v: number | bigint): void => {
    if (typeof v === 'number' && v >= 0 && v < 256) w.op(OP.BININT1, v);
    else if (typeof v === 'number' && v >= 0 && v < 65536) { w.op(OP.BININT2); w.u16(v); }
    else if (typeof v === 'number' && v >= -(2 ** 31) && v < 2 ** 31) { w.op(OP.BININT); w.i32(v); }
    else {
      const b = encodeLong(BigInt(v));
      if (b.length < 256) w.op(OP.LONG1, b.length); else { w.op(OP.LONG4); w.i32(b.length); }
      w.bytes(b);
    }
  };
  const num = (v: number): void => {
    if (Number.isSafeInteger(v)) int(v);
    else { w.op(OP.BINFLOAT); w.f64be(v); }
  };
  const intTuple = (xs: readonly number[]): void => {
    if (xs.length === 0) { w.op(OP.EMPTY_TUPLE); return; }
    if (xs.length > 3) w.op(OP.MARK);
    for (const x of xs) int(x);
    w.op(xs.length === 1 ? OP.TUPLE1 : xs.length === 2 ? OP.TUPLE2 : xs.length === 3 ? OP.TUPLE3 : OP.TUPLE);
  };
  const tensor = (t: Tensor, path: string): void => {
    if (t.isDisposed) invalidArg('a live Tensor', path, t);
    const seen = memo.get(t);
    if (seen !== undefined) { get(seen); return; }
    let key = tensorKeys.get(t);
    if (key === undefined) {
      key = tensors.length;
      tensorKeys.set(t, key);
      tensors.push(t);
    }
    const shape = t.shape;
    const stride = new Array<number>(shape.length);
    for (let i = shape.length - 1, s = 1; i >= 0; i--) { stride[i] = s; s *= Math.max(shape[i], 1); }
    glob('torch._utils', '_rebuild_tensor_v2');
    w.op(OP.MARK, OP.MARK);
    str('storage');
    glob('torch', STORAGE_OF[t.dtype]);
    str(String(key));
    str('cpu');
    int(t.numel());
    w.op(OP.TUPLE, OP.BINPERSID);
    int(0);
    intTuple(shape);
    intTuple(stride);
    w.op(t.requiresGrad ? OP.NEWTRUE : OP.NEWFALSE);
    glob('collections', 'OrderedDict');
    w.op(OP.EMPTY_TUPLE, OP.REDUCE, OP.TUPLE, OP.REDUCE);
    put(t);
  };
  const items = (entries: [unknown, unknown][], path: string, depth: number, keyed: boolean): void => {
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      if (batch.length > 1) w.op(OP.MARK);
      for (const [k, v] of batch) {
        if (keyed) value(k, `${path} key`, depth + 1);
        value(v, `${path}[${typeof k === 'string' ? JSON.stringify(k) : String(k)}]`, depth + 1);
      }
      w.op(batch.length > 1 ? (keyed ? OP.SETITEMS : OP.APPENDS) : (keyed ? OP.SETITEM : OP.APPEND));
    }
  };
  const value = (v: unknown, path: string, depth: number): void => {
    if (depth > MAX_DEPTH) invalidArg(`a structure nested at most ${MAX_DEPTH} deep`, path, v);
    if (v === null) { w.op(OP.NONE); return; }
    switch (typeof v) {
      case 'boolean': w.op(v ? OP.NEWTRUE : OP.NEWFALSE); return;
      case 'number': num(v); return;
      case 'bigint': int(v); return;
      case 'string': str(v); return;
      default: break;
    }
    if (v instanceof Tensor) { tensor(v, path); return; }
    if (typeof v !== 'object') invalidArg('tensors, numbers, bigints, strings, booleans, null, arrays, Maps or plain objects', path, v);
    if (active.has(v)) invalidArg('a structure without cycles', path, v);
    active.add(v);
    if (Array.isArray(v)) {
      w.op(OP.EMPTY_LIST);
      items(v.map((x, i) => [i, x]), path, depth, false);
    } else if (v instanceof Map) {
      w.op(OP.EMPTY_DICT);
      for (const k of v.keys()) {
        if (typeof k !== 'string' && typeof k !== 'bigint' && typeof k !== 'number') invalidArg('Map keys that are strings, numbers or bigints', `${path} key`, k);
      }
      items([...v.entries()], path, depth, true);
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) invalidArg('tensors, numbers, bigints, strings, booleans, null, arrays, Maps or plain objects', path, v);
      w.op(OP.EMPTY_DICT);
      const entries = Object.keys(v).map((k): [unknown, unknown] => {
        const x = (v as Record<string, unknown>)[k];
        return [INT_KEY.test(k) && Number.isSafeInteger(Number(k)) ? Number(k) : k, x];
      });
      items(entries, path, depth, true);
    }
    active.delete(v);
  };

  w.op(OP.PROTO, 2);
  value(obj, name, 0);
  w.op(OP.STOP);
  return { pkl: w.done(), tensors };
}
