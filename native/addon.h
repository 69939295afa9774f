// Per-environment state (one per Node environment: the main thread and each worker_thread).
// Stored with env.SetInstanceData, never in statics, so the addon works in worker_threads.
#pragma once
#include "errors.h"

namespace trnn {

class Executor;
struct DistributedState;  // distributed/process_group.h

struct AddonData {
  AddonData();
  ~AddonData();  // stops the executor first: its thread may still hold tensors

  // lib's TorchError class, registered by lib/binding.ts through `init`, so native errors
  // are TorchErrors too. (Tensor handles are externals: tensor.h.)
  Napi::FunctionReference errorCtor;
  Napi::FunctionReference moduleCtor;     // nn/module.cc
  Napi::FunctionReference optimizerCtor;  // optim/optimizer.cc
  Napi::FunctionReference tracedCtor;     // jit/trace.cc
  Napi::FunctionReference scriptCtor;     // jit/script.cc

  // Live tensor handles and the bytes of the distinct storages they hold. JS thread only.
  struct StorageUse {
    int64_t handles;
    int64_t bytes;
  };
  std::unordered_map<const void*, StorageUse> storages;
  int64_t liveTensors = 0;
  int64_t liveBytes = 0;

  // Operators looked up once by name (ops.cc), called by index.
  std::vector<c10::OperatorHandle> ops;

  std::unique_ptr<Executor> executor;  // created on first use
  Executor& GetExecutor(Napi::Env env);

  // The default process group (distributed.initProcessGroup), or null. Async jobs hold
  // their own reference, so destroyProcessGroup() never frees it under a running job.
  std::shared_ptr<DistributedState> distributed;
};

AddonData& Data(Napi::Env env);

// Each file pair registers its entry points on `exports`.
void InitErrors(Napi::Env env, Napi::Object exports);
void InitTensor(Napi::Env env, Napi::Object exports);
void InitOps(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitModules(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitJit(Napi::Env env, Napi::Object exports);
void InitScript(Napi::Env env, Napi::Object exports);
void InitTrain(Napi::Env env, Napi::Object exports);
void InitAmp(Napi::Env env, Napi::Object exports);
void InitTfjs(Napi::Env env, Napi::Object exports);  // tfjs/rnn.cc
void InitDistributed(Napi::Env env, Napi::Object exports);

}  // namespace trnn
