#include "lstm.h"

#include "../../compat.h"
#include "common.h"
#include "row_helper.h"
#include "gate_kernels.h"
#include "lstm_proj.h"

namespace trnn {
namespace fused {
namespace lstm {

// The LSTM's recurrence over preallocated buffers: per step one mm (the recurrent matrix
// row-major once per call: no transposed operand, no bias copy) and one vectorized pass over the
// rows (gate_kernels, any activations) that adds the input projection and does all the gate
// math (with a projection, then h_t = (o * act(c_t)) · projection, one more small mm). What
// backward needs is the buffers themselves (no per-step lists to stack). Saved: x, h0, c0,
// gates [T, B, 4U] (activated i, f, g, o), c [T, B, U], act(c) [T, B, U], sequence [B, T, P]
// (and the mask; with a projection an empty place, then o * act(c) [T, B, U]). `lean`: the
// gates overwrite the input projection's batch-major buffer (saved as its [T, B, 4U] view) and
// act(c) is not kept (one step's scratch): at batch 32, hidden 128, seq 512 that is 34 MB less
// at the forward's peak and 8 MB less saved per layer.
Result ForwardLstm(const torch::Tensor& x, const torch::Tensor& h0In, const torch::Tensor& c0In, const torch::Tensor& kernel,
                   const torch::Tensor& recurrent, const torch::Tensor& bias, int act, int recAct, bool save, const torch::Tensor& mask,
                   const torch::Tensor& seqOut, const torch::Tensor& projection, bool lean, const SaveInto* into) {
  lean = lean && save;
  const bool proj = projection.defined();
  const int64_t batch = x.size(0), steps = x.size(1), units = recurrent.size(1) / 4, outSize = proj ? projection.size(1) : units;
  if (!AllFloatCpu({&x, &h0In, &c0In, &kernel, &recurrent}) || (proj && !AllFloatCpu({&projection}))) {
    throw std::invalid_argument("the fused LSTM takes float32 CPU tensors");
  }
  if (proj && mask.defined()) throw std::invalid_argument("the fused LSTM with a projection takes no mask");
  if (!save && steps > 0) {
    // inference: the two halves of the batch at once, each a whole layer
    auto split = SplitRows(BufferOr(seqOut, {batch, steps, outSize}, x.options()), 4 * units, recurrent.size(0),
                           [&](int64_t b, int64_t n, const torch::Tensor& seqRows) {
                             return ForwardLstm(Rows(x, b, n), Rows(h0In, b, n), Rows(c0In, b, n), kernel, recurrent, bias, act, recAct, false,
                                                Rows(mask, b, n), seqRows, projection);
                           });
    if (split) return *split;
  }
  auto opts = x.options();
  if (save && !lean && !proj && steps > 0 && into == nullptr) {
    // training (the tfjs backend's): the two halves at once, each writing its rows of the saved buffers
    const torch::Tensor seq = BufferOr(seqOut, {batch, steps, units}, opts);
    const SaveInto whole{torch::empty({steps, batch, 4 * units}, opts), torch::empty({steps, batch, units}, opts),
                         torch::empty({steps, batch, units}, opts)};
    const bool split = TrainingHalves(batch, steps, 4 * units, recurrent.size(0), [&](int64_t b, int64_t n) {
      const SaveInto rows{whole.gates.narrow(1, b, n), whole.cs.narrow(1, b, n), whole.tcs.narrow(1, b, n)};
      ForwardLstm(Rows(x, b, n), Rows(h0In, b, n), Rows(c0In, b, n), kernel, recurrent, bias, act, recAct, true, Rows(mask, b, n),
                  seq.narrow(0, b, n), projection, false, &rows);
    });
    if (split) {
      Result r;
      r.sequence = seq;
      r.h = seq.select(1, steps - 1).contiguous();
      r.c = whole.cs.select(0, steps - 1).clone();
      r.saved = {x, h0In, c0In, whole.gates, whole.cs, whole.tcs, seq};
      if (mask.defined()) r.saved.push_back(mask.contiguous());
      return r;
    }
  }
  torch::Tensor xw = InputProjection(x.reshape({-1, x.size(2)}), kernel, bias).view({batch, steps, 4 * units});
  // Without `save` two slots are enough (step t reads t-1's c).
  const int64_t slots = save ? steps : std::min<int64_t>(steps, 2);
  // lean: the gates are xw's own buffer (batch-major; gates[t] is a view with row stride T * 4U):
  // each step's recurrent product goes into `rec4` and the gate pass adds it to the input
  // projection in place. act(c) goes into one step's scratch, not saved.
  // (into: a half's rows of the whole batch's buffers; their step stride is the whole batch's)
  torch::Tensor gates = lean ? xw.transpose(0, 1) : into != nullptr ? into->gates : torch::empty({slots, batch, 4 * units}, opts);
  torch::Tensor rec4 = lean ? torch::empty({batch, 4 * units}, opts) : torch::Tensor();
  torch::Tensor cs = into != nullptr ? into->cs : torch::empty({slots, batch, units}, opts);
  torch::Tensor tcs = into != nullptr ? into->tcs : torch::empty({lean ? 1 : slots, batch, units}, opts);
  torch::Tensor seq = BufferOr(seqOut, {batch, steps, outSize}, opts);
  // with a projection the gate pass writes o * act(c) here, and the step's mm projects it into seq
  torch::Tensor pre = proj ? torch::empty({slots, batch, units}, opts) : torch::Tensor();
  const torch::Tensor projC = proj ? projection.contiguous() : projection;
  const torch::Tensor h0 = h0In.contiguous(), c0 = c0In.contiguous();
  const torch::Tensor maskC = mask.defined() ? mask.contiguous() : mask;
  torch::Tensor h = h0, c = c0;
  const torch::Tensor rec = recurrent.contiguous();
  float *gBase = lean ? xw.data_ptr<float>() : gates.data_ptr<float>(), *cBase = cs.data_ptr<float>(), *tcBase = tcs.data_ptr<float>(), *seqBase = seq.data_ptr<float>();
  float* preBase = proj ? pre.data_ptr<float>() : nullptr;
  const float* xwBase = xw.data_ptr<float>();
  const float *cPrev = c0.data_ptr<float>(), *hPrev = h0.data_ptr<float>();
  int64_t cPrevStride = units, hPrevStride = units, k = 0;
  const int64_t cost = 16 * units;  // elements per row of the gate pass
  for (int64_t t = 0; t < steps; t++) {
    k = save ? t : t % 2;
    torch::Tensor g4 = lean ? rec4 : gates.select(0, k);
    StepMatmul(g4, h, rec);
    // lean: the "gates" the pass reads and overwrites are step t's rows of xw, its "xw" rec4
    gate_kernels::LstmRows rows{lean ? gBase + t * 4 * units : gBase + k * gates.stride(0), lean ? steps * 4 * units : 4 * units,
                                lean ? g4.data_ptr<float>() : xwBase + t * 4 * units, lean ? 4 * units : steps * 4 * units,
                                cPrev, cPrevStride, cBase + k * cs.stride(0), units, tcBase + (lean ? 0 : k) * tcs.stride(0), units,
                                proj ? preBase + k * batch * units : seqBase + t * units, proj ? units : steps * units, units, act, recAct};
    if (maskC.defined()) {
      rows.hPrev = hPrev, rows.hPrevStride = hPrevStride;
      rows.mask = maskC.data_ptr<float>() + t, rows.maskStride = steps;
    }
    SharedRows(batch, cost, [&](int64_t begin, int64_t end) { gate_kernels::LstmForward(rows, begin, end); });
    h = seq.select(1, t);
    if (proj) StepMatmul(h, pre.select(0, k), projC);
    cPrev = rows.c, cPrevStride = units;
    hPrev = rows.h, hPrevStride = rows.hStride;
  }
  if (steps > 0) c = cs.select(0, k);
  Result r;
  r.sequence = seq;
  r.h = steps > 0 ? h.contiguous() : h0In;
  r.c = steps > 0 ? c.clone() : c0In;
  if (save) {
    if (steps == 0) throw std::invalid_argument("a recurrent layer needs at least one time step to be trained");
    r.saved = {x, h0In, c0In, gates, cs, lean ? torch::Tensor() : tcs, seq};
    if (maskC.defined() || proj) r.saved.push_back(maskC);
    if (proj) r.saved.push_back(pre);
  }
  return r;
}

// One step's gate gradients: gate_kernels::LstmBackward (vectorized) over the rows.
void LstmStepBackward(int act, int recAct, const StepRows& s) {
  const int64_t units = s.tc.size(1);
  // cIsC: s.tc holds c, act(c) recomputed
  gate_kernels::LstmGradRows rows{s.gates.data_ptr<float>(), s.gates.stride(0), s.cIsC ? nullptr : s.tc.data_ptr<float>(), s.tc.stride(0),
                                  s.cPrev.data_ptr<float>(), s.cPrev.stride(0), s.dSeq.data_ptr<float>(), s.dSeq.stride(0),
                                  s.dh.data_ptr<float>(), s.dh.stride(0), s.dc.data_ptr<float>(), s.dc.stride(0),
                                  s.dz.data_ptr<float>(), s.dz.stride(0), units, act, recAct, s.mask, s.maskStride,
                                  s.tc.data_ptr<float>(), s.tc.stride(0)};
  SharedRows(s.tc.size(0), 8 * units, [&](int64_t b, int64_t e) { gate_kernels::LstmBackward(rows, b, e); });
}

// Step t of BackwardLstm without a projection on a range of rows (all, or a half of a split
// batch): every gate gradient in one pass (only arithmetic: the derivatives come from the
// activated values) into dzT [n, 4U], then dh for step t-1 as one matmul (added to the masked
// rows' passed-through gradient when there is a mask). gates [T, n, 4U], tcs (act(c), or
// undefined: recomputed from c) and cs [T, n, U] with any step stride; c0 [n, U], dSeq [n, T, U],
// dh and dc [n, U] (updated); contiguous rows.
static void BackwardLstmStep(int act, int recAct, int64_t t, const torch::Tensor& gates, const torch::Tensor& tcs, const torch::Tensor& cs,
                             const torch::Tensor& c0, const torch::Tensor& dSeq, const torch::Tensor& dh, const torch::Tensor& dc,
                             const torch::Tensor& dzT, const torch::Tensor& mask, const torch::Tensor& recurrentT) {
  StepRows rows{gates[t], tcs.defined() ? tcs[t] : cs[t], t > 0 ? cs[t - 1] : c0, dSeq.select(1, t), dh, dc, dzT, nullptr, 0, !tcs.defined()};
  if (mask.defined()) rows.mask = mask.data_ptr<float>() + t, rows.maskStride = mask.stride(0);
  LstmStepBackward(act, recAct, rows);
  if (mask.defined()) {
    dh.addmm_(dzT, recurrentT);
  } else {
    torch::Tensor out = dh;  // at::mm_out takes a non-const output
    at::mm_out(out, dzT, recurrentT);
  }
}

// Backpropagation through time for ForwardLstm: all steps' gate gradients [T, B, 4U], or (lean) a chunk's.
Grads BackwardLstm(const std::vector<torch::Tensor>& s, const torch::Tensor& kernel, const torch::Tensor& recurrent, bool hasBias,
                   int act, int recAct, const torch::Tensor& dSeq, const torch::Tensor& dH, const torch::Tensor& dC,
                   const torch::Tensor& dzOut, const torch::Tensor& projection, bool inputGrad) {
  const torch::Tensor &x = s.at(0), &h0 = s.at(1), &c0 = s.at(2), &gates = s.at(3), &cs = s.at(4), &tcs = s.at(5), &seq = s.at(6);
  const int64_t steps = gates.size(0), batch = gates.size(1), units = recurrent.size(1) / 4, outSize = seq.size(2);
  for (const torch::Tensor* t : {&gates, &dSeq, &dH, &dC, &c0}) {
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat) throw std::invalid_argument("the fused LSTM gradient takes float32 CPU tensors");
  }
  // The gate gradients: all steps' [T, B, 4U] (dzOut's buffer, or the tfjs backend's without
  // one: its saved act(c) says it is not lean; its queued kernels pass dzOut and the weight
  // gradients then sum in the same order both ways: bit-identical training, test/84), or after a
  // lean forward a chunk of `chunk` steps' [chunk, B, 4U], step t in slot t % chunk: when the
  // loop has done a chunk's first step, flush adds the chunk's share of the weight gradients
  // (and writes its rows of dx).
  const bool whole = dzOut.defined() || tcs.defined();
  const int64_t chunk = whole ? steps : std::min<int64_t>(steps, std::max<int64_t>(8, (kBackwardChunkRows + batch - 1) / batch));
  const torch::Tensor dzBuf = whole ? BufferOr(dzOut, gates.sizes(), gates.options()) : torch::empty({chunk, batch, 4 * units}, gates.options());
  auto dzAt = [&](int64_t t) { return dzBuf[whole ? t : t % chunk]; };
  const int64_t inSize = x.size(2);
  Grads out;
  if (!whole) {
    out.dKernel = torch::zeros({inSize, 4 * units}, gates.options());
    out.dRecurrent = torch::zeros({outSize, 4 * units}, gates.options());
    if (hasBias) out.dBias = torch::zeros({4 * units}, gates.options());
    if (inputGrad) out.dx = torch::empty({batch, steps, inSize}, gates.options());
  }
  // steps [t0, t0 + n), in slots 0..n-1: small time-major copies of their x rows and previous
  // states (h0, then the sequence) for the weight gradients' matmuls
  auto flush = [&](int64_t t0, int64_t n) {
    const torch::Tensor rows = dzBuf.narrow(0, 0, n).view({n * batch, 4 * units});
    out.dKernel.addmm_(x.narrow(1, t0, n).transpose(0, 1).reshape({n * batch, inSize}).t(), rows);
    const torch::Tensor hPrev = t0 > 0 ? seq.narrow(1, t0 - 1, n).transpose(0, 1).reshape({n * batch, outSize})
                                       : torch::cat({h0.unsqueeze(0), seq.narrow(1, 0, n - 1).transpose(0, 1)}, 0).view({n * batch, outSize});
    out.dRecurrent.addmm_(hPrev.t(), rows);
    if (hasBias) out.dBias.add_(rows.sum(0));
    if (inputGrad) out.dx.narrow(1, t0, n).copy_(rows.mm(kernel.t()).view({n, batch, inSize}).transpose(0, 1));
  };
  auto flushAt = [&](int64_t t) {
    if (!whole && t % chunk == 0) flush(t, std::min(chunk, steps - t));
  };
  // (each step's pass reads act(c) where ForwardLstm saved it, else (lean) recomputes it from c)
  torch::Tensor dh = dH.clone(at::MemoryFormat::Contiguous), dc = dC.clone(at::MemoryFormat::Contiguous);
  torch::Tensor dSeqC = dSeq.contiguous(), c0C = c0.contiguous();
  torch::Tensor recurrentT = recurrent.t();
  const torch::Tensor mask = s.size() > 7 ? s[7] : torch::Tensor();
  if (projection.defined()) {
    // dh_t (the gradient of h_t from step t+1, dhs[t]) goes through the projection to o * act(c):
    // dPre = dh_t · projectionᵀ per step, dSeq's part (dSeqPre) for all steps at once
    const torch::Tensor projT = projection.t().contiguous(), &pre = s.at(8);  // [P, U]
    const torch::Tensor dSeqPre = dSeqC.view({batch * steps, outSize}).mm(projT).view({batch, steps, units});
    torch::Tensor dhs = torch::empty({steps, batch, outSize}, dh.options()), dPre = torch::empty({batch, units}, dh.options());
    dhs[steps - 1].copy_(dh);
    for (int64_t t = steps - 1; t >= 0; t--) {
      torch::Tensor dhT = dhs[t], dhPrev = t > 0 ? dhs[t - 1] : dh;
      StepMatmul(dPre, dhT, projT);
      LstmStepBackward(act, recAct, StepRows{gates[t], tcs.defined() ? tcs[t] : cs[t], t > 0 ? cs[t - 1] : c0C, dSeqPre.select(1, t), dPre,
                                             dc, dzAt(t), nullptr, 0, !tcs.defined()});
      at::mm_out(dhPrev, dzAt(t), recurrentT);
      flushAt(t);
    }
    // the projection's weight gradient over all steps: Σ_t (o * act(c))_tᵀ (dh_t + dSeq_t)
    dhs.add_(dSeqC.transpose(0, 1));
    out.dProjKernel = pre.view({steps * batch, units}).t().mm(dhs.view({steps * batch, outSize}));
  } else if (whole) {
    // all steps' gate gradients kept (the tfjs backend's): the steps of the batch's two halves at
    // once where it splits (TrainingHalves, as ForwardLstm's), then the weight gradients below
    const auto rows = [&](int64_t b, int64_t n) {
      const torch::Tensor g = gates.narrow(1, b, n), tc = tcs.defined() ? tcs.narrow(1, b, n) : tcs, c = cs.narrow(1, b, n);
      const torch::Tensor c0R = c0C.narrow(0, b, n), dSeqR = dSeqC.narrow(0, b, n), dhR = dh.narrow(0, b, n), dcR = dc.narrow(0, b, n);
      const torch::Tensor dz = dzBuf.narrow(1, b, n), m = Rows(mask, b, n);
      for (int64_t t = steps - 1; t >= 0; t--) BackwardLstmStep(act, recAct, t, g, tc, c, c0R, dSeqR, dhR, dcR, dz[t], m, recurrentT);
    };
    if (!TrainingHalves(batch, steps, 4 * units, outSize, rows)) rows(0, batch);
  } else {
    // lean: the gate gradients of a chunk of steps, flushed into the weight gradients as it fills
    for (int64_t t = steps - 1; t >= 0; t--) {
      BackwardLstmStep(act, recAct, t, gates, tcs, cs, c0C, dSeqC, dh, dc, dzAt(t), mask, recurrentT);
      flushAt(t);
    }
  }
  if (whole) {
    const torch::Tensor dzFlat = dzBuf.view({steps * batch, 4 * units});  // time-major rows
    torch::Tensor xTime = x.transpose(0, 1).reshape({steps * batch, inSize});
    out.dKernel = xTime.t().mm(dzFlat);
    if (hasBias) out.dBias = dzFlat.sum(0);
    out.dProjection = dzBuf.transpose(0, 1);
    torch::Tensor hPrev = torch::cat({h0.unsqueeze(0), seq.narrow(1, 0, steps - 1).transpose(0, 1)}, 0).view({steps * batch, outSize});
    out.dRecurrent = hPrev.t().mm(dzFlat);
  }
  out.dh0 = dh;
  out.dc0 = dc;
  return out;
}

}  // namespace lstm
}  // namespace fused
}  // namespace trnn

// ---- torchrnn::lstm_layer: one LSTM layer (one direction) as an operator with its own backward.

namespace trnn {
namespace fused {
namespace lstm {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The layer with w_hr (lstm_proj_layer) passes it: params w_ih, w_hh[, b_ih, b_hh], w_hr, and
// at::lstm sees the projection in h0's size differing from c0's.
Triple LayerReference(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih,
                      const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr) {
  std::vector<torch::Tensor> params = ReferenceParams(wih, whh, bih, bhh);
  const bool hasBias = params.size() == 4;
  if (whr.defined()) params.push_back(whr);
  auto out = at::lstm(x, {h0.unsqueeze(0), c0.unsqueeze(0)}, params, hasBias, 1, 0.0, false, false, /*batch_first=*/true);
  return {std::get<0>(out), std::get<1>(out).squeeze(0), std::get<2>(out).squeeze(0)};
}

// w_ih, w_hh and w_hr as the recurrence takes them: kernel [I, 4U], recurrent [P, 4U], projection [U, P]
static torch::Tensor ProjectionOf(const torch::Tensor& whr) { return whr.defined() ? whr.t() : whr; }

Triple LayerForwardNoGrad(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih,
                          const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr) {
  const bool hasBias = bih.has_value() && bih->defined();
  if (!AllFloatCpu({&x, &h0, &c0, &wih, &whh}) || (whr.defined() && !AllFloatCpu({&whr})) || x.size(1) == 0) {
    return LayerReference(x, h0, c0, wih, whh, bih, bhh, whr);
  }
  Result r = ForwardLstm(x, h0, c0, wih.t(), whh.t(), hasBias ? *bih + *bhh : torch::Tensor(), kTanh, kSigmoid, false, torch::Tensor(),
                         torch::Tensor(), ProjectionOf(whr));
  return {r.sequence, r.h, r.c};
}

variable_list LayerForwardSaving(AutogradContext* ctx, const variable_list& in) {
  const torch::Tensor whr = in.size() > 7 ? in[7] : torch::Tensor();
  Result r = ForwardLstm(in[0], in[1], in[2], in[3].t(), in[4].t(), in[5] + in[6], kTanh, kSigmoid, true, torch::Tensor(), torch::Tensor(),
                         ProjectionOf(whr), /*lean=*/true);
  // hT is the sequence's last step: its own tensor, not a view of another output
  torch::Tensor hT = r.h.is_alias_of(r.sequence) ? r.h.clone() : r.h;
  variable_list saved(in);
  saved.push_back(r.sequence);
  ctx->save_for_backward(saved);
  ctx->saved_data["gates"] = r.saved[3];
  ctx->saved_data["cs"] = r.saved[4];
  if (whr.defined()) ctx->saved_data["pre"] = r.saved[8];
  return {r.sequence, hT, r.c};
}

variable_list LayerBackwardSaved(AutogradContext* ctx, const variable_list& grads) {
  const variable_list s = ctx->get_saved_variables();
  const variable_list in(s.begin(), s.end() - 1);  // x, h0, c0, w_ih, w_hh, b_ih, b_hh[, w_hr]
  const torch::Tensor &x = in[0], &h0 = in[1], &c0 = in[2], &wih = in[3], &whh = in[4], &seq = s.back();
  const torch::Tensor whr = in.size() > 7 ? in[7] : torch::Tensor();
  if (torch::GradMode::is_enabled()) {
    // backward(create_graph=True): gradients that are themselves differentiable, from libtorch's
    // own LSTM recomputed on the saved inputs (the fused backward is not differentiable)
    auto layer = LayerReference(x, h0, c0, wih, whh, in[5], in[6], whr);
    return ReferenceGrads(in, {std::get<0>(layer), std::get<1>(layer), std::get<2>(layer)}, grads);
  }
  torch::Tensor dSeq = grads[0].defined() ? grads[0] : torch::zeros_like(seq);
  torch::Tensor dH = grads[1].defined() ? grads[1] : torch::zeros_like(h0);
  torch::Tensor dC = grads[2].defined() ? grads[2] : torch::zeros_like(c0);
  std::vector<torch::Tensor> saved{x, h0, c0, ctx->saved_data["gates"].toTensor(), ctx->saved_data["cs"].toTensor(), torch::Tensor(), seq};
  if (whr.defined()) saved.insert(saved.end(), {torch::Tensor(), ctx->saved_data["pre"].toTensor()});
  Grads g = BackwardLstm(saved, wih.t(), whh.t(), /*hasBias=*/true, kTanh, kSigmoid, dSeq, dH, dC, torch::Tensor(), ProjectionOf(whr),
                         /*inputGrad=*/ctx->needs_input_grad(0));
  auto wanted = [&](size_t k, const std::function<torch::Tensor()>& grad) { return ctx->needs_input_grad(k) ? grad() : torch::Tensor(); };
  variable_list out{wanted(0, [&] { return g.dx.defined() ? g.dx : torch::matmul(g.dProjection, wih); }), wanted(1, [&] { return g.dh0; }),
                    wanted(2, [&] { return g.dc0; }), wanted(3, [&] { return g.dKernel.t(); }), wanted(4, [&] { return g.dRecurrent.t(); }),
                    wanted(5, [&] { return g.dBias; }), wanted(6, [&] { return g.dBias; })};
  if (whr.defined()) out.push_back(wanted(7, [&] { return g.dProjKernel.t(); }));
  return out;
}

struct LstmLayerBackward : public torch::autograd::Function<LstmLayerBackward> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0,
                               const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bih, const torch::Tensor& bhh) {
    return LayerForwardSaving(ctx, {x, h0, c0, wih, whh, bih, bhh});
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) { return LayerBackwardSaved(ctx, grads); }
};

// The operator's kernels: CPU (no autograd: inference) and Autograd.
static Triple LayerNoGrad(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih,
                          const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  return LayerForwardNoGrad(x, h0, c0, wih, whh, bih, bhh);
}
static Triple LayerAutograd(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih,
                            const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  return LayerAutogradWith<LstmLayerBackward>(x, h0, c0, wih, whh, bih, bhh);
}

// Registered when the addon loads (InitRnn), not by static TORCH_LIBRARY initializers: a second
// copy of the addon in the same process (two torchrnn versions) would make those throw during
// dlopen, which aborts the process. Here the second copy finds the operator and uses it.
void Register() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (c10::Dispatcher::singleton().findSchema({"torchrnn::lstm_layer", ""}).has_value()) return;
    static torch::Library def(torch::Library::FRAGMENT, "torchrnn", c10::nullopt, __FILE__, __LINE__);
    def.def("lstm_layer(Tensor input, Tensor h0, Tensor c0, Tensor w_ih, Tensor w_hh, Tensor? b_ih, Tensor? b_hh) -> (Tensor, Tensor, Tensor)");
    static torch::Library cpu(torch::Library::IMPL, "torchrnn", c10::DispatchKey::CPU, __FILE__, __LINE__);
    cpu.impl("lstm_layer", LayerNoGrad);
    static torch::Library autograd(torch::Library::IMPL, "torchrnn", c10::DispatchKey::Autograd, __FILE__, __LINE__);
    autograd.impl("lstm_layer", LayerAutograd);
  });
}

c10::optional<std::vector<torch::Tensor>> Forward(const torch::nn::LSTM& m, const torch::Tensor& input, const torch::Tensor& h0In,
                                                  const torch::Tensor& c0In) {
  const auto& o = m->options;
  const std::vector<torch::Tensor> weights = m->all_weights();
  if (!Fusable(m->options_base, input, weights)) return c10::nullopt;
  if (input.dim() != 3 || input.size(o.batch_first() ? 1 : 0) == 0) return c10::nullopt;
  const bool proj = o.proj_size() != 0;
  // oneDNN's LSTM (libtorch 2.x) where it is faster: inference, and small training batches
  // (common.h). It takes no projection: libtorch 2.x runs its own per-step cells then.
  if (!proj && Auto() && compat::LstmRunsOnOneDnn()) {
    const int64_t batch = input.size(o.batch_first() ? 0 : 1);
    if (!NeedsGrad({&input, &weights[0]}) || batch < kLstmFusedMinBatchTraining) return c10::nullopt;
  }
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchrnn::lstm_layer", "").typed<
      std::tuple<torch::Tensor, torch::Tensor, torch::Tensor>(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                                              const torch::Tensor&, const OptTensor&, const OptTensor&)>();
  const int64_t states = o.num_layers() * (o.bidirectional() ? 2 : 1);
  const size_t per = weights.size() / states;  // w_ih, w_hh[, b_ih, b_hh][, w_hr]
  torch::Tensor x = o.batch_first() ? input : input.transpose(0, 1);  // [B, T, I]
  torch::Tensor h0 = h0In.defined() ? h0In : torch::zeros({states, x.size(0), proj ? o.proj_size() : o.hidden_size()}, x.options());
  torch::Tensor c0 = c0In.defined() ? c0In : torch::zeros({states, x.size(0), o.hidden_size()}, x.options());
  // the reverse direction reads the sequence from its end; its output is put back in time order
  auto out = StackLayers(m->options_base, m->is_training(), weights, x, 2, [](const torch::Tensor& t) { return t.flip(1); },
                         [&](const torch::Tensor& xk, int64_t k, const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih,
                             const OptTensor& bhh) {
                           auto r = proj ? ProjLayer(xk, h0[k], c0[k], wih, whh, bih, bhh, weights[(k + 1) * per - 1])
                                         : op.call(xk, h0[k], c0[k], wih, whh, bih, bhh);
                           return LayerResult{std::get<0>(r), {std::get<1>(r), std::get<2>(r)}};
                         });
  if (!o.batch_first()) out[0] = out[0].transpose(0, 1);
  return out;
}

}  // namespace lstm
}  // namespace fused
}  // namespace trnn
