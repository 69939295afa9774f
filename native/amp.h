// Automatic mixed precision: the autocast state (per thread in libtorch), captured when an
// async job is queued and applied around it on the executor thread, like grad mode; and the
// loss scaling of a GradScaler as the fused training step uses it.
#pragma once
#include "errors.h"

namespace trnn {

struct AutocastState {
  bool cpu = false;
  bool cuda = false;
  at::ScalarType cpuDtype = at::kBFloat16;
  at::ScalarType cudaDtype = at::kHalf;
  bool cache = true;

  static AutocastState Current();
  void Apply() const;
};

// Sets a state for a scope and restores the previous one (clearing the cast cache when
// autocast ends, as torch.autocast's __exit__ does).
class AutocastScope {
 public:
  explicit AutocastScope(const AutocastState& s) : prev_(AutocastState::Current()) { s.Apply(); }
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  AutocastState prev_;
};

// A GradScaler's state as the training step updates it in place (PyTorch's semantics:
// torch.cuda.amp.GradScaler, _amp_update_scale_).
struct ScalerState {
  torch::Tensor scale;          // float32 [1]
  torch::Tensor growthTracker;  // int32 [1]
  double growthFactor = 2.0;
  double backoffFactor = 0.5;
  int64_t growthInterval = 2000;

  // Divides every gradient by the scale; true when one is inf or NaN.
  bool Unscale(const std::vector<torch::Tensor>& params) const;
  // After a step (or a skipped one): backoff on inf, growth after growthInterval good steps.
  void Update(bool foundInf) const;
};

}  // namespace trnn
