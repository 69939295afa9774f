#include "collectives.h"

#include "../executor.h"
#include "../nn/module.h"
#include "../tensor.h"

namespace trnn {

#ifdef TORCHRNN_HAVE_C10D

static c10d::ReduceOp ReduceOpOf(const std::string& op) {
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "max") return c10d::ReduceOp::MAX;
  return c10d::ReduceOp::SUM;  // sum, avg
}

static void DivideByWorld(torch::Tensor& t, int size) {
  torch::NoGradGuard noGrad;  // raw in-place data, as the collective itself (parameters may require grad)
  if (at::isFloatingType(t.scalar_type()) || at::isComplexType(t.scalar_type())) {
    t.div_(size);
  } else {
    t.div_(size, "trunc");
  }
}

void AllReduceInPlace(const DistributedState& s, torch::Tensor t, const std::string& op, const char* name) {
  try {
    std::vector<at::Tensor> v{t};
    c10d::AllreduceOptions o;
    o.reduceOp = ReduceOpOf(op);
    s.pg->allreduce(v, o)->wait();
  } catch (...) {
    RethrowDistributed(name);
  }
  if (op == "avg") DivideByWorld(t, s.size);
}

static void BroadcastInPlace(const DistributedState& s, torch::Tensor t, int src) {
  try {
    std::vector<at::Tensor> v{t};
    c10d::BroadcastOptions o;
    o.rootRank = src;
    s.pg->broadcast(v, o)->wait();
  } catch (...) {
    RethrowDistributed("broadcast");
  }
}

static void AllGatherInto(const DistributedState& s, const Tensors& outputs, torch::Tensor input) {
  try {
    std::vector<std::vector<at::Tensor>> out{outputs};
    std::vector<at::Tensor> in{input};
    s.pg->allgather(out, in)->wait();
  } catch (...) {
    RethrowDistributed("allGather");
  }
}

// Gloo in libtorch 1.13 has no reduce_scatter: it runs as an all-reduce of the stacked inputs,
// of which this rank keeps its part (the same values; world-size times the traffic).
static void ReduceScatterInto(const DistributedState& s, torch::Tensor output, const Tensors& inputs, const std::string& op) {
  if (s.backend == "gloo") {
    torch::Tensor all;
    {
      torch::NoGradGuard noGrad;
      all = torch::stack(inputs);
    }
    AllReduceInPlace(s, all, op == "avg" ? "sum" : op, "reduceScatter");
    torch::NoGradGuard noGrad;
    output.copy_(all[s.rank]);
  } else {
    try {
      std::vector<at::Tensor> out{output};
      std::vector<std::vector<at::Tensor>> in{inputs};
      c10d::ReduceScatterOptions o;
      o.reduceOp = ReduceOpOf(op);
      s.pg->reduce_scatter(out, in, o)->wait();
    } catch (...) {
      RethrowDistributed("reduceScatter");
    }
  }
  if (op == "avg") DivideByWorld(output, s.size);
}

static Napi::Promise QueueCollective(Napi::Env env, Executor::Work work) {
  return Data(env).GetExecutor(env).Submit(env, std::move(work), [](Napi::Env env) { return env.Undefined(); });
}

// distAllReduce(h, op)
static Napi::Value DistAllReduce(const Napi::CallbackInfo& info) {
  AllReduceInPlace(*CurrentGroup(info.Env(), "allReduce"), TensorHandle::Get(info[0]), info[1].As<Napi::String>(), "allReduce");
  return info.Env().Undefined();
}

static Napi::Value DistAllReduceAsync(const Napi::CallbackInfo& info) {
  auto s = CurrentGroup(info.Env(), "allReduceAsync");
  torch::Tensor t = TensorHandle::Get(info[0]);
  std::string op = info[1].As<Napi::String>();
  return QueueCollective(info.Env(), [s, t, op] { AllReduceInPlace(*s, t, op, "allReduceAsync"); });
}

// distBroadcast(h, src)
static Napi::Value DistBroadcast(const Napi::CallbackInfo& info) {
  BroadcastInPlace(*CurrentGroup(info.Env(), "broadcast"), TensorHandle::Get(info[0]), info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

static Napi::Value DistBroadcastAsync(const Napi::CallbackInfo& info) {
  auto s = CurrentGroup(info.Env(), "broadcastAsync");
  torch::Tensor t = TensorHandle::Get(info[0]);
  int src = info[1].As<Napi::Number>().Int32Value();
  return QueueCollective(info.Env(), [s, t, src] { BroadcastInPlace(*s, t, src); });
}

// distAllGather(outputs[], input)
static Napi::Value DistAllGather(const Napi::CallbackInfo& info) {
  AllGatherInto(*CurrentGroup(info.Env(), "allGather"), TensorsFrom(info[0]), TensorHandle::Get(info[1]));
  return info.Env().Undefined();
}

static Napi::Value DistAllGatherAsync(const Napi::CallbackInfo& info) {
  auto s = CurrentGroup(info.Env(), "allGatherAsync");
  Tensors outs = TensorsFrom(info[0]);
  torch::Tensor in = TensorHandle::Get(info[1]);
  return QueueCollective(info.Env(), [s, outs, in] { AllGatherInto(*s, outs, in); });
}

// distReduceScatter(output, inputs[], op)
static Napi::Value DistReduceScatter(const Napi::CallbackInfo& info) {
  ReduceScatterInto(*CurrentGroup(info.Env(), "reduceScatter"), TensorHandle::Get(info[0]), TensorsFrom(info[1]), info[2].As<Napi::String>());
  return info.Env().Undefined();
}

static Napi::Value DistReduceScatterAsync(const Napi::CallbackInfo& info) {
  auto s = CurrentGroup(info.Env(), "reduceScatterAsync");
  torch::Tensor out = TensorHandle::Get(info[0]);
  Tensors ins = TensorsFrom(info[1]);
  std::string op = info[2].As<Napi::String>();
  return QueueCollective(info.Env(), [s, out, ins, op] { ReduceScatterInto(*s, out, ins, op); });
}

// distIsDense(h): contiguous and strided, as Gloo and NCCL need (lib validates with it).
static Napi::Value DistIsDense(const Napi::CallbackInfo& info) {
  const torch::Tensor& t = TensorHandle::Get(info[0]);
  return Napi::Boolean::New(info.Env(), t.layout() == c10::kStrided && t.is_contiguous());
}

void InitCollectives(Napi::Env env, Napi::Object exports) {
  Export<DistIsDense>(env, exports, "distIsDense");
  ExportOrdered<DistAllReduce>(env, exports, "distAllReduce");
  Export<DistAllReduceAsync>(env, exports, "distAllReduceAsync");
  ExportOrdered<DistBroadcast>(env, exports, "distBroadcast");
  Export<DistBroadcastAsync>(env, exports, "distBroadcastAsync");
  ExportOrdered<DistAllGather>(env, exports, "distAllGather");
  Export<DistAllGatherAsync>(env, exports, "distAllGatherAsync");
  ExportOrdered<DistReduceScatter>(env, exports, "distReduceScatter");
  Export<DistReduceScatterAsync>(env, exports, "distReduceScatterAsync");
}

#else

static Napi::Value DistCollectiveUnavailable(const Napi::CallbackInfo&) {
  ThrowDistributed("torch.distributed is not available: torchrnn was built without c10d/Gloo (install libgloo-dev and rebuild)");
}

void InitCollectives(Napi::Env env, Napi::Object exports) {
  for (const char* name : {"distIsDense"}) Export<DistCollectiveUnavailable>(env, exports, name);
  for (const char* name : {"distAllReduce", "distAllReduceAsync", "distBroadcast", "distBroadcastAsync", "distAllGather", "distAllGatherAsync",
                           "distReduceScatter", "distReduceScatterAsync"}) {
    Export<DistCollectiveUnavailable>(env, exports, name);
  }
}

#endif

}  // namespace trnn
