/**
 * Reading (`unpickle`): the run loop over the opcode table (./handlers.ts), then the result's
 * clean-up: leftover storages become tensors, globals left as values are refused, and tensors
 * the result does not hold are freed.
 */
import { badFile, TorchError } from '../../errors';
import { Tensor } from '../../tensor';
import { wholeStorage } from './calls';
import { PyGlobal } from './globals';
import { HANDLERS } from './handlers';
import { StorageRef, UnpickleSource, Unpickler } from './machine';

/** The tensors a value holds, at any depth. */
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

/**
 * Machines not in use. A machine is reused from one pickle to the next rather than made per
 * call: V8's optimized code for the handlers and the machine's methods depends on the machine
 * object, and a machine per call made all of it be thrown away at the first GC after every load
 * (measured: ~15% slower loads of a 50 MB state dict, with a re-optimization of every handler
 * per load). There is more than one only if unpickle() is re-entered from a readStorage callback.
 */
const idle: Unpickler[] = [];

/**
 * Reads one pickle. Refuses every global outside the running line's weights-only list
 * (ERR_CHECKPOINT `Refusing to load global <module>.<name> from <file>: …`) and every corrupt or
 * unsupported construct (ERR_CHECKPOINT `Cannot load <file>: …`). On error, every tensor it made
 * is freed.
 */
export function unpickle(data: Buffer, source: UnpickleSource): unknown {
  const file = source.file;
  const made: Tensor[] = [];
  const storages = new Map<string, StorageRef>();
  const m = idle.pop() ?? new Unpickler();
  m.start(data, source, made, storages);
  try {
    const result = run(m);
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
  } finally {
    m.release();
    idle.push(m);
  }
}

function run(m: Unpickler): unknown {
  const data = m.data;
  const handlers = HANDLERS; // a local: an imported binding can cost a property load (or a getter call) per opcode
  if (data.length === 0) badFile(m.file, 'data.pkl is empty');
  while (!m.stopped) {
    const at = m.pos;
    m.opAt = at;
    if (at >= data.length) m.corrupt('it ends early'); // m.need(1), inlined
    m.pos = at + 1;
    handlers[data[at]](m);
  }
  return finish(m, m.result);
}

/**
 * Replaces leftover storages with 1-D tensors and refuses classes or functions left as values.
 * Iterative: a deeply nested pickle cannot overflow the JS stack.
 */
function finish(m: Unpickler, result: unknown): unknown {
  // Locals: an imported binding can cost a property load (or a getter call) per value.
  const Global = PyGlobal;
  const Storage = StorageRef;
  const fix = (v: unknown): unknown => {
    if (v instanceof Global) return badFile(m.file, `the pickle holds ${v.path} as a value (only containers, primitives and tensors are returned)`);
    if (v instanceof Storage) return wholeStorage(m, v);
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
