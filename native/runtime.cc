#include "runtime.h"

#include <torch/version.h>

#include <cstdlib>
#include <mutex>

#include "executor.h"
#include "tensor.h"

namespace trnn {

static Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  bool lossless;
  uint64_t seed = static_cast<uint64_t>(info[0].As<Napi::BigInt>().Int64Value(&lossless));
  torch::manual_seed(seed);
  return info.Env().Undefined();
}

// getRngState() / setRngState(h): the default CPU generator's state as a uint8 tensor, as
// torch.get_rng_state() / torch.set_rng_state() (checkpoints resume the same random stream).
static Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return TensorHandle::New(info.Env(), gen.get_state());
}

static Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(TensorHandle::Get(info[0]));
  return info.Env().Undefined();
}

static Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  torch::set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

static Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), torch::get_num_threads());
}

// getNumThreadsAsync() -> Promise<number>: the count the executor thread computes with (after
// the jobs queued before it), which follows setNumThreads on the JS thread.
static Napi::Value GetNumThreadsAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto n = std::make_shared<int>(0);
  return Data(env).GetExecutor(env).Submit(
      env, [n] { *n = torch::get_num_threads(); }, [n](Napi::Env env) { return Napi::Number::New(env, *n); });
}

// setFlushDenormal(mode) -> supported, as torch.set_flush_denormal: FTZ/DAZ on this (the JS)
// thread; async jobs queued afterwards carry the mode to the executor thread (executor.h).
static Napi::Value SetFlushDenormal(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), SetFlushDenormalMode(info[0].As<Napi::Boolean>().Value()));
}

static Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
}

static Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}

static Napi::Value CudnnIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::cuda::cudnn_is_available());
}

// cudaSynchronize(device): waits for every kernel queued on that device (-1: the current one).
// lib/ has checked that CUDA is available. Runs in call order with the executor's jobs.
static Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  torch::cuda::synchronize(info[0].As<Napi::Number>().Int64Value());
  return info.Env().Undefined();
}

// cudnnFlags() -> { enabled, benchmark, deterministic, allowTF32, version | null }
static Napi::Value CudnnFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto& ctx = at::globalContext();
  Napi::Object o = Napi::Object::New(env);
  o.Set("enabled", ctx.userEnabledCuDNN());
  o.Set("benchmark", ctx.benchmarkCuDNN());
  o.Set("deterministic", ctx.deterministicCuDNN());
  o.Set("allowTF32", ctx.allowTF32CuDNN());
  if (torch::cuda::cudnn_is_available()) o.Set("version", static_cast<double>(at::Context::versionCuDNN()));
  else o.Set("version", env.Null());
  return o;
}

// setCudnnFlag(name, value): the flags torch.backends.cudnn sets (global, as in PyTorch).
static Napi::Value SetCudnnFlag(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  bool v = info[1].As<Napi::Boolean>().Value();
  auto& ctx = at::globalContext();
  if (name == "enabled") ctx.setUserEnabledCuDNN(v);
  else if (name == "benchmark") ctx.setBenchmarkCuDNN(v);
  else if (name == "deterministic") ctx.setDeterministicCuDNN(v);
  else if (name == "allowTF32") ctx.setAllowTF32CuDNN(v);
  else throw std::invalid_argument("unknown cuDNN flag " + name);
  return info.Env().Undefined();
}

static Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("libtorch", Napi::String::New(env, TORCH_VERSION));
  out.Set("config", Napi::String::New(env, at::show_config()));
  out.Set("parallel", Napi::String::New(env, at::get_parallel_info()));
  return out;
}

// torchrnn's default intra-op thread count: 1, on every libtorch line, unless OMP_NUM_THREADS
// says otherwise. Debian's libtorch 1.13 starts with 1 thread; 2.x with one per core, and on
// top of that OpenBLAS (libopenblas0-pthread) runs its own thread per core inside every GEMM:
// two pools spinning on the same cores. Measured on 2 cores (libtorch 2.6, LSTM inference):
// 2 threads took twice as long as 1. setNumThreads(n) changes it at any time.
static void SetDefaultThreads() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("OMP_NUM_THREADS") == nullptr) torch::set_num_threads(1);
  });
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  SetDefaultThreads();
  ExportOrdered<ManualSeed>(env, exports, "manualSeed");
  ExportOrdered<GetRngState>(env, exports, "getRngState");
  ExportOrdered<SetRngState>(env, exports, "setRngState");
  Export<SetNumThreads>(env, exports, "setNumThreads");
  Export<GetNumThreads>(env, exports, "getNumThreads");
  Export<GetNumThreadsAsync>(env, exports, "getNumThreadsAsync");
  Export<SetFlushDenormal>(env, exports, "setFlushDenormal");
  Export<CudaIsAvailable>(env, exports, "cudaIsAvailable");
  Export<CudaDeviceCount>(env, exports, "cudaDeviceCount");
  Export<CudnnIsAvailable>(env, exports, "cudnnIsAvailable");
  Export<BuildInfo>(env, exports, "buildInfo");
  ExportOrdered<CudaSynchronize>(env, exports, "cudaSynchronize");
  Export<CudnnFlags>(env, exports, "cudnnFlags");
  ExportOrdered<SetCudnnFlag>(env, exports, "setCudnnFlag");
}

}  // namespace trnn
