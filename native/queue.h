// Queued kernels: operators that return at once and run later on the executor thread, in call
// order, for the TensorFlow.js backend's asynchronous mode (lib/tfjs/queue.ts).
//
// callQueued(index, ...args) takes call()'s arguments and returns what call() returns, but:
// - the output's shape and dtype come from running the operator on meta tensors (libtorch's
//   shape-only device) with the inputs' sizes, strides and dtypes; the output is allocated here
//   (at::empty_strided) and a job (Executor::SubmitQuiet: no promise, no completion) runs the
//   operator's out= overload into it, or the operator and a copy where it has none;
// - an operator whose outputs all alias an input (reshape, permute, narrow, expand, detach…)
//   touches no data: it runs now, on this thread, whatever is still queued;
// - one whose inputs are all complete and small (kSmallNumel elements in all) runs now, as
//   call() would: no job is cheaper than a job;
// - what cannot be queued runs now, after the jobs that write its inputs (WaitFor): an operator
//   without a meta kernel (remembered per operator) or whose result is not a fresh tensor
//   (data-dependent shapes: nonzero, unique, boolean masks, .item()); one with written
//   arguments, a Generator argument, autocast on or inputs that record gradients waits for the
//   whole queue first (the ordering rule), like every synchronous call.
//
// Readiness: a handle made here records the number of the job that writes its data
// (TensorHandle::Ready(); a view gets its input's). readReady/readQueued and the synchronous
// fallback wait for that job only, not for the whole queue.
//
// Errors: a queued job that throws records its error against its outputs' storages (a
// "poisoned" tensor); a job whose input is poisoned does not run and poisons its outputs;
// reading a poisoned tensor (readReady, readQueued), or calling an operator on one now,
// throws that error as a TorchError. Disposing a handle while its job is queued is safe: the
// job holds its own references.
//
// Threads: JS thread, except what the jobs run (executor thread).
#pragma once
#include "addon.h"

namespace trnn {
namespace queue {

// The errors of failed jobs, by the storage they were meant to write (any thread).
class Poisons {
 public:
  void Add(const at::Tensor& t, const std::shared_ptr<const ErrorInfo>& error);
  // The error recorded for t's storage, or null.
  std::shared_ptr<const ErrorInfo> Of(const at::Tensor& t);
  std::shared_ptr<const ErrorInfo> FirstOf(const std::vector<at::Tensor>& ts);
  bool Any() const { return any_.load(std::memory_order_acquire); }

 private:
  std::mutex mu_;
  std::atomic<bool> any_{false};
  struct Entry {
    c10::weak_intrusive_ptr<c10::StorageImpl> storage;  // a freed storage's address may be reused
    std::shared_ptr<const ErrorInfo> error;
  };
  std::unordered_map<const c10::StorageImpl*, Entry> map_;
};

Poisons& PoisonsOf(Napi::Env env);

// Queues `fn` as a quiet job that writes `outputs` from `inputs`: skipped when an input is
// poisoned, and its outputs poisoned when it throws. Returns the job's number. `onError` (on
// the executor thread) records the error elsewhere too (a recurrent kernel's saved state).
uint64_t Enqueue(Napi::Env env, std::vector<at::Tensor> inputs, std::vector<at::Tensor> outputs, std::function<void()> fn,
                 std::function<void(const std::shared_ptr<const ErrorInfo>&)> onError = {});

// Waits for job `ready` (TensorHandle::Ready()), then throws the error of a poisoned tensor.
void WaitUsable(Napi::Env env, uint64_t ready, const std::vector<at::Tensor>& tensors);

// The ready number of a handle argument (0 for anything else).
uint64_t ReadyOf(const Napi::Value& v);

// A new float tensor like `like`'s options (CPU), for a queued kernel's output.
at::Tensor Output(at::IntArrayRef sizes, const at::TensorOptions& options);

}  // namespace queue
}  // namespace trnn
