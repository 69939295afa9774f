// The FIFO executor: one native thread per environment (and per device, once CUDA builds
// add device executors) runs async jobs in the order they were queued.
//
// Thread rules:
// - Submit() and the Complete callback run on the JS thread; Work runs on the executor thread
//   and must never touch JS values. Work captures what it needs by value when it is queued
//   (torch::Tensor copies are refcounted and safe to move across threads).
// - Grad mode, the autocast state and the flush-denormal mode are captured at Submit() time
//   and applied around Work on the executor thread.
// - While jobs are pending the executor keeps the event loop alive (like fs requests do);
//   when idle it does not hold the process open.
// - On environment teardown (process exit, worker termination) queued jobs are dropped,
//   the running one finishes, the thread is joined; promises of dropped jobs never settle.
#pragma once
#include "amp.h"
#include "errors.h"

namespace trnn {

// torch.setFlushDenormal: FTZ/DAZ are per-thread CPU flags (MXCSR), so PyTorch's call only
// affects the calling thread. SetFlushDenormalMode sets them on this thread and records the
// mode (returns false, and records off, where the CPU lacks them); FlushDenormalMode reads
// the record. A job captures the JS thread's mode at Submit and the executor thread applies
// it, so async jobs compute as synchronous calls would.
bool SetFlushDenormalMode(bool mode);
bool FlushDenormalMode();

class Executor {
 public:
  using Work = std::function<void()>;
  using Complete = std::function<Napi::Value(Napi::Env)>;

  explicit Executor(Napi::Env env);
  ~Executor();

  // Queues `work`; the returned promise resolves with complete(env) or rejects with the
  // TorchError that `work` (or `complete`) threw.
  Napi::Promise Submit(Napi::Env env, Work work, Complete complete);

  // A job with no promise and no completion (native/queue.cc: the tfjs backend's queued
  // kernels): FIFO with every other job; `work` must catch its own errors (it records them,
  // queue.h). `bytes`: the memory its outputs hold, for the queue's bound. Returns the job's
  // number: Finished() reaches it once the job (and every job before it) has run. When more
  // than maxQueued jobs or maxQueuedBytes bytes are waiting, blocks the JS thread until the
  // executor has caught up to three quarters of either bound (a program that queues without
  // ever reading cannot fill the memory).
  uint64_t SubmitQuiet(Work work, size_t bytes = 0);
  static constexpr uint64_t kMaxQueued = 8192;
  static constexpr size_t kMaxQueuedBytes = size_t(1) << 30;
  void SetQueueLimits(uint64_t jobs, size_t bytes) {
    maxQueued_ = jobs;
    maxQueuedBytes_ = bytes;
  }

  // The ordering rule for synchronous calls: blocks the JS thread until every job queued so
  // far has run (not until its promise settled). Free when nothing is queued.
  void WaitIdle();
  // Blocks the JS thread until job number `seq` and every job before it has run (free when
  // it has). JS thread.
  void WaitFor(uint64_t seq);
  // Jobs run so far (any thread) and submitted so far (JS thread); a job's number is the
  // value of Submitted() right after its submission.
  uint64_t Finished() const { return finished_.load(std::memory_order_acquire); }
  uint64_t Submitted() const { return submitted_; }

  // Stops the thread: queued jobs are dropped, the running one finishes, and its completion is
  // dropped too. Idempotent, from any thread. lib/binding.ts calls it (stopExecutor) on the
  // process's 'exit' event: process.exit() runs no env cleanup hook, and a job still running
  // while exit() destroyed libtorch's statics crashed the process (libtorch 2.6's autograd
  // engine reads its accelerator registry).
  void StopThread();

 private:
  struct Job {
    Work work;
    Complete complete;
    napi_deferred deferred;
    bool gradMode;
    AutocastState autocast;
    bool flushDenormal;
    int threads;  // the JS thread's libtorch intra-op thread count (setNumThreads)
    bool failed = false;
    ErrorInfo error{};
    bool quiet = false;  // SubmitQuiet: no promise, no completion
    size_t bytes = 0;
  };
  // A job for `work` with the JS thread's modes captured (Submit, SubmitQuiet fill in the rest).
  static Job* NewJob(Work work);
  // Appends to the queue and wakes the executor thread if it sleeps. JS thread.
  void Enqueue(Job* job);
  static void CallJs(Napi::Env env, Napi::Function, Executor* self, Job* job);
  void Loop();
  // Runs from an env cleanup hook registered after the thread-safe function, so it runs
  // before Node tears that function down (hooks run in reverse order). Idempotent.
  void Shutdown();
  static void CleanupHook(void* self);
  napi_env env_;
  std::mutex joinMu_;
  bool shutdown_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  // Before sleeping, the executor thread polls `queued_` for a short while (kSpin): a program
  // awaiting one job after another queues the next one within a few tens of µs, and a
  // sleeping thread takes that long again to wake (a vCPU wake-up). Submit() only signals
  // the condition variable when the thread really sleeps (`sleeping_`, guarded by mu_).
  std::atomic<size_t> queued_{0};
  bool sleeping_ = false;
  bool stopping_ = false;
  size_t pending_ = 0;  // queued + running + awaiting completion; JS thread only
  uint64_t submitted_ = 0;  // JS thread only
  std::atomic<uint64_t> finished_{0};  // written under mu_, read anywhere
  std::atomic<size_t> queuedBytes_{0};  // bytes of quiet jobs not yet run
  uint64_t maxQueued_ = kMaxQueued;       // JS thread only
  size_t maxQueuedBytes_ = kMaxQueuedBytes;
  std::condition_variable idle_;
  Napi::TypedThreadSafeFunction<Executor, Job, CallJs> tsfn_;
  std::thread thread_;
};

}  // namespace trnn
