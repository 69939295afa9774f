// Optimizers: libtorch's torch::optim::{SGD, Adam, AdamW, RMSprop, Adagrad}, whose update rules
// are Python 1.13's. lib/optim owns the parameter groups and their options (schedulers write
// them there); every step hands the current options of each group to libtorch, so a step
// queued with stepAsync uses the options of the moment it was queued.
//
// Every kind is one entry of the table in optimizer.cc (its name, how its options are read,
// how the optimizer is made, how its per-parameter state goes out to JS and comes back); lib's
// side is the OptimizerKind union in lib/binding.ts and the class in lib/optim/optimizer.ts.
#pragma once
#include "../addon.h"

namespace trnn {

struct OptimizerKind;

// One group's options in libtorch's own options type of the optimizer's kind (read on the JS
// thread, copied into the optimizer's group when a step runs).
using GroupOptions = std::vector<std::shared_ptr<const torch::optim::OptimizerOptions>>;

class OptimizerHandle : public Napi::ObjectWrap<OptimizerHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit OptimizerHandle(const Napi::CallbackInfo& info);
  const OptimizerKind* kind = nullptr;
  std::shared_ptr<torch::optim::Optimizer> optimizer;
};

// Per-group options as lib/optim hands them to every step, for this optimizer's kind (JS thread).
GroupOptions ReadGroups(const OptimizerHandle& h, const Napi::Value& v);
// Applies the options and takes one step, without recording gradients. Any thread.
void RunStep(torch::optim::Optimizer& opt, const GroupOptions& groups);
OptimizerHandle* GetOptimizer(const Napi::Value& v);

void InitOptim(Napi::Env env, Napi::Object exports);

}  // namespace trnn
