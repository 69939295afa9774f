// nn.LSTM on packed sequences (a PackedSequence, or `lengths`), fused like the padded layer
// (lstm.h): per layer the input projection of all packed rows as one matmul, then per
// step one mm over the step's batch (a prefix of the sorted batch: batch sizes do not
// increase) and one vectorized pass (gate_kernels); backward per step one arithmetic pass and
// one matmul, the weight gradients one matmul each over all rows.
//
// The operator torchrnn::lstm_layer_packed(data, batch_sizes, h0, c0, w_ih, w_hh, b_ih?, b_hh?)
// -> (output data, hN, cN) carries one layer: CPU kernel the forward alone, Autograd kernel
// its own backward (node LstmPackedLayerBackward; createGraph recomputes with libtorch's
// packed at::lstm). States are in sorted order, as libtorch's packed layer takes them. With
// projSize, torchrnn::lstm_proj_layer_packed (lstm_proj.h) runs the same layer with w_hr.
//
// Threads: whichever thread runs the module (JS thread or the executor).
#pragma once
#include "../../addon.h"
#include "common.h"
#include "lstm.h"

namespace trnn {
namespace fused {
namespace lstm {

// nn.LSTM's forward on a packed input: output data [N, D*U], hN and cN [L*D, B, U] in the
// batch's own order (as libtorch's module returns them). The reverse direction runs the same
// operator on every sequence reversed in place (an index_select, the same batch sizes).
// Otherwise as Forward() (lstm.h) decides: nullopt where the caller runs libtorch's LSTM.
c10::optional<std::vector<torch::Tensor>> ForwardPacked(const torch::nn::LSTM& m, const Packed& input, const torch::Tensor& h0,
                                                        const torch::Tensor& c0);

// Registers torchrnn::lstm_layer_packed (once per process).
// The tfjs backend's masked LSTM in inference (nothing saved) on a batch whose mask is
// post-padded (PostPadded, common.h; x [B, T, I] in processing order, h0 and c0 [B, U], kernel
// [I, 4U], recurrent [U, 4U], tfjs's activations): the packed layer over the counted steps
// only. The sequence (into seqOut when given) repeats each row's last output over its masked
// steps, and the final states are those of its last counted step (h0 and c0 for a row without
// one): what ForwardLstm's masked pass gives, without a matmul or gate pass for masked rows.
Result ForwardPostPadded(const PostPadded& p, const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0,
                         const torch::Tensor& kernel, const torch::Tensor& recurrent, const torch::Tensor& bias, int act, int recAct,
                         const torch::Tensor& seqOut = torch::Tensor());

void RegisterPacked();

// ---- One packed layer operator's parts, shared by torchrnn::lstm_layer_packed (here) and
// lstm_proj_layer_packed (lstm_proj.cc): data [N, I] (packed rows), batch_sizes, h0 [B, P] and
// c0 [B, U] in sorted order, w_ih, w_hh, b_ih, b_hh as lstm.h's layer parts, w_hr [P, U] with a
// projection (undefined without). Outputs: output data [N, P], hN, cN.

// libtorch's packed at::lstm on one layer (differentiable: the double backward recomputes with it).
Triple PackedReference(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                       const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh,
                       const torch::Tensor& whr = torch::Tensor());
// Without autograd: the fused forward alone, one step's scratch.
Triple PackedForwardNoGrad(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                           const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh,
                           const torch::Tensor& whr = torch::Tensor());
// An autograd Function's forward (inputs: data, h0, c0, w_ih, w_hh, b_ih, b_hh[, w_hr], biases
// defined; the Function's own inputs have batch_sizes second) and backward (one gradient per
// Function input, none for batch_sizes; grad mode on: ReferenceGrads through PackedReference).
torch::autograd::variable_list PackedForwardSaving(torch::autograd::AutogradContext* ctx, const torch::Tensor& batchSizes,
                                                   const torch::autograd::variable_list& inputs);
torch::autograd::variable_list PackedBackwardSaved(torch::autograd::AutogradContext* ctx, const torch::autograd::variable_list& grads);

// An operator's Autograd kernel: the Function F where some input needs a gradient, else the
// forward alone. whr: none, or w_hr.
template <typename F, typename... Proj>
Triple PackedAutogradWith(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                          const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, const Proj&... whr) {
  torch::Tensor bi = BiasOr(bih, wih), bh = BiasOr(bhh, wih);
  if (!NeedsGrad({&data, &h0, &c0, &wih, &whh, &bi, &bh, &whr...})) {
    at::AutoDispatchBelowADInplaceOrView below;
    return PackedForwardNoGrad(data, batchSizes, h0, c0, wih, whh, bih, bhh, whr...);
  }
  torch::autograd::variable_list out = F::apply(data, batchSizes, h0, c0, wih, whh, bi, bh, whr...);
  return {out[0], out[1], out[2]};
}

}  // namespace lstm
}  // namespace fused
}  // namespace trnn
