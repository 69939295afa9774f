#include "optimizer.h"

#include "../compat.h"
#include "../executor.h"
#include "../tensor.h"
#include "adam_fused.h"
#include "adam_kernel.h"

namespace trnn {

namespace optim = torch::optim;

// ---- Reading options and state (lib/optim validated and defaulted them; these fallbacks are
// only for a key that is absent).

static double OptNum(const Napi::Object& o, const char* k, double fallback) {
  return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().DoubleValue() : fallback;
}
static bool OptFlag(const Napi::Object& o, const char* k, bool fallback) {
  return o.Has(k) && o.Get(k).IsBoolean() ? o.Get(k).As<Napi::Boolean>().Value() : fallback;
}
static std::tuple<double, double> OptBetas(const Napi::Object& o) {
  if (!o.Has("betas") || !o.Get("betas").IsArray()) return {0.9, 0.999};
  Napi::Array b = o.Get("betas").As<Napi::Array>();
  return {b.Get(0u).As<Napi::Number>().DoubleValue(), b.Get(1u).As<Napi::Number>().DoubleValue()};
}

// One parameter's state as optimizerState gives it and optimizerLoadState takes it:
// { step?, <buffers> } with torch.optim's keys.
struct OptimizerStateOut {
  Napi::Env env;
  Napi::Object o;
  void Step(int64_t step) { o.Set("step", static_cast<double>(step)); }
  void Put(const char* k, const torch::Tensor& t) { if (t.defined()) o.Set(k, TensorHandle::New(env, t)); }
};
struct OptimizerStateIn {
  Napi::Object o;
  int64_t Step() const { return o.Has("step") && o.Get("step").IsNumber() ? o.Get("step").As<Napi::Number>().Int64Value() : 0; }
  torch::Tensor Get(const char* k) const {
    return o.Has(k) && TensorHandle::Is(o.Get(k)) ? TensorHandle::Get(o.Get(k)).detach().clone() : torch::Tensor();
  }
};

// ---- The optimizer kinds: one entry each.

struct OptimizerKind {
  const char* name;
  // lib's options of one group -> libtorch's options type of this kind
  std::shared_ptr<const optim::OptimizerOptions> (*options)(const Napi::Object& o);
  // the optimizer over its groups; `defaults` are the first group's options
  std::shared_ptr<optim::Optimizer> (*create)(const std::vector<optim::OptimizerParamGroup>& groups, const optim::OptimizerOptions& defaults);
  // one parameter's libtorch state -> JS, and back
  void (*stateOut)(optim::OptimizerParamState& s, OptimizerStateOut& out);
  std::unique_ptr<optim::OptimizerParamState> (*stateIn)(const OptimizerStateIn& in);
};

template <typename O, typename Options>
static std::shared_ptr<optim::Optimizer> MakeOptimizer(const std::vector<optim::OptimizerParamGroup>& groups, const optim::OptimizerOptions& defaults) {
  return std::make_shared<O>(groups, static_cast<const Options&>(defaults));
}

// Adam and AdamW: the fused step (adam_fused.h) unless TORCHRNN_FUSED_ADAM=0.
template <typename Fused, typename Plain, typename Options>
static std::shared_ptr<optim::Optimizer> MakeAdam(const std::vector<optim::OptimizerParamGroup>& groups, const optim::OptimizerOptions& defaults) {
  if (FusedAdamEnabled()) return MakeOptimizer<Fused, Options>(groups, defaults);
  return MakeOptimizer<Plain, Options>(groups, defaults);
}

// Adam and AdamW keep the same state under different types.
template <typename State>
static void AdamStateOut(optim::OptimizerParamState& s, OptimizerStateOut& out) {
  auto& a = static_cast<State&>(s);
  out.Step(a.step()), out.Put("exp_avg", a.exp_avg()), out.Put("exp_avg_sq", a.exp_avg_sq()), out.Put("max_exp_avg_sq", a.max_exp_avg_sq());
}
template <typename State>
static std::unique_ptr<optim::OptimizerParamState> AdamStateIn(const OptimizerStateIn& in) {
  auto a = std::make_unique<State>();
  a->step(in.Step()), a->exp_avg(in.Get("exp_avg")), a->exp_avg_sq(in.Get("exp_avg_sq")), a->max_exp_avg_sq(in.Get("max_exp_avg_sq"));
  return a;
}

static const OptimizerKind kOptimizerKinds[] = {
    {"sgd",
     [](const Napi::Object& o) -> std::shared_ptr<const optim::OptimizerOptions> {
       return std::make_shared<optim::SGDOptions>(optim::SGDOptions(OptNum(o, "lr", 0)).momentum(OptNum(o, "momentum", 0)).dampening(OptNum(o, "dampening", 0))
                                                      .weight_decay(OptNum(o, "weightDecay", 0)).nesterov(OptFlag(o, "nesterov", false)));
     },
     MakeOptimizer<optim::SGD, optim::SGDOptions>,
     [](optim::OptimizerParamState& s, OptimizerStateOut& out) { out.Put("momentum_buffer", static_cast<optim::SGDParamState&>(s).momentum_buffer()); },
     [](const OptimizerStateIn& in) -> std::unique_ptr<optim::OptimizerParamState> {
       auto a = std::make_unique<optim::SGDParamState>();
       a->momentum_buffer(in.Get("momentum_buffer"));
       return a;
     }},
    {"adam",
     [](const Napi::Object& o) -> std::shared_ptr<const optim::OptimizerOptions> {
       return std::make_shared<optim::AdamOptions>(optim::AdamOptions(OptNum(o, "lr", 0)).betas(OptBetas(o)).eps(OptNum(o, "eps", 1e-8))
                                                       .weight_decay(OptNum(o, "weightDecay", 0)).amsgrad(OptFlag(o, "amsgrad", false)));
     },
     MakeAdam<FusedAdam, optim::Adam, optim::AdamOptions>, AdamStateOut<optim::AdamParamState>, AdamStateIn<optim::AdamParamState>},
    {"adamw",
     [](const Napi::Object& o) -> std::shared_ptr<const optim::OptimizerOptions> {
       return std::make_shared<optim::AdamWOptions>(optim::AdamWOptions(OptNum(o, "lr", 0)).betas(OptBetas(o)).eps(OptNum(o, "eps", 1e-8))
                                                        .weight_decay(OptNum(o, "weightDecay", 0)).amsgrad(OptFlag(o, "amsgrad", false)));
     },
     MakeAdam<FusedAdamW, optim::AdamW, optim::AdamWOptions>, AdamStateOut<optim::AdamWParamState>, AdamStateIn<optim::AdamWParamState>},
    {"rmsprop",
     [](const Napi::Object& o) -> std::shared_ptr<const optim::OptimizerOptions> {
       return std::make_shared<optim::RMSpropOptions>(optim::RMSpropOptions(OptNum(o, "lr", 0)).alpha(OptNum(o, "alpha", 0.99)).eps(OptNum(o, "eps", 1e-8))
                                                          .weight_decay(OptNum(o, "weightDecay", 0)).momentum(OptNum(o, "momentum", 0))
                                                          .centered(OptFlag(o, "centered", false)));
     },
     MakeOptimizer<optim::RMSprop, optim::RMSpropOptions>,
     [](optim::OptimizerParamState& s, OptimizerStateOut& out) {
       auto& r = static_cast<optim::RMSpropParamState&>(s);
       out.Step(r.step()), out.Put("square_avg", r.square_avg()), out.Put("momentum_buffer", r.momentum_buffer()), out.Put("grad_avg", r.grad_avg());
     },
     [](const OptimizerStateIn& in) -> std::unique_ptr<optim::OptimizerParamState> {
       auto a = std::make_unique<optim::RMSpropParamState>();
       a->step(in.Step()), a->square_avg(in.Get("square_avg")), a->momentum_buffer(in.Get("momentum_buffer")), a->grad_avg(in.Get("grad_avg"));
       return a;
     }},
    {"adagrad",
     [](const Napi::Object& o) -> std::shared_ptr<const optim::OptimizerOptions> {
       return std::make_shared<optim::AdagradOptions>(optim::AdagradOptions(OptNum(o, "lr", 0)).lr_decay(OptNum(o, "lrDecay", 0))
                                                          .weight_decay(OptNum(o, "weightDecay", 0))
                                                          .initial_accumulator_value(OptNum(o, "initialAccumulatorValue", 0)).eps(OptNum(o, "eps", 1e-8)));
     },
     MakeOptimizer<optim::Adagrad, optim::AdagradOptions>,
     [](optim::OptimizerParamState& s, OptimizerStateOut& out) {
       auto& g = static_cast<optim::AdagradParamState&>(s);
       out.Step(g.step()), out.Put("sum", g.sum());
     },
     [](const OptimizerStateIn& in) -> std::unique_ptr<optim::OptimizerParamState> {
       auto a = std::make_unique<optim::AdagradParamState>();
       a->step(in.Step()), a->sum(in.Get("sum"));
       return a;
     }},
};

static const OptimizerKind& FindOptimizerKind(const std::string& name) {
  for (const OptimizerKind& k : kOptimizerKinds) {
    if (name == k.name) return k;
  }
  throw std::invalid_argument("unknown optimizer kind '" + name + "'");
}

// ---- The handle and its entry points

void OptimizerHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "OptimizerHandle", {});
  Data(env).optimizerCtor = Napi::Persistent(ctor);
  exports.Set("OptimizerHandle", ctor);
}

OptimizerHandle::OptimizerHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OptimizerHandle>(info) {}

OptimizerHandle* GetOptimizer(const Napi::Value& v) {
  OptimizerHandle* h = UnwrapAs<OptimizerHandle>(v, Data(v.Env()).optimizerCtor);
  if (h == nullptr || !h->optimizer) throw InvalidHandle(v, "an optimizer handle", "optimizer", h != nullptr, "a released optimizer");
  return h;
}

static GroupOptions ReadGroups(const OptimizerKind& kind, const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  GroupOptions out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(kind.options(a.Get(i).As<Napi::Object>()));
  return out;
}

GroupOptions ReadGroups(const OptimizerHandle& h, const Napi::Value& v) { return ReadGroups(*h.kind, v); }

// createOptimizer(kind, [{ params: handles, options }])
static Napi::Value CreateOptimizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string kindName = info[0].As<Napi::String>().Utf8Value();  // named: GCC 14 took the reference for a dangling one
  const OptimizerKind& kind = FindOptimizerKind(kindName);
  Napi::Array groups = info[1].As<Napi::Array>();
  std::vector<optim::OptimizerParamGroup> pgs;
  std::shared_ptr<const optim::OptimizerOptions> first;
  for (uint32_t i = 0; i < groups.Length(); i++) {
    Napi::Object g = groups.Get(i).As<Napi::Object>();
    Napi::Array ps = g.Get("params").As<Napi::Array>();
    std::vector<torch::Tensor> params;
    for (uint32_t j = 0; j < ps.Length(); j++) params.push_back(TensorHandle::Get(ps.Get(j)));
    auto options = kind.options(g.Get("options").As<Napi::Object>());
    if (i == 0) first = options;
    pgs.emplace_back(params, options->clone());
  }
  std::shared_ptr<optim::Optimizer> opt = kind.create(pgs, *first);
  Napi::Object obj = Data(env).optimizerCtor.New({});
  OptimizerHandle* h = OptimizerHandle::Unwrap(obj);
  h->kind = &kind;
  h->optimizer = opt;
  return obj;
}

// The update itself runs without recording gradients, as torch.optim's @no_grad step does.
// First the current options go into libtorch's groups (what schedulers changed since the last step).
void RunStep(optim::Optimizer& opt, const GroupOptions& groups) {
  torch::NoGradGuard noGrad;
  auto& pg = opt.param_groups();
  for (size_t i = 0; i < pg.size() && i < groups.size(); i++) pg[i].set_options(groups[i]->clone());
  opt.step();
}

static Napi::Value Step(const Napi::CallbackInfo& info) {
  OptimizerHandle* h = GetOptimizer(info[0]);
  RunStep(*h->optimizer, ReadGroups(*h, info[1]));
  return info.Env().Undefined();
}

static Napi::Value StepAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptimizerHandle* h = GetOptimizer(info[0]);
  auto opt = h->optimizer;
  auto groups = ReadGroups(*h, info[1]);
  return Data(env).GetExecutor(env).Submit(
      env, [opt, groups] { RunStep(*opt, groups); }, [](Napi::Env env) { return env.Undefined(); });
}

static std::vector<torch::Tensor> OptimizerParams(optim::Optimizer& opt) {
  std::vector<torch::Tensor> params;
  for (auto& g : opt.param_groups()) for (auto& p : g.params()) params.push_back(p);
  return params;
}

// optimizerState(h) -> per parameter (in group order): null, or { step?, <buffers> } with
// torch.optim's state keys (exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer, square_avg,
// grad_avg, sum).
static Napi::Value State(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptimizerHandle* h = GetOptimizer(info[0]);
  auto& state = h->optimizer->state();
  std::vector<torch::Tensor> params = OptimizerParams(*h->optimizer);
  Napi::Array out = Napi::Array::New(env, params.size());
  for (size_t i = 0; i < params.size(); i++) {
    auto it = state.find(compat::OptimizerStateKey(state, params[i]));
    if (it == state.end()) { out.Set(static_cast<uint32_t>(i), env.Null()); continue; }
    OptimizerStateOut o{env, Napi::Object::New(env)};
    h->kind->stateOut(*it->second, o);
    out.Set(static_cast<uint32_t>(i), o.o);
  }
  return out;
}

// optimizerLoadState(h, entries): the inverse of optimizerState (entries validated by lib).
static Napi::Value LoadState(const Napi::CallbackInfo& info) {
  OptimizerHandle* h = GetOptimizer(info[0]);
  Napi::Array entries = info[1].As<Napi::Array>();
  auto& state = h->optimizer->state();
  std::vector<torch::Tensor> params = OptimizerParams(*h->optimizer);
  state.clear();
  for (uint32_t i = 0; i < entries.Length() && i < params.size(); i++) {
    Napi::Value e = entries.Get(i);
    if (!e.IsObject()) continue;
    state[compat::OptimizerStateKey(state, params[i])] = h->kind->stateIn(OptimizerStateIn{e.As<Napi::Object>()});
  }
  return info.Env().Undefined();
}

// optimizerKernels() -> { fusedAdam, kernel, fusedUpdates }: whether new Adam/AdamW optimizers
// take the fused step, its instruction set, and the parameter updates it has made.
static Napi::Value Kernels(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("fusedAdam", FusedAdamEnabled());
  o.Set("kernel", optim_kernels::AdamKernelName());
  o.Set("fusedUpdates", static_cast<double>(FusedAdamUpdates()));
  return o;
}

void InitOptim(Napi::Env env, Napi::Object exports) {
  OptimizerHandle::Init(env, exports);
  Export<CreateOptimizer>(env, exports, "createOptimizer");
  ExportOrdered<Step>(env, exports, "optimizerStep");
  Export<StepAsync>(env, exports, "optimizerStepAsync");
  ExportOrdered<State>(env, exports, "optimizerState");
  ExportOrdered<LoadState>(env, exports, "optimizerLoadState");
  Export<Kernels>(env, exports, "optimizerKernels");
}

}  // namespace trnn
