#include "row_helper.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define TRNN_PAUSE() _mm_pause()
#else
#define TRNN_PAUSE() ((void)0)
#endif

namespace trnn {
namespace fused {

namespace {

constexpr std::chrono::microseconds kRowHelperSpin{20};
std::atomic<uint64_t> gHelperChunks{0};

// The helper: sleeps on `wake` until a pass is posted, takes chunks while any are left, and
// spins briefly for the next pass before sleeping again (a layer's passes come one per time
// step, a matmul apart). Made once, never destroyed (a detached thread on a leaked object: no
// static destructor to race at exit).
class RowHelper {
 public:
  RowHelper() { std::thread([this] { Loop(); }).detach(); }

  bool Run(int64_t rows, int64_t chunk, RowRangeFn fn, const void* ctx) {
    std::unique_lock<std::mutex> owner(owner_, std::try_to_lock);
    if (!owner.owns_lock()) return false;  // another thread's pass has the helper
    rows_ = rows, chunk_ = chunk, fn_ = fn, ctx_ = ctx;
    next_.store(0, std::memory_order_relaxed);
    posted_.store(true);
    generation_.fetch_add(1);
    if (sleeping_.load()) {
      std::lock_guard<std::mutex> lock(sleep_);
      wake_.notify_one();
    }
    Work(false);
    // no chunk is left to take; wait for the one the helper may be working on
    posted_.store(false);
    while (inside_.load() != 0) TRNN_PAUSE();
    return true;
  }

 private:
  // Takes chunks until none is left.
  void Work(bool helper) {
    for (;;) {
      const int64_t b = next_.fetch_add(chunk_);
      if (b >= rows_) return;
      fn_(ctx_, b, std::min(b + chunk_, rows_));
      if (helper) gHelperChunks.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void Loop() {
    uint64_t seen = 0;
    for (;;) {
      // spin a little (kRowHelperSpin) for the next pass, then sleep until one is posted:
      // longer spins take the core from OpenBLAS's threads in the matmul between two passes
      const auto until = std::chrono::steady_clock::now() + kRowHelperSpin;
      while (generation_.load() == seen && std::chrono::steady_clock::now() < until) {
        for (int i = 0; i < 16; i++) TRNN_PAUSE();
      }
      if (generation_.load() == seen) {
        std::unique_lock<std::mutex> lock(sleep_);
        sleeping_.store(true);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        sleeping_.store(false);
      }
      seen = generation_.load();
      // inside_ before posted_: the caller, having cleared posted_, waits while inside_ != 0
      inside_.fetch_add(1);
      if (posted_.load()) Work(true);
      inside_.fetch_sub(1);
    }
  }

  std::mutex owner_;  // one caller at a time
  int64_t rows_ = 0, chunk_ = 1;
  RowRangeFn fn_ = nullptr;
  const void* ctx_ = nullptr;
  std::atomic<int64_t> next_{0};
  std::atomic<bool> posted_{false};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> inside_{0};
  std::atomic<bool> sleeping_{false};
  std::mutex sleep_;
  std::condition_variable wake_;
};

}  // namespace

static RowHelper* TheHelper() {
  static RowHelper* helper = new RowHelper();
  return helper;
}

bool SharedRowsRun(int64_t rows, RowRangeFn fn, const void* ctx) {
  // TORCHRNN_ROW_HELPER=0: every pass on the calling thread
  static const bool on = std::thread::hardware_concurrency() >= 2 && [] {
    const char* v = std::getenv("TORCHRNN_ROW_HELPER");
    return v == nullptr || std::string(v) != "0";
  }();
  if (!on) return false;
  // chunks of about a sixteenth of the pass, at least 8 rows: both threads stay busy to the end
  const int64_t chunk = std::max<int64_t>(8, (rows + 15) / 16);
  return TheHelper()->Run(rows, chunk, fn, ctx);
}

uint64_t SharedRowsHelperChunks() { return gHelperChunks.load(std::memory_order_relaxed); }

}  // namespace fused
}  // namespace trnn
