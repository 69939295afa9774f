#include "adam_fused.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "../compat.h"
#include "adam_kernel.h"

namespace trnn {

namespace optim = torch::optim;

namespace {

std::atomic<uint64_t> gUpdates{0};

bool Dense(const torch::Tensor& t, const torch::Tensor& p) {
  return t.defined() && t.layout() == torch::kStrided && t.device().is_cpu() && t.scalar_type() == torch::kFloat &&
         t.is_contiguous() && t.numel() == p.numel();
}

// The options both kinds share, and where they differ (Adam's L2 term on the gradient, AdamW's
// decay of the parameter).
struct Rule {
  double lr, beta1, beta2, eps, weightDecay;
  bool amsgrad, decoupled;
};
template <typename Options>
Rule RuleOf(const Options& o, bool decoupled) {
  return {o.lr(), std::get<0>(o.betas()), std::get<1>(o.betas()), o.eps(), o.weight_decay(), o.amsgrad(), decoupled};
}

// Whether every parameter with a gradient (and its state, where it has one) can take the kernel.
template <typename Options, typename State, typename StateMap>
bool AllFusable(std::vector<optim::OptimizerParamGroup>& groups, StateMap& state) {
  for (auto& group : groups) {
    const bool amsgrad = static_cast<const Options&>(group.options()).amsgrad();
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (!Dense(p, p) || !Dense(p.grad(), p)) return false;
      auto it = state.find(compat::OptimizerStateKey(state, p));
      if (it == state.end()) continue;
      auto& s = static_cast<State&>(*it->second);
      if (!Dense(s.exp_avg(), p) || !Dense(s.exp_avg_sq(), p) || (amsgrad && !Dense(s.max_exp_avg_sq(), p))) return false;
    }
  }
  return true;
}

// One parameter: the state as libtorch's step makes it (zeros on the first step), the step
// count and bias corrections in double as libtorch computes them, then the kernel.
template <typename State, typename StateMap>
void Update(const torch::Tensor& p, StateMap& state, const Rule& r) {
  auto key = compat::OptimizerStateKey(state, p);
  auto it = state.find(key);
  if (it == state.end()) {
    auto s = std::make_unique<State>();
    s->step(0);
    s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    if (r.amsgrad) s->max_exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    it = state.emplace(key, std::move(s)).first;
  }
  auto& s = static_cast<State&>(*it->second);
  s.step(s.step() + 1);
  const double bc1 = 1 - std::pow(r.beta1, s.step());
  const double bc2 = 1 - std::pow(r.beta2, s.step());
  const torch::Tensor grad = p.grad();
  const torch::Tensor expAvg = s.exp_avg(), expAvgSq = s.exp_avg_sq(), maxExpAvgSq = s.max_exp_avg_sq();
  optim_kernels::AdamArgs a{};
  a.param = p.data_ptr<float>();
  a.expAvg = expAvg.data_ptr<float>();
  a.expAvgSq = expAvgSq.data_ptr<float>();
  a.maxExpAvgSq = r.amsgrad ? maxExpAvgSq.data_ptr<float>() : nullptr;
  a.grad = grad.data_ptr<float>();
  a.n = p.numel();
  a.beta1 = static_cast<float>(r.beta1);
  a.oneMinusBeta1 = static_cast<float>(1 - r.beta1);
  a.beta2 = static_cast<float>(r.beta2);
  a.oneMinusBeta2 = static_cast<float>(1 - r.beta2);
  a.biasCorrection2Sqrt = static_cast<float>(std::sqrt(bc2));
  a.eps = static_cast<float>(r.eps);
  a.negStepSize = static_cast<float>(-(r.lr / bc1));
  a.l2 = !r.decoupled && r.weightDecay != 0 ? static_cast<float>(r.weightDecay) : 0.0f;
  a.decay = r.decoupled && r.weightDecay != 0 ? static_cast<float>(1 - r.lr * r.weightDecay) : 1.0f;
  optim_kernels::AdamUpdate(a);
  // what libtorch's in-place operations record: autograd refuses a graph that saved one of
  // these before the step (as it does after torch.optim's step)
  for (const torch::Tensor* t : {&p, &expAvg, &expAvgSq, &maxExpAvgSq}) {
    if (t->defined() && (t != &maxExpAvgSq || r.amsgrad)) t->unsafeGetTensorImpl()->bump_version();
  }
  gUpdates.fetch_add(1, std::memory_order_relaxed);
}

// libtorch's step: the closure first (with autograd), then each group's parameters, with the
// kernel when all of them can take it, else libtorch's own update.
template <typename Options, typename State, typename StateMap>
torch::Tensor Step(std::vector<optim::OptimizerParamGroup>& groups, StateMap& state, bool decoupled,
                   const optim::Optimizer::LossClosure& closure, const std::function<torch::Tensor()>& libtorchStep) {
  torch::NoGradGuard noGrad;
  torch::Tensor loss = {};
  if (closure != nullptr) {
    at::AutoGradMode enableGrad(true);
    loss = closure();
  }
  if (!AllFusable<Options, State>(groups, state)) {
    libtorchStep();
    return loss;
  }
  for (auto& group : groups) {
    const Rule r = RuleOf(static_cast<const Options&>(group.options()), decoupled);
    for (auto& p : group.params()) {
      if (p.grad().defined()) Update<State>(p, state, r);
    }
  }
  return loss;
}

}  // namespace

bool FusedAdamEnabled() {
  const char* v = std::getenv("TORCHRNN_FUSED_ADAM");
  return !(v != nullptr && std::strcmp(v, "0") == 0);
}

uint64_t FusedAdamUpdates() { return gUpdates.load(std::memory_order_relaxed); }

torch::Tensor FusedAdam::step(LossClosure closure) {
  return Step<optim::AdamOptions, optim::AdamParamState>(param_groups_, state_, false, closure, [this] { return optim::Adam::step(); });
}

torch::Tensor FusedAdamW::step(LossClosure closure) {
  return Step<optim::AdamWOptions, optim::AdamWParamState>(param_groups_, state_, true, closure, [this] { return optim::AdamW::step(); });
}

}  // namespace trnn
