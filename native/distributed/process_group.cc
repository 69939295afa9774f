#include "process_group.h"

#include "../compat.h"
#include "../executor.h"
#include "collectives.h"
#include "ddp.h"

#ifdef TORCHRNN_HAVE_C10D
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#endif

namespace trnn {

[[noreturn]] void ThrowDistributed(const std::string& message) {
  throw CodedError("ERR_DISTRIBUTED", message);
}

[[noreturn]] void RethrowDistributed(const std::string& op, const std::string& hint) {
  try {
    throw;
  } catch (const CodedError&) {
    throw;
  } catch (...) {
    ErrorInfo e = DescribeCurrentException();
    std::string msg = CleanGlooMessage(e.message);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ' || msg.back() == '.')) msg.pop_back();
    ThrowDistributed(op + " failed: " + msg + (hint.empty() ? "" : "; " + hint));
  }
}

std::shared_ptr<DistributedState> CurrentGroup(Napi::Env env, const char* op) {
  auto state = Data(env).distributed;
  if (!state) {
    ThrowDistributed(std::string(op) + ": the default process group has not been initialized: call distributed.initProcessGroup() first");
  }
  return state;
}

#ifdef TORCHRNN_HAVE_C10D

namespace {

struct DistInitOptions {
  std::string backend, store, host, path;
  int port = 0, rank = 0, size = 1;
  std::chrono::milliseconds timeout{0};
};

std::string StoreString(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> StoreBytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

bool InitTimedOut(std::chrono::steady_clock::time_point start, std::chrono::milliseconds timeout) {
  return std::chrono::steady_clock::now() - start > timeout;
}

std::string StoreWhere(const DistInitOptions& o) {
  return o.store == "file" ? "the store file " + o.path : "the master " + o.host + ":" + std::to_string(o.port);
}

c10::intrusive_ptr<c10d::Store> MakeRendezvousStore(const DistInitOptions& o) {
  if (o.store == "file") {
    try {
      return c10::make_intrusive<c10d::FileStore>(o.path, o.size);
    } catch (...) {
      RethrowDistributed("initProcessGroup (opening the store file " + o.path + ")");
    }
  }
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(o.port);
  so.isServer = o.rank == 0;
  // numWorkers: clients count themselves in the store's "init/" key, as Python's ranks do (a
  // Python rank 0 waits for that count). Rank 0 does its own, clearer, wait (WaitForRanks).
  so.numWorkers = static_cast<std::size_t>(o.size);
  so.waitWorkers = o.rank != 0;
  so.timeout = o.timeout;
  so.multiTenant = true;  // as Python's env:// and tcp://
  compat::UseClassicTcpStore(so);
  try {
    return c10::make_intrusive<c10d::TCPStore>(o.host, so);
  } catch (...) {
    if (o.rank == 0) {
      RethrowDistributed("initProcessGroup: rank 0 starting the rendezvous store on port " + std::to_string(o.port),
                         "is the port in use? Choose another MASTER_PORT");
    }
    RethrowDistributed("initProcessGroup: rank " + std::to_string(o.rank) + " connecting to " + StoreWhere(o),
                       "is rank 0 running, and are MASTER_ADDR and MASTER_PORT right?");
  }
}

// Rendezvous checks, in keys beside Python's "default_pg/" ones: each rank claims its rank (a
// second process started with the same rank fails at once), publishes its world size, and
// waits until every rank has joined, so that a missing rank, a duplicate rank or ranks started
// with different world sizes fail with a sentence instead of a bare timeout inside Gloo. A rank
// that does not publish (a Python torch.distributed rank) counts as joined once its Gloo
// address is in the store. Returns the ranks that published (torchrnn ranks).
std::vector<int> WaitForRanks(c10d::Store& raw, const DistInitOptions& o) {
  const std::string me = std::to_string(o.rank);
  try {
    if (raw.add("torchrnn/claim/" + me, 1) > 1) {
      ThrowDistributed("initProcessGroup: rank " + me + " was started twice (two processes have RANK=" + me + "); each rank must be unique");
    }
    raw.set("torchrnn/world_size/" + me, StoreBytes(std::to_string(o.size)));
  } catch (...) {
    RethrowDistributed("initProcessGroup (joining at " + StoreWhere(o) + ")");
  }
  std::vector<int> state(o.size, 0);  // 0 unseen, 1 torchrnn rank, 2 another rank (Python)
  state[o.rank] = 1;
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    int seen = 0;
    try {
      for (int j = 0; j < o.size; j++) {
        if (state[j] == 0) {
          const std::string key = "torchrnn/world_size/" + std::to_string(j);
          if (raw.check({key})) {
            std::string theirs = StoreString(raw.get(key));
            if (theirs != std::to_string(o.size)) {
              ThrowDistributed("initProcessGroup: the ranks disagree on the world size: rank " + std::to_string(j) + " was started with worldSize " +
                               theirs + ", this rank (" + me + ") with " + std::to_string(o.size) + " (set the same WORLD_SIZE on every rank)");
            }
            state[j] = 1;
          } else if (raw.check({compat::DefaultGroupGlooAddressKey(j)})) {  // its Gloo address (group "0", device 0)
            state[j] = 2;
          }
        }
        if (state[j] != 0) seen++;
      }
    } catch (...) {
      if (o.rank == 0) RethrowDistributed("initProcessGroup (waiting for the other ranks at " + StoreWhere(o) + ")");
      RethrowDistributed("initProcessGroup: rank " + me + " lost " + StoreWhere(o) + " while waiting for the other ranks",
                         "rank 0 has probably failed or timed out (its own error says why)");
    }
    if (seen == o.size) break;
    if (InitTimedOut(start, o.timeout)) {
      std::string missing;
      for (int j = 0; j < o.size; j++) {
        if (state[j] == 0) missing += (missing.empty() ? "" : ", ") + std::to_string(j);
      }
      ThrowDistributed("initProcessGroup: timed out after " + std::to_string(o.timeout.count()) + " ms: " + std::to_string(seen) + " of " +
                       std::to_string(o.size) + " ranks joined at " + StoreWhere(o) + "; missing: rank " + missing +
                       " (were all processes started, with the same WORLD_SIZE?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<int> ours;
  for (int j = 0; j < o.size; j++) {
    if (state[j] == 1) ours.push_back(j);
  }
  return ours;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

c10::intrusive_ptr<c10d::ProcessGroup> MakeProcessGroup(const DistInitOptions& o, const c10::intrusive_ptr<c10d::Store>& store) {
  if (o.backend == "nccl") {
#ifdef USE_C10D_NCCL
    try {
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = o.timeout;
      return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, o.rank, o.size, opts);
    } catch (...) {
      RethrowDistributed("initProcessGroup (creating the NCCL process group)");
    }
#else
    ThrowDistributed("initProcessGroup: backend 'nccl' is not available: the libtorch torchrnn runs on was built without NCCL (use backend 'gloo')");
#endif
  }
  try {
    auto opts = c10d::ProcessGroupGloo::Options::create(o.timeout);
    // As Python's ProcessGroupGloo: the interfaces in GLOO_SOCKET_IFNAME, else the address the
    // machine's hostname resolves to. When the master is on the loopback all ranks are on this
    // machine, and the loopback is the one address that always works (containers, no DNS).
    const char* ifnames = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifnames && std::strlen(ifnames) > 0) {
      std::stringstream ss(ifnames);
      std::string iface;
      while (std::getline(ss, iface, ',')) {
        if (!iface.empty()) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
      }
    } else if (o.store == "tcp" && IsLoopbackHost(o.host)) {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    opts->threads = static_cast<int>(opts->devices.size()) * 2;
    return compat::MakeGlooGroup(store, o.rank, o.size, opts);
  } catch (...) {
    RethrowDistributed("initProcessGroup (connecting the Gloo process group of " + std::to_string(o.size) + " ranks)");
  }
}

// Python's _store_based_barrier (same key) where Python's init_process_group runs it (see
// compat.h), so that a Python rank and torchrnn ranks leave initialization together; else the
// same count among the torchrnn ranks alone. Then rank 0 keeps the store up until every
// torchrnn rank has seen the count (without that, rank 0 could exit and take the store with it
// while another rank is still reading the count).
void StoreBarrier(c10d::Store& store, c10d::Store& raw, const DistInitOptions& o, const std::vector<int>& ours) {
  const bool python = compat::PythonBarrierAfterInit();
  const std::string key = python ? compat::PythonBarrierKey() : "torchrnn/connected";
  c10d::Store& counter = python ? store : raw;
  const int64_t want = python ? o.size : static_cast<int64_t>(ours.size());
  auto start = std::chrono::steady_clock::now();
  try {
    if (counter.add(key, 1) == want) counter.set(key + ":last_worker", StoreBytes("1"));
    for (;;) {
      int64_t n = counter.add(key, 0);
      if (n >= want) break;
      if (InitTimedOut(start, o.timeout)) {
        ThrowDistributed("initProcessGroup: timed out after " + std::to_string(o.timeout.count()) + " ms: " + std::to_string(n) + " of " +
                         std::to_string(want) + " ranks finished connecting");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    raw.add("torchrnn/passed", 1);
    if (o.rank == 0) {
      while (raw.add("torchrnn/passed", 0) < static_cast<int64_t>(ours.size()) && !InitTimedOut(start, o.timeout)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
  } catch (...) {
    RethrowDistributed("initProcessGroup (waiting for every rank to connect)");
  }
}

}  // namespace

// distInit({ backend, store: 'tcp' | 'file', host, port, path, rank, worldSize, timeout (ms) })
// Blocks the JS thread until every rank has joined, as torch.distributed.init_process_group.
static Napi::Value DistInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  Napi::Object obj = info[0].As<Napi::Object>();
  DistInitOptions o;
  o.backend = obj.Get("backend").As<Napi::String>();
  o.store = obj.Get("store").As<Napi::String>();
  o.host = obj.Get("host").As<Napi::String>();
  o.path = obj.Get("path").As<Napi::String>();
  o.port = obj.Get("port").As<Napi::Number>().Int32Value();
  o.rank = obj.Get("rank").As<Napi::Number>().Int32Value();
  o.size = obj.Get("worldSize").As<Napi::Number>().Int32Value();
  o.timeout = std::chrono::milliseconds(obj.Get("timeout").As<Napi::Number>().Int64Value());
  if (data.distributed) ThrowDistributed("initProcessGroup: the default process group is already initialized (call destroyProcessGroup() first)");
  // Created before the group: environment teardown then stops the executor (whose queued
  // jobs may hold the group) before AddonData drops the group.
  data.GetExecutor(env);
  auto state = std::make_shared<DistributedState>();
  state->backend = o.backend;
  state->rank = o.rank;
  state->size = o.size;
  state->timeout = o.timeout;
  state->rawStore = MakeRendezvousStore(o);
  state->store = c10::make_intrusive<c10d::PrefixStore>("default_pg", state->rawStore);
  std::vector<int> ours = WaitForRanks(*state->rawStore, o);
  // The default group's keys live where Python's do (its group name is "0"; compat.h).
  state->pg = MakeProcessGroup(o, compat::DefaultGroupBackendStore(state->store));
  StoreBarrier(*state->store, *state->rawStore, o, ours);
  try {
    state->pg->setSequenceNumberForGroup();  // as Python's init_process_group (a Python rank waits for rank 0's number)
  } catch (...) {
    RethrowDistributed("initProcessGroup (sharing the group's sequence number)");
  }
  data.distributed = state;
  return env.Undefined();
}

// distInfo() -> [rank, worldSize, backend] | null
static Napi::Value DistInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Data(env).distributed;
  if (!state) return env.Null();
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, state->rank));
  out.Set(1u, Napi::Number::New(env, state->size));
  out.Set(2u, Napi::String::New(env, state->backend));
  return out;
}

// Drops this environment's reference; queued jobs keep theirs until they finish.
static Napi::Value DistDestroy(const Napi::CallbackInfo& info) {
  Data(info.Env()).distributed.reset();
  return info.Env().Undefined();
}

static void RunBarrier(const DistributedState& s) {
  try {
    s.pg->barrier()->wait();
  } catch (...) {
    RethrowDistributed("barrier");
  }
}

static Napi::Value DistBarrier(const Napi::CallbackInfo& info) {
  RunBarrier(*CurrentGroup(info.Env(), "barrier"));
  return info.Env().Undefined();
}

static Napi::Value DistBarrierAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = CurrentGroup(env, "barrierAsync");
  return Data(env).GetExecutor(env).Submit(env, [state] { RunBarrier(*state); }, [](Napi::Env env) { return env.Undefined(); });
}

static Napi::Value DistAvailability(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("gloo", Napi::Boolean::New(env, true));
#ifdef USE_C10D_NCCL
  out.Set("nccl", Napi::Boolean::New(env, true));
#else
  out.Set("nccl", Napi::Boolean::New(env, false));
#endif
  return out;
}

#else  // no c10d in this build

static Napi::Value DistUnavailable(const Napi::CallbackInfo& info) {
  ThrowDistributed("torch.distributed is not available: torchrnn was built without c10d/Gloo (install libgloo-dev and rebuild, or use a libtorch built with USE_DISTRIBUTED)");
}
static Napi::Value DistInfo(const Napi::CallbackInfo& info) { return info.Env().Null(); }
static Napi::Value DistDestroy(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }
static Napi::Value DistAvailability(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("gloo", Napi::Boolean::New(env, false));
  out.Set("nccl", Napi::Boolean::New(env, false));
  return out;
}
#define DistInit DistUnavailable
#define DistBarrier DistUnavailable
#define DistBarrierAsync DistUnavailable

#endif

void InitProcessGroup(Napi::Env env, Napi::Object exports) {
#ifdef __linux__
  // Started by `torchrnn run`: die with the launcher, so that a launcher killed with SIGKILL
  // leaves no orphan ranks behind (it stops its workers itself in every other case).
  // Only when the launcher is the direct parent (not for `--no-node` commands that start node
  // through another program).
  const char* launcher = std::getenv("TORCHRNN_LAUNCHER_PID");
  if (launcher && std::to_string(getppid()) == launcher) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (std::to_string(getppid()) != launcher) raise(SIGKILL);  // it died just before prctl
  }
#endif
  Export<DistInit>(env, exports, "distInit");
  Export<DistInfo>(env, exports, "distInfo");
  ExportOrdered<DistDestroy>(env, exports, "distDestroy");
  ExportOrdered<DistBarrier>(env, exports, "distBarrier");
  Export<DistBarrierAsync>(env, exports, "distBarrierAsync");
  Export<DistAvailability>(env, exports, "distAvailability");
}

// addon.h: the distributed file pairs' entry points.
void InitDistributed(Napi::Env env, Napi::Object exports) {
  InitProcessGroup(env, exports);
  InitCollectives(env, exports);
  InitDdp(env, exports);
}

}  // namespace trnn
