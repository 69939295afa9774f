// Operators without a meta kernel (libtorch 1.13 lacks several that the tfjs backend's kernels
// use), for callQueued (queue.cc): their output's shape follows a rule; its dtype comes from
// running the operator on stand-ins (one element per tensor argument, same rank and dtype: type
// promotion sees what it would see).
#pragma once
#include "addon.h"

namespace trnn {
namespace queue {

enum Rule { kNoRule = 0, kUnary, kBroadcast, kWhere, kIndexSelect, kConvolution };

// The rule of an operator, or kNoRule.
int RuleFor(const c10::FunctionSchema& s);

// The output the rule gives (allocated, not computed), or an undefined tensor when the
// arguments are not the rule's.
at::Tensor RuleOutput(int rule, const c10::OperatorHandle& op, const torch::jit::Stack& stack);

}  // namespace queue
}  // namespace trnn
