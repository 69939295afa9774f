// Tensor handles: a JS object that owns one torch::Tensor reference.
// Ownership: the handle holds a refcount on the libtorch tensor; dispose() or the GC
// finalizer drops it. Every live handle is counted in AddonData (memory()), and the bytes
// of each distinct storage are reported to V8 (AdjustExternalMemory) so GC pressure is real.
// JS thread only; async jobs copy the torch::Tensor out of the handle when they are queued.
#pragma once
#include "addon.h"

namespace trnn {

// A handle is a JS *external* (not an ObjectWrap instance): creating one costs no JS
// constructor call and no private-property wrap, which was most of a tiny op's time.
class TensorHandle {
 public:
  // Wraps `t` in a new handle (undefined tensors become null). `ready`: the number of the
  // queued job that writes its data (native/queue.h), 0 when its data is already there.
  static Napi::Value New(Napi::Env env, torch::Tensor t, uint64_t ready = 0);
  // The tensor behind a handle; throws a TorchError when it was disposed or is no handle.
  static const torch::Tensor& Get(const Napi::Value& v);
  // The handle behind `v`, or nullptr when `v` is not a tensor handle.
  static TensorHandle* Unwrap(const Napi::Value& v);
  static bool Is(const Napi::Value& v) { return Unwrap(v) != nullptr; }
  bool IsLive() const { return tracked_; }
  // The executor job after which this tensor's data is complete (0: it is). See queue.h.
  uint64_t Ready() const { return ready_; }
  const torch::Tensor& tensor() const { return tensor_; }

  void Release(Napi::Env env);
  // dispose(): Release(), then keep the handle's JS external for the next New() (see
  // AddonData::spareHandles), so a tiny op allocates no external and leaves no garbage.
  static void Dispose(Napi::Env env, const Napi::Value& v);
  // Re-reads the storage after the tensor's data was replaced in place (set_data).
  void Retrack(Napi::Env env) { Untrack(env); Track(Data(env), env); }

 private:
  static constexpr uint64_t kMagic = 0x74726e6e54656e73ULL;  // "trnnTens"
  static void Finalize(napi_env env, void* data, void* hint);
  void Track(AddonData& data, Napi::Env env);
  void Untrack(Napi::Env env);
  uint64_t magic_ = kMagic;
  napi_ref self_ = nullptr;  // weak while in use, strong while a spare (AddonData::spareHandles)
  torch::Tensor tensor_;
  const void* storageKey_ = nullptr;
  bool tracked_ = false;
  uint64_t ready_ = 0;
};

// Converts a tensor to a new JS typed array (a copy). JS thread.
Napi::Value ToTypedArray(Napi::Env env, const torch::Tensor& t);
// Parses 'cpu', 'cuda', 'cuda:1'.
c10::Device ParseDevice(const std::string& s);
std::string DeviceString(const c10::Device& d);

}  // namespace trnn
