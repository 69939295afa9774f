#include "lstm_packed.h"

#include "common.h"
#include "gate_kernels.h"
#include "lstm.h"

namespace trnn {
namespace fused {
namespace lstm {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

using Triple = std::tuple<torch::Tensor, torch::Tensor, torch::Tensor>;

// Batch sizes (non-increasing) and the first packed row of each step.
struct Steps {
  std::vector<int64_t> sizes, offsets;
  explicit Steps(const torch::Tensor& batchSizes) {
    const torch::Tensor bs = batchSizes.to(torch::kCPU, torch::kLong).contiguous();
    const int64_t* p = bs.data_ptr<int64_t>();
    int64_t offset = 0;
    for (int64_t t = 0; t < bs.numel(); t++) {
      if (p[t] <= 0 || (t > 0 && p[t] > p[t - 1])) throw std::invalid_argument("batch sizes must be positive and non-increasing");
      sizes.push_back(p[t]), offsets.push_back(offset);
      offset += p[t];
    }
  }
  int64_t count() const { return static_cast<int64_t>(sizes.size()); }
  int64_t rows() const { return sizes.empty() ? 0 : offsets.back() + sizes.back(); }
  // Packed row of each sequence's last step (sequence b's last step is the last t with
  // sizes[t] > b): where hN and cN are read.
  torch::Tensor LastRows() const {
    std::vector<int64_t> idx(sizes.empty() ? 0 : sizes[0]);
    for (int64_t t = 0; t < count(); t++) {
      for (int64_t b = t + 1 < count() ? sizes[t + 1] : 0; b < sizes[t]; b++) idx[b] = offsets[t] + b;
    }
    return torch::tensor(idx, torch::kLong);
  }
  // For the reverse direction: the packed row of each row's time-reversed position, (t, b) <->
  // (L_b - 1 - t, b) with L_b sequence b's length. Reversing every sequence keeps the batch
  // sizes, and the map is its own inverse.
  torch::Tensor ReversedRows() const {
    std::vector<int64_t> length(sizes.empty() ? 0 : sizes[0]), idx(rows());
    for (int64_t t = 0; t < count(); t++) {
      for (int64_t b = 0; b < sizes[t]; b++) length[b] = t + 1;
    }
    for (int64_t t = 0; t < count(); t++) {
      for (int64_t b = 0; b < sizes[t]; b++) idx[offsets[t] + b] = offsets[length[b] - 1 - t] + b;
    }
    return torch::tensor(idx, torch::kLong);
  }
};

struct PackedResult {
  torch::Tensor out, hN, cN, gates, cs, tcs;
};

// One layer over packed rows. Saved for backward (save): gates [N, 4U] (activated), c and
// tanh(c) [N, U]; without save, scratch for one step.
PackedResult LayerForward(const torch::Tensor& data, const Steps& st, const torch::Tensor& h0In, const torch::Tensor& c0In,
                     const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bias, bool save) {
  const int64_t n = st.rows(), units = whh.size(1), batch = st.sizes[0];
  const auto opts = data.options();
  const torch::Tensor xw = InputProjection(data, wih.t(), bias);  // [N, 4U]
  const torch::Tensor rec = whh.t().contiguous();                                                  // [U, 4U]
  const torch::Tensor h0 = h0In.contiguous(), c0 = c0In.contiguous();
  PackedResult r;
  r.out = torch::empty({n, units}, opts);
  r.cs = torch::empty({n, units}, opts);
  r.gates = torch::empty({save ? n : batch, 4 * units}, opts);
  r.tcs = torch::empty({save ? n : batch, units}, opts);
  for (int64_t t = 0; t < st.count(); t++) {
    const int64_t bs = st.sizes[t], off = st.offsets[t], prev = t > 0 ? st.offsets[t - 1] : 0;
    const int64_t gOff = save ? off : 0;
    // the previous step's states of this step's rows: a prefix of the previous step's rows
    torch::Tensor hPrev = t > 0 ? r.out.narrow(0, prev, bs) : h0.narrow(0, 0, bs);
    torch::Tensor g4 = r.gates.narrow(0, gOff, bs);
    at::mm_out(g4, hPrev, rec);
    const gate_kernels::LstmRows rows{r.gates.data_ptr<float>() + gOff * 4 * units, 4 * units, xw.data_ptr<float>() + off * 4 * units, 4 * units,
                                      t > 0 ? r.cs.data_ptr<float>() + prev * units : c0.data_ptr<float>(), units,
                                      r.cs.data_ptr<float>() + off * units, units, r.tcs.data_ptr<float>() + gOff * units, units,
                                      r.out.data_ptr<float>() + off * units, units, units};
    at::parallel_for(0, bs, RowGrain(16 * units), [&](int64_t b, int64_t e) { gate_kernels::LstmForward(rows, b, e); });
  }
  const torch::Tensor last = st.LastRows();
  r.hN = r.out.index_select(0, last);
  r.cN = r.cs.index_select(0, last);
  return r;
}

Triple PackedReference(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                 const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  const std::vector<torch::Tensor> params = ReferenceParams(wih, whh, bih, bhh);
  auto out = at::lstm(data, batchSizes, {h0.unsqueeze(0), c0.unsqueeze(0)}, params, params.size() == 4, 1, 0.0, false, false);
  return {std::get<0>(out), std::get<1>(out).squeeze(0), std::get<2>(out).squeeze(0)};
}

Triple PackedNoGrad(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
              const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  if (!AllFloatCpu({&data, &h0, &c0, &wih, &whh})) return PackedReference(data, batchSizes, h0, c0, wih, whh, bih, bhh);
  const Steps st(batchSizes);
  if (st.count() == 0) return PackedReference(data, batchSizes, h0, c0, wih, whh, bih, bhh);
  const bool hasBias = bih.has_value() && bih->defined();
  PackedResult r = LayerForward(data, st, h0, c0, wih, whh, hasBias ? *bih + *bhh : torch::Tensor(), false);
  return {r.out, r.hN, r.cN};
}

struct LstmPackedLayerBackward : public torch::autograd::Function<LstmPackedLayerBackward> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0,
                               const torch::Tensor& c0, const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bih,
                               const torch::Tensor& bhh) {
    const Steps st(batchSizes);
    PackedResult r = LayerForward(data, st, h0, c0, wih, whh, bih + bhh, true);
    ctx->save_for_backward({data, h0, c0, wih, whh, bih, bhh, r.out});
    ctx->saved_data["batchSizes"] = batchSizes;
    ctx->saved_data["gates"] = r.gates;
    ctx->saved_data["cs"] = r.cs;
    ctx->saved_data["tcs"] = r.tcs;
    return {r.out, r.hN, r.cN};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list s = ctx->get_saved_variables();
    const torch::Tensor &data = s[0], &h0 = s[1], &c0 = s[2], &wih = s[3], &whh = s[4], &out = s[7];
    const torch::Tensor batchSizes = ctx->saved_data["batchSizes"].toTensor();
    if (torch::GradMode::is_enabled()) {
      auto ref = PackedReference(data, batchSizes, h0, c0, wih, whh, s[5], s[6]);
      variable_list g = ReferenceGrads({data, h0, c0, wih, whh, s[5], s[6]}, {std::get<0>(ref), std::get<1>(ref), std::get<2>(ref)}, grads);
      g.insert(g.begin() + 1, torch::Tensor());  // batch_sizes takes no gradient
      return g;
    }
    const torch::Tensor gates = ctx->saved_data["gates"].toTensor(), cs = ctx->saved_data["cs"].toTensor(), tcs = ctx->saved_data["tcs"].toTensor();
    const Steps st(batchSizes);
    const torch::Tensor dOut = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(out);
    // each sequence's state gradient enters at its own last step: dh and dc start as dhN, dcN
    // and step t updates only its rows, a prefix
    torch::Tensor dh = grads[1].defined() ? grads[1].clone(at::MemoryFormat::Contiguous) : torch::zeros_like(h0, at::MemoryFormat::Contiguous);
    torch::Tensor dc = grads[2].defined() ? grads[2].clone(at::MemoryFormat::Contiguous) : torch::zeros_like(c0, at::MemoryFormat::Contiguous);
    torch::Tensor dz = torch::empty_like(gates);
    const torch::Tensor c0C = c0.contiguous();
    for (int64_t t = st.count() - 1; t >= 0; t--) {
      const int64_t bs = st.sizes[t], off = st.offsets[t];
      torch::Tensor dzT = dz.narrow(0, off, bs), dhT = dh.narrow(0, 0, bs);
      LstmStepBackward(kTanh, kSigmoid, StepRows{gates.narrow(0, off, bs), tcs.narrow(0, off, bs),
                                                 t > 0 ? cs.narrow(0, st.offsets[t - 1], bs) : c0C.narrow(0, 0, bs), dOut.narrow(0, off, bs),
                                                 dhT, dc.narrow(0, 0, bs), dzT});
      at::mm_out(dhT, dzT, whh);
    }
    // each row's previous state: h0 for step 0, then the previous step's prefix
    std::vector<torch::Tensor> prev{h0.narrow(0, 0, st.sizes[0])};
    for (int64_t t = 1; t < st.count(); t++) prev.push_back(out.narrow(0, st.offsets[t - 1], st.sizes[t]));
    const torch::Tensor hPrev = torch::cat(prev, 0);
    auto want = [&](size_t k, const std::function<torch::Tensor()>& f) { return ctx->needs_input_grad(k) ? f() : torch::Tensor(); };
    const torch::Tensor dBias = ctx->needs_input_grad(6) || ctx->needs_input_grad(7) ? dz.sum(0) : torch::Tensor();
    return {want(0, [&] { return dz.mm(wih); }), torch::Tensor(), want(2, [&] { return dh; }), want(3, [&] { return dc; }),
            want(4, [&] { return dz.t().mm(data); }), want(5, [&] { return dz.t().mm(hPrev); }),
            want(6, [&] { return dBias; }), want(7, [&] { return dBias; })};
  }
};

Triple PackedAutograd(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  torch::Tensor bi = BiasOr(bih, wih), bh = BiasOr(bhh, wih);
  if (!NeedsGrad({&data, &h0, &c0, &wih, &whh, &bi, &bh})) {
    at::AutoDispatchBelowADInplaceOrView below;
    return PackedNoGrad(data, batchSizes, h0, c0, wih, whh, bih, bhh);
  }
  variable_list out = LstmPackedLayerBackward::apply(data, batchSizes, h0, c0, wih, whh, bi, bh);
  return {out[0], out[1], out[2]};
}

}  // namespace

c10::optional<std::vector<torch::Tensor>> ForwardPacked(const torch::nn::LSTM& m, const Packed& in, const torch::Tensor& h0In,
                                                        const torch::Tensor& c0In) {
  const auto& o = m->options;
  const std::vector<torch::Tensor> weights = m->all_weights();
  if (o.proj_size() != 0 || in.batchSizes.numel() == 0 || !Fusable(m->options_base, m->is_training(), in.data, weights)) return c10::nullopt;
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchrnn::lstm_layer_packed", "").typed<
      Triple(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
             const torch::Tensor&, const OptTensor&, const OptTensor&)>();
  const Steps st(in.batchSizes);
  // states in sorted order for the layer, as libtorch's packed forward permutes them
  auto sorted = [&](const torch::Tensor& s) {
    if (!s.defined()) return torch::zeros({o.num_layers() * (o.bidirectional() ? 2 : 1), st.sizes[0], o.hidden_size()}, in.data.options());
    return in.sortedIndices.defined() ? s.index_select(1, in.sortedIndices.to(s.device())) : s;
  };
  const torch::Tensor h0 = sorted(h0In), c0 = sorted(c0In);
  // the reverse direction runs the forward layer on every sequence reversed, then reverses back
  const torch::Tensor reversed = o.bidirectional() ? st.ReversedRows() : torch::Tensor();
  auto out = StackLayers(m->options_base, weights, in.data, 1, [&](const torch::Tensor& t) { return t.index_select(0, reversed); },
                         [&](const torch::Tensor& x, int64_t k, const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih,
                             const OptTensor& bhh) {
                           auto r = op.call(x, in.batchSizes, h0[k], c0[k], wih, whh, bih, bhh);
                           return LayerResult{std::get<0>(r), {std::get<1>(r), std::get<2>(r)}};
                         });
  // the states back in the batch's own order
  for (size_t i = 1; i < out.size(); i++) {
    if (in.unsortedIndices.defined()) out[i] = out[i].index_select(1, in.unsortedIndices.to(out[i].device()));
  }
  return out;
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
