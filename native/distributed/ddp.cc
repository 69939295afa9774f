#include "ddp.h"

#include "../nn/module.h"
#include "../tensor.h"

#ifdef TORCHRNN_HAVE_C10D
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#endif

namespace trnn {

#ifdef TORCHRNN_HAVE_C10D

struct DdpState {
  std::shared_ptr<DistributedState> dist;  // keeps the group alive (destroyProcessGroup() after DDP was made)
  std::unique_ptr<c10d::Reducer> reducer;
  c10::Device device = c10::kCPU;
  ~DdpState() {
    // ~Reducer removes its hooks from the gradient accumulators; it may throw (noexcept(false)).
    try {
      reducer.reset();
    } catch (...) {
    }
  }
};

struct DdpHolder {
  std::shared_ptr<DdpState> state;
};

std::shared_ptr<DdpState> GetDdp(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  return v.As<Napi::External<DdpHolder>>().Data()->state;
}

void DdpBeforeForward(DdpState& d) {
  try {
    d.reducer->prepare_for_forward();
    d.reducer->rebuild_buckets();  // a collective the first time after the first backward; a no-op later
  } catch (...) {
    RethrowDistributed("DistributedDataParallel (before the forward)");
  }
}

bool DdpAnyRankNonFinite(DdpState& d, bool localNonFinite) {
  torch::Tensor flag = torch::full({1}, localNonFinite ? 1.0f : 0.0f, torch::TensorOptions().device(d.device));
  try {
    std::vector<at::Tensor> v{flag};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::MAX;
    d.dist->pg->allreduce(v, o)->wait();
  } catch (...) {
    RethrowDistributed("DistributedDataParallel (sharing whether the loss is finite)");
  }
  return flag.item<float>() > 0;
}

void DdpBeforeBackward(DdpState& d, const torch::Tensor& loss) {
  try {
    d.reducer->prepare_for_backward({loss});
  } catch (...) {
    RethrowDistributed("DistributedDataParallel (before backward)");
  }
}

void DdpBackward(DdpState* d, const std::function<void()>& backward) {
  if (!d) return backward();
  try {
    backward();
  } catch (const CodedError&) {
    throw;
  } catch (...) {
    ErrorInfo e = DescribeCurrentException();
    if (e.code == "ERR_DISTRIBUTED") ThrowDistributed("DistributedDataParallel (the gradient all-reduce during backward) failed: " + e.message);
    throw;
  }
}

// ddpCreate(params[], bucketCapBytes, findUnusedParameters, gradientAsBucketView) -> handle
// Checks that every rank has the same parameters (count, shapes, dtypes), copies rank 0's
// values to every rank, and builds the Reducer. Blocks until every rank has called it.
static Napi::Value DdpCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dist = CurrentGroup(env, "DistributedDataParallel");
  Tensors params = TensorsFrom(info[0]);
  int64_t bucketCap = info[1].As<Napi::Number>().Int64Value();
  bool findUnused = info[2].As<Napi::Boolean>().Value();
  bool asView = info[3].As<Napi::Boolean>().Value();
  auto state = std::make_shared<DdpState>();
  state->dist = dist;
  state->device = params.at(0).device();
  try {
    c10d::verify_params_across_processes(dist->pg, params, c10::nullopt);
    {
      torch::NoGradGuard noGrad;  // writes the parameters' data, as PyTorch's _sync_module_states
      c10d::broadcast_coalesced(dist->pg, params, 250 * 1024 * 1024, 0);
    }
    std::vector<size_t> limits{static_cast<size_t>(c10d::kDefaultFirstBucketBytes), static_cast<size_t>(bucketCap)};
    std::vector<bool> sparse(params.size(), false);
    auto assignment = c10d::compute_bucket_assignment_by_size(params, limits, sparse);
    auto buckets = std::get<0>(assignment);
    auto perBucketLimits = std::get<1>(assignment);
    // Gradients arrive roughly in reverse order of the parameters (as PyTorch's DDP assumes).
    std::reverse(buckets.begin(), buckets.end());
    std::reverse(perBucketLimits.begin(), perBucketLimits.end());
    state->reducer = std::make_unique<c10d::Reducer>(params, buckets, perBucketLimits, dist->pg, sparse, bucketCap, findUnused, asView,
                                                     std::unordered_map<size_t, std::string>{}, c10d::kDefaultFirstBucketBytes);
  } catch (...) {
    RethrowDistributed("DistributedDataParallel");
  }
  return Napi::External<DdpHolder>::New(env, new DdpHolder{state}, [](Napi::Env, DdpHolder* h) { delete h; });
}

// ddpPrepareForward(handle, sync): what DDP.forward does before the module's forward with grad
// enabled: prepare_for_forward when the gradients will be synchronized, and the bucket rebuild.
static Napi::Value DdpPrepareForward(const Napi::CallbackInfo& info) {
  auto d = GetDdp(info[0]);
  if (info[1].As<Napi::Boolean>().Value()) {
    DdpBeforeForward(*d);
  } else {
    try {
      d->reducer->rebuild_buckets();
    } catch (...) {
      RethrowDistributed("DistributedDataParallel (before the forward)");
    }
  }
  return info.Env().Undefined();
}

// ddpPrepareBackward(handle, outputs[]): after the forward, when a backward will follow.
static Napi::Value DdpPrepareBackward(const Napi::CallbackInfo& info) {
  auto d = GetDdp(info[0]);
  Tensors outputs = TensorsFrom(info[1]);
  try {
    d->reducer->prepare_for_backward(outputs);
  } catch (...) {
    RethrowDistributed("DistributedDataParallel.forward");
  }
  return info.Env().Undefined();
}

void InitDdp(Napi::Env env, Napi::Object exports) {
  // Ordered: they read parameters and the Reducer's state, which queued trainStep jobs use.
  ExportOrdered<DdpCreate>(env, exports, "ddpCreate");
  ExportOrdered<DdpPrepareForward>(env, exports, "ddpPrepareForward");
  ExportOrdered<DdpPrepareBackward>(env, exports, "ddpPrepareBackward");
}

#else

struct DdpState {};

std::shared_ptr<DdpState> GetDdp(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  ThrowDistributed("DistributedDataParallel: torchrnn was built without c10d/Gloo");
}
void DdpBeforeForward(DdpState&) {}
bool DdpAnyRankNonFinite(DdpState&, bool local) { return local; }
void DdpBeforeBackward(DdpState&, const torch::Tensor&) {}
void DdpBackward(DdpState*, const std::function<void()>& backward) { backward(); }

static Napi::Value DdpUnavailable(const Napi::CallbackInfo&) {
  ThrowDistributed("DistributedDataParallel is not available: torchrnn was built without c10d/Gloo (install libgloo-dev and rebuild)");
}

void InitDdp(Napi::Env env, Napi::Object exports) {
  Export<DdpUnavailable>(env, exports, "ddpCreate");
  Export<DdpUnavailable>(env, exports, "ddpPrepareForward");
  Export<DdpUnavailable>(env, exports, "ddpPrepareBackward");
}

#endif

}  // namespace trnn
