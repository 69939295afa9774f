#include "lstm_packed.h"

#include "common.h"
#include "row_helper.h"
#include "gate_kernels.h"
#include "lstm.h"
#include "lstm_proj.h"

namespace trnn {
namespace fused {
namespace lstm {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

struct PackedResult {
  torch::Tensor out, hN, cN, gates, cs, tcs, pre;
};

// One layer over packed rows, with w_hr (undefined without a projection). Saved for backward
// (save): gates [N, 4U] (activated), c and tanh(c) [N, U], and with a projection o * tanh(c)
// [N, U]; without save, scratch for one step.
// act, recAct: the gate activations (gate_kernels.h codes; libtorch's LSTM: tanh, sigmoid).
PackedResult PackedLayerForward(const torch::Tensor& data, const PackedSteps& st, const torch::Tensor& h0In, const torch::Tensor& c0In,
                                const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bias, bool save,
                                const torch::Tensor& whr, int act = kTanh, int recAct = kSigmoid) {
  const bool proj = whr.defined();
  const int64_t n = st.rows(), units = whh.size(0) / 4, outSize = proj ? whr.size(0) : units, batch = st.sizes[0];
  const auto opts = data.options();
  const torch::Tensor xw = InputProjection(data, wih.t(), bias);  // [N, 4U]
  const torch::Tensor rec = whh.t().contiguous();                 // [P, 4U]
  const torch::Tensor projection = proj ? whr.t().contiguous() : whr;  // [U, P]
  const torch::Tensor h0 = h0In.contiguous(), c0 = c0In.contiguous();
  PackedResult r;
  r.out = torch::empty({n, outSize}, opts);
  r.cs = torch::empty({n, units}, opts);
  r.gates = torch::empty({save ? n : batch, 4 * units}, opts);
  r.tcs = torch::empty({save ? n : batch, units}, opts);
  // with a projection the gate pass writes o * tanh(c) here, and the step's mm projects it into out
  if (proj) r.pre = torch::empty({save ? n : batch, units}, opts);
  for (int64_t t = 0; t < st.count(); t++) {
    const int64_t bs = st.sizes[t], off = st.offsets[t], prev = t > 0 ? st.offsets[t - 1] : 0;
    const int64_t gOff = save ? off : 0;
    // the previous step's states of this step's rows: a prefix of the previous step's rows
    torch::Tensor hPrev = t > 0 ? r.out.narrow(0, prev, bs) : h0.narrow(0, 0, bs);
    torch::Tensor g4 = r.gates.narrow(0, gOff, bs);
    StepMatmul(g4, hPrev, rec);
    const gate_kernels::LstmRows rows{r.gates.data_ptr<float>() + gOff * 4 * units, 4 * units, xw.data_ptr<float>() + off * 4 * units, 4 * units,
                                      t > 0 ? r.cs.data_ptr<float>() + prev * units : c0.data_ptr<float>(), units,
                                      r.cs.data_ptr<float>() + off * units, units, r.tcs.data_ptr<float>() + gOff * units, units,
                                      proj ? r.pre.data_ptr<float>() + gOff * units : r.out.data_ptr<float>() + off * units, units, units,
                                      act, recAct};
    SharedRows(bs, 16 * units, [&](int64_t b, int64_t e) { gate_kernels::LstmForward(rows, b, e); });
    if (proj) {
      torch::Tensor h = r.out.narrow(0, off, bs);
      StepMatmul(h, r.pre.narrow(0, gOff, bs), projection);
    }
  }
  const torch::Tensor last = st.LastRows();
  r.hN = r.out.index_select(0, last);
  r.cN = r.cs.index_select(0, last);
  return r;
}

}  // namespace

Result ForwardPostPadded(const PostPadded& p, const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0,
                         const torch::Tensor& kernel, const torch::Tensor& recurrent, const torch::Tensor& bias, int act, int recAct,
                         const torch::Tensor& seqOut) {
  const int64_t units = recurrent.size(1) / 4;
  torch::Tensor out = x.new_empty({0, units}), cs = out;
  if (!p.Empty()) {
    const PackedResult r = PackedLayerForward(p.Pack(x), PackedSteps(p.batchSizes), p.Sorted(h0), p.Sorted(c0), kernel.t(), recurrent.t(), bias,
                                              false, torch::Tensor(), act, recAct);
    out = r.out, cs = r.cs;
  }
  Result r;
  r.sequence = p.Sequence(out, h0, BufferOr(seqOut, {x.size(0), x.size(1), units}, x.options()));
  r.h = p.Last(out, h0);
  r.c = p.Last(cs, c0);
  return r;
}

Triple PackedReference(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                       const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr) {
  std::vector<torch::Tensor> params = ReferenceParams(wih, whh, bih, bhh);
  const bool hasBias = params.size() == 4;
  if (whr.defined()) params.push_back(whr);
  auto out = at::lstm(data, batchSizes, {h0.unsqueeze(0), c0.unsqueeze(0)}, params, hasBias, 1, 0.0, false, false);
  return {std::get<0>(out), std::get<1>(out).squeeze(0), std::get<2>(out).squeeze(0)};
}

Triple PackedForwardNoGrad(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                           const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh,
                           const torch::Tensor& whr) {
  if (!AllFloatCpu({&data, &h0, &c0, &wih, &whh}) || (whr.defined() && !AllFloatCpu({&whr}))) {
    return PackedReference(data, batchSizes, h0, c0, wih, whh, bih, bhh, whr);
  }
  const PackedSteps st(batchSizes);
  if (st.count() == 0) return PackedReference(data, batchSizes, h0, c0, wih, whh, bih, bhh, whr);
  const bool hasBias = bih.has_value() && bih->defined();
  PackedResult r = PackedLayerForward(data, st, h0, c0, wih, whh, hasBias ? *bih + *bhh : torch::Tensor(), false, whr);
  return {r.out, r.hN, r.cN};
}

variable_list PackedForwardSaving(AutogradContext* ctx, const torch::Tensor& batchSizes, const variable_list& in) {
  const torch::Tensor whr = in.size() > 7 ? in[7] : torch::Tensor();
  PackedResult r = PackedLayerForward(in[0], PackedSteps(batchSizes), in[1], in[2], in[3], in[4], in[5] + in[6], true, whr);
  variable_list saved(in);
  saved.push_back(r.out);
  ctx->save_for_backward(saved);
  ctx->saved_data["batchSizes"] = batchSizes;
  ctx->saved_data["gates"] = r.gates;
  ctx->saved_data["cs"] = r.cs;
  ctx->saved_data["tcs"] = r.tcs;
  if (whr.defined()) ctx->saved_data["pre"] = r.pre;
  return {r.out, r.hN, r.cN};
}

variable_list PackedBackwardSaved(AutogradContext* ctx, const variable_list& grads) {
  const variable_list s = ctx->get_saved_variables();
  const variable_list in(s.begin(), s.end() - 1);  // data, h0, c0, w_ih, w_hh, b_ih, b_hh[, w_hr]
  const torch::Tensor &data = in[0], &h0 = in[1], &c0 = in[2], &wih = in[3], &whh = in[4], &out = s.back();
  const torch::Tensor whr = in.size() > 7 ? in[7] : torch::Tensor();
  const torch::Tensor batchSizes = ctx->saved_data["batchSizes"].toTensor();
  if (torch::GradMode::is_enabled()) {
    auto ref = PackedReference(data, batchSizes, h0, c0, wih, whh, in[5], in[6], whr);
    variable_list g = ReferenceGrads(in, {std::get<0>(ref), std::get<1>(ref), std::get<2>(ref)}, grads);
    g.insert(g.begin() + 1, torch::Tensor());  // batch_sizes takes no gradient
    return g;
  }
  const torch::Tensor gates = ctx->saved_data["gates"].toTensor(), cs = ctx->saved_data["cs"].toTensor(), tcs = ctx->saved_data["tcs"].toTensor();
  const PackedSteps st(batchSizes);
  const torch::Tensor dOut = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(out);
  // each sequence's state gradient enters at its own last step: dh and dc start as dhN, dcN
  // and step t updates only its rows, a prefix
  torch::Tensor dh = grads[1].defined() ? grads[1].clone(at::MemoryFormat::Contiguous) : torch::zeros_like(h0, at::MemoryFormat::Contiguous);
  torch::Tensor dc = grads[2].defined() ? grads[2].clone(at::MemoryFormat::Contiguous) : torch::zeros_like(c0, at::MemoryFormat::Contiguous);
  torch::Tensor dz = torch::empty_like(gates);
  const torch::Tensor c0C = c0.contiguous();
  // With a projection the gate pass takes the gradient of o * tanh(c): the output's part for
  // all rows at once (dOutPre), the carried dh's per step through w_hr (dPre); each row's dh
  // is kept (dhs) for w_hr's gradient
  const bool proj = whr.defined();
  const torch::Tensor dOutPre = proj ? dOut.mm(whr) : dOut;
  torch::Tensor dhs = proj ? torch::empty({st.rows(), whr.size(0)}, dh.options()) : torch::Tensor();
  torch::Tensor dPre = proj ? torch::empty({st.sizes[0], whr.size(1)}, dh.options()) : torch::Tensor();
  for (int64_t t = st.count() - 1; t >= 0; t--) {
    const int64_t bs = st.sizes[t], off = st.offsets[t];
    torch::Tensor dzT = dz.narrow(0, off, bs), dhT = dh.narrow(0, 0, bs), dState = dhT;
    if (proj) {
      dhs.narrow(0, off, bs).copy_(dhT);
      dState = dPre.narrow(0, 0, bs);
      StepMatmul(dState, dhT, whr);
    }
    LstmStepBackward(kTanh, kSigmoid, StepRows{gates.narrow(0, off, bs), tcs.narrow(0, off, bs),
                                               t > 0 ? cs.narrow(0, st.offsets[t - 1], bs) : c0C.narrow(0, 0, bs), dOutPre.narrow(0, off, bs),
                                               dState, dc.narrow(0, 0, bs), dzT});
    at::mm_out(dhT, dzT, whh);
  }
  const torch::Tensor hPrev = st.PreviousStates(h0, out);
  auto want = [&](size_t k, const std::function<torch::Tensor()>& f) { return ctx->needs_input_grad(k) ? f() : torch::Tensor(); };
  const torch::Tensor dBias = ctx->needs_input_grad(6) || ctx->needs_input_grad(7) ? dz.sum(0) : torch::Tensor();
  variable_list g{want(0, [&] { return dz.mm(wih); }), torch::Tensor(), want(2, [&] { return dh; }), want(3, [&] { return dc; }),
                  want(4, [&] { return dz.t().mm(data); }), want(5, [&] { return dz.t().mm(hPrev); }),
                  want(6, [&] { return dBias; }), want(7, [&] { return dBias; })};
  // w_hr's gradient over all rows: Σ (dh + dOut)ᵀ (o * tanh(c))
  if (proj) g.push_back(want(8, [&] { return dhs.add_(dOut).t().mm(ctx->saved_data["pre"].toTensor()); }));
  return g;
}

namespace {

struct LstmPackedLayerBackward : public torch::autograd::Function<LstmPackedLayerBackward> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0,
                               const torch::Tensor& c0, const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bih,
                               const torch::Tensor& bhh) {
    return PackedForwardSaving(ctx, batchSizes, {data, h0, c0, wih, whh, bih, bhh});
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) { return PackedBackwardSaved(ctx, grads); }
};

// The operator's kernels: CPU (no autograd: inference) and Autograd.
Triple PackedNoGrad(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                    const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  return PackedForwardNoGrad(data, batchSizes, h0, c0, wih, whh, bih, bhh);
}
Triple PackedAutograd(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                      const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  return PackedAutogradWith<LstmPackedLayerBackward>(data, batchSizes, h0, c0, wih, whh, bih, bhh);
}

}  // namespace

c10::optional<std::vector<torch::Tensor>> ForwardPacked(const torch::nn::LSTM& m, const Packed& in, const torch::Tensor& h0In,
                                                        const torch::Tensor& c0In) {
  const auto& o = m->options;
  const std::vector<torch::Tensor> weights = m->all_weights();
  if (in.batchSizes.numel() == 0 || !Fusable(m->options_base, in.data, weights)) return c10::nullopt;
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchrnn::lstm_layer_packed", "").typed<
      Triple(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
             const torch::Tensor&, const OptTensor&, const OptTensor&)>();
  const bool proj = o.proj_size() != 0;
  const size_t per = weights.size() / (o.num_layers() * (o.bidirectional() ? 2 : 1));  // w_ih, w_hh[, b_ih, b_hh][, w_hr]
  const PackedSteps st(in.batchSizes);
  return StackPacked(m->options_base, m->is_training(), weights, in, st, {h0In, c0In},
                     [&](const torch::Tensor& x, int64_t k, const std::vector<torch::Tensor>& s0, const torch::Tensor& wih,
                         const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
                       auto r = proj ? ProjPackedLayer(x, in.batchSizes, s0[0], s0[1], wih, whh, bih, bhh, weights[(k + 1) * per - 1])
                                     : op.call(x, in.batchSizes, s0[0], s0[1], wih, whh, bih, bhh);
                       return LayerResult{std::get<0>(r), {std::get<1>(r), std::get<2>(r)}};
                     });
}

// Registered when the addon loads, as torchrnn::lstm_layer is (lstm.cc says why).
void RegisterPacked() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (c10::Dispatcher::singleton().findSchema({"torchrnn::lstm_layer_packed", ""}).has_value()) return;
    static torch::Library def(torch::Library::FRAGMENT, "torchrnn", c10::nullopt, __FILE__, __LINE__);
    def.def("lstm_layer_packed(Tensor data, Tensor batch_sizes, Tensor h0, Tensor c0, Tensor w_ih, Tensor w_hh, Tensor? b_ih, "
            "Tensor? b_hh) -> (Tensor, Tensor, Tensor)");
    static torch::Library cpu(torch::Library::IMPL, "torchrnn", c10::DispatchKey::CPU, __FILE__, __LINE__);
    cpu.impl("lstm_layer_packed", PackedNoGrad);
    static torch::Library autograd(torch::Library::IMPL, "torchrnn", c10::DispatchKey::Autograd, __FILE__, __LINE__);
    autograd.impl("lstm_layer_packed", PackedAutograd);
  });
}

}  // namespace lstm
}  // namespace fused
}  // namespace trnn
