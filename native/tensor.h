// Tensor handles: a JS object that owns one torch::Tensor reference.
// Ownership: the handle holds a refcount on the libtorch tensor; dispose() or the GC
// finalizer drops it. Every live handle is counted in AddonData (memory()), and the bytes
// of each distinct storage are reported to V8 (AdjustExternalMemory) so GC pressure is real.
// JS thread only; async jobs copy the torch::Tensor out of the handle when they are queued.
#pragma once
#include "addon.h"

namespace trnn {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // Wraps `t` in a new handle object (undefined tensors become null).
  static Napi::Value New(Napi::Env env, torch::Tensor t);
  // The tensor behind a handle; throws a TorchError when it was disposed.
  static const torch::Tensor& Get(const Napi::Value& v);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;
  void Release(Napi::Env env);
  // Re-reads the storage after the tensor's data was replaced in place (set_data).
  void Retrack(Napi::Env env) { Untrack(env); Track(env); }

 private:
  void Track(Napi::Env env);
  void Untrack(Napi::Env env);
  torch::Tensor tensor_;
  const void* storageKey_ = nullptr;
  bool tracked_ = false;
};

// Converts a tensor to a new JS typed array (a copy). JS thread.
Napi::Value ToTypedArray(Napi::Env env, const torch::Tensor& t);
// Parses 'cpu', 'cuda', 'cuda:1'.
c10::Device ParseDevice(const std::string& s);
std::string DeviceString(const c10::Device& d);

}  // namespace trnn
