// nn.GRU and nn.RNN (tanh or relu) layers fused like the LSTM (lstm.h): per layer and
// direction, the input projection of all steps as one matmul, then per step one mm and one
// vectorized pass over the rows (gate_kernels), in place of libtorch's per-step linear, chunk
// and activation kernels.
//
// The operators torchrnn::gru_layer and torchrnn::rnn_layer (one layer, one direction) carry
// it: their CPU kernel is the forward alone (inference: no input needs a gradient, or grad mode
// is off); their Autograd kernel saves the activations and runs its own backpropagation through
// time (nodes GruLayerBackward / RnnLayerBackward: per step one arithmetic pass and one matmul,
// the weight gradients one matmul each over all steps). backward(createGraph) recomputes the
// layer with libtorch's own at::gru / at::rnn_* for differentiable gradients. A traced graph
// records one node per layer and direction.
//
// Threads: whichever thread runs the module (JS thread or the executor).
#pragma once
#include "../../addon.h"

namespace trnn {
namespace fused {
namespace gru_rnn {

// output [same layout as input], hN [layers * dirs, B, U]; nullopt when the fused path does not
// apply and the caller runs libtorch's module: torch.backends.fusedRnn disabled, CPU autocast,
// not float32 on the CPU, not a 3-D input with at least one step, or dropout between layers in
// training mode (its random mask would differ from libtorch's). input and the optional h0 as
// the module takes them (3-D; packed input is never passed here).
c10::optional<std::vector<torch::Tensor>> Gru(const torch::nn::GRU& m, const torch::Tensor& input, const torch::Tensor& h0);
c10::optional<std::vector<torch::Tensor>> Rnn(const torch::nn::RNN& m, const torch::Tensor& input, const torch::Tensor& h0);

// Registers torchrnn::gru_layer and torchrnn::rnn_layer with libtorch's dispatcher (once per
// process; a second copy of the addon finds them registered).
void Register();

}  // namespace gru_rnn
}  // namespace fused
}  // namespace trnn
