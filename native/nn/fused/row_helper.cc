#include "row_helper.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
    // a pass inside a pair's task (SharedPairRun) on the thread that holds the helper: alone
    static thread_local bool holding = false;
    if (holding) return false;
    std::unique_lock<std::mutex> owner(owner_, std::try_to_lock);
    if (!owner.owns_lock()) return false;  // another thread's pass has the helper
    holding = true;
    struct Release {
      ~Release() { holding = false; }
    } release;
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

bool EnvSwitchedOff(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string(v) == "0";
}

bool RowHelperOn() {
  // TORCHRNN_ROW_HELPER=0: every pass on the calling thread
  static const bool on = std::thread::hardware_concurrency() >= 2 && !EnvSwitchedOff("TORCHRNN_ROW_HELPER");
  return on;
}

bool SharedRowsRun(int64_t rows, RowRangeFn fn, const void* ctx) {
  if (!RowHelperOn()) return false;
  // chunks of about a sixteenth of the pass, at least 8 rows: both threads stay busy to the end
  const int64_t chunk = std::max<int64_t>(8, (rows + 15) / 16);
  return TheHelper()->Run(rows, chunk, fn, ctx);
}

uint64_t SharedRowsHelperChunks() { return gHelperChunks.load(std::memory_order_relaxed); }

namespace {

// OpenBLAS's thread count, set to 1 while any pair runs (a process-wide count of running pairs:
// the first sets it, the last puts back what it found). libtorch loads OpenBLAS twice on Debian
// (libopenblas.so.0 and the openblas-pthread build of libblas.so.3), each with its own pool and
// setting: both are set. Found with RTLD_NOLOAD: only libraries already in the process.
class BlasThreads {
 public:
  BlasThreads() {
    for (const char* lib : {"libopenblas.so.0", "libblas.so.3"}) {
      void* h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
      if (h == nullptr) continue;
      auto set = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
      auto get = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_num_threads"));
      if (set != nullptr && get != nullptr) libs_.push_back({set, get, 0});
    }
  }
  bool Found() const { return !libs_.empty(); }
  void Enter() {
    std::lock_guard<std::mutex> lock(mu_);
    if (active_++ > 0) return;
    for (Lib& l : libs_) {
      l.saved = l.get();
      if (l.saved != 1) l.set(1);
    }
  }
  void Leave() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ > 0) return;
    for (Lib& l : libs_) {
      if (l.saved != 1) l.set(l.saved);
    }
  }

 private:
  struct Lib {
    void (*set)(int);
    int (*get)();
    int saved;
  };
  std::vector<Lib> libs_;
  std::mutex mu_;
  int active_ = 0;
};

std::atomic<uint64_t> gPairs{0}, gSplits{0};

struct PairCtx {
  RowRangeFn fn;
  const void* ctx;
  std::thread::id caller;
  std::atomic<bool> helperRan{false};
};

}  // namespace

bool SharedPairRun(RowRangeFn fn, const void* ctx, PairKind kind) {
  static BlasThreads* blas = new BlasThreads();  // never destroyed (see TheHelper)
  static const bool on = RowHelperOn() && blas->Found() && !EnvSwitchedOff("TORCHRNN_CONCURRENT_DIRECTIONS");
  if (!on) return false;
  PairCtx pc{fn, ctx, std::this_thread::get_id()};
  const RowRangeFn each = [](const void* c, int64_t b, int64_t e) {
    auto* p = static_cast<PairCtx*>(const_cast<void*>(c));
    if (std::this_thread::get_id() != p->caller) p->helperRan.store(true, std::memory_order_relaxed);
    p->fn(p->ctx, b, e);
  };
  blas->Enter();
  const bool ran = TheHelper()->Run(2, 1, each, &pc);
  blas->Leave();
  if (ran && pc.helperRan.load()) (kind == PairKind::kDirections ? gPairs : gSplits).fetch_add(1, std::memory_order_relaxed);
  return ran;
}

uint64_t SharedPairsRun() { return gPairs.load(std::memory_order_relaxed); }
uint64_t SharedSplitsRun() { return gSplits.load(std::memory_order_relaxed); }

}  // namespace fused
}  // namespace trnn
