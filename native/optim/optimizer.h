// Optimizers: libtorch's torch::optim::{SGD, Adam, AdamW, RMSprop, Adagrad}, whose update rules
// are Python 1.13's. lib/optim owns the parameter groups and their options (schedulers write
// them there); every step hands the current options of each group to libtorch, so a step
// queued with stepAsync uses the options of the moment it was queued.
#pragma once
#include "../addon.h"

namespace trnn {

struct GroupOptions {
  double lr = 0, momentum = 0, dampening = 0, weightDecay = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double alpha = 0.99, lrDecay = 0, initialAccumulatorValue = 0;
  bool nesterov = false, amsgrad = false, centered = false;
};

class OptimizerHandle : public Napi::ObjectWrap<OptimizerHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit OptimizerHandle(const Napi::CallbackInfo& info);
  std::string kind;
  std::shared_ptr<torch::optim::Optimizer> optimizer;
};

// Per-group options as lib/optim hands them to every step (JS thread).
std::vector<GroupOptions> ReadGroups(const Napi::Value& v);
// Applies the options and takes one step, without recording gradients. Any thread.
void RunStep(torch::optim::Optimizer& opt, const std::string& kind, const std::vector<GroupOptions>& groups);
OptimizerHandle* GetOptimizer(const Napi::Value& v);

void InitOptim(Napi::Env env, Napi::Object exports);

}  // namespace trnn
