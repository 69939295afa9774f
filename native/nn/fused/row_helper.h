// A large gate pass split between the calling thread and one helper thread.
//
// Why: torchrnn runs libtorch with one intra-op thread (OpenBLAS has threads of its own, and
// more libtorch threads oversubscribe the cores), so a fused layer's gate pass between two
// matmuls ran on one core while OpenBLAS's other threads waited for the next matmul in
// sched_yield. At batch 256, hidden 512 the gate passes were 6 % of the CPU samples of a
// training step (and most of the waiting), one core's work where two were free.
//
// How: the rows go in chunks to whichever thread takes them first (an atomic counter): the
// calling thread always works through the chunks itself, so a helper that wakes late costs
// nothing but its wake-up; the call returns when the helper has finished the chunk it took.
// One helper per process, shared: a caller that finds it busy (another JS thread's executor)
// runs its pass alone. `fn` must not throw (the gate kernels are plain arithmetic).
#pragma once
#include <cstdint>

namespace trnn {
namespace fused {

// Passes below this many elements (rows * cost), or of fewer rows, run on the calling thread
// alone: the helper's wake-up and the chunks' handoff cost more than they save. Measured on 2
// vCPUs (libtorch 1.13, OpenBLAS 0.3.21, 2-layer LSTM training step, input 32, seq 64), whole
// process with the helper / with TORCHRNN_ROW_HELPER=0 (farm-bench, 6-8 paired runs): batch 256
// hidden 128 0.925, batch 256 hidden 512 0.965, batch 128 hidden 128 0.984, batch 64 hidden 512
// 0.995. Sharing smaller passes (a threshold of 2^15, 3 alternating runs, ms per step, shared /
// alone) was slower: batch 32 hidden 128 (65,536 elements per forward pass) 34-35 / 28-29,
// batch 32 hidden 256 82-85 / 76-77, batch 64 hidden 256 (64 rows, 262,144) 137-140 / 133-136.
constexpr int64_t kSharedRowsMinWork = int64_t(1) << 18;
constexpr int64_t kSharedRowsMinRows = 64;
// below 128 rows, twice the work
inline bool SharedRowsPay(int64_t rows, int64_t cost) {
  return rows >= kSharedRowsMinRows && rows * cost >= (rows >= 2 * kSharedRowsMinRows ? kSharedRowsMinWork : 2 * kSharedRowsMinWork);
}

using RowRangeFn = void (*)(const void* ctx, int64_t begin, int64_t end);
// false when the pass ran on the calling thread only (small, one core, or the helper busy)
bool SharedRowsRun(int64_t rows, RowRangeFn fn, const void* ctx);
// Chunks the helper thread has computed so far (fusedRnnFlags().helperChunks: tests see it work)
uint64_t SharedRowsHelperChunks();
// Whether the helper thread exists at all: two or more cores, and TORCHRNN_ROW_HELPER is not 0
bool RowHelperOn();
// Whether the environment variable `name` is set to "0" (the switches that turn a path off)
bool EnvSwitchedOff(const char* name);

// Two independent tasks at once, fn(ctx, i, i + 1) for i = 0 and 1: the two directions of a
// bidirectional layer. The caller runs one and the helper the other (the caller runs both when
// the helper is busy or late), and OpenBLAS runs on one thread meanwhile, so the two directions'
// matmuls do not contend for its pool. Measured on 2 vCPUs (libtorch 1.13, OpenBLAS 0.3.21, one
// bidirectional LSTM layer, input 32, seq 64, each direction in its own worker thread with
// OPENBLAS_NUM_THREADS=1 against the layer run as before), time per pass, concurrent / one after
// the other: inference batch 8 hidden 128 1.92 / 4.35 ms, batch 32 hidden 128 6.1 / 13.1,
// batch 64 hidden 256 34 / 62, batch 128 hidden 512 207 / 288; the forward and backward of a
// training step at batch 32 hidden 128 13.1 / 23.3, batch 64 hidden 256 85 / 112. With
// OpenBLAS's two threads in each direction the same pairs were slower than one after the other
// (1.1-1.4x). So the pair runs only where torchrnn can set OpenBLAS's threads; false otherwise
// (and with TORCHRNN_CONCURRENT_DIRECTIONS=0): run the tasks one after the other. `fn` must not
// throw.
// kind: what the pair is, for its counter (SharedPairsRun / SharedSplitsRun).
enum class PairKind { kDirections, kBatchHalves };
bool SharedPairRun(RowRangeFn fn, const void* ctx, PairKind kind = PairKind::kDirections);
// In training, a pair pays only for larger layers: whole process (farm-bench, 4-6 paired runs),
// concurrent / one after the other, a 2-layer bidirectional LSTM's forward and backward: batch 32
// hidden 128 seq 64 1.06 (two modes: 0.91 and 1.10), batch 64 hidden 256 0.98; one layer: batch
// 32 hidden 128 0.87, batch 128 hidden 512 0.98, batch 256 hidden 128 0.85; inference (no
// gradient), always faster: a 2-layer GRU at batch 32 hidden 128 0.80. Work: the layer's rows
// (batch x steps, or packed rows) times its gate rows (w_hh's first dimension).
constexpr int64_t kPairMinTrainingWork = int64_t(1) << 21;
// Pairs run so far with both threads taking part: the directions of bidirectional layers
// (fusedRnnFlags().concurrentPairs) and the batch halves of inference layers (SplitBatch,
// common.h; fusedRnnFlags().splitBatches).
uint64_t SharedPairsRun();
uint64_t SharedSplitsRun();

// f(begin, end) over [0, rows), `cost` elements per row.
template <typename F>
void SharedRows(int64_t rows, int64_t cost, const F& f) {
  if (SharedRowsPay(rows, cost) &&
      SharedRowsRun(rows, [](const void* c, int64_t b, int64_t e) { (*static_cast<const F*>(c))(b, e); }, &f)) {
    return;
  }
  f(0, rows);
}

}  // namespace fused
}  // namespace trnn
