// The fused LSTM recurrence: a whole LSTM layer forward over preallocated buffers (one matmul
// and the elementwise gate math per step, no allocation; with libtorch's activations the gate
// math is one vectorized pass, gate_kernels.h) and its backpropagation through time (per step
// one arithmetic pass for the gate gradients and one matmul; the weight gradients one matmul
// each over all steps). Float32 CPU tensors.
//
// Used by two callers:
//  - the TensorFlow.js backend's fused recurrent layers (tfjs/rnn.cc), in tfjs's layout and
//    with tfjs's activations;
//  - nn.LSTM's forward on the CPU (nn/rnn.cc), through the operator torchrnn::lstm_layer
//    registered here: its CPU kernel is the forward alone (inference), its autograd kernel
//    runs this backward instead of autograd's per-step graph (one node in a traced graph).
//    Packed input has its own operator (fused_lstm_packed.h); GRU and RNN theirs (fused_rnn.h).
//
// Threads: whichever thread runs the op (JS thread or the executor).
#pragma once
#include "../addon.h"

namespace trnn {
namespace fused_lstm {

enum Act { kLinear = 0, kTanh = 1, kSigmoid = 2, kHardSigmoid = 3, kRelu = 4 };

// act(x); grad * act'(z) from the activated value a = act(z); act(x) in place; out = act(x).
torch::Tensor Apply(int act, const torch::Tensor& x);
torch::Tensor Backprop(int act, const torch::Tensor& grad, const torch::Tensor& a);
void ApplyInPlace(int act, const torch::Tensor& x);
void ApplyInto(int act, torch::Tensor out, const torch::Tensor& x);

// What the backward pass needs, stacked over time ([T, B, ·]); x is [B, T, I] in processing order.
//   LSTM (ForwardLstm's buffers): x, h0, c0, gates [T, B, 4U] (activated i, f, g, o),
//     c [T, B, U], act(c) [T, B, U], sequence [B, T, U]
//   (tfjs/rnn.cc's GRU: x, hPrev, z, r, hh; SimpleRNN: x, hPrev, h)
struct Result {
  torch::Tensor sequence, h, c;
  std::vector<torch::Tensor> saved;
};

struct Grads {
  // dProjection: the gradient of the input projection x·kernel (+ bias), [B, T, G*U] in
  // processing order; the input's own gradient is dProjection · kernelᵀ, made only when needed.
  torch::Tensor dProjection, dh0, dc0, dKernel, dRecurrent, dBias;
};

// x [B, T, I], h0 and c0 [B, U], kernel [I, 4U], recurrent [U, 4U], bias [4U] or undefined.
// Gate order i, f, g, o (libtorch's; tfjs's i, f, c, o). `save`: keep what backward needs.
Result ForwardLstm(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& kernel,
                   const torch::Tensor& recurrent, const torch::Tensor& bias, int act, int recAct, bool save);
// One LSTM step of BackwardLstm (every gate gradient in one arithmetic pass, dh and dc
// carried): [B, 4U] gates (activated i, f, g, o) and their gradients dz, [B, U] the rest, all
// with contiguous rows except dSeq (any row stride). dh holds the incoming state gradient and is
// read only; dc is updated for the previous step.
struct StepRows {
  torch::Tensor gates, tc, cPrev, dSeq, dh, dc, dz;
};
void LstmStepBackward(int act, int recAct, const StepRows& s);

Grads BackwardLstm(const std::vector<torch::Tensor>& saved, const torch::Tensor& kernel, const torch::Tensor& recurrent, bool hasBias,
                   int act, int recAct, const torch::Tensor& dSeq, const torch::Tensor& dH, const torch::Tensor& dC);

// nn.LSTM's forward through torchrnn::lstm_layer, layer by layer (the reverse direction on the
// time-flipped sequence): output, hN, cN. Training (the fused backward) and inference (the
// fused forward alone: the op's CPU kernel, when no input needs a gradient). Only for float32
// CPU weights and a 3-D input with at least one step, without projection, dropout between
// layers in training mode (its random mask would differ from at::lstm's) or autocast, and
// while Enabled(); otherwise nullopt, and the caller runs libtorch's own LSTM. input and the
// optional h0/c0 as nn.LSTM takes them.
c10::optional<std::vector<torch::Tensor>> Forward(const torch::nn::LSTM& m, const torch::Tensor& input, const torch::Tensor& h0,
                                                  const torch::Tensor& c0);

// ---- Shared by the fused layers (this file's, fused_lstm_packed.cc, fused_rnn.cc)

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

// torch.backends.fusedRnn.enabled: false sends every nn.LSTM to libtorch's own LSTM (the same
// bits as PyTorch). Process-wide, like cuDNN's flag.
bool Enabled();
void SetEnabled(bool on);

// Registers torchrnn::lstm_layer with libtorch's dispatcher (once per process).
void Register();

}  // namespace fused_lstm
}  // namespace trnn
