#include "gru_rnn.h"

#include "common.h"
#include "row_helper.h"
#include "gate_kernels.h"

namespace trnn {
namespace fused {
namespace gru_rnn {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void GruStepBackward(const GruGradRows& s, int64_t rows) {
  const int64_t units = s.units;
  ForRows(rows, 16 * units, [&](int64_t r) {
    const float *gr = s.gates + r * s.gatesStride, *gz = gr + units, *gn = gz + units, *ghn = gn + units;
    const float *dSeqR = s.dSeq + r * s.dSeqStride, *hPrev = s.hPrev + r * s.hPrevStride;
    float *dhR = s.dh + r * s.dhStride, *dxR = s.dx + r * s.dStride, *dhgR = s.dhg + r * s.dStride;
    for (int64_t j = 0; j < units; j++) {
      const float g = dhR[j] + dSeqR[j];
      const float rj = gr[j], zj = gz[j], nj = gn[j];
      const float dn = FlushDenormal((g * (1.f - zj)) * (1.f - nj * nj));
      const float dr = FlushDenormal((dn * ghn[j]) * (rj * (1.f - rj)));
      const float dz = FlushDenormal((g * (hPrev[j] - nj)) * (zj * (1.f - zj)));
      dxR[j] = dr, dxR[units + j] = dz, dxR[2 * units + j] = dn;
      dhgR[j] = dr, dhgR[units + j] = dz, dhgR[2 * units + j] = FlushDenormal(dn * rj);
      dhR[j] = FlushDenormal(g * zj);
    }
  });
}

namespace {

// x·W_ihᵀ (+ bias) for every step: [B, T, G*U], contiguous
torch::Tensor Projection(const torch::Tensor& x, const torch::Tensor& wih, const torch::Tensor& bias) {
  return InputProjection(x.reshape({-1, x.size(2)}), wih.t(), bias).view({x.size(0), x.size(1), wih.size(0)});
}

// Each step's previous state, time-major rows [T * B, U]: h0, then the sequence but its last step.
torch::Tensor PreviousStates(const torch::Tensor& h0, const torch::Tensor& seq) {
  const int64_t steps = seq.size(1);
  return torch::cat({h0.unsqueeze(0), seq.narrow(1, 0, steps - 1).transpose(0, 1)}, 0).reshape({-1, seq.size(2)});
}

// What both layers' backward return besides their own per-step gradients: the gradients of the
// input and the weights from the gradients of the input projection dXG and of the recurrent
// projection dHG ([T, B, G*U] each; the same tensor for the Elman RNN), as one matmul each.
struct WeightGrads {
  torch::Tensor dx, dWih, dWhh, dBih, dBhh;
};
WeightGrads FromProjectionGrads(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& seq,
                                const torch::Tensor& wih, const torch::Tensor& dXG, const torch::Tensor& dHG) {
  const int64_t rows = dXG.size(0) * dXG.size(1);
  const torch::Tensor dX = dXG.reshape({rows, -1}), dH = dHG.reshape({rows, -1});
  WeightGrads g;
  if (ctx->needs_input_grad(0)) g.dx = torch::matmul(dXG.transpose(0, 1), wih);  // [B, T, I]
  if (ctx->needs_input_grad(2)) g.dWih = dX.t().mm(x.transpose(0, 1).reshape({rows, x.size(2)}));
  if (ctx->needs_input_grad(3)) g.dWhh = dH.t().mm(PreviousStates(h0, seq));
  if (ctx->needs_input_grad(4)) g.dBih = dX.sum(0);
  if (ctx->needs_input_grad(5)) g.dBhh = dH.sum(0);
  return g;
}

bool Defined(const c10::optional<torch::Tensor>& b) { return b.has_value() && b->defined(); }

using Pair = std::tuple<torch::Tensor, torch::Tensor>;

// ---- GRU

// x [B, T, I], h0 [B, U]: the sequence [B, T, U] and, with `save`, gates [T, B, 4U] (r, z, n, hn).
// seqOut (optional): the sequence's buffer (the halves of a split batch write into its rows).
std::pair<torch::Tensor, torch::Tensor> GruForward(const torch::Tensor& x, const torch::Tensor& h0In, const torch::Tensor& wih,
                                                   const torch::Tensor& whh, const torch::Tensor& bih, const torch::Tensor& bhh, bool save,
                                                   const torch::Tensor& seqOut = torch::Tensor()) {
  const int64_t batch = x.size(0), steps = x.size(1), units = whh.size(1);
  if (!save) {
    // inference: the two halves of the batch at once (SplitBatch, common.h)
    const torch::Tensor seq = BufferOr(seqOut, {batch, steps, units}, x.options());
    const bool split = SplitBatch(batch, batch * steps * 3 * units, batch * 3 * units * units, [&](int64_t, int64_t b, int64_t n) {
      GruForward(x.narrow(0, b, n), h0In.narrow(0, b, n), wih, whh, bih, bhh, false, seq.narrow(0, b, n));
    });
    if (split) return {seq, torch::Tensor()};
  }
  const torch::Tensor xg = Projection(x, wih, bih);
  const torch::Tensor whhT = whh.t().contiguous();  // [U, 3U]: the per-step mm without a transposed operand
  const torch::Tensor bhhC = bhh.defined() ? bhh.contiguous() : bhh;
  const torch::Tensor h0 = h0In.contiguous();
  torch::Tensor hg = torch::empty({batch, 3 * units}, x.options());
  torch::Tensor seq = BufferOr(seqOut, {batch, steps, units}, x.options());
  torch::Tensor gates = save ? torch::empty({steps, batch, 4 * units}, x.options()) : torch::Tensor();
  torch::Tensor h = h0;
  const float* hPrev = h0.data_ptr<float>();
  int64_t hPrevStride = h0.stride(0);
  for (int64_t t = 0; t < steps; t++) {
    StepMatmul(hg, h, whhT);
    const gate_kernels::GruRows rows{xg.data_ptr<float>() + t * 3 * units, steps * 3 * units, hg.data_ptr<float>(), 3 * units,
                                     bhhC.defined() ? bhhC.data_ptr<float>() : nullptr, hPrev, hPrevStride,
                                     seq.data_ptr<float>() + t * units, steps * units,
                                     save ? gates.data_ptr<float>() + t * batch * 4 * units : nullptr, 4 * units, units};
    SharedRows(batch, 16 * units, [&](int64_t b, int64_t e) { gate_kernels::GruForward(rows, b, e); });
    h = seq.select(1, t);
    hPrev = rows.h, hPrevStride = rows.hStride;
  }
  return {seq, gates};
}

Pair GruReference(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& wih, const torch::Tensor& whh,
                  const c10::optional<torch::Tensor>& bih, const c10::optional<torch::Tensor>& bhh) {
  const std::vector<torch::Tensor> params = ReferenceParams(wih, whh, bih, bhh);
  auto out = at::gru(x, h0.unsqueeze(0), params, params.size() == 4, 1, 0.0, false, false, /*batch_first=*/true);
  return {std::get<0>(out), std::get<1>(out).squeeze(0)};
}

Pair GruNoGrad(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& wih, const torch::Tensor& whh,
               const c10::optional<torch::Tensor>& bih, const c10::optional<torch::Tensor>& bhh) {
  if (!AllFloatCpu({&x, &h0, &wih, &whh}) || x.size(1) == 0) return GruReference(x, h0, wih, whh, bih, bhh);
  torch::Tensor seq = GruForward(x, h0, wih, whh, Defined(bih) ? *bih : torch::Tensor(), Defined(bhh) ? *bhh : torch::Tensor(), false).first;
  return {seq, seq.select(1, seq.size(1) - 1).contiguous()};
}

struct GruLayerBackward : public torch::autograd::Function<GruLayerBackward> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& wih,
                               const torch::Tensor& whh, const torch::Tensor& bih, const torch::Tensor& bhh) {
    auto [seq, gates] = GruForward(x, h0, wih, whh, bih, bhh, true);
    ctx->save_for_backward({x, h0, wih, whh, bih, bhh, seq});
    ctx->saved_data["gates"] = gates;
    return {seq, seq.select(1, seq.size(1) - 1).clone()};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list s = ctx->get_saved_variables();
    const torch::Tensor &x = s[0], &h0 = s[1], &wih = s[2], &whh = s[3], &seq = s[6];
    if (torch::GradMode::is_enabled()) {
      std::vector<torch::Tensor> inputs(s.begin(), s.begin() + 6);
      auto ref = GruReference(x, h0, wih, whh, s[4], s[5]);
      return ReferenceGrads(inputs, {std::get<0>(ref), std::get<1>(ref)}, grads);
    }
    const torch::Tensor gates = ctx->saved_data["gates"].toTensor();
    const int64_t steps = seq.size(1), batch = seq.size(0), units = seq.size(2);
    torch::Tensor dSeq = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(seq);
    torch::Tensor dh = grads[1].defined() ? grads[1].clone(at::MemoryFormat::Contiguous) : torch::zeros_like(h0, at::MemoryFormat::Contiguous);
    torch::Tensor dXG = torch::empty({steps, batch, 3 * units}, seq.options()), dHG = torch::empty_like(dXG);
    const torch::Tensor h0C = h0.contiguous();
    for (int64_t t = steps - 1; t >= 0; t--) {
      // every gate gradient of step t in one pass (the derivatives from the saved activations),
      // then dh for step t-1: its direct part (dh * z) plus one matmul through W_hh
      const float* hp = t > 0 ? seq.data_ptr<float>() + (t - 1) * units : h0C.data_ptr<float>();
      GruStepBackward(GruGradRows{gates.data_ptr<float>() + t * batch * 4 * units, 4 * units, hp, t > 0 ? steps * units : units,
                                  dSeq.data_ptr<float>() + t * units, steps * units, dh.data_ptr<float>(), units,
                                  dXG.data_ptr<float>() + t * batch * 3 * units, dHG.data_ptr<float>() + t * batch * 3 * units, 3 * units, units},
                      batch);
      dh.addmm_(dHG[t], whh);
    }
    WeightGrads w = FromProjectionGrads(ctx, x, h0, seq, wih, dXG, dHG);
    return {w.dx, ctx->needs_input_grad(1) ? dh : torch::Tensor(), w.dWih, w.dWhh, w.dBih, w.dBhh};
  }
};

Pair GruAutograd(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& wih, const torch::Tensor& whh,
                 const c10::optional<torch::Tensor>& bih, const c10::optional<torch::Tensor>& bhh) {
  torch::Tensor bi = BiasOr(bih, wih), bh = BiasOr(bhh, wih);
  if (!NeedsGrad({&x, &h0, &wih, &whh, &bi, &bh})) {
    at::AutoDispatchBelowADInplaceOrView below;
    return GruNoGrad(x, h0, wih, whh, bih, bhh);
  }
  variable_list out = GruLayerBackward::apply(x, h0, wih, whh, bi, bh);
  return {out[0], out[1]};
}

// ---- Elman RNN (tanh or relu)

// x [B, T, I], h0 [B, U] -> the sequence [B, T, U] (all backward needs besides the inputs).
// Inference (save false) splits the batch (SplitBatch), the halves writing into seqOut's rows.
torch::Tensor RnnForward(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& wih, const torch::Tensor& whh,
                         const torch::Tensor& bias, bool relu, bool save, const torch::Tensor& seqOut = torch::Tensor()) {
  const int64_t batch = x.size(0), steps = x.size(1), units = whh.size(1);
  if (!save) {
    const torch::Tensor seq = BufferOr(seqOut, {batch, steps, units}, x.options());
    const bool split = SplitBatch(batch, batch * steps * units, batch * units * units, [&](int64_t, int64_t b, int64_t n) {
      RnnForward(x.narrow(0, b, n), h0.narrow(0, b, n), wih, whh, bias, relu, false, seq.narrow(0, b, n));
    });
    if (split) return seq;
  }
  const torch::Tensor xw = Projection(x, wih, bias);
  const torch::Tensor whhT = whh.t().contiguous();  // [U, U]
  torch::Tensor hw = torch::empty({batch, units}, x.options());
  torch::Tensor seq = BufferOr(seqOut, {batch, steps, units}, x.options());
  torch::Tensor h = h0;
  for (int64_t t = 0; t < steps; t++) {
    StepMatmul(hw, h, whhT);
    const gate_kernels::RnnRows rows{hw.data_ptr<float>(), units, xw.data_ptr<float>() + t * units, steps * units,
                                     seq.data_ptr<float>() + t * units, steps * units, units, relu ? gate_kernels::kActRelu : gate_kernels::kActTanh};
    SharedRows(batch, 16 * units, [&](int64_t b, int64_t e) { gate_kernels::RnnForward(rows, b, e); });
    h = seq.select(1, t);
  }
  return seq;
}

Pair RnnReference(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& wih, const torch::Tensor& whh,
                  const c10::optional<torch::Tensor>& bih, const c10::optional<torch::Tensor>& bhh, bool relu) {
  const std::vector<torch::Tensor> params = ReferenceParams(wih, whh, bih, bhh);
  const torch::Tensor hx = h0.unsqueeze(0);
  const bool hasBias = params.size() == 4;
  auto out = relu ? at::rnn_relu(x, hx, params, hasBias, 1, 0.0, false, false, /*batch_first=*/true)
                  : at::rnn_tanh(x, hx, params, hasBias, 1, 0.0, false, false, /*batch_first=*/true);
  return {std::get<0>(out), std::get<1>(out).squeeze(0)};
}

Pair RnnNoGrad(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& wih, const torch::Tensor& whh,
               const c10::optional<torch::Tensor>& bih, const c10::optional<torch::Tensor>& bhh, bool relu) {
  if (!AllFloatCpu({&x, &h0, &wih, &whh}) || x.size(1) == 0) return RnnReference(x, h0, wih, whh, bih, bhh, relu);
  torch::Tensor seq = RnnForward(x, h0, wih, whh, Defined(bih) ? *bih + *bhh : torch::Tensor(), relu, false);
  return {seq, seq.select(1, seq.size(1) - 1).contiguous()};
}

struct RnnLayerBackward : public torch::autograd::Function<RnnLayerBackward> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& wih,
                               const torch::Tensor& whh, const torch::Tensor& bih, const torch::Tensor& bhh, bool relu) {
    torch::Tensor seq = RnnForward(x, h0, wih, whh, bih + bhh, relu, true);
    ctx->save_for_backward({x, h0, wih, whh, bih, bhh, seq});
    ctx->saved_data["relu"] = relu;
    return {seq, seq.select(1, seq.size(1) - 1).clone()};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list s = ctx->get_saved_variables();
    const torch::Tensor &x = s[0], &h0 = s[1], &wih = s[2], &whh = s[3], &seq = s[6];
    const bool relu = ctx->saved_data["relu"].toBool();
    variable_list result;
    if (torch::GradMode::is_enabled()) {
      std::vector<torch::Tensor> inputs(s.begin(), s.begin() + 6);
      auto ref = RnnReference(x, h0, wih, whh, s[4], s[5], relu);
      result = ReferenceGrads(inputs, {std::get<0>(ref), std::get<1>(ref)}, grads);
      result.emplace_back();  // `relu` takes no gradient
      return result;
    }
    const int64_t steps = seq.size(1), batch = seq.size(0), units = seq.size(2);
    torch::Tensor dSeq = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(seq);
    torch::Tensor dh = grads[1].defined() ? grads[1].clone(at::MemoryFormat::Contiguous) : torch::zeros_like(h0, at::MemoryFormat::Contiguous);
    torch::Tensor dZ = torch::empty({steps, batch, units}, seq.options());
    for (int64_t t = steps - 1; t >= 0; t--) {
      // dz = (dh + dSeq) * act'(h), from the activated h; then dh for step t-1 = dz · W_hh
      const float *hs = seq.data_ptr<float>() + t * units, *ds = dSeq.data_ptr<float>() + t * units, *dhp = dh.data_ptr<float>();
      float* dz = dZ.data_ptr<float>() + t * batch * units;
      ForRows(batch, 16 * units, [&](int64_t r) {
        const float *hR = hs + r * steps * units, *dsR = ds + r * steps * units, *dhR = dhp + r * units;
        float* dzR = dz + r * units;
        if (relu) {
          for (int64_t j = 0; j < units; j++) dzR[j] = hR[j] > 0.f ? FlushDenormal(dhR[j] + dsR[j]) : 0.f;
        } else {
          for (int64_t j = 0; j < units; j++) dzR[j] = FlushDenormal((dhR[j] + dsR[j]) * (1.f - hR[j] * hR[j]));
        }
      });
      at::mm_out(dh, dZ[t], whh);
    }
    WeightGrads w = FromProjectionGrads(ctx, x, h0, seq, wih, dZ, dZ);
    return {w.dx, ctx->needs_input_grad(1) ? dh : torch::Tensor(), w.dWih, w.dWhh, w.dBih, w.dBhh, torch::Tensor()};
  }
};

Pair RnnAutograd(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& wih, const torch::Tensor& whh,
                 const c10::optional<torch::Tensor>& bih, const c10::optional<torch::Tensor>& bhh, bool relu) {
  torch::Tensor bi = BiasOr(bih, wih), bh = BiasOr(bhh, wih);
  if (!NeedsGrad({&x, &h0, &wih, &whh, &bi, &bh})) {
    at::AutoDispatchBelowADInplaceOrView below;
    return RnnNoGrad(x, h0, wih, whh, bih, bhh, relu);
  }
  variable_list out = RnnLayerBackward::apply(x, h0, wih, whh, bi, bh, relu);
  return {out[0], out[1]};
}

// ---- modules

// nn.GRU / nn.RNN through their operator, `call(x, h0, w_ih, w_hh, b_ih, b_hh)` for one layer
// and direction (x [B, T, I] in processing order), stacked as libtorch stacks them (the
// reverse direction on the time-flipped sequence, its output put back in time order).
template <typename M, typename Call>
c10::optional<std::vector<torch::Tensor>> Run(const M& m, const torch::Tensor& input, const torch::Tensor& h0In, const Call& call) {
  const auto& o = m->options_base;
  const std::vector<torch::Tensor> weights = m->all_weights();
  if (!Fusable(o, input, weights)) return c10::nullopt;
  if (input.dim() != 3 || input.size(o.batch_first() ? 1 : 0) == 0) return c10::nullopt;
  torch::Tensor x = o.batch_first() ? input : input.transpose(0, 1);  // [B, T, I]
  const int64_t states = o.num_layers() * (o.bidirectional() ? 2 : 1);
  torch::Tensor h0 = h0In.defined() ? h0In : torch::zeros({states, x.size(0), o.hidden_size()}, x.options());
  auto out = StackLayers(o, m->is_training(), weights, x, 2, [](const torch::Tensor& t) { return t.flip(1); },
                                     [&](const torch::Tensor& xk, int64_t k, const torch::Tensor& wih, const torch::Tensor& whh,
                                         const OptTensor& bih, const OptTensor& bhh) {
                                       Pair r = call(xk, h0[k], wih, whh, bih, bhh);
                                       return LayerResult{std::get<0>(r), {std::get<1>(r)}};
                                     });
  if (!o.batch_first()) out[0] = out[0].transpose(0, 1);
  return out;
}

}  // namespace

c10::optional<std::vector<torch::Tensor>> Gru(const torch::nn::GRU& m, const torch::Tensor& input, const torch::Tensor& h0) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchrnn::gru_layer", "").typed<
      Pair(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const OptTensor&, const OptTensor&)>();
  return Run(m, input, h0, [&](const torch::Tensor& x, const torch::Tensor& h, const torch::Tensor& wih, const torch::Tensor& whh,
                               const OptTensor& bih, const OptTensor& bhh) { return op.call(x, h, wih, whh, bih, bhh); });
}

c10::optional<std::vector<torch::Tensor>> Rnn(const torch::nn::RNN& m, const torch::Tensor& input, const torch::Tensor& h0) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchrnn::rnn_layer", "").typed<
      Pair(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const OptTensor&, const OptTensor&, bool)>();
  const bool relu = torch::enumtype::get_enum_name(m->options.nonlinearity()) == std::string("kReLU");
  return Run(m, input, h0, [&](const torch::Tensor& x, const torch::Tensor& h, const torch::Tensor& wih, const torch::Tensor& whh,
                               const OptTensor& bih, const OptTensor& bhh) { return op.call(x, h, wih, whh, bih, bhh, relu); });
}

// Registered when the addon loads (InitRnn), as torchrnn::lstm_layer is (lstm.cc says why).
void Register() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (c10::Dispatcher::singleton().findSchema({"torchrnn::gru_layer", ""}).has_value()) return;
    static torch::Library def(torch::Library::FRAGMENT, "torchrnn", c10::nullopt, __FILE__, __LINE__);
    def.def("gru_layer(Tensor input, Tensor h0, Tensor w_ih, Tensor w_hh, Tensor? b_ih, Tensor? b_hh) -> (Tensor, Tensor)");
    def.def("rnn_layer(Tensor input, Tensor h0, Tensor w_ih, Tensor w_hh, Tensor? b_ih, Tensor? b_hh, bool relu) -> (Tensor, Tensor)");
    static torch::Library cpu(torch::Library::IMPL, "torchrnn", c10::DispatchKey::CPU, __FILE__, __LINE__);
    cpu.impl("gru_layer", GruNoGrad);
    cpu.impl("rnn_layer", RnnNoGrad);
    static torch::Library autograd(torch::Library::IMPL, "torchrnn", c10::DispatchKey::Autograd, __FILE__, __LINE__);
    autograd.impl("gru_layer", GruAutograd);
    autograd.impl("rnn_layer", RnnAutograd);
  });
}

}  // namespace gru_rnn
}  // namespace fused
}  // namespace trnn
