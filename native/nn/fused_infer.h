// Inference forward of nn.GRU and nn.RNN without autograd (noGrad, or nothing needs a
// gradient): per layer and direction, the input projection of all steps as one matmul, then per
// step one mm and one vectorized pass over the rows (gate_kernels), in place of libtorch's
// per-step linear, chunk and activation kernels. nn.LSTM's counterpart is the CPU kernel of
// torchrnn::lstm_layer (fused_lstm.h).
//
// Threads: whichever thread runs the module (JS thread or the executor).
#pragma once
#include "../addon.h"

namespace trnn {
namespace fused_infer {

// output [same layout as input], hN [layers * dirs, B, U]; nullopt when the fused path does not
// apply and the caller runs libtorch's module: torch.backends.fusedRnn disabled, autograd needed
// (grad mode on and the input, h0 or a weight requires grad), tracing (the graph records the
// module's own ops), CPU autocast, not float32 on the CPU, not a 3-D input with at least one
// step, or dropout between layers in training mode. input and the optional h0 as the module
// takes them (3-D; packed input is never passed here).
c10::optional<std::vector<torch::Tensor>> Gru(const torch::nn::GRU& m, const torch::Tensor& input, const torch::Tensor& h0);
c10::optional<std::vector<torch::Tensor>> Rnn(const torch::nn::RNN& m, const torch::Tensor& input, const torch::Tensor& h0);

}  // namespace fused_infer
}  // namespace trnn
