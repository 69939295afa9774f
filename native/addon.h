// Per-environment state (one per Node environment: the main thread and each worker_thread).
// Stored with env.SetInstanceData, never in statics, so the addon works in worker_threads.
#pragma once
#include "errors.h"
#include "small_binary.h"

namespace trnn {

class Executor;
namespace queue {
struct State;  // queue.cc
}

// An operator looked up once by name (ops.cc). Schemas of the common shapes (a tensor result
// of one or two tensors and scalars, or of a tensor and a list of sizes) also keep a typed
// handle, which Call() uses to call the operator unboxed, as Python's generated bindings do,
// without building an IValue stack.
struct RegisteredOp {
  using T = at::Tensor;
  using S = at::Scalar;
  // A tensor and a list of sizes (permute, reshape, view: lib/tfjs gives the list as an Int32Array).
  using TIntList = c10::TypedOperatorHandle<T(const T&, at::IntArrayRef)>;
  using TSymIntList = c10::TypedOperatorHandle<T(const T&, c10::SymIntArrayRef)>;
  c10::OperatorHandle handle;
  std::variant<std::monostate,
               c10::TypedOperatorHandle<T(const T&)>,
               c10::TypedOperatorHandle<T(const T&, const T&)>,
               c10::TypedOperatorHandle<T(const T&, const T&, const S&)>,
               c10::TypedOperatorHandle<T(const T&, const S&)>,
               c10::TypedOperatorHandle<T(const T&, const S&, const S&)>,
               TIntList,
               TSymIntList>
      unboxed;
  SmallBinary small = SmallBinary::kNone;  // add/sub/mul/div.Tensor: small operands computed in small_binary.cc
};
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
  ska::flat_hash_map<const void*, StorageUse> storages;  // open addressing: no node per tensor
  int64_t liveTensors = 0;
  int64_t liveBytes = 0;
  int64_t unreportedBytes = 0;  // not yet passed to AdjustExternalMemory (tensor.cc)

  // Disposed tensor handles whose externals are kept (their own reference made strong) for
  // reuse by TensorHandle::New: an op's result then costs no new external, and the disposed
  // one leaves no garbage for the GC. Only dispose() adds here: a disposed handle is
  // unreachable from lib (Tensor.dispose() drops it). Never freed by ~AddonData: Node
  // releases the references and finalizes the externals at teardown.
  static constexpr size_t kMaxSpareHandles = 64;
  std::vector<class TensorHandle*> spareHandles;

  // Operators looked up once by name (ops.cc), called by index.
  std::vector<RegisteredOp> ops;

  std::unique_ptr<Executor> executor;  // created on first use
  Executor& GetExecutor(Napi::Env env);

  // Queued kernels (queue.h): the errors of failed jobs and what callQueued learned of each
  // operator. Created on first use.
  std::shared_ptr<queue::State> queue;

  // The default process group (distributed.initProcessGroup), or null. Async jobs hold
  // their own reference, so destroyProcessGroup() never frees it under a running job.
  std::shared_ptr<DistributedState> distributed;
};

AddonData& Data(Napi::Env env);

// The object behind an ObjectWrap handle made by `ctor`; nullptr for any other value (where
// ObjectWrap::Unwrap would throw a bare "Invalid argument", or take a handle of another kind
// for its own). Callers throw InvalidHandle (errors.h).
template <typename T>
T* UnwrapAs(const Napi::Value& v, const Napi::FunctionReference& ctor) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(ctor.Value())) return nullptr;
  return T::Unwrap(v.As<Napi::Object>());
}

// Each file pair registers its entry points on `exports`.
void InitErrors(Napi::Env env, Napi::Object exports);
void InitTensor(Napi::Env env, Napi::Object exports);
void InitOps(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitMalloc(Napi::Env env, Napi::Object exports);  // allocator.cc
void InitModules(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitJit(Napi::Env env, Napi::Object exports);
void InitScript(Napi::Env env, Napi::Object exports);
void InitJitExport(Napi::Env env, Napi::Object exports);  // jit/export.cc
void InitTrain(Napi::Env env, Napi::Object exports);
void InitAmp(Napi::Env env, Napi::Object exports);
void InitTfjs(Napi::Env env, Napi::Object exports);  // tfjs/rnn.cc
void InitQueue(Napi::Env env, Napi::Object exports);  // queue.cc
void InitDistributed(Napi::Env env, Napi::Object exports);

}  // namespace trnn
