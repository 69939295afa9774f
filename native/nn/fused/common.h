// What the fused recurrent layers share (lstm.cc, lstm_packed.cc, gru_rnn.cc): the
// torch.backends.fusedRnn flag, the test of whether a module's forward may take a fused layer,
// the stacking of layers and directions as libtorch stacks them, the double-backward path
// through libtorch's own implementation, and small row helpers.
//
// For the fused layers' own files; the rest of native/ includes fused.h.
#pragma once
#include "../../addon.h"

namespace trnn {
namespace fused {

// torch.backends.fusedRnn.enabled: false sends every nn.LSTM, nn.GRU and nn.RNN to libtorch's own
// implementation (the same
// bits as PyTorch). Process-wide, like cuDNN's flag.
bool Enabled();
void SetEnabled(bool on);

// torch.backends.fusedRnn.auto (default true): where libtorch's own layer is faster than the
// fused one, take it. Today one case: a non-packed LSTM at small batches on a libtorch whose
// at::lstm runs on oneDNN (2.x; compat::LstmRunsOnOneDnn). false: the fused layer wherever it
// applies (the tests of the fused kernels set it).
bool Auto();
void SetAuto(bool on);
// The smallest batch for which the fused LSTM beats oneDNN's, measured with 1 intra-op thread
// on libtorch 2.6 (input 32, 2 layers, seq 64, hidden 128 and 256): 8 when gradients are
// recorded, 16 for inference. Below these, oneDNN's was 1.2-2.5x faster; at and above them the
// fused layer was 1.1-1.7x faster.
constexpr int64_t kLstmFusedMinBatchTraining = 8;
constexpr int64_t kLstmFusedMinBatchInference = 16;

using OptTensor = c10::optional<torch::Tensor>;

// Rows [0, rows) on libtorch's intra-op threads, in chunks of about GRAIN_SIZE elements of work
// at `cost` elements per row: RowGrain for a kernel over row ranges, ForRows row by row.
inline int64_t RowGrain(int64_t cost) { return std::max<int64_t>(1, at::internal::GRAIN_SIZE / std::max<int64_t>(cost, 1)); }
template <typename F>
void ForRows(int64_t rows, int64_t cost, F f) {
  at::parallel_for(0, rows, RowGrain(cost), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) f(r);
  });
}

bool AllFloatCpu(std::initializer_list<const torch::Tensor*> tensors);

// A layer's result buffer: `out` when the caller passed one (it must be a contiguous float32 CPU
// tensor of these sizes: the tfjs backend's queued kernels write into their outputs), else a new
// one.
torch::Tensor BufferOr(const torch::Tensor& out, at::IntArrayRef sizes, const at::TensorOptions& options);

// rows [N, I] · kernel [I, G*U] (+ bias [G*U]): the input projection of every step at once.
torch::Tensor InputProjection(const torch::Tensor& rows, const torch::Tensor& kernel, const torch::Tensor& bias);

// One layer's weights as libtorch's at::lstm / at::gru / at::rnn_* take them: w_ih, w_hh[, b_ih,
// b_hh] (biases when bih is given).
std::vector<torch::Tensor> ReferenceParams(const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh);

// Whether a module's forward may run a fused layer: torch.backends.fusedRnn enabled, no CPU
// autocast, no dropout between layers in training mode (its random mask would differ from
// libtorch's), float32 CPU input and weights. Callers check their input's shape.
bool Fusable(const torch::nn::detail::RNNOptionsBase& o, bool training, const torch::Tensor& input, const std::vector<torch::Tensor>& weights);

// One layer and direction k (layer * directions + direction) on x in processing order, with
// its weights: the output sequence and its final states (h, or h and c).
struct LayerResult {
  torch::Tensor out;
  std::vector<torch::Tensor> states;
};
using LayerFn = std::function<LayerResult(const torch::Tensor& x, int64_t k, const torch::Tensor& wih, const torch::Tensor& whh,
                                          const OptTensor& bih, const OptTensor& bhh)>;

// Layers and directions as libtorch stacks them, weights from all_weights(): the reverse
// direction runs on reverse(x) and its output is reversed back (reverse is its own inverse),
// the directions' outputs are concatenated on featureDim. Returns the last layer's output, then
// each state stacked over layers and directions ([L*D, B, U]).
std::vector<torch::Tensor> StackLayers(const torch::nn::detail::RNNOptionsBase& o, const std::vector<torch::Tensor>& weights, torch::Tensor x,
                                       int64_t featureDim, const std::function<torch::Tensor(const torch::Tensor&)>& reverse,
                                       const LayerFn& layer);

// Whether autograd must record a layer: grad mode on and some (defined) input requires grad.
bool NeedsGrad(std::initializer_list<const torch::Tensor*> inputs);
// A custom autograd function's inputs must be defined tensors: a layer without bias gets
// zeros (needing no gradient) the size of w's first dimension.
torch::Tensor BiasOr(const c10::optional<torch::Tensor>& b, const torch::Tensor& w);

// v, or 0 where v is denormal (|v| < FLT_MIN), as flush-to-zero arithmetic would give. The fused
// backward passes apply it to the gradients they carry from step to step: over long sequences
// those decay into the denormal range, where every x86 multiply takes a microcode assist (~100
// cycles) and matmuls slow down 3-5x (seq 512 here: a training step 1.38 s -> 0.44 s). A
// gradient changes only where it is below 1.2e-38.
inline float FlushDenormal(float v) { return std::fabs(v) < std::numeric_limits<float>::min() ? 0.f : v; }

// backward(create_graph=True) of a fused layer: the gradients of `outs` (the layer recomputed
// by libtorch's own differentiable implementation on the saved inputs) for the incoming output
// gradients `grads` (undefined ones skipped), with respect to the inputs that require a
// gradient; themselves differentiable. One entry per input (undefined where not needed).
torch::autograd::variable_list ReferenceGrads(const std::vector<torch::Tensor>& inputs, const std::vector<torch::Tensor>& outs,
                                              const torch::autograd::variable_list& grads);

}  // namespace fused
}  // namespace trnn
