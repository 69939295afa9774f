#include "rnn.h"

#include "../compat.h"

#include "fused/fused.h"

namespace trnn {

namespace rnnutils = torch::nn::utils::rnn;

static int64_t Int(const Napi::Object& o, const char* key) { return o.Get(key).As<Napi::Number>().Int64Value(); }
static bool Bool(const Napi::Object& o, const char* key) { return o.Get(key).As<Napi::Boolean>().Value(); }
static double Num(const Napi::Object& o, const char* key) { return o.Get(key).As<Napi::Number>().DoubleValue(); }

// Unbatched input (L, H_in) runs as a batch of one, as in Python 1.13: the batch dimension is
// added to the input (dim 0 if batchFirst, else 1) and to the states (dim 1), then removed.
struct Unbatch {
  bool active;
  int64_t batchDim;
  torch::Tensor in(const torch::Tensor& t, int64_t dim) const { return active && t.defined() ? t.unsqueeze(dim) : t; }
  torch::Tensor out(const torch::Tensor& t, int64_t dim) const { return active ? t.squeeze(dim) : t; }
};

// Packed sequences for `lengths`: pack (unsorted lengths allowed), run, pad back to the longest
// length, exactly as pack_padded_sequence(enforce_sorted=False) + module + pad_packed_sequence.
// forward args 4-6 (batch sizes, sorted, unsorted indices) are given for a PackedSequence.
static bool IsPacked(const Tensors& a) { return a.size() > 6 && a[4].defined(); }

// A fused layer's run on packed input (fused/lstm_packed.h): output data, then the states in the
// batch's own order; nullopt where it does not apply.
using PackedFused = std::function<c10::optional<Tensors>(const rnnutils::PackedSequence&)>;

template <typename M, typename State>
static Tensors RunRecurrent(M& m, bool batchFirst, const Tensors& a, State hx,
                            std::function<Tensors(const State&)> states, const PackedFused& fused = nullptr) {
  // output data and states for a packed input: the fused layer where it applies, else libtorch's
  auto runPacked = [&](const rnnutils::PackedSequence& p) {
    if (fused) {
      if (auto out = fused(p)) return *out;
    }
    compat::RecurrentAutocastGuard autocastGuard;
    auto result = m->forward_with_packed_input(p, hx);
    Tensors out{std::get<0>(result).data()};
    for (auto& s : states(std::get<1>(result))) out.push_back(s);
    return out;
  };
  if (IsPacked(a)) {
    // A PackedSequence from JS: data, batch sizes, sorted and unsorted indices (may be undefined).
    // The output stays packed, as in PyTorch; the state comes back in the batch's own order.
    return runPacked(rnnutils::PackedSequence(a[0], a[4], a[5], a[6]));
  }
  const torch::Tensor& lengths = a[3];
  if (lengths.defined()) {
    auto p = rnnutils::pack_padded_sequence(a[0], lengths.to(torch::kCPU).to(torch::kLong), batchFirst, false);
    Tensors out = runPacked(p);
    out[0] = std::get<0>(rnnutils::pad_packed_sequence(
        rnnutils::PackedSequence(out[0], p.batch_sizes(), p.sorted_indices(), p.unsorted_indices()), batchFirst));
    return out;
  }
  compat::RecurrentAutocastGuard autocastGuard;
  auto result = m->forward(a[0], hx);
  Tensors out{std::get<0>(result)};
  for (auto& s : states(std::get<1>(result))) out.push_back(s);
  return out;
}

// createRecurrent(kind, opts): kind 'rnn' | 'lstm' | 'gru'. forward args: [input, h0, c0, lengths]
// or, for a PackedSequence, [data, h0, c0, null, batchSizes, sortedIndices, unsortedIndices].
static Napi::Value CreateRecurrent(const Napi::CallbackInfo& info) {
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  Napi::Object o = info[1].As<Napi::Object>();
  int64_t in = Int(o, "inputSize"), hidden = Int(o, "hiddenSize"), layers = Int(o, "numLayers");
  bool bias = Bool(o, "bias"), batchFirst = Bool(o, "batchFirst"), bidi = Bool(o, "bidirectional");
  double dropout = Num(o, "dropout");
  // A 2-D input is unbatched, except a PackedSequence's data (args 4-6 given).
  auto unbatch = [batchFirst](const Tensors& a) {
    return Unbatch{!IsPacked(a) && a[0].dim() == 2, batchFirst ? 0 : 1};
  };

  if (kind == "lstm") {
    torch::nn::LSTM m(torch::nn::LSTMOptions(in, hidden).num_layers(layers).bias(bias).batch_first(batchFirst)
                          .dropout(dropout).bidirectional(bidi).proj_size(Int(o, "projSize")));
    ForwardFn fwd = [m, batchFirst, unbatch](const Tensors& a) mutable {
      Unbatch u = unbatch(a);
      Tensors args = a;
      args[0] = u.in(a[0], u.batchDim), args[1] = u.in(a[1], 1), args[2] = u.in(a[2], 1);
      torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hx;
      if (args[1].defined()) hx = std::make_tuple(args[1], args[2]);
      if (auto out = IsPacked(a) || a[3].defined() ? c10::nullopt : fused::lstm::Forward(m, args[0], args[1], args[2])) {
        return Tensors{u.out((*out)[0], u.batchDim), u.out((*out)[1], 1), u.out((*out)[2], 1)};
      }
      using S = std::tuple<torch::Tensor, torch::Tensor>;
      Tensors out = RunRecurrent<torch::nn::LSTM, torch::optional<S>>(
          m, batchFirst, args, hx, [](const torch::optional<S>& s) { return Tensors{std::get<0>(*s), std::get<1>(*s)}; },
          [&](const rnnutils::PackedSequence& p) {
            return fused::lstm::ForwardPacked(m, {p.data(), p.batch_sizes(), p.sorted_indices(), p.unsorted_indices()}, args[1], args[2]);
          });
      return Tensors{u.out(out[0], u.batchDim), u.out(out[1], 1), u.out(out[2], 1)};
    };
    return ModuleHandle::New(info.Env(), m.ptr(), fwd);
  }
  // GRU and RNN run the fused layers (fused/gru_rnn.h) where they apply
  auto run = [batchFirst, unbatch](auto& m, const Tensors& a, auto fused) {
    Unbatch u = unbatch(a);
    Tensors args = a;
    args[0] = u.in(a[0], u.batchDim), args[1] = u.in(a[1], 1), args[2] = torch::Tensor();
    if (auto out = IsPacked(a) || a[3].defined() ? c10::nullopt : fused(m, args[0], args[1])) {
      return Tensors{u.out((*out)[0], u.batchDim), u.out((*out)[1], 1)};
    }
    Tensors out = RunRecurrent<std::decay_t<decltype(m)>, torch::Tensor>(
        m, batchFirst, args, args[1], [](const torch::Tensor& h) { return Tensors{h}; });
    return Tensors{u.out(out[0], u.batchDim), u.out(out[1], 1)};
  };
  if (kind == "gru") {
    torch::nn::GRU m(torch::nn::GRUOptions(in, hidden).num_layers(layers).bias(bias).batch_first(batchFirst)
                         .dropout(dropout).bidirectional(bidi));
    return ModuleHandle::New(info.Env(), m.ptr(), [m, run](const Tensors& a) mutable { return run(m, a, fused::gru_rnn::Gru); });
  }
  torch::nn::RNNOptions ro(in, hidden);
  ro.num_layers(layers).bias(bias).batch_first(batchFirst).dropout(dropout).bidirectional(bidi);
  if (o.Get("nonlinearity").As<Napi::String>().Utf8Value() == "relu") ro.nonlinearity(torch::kReLU);
  else ro.nonlinearity(torch::kTanh);
  torch::nn::RNN m(ro);
  return ModuleHandle::New(info.Env(), m.ptr(), [m, run](const Tensors& a) mutable { return run(m, a, fused::gru_rnn::Rnn); });
}

// createCell(kind, opts): kind 'rnn' | 'lstm' | 'gru'. forward args: [input, h0, c0].
// Unbatched input (H_in) runs as a batch of one, as in Python.
static Napi::Value CreateCell(const Napi::CallbackInfo& info) {
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  Napi::Object o = info[1].As<Napi::Object>();
  int64_t in = Int(o, "inputSize"), hidden = Int(o, "hiddenSize");
  bool bias = Bool(o, "bias");
  auto unbatch = [](const torch::Tensor& x) { return Unbatch{x.dim() == 1, 0}; };
  if (kind == "lstm") {
    torch::nn::LSTMCell m(torch::nn::LSTMCellOptions(in, hidden).bias(bias));
    return ModuleHandle::New(info.Env(), m.ptr(), [m, unbatch](const Tensors& a) mutable {
      Unbatch u = unbatch(a[0]);
      torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hx;
      if (a[1].defined()) hx = std::make_tuple(u.in(a[1], 0), u.in(a[2], 0));
      auto r = m->forward(u.in(a[0], 0), hx);
      return Tensors{u.out(std::get<0>(r), 0), u.out(std::get<1>(r), 0)};
    });
  }
  if (kind == "gru") {
    torch::nn::GRUCell m(torch::nn::GRUCellOptions(in, hidden).bias(bias));
    return ModuleHandle::New(info.Env(), m.ptr(), [m, unbatch](const Tensors& a) mutable {
      Unbatch u = unbatch(a[0]);
      return Tensors{u.out(m->forward(u.in(a[0], 0), u.in(a[1], 0)), 0)};
    });
  }
  torch::nn::RNNCellOptions ro(in, hidden);
  ro.bias(bias);
  if (o.Get("nonlinearity").As<Napi::String>().Utf8Value() == "relu") ro.nonlinearity(torch::kReLU);
  else ro.nonlinearity(torch::kTanh);
  torch::nn::RNNCell m(ro);
  return ModuleHandle::New(info.Env(), m.ptr(), [m, unbatch](const Tensors& a) mutable {
    Unbatch u = unbatch(a[0]);
    return Tensors{u.out(m->forward(u.in(a[0], 0), u.in(a[1], 0)), 0)};
  });
}

// fusedRnnFlags() -> { enabled, kernels }: torch.backends.fusedRnn (kernels: the gate kernels'
// instruction set, "avx2+fma" or "baseline")
static Napi::Value FusedRnnFlags(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("enabled", fused::Enabled());
  o.Set("kernels", fused::KernelVariant());
  return o;
}

// setFusedRnnEnabled(on): in call order with the executor's jobs, like the cuDNN flags
static Napi::Value SetFusedRnnEnabled(const Napi::CallbackInfo& info) {
  fused::SetEnabled(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

void InitRnn(Napi::Env env, Napi::Object exports) {
  fused::Register();
  Export<FusedRnnFlags>(env, exports, "fusedRnnFlags");
  ExportOrdered<SetFusedRnnEnabled>(env, exports, "setFusedRnnEnabled");
  Export<CreateRecurrent>(env, exports, "createRecurrent");
  Export<CreateCell>(env, exports, "createCell");
}

}  // namespace trnn
