#include "gate_kernels.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace trnn {
namespace fused {
namespace gate_kernels {
namespace {

#define TRNN_AI inline __attribute__((always_inline))

// 32-byte vectors cross these functions only after inlining, never an ABI boundary, so GCC's
// warning about returning them without AVX does not apply (parameters are const references,
// for which GCC prints an unsuppressible note otherwise).
#pragma GCC diagnostic ignored "-Wpsabi"


typedef float V __attribute__((vector_size(32)));
typedef int32_t VI __attribute__((vector_size(32)));
typedef float VU __attribute__((vector_size(32), aligned(4), may_alias));  // unaligned access
constexpr int kLanes = 8;

TRNN_AI V Splat(float x) { return V{} + x; }

// m ? a : b per lane, m from a comparison (all ones or zero), as bitwise operations: the
// baseline ISA (SSE2) has no blend, and GCC lowers a vector ?: there lane by lane.
TRNN_AI V Select(const VI& m, const V& a, const V& b) {
  return reinterpret_cast<V>((m & reinterpret_cast<VI>(a)) | (~m & reinterpret_cast<VI>(b)));
}

// n lanes from p (n == kLanes: one unaligned load; fewer: the row's tail, zero-padded)
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

// Cephes expf: x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 polynomial, 2^n from the
// exponent bits. The input is clamped to [-87.3, 88]: 2^n stays a normal float and the result
// finite (exp(88) = 1.65e38), which is all sigmoid and tanh need. NaN propagates through the
// polynomial (the clamps compare false for NaN and keep x).
TRNN_AI V Exp(const V& in) {
  V x = Select(in > Splat(88.0f), Splat(88.0f), in);
  x = Select(x < Splat(-87.3f), Splat(-87.3f), x);
  const V magic = Splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  V t = x * 1.44269504088896341f + magic;
  V n = t - magic;
  VI ni = reinterpret_cast<VI>(t) - 0x4B400000;  // the integer held in t's low mantissa bits
  V r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  V p = Splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  V y = p * (r * r) + r + 1.0f;
  return y * reinterpret_cast<V>((ni + 127) << 23);
}

TRNN_AI V Sigmoid(const V& x) { return 1.0f / (1.0f + Exp(-x)); }

// Cephes tanhf: odd polynomial below |x| = 0.625, else 1 - 2 / (exp(2|x|) + 1) with x's sign
// (exp's clamp makes that exactly 1 for |x| >= 44).
TRNN_AI V Tanh(const V& x) {
  const VI sign = reinterpret_cast<VI>(x) & static_cast<int32_t>(0x80000000u);
  const V a = reinterpret_cast<V>(reinterpret_cast<VI>(x) ^ sign);
  V big = 1.0f - 2.0f / (Exp(a + a) + 1.0f);
  big = reinterpret_cast<V>(reinterpret_cast<VI>(big) | sign);
  const V z = x * x;
  V p = Splat(-5.70498872745e-3f);
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const V small = p * z * x + x;
  return Select(a < Splat(0.625f), small, big);
}

// act(x) for an activation code (gate_kernels.h); hardSigmoid as tfjs computes it (0.2 x, then
// + 0.5, then the clip), relu as libtorch's. NaN stays NaN: the comparisons are false for NaN
// and keep x.
template <int A>
TRNN_AI V Activate(const V& x) {
  if constexpr (A == kActTanh) {
    return Tanh(x);
  } else if constexpr (A == kActSigmoid) {
    return Sigmoid(x);
  } else if constexpr (A == kActHardSigmoid) {
    V y = x * 0.2f;
    y = y + 0.5f;
    y = Select(y < Splat(0.0f), Splat(0.0f), y);
    return Select(y > Splat(1.0f), Splat(1.0f), y);
  } else if constexpr (A == kActRelu) {
    return Select(x < Splat(0.0f), Splat(0.0f), x);
  } else {
    return x;
  }
}

// Whether row r is masked (kept from the previous step).
TRNN_AI bool Masked(const float* mask, int64_t stride, int64_t r) { return mask != nullptr && mask[r * stride] == 0.0f; }

TRNN_AI void CopyRow(float* dst, const float* src, int64_t n) {
  if (dst != src) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

template <int A, int R>
TRNN_AI void LstmChunk(const LstmRows& s, float* g, const float* xw, const float* cp, float* c, float* tc, float* h, int64_t j, int n) {
  const int64_t u = s.units;
  const V i = Activate<R>(Load(g + j, n) + Load(xw + j, n)), f = Activate<R>(Load(g + u + j, n) + Load(xw + u + j, n));
  const V gg = Activate<A>(Load(g + 2 * u + j, n) + Load(xw + 2 * u + j, n)), o = Activate<R>(Load(g + 3 * u + j, n) + Load(xw + 3 * u + j, n));
  const V cv = f * Load(cp + j, n) + i * gg;
  const V t = Activate<A>(cv);
  Store(g + j, i, n);
  Store(g + u + j, f, n);
  Store(g + 2 * u + j, gg, n);
  Store(g + 3 * u + j, o, n);
  Store(c + j, cv, n);
  Store(tc + j, t, n);
  Store(h + j, o * t, n);
}

template <int A, int R>
TRNN_AI void LstmBody(const LstmRows& s, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; r++) {
    float* g = s.gates + r * s.gatesStride;
    const float *xw = s.xw + r * s.xwStride, *cp = s.cPrev + r * s.cPrevStride;
    float *c = s.c + r * s.cStride, *tc = s.tc + r * s.tcStride, *h = s.h + r * s.hStride;
    if (Masked(s.mask, s.maskStride, r)) {
      CopyRow(h, s.hPrev + r * s.hPrevStride, s.units);
      CopyRow(c, cp, s.units);
      continue;
    }
    int64_t j = 0;
    for (; j + kLanes <= s.units; j += kLanes) LstmChunk<A, R>(s, g, xw, cp, c, tc, h, j, kLanes);
    if (j < s.units) LstmChunk<A, R>(s, g, xw, cp, c, tc, h, j, static_cast<int>(s.units - j));
  }
}

// libtorch's GRU cell: r = σ(hr + xr), z = σ(hz + xz), n = tanh(xn + hn * r), h = (hPrev - n) * z + n
TRNN_AI void GruChunk(const GruRows& s, const float* xg, const float* hg, const float* hp, float* h, float* gates, int64_t j, int n) {
  const int64_t u = s.units;
  V br = {}, bz = {}, bn = {};
  if (s.bhh) br = Load(s.bhh + j, n), bz = Load(s.bhh + u + j, n), bn = Load(s.bhh + 2 * u + j, n);
  const V r = Sigmoid((Load(hg + j, n) + br) + Load(xg + j, n));
  const V z = Sigmoid((Load(hg + u + j, n) + bz) + Load(xg + u + j, n));
  const V hn = Load(hg + 2 * u + j, n) + bn;
  const V nn = Tanh(Load(xg + 2 * u + j, n) + hn * r);
  Store(h + j, (Load(hp + j, n) - nn) * z + nn, n);
  if (gates) {
    Store(gates + j, r, n);
    Store(gates + u + j, z, n);
    Store(gates + 2 * u + j, nn, n);
    Store(gates + 3 * u + j, hn, n);
  }
}

TRNN_AI void GruBody(const GruRows& s, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; r++) {
    const float *xg = s.xg + r * s.xgStride, *hg = s.hg + r * s.hgStride, *hp = s.hPrev + r * s.hPrevStride;
    float *h = s.h + r * s.hStride, *gates = s.gates ? s.gates + r * s.gatesStride : nullptr;
    int64_t j = 0;
    for (; j + kLanes <= s.units; j += kLanes) GruChunk(s, xg, hg, hp, h, gates, j, kLanes);
    if (j < s.units) GruChunk(s, xg, hg, hp, h, gates, j, static_cast<int>(s.units - j));
  }
}

template <int A>
TRNN_AI void RnnBody(const RnnRows& s, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; r++) {
    const float *hw = s.hw + r * s.hwStride, *xw = s.xw + r * s.xwStride;
    float* h = s.h + r * s.hStride;
    if (Masked(s.mask, s.maskStride, r)) {
      CopyRow(h, s.hPrev + r * s.hPrevStride, s.units);
      continue;
    }
    for (int64_t j = 0; j < s.units; j += kLanes) {
      const int n = static_cast<int>(s.units - j < kLanes ? s.units - j : kLanes);
      Store(h + j, Activate<A>(Load(hw + j, n) + Load(xw + j, n)), n);
    }
  }
}

// TensorFlow.js's GRU, first pass: z, r and r * hPrev.
template <int R>
TRNN_AI void GruTfjsGatesBody(const GruTfjsRows& s, int64_t begin, int64_t end) {
  const int64_t u = s.units;
  for (int64_t r = begin; r < end; r++) {
    const float *xg = s.xg + r * s.xgStride, *hg = s.hg + r * s.hgStride, *hp = s.hPrev + r * s.hPrevStride;
    float *g = s.gates + r * s.gatesStride, *rh = s.rh + r * s.rhStride;
    if (Masked(s.mask, s.maskStride, r)) {
      std::memset(rh, 0, static_cast<size_t>(u) * sizeof(float));  // finite: the weight gradient's matmul reads it
      continue;
    }
    for (int64_t j = 0; j < u; j += kLanes) {
      const int n = static_cast<int>(u - j < kLanes ? u - j : kLanes);
      const V z = Activate<R>(Load(xg + j, n) + Load(hg + j, n));
      const V rv = Activate<R>(Load(xg + u + j, n) + Load(hg + u + j, n));
      Store(g + j, z, n);
      Store(g + u + j, rv, n);
      Store(rh + j, rv * Load(hp + j, n), n);
    }
  }
}

// TensorFlow.js's GRU, second pass: hh and the new state.
template <int A>
TRNN_AI void GruTfjsStateBody(const GruTfjsRows& s, int64_t begin, int64_t end) {
  const int64_t u = s.units;
  for (int64_t r = begin; r < end; r++) {
    const float *xg = s.xg + r * s.xgStride, *hp = s.hPrev + r * s.hPrevStride, *rhw = s.rhw + r * s.rhwStride;
    float *g = s.gates + r * s.gatesStride, *h = s.h + r * s.hStride;
    if (Masked(s.mask, s.maskStride, r)) {
      CopyRow(h, hp, u);
      continue;
    }
    for (int64_t j = 0; j < u; j += kLanes) {
      const int n = static_cast<int>(u - j < kLanes ? u - j : kLanes);
      const V hh = Activate<A>(Load(xg + 2 * u + j, n) + Load(rhw + j, n));
      const V z = Load(g + j, n);
      Store(g + 2 * u + j, hh, n);
      Store(h + j, z * Load(hp + j, n) + (1.0f - z) * hh, n);
    }
  }
}

// ---- backward

// act'(z) from a = act(z) (lstm.h's Deriv, per lane).
template <int A>
TRNN_AI V Deriv(const V& a) {
  if constexpr (A == kActTanh) {
    return 1.0f - a * a;
  } else if constexpr (A == kActSigmoid) {
    return a * (1.0f - a);
  } else if constexpr (A == kActHardSigmoid) {
    return Select((a > Splat(0.0f)) & (a < Splat(1.0f)), Splat(0.2f), Splat(0.0f));
  } else if constexpr (A == kActRelu) {
    return Select(a > Splat(0.0f), Splat(1.0f), Splat(0.0f));
  } else {
    return Splat(1.0f);
  }
}

// 0 where |v| is below 2^-100 (common.h FlushDenormal: why), v elsewhere (NaN stays NaN).
TRNN_AI V Flush(const V& v) {
  const V mag = reinterpret_cast<V>(reinterpret_cast<VI>(v) & 0x7fffffff);
  return Select(mag < Splat(kFlushBelow), Splat(0.0f), v);
}

// dh += dSeq for a masked row, and its n gradient columns at dz zeroed.
TRNN_AI void PassThrough(float* dh, const float* ds, int64_t units, float* dz, int64_t n) {
  for (int64_t j = 0; j < units; j++) dh[j] += ds[j];
  std::memset(dz, 0, static_cast<size_t>(n) * sizeof(float));
}

template <int A, int R>
TRNN_AI void LstmBackwardBody(const LstmGradRows& s, int64_t begin, int64_t end) {
  const int64_t u = s.units;
  for (int64_t r = begin; r < end; r++) {
    const float *g = s.gates + r * s.gatesStride, *tcr = s.tc != nullptr ? s.tc + r * s.tcStride : nullptr,
                *cr = s.tc != nullptr ? nullptr : s.c + r * s.cStride, *cp = s.cPrev + r * s.cPrevStride, *ds = s.dSeq + r * s.dSeqStride;
    float *dh = s.dh + r * s.dhStride, *dc = s.dc + r * s.dcStride, *dz = s.dz + r * s.dzStride;
    if (Masked(s.mask, s.maskStride, r)) {
      PassThrough(dh, ds, u, dz, 4 * u);
      continue;
    }
    for (int64_t j = 0; j < u; j += kLanes) {
      const int n = static_cast<int>(u - j < kLanes ? u - j : kLanes);
      const V i = Load(g + j, n), f = Load(g + u + j, n), gg = Load(g + 2 * u + j, n), o = Load(g + 3 * u + j, n);
      const V tc = tcr != nullptr ? Load(tcr + j, n) : Activate<A>(Load(cr + j, n));
      const V h = Load(dh + j, n) + Load(ds + j, n);
      const V c = Load(dc + j, n) + (h * o) * Deriv<A>(tc);
      Store(dz + 3 * u + j, Flush((h * tc) * Deriv<R>(o)), n);
      Store(dz + j, Flush((c * gg) * Deriv<R>(i)), n);
      Store(dz + u + j, Flush((c * Load(cp + j, n)) * Deriv<R>(f)), n);
      Store(dz + 2 * u + j, Flush((c * i) * Deriv<A>(gg)), n);
      Store(dc + j, Flush(c * f), n);
    }
    if (s.mask != nullptr) std::memset(dh, 0, static_cast<size_t>(u) * sizeof(float));
  }
}

template <int A>
TRNN_AI void RnnBackwardBody(const RnnGradRows& s, int64_t begin, int64_t end) {
  const int64_t u = s.units;
  for (int64_t r = begin; r < end; r++) {
    const float *h = s.h + r * s.hStride, *ds = s.dSeq + r * s.dSeqStride;
    float *dh = s.dh + r * s.dhStride, *dz = s.dz + r * s.dzStride;
    if (Masked(s.mask, s.maskStride, r)) {
      PassThrough(dh, ds, u, dz, u);
      continue;
    }
    for (int64_t j = 0; j < u; j += kLanes) {
      const int n = static_cast<int>(u - j < kLanes ? u - j : kLanes);
      Store(dz + j, Flush((Load(dh + j, n) + Load(ds + j, n)) * Deriv<A>(Load(h + j, n))), n);
    }
    if (s.mask != nullptr) std::memset(dh, 0, static_cast<size_t>(u) * sizeof(float));
  }
}

// first pass: the gradients of z and hh, dh's direct part g * z
template <int A, int R>
TRNN_AI void GruTfjsBackwardGatesBody(const GruTfjsGradRows& s, int64_t begin, int64_t end) {
  const int64_t u = s.units;
  for (int64_t r = begin; r < end; r++) {
    const float *g3 = s.gates + r * s.gatesStride, *hp = s.hPrev + r * s.hPrevStride, *ds = s.dSeq + r * s.dSeqStride;
    float *dh = s.dh + r * s.dhStride, *dx = s.dx + r * s.dxStride;
    if (Masked(s.mask, s.maskStride, r)) {
      PassThrough(dh, ds, u, dx, 3 * u);
      continue;
    }
    for (int64_t j = 0; j < u; j += kLanes) {
      const int n = static_cast<int>(u - j < kLanes ? u - j : kLanes);
      const V g = Load(dh + j, n) + Load(ds + j, n), z = Load(g3 + j, n), hh = Load(g3 + 2 * u + j, n);
      Store(dx + j, Flush((g * (Load(hp + j, n) - hh)) * Deriv<R>(z)), n);
      Store(dx + 2 * u + j, Flush((g * (1.0f - z)) * Deriv<A>(hh)), n);
      Store(dh + j, g * z, n);
    }
  }
}

// second pass, after drh = dhh · rk2ᵀ: the reset gate's gradient, dh += drh * r
template <int R>
TRNN_AI void GruTfjsBackwardResetBody(const GruTfjsGradRows& s, int64_t begin, int64_t end) {
  const int64_t u = s.units;
  for (int64_t r = begin; r < end; r++) {
    if (Masked(s.mask, s.maskStride, r)) continue;
    const float *rg = s.gates + r * s.gatesStride + u, *hp = s.hPrev + r * s.hPrevStride, *d = s.drh + r * s.drhStride;
    float *dh = s.dh + r * s.dhStride, *dr = s.dx + r * s.dxStride + u;
    for (int64_t j = 0; j < u; j += kLanes) {
      const int n = static_cast<int>(u - j < kLanes ? u - j : kLanes);
      const V dv = Load(d + j, n), rv = Load(rg + j, n);
      Store(dr + j, Flush((dv * Load(hp + j, n)) * Deriv<R>(rv)), n);
      Store(dh + j, Flush(Load(dh + j, n) + dv * rv), n);
    }
  }
}

// ---- the small-batch recurrent product (MatmulRows): R rows at a time, T vectors of columns,
// every weight row read once per block of R rows. R * T accumulators plus R broadcasts stay in
// the 16 vector registers (the weights are FMA memory operands).
template <int R, int T>
TRNN_AI void MatmulBlock(const MatmulRows& s, int64_t r0) {
  const float* a[R];
  float* out[R];
  for (int r = 0; r < R; r++) a[r] = s.a + (r0 + r) * s.aStride, out[r] = s.out + (r0 + r) * s.outStride;
  int64_t j = 0;
  for (; j + T * kLanes <= s.n; j += T * kLanes) {
    V acc[R][T] = {};
    const float* w = s.w + j;
    for (int64_t k = 0; k < s.k; k++, w += s.wStride) {
      for (int r = 0; r < R; r++) {
        const V ak = Splat(a[r][k]);
        for (int t = 0; t < T; t++) acc[r][t] += ak * Load(w + t * kLanes, kLanes);
      }
    }
    for (int r = 0; r < R; r++) {
      for (int t = 0; t < T; t++) Store(out[r] + j + t * kLanes, acc[r][t], kLanes);
    }
  }
  // the last columns, a vector at a time (the row's tail zero-padded)
  for (; j < s.n; j += kLanes) {
    const int n = static_cast<int>(s.n - j < kLanes ? s.n - j : kLanes);
    V acc[R] = {};
    const float* w = s.w + j;
    for (int64_t k = 0; k < s.k; k++, w += s.wStride) {
      const V wk = Load(w, n);
      for (int r = 0; r < R; r++) acc[r] += Splat(a[r][k]) * wk;
    }
    for (int r = 0; r < R; r++) Store(out[r] + j, acc[r], n);
  }
}

TRNN_AI void MatmulBody(const MatmulRows& s, int64_t begin, int64_t end) {
  int64_t r = begin;
  for (; r + 4 <= end; r += 4) MatmulBlock<4, 2>(s, r);
  if (r + 2 <= end) MatmulBlock<2, 4>(s, r), r += 2;
  if (r < end) MatmulBlock<1, 8>(s, r);
}

constexpr int kActs = 5;
using MatmulFn = void (*)(const MatmulRows&, int64_t, int64_t);
using LstmFn = void (*)(const LstmRows&, int64_t, int64_t);
using GruFn = void (*)(const GruRows&, int64_t, int64_t);
using RnnFn = void (*)(const RnnRows&, int64_t, int64_t);
using GruTfjsFn = void (*)(const GruTfjsRows&, int64_t, int64_t);
using LstmGradFn = void (*)(const LstmGradRows&, int64_t, int64_t);
using RnnGradFn = void (*)(const RnnGradRows&, int64_t, int64_t);
using GruTfjsGradFn = void (*)(const GruTfjsGradRows&, int64_t, int64_t);

struct Impl {
  MatmulFn matmul;
  LstmFn lstm[kActs][kActs];  // [act][recAct]
  GruFn gru;
  RnnFn rnn[kActs];
  GruTfjsFn gruTfjsGates[kActs], gruTfjsState[kActs];
  LstmGradFn lstmGrad[kActs][kActs];
  RnnGradFn rnnGrad[kActs];
  GruTfjsGradFn gruTfjsGradGates[kActs][kActs], gruTfjsGradReset[kActs];
  const char* name;
};

// Fills table[a][r] with F<a, r> (a row of the table per act).
template <typename Fn, template <int, int> class F, int A, int... R>
void FillRow(Fn (&row)[kActs], std::integer_sequence<int, R...>) {
  ((row[R] = &F<A, R>::Run), ...);
}
template <typename Fn, template <int, int> class F, int... A>
void FillTable(Fn (&table)[kActs][kActs], std::integer_sequence<int, A...>) {
  (FillRow<Fn, F, A>(table[A], std::make_integer_sequence<int, kActs>{}), ...);
}
template <typename Fn, template <int> class F, int... A>
void FillList(Fn (&list)[kActs], std::integer_sequence<int, A...>) {
  ((list[A] = &F<A>::Run), ...);
}

// The same bodies, compiled per instruction set (the always-inline bodies take the target of
// the function they are inlined into), one function per activation (pair): struct templates
// whose static Run is the compiled entry, collected into the Impl tables.
#define TRNN_VARIANT(attr, suffix)                                                                                    \
  template <int A, int R>                                                                                             \
  struct Lstm##suffix {                                                                                               \
    attr static void Run(const LstmRows& s, int64_t b, int64_t e) { LstmBody<A, R>(s, b, e); }                        \
  };                                                                                                                  \
  template <int A>                                                                                                    \
  struct Rnn##suffix {                                                                                                \
    attr static void Run(const RnnRows& s, int64_t b, int64_t e) { RnnBody<A>(s, b, e); }                             \
  };                                                                                                                  \
  template <int A>                                                                                                    \
  struct GruTfjsGates##suffix {                                                                                       \
    attr static void Run(const GruTfjsRows& s, int64_t b, int64_t e) { GruTfjsGatesBody<A>(s, b, e); }                \
  };                                                                                                                  \
  template <int A>                                                                                                    \
  struct GruTfjsState##suffix {                                                                                       \
    attr static void Run(const GruTfjsRows& s, int64_t b, int64_t e) { GruTfjsStateBody<A>(s, b, e); }                \
  };                                                                                                                  \
  template <int A, int R>                                                                                             \
  struct LstmGrad##suffix {                                                                                           \
    attr static void Run(const LstmGradRows& s, int64_t b, int64_t e) { LstmBackwardBody<A, R>(s, b, e); }            \
  };                                                                                                                  \
  template <int A>                                                                                                    \
  struct RnnGrad##suffix {                                                                                            \
    attr static void Run(const RnnGradRows& s, int64_t b, int64_t e) { RnnBackwardBody<A>(s, b, e); }                 \
  };                                                                                                                  \
  template <int A, int R>                                                                                             \
  struct GruTfjsGradGates##suffix {                                                                                   \
    attr static void Run(const GruTfjsGradRows& s, int64_t b, int64_t e) { GruTfjsBackwardGatesBody<A, R>(s, b, e); } \
  };                                                                                                                  \
  template <int R>                                                                                                    \
  struct GruTfjsGradReset##suffix {                                                                                   \
    attr static void Run(const GruTfjsGradRows& s, int64_t b, int64_t e) { GruTfjsBackwardResetBody<R>(s, b, e); }    \
  };                                                                                                                  \
  attr void Gru##suffix(const GruRows& s, int64_t b, int64_t e) { GruBody(s, b, e); }                                 \
  attr void Matmul##suffix(const MatmulRows& s, int64_t b, int64_t e) { MatmulBody(s, b, e); }                        \
  Impl Make##suffix(const char* name) {                                                                               \
    Impl impl{};                                                                                                      \
    const auto acts = std::make_integer_sequence<int, kActs>{};                                                       \
    FillTable<LstmFn, Lstm##suffix>(impl.lstm, acts);                                                                 \
    FillList<RnnFn, Rnn##suffix>(impl.rnn, acts);                                                                     \
    FillList<GruTfjsFn, GruTfjsGates##suffix>(impl.gruTfjsGates, acts);                                               \
    FillList<GruTfjsFn, GruTfjsState##suffix>(impl.gruTfjsState, acts);                                               \
    FillTable<LstmGradFn, LstmGrad##suffix>(impl.lstmGrad, acts);                                                     \
    FillList<RnnGradFn, RnnGrad##suffix>(impl.rnnGrad, acts);                                                         \
    FillTable<GruTfjsGradFn, GruTfjsGradGates##suffix>(impl.gruTfjsGradGates, acts);                                  \
    FillList<GruTfjsGradFn, GruTfjsGradReset##suffix>(impl.gruTfjsGradReset, acts);                                   \
    impl.gru = Gru##suffix;                                                                                           \
    impl.matmul = Matmul##suffix;                                                                                     \
    impl.name = name;                                                                                                 \
    return impl;                                                                                                      \
  }

TRNN_VARIANT(, Base)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TRNN_HAVE_AVX2_VARIANT 1
TRNN_VARIANT(__attribute__((target("avx2,fma"))), Avx2)
#endif

// TORCHRNN_GATE_KERNELS=baseline forces the baseline variant (tests compare the two).
const Impl& Pick() {
  static const Impl impl = [] {
    const char* want = std::getenv("TORCHRNN_GATE_KERNELS");
    const bool baseline = want && std::strcmp(want, "baseline") == 0;
#ifdef TRNN_HAVE_AVX2_VARIANT
    __builtin_cpu_init();
    if (!baseline && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return MakeAvx2("avx2+fma");
#endif
    (void)baseline;
    return MakeBase("baseline");
  }();
  return impl;
}

int Checked(int act) {
  if (act < 0 || act >= kActs) throw std::invalid_argument("unknown activation code " + std::to_string(act));
  return act;
}

}  // namespace

void SmallMatmul(const MatmulRows& s, int64_t begin, int64_t end) { Pick().matmul(s, begin, end); }
void LstmForward(const LstmRows& s, int64_t begin, int64_t end) { Pick().lstm[Checked(s.act)][Checked(s.recAct)](s, begin, end); }
void GruForward(const GruRows& s, int64_t begin, int64_t end) { Pick().gru(s, begin, end); }
void RnnForward(const RnnRows& s, int64_t begin, int64_t end) { Pick().rnn[Checked(s.act)](s, begin, end); }
void GruTfjsGates(const GruTfjsRows& s, int64_t begin, int64_t end) { Pick().gruTfjsGates[Checked(s.recAct)](s, begin, end); }
void GruTfjsState(const GruTfjsRows& s, int64_t begin, int64_t end) { Pick().gruTfjsState[Checked(s.act)](s, begin, end); }
void LstmBackward(const LstmGradRows& s, int64_t begin, int64_t end) { Pick().lstmGrad[Checked(s.act)][Checked(s.recAct)](s, begin, end); }
void RnnBackward(const RnnGradRows& s, int64_t begin, int64_t end) { Pick().rnnGrad[Checked(s.act)](s, begin, end); }
void GruTfjsBackwardGates(const GruTfjsGradRows& s, int64_t begin, int64_t end) {
  Pick().gruTfjsGradGates[Checked(s.act)][Checked(s.recAct)](s, begin, end);
}
void GruTfjsBackwardReset(const GruTfjsGradRows& s, int64_t begin, int64_t end) { Pick().gruTfjsGradReset[Checked(s.recAct)](s, begin, end); }
const char* Variant() { return Pick().name; }

}  // namespace gate_kernels
}  // namespace fused
}  // namespace trnn
