// nn.LSTM on packed sequences (a PackedSequence, or `lengths`), fused like the padded layer
// (lstm.h): per layer the input projection of all packed rows as one matmul, then per
// step one mm over the step's batch (a prefix of the sorted batch: batch sizes do not
// increase) and one vectorized pass (gate_kernels); backward per step one arithmetic pass and
// one matmul, the weight gradients one matmul each over all rows.
//
// The operator torchrnn::lstm_layer_packed(data, batch_sizes, h0, c0, w_ih, w_hh, b_ih?, b_hh?)
// -> (output data, hN, cN) carries one layer: CPU kernel the forward alone, Autograd kernel
// its own backward (node LstmPackedLayerBackward; createGraph recomputes with libtorch's
// packed at::lstm). States are in sorted order, as libtorch's packed layer takes them.
//
// Threads: whichever thread runs the module (JS thread or the executor).
#pragma once
#include "../../addon.h"
#include "common.h"

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
void RegisterPacked();

}  // namespace lstm
}  // namespace fused
}  // namespace trnn
