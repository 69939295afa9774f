/**
 * Autograd functions. Grad mode is per thread in libtorch: noGrad/enableGrad switch it for
 * the JS thread while `fn` runs; async jobs keep the mode that was on when they were queued.
 */
import { native } from './binding';
import { invalidArg } from './errors';
import { checkTensor, Tensor, wrap } from './tensor';
import { checkBool, checkOptions } from './validate';

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  if (typeof fn !== 'function') invalidArg('a function', 'fn', fn);
  const prev = native.isGradEnabled();
  native.setGradEnabled(enabled);
  try {
    // An async fn is fine: the jobs it queues before its first await capture this grad mode
    // (executor.h); code after an await runs outside the scope, as in any JS callback.
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/**
 * Runs `fn` with gradient recording off (torch.no_grad()). Async jobs that `fn` queues
 * (forwardAsync …) run with it off too: grad mode is captured when a job is queued.
 * @example const y = torch.noGrad(() => model.forward(x)); const z = await torch.noGrad(() => model.forwardAsync(x));
 */
export function noGrad<T>(fn: () => T): T { return withGradMode(false, fn); }
/** Runs `fn` with gradient recording on, inside a noGrad scope (torch.enable_grad()). */
export function enableGrad<T>(fn: () => T): T { return withGradMode(true, fn); }
/** Whether operations on the JS thread are being recorded. */
export function isGradEnabled(): boolean { return native.isGradEnabled(); }
/** Turns gradient recording on or off for the JS thread (torch.set_grad_enabled). */
export function setGradEnabled(enabled: boolean): void { native.setGradEnabled(checkBool(enabled, 'enabled')); }

export interface GradOptions {
  /** Gradients of the outputs (required for outputs with more than one element). */
  gradOutputs?: (Tensor | null)[];
  /** Keep the graph for another backward. Default: createGraph. */
  retainGraph?: boolean;
  /** Record the gradient computation, for higher-order gradients. Default false. */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. Default false. */
  allowUnused?: boolean;
}

/**
 * The gradients of `outputs` with respect to `inputs` (torch.autograd.grad), without touching `.grad`.
 * @example const [dx] = torch.autograd.grad(y.sum(), x);
 */
function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts?: GradOptions): (Tensor | null)[] {
  const o = checkOptions<GradOptions>(opts, 'options', ['gradOutputs', 'retainGraph', 'createGraph', 'allowUnused']);
  const outs = (Array.isArray(outputs) ? outputs : [outputs]).map((t, i) => checkTensor(t, `outputs[${i}]`));
  const ins = (Array.isArray(inputs) ? inputs : [inputs]).map((t, i) => checkTensor(t, `inputs[${i}]`));
  if (outs.length === 0) invalidArg('at least one output', 'outputs', outputs);
  if (ins.length === 0) invalidArg('at least one input', 'inputs', inputs);
  outs.forEach((t, i) => { if (!t.requiresGrad) invalidArg('a tensor that requires grad', `outputs[${i}]`, t); });
  ins.forEach((t, i) => { if (!t.requiresGrad) invalidArg('a tensor that requires grad', `inputs[${i}]`, t); });
  let gradOutputs: (Tensor | null)[] | null = null;
  if (o.gradOutputs !== undefined) {
    if (!Array.isArray(o.gradOutputs) || o.gradOutputs.length !== outs.length) invalidArg(`an array of ${outs.length} tensors`, 'gradOutputs', o.gradOutputs);
    gradOutputs = o.gradOutputs.map((g, i) => (g === null ? null : checkTensor(g, `gradOutputs[${i}]`)));
  }
  outs.forEach((t, i) => {
    const g = gradOutputs?.[i];
    if ((g === null || g === undefined) && t.numel() !== 1) invalidArg(`a gradient of shape [${t.shape.join(', ')}] (only one-element outputs have an implicit gradient)`, `gradOutputs[${i}]`, g);
  });
  const create = o.createGraph === undefined ? false : checkBool(o.createGraph, 'createGraph');
  const retain = o.retainGraph === undefined ? null : checkBool(o.retainGraph, 'retainGraph');
  const allowUnused = o.allowUnused === undefined ? false : checkBool(o.allowUnused, 'allowUnused');
  const res = native.grad(
    outs.map((t) => t.handle()), ins.map((t) => t.handle()),
    gradOutputs === null ? null : gradOutputs.map((g) => (g === null ? null : g.handle('gradOutputs'))),
    retain, create, allowUnused);
  return res.map((r) => (r === null ? null : wrap(r)));
}

export const autograd = { grad };

/**
 * @internal Clears the gradients of `params`: zeroes them in place (PyTorch 1.13's default,
 * with the gradient detached first as zero_grad does) or, with setToNone, drops them.
 */
export function zeroGradOf(params: Tensor[], setToNone: boolean): void {
  for (const p of params) {
    const g = p.grad;
    if (g === null) continue;
    if (setToNone) p.grad = null;
    else noGrad(() => g.zero_());
    g.dispose();
  }
}
