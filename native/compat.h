// Every difference between the libtorch lines torchrnn builds against (1.13, Debian 12's, and
// 2.x, Debian 13's 2.6) lives here, keyed on torch/version.h. Code elsewhere calls these
// functions and never tests TORCH_VERSION_* itself. Where 2.x deprecates an API, the 2.x
// branch uses its replacement (the deprecated names print a warning on every call).
//
// What differs, and where it is used:
// - Recurrent layers under CPU autocast: oneDNN's bfloat16 RNN in 2.x (RecurrentAutocastGuard,
//   nn/rnn.cc); at::lstm on oneDNN in 2.x, which small batches take (LstmRunsOnOneDnn,
//   nn/fused/lstm.cc).
// - at::autocast: 2.4 took the device type as an argument (is_autocast_enabled(kCPU), ...)
//   and deprecated is_cpu_enabled() / get_autocast_cpu_dtype() & co. (amp.cc, nn/fused/common.cc)
// - torch::optim's state map: keyed by the parameter's TensorImpl address printed as a string
//   in 1.13, by the address itself (void*) in 2.x. (optim/optimizer.cc)
// - c10d: 2.x splits a process group into a c10d::ProcessGroup that dispatches to a Backend
//   (ProcessGroupGloo became a Backend), registered per device as Python's
//   init_process_group does; the store keys of the default group moved accordingly; Python
//   2.x no longer runs the store-based barrier after init (TORCH_DIST_INIT_BARRIER=1 asks for
//   it); and TCPStore asks for its libuv server by default, which Debian's build lacks.
//   (distributed/process_group.cc)
#pragma once
#include <torch/version.h>

#define TORCHRNN_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

#include <ATen/autocast_mode.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <type_traits>

namespace trnn::compat {

// --- at::autocast ----------------------------------------------------------------------------
#if TORCHRNN_TORCH_AT_LEAST(2, 4)
inline bool AutocastEnabled(c10::DeviceType device) { return at::autocast::is_autocast_enabled(device); }
inline void SetAutocastEnabled(c10::DeviceType device, bool on) { at::autocast::set_autocast_enabled(device, on); }
inline at::ScalarType AutocastDtype(c10::DeviceType device) { return at::autocast::get_autocast_dtype(device); }
inline void SetAutocastDtype(c10::DeviceType device, at::ScalarType dtype) { at::autocast::set_autocast_dtype(device, dtype); }
#else
inline bool AutocastEnabled(c10::DeviceType device) {
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
inline void SetAutocastEnabled(c10::DeviceType device, bool on) {
  if (device == c10::DeviceType::CPU) at::autocast::set_cpu_enabled(on);
  else at::autocast::set_enabled(on);
}
inline at::ScalarType AutocastDtype(c10::DeviceType device) {
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
}
inline void SetAutocastDtype(c10::DeviceType device, at::ScalarType dtype) {
  if (device == c10::DeviceType::CPU) at::autocast::set_autocast_cpu_dtype(dtype);
  else at::autocast::set_autocast_gpu_dtype(dtype);
}
#endif

// Recurrent layers under CPU autocast: from 2.x, at::lstm under CPU autocast takes oneDNN's RNN
// in bfloat16, which fails on CPUs without AVX-512 ("could not create a primitive descriptor
// for the LSTM forward propagation primitive"; PyTorch 2.6 itself fails the same way), and on
// CPUs with it returns bfloat16 from float32 inputs inside the autocast kernel, below the
// tracer: a traced graph records a float32 LSTM whose output the next layer's recorded casts
// take for bfloat16, and trainStep({ amp, trace }) failed on replay ("mat1 and mat2 must have
// the same dtype"; CI on an Intel Xeon). So the guard turns CPU autocast off around libtorch's
// recurrent module on every CPU: it runs in float32, as on 1.13 and as PyTorch does with oneDNN
// disabled, the same on every machine, and the layers after it autocast as usual.
class RecurrentAutocastGuard {
 public:
  RecurrentAutocastGuard() {
#if TORCHRNN_TORCH_AT_LEAST(2, 0)
    if (AutocastEnabled(c10::DeviceType::CPU)) {
      active_ = true;
      SetAutocastEnabled(c10::DeviceType::CPU, false);
    }
#endif
  }
  ~RecurrentAutocastGuard() {
    if (active_) SetAutocastEnabled(c10::DeviceType::CPU, true);
  }
  RecurrentAutocastGuard(const RecurrentAutocastGuard&) = delete;
  RecurrentAutocastGuard& operator=(const RecurrentAutocastGuard&) = delete;

 private:
  bool active_ = false;
};

// Whether libtorch's own (non-packed) LSTM runs on oneDNN here: from 2.x, at::lstm on float32
// CPU input takes oneDNN's fused RNN primitive when libtorch has MKLDNN and it is enabled
// (torch.backends.mkldnn). 1.13's at::lstm does not. (nn/fused/lstm.cc: at small batches
// oneDNN's LSTM beats torchrnn's fused layer, whose per-step GEMMs are then GEMVs.)
inline bool LstmRunsOnOneDnn() {
#if TORCHRNN_TORCH_AT_LEAST(2, 0)
  return at::hasMKLDNN() && at::globalContext().userEnabledMkldnn();
#else
  return false;
#endif
}

// --- torch::optim ------------------------------------------------------------------------------
// The key of a parameter in Optimizer::state(). Chosen by the map's own key type, which is
// what changed (std::string in 1.13, void* in 2.x).
template <class StateMap>
typename StateMap::key_type OptimizerStateKey(const StateMap&, const at::Tensor& param) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;  // what 1.13's c10::guts::to_string(TensorImpl*) writes
    s << param.unsafeGetTensorImpl();
    return s.str();
  } else {
    return static_cast<Key>(param.unsafeGetTensorImpl());
  }
}

}  // namespace trnn::compat

// --- c10d ----------------------------------------------------------------------------------------
// c10d with Gloo needs libtorch built with USE_DISTRIBUTED and Gloo's headers (libgloo-dev on
// Debian). Without them the addon still builds and every distributed call throws a clear error.
#if defined(USE_DISTRIBUTED) && __has_include(<gloo/config.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#define TORCHRNN_HAVE_C10D 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO  // ProcessGroupGloo.hpp declares its class only with this defined
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace trnn::compat {

// TCPStore without libuv (2.x asks for it by default; Debian's libtorch has none, and the
// classic server is what 1.13 runs).
inline void UseClassicTcpStore(c10d::TCPStoreOptions& o) {
#if TORCHRNN_TORCH_AT_LEAST(2, 2)
  o.useLibUV = false;
#else
  (void)o;
#endif
}

// The store the default group's backend uses, under the raw store's "default_pg" prefix
// store, as Python's init_process_group lays it out: 1.13 PrefixStore("0"), 2.x
// PrefixStore("0/") then PrefixStore("cpu/") for the CPU backend.
inline c10::intrusive_ptr<c10d::Store> DefaultGroupBackendStore(const c10::intrusive_ptr<c10d::Store>& defaultPg) {
#if TORCHRNN_TORCH_AT_LEAST(2, 0)
  auto group = c10::make_intrusive<c10d::PrefixStore>("0/", defaultPg);
  return c10::make_intrusive<c10d::PrefixStore>("cpu/", group);
#else
  return c10::make_intrusive<c10d::PrefixStore>("0", defaultPg);
#endif
}

// The raw store key under which rank `rank`'s Gloo address (device 0) appears: how a rank that
// is not torchrnn's (Python's) is seen to have joined. (Read off the keys Python's
// init_process_group leaves in a FileStore: 1.13 "default_pg/0/0/rank_0", 2.6
// "default_pg/0//cpu//0/0".)
inline std::string DefaultGroupGlooAddressKey(int rank) {
#if TORCHRNN_TORCH_AT_LEAST(2, 0)
  return "default_pg/0//cpu//0/" + std::to_string(rank);
#else
  return "default_pg/0/0/rank_" + std::to_string(rank);
#endif
}

// Whether Python's init_process_group ends with its store-based barrier (always in 1.13; in
// 2.x only with TORCH_DIST_INIT_BARRIER=1), and the key it counts in (2.x also waits for
// "<key>:last_worker", set by the rank whose add completes the count).
inline bool PythonBarrierAfterInit() {
#if TORCHRNN_TORCH_AT_LEAST(2, 0)
  const char* v = std::getenv("TORCH_DIST_INIT_BARRIER");
  return v && std::string(v) == "1";
#else
  return true;
#endif
}
inline std::string PythonBarrierKey() {
#if TORCHRNN_TORCH_AT_LEAST(2, 0)
  return "store_based_barrier_key:0";
#else
  return "store_based_barrier_key:1";
#endif
}

// A Gloo process group on the CPU: 1.13's ProcessGroupGloo is the group; 2.x wraps it, as a
// Backend, in a c10d::ProcessGroup whose default backend it is (the 2.x branch follows 2.6's
// ProcessGroup constructor).
inline c10::intrusive_ptr<c10d::ProcessGroup> MakeGlooGroup(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                            const c10::intrusive_ptr<c10d::ProcessGroupGloo::Options>& opts) {
  auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
#if TORCHRNN_TORCH_AT_LEAST(2, 0)
  auto pg = c10::make_intrusive<c10d::ProcessGroup>(store, rank, size);
  pg->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
  pg->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, gloo);
  return pg;
#else
  return gloo;
#endif
}

}  // namespace trnn::compat
#endif
