// Compiled with -ffp-contract=off -fno-math-errno (CMakeLists.txt): every multiply and add below rounds on its
// own unless written as Fma, as libtorch's kernels do.
#include "adam_kernel.h"

#include <cstdlib>
#include <cstring>

namespace trnn {
namespace optim_kernels {
namespace {

#define TRNN_AI inline __attribute__((always_inline))
#pragma GCC diagnostic ignored "-Wpsabi"

typedef float V __attribute__((vector_size(32)));
typedef int32_t VI __attribute__((vector_size(32)));
typedef float VU __attribute__((vector_size(32), aligned(4), may_alias));  // unaligned access
constexpr int kLanes = 8;

TRNN_AI V Splat(float x) { return V{} + x; }

// n lanes from p (fewer than kLanes: the tail, zero-padded; the padding's results are dropped)
TRNN_AI V Load(const float* p, int n) {
  if (n == kLanes) return *reinterpret_cast<const VU*>(p);
  V v = {};
  for (int k = 0; k < n; k++) v[k] = p[k];
  return v;
}
TRNN_AI void Store(float* p, const V& v, int n) {
  if (n == kLanes) {
    *reinterpret_cast<VU*>(p) = v;
    return;
  }
  for (int k = 0; k < n; k++) p[k] = v[k];
}

// a * b + c, rounded once with FMA instructions (libtorch's vec::fmadd), twice without
template <bool kFma>
TRNN_AI V Fma(const V& a, const V& b, const V& c) {
  if constexpr (kFma) {
    V r;  // vfmadd231ps once inlined into the avx2+fma variant
    for (int k = 0; k < kLanes; k++) r[k] = __builtin_fmaf(a[k], b[k], c[k]);
    return r;
  } else {
    return a * b + c;
  }
}

// correctly rounded (vsqrtps with -fno-math-errno)
TRNN_AI V Sqrt(const V& x) {
  V r;
  for (int k = 0; k < kLanes; k++) r[k] = __builtin_sqrtf(x[k]);
  return r;
}

// libtorch's vec::maximum: the larger, or a NaN (all bits set) where either is NaN
TRNN_AI V Maximum(const V& a, const V& b) {
  const VI unordered = (a != a) | (b != b);
  const VI greater = a > b;
  const VI pick = (greater & reinterpret_cast<const VI&>(a)) | (~greater & reinterpret_cast<const VI&>(b));
  return reinterpret_cast<V>(pick | unordered);
}

template <bool kFma>
TRNN_AI void Body(const AdamArgs& a) {
  const V beta1 = Splat(a.beta1), oneMinusBeta1 = Splat(a.oneMinusBeta1);
  const V beta2 = Splat(a.beta2), oneMinusBeta2 = Splat(a.oneMinusBeta2);
  const V bc2 = Splat(a.biasCorrection2Sqrt), eps = Splat(a.eps), negStep = Splat(a.negStepSize);
  const V l2 = Splat(a.l2), decay = Splat(a.decay);
  const bool hasL2 = a.l2 != 0.0f, hasDecay = a.decay != 1.0f, ams = a.maxExpAvgSq != nullptr;
  for (int64_t i = 0; i < a.n; i += kLanes) {
    const int n = a.n - i < kLanes ? static_cast<int>(a.n - i) : kLanes;
    V p = Load(a.param + i, n);
    V g = Load(a.grad + i, n);
    if (hasDecay) p = p * decay;
    if (hasL2) g = Fma<kFma>(p, l2, g);
    const V m = Fma<kFma>(g, oneMinusBeta1, Load(a.expAvg + i, n) * beta1);
    const V v = Fma<kFma>(oneMinusBeta2 * g, g, Load(a.expAvgSq + i, n) * beta2);
    V src = v;
    if (ams) {
      src = Maximum(v, Load(a.maxExpAvgSq + i, n));
      Store(a.maxExpAvgSq + i, src, n);
    }
    const V denom = Sqrt(src) / bc2 + eps;
    p = p + (negStep * m) / denom;
    Store(a.expAvg + i, m, n);
    Store(a.expAvgSq + i, v, n);
    Store(a.param + i, p, n);
  }
}

void Base(const AdamArgs& a) { Body<false>(a); }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TRNN_HAVE_AVX2_VARIANT 1
__attribute__((target("avx2,fma"))) void Avx2(const AdamArgs& a) { Body<true>(a); }
#endif

using Fn = void (*)(const AdamArgs&);
struct Picked {
  Fn fn;
  const char* name;
};

// The variant whose roundings are those of the libtorch kernels that run here: libtorch's AVX2
// and AVX-512 kernels fuse the multiply-adds, its default (SSE) ones do not. libtorch takes the
// default ones on a CPU without AVX2 and FMA, or when ATEN_CPU_CAPABILITY=default.
const Picked& Pick() {
  static const Picked picked = [] {
    const char* cap = std::getenv("ATEN_CPU_CAPABILITY");
    const bool libtorchDefault = cap != nullptr && std::strcmp(cap, "default") == 0;
#ifdef TRNN_HAVE_AVX2_VARIANT
    __builtin_cpu_init();
    if (!libtorchDefault && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Picked{Avx2, "avx2+fma"};
#endif
    (void)libtorchDefault;
    return Picked{Base, "baseline"};
  }();
  return picked;
}

}  // namespace

void AdamUpdate(const AdamArgs& a) { Pick().fn(a); }
const char* AdamKernelName() { return Pick().name; }

}  // namespace optim_kernels
}  // namespace trnn
