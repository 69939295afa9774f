#include "rnn.h"

#include "../compat.h"
#include "../executor.h"
#include "../tensor.h"

#include "fused/fused.h"
#include "fused/row_helper.h"

#include <torch/csrc/jit/frontend/tracer.h>

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

// A recurrent module's forward arguments, read from lib's object
// { input, h0, c0, lengths, packed: { data, batchSizes, sortedIndices, unsortedIndices } | null }
// (undefined tensors where not given). `lengths` runs a padded batch as packed sequences: pack
// (unsorted lengths allowed), run, pad back to the longest length, exactly as
// pack_padded_sequence(enforce_sorted=False) + module + pad_packed_sequence. `packed` is a
// PackedSequence (then `input` is not given): the output stays packed, as in PyTorch.
struct RecurrentArgs {
  struct Packed {
    torch::Tensor data, batchSizes, sortedIndices, unsortedIndices;  // the indices may be undefined
  };
  torch::Tensor input, h0, c0, lengths;
  c10::optional<Packed> packed;

  static RecurrentArgs Read(const Napi::Value& v) {
    Napi::Object o = v.As<Napi::Object>();
    auto tensor = [](const Napi::Object& from, const char* k) {
      Napi::Value v = from.Get(k);
      return v.IsNull() || v.IsUndefined() ? torch::Tensor() : TensorHandle::Get(v);
    };
    RecurrentArgs a{tensor(o, "input"), tensor(o, "h0"), tensor(o, "c0"), tensor(o, "lengths"), c10::nullopt};
    if (o.Get("packed").IsObject()) {
      Napi::Object p = o.Get("packed").As<Napi::Object>();
      a.packed = Packed{tensor(p, "data"), tensor(p, "batchSizes"), tensor(p, "sortedIndices"), tensor(p, "unsortedIndices")};
    }
    return a;
  }
};

// pack_padded_sequence(enforce_sorted=False), except that the inverse permutation is argsort's:
// libtorch's scatters arange(batch) into it, which a traced graph (jit.save) keeps as a constant,
// and the exported module then fails on larger batches.
static rnnutils::PackedSequence PackUnsorted(const torch::Tensor& input, const torch::Tensor& lengths, bool batchFirst) {
  auto [sortedLengths, sortedIndices] = torch::sort(lengths, /*dim=*/-1, /*descending=*/true);
  sortedIndices = sortedIndices.to(input.device());
  auto [data, batchSizes] = torch::_pack_padded_sequence(input.index_select(batchFirst ? 0 : 1, sortedIndices), sortedLengths, batchFirst);
  return rnnutils::PackedSequence(data, batchSizes, sortedIndices, sortedIndices.argsort());
}

// A fused layer's run on packed input (fused/lstm_packed.h, gru_rnn.h): output data, then the states in the
// batch's own order; nullopt where it does not apply.
using PackedFused = std::function<c10::optional<Tensors>(const rnnutils::PackedSequence&)>;

template <typename M, typename State>
static Tensors RunRecurrent(M& m, bool batchFirst, const RecurrentArgs& a, State hx,
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
  if (a.packed) {
    // The state comes back in the batch's own order.
    return runPacked(rnnutils::PackedSequence(a.packed->data, a.packed->batchSizes, a.packed->sortedIndices, a.packed->unsortedIndices));
  }
  if (a.lengths.defined()) {
    auto p = PackUnsorted(a.input, a.lengths.to(torch::kCPU).to(torch::kLong), batchFirst);
    Tensors out = runPacked(p);
    out[0] = std::get<0>(rnnutils::pad_packed_sequence(
        rnnutils::PackedSequence(out[0], p.batch_sizes(), p.sorted_indices(), p.unsorted_indices()), batchFirst));
    return out;
  }
  compat::RecurrentAutocastGuard autocastGuard;
  auto result = m->forward(a.input, hx);
  Tensors out{std::get<0>(result)};
  for (auto& s : states(std::get<1>(result))) out.push_back(s);
  return out;
}

// The options createRecurrent and createCell take (lib/nn/rnn.ts validated and defaulted them).
struct RecurrentOptions {
  int64_t inputSize, hiddenSize, numLayers, projSize;
  bool bias, batchFirst, bidirectional, relu;
  double dropout;
  static RecurrentOptions Read(const Napi::Object& o) {
    auto has = [&](const char* k) { return o.Has(k) && !o.Get(k).IsUndefined(); };
    RecurrentOptions r{};
    r.inputSize = Int(o, "inputSize"), r.hiddenSize = Int(o, "hiddenSize"), r.bias = Bool(o, "bias");
    r.numLayers = has("numLayers") ? Int(o, "numLayers") : 1;
    r.projSize = has("projSize") ? Int(o, "projSize") : 0;
    r.batchFirst = has("batchFirst") && Bool(o, "batchFirst");
    r.bidirectional = has("bidirectional") && Bool(o, "bidirectional");
    r.dropout = has("dropout") ? Num(o, "dropout") : 0;
    r.relu = has("nonlinearity") && o.Get("nonlinearity").As<Napi::String>().Utf8Value() == "relu";
    return r;
  }
};

// The unbatched (2-D) input of a module's forward runs as a batch of one; a PackedSequence's
// data is 2-D and batched.
static Unbatch UnbatchOf(const RecurrentArgs& a, bool batchFirst) {
  return Unbatch{!a.packed && a.input.dim() == 2, batchFirst ? 0 : 1};
}

// Under the tracer, the zero initial state libtorch's module would make itself
// (torch::zeros({rows, batch, size})) is made from the input's own batch instead: the graph
// then reads the batch size from its input, where the module would fix it as a constant and
// the graph would be wrong for any other batch size (TorchScript export, jit.save). A packed
// sequence given as such keeps libtorch's state (its batch is not a size of a tensor).
static torch::Tensor TracedZeroState(const RecurrentArgs& a, bool batchFirst, int64_t rows, int64_t size) {
  if (!torch::jit::tracer::isTracing() || a.packed) return torch::Tensor();
  auto firstStep = a.input.select(batchFirst ? 1 : 0, 0);  // [B, I]
  return torch::zeros_like(firstStep.narrow(1, 0, 1)).unsqueeze(0).expand({rows, -1, size}).contiguous();
}

static Tensors LstmForward(const std::shared_ptr<torch::nn::Module>& p, const RecurrentArgs& a) {
  torch::nn::LSTM m(std::dynamic_pointer_cast<torch::nn::LSTMImpl>(p));
  const bool batchFirst = m->options.batch_first();
  Unbatch u = UnbatchOf(a, batchFirst);
  RecurrentArgs args = a;
  args.input = u.in(a.input, u.batchDim), args.h0 = u.in(a.h0, 1), args.c0 = u.in(a.c0, 1);
  torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hx;
  if (args.h0.defined()) hx = std::make_tuple(args.h0, args.c0);
  if (auto out = a.packed || a.lengths.defined() ? c10::nullopt : fused::lstm::Forward(m, args.input, args.h0, args.c0)) {
    return Tensors{u.out((*out)[0], u.batchDim), u.out((*out)[1], 1), u.out((*out)[2], 1)};
  }
  if (!args.h0.defined()) {
    const auto& o = m->options;
    int64_t rows = o.num_layers() * (o.bidirectional() ? 2 : 1);
    args.h0 = TracedZeroState(args, batchFirst, rows, o.proj_size() > 0 ? o.proj_size() : o.hidden_size());
    args.c0 = TracedZeroState(args, batchFirst, rows, o.hidden_size());
    if (args.h0.defined()) hx = std::make_tuple(args.h0, args.c0);
  }
  using S = std::tuple<torch::Tensor, torch::Tensor>;
  Tensors out = RunRecurrent<torch::nn::LSTM, torch::optional<S>>(
      m, batchFirst, args, hx, [](const torch::optional<S>& s) { return Tensors{std::get<0>(*s), std::get<1>(*s)}; },
      [&](const rnnutils::PackedSequence& p) {
        return fused::lstm::ForwardPacked(m, {p.data(), p.batch_sizes(), p.sorted_indices(), p.unsorted_indices()}, args.h0, args.c0);
      });
  return Tensors{u.out(out[0], u.batchDim), u.out(out[1], 1), u.out(out[2], 1)};
}

// GRU and RNN run the fused layers (fused/gru_rnn.h; padded, lengths or packed) where they apply
template <typename M, typename Fused, typename FusedPacked>
static Tensors GruRnnForward(M m, const RecurrentArgs& a, Fused fused, FusedPacked fusedPacked) {
  const bool batchFirst = m->options.batch_first();
  Unbatch u = UnbatchOf(a, batchFirst);
  RecurrentArgs args = a;
  args.input = u.in(a.input, u.batchDim), args.h0 = u.in(a.h0, 1), args.c0 = torch::Tensor();
  if (auto out = a.packed || a.lengths.defined() ? c10::nullopt : fused(m, args.input, args.h0)) {
    return Tensors{u.out((*out)[0], u.batchDim), u.out((*out)[1], 1)};
  }
  if (!args.h0.defined()) {
    const auto& o = m->options;
    args.h0 = TracedZeroState(args, batchFirst, o.num_layers() * (o.bidirectional() ? 2 : 1), o.hidden_size());
  }
  Tensors out = RunRecurrent<M, torch::Tensor>(
      m, batchFirst, args, args.h0, [](const torch::Tensor& h) { return Tensors{h}; },
      [&](const rnnutils::PackedSequence& p) { return fusedPacked(m, {p.data(), p.batch_sizes(), p.sorted_indices(), p.unsorted_indices()}, args.h0); });
  return Tensors{u.out(out[0], u.batchDim), u.out(out[1], 1)};
}

// Cells: forward [input, h0, c0]; unbatched input (H_in) runs as a batch of one, as in Python.
static Unbatch CellUnbatch(const torch::Tensor& x) { return Unbatch{x.dim() == 1, 0}; }
template <typename Cell>
static ForwardFn SingleStateCell(Cell m) {
  return [m](const Tensors& a) mutable {
    Unbatch u = CellUnbatch(a[0]);
    return Tensors{u.out(m->forward(u.in(a[0], 0), u.in(a[1], 0)), 0)};
  };
}

// ---- The recurrent kinds ('rnn' | 'lstm' | 'gru', lib/binding.ts's RecurrentKind): one entry each.
struct RecurrentKind {
  const char* name;
  // nn.RNN / nn.LSTM / nn.GRU, and its forward (RecurrentArgs; outputs: output, h[, c])
  std::shared_ptr<torch::nn::Module> (*create)(const RecurrentOptions& o);
  Tensors (*forward)(const std::shared_ptr<torch::nn::Module>& m, const RecurrentArgs& a);
  bool (*is)(const torch::nn::Module& m);  // whether m is this kind's module
  // nn.RNNCell / nn.LSTMCell / nn.GRUCell and its forward
  std::pair<std::shared_ptr<torch::nn::Module>, ForwardFn> (*createCell)(const RecurrentOptions& o);
};

template <typename Impl>
static bool IsModule(const torch::nn::Module& m) { return dynamic_cast<const Impl*>(&m) != nullptr; }

static const RecurrentKind kRecurrentKinds[] = {
    {"lstm",
     [](const RecurrentOptions& o) -> std::shared_ptr<torch::nn::Module> {
       return torch::nn::LSTM(torch::nn::LSTMOptions(o.inputSize, o.hiddenSize).num_layers(o.numLayers).bias(o.bias).batch_first(o.batchFirst)
                                  .dropout(o.dropout).bidirectional(o.bidirectional).proj_size(o.projSize)).ptr();
     },
     LstmForward, IsModule<torch::nn::LSTMImpl>,
     [](const RecurrentOptions& o) -> std::pair<std::shared_ptr<torch::nn::Module>, ForwardFn> {
       torch::nn::LSTMCell m(torch::nn::LSTMCellOptions(o.inputSize, o.hiddenSize).bias(o.bias));
       return {m.ptr(), [m](const Tensors& a) mutable {
                 Unbatch u = CellUnbatch(a[0]);
                 torch::optional<std::tuple<torch::Tensor, torch::Tensor>> hx;
                 if (a[1].defined()) hx = std::make_tuple(u.in(a[1], 0), u.in(a[2], 0));
                 auto r = m->forward(u.in(a[0], 0), hx);
                 return Tensors{u.out(std::get<0>(r), 0), u.out(std::get<1>(r), 0)};
               }};
     }},
    {"gru",
     [](const RecurrentOptions& o) -> std::shared_ptr<torch::nn::Module> {
       return torch::nn::GRU(torch::nn::GRUOptions(o.inputSize, o.hiddenSize).num_layers(o.numLayers).bias(o.bias).batch_first(o.batchFirst)
                                 .dropout(o.dropout).bidirectional(o.bidirectional)).ptr();
     },
     [](const std::shared_ptr<torch::nn::Module>& p, const RecurrentArgs& a) {
       return GruRnnForward(torch::nn::GRU(std::dynamic_pointer_cast<torch::nn::GRUImpl>(p)), a, fused::gru_rnn::Gru, fused::gru_rnn::GruPacked);
     },
     IsModule<torch::nn::GRUImpl>,
     [](const RecurrentOptions& o) -> std::pair<std::shared_ptr<torch::nn::Module>, ForwardFn> {
       torch::nn::GRUCell m(torch::nn::GRUCellOptions(o.inputSize, o.hiddenSize).bias(o.bias));
       return {m.ptr(), SingleStateCell(m)};
     }},
    {"rnn",
     [](const RecurrentOptions& o) -> std::shared_ptr<torch::nn::Module> {
       torch::nn::RNNOptions ro(o.inputSize, o.hiddenSize);
       ro.num_layers(o.numLayers).bias(o.bias).batch_first(o.batchFirst).dropout(o.dropout).bidirectional(o.bidirectional);
       if (o.relu) ro.nonlinearity(torch::kReLU);
       else ro.nonlinearity(torch::kTanh);
       return torch::nn::RNN(ro).ptr();
     },
     [](const std::shared_ptr<torch::nn::Module>& p, const RecurrentArgs& a) {
       return GruRnnForward(torch::nn::RNN(std::dynamic_pointer_cast<torch::nn::RNNImpl>(p)), a, fused::gru_rnn::Rnn, fused::gru_rnn::RnnPacked);
     },
     IsModule<torch::nn::RNNImpl>,
     [](const RecurrentOptions& o) -> std::pair<std::shared_ptr<torch::nn::Module>, ForwardFn> {
       torch::nn::RNNCellOptions ro(o.inputSize, o.hiddenSize);
       ro.bias(o.bias);
       if (o.relu) ro.nonlinearity(torch::kReLU);
       else ro.nonlinearity(torch::kTanh);
       torch::nn::RNNCell m(ro);
       return {m.ptr(), SingleStateCell(m)};
     }},
};

static const RecurrentKind& FindRecurrentKind(const std::string& name) {
  for (const RecurrentKind& k : kRecurrentKinds) {
    if (name == k.name) return k;
  }
  throw std::invalid_argument("unknown recurrent kind '" + name + "'");
}

static const RecurrentKind& RecurrentKindOf(const torch::nn::Module& m) {
  for (const RecurrentKind& k : kRecurrentKinds) {
    if (k.is(m)) return k;
  }
  throw std::invalid_argument("not a recurrent module (RNN, LSTM or GRU)");
}

// createRecurrent(kind, opts). Its handle's forward is recurrentForward; the generic
// moduleForward takes [input, h0, c0].
static Napi::Value CreateRecurrent(const Napi::CallbackInfo& info) {
  const std::string kindName = info[0].As<Napi::String>().Utf8Value();  // named: GCC 14 took the reference for a dangling one
  const RecurrentKind& kind = FindRecurrentKind(kindName);
  std::shared_ptr<torch::nn::Module> m = kind.create(RecurrentOptions::Read(info[1].As<Napi::Object>()));
  auto forward = kind.forward;
  return ModuleHandle::New(info.Env(), m, [m, forward](const Tensors& a) {
    RecurrentArgs r;
    r.input = a.at(0);
    if (a.size() > 1) r.h0 = a[1];
    if (a.size() > 2) r.c0 = a[2];
    return forward(m, r);
  });
}

// recurrentForward(m, args) -> [output, h, c?] (args: RecurrentArgs)
static Napi::Value RecurrentForward(const Napi::CallbackInfo& info) {
  ModuleHandle* h = ModuleHandle::Get(info[0]);
  const RecurrentKind& kind = RecurrentKindOf(*h->module);
  return TensorsTo(info.Env(), kind.forward(h->module, RecurrentArgs::Read(info[1])));
}

// recurrentForwardAsync(m, args): recurrentForward on the executor thread
static Napi::Value RecurrentForwardAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModuleHandle* h = ModuleHandle::Get(info[0]);
  auto module = h->module;  // keeps the module alive while the job is queued
  auto forward = RecurrentKindOf(*module).forward;
  auto args = std::make_shared<const RecurrentArgs>(RecurrentArgs::Read(info[1]));
  auto out = std::make_shared<Tensors>();
  return Data(env).GetExecutor(env).Submit(
      env, [module, forward, args, out] { *out = forward(module, *args); }, [out](Napi::Env env) { return TensorsTo(env, *out); });
}

// createCell(kind, opts). forward args: [input, h0, c0].
static Napi::Value CreateCell(const Napi::CallbackInfo& info) {
  const std::string kindName = info[0].As<Napi::String>().Utf8Value();  // named: GCC 14 took the reference for a dangling one
  const RecurrentKind& kind = FindRecurrentKind(kindName);
  auto [m, forward] = kind.createCell(RecurrentOptions::Read(info[1].As<Napi::Object>()));
  return ModuleHandle::New(info.Env(), m, forward);
}

// fusedRnnFlags() -> { enabled, auto, kernels }: torch.backends.fusedRnn (kernels: the gate kernels'
// instruction set, "avx2+fma" or "baseline")
static Napi::Value FusedRnnFlags(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("enabled", fused::Enabled());
  o.Set("auto", fused::Auto());
  o.Set("kernels", fused::KernelVariant());
  o.Set("helperChunks", static_cast<double>(fused::SharedRowsHelperChunks()));
  o.Set("concurrentPairs", static_cast<double>(fused::SharedPairsRun()));
  o.Set("splitBatches", static_cast<double>(fused::SharedSplitsRun()));
  return o;
}

// setFusedRnnEnabled(on): in call order with the executor's jobs, like the cuDNN flags
static Napi::Value SetFusedRnnEnabled(const Napi::CallbackInfo& info) {
  fused::SetEnabled(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// setFusedRnnAuto(on): torch.backends.fusedRnn.auto
static Napi::Value SetFusedRnnAuto(const Napi::CallbackInfo& info) {
  fused::SetAuto(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

void InitRnn(Napi::Env env, Napi::Object exports) {
  fused::Register();
  Export<FusedRnnFlags>(env, exports, "fusedRnnFlags");
  ExportOrdered<SetFusedRnnEnabled>(env, exports, "setFusedRnnEnabled");
  ExportOrdered<SetFusedRnnAuto>(env, exports, "setFusedRnnAuto");
  Export<CreateRecurrent>(env, exports, "createRecurrent");
  ExportOrdered<RecurrentForward>(env, exports, "recurrentForward");
  Export<RecurrentForwardAsync>(env, exports, "recurrentForwardAsync");
  Export<CreateCell>(env, exports, "createCell");
}

}  // namespace trnn
