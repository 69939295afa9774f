// The fused training step: forward (a traced graph) + loss, backward, gradient clipping and
// the optimizer step as one executor job, so a training step costs one queue round trip and
// no JS work. Models that cannot be traced compute the loss on the JS thread and queue the
// rest (backward, clipping, step) as one job.
#pragma once
#include "../addon.h"

namespace trnn {
void InitTrain(Napi::Env env, Napi::Object exports);
}
