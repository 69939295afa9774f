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

// trainStepAsync({ traced, inputs, loss, optimizer, groups, maxNorm, normType, scaler, ddp })
//   traced: a graph from (parameters..., inputs..., target) to the loss, or null; `inputs` are
//     its inputs.
//   loss: a loss already computed on the JS thread (untraced models), or null.
//   optimizer, groups: the optimizer and its groups' current options; maxNorm (0: no
//     clipping) and normType: clip_grad_norm_'s.
//   scaler: { scale, growthTracker, growthFactor, backoffFactor, growthInterval } of a
//     GradScaler (mixed precision), or null: backward of loss * scale, gradients unscaled, the
//     step skipped when one is inf/NaN, then the scale updated, as scaler.scale/step/update do.
//   ddp: a DistributedDataParallel handle (distributed/ddp.h), or null: its Reducer all-reduces
//     the gradients during backward, so the clipping and the step see the averaged gradients.
// Resolves with the loss value. A non-finite loss applies nothing (no backward, no step), so
// the model stays as it was; lib/ decides whether to throw, skip or stop. With a scaler it
// also backs the scale off, as the inf gradients it would give do in PyTorch. With ddp the
// ranks decide together: when the loss is not finite on any rank, every rank skips the step
// and resolves with NaN (or its own non-finite loss).
struct TrainStepArgs {
  std::shared_ptr<torch::jit::GraphFunction> traced;
  Tensors inputs;
  torch::Tensor loss;
  std::shared_ptr<torch::optim::Optimizer> optimizer;
  GroupOptions groups;
  double maxNorm = 0, normType = 2;
  std::shared_ptr<ScalerState> scaler;
  std::shared_ptr<DdpState> ddp;

  // Read on the JS thread, before the job is queued.
  static TrainStepArgs Read(const Napi::Object& o) {
    auto given = [&](const char* k) { Napi::Value v = o.Get(k); return !v.IsNull() && !v.IsUndefined(); };
    TrainStepArgs a;
    if (given("traced")) a.traced = TracedHandle::Get(o.Get("traced"))->fn;
    a.inputs = TensorsFrom(o.Get("inputs"));
    if (given("loss")) a.loss = TensorHandle::Get(o.Get("loss"));
    OptimizerHandle* oh = GetOptimizer(o.Get("optimizer"));
    a.optimizer = oh->optimizer;
    a.groups = ReadGroups(*oh, o.Get("groups"));
    a.maxNorm = o.Get("maxNorm").As<Napi::Number>().DoubleValue();
    a.normType = o.Get("normType").As<Napi::Number>().DoubleValue();
    if (o.Get("scaler").IsObject()) {
      Napi::Object s = o.Get("scaler").As<Napi::Object>();
      a.scaler = std::make_shared<ScalerState>();
      a.scaler->scale = TensorHandle::Get(s.Get("scale"));
      a.scaler->growthTracker = TensorHandle::Get(s.Get("growthTracker"));
      a.scaler->growthFactor = s.Get("growthFactor").As<Napi::Number>().DoubleValue();
      a.scaler->backoffFactor = s.Get("backoffFactor").As<Napi::Number>().DoubleValue();
      a.scaler->growthInterval = s.Get("growthInterval").As<Napi::Number>().Int64Value();
    }
    a.ddp = GetDdp(o.Get("ddp"));
    return a;
  }
};

static Napi::Value TrainStepAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto args = std::make_shared<const TrainStepArgs>(TrainStepArgs::Read(info[0].As<Napi::Object>()));
  auto result = std::make_shared<double>(0);
  return Data(env).GetExecutor(env).Submit(
      env,
      [args, result] {
        const auto& fn = args->traced;
        const auto& opt = args->optimizer;
        const auto& scaler = args->scaler;
        const auto& ddp = args->ddp;
        const double maxNorm = args->maxNorm, normType = args->normType;
        std::vector<torch::Tensor> params;
        for (auto& g : opt->param_groups()) {
          for (auto& p : g.params()) {
            if (fn) p.mutable_grad() = torch::Tensor();  // zero_grad(set_to_none=True) before the forward
            params.push_back(p);
          }
        }
        if (ddp) DdpBeforeForward(*ddp);
        torch::Tensor loss = fn ? RunGraph(*fn, args->inputs).at(0) : args->loss;
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
            RunStep(*opt, args->groups);
          }
          scaler->Update(foundInf);
          return;
        }
        DdpBackward(ddp.get(), [&] { loss.backward(); });
        if (maxNorm > 0) torch::nn::utils::clip_grad_norm_(params, maxNorm, normType);
        RunStep(*opt, args->groups);
      },
      [result](Napi::Env env) { return Napi::Number::New(env, *result); });
}

void InitTrain(Napi::Env env, Napi::Object exports) {
  Export<TrainStepAsync>(env, exports, "trainStepAsync");
}

}  // namespace trnn
