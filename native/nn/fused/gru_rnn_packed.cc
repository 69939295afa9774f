// nn.GRU and nn.RNN on packed sequences (gru_rnn.h's GruPacked / RnnPacked): the packed rows
// of lstm_packed.cc with the GRU and Elman steps of gru_rnn.cc. At step t only the first
// batch_sizes[t] rows of the sorted batch are active (sequences sorted by length, longest
// first), so a step is one mm and one gate pass over a prefix of rows: no mask.
#include "common.h"
#include "row_helper.h"
#include "gate_kernels.h"
#include "gru_rnn.h"

namespace trnn {
namespace fused {
namespace gru_rnn {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

using Pair = std::tuple<torch::Tensor, torch::Tensor>;

torch::Tensor BiasOrUndefined(const OptTensor& b) { return b.has_value() ? *b : torch::Tensor(); }

// The gradients of the input and the weights from the gradients of the input projection dX and
// of the recurrent one dH ([N, G*U] each; the same tensor for the Elman RNN), one matmul each.
// Inputs in the operators' order: data, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh.
variable_list PackedWeightGrads(AutogradContext* ctx, const PackedSteps& st, const torch::Tensor& data, const torch::Tensor& h0,
                          const torch::Tensor& out, const torch::Tensor& wih, const torch::Tensor& dX, const torch::Tensor& dH,
                          const torch::Tensor& dh0) {
  auto want = [&](size_t k, const std::function<torch::Tensor()>& f) { return ctx->needs_input_grad(k) ? f() : torch::Tensor(); };
  return {want(0, [&] { return dX.mm(wih); }), torch::Tensor(), want(2, [&] { return dh0; }),
          want(3, [&] { return dX.t().mm(data); }), want(4, [&] { return dH.t().mm(st.PreviousStates(h0, out)); }),
          want(5, [&] { return dX.sum(0); }), want(6, [&] { return dH.sum(0); })};
}

// ---- GRU

// One layer over packed rows: output [N, U] and, with `save`, gates [N, 4U] (r, z, n, hn).
std::pair<torch::Tensor, torch::Tensor> GruLayer(const torch::Tensor& data, const PackedSteps& st, const torch::Tensor& h0In,
                                                 const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bih,
                                                 const torch::Tensor& bhh, bool save) {
  const int64_t n = st.rows(), units = whh.size(1), batch = st.sizes[0];
  const torch::Tensor xg = InputProjection(data, wih.t(), bih);  // [N, 3U]
  const torch::Tensor whhT = whh.t().contiguous();               // [U, 3U]
  const torch::Tensor bhhC = bhh.defined() ? bhh.contiguous() : bhh;
  const torch::Tensor h0 = h0In.contiguous();
  torch::Tensor hg = torch::empty({batch, 3 * units}, data.options());
  torch::Tensor out = torch::empty({n, units}, data.options());
  torch::Tensor gates = save ? torch::empty({n, 4 * units}, data.options()) : torch::Tensor();
  for (int64_t t = 0; t < st.count(); t++) {
    const int64_t bs = st.sizes[t], off = st.offsets[t], prev = t > 0 ? st.offsets[t - 1] : 0;
    // the previous states of this step's rows: a prefix of the previous step's rows
    const torch::Tensor hPrev = t > 0 ? out.narrow(0, prev, bs) : h0.narrow(0, 0, bs);
    torch::Tensor hgT = hg.narrow(0, 0, bs);
    StepMatmul(hgT, hPrev, whhT);
    const gate_kernels::GruRows rows{xg.data_ptr<float>() + off * 3 * units, 3 * units, hg.data_ptr<float>(), 3 * units,
                                     bhhC.defined() ? bhhC.data_ptr<float>() : nullptr, hPrev.data_ptr<float>(), units,
                                     out.data_ptr<float>() + off * units, units,
                                     save ? gates.data_ptr<float>() + off * 4 * units : nullptr, 4 * units, units};
    SharedRows(bs, 16 * units, [&](int64_t b, int64_t e) { gate_kernels::GruForward(rows, b, e); });
  }
  return {out, gates};
}

Pair GruPackedReference(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& wih,
                        const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  const std::vector<torch::Tensor> params = ReferenceParams(wih, whh, bih, bhh);
  auto out = at::gru(data, batchSizes, h0.unsqueeze(0), params, params.size() == 4, 1, 0.0, false, false);
  return {std::get<0>(out), std::get<1>(out).squeeze(0)};
}

Pair GruPackedNoGrad(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& wih,
                     const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  if (!AllFloatCpu({&data, &h0, &wih, &whh}) || batchSizes.numel() == 0) return GruPackedReference(data, batchSizes, h0, wih, whh, bih, bhh);
  const PackedSteps st(batchSizes);
  torch::Tensor out = GruLayer(data, st, h0, wih, whh, BiasOrUndefined(bih), BiasOrUndefined(bhh), false).first;
  return {out, out.index_select(0, st.LastRows())};
}

struct GruPackedLayerBackward : public torch::autograd::Function<GruPackedLayerBackward> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0,
                               const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bih, const torch::Tensor& bhh) {
    const PackedSteps st(batchSizes);
    auto [out, gates] = GruLayer(data, st, h0, wih, whh, bih, bhh, true);
    ctx->save_for_backward({data, h0, wih, whh, bih, bhh, out});
    ctx->saved_data["batchSizes"] = batchSizes;
    ctx->saved_data["gates"] = gates;
    return {out, out.index_select(0, st.LastRows())};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list s = ctx->get_saved_variables();
    const torch::Tensor &data = s[0], &h0 = s[1], &wih = s[2], &whh = s[3], &out = s[6];
    const torch::Tensor batchSizes = ctx->saved_data["batchSizes"].toTensor();
    if (torch::GradMode::is_enabled()) {
      auto ref = GruPackedReference(data, batchSizes, h0, wih, whh, s[4], s[5]);
      variable_list g = ReferenceGrads({data, h0, wih, whh, s[4], s[5]}, {std::get<0>(ref), std::get<1>(ref)}, grads);
      g.insert(g.begin() + 1, torch::Tensor());  // batch_sizes takes no gradient
      return g;
    }
    const torch::Tensor gates = ctx->saved_data["gates"].toTensor();
    const PackedSteps st(batchSizes);
    const int64_t units = out.size(1);
    const torch::Tensor dOut = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(out);
    // each sequence's state gradient enters at its own last step: dh starts as dhN, and step t
    // updates only its rows, a prefix
    torch::Tensor dh = grads[1].defined() ? grads[1].clone(at::MemoryFormat::Contiguous) : torch::zeros_like(h0, at::MemoryFormat::Contiguous);
    torch::Tensor dXG = torch::empty({st.rows(), 3 * units}, out.options()), dHG = torch::empty_like(dXG);
    const torch::Tensor h0C = h0.contiguous();
    for (int64_t t = st.count() - 1; t >= 0; t--) {
      const int64_t bs = st.sizes[t], off = st.offsets[t];
      const float* hp = t > 0 ? out.data_ptr<float>() + st.offsets[t - 1] * units : h0C.data_ptr<float>();
      GruStepBackward(GruGradRows{gates.data_ptr<float>() + off * 4 * units, 4 * units, hp, units, dOut.data_ptr<float>() + off * units, units,
                                  dh.data_ptr<float>(), units, dXG.data_ptr<float>() + off * 3 * units, dHG.data_ptr<float>() + off * 3 * units,
                                  3 * units, units},
                      bs);
      dh.narrow(0, 0, bs).addmm_(dHG.narrow(0, off, bs), whh);
    }
    return PackedWeightGrads(ctx, st, data, h0, out, wih, dXG, dHG, dh);
  }
};

Pair GruPackedAutograd(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& wih,
                       const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  torch::Tensor bi = BiasOr(bih, wih), bh = BiasOr(bhh, wih);
  if (!NeedsGrad({&data, &h0, &wih, &whh, &bi, &bh})) {
    at::AutoDispatchBelowADInplaceOrView below;
    return GruPackedNoGrad(data, batchSizes, h0, wih, whh, bih, bhh);
  }
  variable_list out = GruPackedLayerBackward::apply(data, batchSizes, h0, wih, whh, bi, bh);
  return {out[0], out[1]};
}

// ---- Elman RNN (tanh or relu)

// One layer over packed rows: the output [N, U] (all backward needs besides the inputs).
int ActOf(bool relu) { return relu ? gate_kernels::kActRelu : gate_kernels::kActTanh; }

// act: the activation (gate_kernels' code: nn.RNN's tanh or relu, or any of tfjs's).
torch::Tensor RnnLayer(const torch::Tensor& data, const PackedSteps& st, const torch::Tensor& h0In, const torch::Tensor& wih,
                       const torch::Tensor& whh, const torch::Tensor& bias, int act) {
  const int64_t n = st.rows(), units = whh.size(1), batch = st.sizes[0];
  const torch::Tensor xw = InputProjection(data, wih.t(), bias);  // [N, U]
  const torch::Tensor whhT = whh.t().contiguous();                // [U, U]
  const torch::Tensor h0 = h0In.contiguous();
  torch::Tensor hw = torch::empty({batch, units}, data.options());
  torch::Tensor out = torch::empty({n, units}, data.options());
  for (int64_t t = 0; t < st.count(); t++) {
    const int64_t bs = st.sizes[t], off = st.offsets[t], prev = t > 0 ? st.offsets[t - 1] : 0;
    const torch::Tensor hPrev = t > 0 ? out.narrow(0, prev, bs) : h0.narrow(0, 0, bs);
    torch::Tensor hwT = hw.narrow(0, 0, bs);
    StepMatmul(hwT, hPrev, whhT);
    const gate_kernels::RnnRows rows{hw.data_ptr<float>(), units, xw.data_ptr<float>() + off * units, units,
                                     out.data_ptr<float>() + off * units, units, units, act};
    SharedRows(bs, 16 * units, [&](int64_t b, int64_t e) { gate_kernels::RnnForward(rows, b, e); });
  }
  return out;
}

Pair RnnPackedReference(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& wih,
                        const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, bool relu) {
  const std::vector<torch::Tensor> params = ReferenceParams(wih, whh, bih, bhh);
  const torch::Tensor hx = h0.unsqueeze(0);
  const bool hasBias = params.size() == 4;
  auto out = relu ? at::rnn_relu(data, batchSizes, hx, params, hasBias, 1, 0.0, false, false)
                  : at::rnn_tanh(data, batchSizes, hx, params, hasBias, 1, 0.0, false, false);
  return {std::get<0>(out), std::get<1>(out).squeeze(0)};
}

Pair RnnPackedNoGrad(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& wih,
                     const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, bool relu) {
  if (!AllFloatCpu({&data, &h0, &wih, &whh}) || batchSizes.numel() == 0) {
    return RnnPackedReference(data, batchSizes, h0, wih, whh, bih, bhh, relu);
  }
  const PackedSteps st(batchSizes);
  torch::Tensor out = RnnLayer(data, st, h0, wih, whh, bih.has_value() && bih->defined() ? *bih + *bhh : torch::Tensor(), ActOf(relu));
  return {out, out.index_select(0, st.LastRows())};
}

struct RnnPackedLayerBackward : public torch::autograd::Function<RnnPackedLayerBackward> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0,
                               const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bih, const torch::Tensor& bhh,
                               bool relu) {
    const PackedSteps st(batchSizes);
    torch::Tensor out = RnnLayer(data, st, h0, wih, whh, bih + bhh, ActOf(relu));
    ctx->save_for_backward({data, h0, wih, whh, bih, bhh, out});
    ctx->saved_data["batchSizes"] = batchSizes;
    ctx->saved_data["relu"] = relu;
    return {out, out.index_select(0, st.LastRows())};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list s = ctx->get_saved_variables();
    const torch::Tensor &data = s[0], &h0 = s[1], &wih = s[2], &whh = s[3], &out = s[6];
    const torch::Tensor batchSizes = ctx->saved_data["batchSizes"].toTensor();
    const bool relu = ctx->saved_data["relu"].toBool();
    if (torch::GradMode::is_enabled()) {
      auto ref = RnnPackedReference(data, batchSizes, h0, wih, whh, s[4], s[5], relu);
      variable_list g = ReferenceGrads({data, h0, wih, whh, s[4], s[5]}, {std::get<0>(ref), std::get<1>(ref)}, grads);
      g.insert(g.begin() + 1, torch::Tensor());  // batch_sizes takes no gradient
      g.emplace_back();                          // nor does `relu`
      return g;
    }
    const PackedSteps st(batchSizes);
    const int64_t units = out.size(1);
    const torch::Tensor dOut = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(out);
    torch::Tensor dh = grads[1].defined() ? grads[1].clone(at::MemoryFormat::Contiguous) : torch::zeros_like(h0, at::MemoryFormat::Contiguous);
    torch::Tensor dZ = torch::empty({st.rows(), units}, out.options());
    for (int64_t t = st.count() - 1; t >= 0; t--) {
      // dz = (dh + dOut) * act'(h) over the step's rows, then their dh for step t-1 = dz · W_hh;
      // the rows past the prefix keep their sequences' dhN until their own last step
      const int64_t bs = st.sizes[t], off = st.offsets[t];
      const gate_kernels::RnnGradRows rows{out.data_ptr<float>() + off * units, units, dOut.data_ptr<float>() + off * units, units,
                                           dh.data_ptr<float>(), units, dZ.data_ptr<float>() + off * units, units, units,
                                           relu ? gate_kernels::kActRelu : gate_kernels::kActTanh};
      SharedRows(bs, 16 * units, [&](int64_t b, int64_t e) { gate_kernels::RnnBackward(rows, b, e); });
      torch::Tensor dhT = dh.narrow(0, 0, bs);
      at::mm_out(dhT, dZ.narrow(0, off, bs), whh);
    }
    variable_list g = PackedWeightGrads(ctx, st, data, h0, out, wih, dZ, dZ, dh);
    g.emplace_back();
    return g;
  }
};

Pair RnnPackedAutograd(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& wih,
                       const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, bool relu) {
  torch::Tensor bi = BiasOr(bih, wih), bh = BiasOr(bhh, wih);
  if (!NeedsGrad({&data, &h0, &wih, &whh, &bi, &bh})) {
    at::AutoDispatchBelowADInplaceOrView below;
    return RnnPackedNoGrad(data, batchSizes, h0, wih, whh, bih, bhh, relu);
  }
  variable_list out = RnnPackedLayerBackward::apply(data, batchSizes, h0, wih, whh, bi, bh, relu);
  return {out[0], out[1]};
}

// nn.GRU / nn.RNN on a packed input through their operator, `call(data, batch_sizes, h0, w_ih,
// w_hh, b_ih, b_hh)` for one layer and direction, stacked by StackPacked.
template <typename M, typename Call>
c10::optional<std::vector<torch::Tensor>> RunPacked(const M& m, const Packed& in, const torch::Tensor& h0, const Call& call) {
  const auto& o = m->options_base;
  const std::vector<torch::Tensor> weights = m->all_weights();
  if (in.batchSizes.numel() == 0 || !Fusable(o, in.data, weights)) return c10::nullopt;
  const PackedSteps st(in.batchSizes);
  return StackPacked(o, m->is_training(), weights, in, st, {h0},
                     [&](const torch::Tensor& x, int64_t, const std::vector<torch::Tensor>& s0, const torch::Tensor& wih, const torch::Tensor& whh,
                         const OptTensor& bih, const OptTensor& bhh) {
                       Pair r = call(x, in.batchSizes, s0[0], wih, whh, bih, bhh);
                       return LayerResult{std::get<0>(r), {std::get<1>(r)}};
                     });
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> RnnPostPadded(const PostPadded& p, const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& kernel,
                                                      const torch::Tensor& recurrent, const torch::Tensor& bias, int act, const torch::Tensor& seqOut) {
  const int64_t units = recurrent.size(0);
  torch::Tensor out = p.Empty() ? x.new_empty({0, units}) : RnnLayer(p.Pack(x), PackedSteps(p.batchSizes), p.Sorted(h0), kernel.t(), recurrent.t(), bias, act);
  return {p.Sequence(out, h0, BufferOr(seqOut, {x.size(0), x.size(1), units}, x.options())), p.Last(out, h0)};
}

c10::optional<std::vector<torch::Tensor>> GruPacked(const torch::nn::GRU& m, const Packed& input, const torch::Tensor& h0) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchrnn::gru_layer_packed", "").typed<
      Pair(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const OptTensor&,
           const OptTensor&)>();
  return RunPacked(m, input, h0, [&](const torch::Tensor& x, const torch::Tensor& bs, const torch::Tensor& h, const torch::Tensor& wih,
                                     const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
    return op.call(x, bs, h, wih, whh, bih, bhh);
  });
}

c10::optional<std::vector<torch::Tensor>> RnnPacked(const torch::nn::RNN& m, const Packed& input, const torch::Tensor& h0) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchrnn::rnn_layer_packed", "").typed<
      Pair(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const OptTensor&,
           const OptTensor&, bool)>();
  const bool relu = torch::enumtype::get_enum_name(m->options.nonlinearity()) == std::string("kReLU");
  return RunPacked(m, input, h0, [&](const torch::Tensor& x, const torch::Tensor& bs, const torch::Tensor& h, const torch::Tensor& wih,
                                     const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
    return op.call(x, bs, h, wih, whh, bih, bhh, relu);
  });
}

// Registered when the addon loads, as torchrnn::lstm_layer is (lstm.cc says why).
void RegisterPacked() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (c10::Dispatcher::singleton().findSchema({"torchrnn::gru_layer_packed", ""}).has_value()) return;
    static torch::Library def(torch::Library::FRAGMENT, "torchrnn", c10::nullopt, __FILE__, __LINE__);
    def.def("gru_layer_packed(Tensor data, Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, Tensor? b_ih, Tensor? b_hh) "
            "-> (Tensor, Tensor)");
    def.def("rnn_layer_packed(Tensor data, Tensor batch_sizes, Tensor h0, Tensor w_ih, Tensor w_hh, Tensor? b_ih, Tensor? b_hh, "
            "bool relu) -> (Tensor, Tensor)");
    static torch::Library cpu(torch::Library::IMPL, "torchrnn", c10::DispatchKey::CPU, __FILE__, __LINE__);
    cpu.impl("gru_layer_packed", GruPackedNoGrad);
    cpu.impl("rnn_layer_packed", RnnPackedNoGrad);
    static torch::Library autograd(torch::Library::IMPL, "torchrnn", c10::DispatchKey::Autograd, __FILE__, __LINE__);
    autograd.impl("gru_layer_packed", GruPackedAutograd);
    autograd.impl("rnn_layer_packed", RnnPackedAutograd);
  });
}

}  // namespace gru_rnn
}  // namespace fused
}  // namespace trnn
