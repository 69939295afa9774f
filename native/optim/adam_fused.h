// Adam and AdamW whose step updates each parameter in one pass (adam_kernel.h) instead of
// libtorch's eight tensor operations, with the same state (AdamParamState: step, exp_avg,
// exp_avg_sq, max_exp_avg_sq), the same options and the same bits.
//
// When: every parameter with a gradient is a contiguous float32 CPU tensor with a dense
// contiguous gradient of its size, and its state (if any) is contiguous float32 of that size.
// Otherwise (double models, sparse or strided gradients, CUDA) the step is libtorch's own, for
// all parameters. TORCHRNN_FUSED_ADAM=0 (read when an optimizer is made) keeps libtorch's step.
//
// Measured (2-layer LSTM, hidden 128, batch 1, seq 64, peak RSS over idle of a trainStep loop):
// libtorch's step touched 0.75 MB of libtorch's code (its eight kernels) and two temporaries the
// size of the largest parameter; the fused step needs neither.
#pragma once
#include "../addon.h"

namespace trnn {

bool FusedAdamEnabled();
// Parameter updates the fused kernel made so far (optimizerKernels().fusedUpdates: tests see it work)
uint64_t FusedAdamUpdates();

class FusedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace trnn
