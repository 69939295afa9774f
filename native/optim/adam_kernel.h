// One Adam / AdamW update of a float32 parameter as one pass over its elements.
//
// Why: libtorch's torch::optim::Adam updates a parameter with eight tensor operations (mul_,
// add_, mul_, addcmul_, sqrt, div, add_, addcdiv_; AdamW's decay a ninth), each a pass over
// the parameter's size, two of them into new tensors. One pass reads the gradient and the three
// state arrays once and writes them once.
//
// The arithmetic is libtorch's, operation by operation and rounding by rounding, so the result
// is the same bits as torch::optim::Adam's on the same build (adam_fused.cc's tests compare them
// with TORCHRNN_FUSED_ADAM=0): per element, in float32,
//   g  = grad, or fma(p, weightDecay, grad) for Adam's L2 term (add(p, alpha): a fused multiply-add)
//   m  = fma(g, 1 - beta1, m * beta1)                  exp_avg.mul_(beta1).add_(g, 1 - beta1)
//   v  = v * beta2 + ((1 - beta2) * g) * g             exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2)
//   vm = max(vm, v) with amsgrad                       max_out(max_exp_avg_sq, exp_avg_sq, max_exp_avg_sq)
//   d  = sqrt(v or vm) / sqrt(bias correction 2) + eps
//   p  = p + (-stepSize * m) / d                        p.addcdiv_(exp_avg, denom, -stepSize)
// and for AdamW, p = p * (1 - lr * weightDecay) first. The multiply-adds round once, as in
// libtorch's AVX2 and AVX-512 kernels (vec::fmadd; Debian's builds of 1.13 and 2.6 also fuse
// addcmul's multiply and add), and twice where libtorch runs its default kernels (a CPU without
// AVX2 and FMA, or ATEN_CPU_CAPABILITY=default). Checked bit for bit against libtorch's Adam on
// 1.13 and 2.6 with each of its AVX2, AVX-512 and default kernels (test/40).
#pragma once
#include <cstdint>

namespace trnn {
namespace optim_kernels {

struct AdamArgs {
  float* param;
  float* expAvg;
  float* expAvgSq;
  float* maxExpAvgSq;  // amsgrad's running maximum, or null
  const float* grad;
  int64_t n;
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2;
  float biasCorrection2Sqrt;  // sqrt(1 - beta2^step), as a float
  float eps;
  float negStepSize;  // -lr / (1 - beta1^step)
  float l2;           // Adam's weightDecay (0: none)
  float decay;        // AdamW's 1 - lr * weightDecay (1: none)
};

void AdamUpdate(const AdamArgs& a);

// "avx2+fma" or "baseline": the variant this CPU runs
const char* AdamKernelName();

}  // namespace optim_kernels
}  // namespace trnn
