// Stand-in for a header that Debian's libtorch-dev does not ship (it ships c10d's reducer.hpp,
// which includes this one, but not torch/csrc/distributed/autograd/). The build searches this
// directory last (-idirafter), so a libtorch that has the real header uses it.
//
// reducer.hpp needs two names from it, for a static_assert and for a member whose layout does
// not depend on the class: DistAutogradContext::GradCallback and ContextPtr (a shared_ptr).
// torchrnn never uses distributed autograd (RPC), so nothing else of the class is declared.
#pragma once
#include <functional>
#include <memory>

#include <ATen/core/Tensor.h>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
