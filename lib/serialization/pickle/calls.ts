/**
 * What REDUCE, NEWOBJ and BINPERSID do: calls are interpreted, never executed. Each allowed
 * callable (./globals.ts) has a TypeScript implementation here, by its kind. Persistent ids
 * `('storage', StorageClass, key, location, numel)` are resolved through the source's callback
 * (the zip's `data/<key>` record); tensors become `as_strided` views of their storage, so
 * tensors that share a storage in the file share it after loading too.
 */
import { native } from '../../binding';
import { isFloating } from '../../dtype';
import { badFile, describe } from '../../errors';
import { Tensor, wrap } from '../../tensor';
import { Kind, PyGlobal } from './globals';
import { StorageRef, Unpickler } from './machine';

const AS_STRIDED = native.op('aten::as_strided', '');

/** BINPERSID: the storage a persistent id names (one StorageRef per key). */
export function persistentLoad(m: Unpickler, pid: unknown): StorageRef {
  const file = m.file;
  if (!Array.isArray(pid) || !m.tuples.has(pid) || pid[0] !== 'storage') badFile(file, `only persistent ids of storages are allowed, not ${describe(pid)}`);
  if (pid.length !== 5) badFile(file, `a storage's persistent id has ${pid.length} fields, not 5`);
  const [, type, rawKey, location, rawNumel] = pid as unknown[];
  if (!(type instanceof PyGlobal) || type.kind !== 'storage') badFile(file, `a storage's type is ${m.kind(type)}, not a torch storage class`);
  if (typeof rawKey !== 'string' && typeof rawKey !== 'number') badFile(file, `a storage's key is ${describe(rawKey)}, not a string`);
  if (typeof location !== 'string') badFile(file, `storage "${rawKey}" has location ${describe(location)}, not a string`);
  const key = String(rawKey);
  if (type.dtype === 'unsupported' || type.dtype === null) badFile(file, `storage "${key}" has type ${type.path}, whose dtype torchrnn does not support`);
  const numel = m.int(rawNumel, `the element count of storage "${key}"`);
  const known = m.storages.get(key);
  if (known) {
    if (known.dtype !== type.dtype || known.numel !== numel) badFile(file, `storage "${key}" is named as ${known.numel} ${known.dtype} and as ${numel} ${type.dtype} elements`);
    return known;
  }
  const s = new StorageRef(key, type.dtype, numel);
  m.storages.set(key, s);
  return s;
}

/** The 1-D tensor of a storage, read from the source on first use. */
function baseOf(m: Unpickler, s: StorageRef): Tensor {
  if (s.base === null) {
    s.base = m.source.readStorage(s.key, s.dtype, s.numel);
    m.made.push(s.base);
  }
  return s.base;
}

/** A storage left as a value (not rebuilt into a tensor): a 1-D tensor over all of it. */
export function wholeStorage(m: Unpickler, s: StorageRef): Tensor {
  const t = wrap(native.call(AS_STRIDED, baseOf(m, s).handle(), [s.numel], [1], 0));
  m.made.push(t);
  return t;
}

function setRequiresGrad(m: Unpickler, t: Tensor): void {
  if (!isFloating(t.dtype)) badFile(m.file, `${t.dtype.startsWith('int') ? 'an' : 'a'} ${t.dtype} tensor is marked requires_grad (only floating-point tensors can be)`);
  t.requiresGrad_(true);
}

/** _rebuild_tensor_v2 (storage, offset, size, stride, requires_grad, hooks[, metadata]) and _rebuild_tensor (the first four). */
function rebuild(m: Unpickler, args: unknown[], withGrad: boolean): Tensor {
  const file = m.file;
  const [s, rawOffset, rawSize, rawStride] = args;
  if (!(s instanceof StorageRef)) badFile(file, `a tensor is rebuilt from ${m.kind(s)}, not a storage`);
  const offset = m.int(rawOffset, `the storage offset of a tensor in storage "${s.key}"`);
  const size = m.ints(rawSize, `the size of a tensor in storage "${s.key}"`);
  const stride = m.ints(rawStride, `the stride of a tensor in storage "${s.key}"`);
  if (stride.length !== size.length) badFile(file, `a tensor in storage "${s.key}" has ${size.length} sizes but ${stride.length} strides`);
  const numel = size.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(numel)) badFile(file, `a tensor of shape [${size.join(', ')}] has more than 2^53 elements`);
  const needed = numel === 0 ? offset : offset + size.reduce((a, n, i) => a + (n - 1) * stride[i], 0) + 1;
  if (!Number.isSafeInteger(needed) || needed > s.numel) {
    badFile(file, `a tensor of shape [${size.join(', ')}] (strides [${stride.join(', ')}], offset ${offset}) needs ${needed} elements but storage "${s.key}" has ${s.numel}`);
  }
  const requiresGrad = withGrad ? args[4] : false;
  if (typeof requiresGrad !== 'boolean') badFile(file, `requires_grad of a tensor in storage "${s.key}" is ${describe(requiresGrad)}, not a bool`);
  const t = wrap(native.call(AS_STRIDED, baseOf(m, s).handle(), size, stride, offset));
  m.made.push(t);
  if (requiresGrad) setRequiresGrad(m, t);
  return t;
}

/** torch.nn.Parameter(data, requires_grad=True): the tensor itself, marked requires_grad. */
function parameter(m: Unpickler, args: unknown[]): Tensor {
  const [t, rg = true] = args;
  if (!(t instanceof Tensor)) badFile(m.file, `a Parameter is made of ${m.kind(t)}, not a tensor`);
  if (typeof rg !== 'boolean') badFile(m.file, `requires_grad of a Parameter is ${describe(rg)}, not a bool`);
  if (rg) setRequiresGrad(m, t);
  return t;
}

/** An allowed callable's implementation: `args` is a tuple, `f` the global called. */
type Call = (m: Unpickler, f: PyGlobal, args: unknown[]) => unknown;

/** The arity check every implementation starts with. */
function arity(m: Unpickler, f: PyGlobal, args: unknown[], ok: boolean, want: string | number): void {
  if (!ok) badFile(m.file, `${f.path} is called with ${args.length} arguments, not ${want}`);
}

/** Every kind of global, called: the implementations of the allowed callables, and refusals. */
const CALLS: Record<Kind, Call> = {
  rebuild_v2: (m, f, args) => {
    arity(m, f, args, args.length === 6 || args.length === 7, 6);
    return rebuild(m, args, true);
  },
  rebuild: (m, f, args) => {
    arity(m, f, args, args.length === 4, 4);
    return rebuild(m, args, false);
  },
  rebuild_parameter: (m, f, args) => { // (data, requires_grad, hooks[, state]): hooks and Python attributes are dropped
    const want = f.path.endsWith('_with_state') ? 4 : 3;
    arity(m, f, args, args.length === want, want);
    return parameter(m, args.slice(0, 2));
  },
  Parameter: (m, f, args) => {
    arity(m, f, args, args.length <= 2, '1 or 2');
    return parameter(m, args);
  },
  OrderedDict: (m, f, args) => {
    const d = m.newDict(true);
    arity(m, f, args, args.length <= 1, '0 or 1');
    if (args.length === 1) {
      if (!Array.isArray(args[0])) badFile(m.file, `${f.path} is called with ${m.kind(args[0])}, not a list of pairs`);
      for (const pair of args[0] as unknown[]) {
        if (!Array.isArray(pair) || pair.length !== 2) badFile(m.file, `${f.path} is called with an item that is not a pair`);
        m.setItem(d, pair[0], pair[1]);
      }
    }
    return d;
  },
  Size: (m, f, args) => {
    arity(m, f, args, args.length === 1, 1);
    return m.tuple(m.ints(args[0], 'a torch.Size'));
  },
  tensorClass: (m, f) => badFile(m.file, `legacy tensor construction through ${f.path} is not supported`),
  Counter: (m, f, args) => {
    arity(m, f, args, args.length <= 1, '0 or 1');
    const d = m.newDict(false);
    const from = args[0];
    if (from !== undefined) {
      if (from === null || typeof from !== 'object' || !m.dicts.has(from)) badFile(m.file, `${f.path} is called with ${m.kind(from)}, not a dict`);
      for (const [k, v] of Object.entries(from as object)) m.setItem(d, k, v);
    }
    return d;
  },
  device: (m, f, args) => {
    const [type, index] = args;
    if (typeof type !== 'string' || args.length > 2 || (index !== undefined && index !== null && typeof index !== 'number')) {
      badFile(m.file, `${f.path} is called with ${describe(args)}, not a device type and an optional index`);
    }
    return typeof index === 'number' ? `${type}:${index}` : type;
  },
  encode: (m, f, args) => { // protocol 2's bytes: _codecs.encode(str, 'latin1')
    const [str, encoding] = args;
    if (typeof str !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) badFile(m.file, `${f.path} is called with ${describe(args)}, not a str and 'latin1'`);
    return new Uint8Array(Buffer.from(str as string, 'latin1'));
  },
  bytearray: (m, f, args) => {
    const from = args[0] ?? new Uint8Array(0);
    if (args.length > 1 || !(from instanceof Uint8Array)) badFile(m.file, `${f.path} is called with ${describe(args)}, not bytes`);
    return new Uint8Array(from as Uint8Array);
  },
  set: (m, f, args) => {
    const from = args[0] ?? [];
    if (args.length > 1 || !Array.isArray(from)) badFile(m.file, `${f.path} is called with ${m.kind(from)}, not a list`);
    return m.tuple([...(from as unknown[])]);
  },
  rebuild_from_type: (m, f, args) => { // (func, type, args, state): a tensor rebuilt by func, then given `type`
    const [func, type, inner, state] = args;
    arity(m, f, args, args.length === 4, 4);
    const plain = type instanceof PyGlobal && (type.path === 'torch.Tensor' || type.kind === 'Parameter');
    const stateless = state === null || (typeof state === 'object' && Object.keys(state as object).length === 0);
    if (!plain || !stateless) badFile(m.file, `${f.path}: tensor subclasses and tensors with Python attributes are not supported`);
    return call(m, func, inner);
  },
  unsupported: (m, f) => badFile(m.file, `${f.path}: ${f.why}`),
  storage: (m, f) => badFile(m.file, `the pickle calls ${f.path}, which is not a function`),
};

/** REDUCE and NEWOBJ: `f(*args)`, for the allowed callables only. */
export function call(m: Unpickler, f: unknown, args: unknown): unknown {
  if (!Array.isArray(args) || !m.tuples.has(args)) badFile(m.file, `a call's arguments are ${m.kind(args)}, not a tuple`);
  if (!(f instanceof PyGlobal)) return badFile(m.file, `the pickle calls ${m.kind(f)} (only torch's tensor-rebuilding functions may be called)`);
  return CALLS[f.kind](m, f, args);
}
