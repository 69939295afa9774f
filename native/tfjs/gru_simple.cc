#include "gru_simple.h"

#include "../nn/fused/row_helper.h"

namespace trnn {
namespace tfjs_rnn {  // named: binding.gyp compiles every .cc as one translation unit

using namespace fused;
using namespace fused::lstm;

// Each step's previous state, batch-major rows [B * T, U]: h0, then the sequence but its last step.
torch::Tensor PreviousStates(const torch::Tensor& h0, const torch::Tensor& seq) {
  const int64_t steps = seq.size(1);
  return torch::cat({h0.unsqueeze(1), seq.narrow(1, 0, steps - 1)}, 1).reshape({-1, seq.size(2)});
}

// The weight gradients from the projection's gradient dP [B, T, G*U] (batch-major, like x):
// kernel's xᵀ·dP and the bias's column sums, one matmul over all steps without copies.
void InputWeightGrads(Grads& out, const torch::Tensor& x, const torch::Tensor& dP, bool hasBias) {
  const torch::Tensor dFlat = dP.view({-1, dP.size(2)});
  out.dKernel = x.reshape({-1, x.size(2)}).t().mm(dFlat);
  if (hasBias) out.dBias = dFlat.sum(0);
  out.dProjection = dP;
}

// ---- GRU (tfjs-layers' GRUCell: z, r, h; r applied to h before the recurrent matmul)

// Per step: hg = hPrev · rk1 (one mm), the z/r pass (gate_kernels::GruTfjsGates), rhw = (r *
// hPrev) · rk2 (one mm), the state pass (GruTfjsState). Saved: x, h0, sequence [B, T, U],
// gates [T, B, 3U] (z, r, hh), r * hPrev [B, T, U] (and the mask).
// seqOut, gatesOut, rhOut (optional): the buffers written, rows of the whole batch's when a
// half of a split batch runs here (gatesOut with any step stride, its rows contiguous).
Result ForwardGru(const torch::Tensor& x, const torch::Tensor& h0In, const torch::Tensor& kernel, const torch::Tensor& recurrent,
                  const torch::Tensor& bias, int act, int recAct, bool save, const torch::Tensor& mask, const torch::Tensor& seqOut,
                  const torch::Tensor& gatesOut, const torch::Tensor& rhOut) {
  const int64_t batch = x.size(0), steps = x.size(1), units = recurrent.size(0);
  const auto opts = x.options();
  if (!save && steps > 0) {
    // inference: the two halves of the batch at once (SplitRows, lstm.h)
    auto split = SplitRows(BufferOr(seqOut, {batch, steps, units}, opts), 3 * units, units,
                           [&](int64_t b, int64_t n, const torch::Tensor& seqRows) {
                             return ForwardGru(Rows(x, b, n), Rows(h0In, b, n), kernel, recurrent, bias, act, recAct, false, Rows(mask, b, n), seqRows);
                           });
    if (split) return *split;
  }
  torch::Tensor seq = BufferOr(seqOut, {batch, steps, units}, opts);
  torch::Tensor gates = gatesOut.defined() ? gatesOut : torch::empty({save ? steps : 1, batch, 3 * units}, opts);
  torch::Tensor rh = rhOut.defined() ? rhOut : torch::empty({batch, save ? steps : 1, units}, opts);
  const auto saved = [&](Result& r) {
    r.saved = {x, h0In, seq, gates, rh};
    if (mask.defined()) r.saved.push_back(mask);
  };
  if (save && steps > 0 && !gatesOut.defined()) {
    // training: the halves too (TrainingHalves), each writing its rows of what is saved
    const bool split = TrainingHalves(batch, steps, 3 * units, units, [&](int64_t b, int64_t n) {
      ForwardGru(Rows(x, b, n), Rows(h0In, b, n), kernel, recurrent, bias, act, recAct, true, Rows(mask, b, n), seq.narrow(0, b, n),
                 gates.narrow(1, b, n), rh.narrow(0, b, n));
    });
    if (split) {
      Result r;
      r.sequence = seq;
      r.h = seq.select(1, steps - 1).contiguous();
      saved(r);
      return r;
    }
  }
  const torch::Tensor xg = InputProjection(x.reshape({-1, x.size(2)}), kernel, bias).view({batch, steps, 3 * units});
  const torch::Tensor rk1 = recurrent.narrow(1, 0, 2 * units).contiguous(), rk2 = recurrent.narrow(1, 2 * units, units).contiguous();
  const torch::Tensor h0 = h0In.contiguous();
  torch::Tensor hg = torch::empty({batch, 2 * units}, opts), rhw = torch::empty({batch, units}, opts);
  const float* maskP = mask.defined() ? mask.data_ptr<float>() : nullptr;
  torch::Tensor h = h0;
  const float* hPrev = h0.data_ptr<float>();
  int64_t hPrevStride = units;
  const int64_t cost = 12 * units;  // elements per row of the gate passes
  for (int64_t t = 0; t < steps; t++) {
    const int64_t k = save ? t : 0;
    StepMatmul(hg, h, rk1);
    torch::Tensor rhT = rh.select(1, k);
    gate_kernels::GruTfjsRows rows{xg.data_ptr<float>() + t * 3 * units, steps * 3 * units, hg.data_ptr<float>(), 2 * units,
                                   hPrev, hPrevStride, gates.data_ptr<float>() + k * gates.stride(0), gates.stride(1),
                                   rhT.data_ptr<float>(), rh.stride(0), rhw.data_ptr<float>(), units,
                                   seq.data_ptr<float>() + t * units, steps * units, units, act, recAct};
    if (maskP != nullptr) rows.mask = maskP + t, rows.maskStride = steps;
    SharedRows(batch, cost, [&](int64_t b, int64_t e) { gate_kernels::GruTfjsGates(rows, b, e); });
    StepMatmul(rhw, rhT, rk2);
    SharedRows(batch, cost, [&](int64_t b, int64_t e) { gate_kernels::GruTfjsState(rows, b, e); });
    h = seq.select(1, t);
    hPrev = rows.h, hPrevStride = rows.hStride;
  }
  Result r;
  r.sequence = seq;
  r.h = steps > 0 ? h.contiguous() : h0In;
  if (save) {
    if (steps == 0) throw std::invalid_argument("a recurrent layer needs at least one time step to be trained");
    saved(r);
  }
  return r;
}

// The per-step part of BackwardGru on a range of rows (all of them, or a half of a split batch):
// gates [T, n, 3U] (any step stride), seq and dSeq [n, T, U], dh [n, U] (updated), dXG [n, T, 3U]
// (written), with contiguous rows.
void BackwardGruSteps(const torch::Tensor& gates, const torch::Tensor& seq, const torch::Tensor& h0, const torch::Tensor& dSeq,
                      const torch::Tensor& dh, const torch::Tensor& dXG, const torch::Tensor& mask, const torch::Tensor& rk1T,
                      const torch::Tensor& rk2T, int act, int recAct) {
  const int64_t batch = seq.size(0), steps = seq.size(1), units = seq.size(2);
  torch::Tensor drh = torch::empty({batch, units}, seq.options());
  const int64_t cost = 8 * units;
  for (int64_t t = steps - 1; t >= 0; t--) {
    gate_kernels::GruTfjsGradRows rows{gates.data_ptr<float>() + t * gates.stride(0), gates.stride(1),
                                       t > 0 ? seq.data_ptr<float>() + (t - 1) * units : h0.data_ptr<float>(), t > 0 ? seq.stride(0) : h0.stride(0),
                                       dSeq.data_ptr<float>() + t * units, dSeq.stride(0), dh.data_ptr<float>(), dh.stride(0),
                                       dXG.data_ptr<float>() + t * 3 * units, dXG.stride(0), drh.data_ptr<float>(), units, units, act, recAct};
    if (mask.defined()) rows.mask = mask.data_ptr<float>() + t, rows.maskStride = mask.stride(0);
    SharedRows(batch, cost, [&](int64_t b, int64_t e) { gate_kernels::GruTfjsBackwardGates(rows, b, e); });
    const torch::Tensor dStep = dXG.select(1, t);
    at::mm_out(drh, dStep.narrow(1, 2 * units, units), rk2T);
    SharedRows(batch, cost, [&](int64_t b, int64_t e) { gate_kernels::GruTfjsBackwardReset(rows, b, e); });
    dh.addmm_(dStep.narrow(1, 0, 2 * units), rk1T);
  }
}

// Backpropagation through time for ForwardGru: per step one pass for dz and dhh, one mm for the
// gradient of r * hPrev, one pass for dr, and one mm (added) for dh through rk1 (the passes:
// gate_kernels::GruTfjsBackwardGates / Reset), on the halves of a split batch at once
// (TrainingHalves); then the weight gradients over all steps and rows.
Grads BackwardGru(const std::vector<torch::Tensor>& s, const torch::Tensor& recurrent, bool hasBias, int act, int recAct,
                  const torch::Tensor& dSeq, const torch::Tensor& dH, const torch::Tensor& dProjOut) {
  const torch::Tensor &x = s.at(0), &h0 = s.at(1), &seq = s.at(2), &gates = s.at(3), &rh = s.at(4);
  const torch::Tensor mask = s.size() > kSavedGru ? s[kSavedGru] : torch::Tensor();
  const int64_t batch = seq.size(0), steps = seq.size(1), units = seq.size(2);
  const torch::Tensor rk1T = recurrent.narrow(1, 0, 2 * units).t().contiguous(), rk2T = recurrent.narrow(1, 2 * units, units).t().contiguous();
  const torch::Tensor dSeqC = dSeq.contiguous(), h0C = h0.contiguous();
  torch::Tensor dh = dH.clone(at::MemoryFormat::Contiguous);
  // dz, dr, dhh: the projection's gradient, batch-major as x (the weight gradients need no copies)
  torch::Tensor dXG = BufferOr(dProjOut, {batch, steps, 3 * units}, seq.options());
  const auto rows = [&](int64_t b, int64_t n) {
    BackwardGruSteps(gates.narrow(1, b, n), seq.narrow(0, b, n), h0C.narrow(0, b, n), dSeqC.narrow(0, b, n), dh.narrow(0, b, n),
                     dXG.narrow(0, b, n), Rows(mask, b, n), rk1T, rk2T, act, recAct);
  };
  if (!TrainingHalves(batch, steps, 3 * units, units, rows)) rows(0, batch);
  Grads out;
  InputWeightGrads(out, x, dXG, hasBias);
  const torch::Tensor dFlat = dXG.view({batch * steps, 3 * units});
  out.dRecurrent = torch::cat({PreviousStates(h0, seq).t().mm(dFlat.narrow(1, 0, 2 * units)),
                               rh.view({batch * steps, units}).t().mm(dFlat.narrow(1, 2 * units, units))}, 1);
  out.dh0 = dh;
  return out;
}

// ---- SimpleRNN: h = act(x·kernel + bias + hPrev·recurrent)

// Per step one mm and one pass (gate_kernels::RnnForward). Saved: x, h0, sequence (and the mask).
// Inference and training alike run the two halves of the batch at once where it splits: the
// sequence is all the training saves.
Result ForwardSimple(const torch::Tensor& x, const torch::Tensor& h0In, const torch::Tensor& kernel, const torch::Tensor& recurrent,
                     const torch::Tensor& bias, int act, bool save, const torch::Tensor& mask, const torch::Tensor& seqOut) {
  const int64_t batch = x.size(0), steps = x.size(1), units = recurrent.size(0);
  if (steps > 0) {
    auto split = SplitRows(BufferOr(seqOut, {batch, steps, units}, x.options()), units, units,
                           [&](int64_t b, int64_t n, const torch::Tensor& seqRows) {
                             return ForwardSimple(Rows(x, b, n), Rows(h0In, b, n), kernel, recurrent, bias, act, false, Rows(mask, b, n), seqRows);
                           });
    if (split) {
      if (save) split->saved = {x, h0In, split->sequence};
      if (save && mask.defined()) split->saved.push_back(mask);
      return *split;
    }
  }
  const torch::Tensor xw = InputProjection(x.reshape({-1, x.size(2)}), kernel, bias).view({batch, steps, units});
  const torch::Tensor rec = recurrent.contiguous(), h0 = h0In.contiguous();
  torch::Tensor hw = torch::empty({batch, units}, x.options());
  torch::Tensor seq = BufferOr(seqOut, {batch, steps, units}, x.options());
  const float* maskP = mask.defined() ? mask.data_ptr<float>() : nullptr;
  torch::Tensor h = h0;
  const float* hPrev = h0.data_ptr<float>();
  int64_t hPrevStride = units;
  for (int64_t t = 0; t < steps; t++) {
    StepMatmul(hw, h, rec);
    gate_kernels::RnnRows rows{hw.data_ptr<float>(), units, xw.data_ptr<float>() + t * units, steps * units,
                               seq.data_ptr<float>() + t * units, steps * units, units, act};
    if (maskP != nullptr) rows.hPrev = hPrev, rows.hPrevStride = hPrevStride, rows.mask = maskP + t, rows.maskStride = steps;
    SharedRows(batch, 4 * units, [&](int64_t b, int64_t e) { gate_kernels::RnnForward(rows, b, e); });
    h = seq.select(1, t);
    hPrev = rows.h, hPrevStride = rows.hStride;
  }
  Result r;
  r.sequence = seq;
  r.h = steps > 0 ? h.contiguous() : h0In;
  if (save) {
    if (steps == 0) throw std::invalid_argument("a recurrent layer needs at least one time step to be trained");
    r.saved = {x, h0In, seq};
    if (mask.defined()) r.saved.push_back(mask);
  }
  return r;
}

// The per-step part of BackwardSimple on a range of rows (all, or a half of a split batch): seq
// and dSeq [n, T, U], dh [n, U] (updated), dZ [n, T, U] (written), contiguous rows.
void BackwardSimpleSteps(const torch::Tensor& seq, const torch::Tensor& dSeq, const torch::Tensor& dh, const torch::Tensor& dZ,
                         const torch::Tensor& mask, const torch::Tensor& recurrentT, int act) {
  const int64_t batch = seq.size(0), steps = seq.size(1), units = seq.size(2);
  for (int64_t t = steps - 1; t >= 0; t--) {
    // dz = (dh + dSeq) * act'(h) (gate_kernels::RnnBackward); then dh for step t-1 = dz ·
    // recurrentᵀ (added to the masked rows' passed-through gradient)
    gate_kernels::RnnGradRows rows{seq.data_ptr<float>() + t * units, seq.stride(0), dSeq.data_ptr<float>() + t * units, dSeq.stride(0),
                                   dh.data_ptr<float>(), dh.stride(0), dZ.data_ptr<float>() + t * units, dZ.stride(0), units, act};
    if (mask.defined()) rows.mask = mask.data_ptr<float>() + t, rows.maskStride = mask.stride(0);
    SharedRows(batch, 4 * units, [&](int64_t b, int64_t e) { gate_kernels::RnnBackward(rows, b, e); });
    if (mask.defined()) {
      dh.addmm_(dZ.select(1, t), recurrentT);
    } else {
      torch::Tensor out = dh;  // at::mm_out takes a non-const output
      at::mm_out(out, dZ.select(1, t), recurrentT);
    }
  }
}

// Backpropagation through time for ForwardSimple (the steps on the halves of a split batch at
// once, TrainingHalves), then the weight gradients over all steps and rows.
Grads BackwardSimple(const std::vector<torch::Tensor>& s, const torch::Tensor& recurrent, bool hasBias, int act, const torch::Tensor& dSeq,
                     const torch::Tensor& dH, const torch::Tensor& dProjOut) {
  const torch::Tensor &x = s.at(0), &h0 = s.at(1), &seq = s.at(2);
  const torch::Tensor mask = s.size() > kSavedSimple ? s[kSavedSimple] : torch::Tensor();
  const int64_t batch = seq.size(0), steps = seq.size(1), units = seq.size(2);
  const torch::Tensor dSeqC = dSeq.contiguous(), recurrentT = recurrent.t();
  torch::Tensor dh = dH.clone(at::MemoryFormat::Contiguous);
  torch::Tensor dZ = BufferOr(dProjOut, {batch, steps, units}, seq.options());  // batch-major as x
  const auto rows = [&](int64_t b, int64_t n) {
    BackwardSimpleSteps(seq.narrow(0, b, n), dSeqC.narrow(0, b, n), dh.narrow(0, b, n), dZ.narrow(0, b, n), Rows(mask, b, n), recurrentT, act);
  };
  if (!TrainingHalves(batch, steps, units, units, rows)) rows(0, batch);
  Grads out;
  InputWeightGrads(out, x, dZ, hasBias);
  out.dRecurrent = PreviousStates(h0, seq).t().mm(dZ.view({batch * steps, units}));
  out.dh0 = dh;
  return out;
}

}  // namespace tfjs_rnn
}  // namespace trnn
