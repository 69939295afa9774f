/**
 * Bad input to autograd (issue 2, "Tests"): every validation branch of lib/autograd.ts asserts its
 * exact message, and libtorch's autograd refusals arrive as ERR_TORCH with libtorch's sentence and
 * no C++ backtrace. Tensor methods (backward, requiresGrad_, grad): test/13.
 */
import * as assert from 'assert';
import * as torch from '../lib';
import { byLine, dead, DEAD, invalid, throwsLibtorch } from './helpers';

describe('errors: every validation branch asserts its exact message', () => {
  describe('autograd.ts', () => {
    it('noGrad, enableGrad, setGradEnabled', () => {
      invalid(() => torch.noGrad('x' as never), 'Expected a function for fn but received "x"');
      invalid(() => torch.enableGrad(null as never), 'Expected a function for fn but received null');
      invalid(() => torch.noGrad(undefined as never), 'Expected a function for fn but received undefined');
      invalid(() => torch.setGradEnabled(1 as never), 'Expected a boolean for enabled but received 1');
      assert.strictEqual(torch.isGradEnabled(), true);
      // A function that throws leaves grad mode as it was.
      assert.throws(() => torch.noGrad(() => { throw new RangeError('inner'); }), RangeError);
      assert.strictEqual(torch.isGradEnabled(), true);
    });

    it('autograd.grad', () => {
      const x = torch.ones([2, 2], { requiresGrad: true });
      const y = x.mul(2);
      const s = y.sum();
      const g = torch.autograd.grad;
      invalid(() => g(s, x, 5 as never), 'Expected an options object for options but received 5');
      invalid(() => g(s, x, { retain: true } as never),
        'Expected one of the options gradOutputs, retainGraph, createGraph, allowUnused for an option of options but received "retain"');
      invalid(() => g('a' as never, x), 'Expected a Tensor for outputs[0] but received "a"');
      invalid(() => g(s, [x, 3 as never]), 'Expected a Tensor for inputs[1] but received 3');
      invalid(() => g([], x), 'Expected at least one output for outputs but received []');
      invalid(() => g(s, []), 'Expected at least one input for inputs but received []');
      invalid(() => g(torch.ones([1]), x), 'Expected a tensor that requires grad for outputs[0] but received a float32 Tensor of shape [1]');
      invalid(() => g(s, [x, torch.ones([1])]), 'Expected a tensor that requires grad for inputs[1] but received a float32 Tensor of shape [1]');
      invalid(() => g(y, x), 'Expected a gradient of shape [2, 2] (only one-element outputs have an implicit gradient) for gradOutputs[0] but received undefined');
      invalid(() => g(y, x, { gradOutputs: [null] }), 'Expected a gradient of shape [2, 2] (only one-element outputs have an implicit gradient) for gradOutputs[0] but received null');
      invalid(() => g(y, x, { gradOutputs: [] }), 'Expected an array of 1 tensors for gradOutputs but received []');
      invalid(() => g(y, x, { gradOutputs: 'a' as never }), 'Expected an array of 1 tensors for gradOutputs but received "a"');
      invalid(() => g(y, x, { gradOutputs: [3 as never] }), 'Expected a Tensor for gradOutputs[0] but received 3');
      invalid(() => g(y, x, { gradOutputs: [dead()] }), `Expected a live Tensor for gradOutputs[0] but received ${DEAD}`);
      invalid(() => g(s, x, { createGraph: 1 } as never), 'Expected a boolean for createGraph but received 1');
      invalid(() => g(s, x, { retainGraph: 'a' } as never), 'Expected a boolean for retainGraph but received "a"');
      invalid(() => g(s, x, { allowUnused: null } as never), 'Expected a boolean for allowUnused but received null');
      invalid(() => g(dead(), x), `Expected a live Tensor for outputs[0] but received ${DEAD}`);
      invalid(() => g(s, dead()), `Expected a live Tensor for inputs[0] but received ${DEAD}`);
      // libtorch's own refusals
      throwsLibtorch(() => g(y, x, { gradOutputs: [torch.ones([5])] }), 'invalid gradient at index 0 - got [5] but expected shape compatible with [2, 2]');
      throwsLibtorch(() => g(s, [x, torch.ones([2], { requiresGrad: true })]),
        `${byLine({ '1.13': 'One of', '2.6': 'element 1of' })} the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.`);
    });
  });

  describe('libtorch errors: ERR_TORCH with libtorch\'s sentence and no backtrace', () => {
    it('autograd errors', () => {
      const leaf = torch.ones([2], { requiresGrad: true });
      throwsLibtorch(() => leaf.add_(1), 'a leaf Variable that requires grad is being used in an in-place operation.');
      throwsLibtorch(() => leaf.mul(2).requiresGrad_(false), /^you can only change requires_grad flags of leaf variables\./);
      throwsLibtorch(() => torch.ones([2]).retainGrad(), "can't retain_grad on Tensor that has requires_grad=False");
      const s = leaf.mul(leaf).sum();
      s.backward();
      throwsLibtorch(() => s.backward(), /^Trying to backward through the graph a second time .*Specify retain_graph=True/);
    });
  });
});
