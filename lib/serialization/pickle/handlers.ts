/**
 * The unpickler's opcodes: one small handler per opcode, in a table indexed by the opcode byte
 * (every other byte gets `unsupported`). The run loop (./unpickle.ts) reads a byte and calls
 * `HANDLERS[byte](m)`. Python's names and semantics (pickletools), restricted to what torch.save
 * writes.
 */
import { badFile } from '../../errors';
import { Tensor } from '../../tensor';
import { call, persistentLoad } from './calls';
import { PyGlobal, resolveGlobal } from './globals';
import { decodeLong, Unpickler } from './machine';
import { OP } from './opcodes';

export type Handler = (m: Unpickler) => void;

/** Every byte that is not an opcode torchrnn reads. */
function unsupported(m: Unpickler): void {
  m.corrupt(`unsupported opcode 0x${m.data[m.opAt].toString(16).padStart(2, '0')}`);
}

/** Opcode byte → handler (a packed array of 256 functions: no holes, no undefined checks). */
export const HANDLERS: Handler[] = Array.from({ length: 256 }, (): Handler => unsupported);

function on(op: number, handler: Handler): void {
  HANDLERS[op] = handler;
}

// ---- framing and the stack -------------------------------------------------------------------

on(OP.PROTO, (m) => {
  const v = m.data[m.need(1)];
  if (v > 5) m.corrupt(`unknown pickle protocol ${v}`);
});
on(OP.FRAME, (m) => { m.need(8); }); // frames only group opcodes; the data is read as it comes
on(OP.STOP, (m) => {
  m.result = m.pop();
  m.stopped = true;
});
on(OP.MARK, (m) => {
  m.metastack.push(m.stack);
  m.stack = [];
});
on(OP.POP, (m) => { m.pop(); });
on(OP.POP_MARK, (m) => { m.popMark(); });

// ---- constants and numbers -------------------------------------------------------------------

on(OP.NONE, (m) => { m.stack.push(null); });
on(OP.NEWTRUE, (m) => { m.stack.push(true); });
on(OP.NEWFALSE, (m) => { m.stack.push(false); });
on(OP.BININT, (m) => { m.stack.push(m.data.readInt32LE(m.need(4))); });
on(OP.BININT1, (m) => { m.stack.push(m.data[m.need(1)]); });
on(OP.BININT2, (m) => { m.stack.push(m.data.readUInt16LE(m.need(2))); });
on(OP.LONG1, (m) => {
  const n = m.data[m.need(1)];
  m.stack.push(decodeLong(m.bytes(n)));
});
on(OP.LONG4, (m) => {
  const n = m.data.readInt32LE(m.need(4));
  if (n < 0 || n > 256) m.corrupt(`an integer of ${n} bytes`);
  m.stack.push(decodeLong(m.bytes(n)));
});
on(OP.BINFLOAT, (m) => { m.stack.push(m.data.readDoubleBE(m.need(8))); });

// ---- strings ---------------------------------------------------------------------------------

on(OP.SHORT_BINUNICODE, (m) => { m.stack.push(m.text(m.bytes(m.data[m.need(1)]))); });
on(OP.BINUNICODE, (m) => { m.stack.push(m.text(m.bytes(m.data.readUInt32LE(m.need(4))))); });
on(OP.BINUNICODE8, (m) => {
  const n = m.data.readBigUInt64LE(m.need(8));
  if (n > BigInt(m.data.length)) m.corrupt('it ends early');
  m.stack.push(m.text(m.bytes(Number(n))));
});
// Python 2 byte strings: torch.load decodes them with encoding='utf-8'.
on(OP.SHORT_BINSTRING, (m) => { m.stack.push(m.text(m.bytes(m.data[m.need(1)]))); });
on(OP.BINSTRING, (m) => {
  const n = m.data.readInt32LE(m.need(4));
  if (n < 0) m.corrupt('a negative string length');
  m.stack.push(m.text(m.bytes(n)));
});

// ---- containers ------------------------------------------------------------------------------
// popMark() replaces `m.stack`: push onto the stack in a statement after it, never as
// `m.stack.push(…popMark()…)` (which would push onto the stack above the MARK).

on(OP.EMPTY_DICT, (m) => { m.stack.push(m.newDict(false)); });
on(OP.EMPTY_LIST, (m) => {
  const l: unknown[] = [];
  m.lists.add(l);
  m.stack.push(l);
});
on(OP.EMPTY_TUPLE, (m) => { m.stack.push(m.tuple([])); });
on(OP.EMPTY_SET, (m) => { m.stack.push(m.tuple([])); });
on(OP.TUPLE, (m) => {
  const items = m.popMark();
  m.stack.push(m.tuple(items));
});
on(OP.TUPLE1, (m) => {
  const a = m.pop();
  m.stack.push(m.tuple([a]));
});
on(OP.TUPLE2, (m) => {
  const b = m.pop();
  const a = m.pop();
  m.stack.push(m.tuple([a, b]));
});
on(OP.TUPLE3, (m) => {
  const c = m.pop();
  const b = m.pop();
  const a = m.pop();
  m.stack.push(m.tuple([a, b, c]));
});
on(OP.LIST, (m) => {
  const l = m.popMark();
  m.lists.add(l);
  m.stack.push(l);
});
on(OP.DICT, (m) => {
  const items = m.popMark();
  if (items.length % 2) m.corrupt('an odd number of dict items');
  const d = m.newDict(false);
  for (let i = 0; i < items.length; i += 2) m.setItem(d, items[i], items[i + 1]);
  m.stack.push(d);
});
on(OP.SETITEM, (m) => {
  const v = m.pop();
  const k = m.pop();
  m.setItem(m.top(), k, v);
});
on(OP.SETITEMS, (m) => {
  const items = m.popMark();
  if (items.length % 2) m.corrupt('an odd number of dict items');
  const d = m.top();
  for (let i = 0; i < items.length; i += 2) m.setItem(d, items[i], items[i + 1]);
});

/** The list on top of the stack, that APPEND and APPENDS add to. */
function listOnTop(m: Unpickler): unknown[] {
  const l = m.top();
  if (!Array.isArray(l) || !m.lists.has(l)) badFile(m.file, `the pickle appends to ${m.kind(l)}, which is not a list`);
  return l;
}
on(OP.APPEND, (m) => {
  const x = m.pop();
  listOnTop(m).push(x);
});
on(OP.APPENDS, (m) => {
  const items = m.popMark();
  const l = listOnTop(m);
  for (const x of items) l.push(x);
});

// ---- the memo --------------------------------------------------------------------------------

on(OP.BINPUT, (m) => { m.memo.set(m.data[m.need(1)], m.top()); });
on(OP.LONG_BINPUT, (m) => { m.memo.set(m.data.readUInt32LE(m.need(4)), m.top()); });
on(OP.MEMOIZE, (m) => { m.memo.set(m.memo.size, m.top()); });

function memoGet(m: Unpickler, i: number): void {
  if (!m.memo.has(i)) m.corrupt(`memo entry ${i} is missing`);
  m.stack.push(m.memo.get(i));
}
on(OP.BINGET, (m) => { memoGet(m, m.data[m.need(1)]); });
on(OP.LONG_BINGET, (m) => { memoGet(m, m.data.readUInt32LE(m.need(4))); });

// ---- globals, calls and persistent ids -------------------------------------------------------

on(OP.GLOBAL, (m) => {
  const module = m.line();
  const name = m.line();
  m.stack.push(resolveGlobal(module, name, m.file));
});
on(OP.STACK_GLOBAL, (m) => {
  const name = m.pop();
  const module = m.pop();
  if (typeof module !== 'string' || typeof name !== 'string') m.corrupt('STACK_GLOBAL without two strings');
  m.stack.push(resolveGlobal(module as string, name as string, m.file));
});
on(OP.REDUCE, (m) => {
  const args = m.pop();
  const f = m.pop();
  m.stack.push(call(m, f, args));
});
on(OP.NEWOBJ, (m) => {
  const args = m.pop();
  const cls = m.pop();
  if (!(cls instanceof PyGlobal) || cls.kind !== 'Parameter') badFile(m.file, `the pickle instantiates ${m.kind(cls)} (only torch.nn.Parameter may be)`);
  m.stack.push(call(m, cls, args));
});
on(OP.BUILD, (m) => {
  const state = m.pop();
  const inst = m.top();
  if (inst !== null && typeof inst === 'object' && m.ordered.has(inst)) return; // OrderedDict attributes (a state dict's _metadata): dropped
  const empty = state === null || (typeof state === 'object' && Object.keys(state as object).length === 0);
  if (inst instanceof Tensor && empty) return;
  badFile(m.file, `the pickle sets the state of ${m.kind(inst)} (only tensors, parameters and OrderedDicts may have one)`);
});
on(OP.BINPERSID, (m) => { m.stack.push(persistentLoad(m, m.pop())); });
