#include "module.h"

#include "../executor.h"
#include "../tensor.h"

namespace trnn {

static Napi::FunctionReference* ctorRef(Napi::Env env) {
  return &Data(env).moduleCtor;
}

void ModuleHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "ModuleHandle", {});
  *ctorRef(env) = Napi::Persistent(ctor);
  exports.Set("ModuleHandle", ctor);
}

ModuleHandle::ModuleHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModuleHandle>(info) {}

Napi::Object ModuleHandle::New(Napi::Env env, std::shared_ptr<torch::nn::Module> module, ForwardFn forward) {
  Napi::Object obj = ctorRef(env)->New({});
  ModuleHandle* h = Unwrap(obj);
  h->module = std::move(module);
  h->forward = std::move(forward);
  return obj;
}

ModuleHandle* ModuleHandle::Get(const Napi::Value& v) {
  ModuleHandle* h = UnwrapAs<ModuleHandle>(v, Data(v.Env()).moduleCtor);
  if (h == nullptr || !h->module) throw InvalidHandle(v, "a module handle", "module", h != nullptr, "a released module");
  return h;
}

Tensors TensorsFrom(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  Tensors out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNull() && !e.IsUndefined()) out[i] = TensorHandle::Get(e);
  }
  return out;
}

Napi::Array TensorsTo(Napi::Env env, const Tensors& ts) {
  Napi::Array out = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) out.Set(static_cast<uint32_t>(i), TensorHandle::New(env, ts[i]));
  return out;
}

// moduleParameters(h) -> [names, handles], PyTorch's order and names, recursively.
static Napi::Value Parameters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto params = ModuleHandle::Get(info[0])->module->named_parameters(true);
  Napi::Array names = Napi::Array::New(env, params.size());
  Tensors ts;
  uint32_t i = 0;
  for (const auto& p : params) {
    names.Set(i++, Napi::String::New(env, p.key()));
    ts.push_back(p.value());
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, names);
  out.Set(1u, TensorsTo(env, ts));
  return out;
}

static Napi::Value Train(const Napi::CallbackInfo& info) {
  ModuleHandle::Get(info[0])->module->train(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// moduleTo(h, dtypeCode | null, device | null): converts parameters in place (their
// TensorImpls stay the same, so lib's cached Parameter objects remain valid).
static Napi::Value To(const Napi::CallbackInfo& info) {
  auto& m = ModuleHandle::Get(info[0])->module;
  if (!info[2].IsNull() && !info[2].IsUndefined()) m->to(ParseDevice(info[2].As<Napi::String>().Utf8Value()));
  if (!info[1].IsNull() && !info[1].IsUndefined()) m->to(static_cast<c10::ScalarType>(info[1].As<Napi::Number>().Int32Value()));
  return info.Env().Undefined();
}

static Napi::Value Forward(const Napi::CallbackInfo& info) {
  ModuleHandle* h = ModuleHandle::Get(info[0]);
  return TensorsTo(info.Env(), h->forward(TensorsFrom(info[1])));
}

static Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModuleHandle* h = ModuleHandle::Get(info[0]);
  auto module = h->module;  // keeps the module alive while the job is queued
  ForwardFn forward = h->forward;
  Tensors args = TensorsFrom(info[1]);
  auto out = std::make_shared<Tensors>();
  return Data(env).GetExecutor(env).Submit(
      env, [module, forward, args, out] { *out = forward(args); },
      [out](Napi::Env env) { return TensorsTo(env, *out); });
}

// chainForwardAsync(handles, input): input through each module in turn, one executor job
// (Sequential of single-tensor modules).
static Napi::Value ChainForwardAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array hs = info[0].As<Napi::Array>();
  std::vector<std::pair<std::shared_ptr<torch::nn::Module>, ForwardFn>> chain;
  for (uint32_t i = 0; i < hs.Length(); i++) {
    ModuleHandle* h = ModuleHandle::Get(hs.Get(i));
    chain.emplace_back(h->module, h->forward);
  }
  torch::Tensor x = TensorHandle::Get(info[1]);
  auto out = std::make_shared<torch::Tensor>();
  return Data(env).GetExecutor(env).Submit(
      env,
      [chain, x, out] {
        torch::Tensor y = x;
        for (const auto& [module, forward] : chain) y = forward({y})[0];
        *out = y;
      },
      [out](Napi::Env env) { return TensorHandle::New(env, *out); });
}

// barrierAsync(): resolves once every job queued before it has run.
static Napi::Value BarrierAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Data(env).GetExecutor(env).Submit(env, [] {}, [](Napi::Env env) { return env.Undefined(); });
}

void InitModules(Napi::Env env, Napi::Object exports) {
  ModuleHandle::Init(env, exports);
  Export<Parameters>(env, exports, "moduleParameters");
  ExportOrdered<Train>(env, exports, "moduleTrain");
  ExportOrdered<To>(env, exports, "moduleTo");
  ExportOrdered<Forward>(env, exports, "moduleForward");
  Export<ForwardAsync>(env, exports, "moduleForwardAsync");
  Export<ChainForwardAsync>(env, exports, "chainForwardAsync");
  Export<BarrierAsync>(env, exports, "barrierAsync");
  InitRnn(env, exports);
  InitLayers(env, exports);
}

}  // namespace trnn
