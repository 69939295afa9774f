/**
 * The unpickler's state, and the primitive operations its opcode handlers (./handlers.ts) share:
 * reading the data, the stack and its MARKs, the memo, and Python's container kinds. dict and
 * OrderedDict both load as plain objects, list and tuple both as arrays: WeakSets remember which
 * is which, for the checks and messages.
 */
import { DType } from '../../dtype';
import { badFile, describe } from '../../errors';
import { Tensor } from '../../tensor';
import { PyGlobal } from './globals';

/** What unpickle() needs from the archive. */
export interface UnpickleSource {
  /** The file's name, for error messages. */
  file: string;
  /** A 1-D tensor holding storage `key` (`numel` elements of `dtype`); called once per key. */
  readStorage(key: string, dtype: DType, numel: number): Tensor;
}

/** A storage named by a persistent id; its tensor is read on first use. */
export class StorageRef {
  base: Tensor | null = null;
  constructor(readonly key: string, readonly dtype: DType, readonly numel: number) {}
}

const MAX_DIMS = 64;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Little-endian two's complement bytes → number (bigint beyond 2^53). */
export function decodeLong(bytes: Buffer): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A value's kind in messages: a global's path, a storage, 'None', 'a list', 'a tensor', … */
export function kindOf(v: unknown): string {
  if (v instanceof PyGlobal) return v.path;
  if (v instanceof StorageRef) return `storage "${v.key}"`;
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Tensor) return 'a tensor';
  if (typeof v === 'object') return 'a dict';
  return `a ${typeof v === 'string' ? 'str' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? 'number' : typeof v}`;
}

const NO_DATA = Buffer.alloc(0);
const NO_SOURCE: UnpickleSource = {
  file: '',
  readStorage(): Tensor { throw new Error('no pickle is being read'); },
};

/**
 * The unpickler's state. unpickle() reuses machines from one pickle to the next (start() sets one
 * up, release() drops every reference to what it read); see unpickle.ts for why.
 */
export class Unpickler {
  data: Buffer = NO_DATA;
  source: UnpickleSource = NO_SOURCE;
  file = '';
  /** Every tensor made, to free those the result does not hold (and all of them on error). */
  made: Tensor[] = [];
  storages = new Map<string, StorageRef>();
  dicts = new WeakSet<object>();
  ordered = new WeakSet<object>();
  lists = new WeakSet<object>();
  tuples = new WeakSet<object>();
  memo = new Map<number, unknown>();
  /** The items pushed since the last MARK; the stacks under the MARKs wait on `metastack`. */
  stack: unknown[] = [];
  metastack: unknown[][] = [];
  /** The next byte to read. */
  pos = 0;
  /** Where the current opcode starts (for messages). */
  opAt = 0;
  /** Set by STOP, with the value it popped. */
  stopped = false;
  result: unknown = undefined;

  /** Sets the machine up to read one pickle. */
  start(data: Buffer, source: UnpickleSource, made: Tensor[], storages: Map<string, StorageRef>): void {
    this.data = data;
    this.source = source;
    this.file = source.file;
    this.made = made;
    this.storages = storages;
    this.dicts = new WeakSet();
    this.ordered = new WeakSet();
    this.lists = new WeakSet();
    this.tuples = new WeakSet();
    this.memo = new Map();
    this.stack = [];
    this.metastack = [];
    this.pos = 0;
    this.opAt = 0;
    this.stopped = false;
    this.result = undefined;
  }

  /** Drops every reference to the pickle read: its data, its source, its values. */
  release(): void {
    this.start(NO_DATA, NO_SOURCE, [], new Map());
  }

  kind(v: unknown): string {
    return Array.isArray(v) ? (this.lists.has(v) ? 'a list' : 'a tuple') : kindOf(v);
  }

  corrupt(what: string): never {
    return badFile(this.file, `the pickle is corrupt (${what} at byte ${this.opAt} of data.pkl)`);
  }

  /** Consumes `n` bytes; returns where they start. */
  need(n: number): number {
    if (n > this.data.length - this.pos) this.corrupt('it ends early');
    const at = this.pos;
    this.pos += n;
    return at;
  }

  bytes(n: number): Buffer {
    return this.data.subarray(this.need(n), this.pos);
  }

  text(b: Buffer): string {
    try { return UTF8.decode(b); } catch { return this.corrupt('a string is not valid UTF-8'); }
  }

  /** A GLOBAL opcode's argument: text up to a newline. */
  line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) this.corrupt('a GLOBAL name has no line end');
    const s = this.text(this.data.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  pop(): unknown {
    if (this.stack.length === 0) this.corrupt('stack underflow');
    return this.stack.pop();
  }

  top(): unknown {
    if (this.stack.length === 0) this.corrupt('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  /** The items since the last MARK; the stack under that MARK becomes `stack` again. */
  popMark(): unknown[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (prev === undefined) return this.corrupt('no MARK');
    this.stack = prev;
    return items;
  }

  tuple(items: unknown[]): unknown[] {
    this.tuples.add(items);
    return items;
  }

  newDict(isOrdered: boolean): Record<string, unknown> {
    const d: Record<string, unknown> = {};
    this.dicts.add(d);
    if (isOrdered) this.ordered.add(d);
    return d;
  }

  setItem(d: unknown, k: unknown, v: unknown): void {
    if (d === null || typeof d !== 'object' || !this.dicts.has(d)) badFile(this.file, `the pickle sets an item on ${this.kind(d)}, which is not a dict`);
    let key: string;
    if (typeof k === 'string') key = k;
    else if ((typeof k === 'number' && Number.isFinite(k)) || typeof k === 'bigint') key = String(k);
    else return badFile(this.file, `a dict key that is ${this.kind(k)} is not supported (only str and int keys)`);
    // defineProperty: a "__proto__" key is data, not the prototype setter
    Object.defineProperty(d, key, { value: v, enumerable: true, writable: true, configurable: true });
  }

  int(v: unknown, what: string, min = 0): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) badFile(this.file, `${what} is ${describe(v)}, not an integer >= ${min}`);
    return v;
  }

  ints(v: unknown, what: string): number[] {
    if (!Array.isArray(v) || v.length > MAX_DIMS) badFile(this.file, `${what} is ${describe(v)}, not a tuple of at most ${MAX_DIMS} integers`);
    return v.map((x, i) => this.int(x, `${what}[${i}]`));
  }
}
