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
#include "common.h"

namespace trnn {
namespace fused {
namespace gru_rnn {

// output [same layout as input], hN [layers * dirs, B, U]; nullopt when the fused path does not
// apply and the caller runs libtorch's module: torch.backends.fusedRnn disabled, CPU autocast,
// not float32 on the CPU, or not a 3-D input with at least one step. input and the optional h0 as
// the module takes them (3-D; packed input is never passed here).
c10::optional<std::vector<torch::Tensor>> Gru(const torch::nn::GRU& m, const torch::Tensor& input, const torch::Tensor& h0);
c10::optional<std::vector<torch::Tensor>> Rnn(const torch::nn::RNN& m, const torch::Tensor& input, const torch::Tensor& h0);

// nn.GRU / nn.RNN on packed sequences (a PackedSequence, or `lengths`; gru_rnn_packed.cc), as
// nn.LSTM's (lstm_packed.h): per layer and direction the operator torchrnn::gru_layer_packed
// (data, batch_sizes, h0, w_ih, w_hh, b_ih?, b_hh?) -> (output data, hN), or
// torchrnn::rnn_layer_packed(..., bool relu): the input projection of all packed rows as one
// matmul, then per step one mm over the step's batch (a prefix of the sorted batch) and one
// vectorized pass; its own backward (nodes GruPackedLayerBackward / RnnPackedLayerBackward),
// createGraph recomputing with libtorch's packed at::gru / at::rnn_*. Output data [N, D*U], hN
// [L*D, B, U] in the batch's own order; nullopt where the caller runs libtorch's module (as Gru()
// and Rnn() decide).
c10::optional<std::vector<torch::Tensor>> GruPacked(const torch::nn::GRU& m, const Packed& input, const torch::Tensor& h0);
c10::optional<std::vector<torch::Tensor>> RnnPacked(const torch::nn::RNN& m, const Packed& input, const torch::Tensor& h0);

// One GRU step's backward, for the padded and the packed layer: rows [0, rows) on libtorch's
// threads. gates [row, 4U] the saved r, z, n and hn (gate_kernels::GruForward); hPrev the step's
// previous state; dSeq the output's gradient; dh [row, U] in: the state's gradient, out: its
// direct part g * z (the caller adds dhg · W_hh); dx, dhg [row, 3U] (stride dStride): the
// gradients of the input and the recurrent projections (r, z, n), denormals flushed to 0.
struct GruGradRows {
  const float* gates; int64_t gatesStride;
  const float* hPrev; int64_t hPrevStride;
  const float* dSeq; int64_t dSeqStride;
  float* dh; int64_t dhStride;
  float* dx; float* dhg; int64_t dStride;
  int64_t units;
};
void GruStepBackward(const GruGradRows& s, int64_t rows);

// The tfjs backend's masked SimpleRNN in inference on a post-padded batch (PostPadded,
// common.h; x [B, T, I] in processing order, h0 [B, U], kernel [I, U], recurrent [U, U], any
// activation code): the packed layer over the counted steps only, as lstm_packed.h's
// ForwardPostPadded. Returns the sequence (written into seqOut when given) and hN.
std::pair<torch::Tensor, torch::Tensor> RnnPostPadded(const PostPadded& p, const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& kernel,
                                                      const torch::Tensor& recurrent, const torch::Tensor& bias, int act,
                                                      const torch::Tensor& seqOut = torch::Tensor());

// Registers torchrnn::gru_layer_packed and torchrnn::rnn_layer_packed (once per process).
void RegisterPacked();

// Registers torchrnn::gru_layer and torchrnn::rnn_layer with libtorch's dispatcher (once per
// process; a second copy of the addon finds them registered).
void Register();

}  // namespace gru_rnn
}  // namespace fused
}  // namespace trnn
