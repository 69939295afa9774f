// The fused LSTM recurrence: a whole LSTM layer forward over preallocated buffers (one matmul
// and one vectorized pass for the gate math per step, gate_kernels.h, with any of tfjs's
// activations; no allocation), optionally masked (tfjs-layers' masks), and its backpropagation
// through time (per step one arithmetic pass for the gate gradients and one matmul; the weight
// gradients one matmul each over all steps, or for nn.LSTM's operators over each chunk of steps:
// BackwardLstm). Float32 CPU tensors.
//
// Used by two callers:
//  - the TensorFlow.js backend's fused recurrent layers (native/tfjs/rnn.cc), in tfjs's layout and
//    with tfjs's activations;
//  - nn.LSTM's forward on the CPU (native/nn/rnn.cc), through the operator torchrnn::lstm_layer
//    registered here: its CPU kernel is the forward alone (inference), its autograd kernel
//    runs this backward instead of autograd's per-step graph (one node in a traced graph).
//    Packed input has its own operator (lstm_packed.h), projSize its own pair (lstm_proj.h:
//    torchrnn::lstm_proj_layer[_packed], on the same recurrence with its `projection`); GRU and
//    RNN theirs (gru_rnn.h). What the layers share (StackLayers, Fusable, the fusedRnn flag)
//    is in common.h.
//
// Threads: whichever thread runs the op (JS thread or the executor).
#pragma once
#include "../../addon.h"
#include "common.h"

namespace trnn {
namespace fused {
namespace lstm {

// Activation codes, as gate_kernels.h's (tfjs's activations; libtorch's LSTM: sigmoid gates, tanh
// cell). The derivatives come from the activated values: gate_kernels.cc's Deriv.
enum Act { kLinear = 0, kTanh = 1, kSigmoid = 2, kHardSigmoid = 3, kRelu = 4 };

// What the backward pass needs, stacked over time ([T, B, ·]); x is [B, T, I] in processing order.
//   LSTM (ForwardLstm's buffers): x, h0, c0, gates [T, B, 4U] (activated i, f, g, o),
//     c [T, B, U], act(c) [T, B, U], sequence [B, T, P], and the mask [B, T] when there is one;
//     with a projection, the mask's place empty (no masks then) and o * act(c) [T, B, U].
//     `lean` (nn.LSTM's operators): gates is a [T, B, 4U] view of a batch-major [B, T, 4U]
//     buffer (the input projection's own, overwritten step by step) and act(c) undefined
//     (BackwardLstm recomputes it from c, one activation per element in its gate pass).
//   (tfjs/rnn.cc's GRU and SimpleRNN: see there)
struct Result {
  torch::Tensor sequence, h, c;
  std::vector<torch::Tensor> saved;
};

struct Grads {
  // dProjection: the gradient of the input projection x·kernel (+ bias), [B, T, G*U] in
  // processing order; the input's own gradient is dProjection · kernelᵀ, made only when needed.
  // dProjKernel: the output projection's gradient [U, P] (LSTM with a projection only).
  // dx: the input's gradient [B, T, I] where BackwardLstm makes it (after a lean forward, when
  // asked: dProjection is then undefined).
  torch::Tensor dx, dProjection, dh0, dc0, dKernel, dRecurrent, dBias, dProjKernel;
};

// x [B, T, I], h0 [B, P] and c0 [B, U], kernel [I, 4U], recurrent [P, 4U], bias [4U] or
// undefined; float32. Gate order i, f, g, o (libtorch's; tfjs's i, f, c, o); recAct on i, f, o,
// act on g and the cell (any activation code: one vectorized gate pass per step, gate_kernels.h).
// `save`: keep what backward needs. mask (optional): [B, T] float32, contiguous, in processing
// order; where it is 0 the step keeps the previous h and c (tfjs-layers' masking), so the
// sequence repeats the previous output there. seqOut (optional): a contiguous [B, T, P] float32
// tensor the sequence is written into (the tfjs backend's queued kernels pass their output).
// projection (optional; nn.LSTM's projSize, no mask): [U, P], h_t = (o * act(c_t)) · projection,
// one more small matmul per step (StepMatmul) after the gate pass, which writes o * act(c) into
// a [B, U] buffer per step. Without it P = U and h_t = o * act(c_t).
// lean (with save; nn.LSTM's operators, not the tfjs backend's, whose saved buffers JS holds):
// save in less memory, Result's `saved` as described there: no [B, T, 4U] input projection
// beside the gates (the gates are written over it) and no act(c).
// A training forward that is neither lean nor projected (the TensorFlow.js backend's) runs the
// two halves of the batch at once where it splits (TrainingHalves, common.h), each writing its
// rows of the saved buffers (`into`: gates [T, n, 4U], c and act(c) [T, n, U], views of the
// whole batch's with its step stride); BackwardLstm's steps split the same way.
struct SaveInto {
  torch::Tensor gates, cs, tcs;
};
Result ForwardLstm(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& kernel,
                   const torch::Tensor& recurrent, const torch::Tensor& bias, int act, int recAct, bool save,
                   const torch::Tensor& mask = torch::Tensor(), const torch::Tensor& seqOut = torch::Tensor(),
                   const torch::Tensor& projection = torch::Tensor(), bool lean = false, const SaveInto* into = nullptr);
// A forward without `save` (inference) on the two halves of the batch at once (SplitBatch,
// common.h; gateCols: the recurrent product's columns, stateSize: its rows): layer(begin, size, seqRows) runs rows [begin, begin + size) into seqRows, the
// rows of `seq` (the caller's [B, T, P] sequence buffer). The result: seq, and h (and c, where
// the halves have one) concatenated; nullopt where the batch does not split. ForwardLstm and the
// tfjs backend's GRU and SimpleRNN forwards take it.
template <typename F>
c10::optional<Result> SplitRows(const torch::Tensor& seq, int64_t gateCols, int64_t stateSize, const F& layer) {
  Result halves[2];
  const int64_t batch = seq.size(0);
  const bool split = SplitBatch(batch, batch * seq.size(1) * gateCols, batch * gateCols * stateSize, [&](int64_t i, int64_t begin, int64_t size) {
    halves[i] = layer(begin, size, seq.narrow(0, begin, size));
  });
  if (!split) return c10::nullopt;
  Result r;
  r.sequence = seq;
  r.h = torch::cat({halves[0].h, halves[1].h});
  if (halves[0].c.defined()) r.c = torch::cat({halves[0].c, halves[1].c});
  return r;
}
// t's rows [begin, begin + size) (undefined stays undefined)
inline torch::Tensor Rows(const torch::Tensor& t, int64_t begin, int64_t size) { return t.defined() ? t.narrow(0, begin, size) : t; }

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
  bool cIsC = false;  // tc holds the step's c, not act(c): the pass recomputes act(c)
};
void LstmStepBackward(int act, int recAct, const StepRows& s);

// dzOut (optional): a contiguous [T, B, 4U] float32 tensor the gate gradients are written into
// (dProjection is then its transpose; so too without it after a forward that was not `lean`),
// and the weight gradients are one matmul each over all steps (on time-major copies of x and
// of the previous states). After a lean forward (saved[5], act(c), undefined: recomputed from c)
// the gate gradients live in a buffer of `chunk` steps only (chunk · B ≥ kBackwardChunkRows
// rows, at least 8 steps): after each chunk the weight gradients take its share (addmm_ on small
// time-major copies of the chunk's x and previous states) and, with inputGrad, dx its rows
// (dx = dz · kernelᵀ), so there is no [T, B, 4U] gradient buffer and no dProjection.
// projection: ForwardLstm's (undefined without). With it, per step the gradient of o * act(c)
// is (dh + dSeq_t) · projectionᵀ (dSeq's part for all steps in one matmul before the loop, dh's
// one small matmul per step), and dProjKernel is one matmul over all steps at the end:
// Σ_t (o * act(c))_tᵀ (dh_t + dSeq_t).
constexpr int64_t kBackwardChunkRows = 2048;
Grads BackwardLstm(const std::vector<torch::Tensor>& saved, const torch::Tensor& kernel, const torch::Tensor& recurrent, bool hasBias,
                   int act, int recAct, const torch::Tensor& dSeq, const torch::Tensor& dH, const torch::Tensor& dC,
                   const torch::Tensor& dzOut = torch::Tensor(), const torch::Tensor& projection = torch::Tensor(),
                   bool inputGrad = false);

// nn.LSTM's forward through torchrnn::lstm_layer, or torchrnn::lstm_proj_layer with projSize
// (lstm_proj.h), layer by layer (the reverse direction on the time-flipped sequence): output,
// hN, cN. Training (the fused backward) and inference (the fused forward alone: the op's CPU
// kernel, when no input needs a gradient). Only for float32 CPU weights and a 3-D input with
// at least one step, without autocast, and while fused::Enabled(); otherwise nullopt, and the
// caller runs libtorch's own LSTM. input and the optional h0/c0 as nn.LSTM takes them.
c10::optional<std::vector<torch::Tensor>> Forward(const torch::nn::LSTM& m, const torch::Tensor& input, const torch::Tensor& h0,
                                                  const torch::Tensor& c0);

// Registers torchrnn::lstm_layer with libtorch's dispatcher (once per process).
void Register();

// ---- One layer operator's parts, shared by torchrnn::lstm_layer (here) and lstm_proj_layer
// (lstm_proj.cc): one layer and direction, x [B, T, I] in processing order, h0 [B, P], c0
// [B, U], w_ih [4U, I], w_hh [4U, P], b_ih, b_hh [4U], and with a projection w_hr [P, U]
// (undefined without: P = U). Outputs: the sequence [B, T, P], hN, cN.
using Triple = std::tuple<torch::Tensor, torch::Tensor, torch::Tensor>;

// libtorch's own at::lstm on one layer: differentiable, so the double-backward path recomputes
// with it (and non-float32 inputs, which the fused forward does not take, run it).
Triple LayerReference(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih,
                      const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr = torch::Tensor());
// Without autograd (inference): the fused forward without saving anything, two steps' buffers.
Triple LayerForwardNoGrad(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih,
                          const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr = torch::Tensor());
// An autograd Function's forward and backward on inputs x, h0, c0, w_ih, w_hh, b_ih, b_hh[, w_hr]
// (biases defined: BiasOr): the fused forward saving its buffers in ctx, and the fused
// backpropagation through time (with grad mode on, backward(create_graph=True): ReferenceGrads
// through LayerReference). One gradient per input.
torch::autograd::variable_list LayerForwardSaving(torch::autograd::AutogradContext* ctx, const torch::autograd::variable_list& inputs);
torch::autograd::variable_list LayerBackwardSaved(torch::autograd::AutogradContext* ctx, const torch::autograd::variable_list& grads);

// An operator's Autograd kernel: the autograd Function F (its forward and backward the two
// above) where some input needs a gradient, else the forward alone. whr: none, or w_hr.
template <typename F, typename... Proj>
Triple LayerAutogradWith(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih,
                         const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, const Proj&... whr) {
  torch::Tensor bi = BiasOr(bih, wih), bh = BiasOr(bhh, wih);
  if (!NeedsGrad({&x, &h0, &c0, &wih, &whh, &bi, &bh, &whr...})) {
    at::AutoDispatchBelowADInplaceOrView below;
    return LayerForwardNoGrad(x, h0, c0, wih, whh, bih, bhh, whr...);
  }
  torch::autograd::variable_list out = F::apply(x, h0, c0, wih, whh, bi, bh, whr...);
  return {out[0], out[1], out[2]};
}

}  // namespace lstm
}  // namespace fused
}  // namespace trnn
