// The default process group of torch.distributed, on PyTorch's own engine (c10d): a store for
// the rendezvous (TCPStore, or FileStore) and ProcessGroupGloo on the CPU (ProcessGroupNCCL
// on CUDA builds that have it). One group per Node environment, in AddonData::distributed.
//
// Thread rules: the group is created and destroyed on the JS thread. Collectives run on the
// JS thread (synchronous forms, after the executor's queued jobs: ExportOrdered) or on the
// executor (Async forms, which hold a reference to the state), so every rank issues its
// collectives in program order, which c10d requires. Gloo runs them on its own threads.
//
// Errors: everything that fails in c10d or Gloo (a rank that died, a timeout, an unreachable
// master, a port in use) is thrown as CodedError ERR_DISTRIBUTED with a sentence that says
// which operation failed.
#pragma once
#include "../addon.h"

#include "../compat.h"  // decides TORCHRNN_HAVE_C10D

namespace trnn {

#ifdef TORCHRNN_HAVE_C10D
struct DistributedState {
  c10::intrusive_ptr<c10d::Store> rawStore;  // TCPStore / FileStore (rendezvous keys)
  c10::intrusive_ptr<c10d::Store> store;     // PrefixStore("default_pg"), as Python's default group
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  std::string backend;
  int rank = 0;
  int size = 1;
  std::chrono::milliseconds timeout{0};
};
#else
struct DistributedState {};
#endif

// The current group; throws ERR_DISTRIBUTED naming `op` when there is none.
std::shared_ptr<DistributedState> CurrentGroup(Napi::Env env, const char* op);

// Call in a catch block: rethrows the exception being handled as ERR_DISTRIBUTED, with
// "<op> failed: <reason>" and "; <hint>" when given (CodedErrors pass through). Any thread.
[[noreturn]] void RethrowDistributed(const std::string& op, const std::string& hint = "");

[[noreturn]] void ThrowDistributed(const std::string& message);

void InitProcessGroup(Napi::Env env, Napi::Object exports);

}  // namespace trnn
