// The elementwise gate math of the fused recurrent layers (one time step, a range of batch
// rows), vectorized: 8 floats at a time with GCC/Clang vector extensions, compiled twice (AVX2 +
// FMA, and the baseline x86-64/other ISA) and chosen once per process by what the CPU has.
//
// Why not ATen's sigmoid_/tanh_: per LSTM step those are 5 activations plus 4 arithmetic
// kernels on strided gate columns, each a dispatcher call and a TensorIterator; at the sizes
// recurrent layers run (a few thousand elements per step) that overhead and tanh's cost were
// half of libtorch's LSTM inference time here. This is one pass over each row. The backward
// passes likewise: the per-step gate gradients (the derivatives' branches, hardSigmoid's and
// relu's, kept GCC from vectorizing the scalar loops). Each pass is compiled per activation (or
// pair: 25 LSTM variants), chosen by a table lookup per call.
//
// Accuracy: exp is Cephes' expf (a degree-6 polynomial after range reduction, about 1 ulp);
// sigmoid = 1 / (1 + exp(-x)); tanh uses Cephes' odd polynomial below |x| = 0.625 and
// 1 - 2 / (exp(2|x|) + 1) above, so its relative error stays ~1e-7 near 0. libtorch uses
// SLEEF's u10 functions, so results agree to float32 rounding, not bit for bit.
//
// No torch headers: raw float pointers and strides (in elements), rows [begin, end).
#pragma once
#include <cstdint>

namespace trnn {
namespace fused {
// Gradients below this (2^-100) are set to zero by the fused backward: common.h FlushDenormal says why.
constexpr float kFlushBelow = 7.88860905e-31f;
}  // namespace fused
}  // namespace trnn

namespace trnn {
namespace fused {
namespace gate_kernels {

// Activation codes (lstm.h's Act): 0 linear, 1 tanh, 2 sigmoid, 3 hardSigmoid (tfjs's:
// clip(0.2 x + 0.5, 0, 1)), 4 relu. NaN stays NaN through every one.
enum ActCode { kActLinear = 0, kActTanh = 1, kActSigmoid = 2, kActHardSigmoid = 3, kActRelu = 4 };

// Masked rows (tfjs-layers' masks, the TensorFlow.js backend's recurrent layers): with `mask`
// set, a row whose mask[row * maskStride] is 0 is not computed; it keeps its state (h = hPrev,
// and c = cPrev for the LSTM), what tfjs-layers' rnn() gives at a masked step. The other
// outputs of such a row (activated gates, tanh(c)) are left unwritten: the backward passes skip
// masked rows.

// The recurrent product of one step for a few rows: out [row, n] = a [row, k] · w [k, n], all
// row-major with unit column stride (strides in elements: the rows of a step's state inside the
// output sequence, the columns of a weight slice). At batch 1-8 a BLAS GEMM spends most of its
// time around the multiply (OpenBLAS copies all of w into its packed layout on every call and
// hands part of the product to a second thread to wait for: perf on the batch-1 LSTM, 64 steps
// x 2 layers, saw sgemm's kernel at 13 % of the samples, its copy of w at 12 % and the wait in
// sched_yield at 24 %, the gate pass at 1 %); here w is read once per four rows, straight from
// memory (common.h's StepMatmul chooses). Each output is the sum over k in order, one FMA each
// (separate multiply and add in the baseline variant), whatever the number of rows.
struct MatmulRows {
  const float* a; int64_t aStride;
  const float* w; int64_t wStride;
  float* out; int64_t outStride;
  int64_t k, n;
};
void SmallMatmul(const MatmulRows& s, int64_t begin, int64_t end);

// One LSTM step, gate order i, f, g, o (libtorch's), recAct on the gates i, f, o and act on g
// and the cell (default: sigmoid and tanh, libtorch's):
//   gates [row, 4U] holds the recurrent part h·W_hh of the pre-activations, xw [row, 4U] the
//   input projection with both biases; gates is overwritten with the activated i, f, g, o of
//   gates + xw; c = f * cPrev + i * g; tc = act(c); h = o * tc. hPrev is read only for masked rows.
struct LstmRows {
  float* gates; int64_t gatesStride;
  const float* xw; int64_t xwStride;
  const float* cPrev; int64_t cPrevStride;
  float* c; int64_t cStride;
  float* tc; int64_t tcStride;
  float* h; int64_t hStride;
  int64_t units;
  int act = kActTanh, recAct = kActSigmoid;
  const float* hPrev = nullptr; int64_t hPrevStride = 0;
  const float* mask = nullptr; int64_t maskStride = 0;
};
void LstmForward(const LstmRows& s, int64_t begin, int64_t end);

// One GRU step, gate order r, z, n (libtorch's): xg [row, 3U] is the input projection with
// b_ih, hg [row, 3U] the recurrent one h·W_hh without bias, bhh [3U] b_hh (may be null). With
// hr, hz, hn = hg + bhh: r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r * hn),
// h = (hPrev - n) * z + n (libtorch's order of operations). gates [row, 4U], when not null,
// receives r, z, n and hn: what backward needs.
struct GruRows {
  const float* xg; int64_t xgStride;
  const float* hg; int64_t hgStride;
  const float* bhh;
  const float* hPrev; int64_t hPrevStride;
  float* h; int64_t hStride;
  float* gates; int64_t gatesStride;
  int64_t units;
};
void GruForward(const GruRows& s, int64_t begin, int64_t end);

// One Elman RNN step: h = act(hw + xw) (nn.RNN: tanh or relu; tfjs's SimpleRNN: any code);
// hw [row, U] = hPrev·W_hh, xw the input projection with both biases. hPrev is read only for
// masked rows.
struct RnnRows {
  const float* hw; int64_t hwStride;
  const float* xw; int64_t xwStride;
  float* h; int64_t hStride;
  int64_t units;
  int act;
  const float* hPrev = nullptr; int64_t hPrevStride = 0;
  const float* mask = nullptr; int64_t maskStride = 0;
};
void RnnForward(const RnnRows& s, int64_t begin, int64_t end);

// One step of TensorFlow.js's GRU (tfjs-layers' GRUCell: gate order z, r, h; the reset gate
// applied before the recurrent matmul; no recurrent bias), in two passes around the second
// matmul:
//   GruTfjsGates: z = recAct(xz + hz), r = recAct(xr + hr) into gates [row, 3U] (z, r, ·), and
//     rh = r * hPrev [row, U], from xg [row, 3U] (x·kernel + bias) and hg [row, 2U] (hPrev·rk1,
//     rk1 the recurrent kernel's first 2U columns). Masked rows get rh = 0.
//   the caller: rhw = rh · rk2 (the last U columns).
//   GruTfjsState: hh = act(xh + rhw) into gates' third block; h = z * hPrev + (1 - z) * hh
//     (tfjs's order of operations); masked rows keep hPrev.
struct GruTfjsRows {
  const float* xg; int64_t xgStride;
  const float* hg; int64_t hgStride;
  const float* hPrev; int64_t hPrevStride;
  float* gates; int64_t gatesStride;
  float* rh; int64_t rhStride;
  const float* rhw; int64_t rhwStride;
  float* h; int64_t hStride;
  int64_t units;
  int act, recAct;
  const float* mask = nullptr; int64_t maskStride = 0;
};
void GruTfjsGates(const GruTfjsRows& s, int64_t begin, int64_t end);
void GruTfjsState(const GruTfjsRows& s, int64_t begin, int64_t end);

// ---- backward passes (one step, a range of rows), the derivatives from the activated values
// as lstm.h's Deriv computes them; every gradient carried from step to step is flushed to 0
// where it is denormal (common.h's FlushDenormal says why). With a mask, a masked row's gate
// gradients are 0 and its state gradient passes through (dh += dSeq, dc unchanged); an unmasked
// row's dh is set to 0, for the caller to add the recurrent matmul's part. Without a mask dh is
// read only (the caller overwrites it with the matmul), except in the GRU passes.

// LSTM: gates [row, 4U] the activated i, f, g, o; tc = act(c); cPrev; dSeq the output's
// gradient; dh, dc in/out; dz [row, 4U] the pre-activation gradients.
struct LstmGradRows {
  const float* gates; int64_t gatesStride;
  const float* tc; int64_t tcStride;  // act(c); null: recomputed from c (below)
  const float* cPrev; int64_t cPrevStride;
  const float* dSeq; int64_t dSeqStride;
  float* dh; int64_t dhStride;
  float* dc; int64_t dcStride;
  float* dz; int64_t dzStride;
  int64_t units;
  int act, recAct;
  const float* mask = nullptr; int64_t maskStride = 0;
  const float* c = nullptr; int64_t cStride = 0;  // the step's cell state, read when tc is null
};
void LstmBackward(const LstmGradRows& s, int64_t begin, int64_t end);

// Elman RNN: h the step's activated output; dz = (dh + dSeq) * act'(h).
struct RnnGradRows {
  const float* h; int64_t hStride;
  const float* dSeq; int64_t dSeqStride;
  float* dh; int64_t dhStride;
  float* dz; int64_t dzStride;
  int64_t units;
  int act;
  const float* mask = nullptr; int64_t maskStride = 0;
};
void RnnBackward(const RnnGradRows& s, int64_t begin, int64_t end);

// TensorFlow.js's GRU (GruTfjsGates / GruTfjsState's step), in two passes around the matmul
// drh = dhh · rk2ᵀ:
//   GruTfjsBackwardGates: g = dh + dSeq; dz = g (hPrev - hh) recAct'(z), dhh = g (1 - z) act'(hh)
//     into dx [row, 3U] (dz, ·, dhh); dh = g * z.
//   GruTfjsBackwardReset: dr = drh hPrev recAct'(r) into dx's second block; dh += drh * r.
//   (the caller then adds [dz, dr] · rk1ᵀ to dh.) gates [row, 3U]: z, r, hh.
struct GruTfjsGradRows {
  const float* gates; int64_t gatesStride;
  const float* hPrev; int64_t hPrevStride;
  const float* dSeq; int64_t dSeqStride;
  float* dh; int64_t dhStride;
  float* dx; int64_t dxStride;
  const float* drh; int64_t drhStride;
  int64_t units;
  int act, recAct;
  const float* mask = nullptr; int64_t maskStride = 0;
};
void GruTfjsBackwardGates(const GruTfjsGradRows& s, int64_t begin, int64_t end);
void GruTfjsBackwardReset(const GruTfjsGradRows& s, int64_t begin, int64_t end);

// Which variant runs: "avx2+fma" or "baseline".
const char* Variant();

}  // namespace gate_kernels
}  // namespace fused
}  // namespace trnn
