#include "amp.h"

#include "addon.h"

#include "compat.h"

#include <ATen/autocast_mode.h>

namespace trnn {

AutocastState AutocastState::Current() {
  AutocastState s;
  s.cpu = compat::AutocastEnabled(c10::DeviceType::CPU);
  s.cuda = compat::AutocastEnabled(c10::DeviceType::CUDA);
  s.cpuDtype = compat::AutocastDtype(c10::DeviceType::CPU);
  s.cudaDtype = compat::AutocastDtype(c10::DeviceType::CUDA);
  s.cache = at::autocast::is_autocast_cache_enabled();
  return s;
}

void AutocastState::Apply() const {
  compat::SetAutocastEnabled(c10::DeviceType::CPU, cpu);
  compat::SetAutocastEnabled(c10::DeviceType::CUDA, cuda);
  compat::SetAutocastDtype(c10::DeviceType::CPU, cpuDtype);
  compat::SetAutocastDtype(c10::DeviceType::CUDA, cudaDtype);
  at::autocast::set_autocast_cache_enabled(cache);
}

// Sets `next`; leaving autocast (on before, off now) drops the cast cache, as torch.autocast's
// __exit__ does.
static void Switch(const AutocastState& next) {
  bool was = compat::AutocastEnabled(c10::DeviceType::CPU) || compat::AutocastEnabled(c10::DeviceType::CUDA);
  next.Apply();
  if (was && !next.cpu && !next.cuda) at::autocast::clear_cache();
}

AutocastScope::~AutocastScope() { Switch(prev_); }

bool ScalerState::Unscale(const std::vector<torch::Tensor>& params) const {
  torch::NoGradGuard noGrad;
  torch::Tensor inv = scale.reciprocal();
  // one device-to-host read for all gradients, not one per gradient
  torch::Tensor finite = torch::ones({}, scale.options().dtype(torch::kBool));
  for (const auto& p : params) {
    torch::Tensor g = p.grad();
    if (!g.defined()) continue;
    g.mul_(inv.to(g.device(), g.scalar_type()));
    finite.logical_and_(torch::isfinite(g).all().to(finite.device()));
  }
  return !finite.item<bool>();
}

void ScalerState::Update(bool foundInf) const {
  torch::NoGradGuard noGrad;
  if (foundInf) {
    scale.mul_(backoffFactor);
    growthTracker.zero_();
    return;
  }
  int64_t next = growthTracker.item<int64_t>() + 1;
  if (next >= growthInterval) {
    scale.mul_(growthFactor);
    growthTracker.zero_();
  } else {
    growthTracker.fill_(next);
  }
}

// autocastState() -> { cpu, cuda, cpuDtype, cudaDtype, cache } (dtypes as ScalarType codes)
static Napi::Value AutocastGetState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AutocastState s = AutocastState::Current();
  Napi::Object o = Napi::Object::New(env);
  o.Set("cpu", s.cpu);
  o.Set("cuda", s.cuda);
  o.Set("cpuDtype", static_cast<int>(s.cpuDtype));
  o.Set("cudaDtype", static_cast<int>(s.cudaDtype));
  o.Set("cache", s.cache);
  return o;
}

// setAutocastState(state): lib/amp.ts has validated it. Leaving autocast clears the cast cache.
static Napi::Value AutocastSetState(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  AutocastState s;
  s.cpu = o.Get("cpu").As<Napi::Boolean>().Value();
  s.cuda = o.Get("cuda").As<Napi::Boolean>().Value();
  s.cpuDtype = static_cast<at::ScalarType>(o.Get("cpuDtype").As<Napi::Number>().Int32Value());
  s.cudaDtype = static_cast<at::ScalarType>(o.Get("cudaDtype").As<Napi::Number>().Int32Value());
  s.cache = o.Get("cache").As<Napi::Boolean>().Value();
  Switch(s);
  return info.Env().Undefined();
}

void InitAmp(Napi::Env env, Napi::Object exports) {
  Export<AutocastGetState>(env, exports, "autocastState");
  Export<AutocastSetState>(env, exports, "setAutocastState");
}

}  // namespace trnn
