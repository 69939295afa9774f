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
