// nn.LSTM with projSize (PyTorch's proj_size: h_t = W_hr · (o_t * tanh(c_t)), h of size P < U)
// on the fused recurrence: per step the recurrent mm (h_{t-1} [B, P] · W_hhᵀ), the vectorized gate
// pass (gate_kernels, writing o * tanh(c) into a [B, U] buffer) and one more small mm, the
// projection (· W_hrᵀ, [B, U] x [U, P]). Backward per step: the gradient of o * tanh(c) as
// dh_t · W_hr, the gate-gradient pass, dh_{t-1} = dz · W_hh; W_hr's gradient is one matmul over
// all steps at the end (the forward saves o * tanh(c) of every step). The recurrence is lstm.h's
// ForwardLstm / BackwardLstm with their `projection` (padded) and lstm_packed.cc's packed layer
// with w_hr; this file holds the two operators:
//
//   torchrnn::lstm_proj_layer(input, h0, c0, w_ih, w_hh, b_ih?, b_hh?, w_hr) -> (output, hN, cN)
//     one layer and direction, input [B, T, I] in processing order, h0 [B, P], c0 [B, U];
//     autograd node LstmProjLayerBackward
//   torchrnn::lstm_proj_layer_packed(data, batch_sizes, h0, c0, w_ih, w_hh, b_ih?, b_hh?, w_hr)
//     -> (output data, hN, cN), the packed layer (states in sorted order); node
//     LstmProjPackedLayerBackward
//
// Each with a CPU kernel (the forward alone: inference) and an Autograd kernel (its own
// backward; backward with createGraph recomputes with libtorch's at::lstm, which takes w_hr
// too). torchrnn::lstm_layer and lstm_layer_packed keep their schemas (traced graphs and saved
// TorchScript name them). nn.LSTM's forward (lstm.h Forward, lstm_packed.h ForwardPacked)
// calls these per layer and direction when the module has projSize.
//
// Threads: whichever thread runs the module (JS thread or the executor).
#pragma once
#include "../../addon.h"
#include "common.h"

namespace trnn {
namespace fused {
namespace lstm {

// One layer and direction through torchrnn::lstm_proj_layer: x [B, T, I] in processing order,
// h0 [B, P], c0 [B, U], w_hr [P, U]; output [B, T, P], hN [B, P], cN [B, U].
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> ProjLayer(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0,
                                                                  const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih,
                                                                  const OptTensor& bhh, const torch::Tensor& whr);
// One layer and direction through torchrnn::lstm_proj_layer_packed: packed rows [N, I] and their
// batch sizes, states in sorted order; output data [N, P], hN, cN.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> ProjPackedLayer(const torch::Tensor& data, const torch::Tensor& batchSizes,
                                                                        const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih,
                                                                        const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh,
                                                                        const torch::Tensor& whr);

// Registers torchrnn::lstm_proj_layer and lstm_proj_layer_packed (once per process).
void RegisterProj();

}  // namespace lstm
}  // namespace fused
}  // namespace trnn
