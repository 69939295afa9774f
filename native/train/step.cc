#include "step.h"

#include <torch/csrc/jit/api/function_impl.h>

#include "../amp.h"
#include "../distributed/ddp.h"
#include "../executor.h"
#include "../jit/trace.h"
#include "../nn/module.h"
#include "../optim/optimizer.h"
#include "../tensor.h"

namespace trnn {

// trainStepAsync(traced | null, inputs, loss | null, optimizer, groupOptions, maxNorm, normType, scaler | null, ddp | null)
//   traced: a graph from (parameters..., inputs..., target) to the loss; `inputs` are its inputs.
//   loss: a loss already computed on the JS thread (untraced models).
//   scaler: { scale, growthTracker, growthFactor, backoffFactor, growthInterval } of a
//     GradScaler (mixed precision): backward of loss * scale, gradients unscaled, the step
//     skipped when one is inf/NaN, then the scale updated, as scaler.scale/step/update do.
//   ddp: a DistributedDataParallel handle (distributed/ddp.h): its Reducer all-reduces the
//     gradients during backward, so the clipping and the step see the averaged gradients.
// Resolves with the loss value. A non-finite loss applies nothing (no backward, no step), so
// the model stays as it was; lib/ decides whether to throw, skip or stop. With a scaler it
// also backs the scale off, as the inf gradients it would give do in PyTorch. With ddp the
// ranks decide together: when the loss is not finite on any rank, every rank skips the step
// and resolves with NaN (or its own non-finite loss).
static Napi::Value TrainStepAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<torch::jit::GraphFunction> fn;
  if (!info[0].IsNull() && !info[0].IsUndefined()) fn = TracedHandle::Get(info[0])->fn;
  Tensors inputs = TensorsFrom(info[1]);
  torch::Tensor given;
  if (!info[2].IsNull() && !info[2].IsUndefined()) given = TensorHandle::Get(info[2]);
  OptimizerHandle* oh = GetOptimizer(info[3]);
  auto opt = oh->optimizer;
  std::string kind = oh->kind;
  auto groups = ReadGroups(info[4]);
  double maxNorm = info[5].As<Napi::Number>().DoubleValue();
  double normType = info[6].As<Napi::Number>().DoubleValue();
  std::shared_ptr<ScalerState> scaler;
  if (info.Length() > 7 && info[7].IsObject()) {
    Napi::Object o = info[7].As<Napi::Object>();
    scaler = std::make_shared<ScalerState>();
    scaler->scale = TensorHandle::Get(o.Get("scale"));
    scaler->growthTracker = TensorHandle::Get(o.Get("growthTracker"));
    scaler->growthFactor = o.Get("growthFactor").As<Napi::Number>().DoubleValue();
    scaler->backoffFactor = o.Get("backoffFactor").As<Napi::Number>().DoubleValue();
    scaler->growthInterval = o.Get("growthInterval").As<Napi::Number>().Int64Value();
  }
  std::shared_ptr<DdpState> ddp;
  if (info.Length() > 8) ddp = GetDdp(info[8]);
  auto result = std::make_shared<double>(0);
  return Data(env).GetExecutor(env).Submit(
      env,
      [fn, inputs, given, opt, kind, groups, maxNorm, normType, scaler, ddp, result] {
        std::vector<torch::Tensor> params;
        for (auto& g : opt->param_groups()) {
          for (auto& p : g.params()) {
            if (fn) p.mutable_grad() = torch::Tensor();  // zero_grad(set_to_none=True) before the forward
            params.push_back(p);
          }
        }
        if (ddp) DdpBeforeForward(*ddp);
        torch::Tensor loss = fn ? RunGraph(*fn, inputs).at(0) : given;
        double v = loss.item<double>();
        *result = v;
        bool skip = !std::isfinite(v);
        if (ddp && DdpAnyRankNonFinite(*ddp, skip) && !skip) {
          skip = true;
          *result = std::numeric_limits<double>::quiet_NaN();
        }
        if (skip) {
          if (scaler) scaler->Update(true);
          return;
        }
        if (!fn) for (auto& p : params) p.mutable_grad() = torch::Tensor();
        if (ddp) DdpBeforeBackward(*ddp, loss);
        if (scaler) {
          DdpBackward(ddp.get(), [&] { (loss.to(torch::kFloat32) * scaler->scale.to(loss.device())).backward(); });
          bool foundInf = scaler->Unscale(params);
          if (!foundInf) {
            if (maxNorm > 0) torch::nn::utils::clip_grad_norm_(params, maxNorm, normType);
            RunStep(*opt, kind, groups);
          }
          scaler->Update(foundInf);
          return;
        }
        DdpBackward(ddp.get(), [&] { loss.backward(); });
        if (maxNorm > 0) torch::nn::utils::clip_grad_norm_(params, maxNorm, normType);
        RunStep(*opt, kind, groups);
      },
      [result](Napi::Env env) { return Napi::Number::New(env, *result); });
}

void InitTrain(Napi::Env env, Napi::Object exports) {
  Export<TrainStepAsync>(env, exports, "trainStepAsync");
}

}  // namespace trnn
