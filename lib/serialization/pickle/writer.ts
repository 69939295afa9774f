/**
 * Writing (`pickle`): protocol 2, as torch.save does: dicts (EMPTY_DICT/SETITEMS), lists
 * (EMPTY_LIST/APPENDS) and `torch._utils._rebuild_tensor_v2` calls with persistent storage ids,
 * which Python's torch.load (weights_only=True included) reads.
 */
import { DType } from '../../dtype';
import { invalidArg } from '../../errors';
import { Tensor } from '../../tensor';
import { OP } from './opcodes';

/** torch storage class names by dtype. */
const STORAGE_OF: Record<DType, string> = {
  float32: 'FloatStorage', float64: 'DoubleStorage', float16: 'HalfStorage', bfloat16: 'BFloat16Storage',
  int64: 'LongStorage', int32: 'IntStorage', int16: 'ShortStorage', int8: 'CharStorage', uint8: 'ByteStorage', bool: 'BoolStorage',
  complex64: 'ComplexFloatStorage', complex128: 'ComplexDoubleStorage',
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
