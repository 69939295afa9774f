#include "addon.h"

#include "executor.h"

namespace trnn {

AddonData::AddonData() = default;

AddonData::~AddonData() {
  executor.reset();
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
  return *env.GetInstanceData<AddonData>();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData>(new AddonData());
  InitErrors(env, exports);
  InitTensor(env, exports);
  InitOps(env, exports);
  InitAutograd(env, exports);
  InitRuntime(env, exports);
  InitModules(env, exports);
  InitOptim(env, exports);
  InitJit(env, exports);
  InitScript(env, exports);
  InitTrain(env, exports);
  InitAmp(env, exports);
  InitTfjs(env, exports);
  InitDistributed(env, exports);
  return exports;
}

}  // namespace trnn

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  return trnn::Init(env, exports);
}

NODE_API_MODULE(torchrnn, InitAll)
