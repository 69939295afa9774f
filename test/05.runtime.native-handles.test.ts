// A handle that lib/ validates first can still reach native code (a caller of the binding, a
// bug in lib/): native/ rejects it with ERR_INVALID_ARG in lib/'s message shape, and the process
// survives.
import * as assert from 'assert';
import { native, TensorHandle } from '../lib/binding';
import * as torch from '../lib';

const invalid = (fn: () => unknown, message: string) =>
  assert.throws(fn, (e: Error & { code?: string }) => {
    assert.strictEqual(e.code, 'ERR_INVALID_ARG');
    assert.strictEqual(e.message, message);
    return true;
  });

describe('native handles of the wrong kind or already released', () => {
  it('a disposed tensor handle', () => {
    const t = torch.ones([2]);
    const handle = t._h as TensorHandle;
    native.dispose(handle);
    invalid(() => native.meta(handle), 'Expected a live tensor for a tensor argument but received a disposed tensor');
  });

  it('a module, optimizer or traced-graph handle that is another object', () => {
    invalid(() => native.moduleParameters({} as never), 'Expected a module handle for module but received an object of another kind');
    invalid(() => native.optimizerState({} as never), 'Expected an optimizer handle for optimizer but received an object of another kind');
    invalid(() => native.moduleParameters(null as never), 'Expected a module handle for module but received null');
  });
});
