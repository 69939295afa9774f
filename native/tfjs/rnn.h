// Fused recurrent layers for the TensorFlow.js backend (lib/tfjs/rnn.ts): a whole tfjs-layers
// LSTM, GRU or SimpleRNN layer as one native call forward and one backward, in tfjs's weight
// layout and with tfjs's cell equations and gradients.
//
// tfjsRecurrent(kind, x, h0 | null, c0 | null, kernel, recurrentKernel, bias | null, activation,
//               recurrentActivation, goBackwards, save, mask | null)
//   -> [sequence [B, T, U], hT, cT | null, saved[] | null]
//   kind: 0 LSTM, 1 GRU (tfjs's variant: reset gate before the recurrent matmul, gates z, r, h,
//         no recurrent bias), 2 SimpleRNN.
//   x: [B, T, I] float32; h0, c0 (LSTM) [B, U], zeros when null. kernel: [I, G*U],
//   recurrentKernel: [U, G*U], bias: [G*U] (tfjs's layouts; G = 4, 3, 1). Activations:
//   0 linear, 1 tanh, 2 sigmoid, 3 hardSigmoid (clip(0.2 x + 0.5, 0, 1), tfjs's), 4 relu.
//   goBackwards: the sequence is processed from the last step; `sequence` is in processing
//   order, as tfjs-layers returns it.
//   save: keep what the backward pass needs (every step's gates and states) and return it.
//   mask: [B, T] or [B, T, 1], any dtype (non-zero: the step counts), in the input's time order
//   (reversed with it under goBackwards). At a masked step the row keeps its states and its
//   output repeats the previous one (h0 before the first unmasked step): tfjs-layers' rnn().
// tfjsRecurrentBackward(kind, saved[], kernel, recurrentKernel, hasBias, activation,
//               recurrentActivation, goBackwards, dSequence, dH, dC | null)
//   -> [dProjection, dh0, dc0 | null, dKernel, dRecurrentKernel, dBias | null]: backpropagation
//   through time; per step the gate gradients in one or two passes and one or two matmuls, the
//   weight gradients one matmul each. At a masked step the state gradients pass through to the
//   previous step and the gate gradients are 0. dProjection is the gradient of x·kernel
//   [B, T, G*U]; the input's gradient is
// tfjsRecurrentInputGrad(dProjection, kernel, goBackwards) -> dx, one matmul, run only when
//   tfjs's backprop needs it (not for a model's first layer, whose input is data).
// Without `save` and without a mask, an LSTM with tanh / sigmoid runs libtorch's own at::lstm
// (tfjs gate order i, f, c, o is libtorch's i, f, g, o; W_ih = kernelᵀ, W_hh = recurrentKernelᵀ,
// b_ih = bias, b_hh = 0); every other case runs the fused recurrence (native/nn/fused/): the
// input projection of all steps as one matmul up front, then per step one matmul and one
// vectorized gate pass (gate_kernels.h; the GRU: two of each, around its reset gate).
//
// tfjsRecurrentQueued / tfjsRecurrentBackwardQueued / tfjsRecurrentInputGradQueued: the same
//   arguments and results for the backend's asynchronous mode (native/queue.h): shapes checked
//   and outputs allocated at once, the kernel run later as a job on the executor; the forward
//   returns an opaque SavedState (released by tfjsRecurrentRelease) instead of saved handles.
//
// Threads: JS thread; the plain forms are synchronous and ordered after queued jobs, the queued
// forms return at once and run on the executor in call order.
#pragma once
#include "../addon.h"

namespace trnn {
void InitTfjs(Napi::Env env, Napi::Object exports);
}  // namespace trnn
