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

// 32- and 64-byte vectors cross these functions only after inlining, never an ABI boundary,
// so GCC's warning about returning them without AVX does not apply (parameters are const
// references, for which GCC prints an unsuppressible note otherwise).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace lanes8 {
typedef float V __attribute__((vector_size(32)));
typedef int32_t VI __attribute__((vector_size(32)));
typedef float VU __attribute__((vector_size(32), aligned(4), may_alias));  // unaligned access
constexpr int kLanes = 8;
#include "gate_kernels_body.inc"
}  // namespace lanes8

namespace lanes16 {
typedef float V __attribute__((vector_size(64)));
typedef int32_t VI __attribute__((vector_size(64)));
typedef float VU __attribute__((vector_size(64), aligned(4), may_alias));  // unaligned access
constexpr int kLanes = 16;
#include "gate_kernels_body.inc"
}  // namespace lanes16

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
#define TRNN_VARIANT(attr, suffix, ns)                                                                                \
  template <int A, int R>                                                                                             \
  struct Lstm##suffix {                                                                                               \
    attr static void Run(const LstmRows& s, int64_t b, int64_t e) { ns::LstmBody<A, R>(s, b, e); }                    \
  };                                                                                                                  \
  template <int A>                                                                                                    \
  struct Rnn##suffix {                                                                                                \
    attr static void Run(const RnnRows& s, int64_t b, int64_t e) { ns::RnnBody<A>(s, b, e); }                         \
  };                                                                                                                  \
  template <int A>                                                                                                    \
  struct GruTfjsGates##suffix {                                                                                       \
    attr static void Run(const GruTfjsRows& s, int64_t b, int64_t e) { ns::GruTfjsGatesBody<A>(s, b, e); }            \
  };                                                                                                                  \
  template <int A>                                                                                                    \
  struct GruTfjsState##suffix {                                                                                       \
    attr static void Run(const GruTfjsRows& s, int64_t b, int64_t e) { ns::GruTfjsStateBody<A>(s, b, e); }            \
  };                                                                                                                  \
  template <int A, int R>                                                                                             \
  struct LstmGrad##suffix {                                                                                           \
    attr static void Run(const LstmGradRows& s, int64_t b, int64_t e) { ns::LstmBackwardBody<A, R>(s, b, e); }        \
  };                                                                                                                  \
  template <int A>                                                                                                    \
  struct RnnGrad##suffix {                                                                                            \
    attr static void Run(const RnnGradRows& s, int64_t b, int64_t e) { ns::RnnBackwardBody<A>(s, b, e); }             \
  };                                                                                                                  \
  template <int A, int R>                                                                                             \
  struct GruTfjsGradGates##suffix {                                                                                   \
    attr static void Run(const GruTfjsGradRows& s, int64_t b, int64_t e) { ns::GruTfjsBackwardGatesBody<A, R>(s, b, e); } \
  };                                                                                                                  \
  template <int R>                                                                                                    \
  struct GruTfjsGradReset##suffix {                                                                                   \
    attr static void Run(const GruTfjsGradRows& s, int64_t b, int64_t e) { ns::GruTfjsBackwardResetBody<R>(s, b, e); } \
  };                                                                                                                  \
  attr void Gru##suffix(const GruRows& s, int64_t b, int64_t e) { ns::GruBody(s, b, e); }                             \
  attr void Matmul##suffix(const MatmulRows& s, int64_t b, int64_t e) { ns::MatmulBody(s, b, e); }                    \
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

TRNN_VARIANT(, Base, lanes8)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TRNN_HAVE_AVX2_VARIANT 1
TRNN_VARIANT(__attribute__((target("avx2,fma"))), Avx2, lanes8)
TRNN_VARIANT(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), Avx512, lanes16)
#endif

// The widest variant this CPU runs; TORCHRNN_GATE_KERNELS=baseline or =avx2 asks for a narrower
// one (tests compare them).
const Impl& Pick() {
  static const Impl impl = [] {
    const char* want = std::getenv("TORCHRNN_GATE_KERNELS");
    const bool baseline = want && std::strcmp(want, "baseline") == 0;
    const bool avx2 = want && std::strcmp(want, "avx2") == 0;
#ifdef TRNN_HAVE_AVX2_VARIANT
    __builtin_cpu_init();
    const bool hasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!baseline && !avx2 && hasAvx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
      return MakeAvx512("avx512");
    }
    if (!baseline && hasAvx2) return MakeAvx2("avx2+fma");
#endif
    (void)baseline, (void)avx2;
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
