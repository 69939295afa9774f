#include "lstm.h"

#include "../../compat.h"
#include "common.h"
#include "gate_kernels.h"

namespace trnn {
namespace fused {
namespace lstm {

// The LSTM's recurrence over preallocated buffers: per step one mm (the recurrent matrix
// row-major once per call: no transposed operand, no bias copy) and one vectorized pass over the
// rows (gate_kernels, any activations) that adds the input projection and does all the gate
// math. What backward needs is the buffers themselves (no per-step lists to stack). Saved: x,
// h0, c0, gates [T, B, 4U] (activated i, f, g, o), c [T, B, U], act(c) [T, B, U], sequence
// [B, T, U] (and the mask).
Result ForwardLstm(const torch::Tensor& x, const torch::Tensor& h0In, const torch::Tensor& c0In, const torch::Tensor& kernel,
                   const torch::Tensor& recurrent, const torch::Tensor& bias, int act, int recAct, bool save, const torch::Tensor& mask,
                   const torch::Tensor& seqOut) {
  const int64_t batch = x.size(0), steps = x.size(1), units = recurrent.size(0);
  if (!AllFloatCpu({&x, &h0In, &c0In, &kernel, &recurrent})) throw std::invalid_argument("the fused LSTM takes float32 CPU tensors");
  torch::Tensor xw = InputProjection(x.reshape({-1, x.size(2)}), kernel, bias).view({batch, steps, 4 * units});
  // Without `save` two slots are enough (step t reads t-1's c).
  const int64_t slots = save ? steps : std::min<int64_t>(steps, 2);
  auto opts = x.options();
  torch::Tensor gates = torch::empty({slots, batch, 4 * units}, opts);
  torch::Tensor cs = torch::empty({slots, batch, units}, opts);
  torch::Tensor tcs = torch::empty({slots, batch, units}, opts);
  torch::Tensor seq = BufferOr(seqOut, {batch, steps, units}, opts);
  const torch::Tensor h0 = h0In.contiguous(), c0 = c0In.contiguous();
  const torch::Tensor maskC = mask.defined() ? mask.contiguous() : mask;
  torch::Tensor h = h0, c = c0;
  const torch::Tensor rec = recurrent.contiguous();
  float *gBase = gates.data_ptr<float>(), *cBase = cs.data_ptr<float>(), *tcBase = tcs.data_ptr<float>(), *seqBase = seq.data_ptr<float>();
  const float* xwBase = xw.data_ptr<float>();
  const float *cPrev = c0.data_ptr<float>(), *hPrev = h0.data_ptr<float>();
  int64_t cPrevStride = units, hPrevStride = units, k = 0;
  const int64_t grain = RowGrain(16 * units);
  for (int64_t t = 0; t < steps; t++) {
    k = save ? t : t % 2;
    torch::Tensor g4 = gates.select(0, k);
    StepMatmul(g4, h, rec);
    gate_kernels::LstmRows rows{gBase + k * batch * 4 * units, 4 * units, xwBase + t * 4 * units, steps * 4 * units,
                                cPrev, cPrevStride, cBase + k * batch * units, units, tcBase + k * batch * units, units,
                                seqBase + t * units, steps * units, units, act, recAct};
    if (maskC.defined()) {
      rows.hPrev = hPrev, rows.hPrevStride = hPrevStride;
      rows.mask = maskC.data_ptr<float>() + t, rows.maskStride = steps;
    }
    at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) { gate_kernels::LstmForward(rows, begin, end); });
    h = seq.select(1, t);
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
    r.saved = {x, h0In, c0In, gates, cs, tcs, seq};
    if (maskC.defined()) r.saved.push_back(maskC);
  }
  return r;
}

// One step's gate gradients: gate_kernels::LstmBackward (vectorized) over the rows.
void LstmStepBackward(int act, int recAct, const StepRows& s) {
  const int64_t units = s.tc.size(1);
  gate_kernels::LstmGradRows rows{s.gates.data_ptr<float>(), s.gates.stride(0), s.tc.data_ptr<float>(), s.tc.stride(0),
                                  s.cPrev.data_ptr<float>(), s.cPrev.stride(0), s.dSeq.data_ptr<float>(), s.dSeq.stride(0),
                                  s.dh.data_ptr<float>(), s.dh.stride(0), s.dc.data_ptr<float>(), s.dc.stride(0),
                                  s.dz.data_ptr<float>(), s.dz.stride(0), units, act, recAct, s.mask, s.maskStride};
  at::parallel_for(0, s.tc.size(0), RowGrain(8 * units), [&](int64_t b, int64_t e) { gate_kernels::LstmBackward(rows, b, e); });
}

// Backpropagation through time for ForwardLstm, into preallocated gate gradients [T, B, 4U].
Grads BackwardLstm(const std::vector<torch::Tensor>& s, const torch::Tensor& kernel, const torch::Tensor& recurrent, bool hasBias,
                   int act, int recAct, const torch::Tensor& dSeq, const torch::Tensor& dH, const torch::Tensor& dC,
                   const torch::Tensor& dzOut) {
  const torch::Tensor &x = s.at(0), &h0 = s.at(1), &c0 = s.at(2), &gates = s.at(3), &cs = s.at(4), &tcs = s.at(5), &seq = s.at(6);
  const int64_t steps = gates.size(0), batch = gates.size(1), units = recurrent.size(0);
  for (const torch::Tensor* t : {&gates, &dSeq, &dH, &dC, &c0}) {
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat) throw std::invalid_argument("the fused LSTM gradient takes float32 CPU tensors");
  }
  torch::Tensor dz = BufferOr(dzOut, gates.sizes(), gates.options());
  torch::Tensor dh = dH.clone(at::MemoryFormat::Contiguous), dc = dC.clone(at::MemoryFormat::Contiguous);
  torch::Tensor dSeqC = dSeq.contiguous(), c0C = c0.contiguous();
  torch::Tensor recurrentT = recurrent.t();
  const torch::Tensor mask = s.size() > 7 ? s[7] : torch::Tensor();
  for (int64_t t = steps - 1; t >= 0; t--) {
    // Every gate gradient of step t in one pass (only arithmetic: the derivatives come from
    // the activated values), then dh for step t-1 as one matmul (added to the masked rows'
    // passed-through gradient when there is a mask).
    StepRows rows{gates[t], tcs[t], t > 0 ? cs[t - 1] : c0C, dSeqC.select(1, t), dh, dc, dz[t]};
    if (mask.defined()) rows.mask = mask.data_ptr<float>() + t, rows.maskStride = steps;
    LstmStepBackward(act, recAct, rows);
    if (mask.defined()) dh.addmm_(dz[t], recurrentT);
    else at::mm_out(dh, dz[t], recurrentT);
  }
  Grads out;
  torch::Tensor dzFlat = dz.view({steps * batch, 4 * units});  // time-major rows
  torch::Tensor xTime = x.transpose(0, 1).reshape({steps * batch, x.size(2)});
  out.dKernel = xTime.t().mm(dzFlat);
  if (hasBias) out.dBias = dzFlat.sum(0);
  out.dProjection = dz.transpose(0, 1);
  torch::Tensor hPrev = torch::cat({h0.unsqueeze(0), seq.narrow(1, 0, steps - 1).transpose(0, 1)}, 0).view({steps * batch, units});
  out.dRecurrent = hPrev.t().mm(dzFlat);
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

// libtorch's own at::lstm for one layer: differentiable, so the double-backward path
// recomputes with it (and non-float32 inputs, which the fused forward does not take, run it).
static std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> LayerReference(
    const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih, const torch::Tensor& whh,
    const c10::optional<torch::Tensor>& bih, const c10::optional<torch::Tensor>& bhh) {
  const std::vector<torch::Tensor> params = ReferenceParams(wih, whh, bih, bhh);
  auto out = at::lstm(x, {h0.unsqueeze(0), c0.unsqueeze(0)}, params, params.size() == 4, 1, 0.0, false, false, /*batch_first=*/true);
  return {std::get<0>(out), std::get<1>(out).squeeze(0), std::get<2>(out).squeeze(0)};
}

// Without autograd (no input needs a gradient, or grad mode is off: inference): the fused
// forward without saving anything, two steps' buffers reused.
static std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> LayerNoGrad(
    const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih, const torch::Tensor& whh,
    const c10::optional<torch::Tensor>& bih, const c10::optional<torch::Tensor>& bhh) {
  const bool hasBias = bih.has_value() && bih->defined();
  if (!AllFloatCpu({&x, &h0, &c0, &wih, &whh}) || x.size(1) == 0) return LayerReference(x, h0, c0, wih, whh, bih, bhh);
  Result r = ForwardLstm(x, h0, c0, wih.t(), whh.t(), hasBias ? *bih + *bhh : torch::Tensor(), kTanh, kSigmoid, false);
  return {r.sequence, r.h, r.c};
}

struct LstmLayerBackward : public torch::autograd::Function<LstmLayerBackward> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0,
                               const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bih, const torch::Tensor& bhh) {
    Result r = ForwardLstm(x, h0, c0, wih.t(), whh.t(), bih + bhh, kTanh, kSigmoid, true);
    // hT is the sequence's last step: its own tensor, not a view of another output
    torch::Tensor hT = r.h.is_alias_of(r.sequence) ? r.h.clone() : r.h;
    ctx->save_for_backward({x, h0, c0, wih, whh, bih, bhh, r.sequence});
    ctx->saved_data["gates"] = r.saved[3];
    ctx->saved_data["cs"] = r.saved[4];
    ctx->saved_data["tcs"] = r.saved[5];
    return {r.sequence, hT, r.c};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list s = ctx->get_saved_variables();
    const torch::Tensor &x = s[0], &h0 = s[1], &c0 = s[2], &wih = s[3], &whh = s[4], &seq = s[7];
    if (torch::GradMode::is_enabled()) return DoubleBackwardable(s, grads);
    torch::Tensor dSeq = grads[0].defined() ? grads[0] : torch::zeros_like(seq);
    torch::Tensor dH = grads[1].defined() ? grads[1] : torch::zeros_like(h0);
    torch::Tensor dC = grads[2].defined() ? grads[2] : torch::zeros_like(c0);
    std::vector<torch::Tensor> saved{x, h0, c0, ctx->saved_data["gates"].toTensor(), ctx->saved_data["cs"].toTensor(),
                                     ctx->saved_data["tcs"].toTensor(), seq};
    Grads g = BackwardLstm(saved, wih.t(), whh.t(), /*hasBias=*/true, kTanh, kSigmoid, dSeq, dH, dC);
    torch::Tensor dx = ctx->needs_input_grad(0) ? torch::matmul(g.dProjection, wih) : torch::Tensor();
    auto wanted = [&](size_t k, const torch::Tensor& grad) { return ctx->needs_input_grad(k) ? grad : torch::Tensor(); };
    return {dx, wanted(1, g.dh0), wanted(2, g.dc0), wanted(3, g.dKernel.t()), wanted(4, g.dRecurrent.t()), wanted(5, g.dBias),
            wanted(6, g.dBias)};
  }

  // backward(create_graph=True): gradients that are themselves differentiable, from libtorch's
  // own LSTM recomputed on the saved inputs (the fused backward is not differentiable).
  static variable_list DoubleBackwardable(const variable_list& s, const variable_list& grads) {
    std::vector<torch::Tensor> inputs(s.begin(), s.begin() + 7);
    auto layer = LayerReference(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5], inputs[6]);
    return ReferenceGrads(inputs, {std::get<0>(layer), std::get<1>(layer), std::get<2>(layer)}, grads);
  }
};

static std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> LayerAutograd(
    const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih, const torch::Tensor& whh,
    const c10::optional<torch::Tensor>& bih, const c10::optional<torch::Tensor>& bhh) {
  torch::Tensor bi = BiasOr(bih, wih), bh = BiasOr(bhh, wih);
  if (!NeedsGrad({&x, &h0, &c0, &wih, &whh, &bi, &bh})) {
    at::AutoDispatchBelowADInplaceOrView below;
    return LayerNoGrad(x, h0, c0, wih, whh, bih, bhh);
  }
  variable_list out = LstmLayerBackward::apply(x, h0, c0, wih, whh, bi, bh);
  return {out[0], out[1], out[2]};
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
  if (o.proj_size() != 0 || !Fusable(m->options_base, input, weights)) return c10::nullopt;
  if (input.dim() != 3 || input.size(o.batch_first() ? 1 : 0) == 0) return c10::nullopt;
  if (Auto() && compat::LstmRunsOnOneDnn()) {
    const int64_t batch = input.size(o.batch_first() ? 0 : 1);
    const bool grad = NeedsGrad({&input, &weights[0]});
    if (batch < (grad ? kLstmFusedMinBatchTraining : kLstmFusedMinBatchInference)) return c10::nullopt;
  }
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchrnn::lstm_layer", "").typed<
      std::tuple<torch::Tensor, torch::Tensor, torch::Tensor>(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                                              const torch::Tensor&, const OptTensor&, const OptTensor&)>();
  const int64_t states = o.num_layers() * (o.bidirectional() ? 2 : 1);
  torch::Tensor x = o.batch_first() ? input : input.transpose(0, 1);  // [B, T, I]
  torch::Tensor h0 = h0In.defined() ? h0In : torch::zeros({states, x.size(0), o.hidden_size()}, x.options());
  torch::Tensor c0 = c0In.defined() ? c0In : torch::zeros({states, x.size(0), o.hidden_size()}, x.options());
  // the reverse direction reads the sequence from its end; its output is put back in time order
  auto out = StackLayers(m->options_base, m->is_training(), weights, x, 2, [](const torch::Tensor& t) { return t.flip(1); },
                         [&](const torch::Tensor& xk, int64_t k, const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih,
                             const OptTensor& bhh) {
                           auto r = op.call(xk, h0[k], c0[k], wih, whh, bih, bhh);
                           return LayerResult{std::get<0>(r), {std::get<1>(r), std::get<2>(r)}};
                         });
  if (!o.batch_first()) out[0] = out[0].transpose(0, 1);
  return out;
}

}  // namespace lstm
}  // namespace fused
}  // namespace trnn
