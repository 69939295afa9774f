// The fused LSTM recurrence: a whole LSTM layer forward over preallocated buffers (one matmul
// and one vectorized pass for the gate math per step, gate_kernels.h, with any of tfjs's
// activations; no allocation), optionally masked (tfjs-layers' masks), and its backpropagation
// through time (per step one arithmetic pass for the gate gradients and one matmul; the weight
// gradients one matmul each over all steps). Float32 CPU tensors.
//
// Used by two callers:
//  - the TensorFlow.js backend's fused recurrent layers (native/tfjs/rnn.cc), in tfjs's layout and
//    with tfjs's activations;
//  - nn.LSTM's forward on the CPU (native/nn/rnn.cc), through the operator torchrnn::lstm_layer
//    registered here: its CPU kernel is the forward alone (inference), its autograd kernel
//    runs this backward instead of autograd's per-step graph (one node in a traced graph).
//    Packed input has its own operator (lstm_packed.h); GRU and RNN theirs (gru_rnn.h).
//    What the layers share (StackLayers, Fusable, the fusedRnn flag) is in common.h.
//
// Threads: whichever thread runs the op (JS thread or the executor).
#pragma once
#include "../../addon.h"

namespace trnn {
namespace fused {
namespace lstm {

// Activation codes, as gate_kernels.h's (tfjs's activations; libtorch's LSTM: sigmoid gates, tanh
// cell). The derivatives come from the activated values: gate_kernels.cc's Deriv.
enum Act { kLinear = 0, kTanh = 1, kSigmoid = 2, kHardSigmoid = 3, kRelu = 4 };

// What the backward pass needs, stacked over time ([T, B, ·]); x is [B, T, I] in processing order.
//   LSTM (ForwardLstm's buffers): x, h0, c0, gates [T, B, 4U] (activated i, f, g, o),
//     c [T, B, U], act(c) [T, B, U], sequence [B, T, U], and the mask [B, T] when there is one
//   (tfjs/rnn.cc's GRU and SimpleRNN: see there)
struct Result {
  torch::Tensor sequence, h, c;
  std::vector<torch::Tensor> saved;
};

struct Grads {
  // dProjection: the gradient of the input projection x·kernel (+ bias), [B, T, G*U] in
  // processing order; the input's own gradient is dProjection · kernelᵀ, made only when needed.
  torch::Tensor dProjection, dh0, dc0, dKernel, dRecurrent, dBias;
};

// x [B, T, I], h0 and c0 [B, U], kernel [I, 4U], recurrent [U, 4U], bias [4U] or undefined;
// float32. Gate order i, f, g, o (libtorch's; tfjs's i, f, c, o); recAct on i, f, o, act on g
// and the cell (any activation code: one vectorized gate pass per step, gate_kernels.h).
// `save`: keep what backward needs. mask (optional): [B, T] float32, contiguous, in processing
// order; where it is 0 the step keeps the previous h and c (tfjs-layers' masking), so the
// sequence repeats the previous output there. seqOut (optional): a contiguous [B, T, U] float32
// tensor the sequence is written into (the tfjs backend's queued kernels pass their output).
Result ForwardLstm(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& kernel,
                   const torch::Tensor& recurrent, const torch::Tensor& bias, int act, int recAct, bool save,
                   const torch::Tensor& mask = torch::Tensor(), const torch::Tensor& seqOut = torch::Tensor());
// One LSTM step of BackwardLstm (every gate gradient in one arithmetic pass, dh and dc
// carried): [B, 4U] gates (activated i, f, g, o) and their gradients dz, [B, U] the rest, all
// with contiguous rows except dSeq (any row stride). Without a mask dh holds the incoming state
// gradient and is read only; dc is updated for the previous step. With a mask (row r masked
// where mask[r * maskStride] is 0): a masked row's dz is 0 and dh becomes dh + dSeq (passed to
// the previous step unchanged, as dc is); an unmasked row's dh becomes 0, so that the caller
// adds dz · recurrentᵀ to it.
struct StepRows {
  torch::Tensor gates, tc, cPrev, dSeq, dh, dc, dz;
  const float* mask = nullptr;
  int64_t maskStride = 0;
};
void LstmStepBackward(int act, int recAct, const StepRows& s);

// dzOut (optional): a contiguous [T, B, 4U] float32 tensor the gate gradients are written into
// (dProjection is then its transpose, as without it).
Grads BackwardLstm(const std::vector<torch::Tensor>& saved, const torch::Tensor& kernel, const torch::Tensor& recurrent, bool hasBias,
                   int act, int recAct, const torch::Tensor& dSeq, const torch::Tensor& dH, const torch::Tensor& dC,
                   const torch::Tensor& dzOut = torch::Tensor());

// nn.LSTM's forward through torchrnn::lstm_layer, layer by layer (the reverse direction on the
// time-flipped sequence): output, hN, cN. Training (the fused backward) and inference (the
// fused forward alone: the op's CPU kernel, when no input needs a gradient). Only for float32
// CPU weights and a 3-D input with at least one step, without projection or autocast, and
// while fused::Enabled(); otherwise nullopt, and the caller runs libtorch's own LSTM. input and the
// optional h0/c0 as nn.LSTM takes them.
c10::optional<std::vector<torch::Tensor>> Forward(const torch::nn::LSTM& m, const torch::Tensor& input, const torch::Tensor& h0,
                                                  const torch::Tensor& c0);

// Registers torchrnn::lstm_layer with libtorch's dispatcher (once per process).
void Register();

}  // namespace lstm
}  // namespace fused
}  // namespace trnn
