// tfjs-layers' GRU and SimpleRNN recurrences for the TensorFlow.js backend's fused layers
// (native/tfjs/rnn.cc dispatches to them; the LSTM is fused::lstm's, shared with nn.LSTM): x
// [B, T, I] in processing order, h0 [B, U], tfjs's weight layouts (kernel [I, G*U], recurrent
// [U, G*U], bias [G*U]) and activation codes (gate_kernels.h), mask [B, T] float (1: the step
// counts) or undefined. With `save` the Result's `saved` is what the backward takes, the mask
// last; the training forward and the backward's steps run the batch's two halves at once where
// it splits (TrainingHalves, fused/common.h). The backward returns the gradients of the input
// projection (dProjection [B, T, G*U], written into dProjOut when given), h0 and the weights.
#pragma once
#include "../nn/fused/fused.h"

namespace trnn {
namespace tfjs_rnn {

// How many tensors each kind saves before the optional mask (the mask, when there is one, is last).
constexpr size_t kSavedGru = 5, kSavedSimple = 3;

// GRU (tfjs-layers' GRUCell: z, r, h; r applied to h before the recurrent matmul). seqOut,
// gatesOut, rhOut (optional): the buffers written (a half of a split batch writes its rows of
// the whole batch's; gatesOut [T, n, 3U] with any step stride).
fused::lstm::Result ForwardGru(const torch::Tensor& x, const torch::Tensor& h0In, const torch::Tensor& kernel, const torch::Tensor& recurrent,
                               const torch::Tensor& bias, int act, int recAct, bool save, const torch::Tensor& mask, const torch::Tensor& seqOut,
                               const torch::Tensor& gatesOut = torch::Tensor(), const torch::Tensor& rhOut = torch::Tensor());
fused::lstm::Grads BackwardGru(const std::vector<torch::Tensor>& saved, const torch::Tensor& recurrent, bool hasBias, int act, int recAct,
                               const torch::Tensor& dSeq, const torch::Tensor& dH, const torch::Tensor& dProjOut);

// SimpleRNN: h = act(x·kernel + bias + hPrev·recurrent).
fused::lstm::Result ForwardSimple(const torch::Tensor& x, const torch::Tensor& h0In, const torch::Tensor& kernel, const torch::Tensor& recurrent,
                                  const torch::Tensor& bias, int act, bool save, const torch::Tensor& mask, const torch::Tensor& seqOut);
fused::lstm::Grads BackwardSimple(const std::vector<torch::Tensor>& saved, const torch::Tensor& recurrent, bool hasBias, int act,
                                  const torch::Tensor& dSeq, const torch::Tensor& dH, const torch::Tensor& dProjOut);

}  // namespace tfjs_rnn
}  // namespace trnn
