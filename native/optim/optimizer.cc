#include "optimizer.h"

#include "../compat.h"
#include "../executor.h"
#include "../tensor.h"

namespace trnn {

namespace optim = torch::optim;

void OptimizerHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "OptimizerHandle", {});
  Data(env).optimizerCtor = Napi::Persistent(ctor);
  exports.Set("OptimizerHandle", ctor);
}

OptimizerHandle::OptimizerHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OptimizerHandle>(info) {}

OptimizerHandle* GetOptimizer(const Napi::Value& v) {
  OptimizerHandle* h = OptimizerHandle::Unwrap(v.As<Napi::Object>());
  if (h == nullptr || !h->optimizer) throw MakeError(v.Env(), "ERR_INVALID_ARG", "Expected an optimizer handle");
  return h;
}

static GroupOptions ReadOptions(const Napi::Object& o) {
  GroupOptions g;
  auto num = [&](const char* k, double& out) { if (o.Has(k) && o.Get(k).IsNumber()) out = o.Get(k).As<Napi::Number>().DoubleValue(); };
  auto flag = [&](const char* k, bool& out) { if (o.Has(k) && o.Get(k).IsBoolean()) out = o.Get(k).As<Napi::Boolean>().Value(); };
  num("lr", g.lr); num("momentum", g.momentum); num("dampening", g.dampening); num("weightDecay", g.weightDecay);
  num("eps", g.eps); num("alpha", g.alpha); num("lrDecay", g.lrDecay); num("initialAccumulatorValue", g.initialAccumulatorValue);
  if (o.Has("betas") && o.Get("betas").IsArray()) {
    Napi::Array b = o.Get("betas").As<Napi::Array>();
    g.beta1 = b.Get(0u).As<Napi::Number>().DoubleValue();
    g.beta2 = b.Get(1u).As<Napi::Number>().DoubleValue();
  }
  flag("nesterov", g.nesterov); flag("amsgrad", g.amsgrad); flag("centered", g.centered);
  return g;
}

static std::unique_ptr<optim::OptimizerOptions> MakeOptions(const std::string& kind, const GroupOptions& g) {
  if (kind == "sgd") {
    return std::make_unique<optim::SGDOptions>(optim::SGDOptions(g.lr).momentum(g.momentum).dampening(g.dampening)
                                                   .weight_decay(g.weightDecay).nesterov(g.nesterov));
  }
  if (kind == "adam") {
    return std::make_unique<optim::AdamOptions>(optim::AdamOptions(g.lr).betas({g.beta1, g.beta2}).eps(g.eps)
                                                    .weight_decay(g.weightDecay).amsgrad(g.amsgrad));
  }
  if (kind == "adamw") {
    return std::make_unique<optim::AdamWOptions>(optim::AdamWOptions(g.lr).betas({g.beta1, g.beta2}).eps(g.eps)
                                                     .weight_decay(g.weightDecay).amsgrad(g.amsgrad));
  }
  if (kind == "rmsprop") {
    return std::make_unique<optim::RMSpropOptions>(optim::RMSpropOptions(g.lr).alpha(g.alpha).eps(g.eps).weight_decay(g.weightDecay)
                                                       .momentum(g.momentum).centered(g.centered));
  }
  return std::make_unique<optim::AdagradOptions>(optim::AdagradOptions(g.lr).lr_decay(g.lrDecay).weight_decay(g.weightDecay)
                                                     .initial_accumulator_value(g.initialAccumulatorValue).eps(g.eps));
}

// Writes the current options into libtorch's groups (what schedulers changed since the last step).
static void Apply(optim::Optimizer& opt, const std::string& kind, const std::vector<GroupOptions>& groups) {
  auto& pg = opt.param_groups();
  for (size_t i = 0; i < pg.size() && i < groups.size(); i++) pg[i].set_options(MakeOptions(kind, groups[i]));
}

std::vector<GroupOptions> ReadGroups(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<GroupOptions> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(ReadOptions(a.Get(i).As<Napi::Object>()));
  return out;
}

// createOptimizer(kind, [{ params: handles, options }])
static Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  Napi::Array groups = info[1].As<Napi::Array>();
  std::vector<optim::OptimizerParamGroup> pgs;
  for (uint32_t i = 0; i < groups.Length(); i++) {
    Napi::Object g = groups.Get(i).As<Napi::Object>();
    Napi::Array ps = g.Get("params").As<Napi::Array>();
    std::vector<torch::Tensor> params;
    for (uint32_t j = 0; j < ps.Length(); j++) params.push_back(TensorHandle::Get(ps.Get(j)));
    pgs.emplace_back(params, MakeOptions(kind, ReadOptions(g.Get("options").As<Napi::Object>())));
  }
  GroupOptions first = ReadOptions(groups.Get(0u).As<Napi::Object>().Get("options").As<Napi::Object>());
  std::shared_ptr<optim::Optimizer> opt;
  if (kind == "sgd") opt = std::make_shared<optim::SGD>(pgs, *static_cast<optim::SGDOptions*>(MakeOptions(kind, first).get()));
  else if (kind == "adam") opt = std::make_shared<optim::Adam>(pgs, *static_cast<optim::AdamOptions*>(MakeOptions(kind, first).get()));
  else if (kind == "adamw") opt = std::make_shared<optim::AdamW>(pgs, *static_cast<optim::AdamWOptions*>(MakeOptions(kind, first).get()));
  else if (kind == "rmsprop") opt = std::make_shared<optim::RMSprop>(pgs, *static_cast<optim::RMSpropOptions*>(MakeOptions(kind, first).get()));
  else opt = std::make_shared<optim::Adagrad>(pgs, *static_cast<optim::AdagradOptions*>(MakeOptions(kind, first).get()));
  Napi::Object obj = Data(env).optimizerCtor.New({});
  OptimizerHandle* h = OptimizerHandle::Unwrap(obj);
  h->kind = kind;
  h->optimizer = opt;
  return obj;
}

// The update itself runs without recording gradients, as torch.optim's @no_grad step does.
void RunStep(optim::Optimizer& opt, const std::string& kind, const std::vector<GroupOptions>& groups) {
  torch::NoGradGuard noGrad;
  Apply(opt, kind, groups);
  opt.step();
}

static Napi::Value Step(const Napi::CallbackInfo& info) {
  OptimizerHandle* h = GetOptimizer(info[0]);
  RunStep(*h->optimizer, h->kind, ReadGroups(info[1]));
  return info.Env().Undefined();
}

static Napi::Value StepAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptimizerHandle* h = GetOptimizer(info[0]);
  auto opt = h->optimizer;
  std::string kind = h->kind;
  auto groups = ReadGroups(info[1]);
  return Data(env).GetExecutor(env).Submit(
      env, [opt, kind, groups] { RunStep(*opt, kind, groups); }, [](Napi::Env env) { return env.Undefined(); });
}

// optimizerState(h) -> per parameter (in group order): null, or { step?, <buffers> } with
// torch.optim's state keys (exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer, square_avg,
// grad_avg, sum).
static Napi::Value State(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptimizerHandle* h = GetOptimizer(info[0]);
  auto& state = h->optimizer->state();
  std::vector<torch::Tensor> params;
  for (auto& g : h->optimizer->param_groups()) for (auto& p : g.params()) params.push_back(p);
  Napi::Array out = Napi::Array::New(env, params.size());
  for (size_t i = 0; i < params.size(); i++) {
    auto it = state.find(compat::OptimizerStateKey(state, params[i]));
    if (it == state.end()) { out.Set(static_cast<uint32_t>(i), env.Null()); continue; }
    Napi::Object o = Napi::Object::New(env);
    auto put = [&](const char* k, const torch::Tensor& t) { if (t.defined()) o.Set(k, TensorHandle::New(env, t)); };
    optim::OptimizerParamState* s = it->second.get();
    if (auto* a = dynamic_cast<optim::AdamParamState*>(s)) {
      o.Set("step", static_cast<double>(a->step())); put("exp_avg", a->exp_avg()); put("exp_avg_sq", a->exp_avg_sq()); put("max_exp_avg_sq", a->max_exp_avg_sq());
    } else if (auto* w = dynamic_cast<optim::AdamWParamState*>(s)) {
      o.Set("step", static_cast<double>(w->step())); put("exp_avg", w->exp_avg()); put("exp_avg_sq", w->exp_avg_sq()); put("max_exp_avg_sq", w->max_exp_avg_sq());
    } else if (auto* m = dynamic_cast<optim::SGDParamState*>(s)) {
      put("momentum_buffer", m->momentum_buffer());
    } else if (auto* r = dynamic_cast<optim::RMSpropParamState*>(s)) {
      o.Set("step", static_cast<double>(r->step())); put("square_avg", r->square_avg()); put("momentum_buffer", r->momentum_buffer()); put("grad_avg", r->grad_avg());
    } else if (auto* g = dynamic_cast<optim::AdagradParamState*>(s)) {
      o.Set("step", static_cast<double>(g->step())); put("sum", g->sum());
    }
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

// optimizerLoadState(h, entries): the inverse of optimizerState (entries validated by lib).
static Napi::Value LoadState(const Napi::CallbackInfo& info) {
  OptimizerHandle* h = GetOptimizer(info[0]);
  Napi::Array entries = info[1].As<Napi::Array>();
  auto& state = h->optimizer->state();
  std::vector<torch::Tensor> params;
  for (auto& g : h->optimizer->param_groups()) for (auto& p : g.params()) params.push_back(p);
  state.clear();
  for (uint32_t i = 0; i < entries.Length() && i < params.size(); i++) {
    Napi::Value e = entries.Get(i);
    if (!e.IsObject()) continue;
    Napi::Object o = e.As<Napi::Object>();
    auto t = [&](const char* k) { return o.Has(k) && TensorHandle::Is(o.Get(k)) ? TensorHandle::Get(o.Get(k)).detach().clone() : torch::Tensor(); };
    int64_t step = o.Has("step") && o.Get("step").IsNumber() ? o.Get("step").As<Napi::Number>().Int64Value() : 0;
    std::unique_ptr<optim::OptimizerParamState> s;
    const std::string& k = h->kind;
    if (k == "adam") { auto a = std::make_unique<optim::AdamParamState>(); a->step(step); a->exp_avg(t("exp_avg")); a->exp_avg_sq(t("exp_avg_sq")); a->max_exp_avg_sq(t("max_exp_avg_sq")); s = std::move(a); }
    else if (k == "adamw") { auto a = std::make_unique<optim::AdamWParamState>(); a->step(step); a->exp_avg(t("exp_avg")); a->exp_avg_sq(t("exp_avg_sq")); a->max_exp_avg_sq(t("max_exp_avg_sq")); s = std::move(a); }
    else if (k == "sgd") { auto a = std::make_unique<optim::SGDParamState>(); a->momentum_buffer(t("momentum_buffer")); s = std::move(a); }
    else if (k == "rmsprop") { auto a = std::make_unique<optim::RMSpropParamState>(); a->step(step); a->square_avg(t("square_avg")); a->momentum_buffer(t("momentum_buffer")); a->grad_avg(t("grad_avg")); s = std::move(a); }
    else { auto a = std::make_unique<optim::AdagradParamState>(); a->step(step); a->sum(t("sum")); s = std::move(a); }
    state[compat::OptimizerStateKey(state, params[i])] = std::move(s);
  }
  return info.Env().Undefined();
}

void InitOptim(Napi::Env env, Napi::Object exports) {
  OptimizerHandle::Init(env, exports);
  Export<Create>(env, exports, "createOptimizer");
  ExportOrdered<Step>(env, exports, "optimizerStep");
  Export<StepAsync>(env, exports, "optimizerStepAsync");
  ExportOrdered<State>(env, exports, "optimizerState");
  ExportOrdered<LoadState>(env, exports, "optimizerLoadState");
}

}  // namespace trnn
