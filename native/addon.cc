#include "addon.h"

#include "executor.h"

namespace trnn {

AddonData::AddonData() = default;

// Data(env) is called several times per tensor op; napi_get_instance_data is not free. Each
// environment runs on its own thread, so the last lookup is cached per thread.
static thread_local napi_env cachedEnv = nullptr;
static thread_local AddonData* cachedData = nullptr;

AddonData::~AddonData() {
  executor.reset();
  if (cachedData == this) {
    cachedEnv = nullptr;
    cachedData = nullptr;
  }
}

Executor& AddonData::GetExecutor(Napi::Env env) {
  if (!executor) executor = std::make_unique<Executor>(env);
  return *executor;
}

void WaitForExecutor(Napi::Env env) {
  AddonData& data = Data(env);
  if (data.executor) data.executor->WaitIdle();
}

AddonData& Data(Napi::Env env) {
  if (static_cast<napi_env>(env) != cachedEnv || cachedData == nullptr) {
    cachedData = env.GetInstanceData<AddonData>();
    cachedEnv = env;
  }
  return *cachedData;
}

// stopExecutor(): on the process's 'exit' event (lib/binding.ts); see Executor::StopThread.
static Napi::Value StopExecutor(const Napi::CallbackInfo& info) {
  AddonData& data = Data(info.Env());
  if (data.executor) data.executor->StopThread();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData>(new AddonData());
  Export<StopExecutor>(env, exports, "stopExecutor");
  InitErrors(env, exports);
  InitTensor(env, exports);
  InitOps(env, exports);
  InitAutograd(env, exports);
  InitRuntime(env, exports);
  InitMalloc(env, exports);
  InitModules(env, exports);
  InitOptim(env, exports);
  InitJit(env, exports);
  InitScript(env, exports);
  InitJitExport(env, exports);
  InitTrain(env, exports);
  InitAmp(env, exports);
  InitTfjs(env, exports);
  InitQueue(env, exports);
  InitDistributed(env, exports);
  return exports;
}

}  // namespace trnn

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  return trnn::Init(env, exports);
}

NODE_API_MODULE(torchrnn, InitAll)
