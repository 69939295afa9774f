// Tensor operations through libtorch's dispatcher (the same path Python's torch.* takes:
// autograd, type promotion and broadcasting included). lib/ looks each operator up once by
// its schema name ("aten::add", "Tensor") and calls it by index with positional arguments in
// schema order; arguments are converted by the schema's declared types, and omitted trailing
// arguments take the schema's defaults. lib/ validates every argument before the call.
#pragma once
#include "addon.h"

namespace trnn {
c10::IValue ToIValue(const Napi::Value& v, const c10::TypePtr& type);
// The same, for a value whose type the caller has read (vt).
c10::IValue ToIValue(const Napi::Value& v, napi_valuetype vt, const c10::TypePtr& type);
Napi::Value FromIValue(Napi::Env env, const c10::IValue& v);
// The operator's arguments from info[1...] (info[0] is the operator's index), defaults filled in.
torch::jit::Stack BuildStack(const Napi::CallbackInfo& info, const c10::OperatorHandle& op);
// An operator's results: undefined, the single value, or an array of them.
Napi::Value Results(Napi::Env env, const torch::jit::Stack& stack);
// The tensor handles of info[1...] as a caller already read them (callQueued reads every
// argument once): h[i] is info[i + 1]'s handle, nullptr when it is no handle, for i < n.
// noGrad: no tensor argument records gradients, so the unboxed call starts below autograd's
// kernel (which would only pass the call on: no result of it records gradients either).
struct KnownArgs {
  static constexpr size_t kMax = 6;
  class TensorHandle* h[kMax] = {};
  size_t n = 0;
  bool noGrad = false;
};
// call(): runs `op` on info[1...] now, on this thread (unboxed when its schema allows).
Napi::Value CallOp(const Napi::CallbackInfo& info, const RegisteredOp& op, const KnownArgs* known = nullptr);
}  // namespace trnn
