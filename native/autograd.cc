#include "autograd.h"

#include "executor.h"
#include "tensor.h"

namespace trnn {

static c10::optional<torch::Tensor> OptTensor(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return c10::nullopt;
  return TensorHandle::Get(v);
}

static std::vector<torch::Tensor> TensorList(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<torch::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(TensorHandle::Get(a.Get(i)));
  return out;
}

// backward(h, gradient|null, retainGraph, createGraph)
static Napi::Value Backward(const Napi::CallbackInfo& info) {
  const torch::Tensor& t = TensorHandle::Get(info[0]);
  auto grad = OptTensor(info[1]);
  t.backward(grad.value_or(torch::Tensor()), info[2].As<Napi::Boolean>().Value(), info[3].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

static Napi::Value BackwardAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  torch::Tensor t = TensorHandle::Get(info[0]);
  torch::Tensor grad = OptTensor(info[1]).value_or(torch::Tensor());
  bool retain = info[2].As<Napi::Boolean>().Value();
  bool create = info[3].As<Napi::Boolean>().Value();
  return Data(env).GetExecutor(env).Submit(
      env, [t, grad, retain, create] { t.backward(grad, retain, create); },
      [](Napi::Env env) { return env.Undefined(); });
}

// grad(outputs, inputs, gradOutputs|null, retainGraph|null, createGraph, allowUnused)
static Napi::Value Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<torch::Tensor> outputs = TensorList(info[0]);
  std::vector<torch::Tensor> inputs = TensorList(info[1]);
  std::vector<torch::Tensor> gradOutputs;
  if (info[2].IsArray()) {
    Napi::Array a = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) gradOutputs.push_back(OptTensor(a.Get(i)).value_or(torch::Tensor()));
  }
  c10::optional<bool> retain;
  if (info[3].IsBoolean()) retain = info[3].As<Napi::Boolean>().Value();
  auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retain, info[4].As<Napi::Boolean>().Value(),
                                     info[5].As<Napi::Boolean>().Value());
  Napi::Array out = Napi::Array::New(env, grads.size());
  for (size_t i = 0; i < grads.size(); i++) out.Set(static_cast<uint32_t>(i), TensorHandle::New(env, grads[i]));
  return out;
}

static Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  torch::GradMode::set_enabled(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

static Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::GradMode::is_enabled());
}

// autogradInfo(h) -> [requiresGrad, isLeaf, gradFn name | null]
static Napi::Value AutogradInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const torch::Tensor& t = TensorHandle::Get(info[0]);
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Boolean::New(env, t.requires_grad()));
  out.Set(1u, Napi::Boolean::New(env, t.is_leaf()));
  const auto& fn = t.grad_fn();
  if (fn) {
    std::string name = fn->name();  // "torch::autograd::generated::AddBackward0"
    // a C++ custom function: "torch::autograd::CppNode<trnn::fused::lstm::LstmLayerBackward>"
    while (!name.empty() && name.back() == '>') name.pop_back();
    auto cut = name.rfind("::");
    out.Set(2u, Napi::String::New(env, cut == std::string::npos ? name : name.substr(cut + 2)));
  } else {
    out.Set(2u, env.Null());
  }
  return out;
}

static Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  TensorHandle::Get(info[0]).requires_grad_(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

static Napi::Value GetGrad(const Napi::CallbackInfo& info) {
  return TensorHandle::New(info.Env(), TensorHandle::Get(info[0]).grad());
}

// setGrad(h, grad|null): `t.grad = g` / `t.grad = null` as in Python.
static Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  torch::Tensor t = TensorHandle::Get(info[0]);
  t.mutable_grad() = OptTensor(info[1]).value_or(torch::Tensor());
  return info.Env().Undefined();
}

static Napi::Value RetainGrad(const Napi::CallbackInfo& info) {
  TensorHandle::Get(info[0]).retain_grad();
  return info.Env().Undefined();
}

void InitAutograd(Napi::Env env, Napi::Object exports) {
  ExportOrdered<Backward>(env, exports, "backward");
  Export<BackwardAsync>(env, exports, "backwardAsync");
  ExportOrdered<Grad>(env, exports, "grad");
  Export<SetGradEnabled>(env, exports, "setGradEnabled");
  Export<IsGradEnabled>(env, exports, "isGradEnabled");
  Export<AutogradInfo>(env, exports, "autogradInfo");
  ExportOrdered<SetRequiresGrad>(env, exports, "setRequiresGrad");
  ExportOrdered<GetGrad>(env, exports, "getGrad");
  ExportOrdered<SetGrad>(env, exports, "setGrad");
  ExportOrdered<RetainGrad>(env, exports, "retainGrad");
}

}  // namespace trnn
