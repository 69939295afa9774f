// Collectives of the default process group, with torch.distributed's names and semantics:
// allReduce (sum, avg, product, min, max), broadcast, allGather, reduceScatter, all in place.
// Each has a synchronous form (JS thread, after the executor's queued jobs) and an Async form
// (an executor job, so it runs after the jobs queued before it and before those queued after).
#pragma once
#include "process_group.h"

namespace trnn {

#ifdef TORCHRNN_HAVE_C10D
// All-reduces `t` in place. "avg" is a sum divided by the world size (Gloo has no AVG);
// integer tensors are divided with truncation toward zero. Any thread; throws ERR_DISTRIBUTED.
void AllReduceInPlace(const DistributedState& s, torch::Tensor t, const std::string& op, const char* name);
#endif

void InitCollectives(Napi::Env env, Napi::Object exports);

}  // namespace trnn
