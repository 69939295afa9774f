// DistributedDataParallel on libtorch's own c10d::Reducer: hooks on the parameters' gradient
// accumulators copy each gradient into a bucket as soon as backward produced it, and all-reduce
// a bucket (averaging over the ranks) as soon as it is full, so communication overlaps with the
// rest of backward; at the end of backward every rank holds the same averaged gradients.
// Buckets follow PyTorch's DDP (1 MiB first bucket, then bucketCapMB, reversed parameter order,
// rebuilt once in gradient-arrival order after the first backward).
//
// Thread rules: the handle is made on the JS thread (broadcasting rank 0's parameters). The
// Reducer's per-iteration calls (DdpBeforeForward/DdpBeforeBackward) run where the forward
// and backward run: the JS thread (ddp.forward + loss.backward()) or the executor (the fused
// trainStep). Queued jobs hold a reference to the state.
#pragma once
#include "process_group.h"

namespace trnn {

struct DdpState;

// The state behind a handle from ddpCreate; nullptr for null/undefined. JS thread.
std::shared_ptr<DdpState> GetDdp(const Napi::Value& v);

// For the fused training step (train/step.cc), on the executor thread; throw ERR_DISTRIBUTED.
// Before the forward: Reducer::prepare_for_forward and the one-time bucket rebuild (as DDP.forward).
void DdpBeforeForward(DdpState& d);
// One all-reduce of a flag: true when the loss is not finite on some rank, so that every rank
// skips the step together (a rank that skipped backward alone would leave the others waiting).
bool DdpAnyRankNonFinite(DdpState& d, bool localNonFinite);
// Before backward: Reducer::prepare_for_backward (the gradient hooks fire during this backward).
void DdpBeforeBackward(DdpState& d, const torch::Tensor& loss);
// Runs `backward`; with d, a Gloo failure inside it (a rank died during the gradient
// all-reduce) becomes ERR_DISTRIBUTED saying so.
void DdpBackward(DdpState* d, const std::function<void()>& backward);

void InitDdp(Napi::Env env, Napi::Object exports);

}  // namespace trnn
