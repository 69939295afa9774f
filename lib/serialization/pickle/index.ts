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
 * TypeScript implementation (calls.ts). Persistent ids `('storage', StorageClass, key, location,
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
 *
 * The files: globals.ts (the allow-list), machine.ts (the unpickler's state and primitives),
 * handlers.ts (the table opcode byte → handler), calls.ts (the allowed callables and persistent
 * ids), unpickle.ts (the run loop and the result's clean-up), writer.ts (pickle), opcodes.ts.
 */
export { ALLOWED_GLOBALS } from './globals';
export type { UnpickleSource } from './machine';
export { unpickle } from './unpickle';
export { pickle } from './writer';
