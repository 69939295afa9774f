#include "executor.h"

namespace trnn {

static thread_local bool tFlushDenormal = false;

bool SetFlushDenormalMode(bool mode) {
  bool supported = at::globalContext().setFlushDenormal(mode);
  tFlushDenormal = supported && mode;
  return supported;
}

bool FlushDenormalMode() { return tFlushDenormal; }

Executor::Executor(Napi::Env env) : env_(env) {
  tsfn_ = Napi::TypedThreadSafeFunction<Executor, Job, CallJs>::New(env, "torchrnn.executor", 0, 1, this);
  tsfn_.Unref(env);
  thread_ = std::thread([this] { Loop(); });
  napi_add_env_cleanup_hook(env, CleanupHook, this);
}

void Executor::CleanupHook(void* self) {
  static_cast<Executor*>(self)->Shutdown();
}

Executor::~Executor() {
  if (!shutdown_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
  Shutdown();
}

void Executor::Shutdown() {
  if (shutdown_) return;
  shutdown_ = true;
  StopThread();
  tsfn_.Abort();
}

void Executor::StopThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (Job* job : queue_) delete job;
    queue_.clear();
  }
  cv_.notify_all();
  std::lock_guard<std::mutex> join(joinMu_);
  if (thread_.joinable()) thread_.join();
}

Napi::Promise Executor::Submit(Napi::Env env, Work work, Complete complete) {
  napi_deferred deferred;
  napi_value promise;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &deferred, &promise), Napi::Promise());
  Job* job = NewJob(std::move(work));
  job->complete = std::move(complete);
  job->deferred = deferred;
  if (pending_++ == 0) tsfn_.Ref(env);
  submitted_++;
  Enqueue(job);
  return Napi::Promise(env, promise);
}

Executor::Job* Executor::NewJob(Work work) {
  return new Job{std::move(work), nullptr, nullptr, torch::GradMode::is_enabled(), AutocastState::Current(), FlushDenormalMode(),
                 at::get_num_threads()};
}

void Executor::Enqueue(Job* job) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(job);
    queued_.fetch_add(1, std::memory_order_release);
    wake = sleeping_;
  }
  if (wake) cv_.notify_one();
}

uint64_t Executor::SubmitQuiet(Work work, size_t bytes) {
  uint64_t waiting = submitted_ - Finished();
  if (waiting >= maxQueued_ || queuedBytes_.load(std::memory_order_relaxed) >= maxQueuedBytes_) {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] {
      return stopping_ || (submitted_ - finished_.load(std::memory_order_relaxed) <= maxQueued_ / 4 * 3 &&
                           queuedBytes_.load(std::memory_order_relaxed) <= maxQueuedBytes_ / 4 * 3);
    });
  }
  Job* job = NewJob(std::move(work));
  job->quiet = true;
  job->bytes = bytes;
  queuedBytes_.fetch_add(bytes, std::memory_order_relaxed);
  uint64_t seq = ++submitted_;
  Enqueue(job);
  return seq;
}

void Executor::WaitIdle() { WaitFor(submitted_); }

void Executor::WaitFor(uint64_t seq) {
  if (Finished() >= seq) return;
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this, seq] { return finished_.load(std::memory_order_relaxed) >= seq || stopping_; });
}

void Executor::Loop() {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "torchrnn-exec");  // for top -H, perf and /proc/<pid>/task
#endif
  // This thread's flush-denormal mode; -1 = unknown (a new thread inherits its creator's
  // MXCSR), so the first job sets it. Changed only when a job's mode differs: cheap.
  int flushDenormal = -1;
  // Likewise the intra-op thread count: with OpenMP it is per thread (omp_set_num_threads sets
  // the calling thread's value, and libtorch reads it once per thread), so setNumThreads on the
  // JS thread reaches this thread through the job, as PyTorch's does for its caller.
  int threads = -1;
  for (;;) {
    Job* job;
    {
      // Poll for up to kSpin before sleeping (see executor.h).
      constexpr auto kSpin = std::chrono::microseconds(100);
      auto until = std::chrono::steady_clock::now() + kSpin;
      while (queued_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      std::unique_lock<std::mutex> lock(mu_);
      sleeping_ = true;
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      sleeping_ = false;
      if (stopping_) return;
      job = queue_.front();
      queue_.pop_front();
      queued_.fetch_sub(1, std::memory_order_relaxed);
    }
    try {
      if (flushDenormal != static_cast<int>(job->flushDenormal)) {
        SetFlushDenormalMode(job->flushDenormal);
        flushDenormal = job->flushDenormal;
      }
      if (threads != job->threads) {
        at::set_num_threads(job->threads);
        threads = job->threads;
      }
      torch::AutoGradMode grad(job->gradMode);
      AutocastScope autocast(job->autocast);
      job->work();
    } catch (...) {
      job->failed = true;
      job->error = DescribeCurrentException();
    }
    job->work = nullptr;  // release captured tensors on this thread, before completion
    bool stopping;
    {
      // Both counters change under mu_: SubmitQuiet's wait reads them in its predicate, and a
      // change made between its check and its sleep would be a lost wake-up.
      std::lock_guard<std::mutex> lock(mu_);
      finished_.fetch_add(1, std::memory_order_release);
      if (job->quiet) queuedBytes_.fetch_sub(job->bytes, std::memory_order_relaxed);
      stopping = stopping_;
    }
    idle_.notify_all();
    if (job->quiet) {
      delete job;  // no completion: errors were recorded by the work itself (queue.h)
    } else if (stopping || tsfn_.NonBlockingCall(job) != napi_ok) {
      delete job;  // environment or process is closing
    }
  }
}

void Executor::CallJs(Napi::Env env, Napi::Function, Executor* self, Job* job) {
  std::unique_ptr<Job> owned(job);
  if (env == nullptr) return;  // the thread-safe function is being torn down
  if (--self->pending_ == 0) self->tsfn_.Unref(env);
  Napi::HandleScope scope(env);
  if (!job->failed) {
    try {
      Napi::Value value = job->complete(env);
      napi_resolve_deferred(env, job->deferred, value);
      return;
    } catch (const Napi::Error& e) {
      napi_reject_deferred(env, job->deferred, e.Value());
      return;
    } catch (...) {
      job->error = DescribeCurrentException();
    }
  }
  napi_reject_deferred(env, job->deferred, MakeError(env, job->error.code, job->error.message).Value());
}

}  // namespace trnn
