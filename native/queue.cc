#include "queue.h"

#include "compat.h"
#include "executor.h"
#include "ops.h"
#include "queue_rules.h"
#include "tensor.h"

#include <optional>

namespace trnn {
namespace queue {

// What callQueued learned of one operator (by its index in AddonData::ops). JS thread.
struct OpTraits {
  bool known = false;
  bool ordered = false;     // written arguments or a Generator: waits for the whole queue
  bool metaBroken = false;  // its meta kernel failed: the shape rule, or it runs now
  std::optional<c10::OperatorHandle> out;  // its out= overload, if it has one
  int rule = 0;  // a Rule: how to know its output without a meta kernel
};

// What callQueued does for one call signature: views made now, fresh outputs allocated with
// these sizes, strides and dtypes (undefined results: !defined), or the call made now.
struct Plan {
  enum Kind { kViews, kFresh, kNow } kind = kNow;
  struct Out {
    bool defined = false;
    std::vector<int64_t> sizes, strides;
    at::ScalarType dtype = at::kFloat;
  };
  std::vector<Out> outs;
};
constexpr size_t kMaxPlans = 8192;

struct State {
  std::shared_ptr<Poisons> poisons = std::make_shared<Poisons>();
  std::vector<OpTraits> traits;
  // Every overload name of every operator, by operator name (to find out= overloads).
  std::unordered_map<std::string, std::vector<std::string>> overloads;
  // What meta or a shape rule said of a call, by its signature (PlanKey): a training loop
  // repeats the same calls, and a lookup costs a fraction of a meta call. Cleared when full.
  std::unordered_map<std::string, struct Plan> plans;
  std::string key;  // PlanKey's buffer
  // Operators that ran on the JS thread after waiting for queued jobs, with how often
  // (queueWaits(): what still blocks the JS thread in the asynchronous mode).
  std::unordered_map<std::string, uint64_t> waits;
  // setMetaBuffer's Float64Array: callQueued writes its result's [dtype, rank, ...sizes] there.
  Napi::Reference<Napi::Value> metaRef;
  double* meta = nullptr;
  size_t metaLength = 0;
  // TORCHRNN_TFJS_QUEUE_ALL=1: queue even small operators on complete inputs (tests).
  bool queueAll = [] {
    const char* v = std::getenv("TORCHRNN_TFJS_QUEUE_ALL");
    return v != nullptr && std::string(v) == "1";
  }();
};

static State& StateOf(Napi::Env env) {
  AddonData& data = Data(env);
  if (!data.queue) data.queue = std::make_shared<State>();
  return *data.queue;
}

Poisons& PoisonsOf(Napi::Env env) { return *StateOf(env).poisons; }

// ---- poisoned storages ----------------------------------------------------------------------

void Poisons::Add(const at::Tensor& t, const std::shared_ptr<const ErrorInfo>& error) {
  if (!t.defined() || !t.has_storage()) return;
  std::lock_guard<std::mutex> lock(mu_);
  // Forget the entries of freed storages first (errors are rare: the map stays small).
  for (auto it = map_.begin(); it != map_.end();) it = it->second.storage.expired() ? map_.erase(it) : std::next(it);
  const c10::Storage& s = t.storage();
  map_.insert_or_assign(s.unsafeGetStorageImpl(), Entry{s.getWeakStorageImpl(), error});
  any_.store(true, std::memory_order_release);
}

std::shared_ptr<const ErrorInfo> Poisons::Of(const at::Tensor& t) {
  if (!Any() || !t.defined() || !t.has_storage()) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(t.storage().unsafeGetStorageImpl());
  if (it == map_.end()) return nullptr;
  // A live tensor holds its storage: an entry whose storage expired was for another one that
  // lived at the same address.
  if (it->second.storage.expired()) {
    map_.erase(it);
    return nullptr;
  }
  return it->second.error;
}

std::shared_ptr<const ErrorInfo> Poisons::FirstOf(const std::vector<at::Tensor>& ts) {
  if (!Any()) return nullptr;
  for (const at::Tensor& t : ts) {
    if (auto e = Of(t)) return e;
  }
  return nullptr;
}

// ---- jobs -------------------------------------------------------------------------------------

static size_t Bytes(const std::vector<at::Tensor>& ts) {
  size_t n = 0;
  for (const at::Tensor& t : ts) {
    if (t.defined()) n += t.numel() * t.element_size();
  }
  return n;
}

uint64_t Enqueue(Napi::Env env, std::vector<at::Tensor> inputs, std::vector<at::Tensor> outputs, std::function<void()> fn,
                 std::function<void(const std::shared_ptr<const ErrorInfo>&)> onError) {
  std::shared_ptr<Poisons> poisons = StateOf(env).poisons;
  size_t bytes = Bytes(outputs);
  auto work = [poisons, inputs = std::move(inputs), outputs = std::move(outputs), fn = std::move(fn), onError = std::move(onError)] {
    std::shared_ptr<const ErrorInfo> error = poisons->FirstOf(inputs);
    if (!error) {
      try {
        fn();
        return;
      } catch (...) {
        error = std::make_shared<const ErrorInfo>(DescribeCurrentException());
      }
    }
    for (const at::Tensor& t : outputs) poisons->Add(t, error);
    if (onError) onError(error);
  };
  return Data(env).GetExecutor(env).SubmitQuiet(std::move(work), bytes);
}

static void ThrowError(const ErrorInfo& e) { throw CodedError(e.code, e.message); }

void WaitUsable(Napi::Env env, uint64_t ready, const std::vector<at::Tensor>& tensors) {
  AddonData& data = Data(env);
  if (data.executor) data.executor->WaitFor(ready);
  if (!data.queue) return;
  if (auto e = data.queue->poisons->FirstOf(tensors)) ThrowError(*e);
}

uint64_t ReadyOf(const Napi::Value& v) {
  TensorHandle* h = TensorHandle::Unwrap(v);
  return h != nullptr ? h->Ready() : 0;
}

at::Tensor Output(at::IntArrayRef sizes, const at::TensorOptions& options) { return at::empty(sizes, options); }

// ---- callQueued ---------------------------------------------------------------------------------

// Inputs below this many elements in all, already computed, run at once: a job costs more.
constexpr int64_t kSmallNumel = 4096;

// What the JS arguments hold: the latest job among the handles' (and handle arrays'), their
// elements in all, and whether one records gradients.
struct ArgFacts {
  uint64_t ready = 0;
  int64_t numel = 0;
  bool tensors = false;
  bool grad = false;
};

static void Note(ArgFacts& f, TensorHandle* h) {
  if (h == nullptr || !h->IsLive()) return;
  f.tensors = true;
  f.ready = std::max(f.ready, h->Ready());
  f.numel += h->tensor().numel();
  if (h->tensor().requires_grad()) f.grad = true;
}

// Reads every argument once: the handles go to `known` too, for the call (CallOp).
static ArgFacts Facts(const Napi::CallbackInfo& info, KnownArgs& known) {
  ArgFacts f;
  napi_env env = info.Env();
  for (size_t i = 1; i < info.Length(); i++) {
    Napi::Value v = info[i];
    TensorHandle* h = TensorHandle::Unwrap(v);
    if (i - 1 < KnownArgs::kMax) {
      known.h[i - 1] = h;
      known.n = i;
    }
    if (h != nullptr) {
      Note(f, h);
      continue;
    }
    napi_valuetype t;
    if (napi_typeof(env, v, &t) != napi_ok) continue;
    if (t == napi_object) {
      bool isArray = false;
      napi_is_array(env, v, &isArray);
      if (!isArray) continue;
      Napi::Array a = info[i].As<Napi::Array>();
      for (uint32_t k = 0, n = a.Length(); k < n; k++) Note(f, TensorHandle::Unwrap(a.Get(k)));
    }
  }
  return f;
}

static void ForEachTensor(const c10::IValue& v, const std::function<void(const at::Tensor&)>& fn) {
  if (v.isTensor()) {
    fn(v.toTensor());
  } else if (v.isTensorList()) {
    for (const at::Tensor& t : v.toTensorList().vec()) fn(t);
  } else if (v.isList()) {
    for (const c10::IValue& e : v.toListRef()) ForEachTensor(e, fn);
  }
}

static std::vector<at::Tensor> TensorsOf(const torch::jit::Stack& stack) {
  std::vector<at::Tensor> out;
  for (const c10::IValue& v : stack) {
    ForEachTensor(v, [&](const at::Tensor& t) {
      if (t.defined()) out.push_back(t);
    });
  }
  return out;
}

// A meta tensor with t's sizes, strides and dtype (a wrapped number stays one).
static at::Tensor MetaTwin(const at::Tensor& t) {
  if (!t.defined()) return t;
  at::Tensor m = at::empty_strided(t.sizes(), t.strides(), t.options().device(at::kMeta));
  if (t.unsafeGetTensorImpl()->is_wrapped_number()) m.unsafeGetTensorImpl()->set_wrapped_number(true);
  return m;
}

static c10::IValue MetaOf(const c10::IValue& v) {
  if (v.isTensor()) return MetaTwin(v.toTensor());
  if (v.isTensorList()) {
    c10::List<at::Tensor> out;
    for (const at::Tensor& t : v.toTensorList().vec()) out.push_back(MetaTwin(t));
    return out;
  }
  if (v.isList() && v.toListRef().size() > 0) {
    const c10::TypePtr& elem = v.type()->containedType(0);
    if (elem->kind() == c10::TypeKind::OptionalType) {  // Tensor?[]
      c10::List<c10::optional<at::Tensor>> out;
      for (const c10::IValue& e : v.toListRef()) out.push_back(e.isNone() ? c10::optional<at::Tensor>() : c10::optional<at::Tensor>(MetaTwin(e.toTensor())));
      return out;
    }
  }
  return v;
}

static bool SameArgument(const c10::Argument& a, const c10::Argument& b) {
  return a.name() == b.name() && a.type()->str() == b.type()->str();
}


static const OpTraits& TraitsOf(State& st, size_t index, const c10::OperatorHandle& op) {
  if (st.traits.size() <= index) st.traits.resize(index + 1);
  OpTraits& tr = st.traits[index];
  if (tr.known) return tr;
  tr.known = true;
  const c10::FunctionSchema& schema = op.schema();
  tr.rule = RuleFor(schema);
  for (const c10::Argument& a : schema.arguments()) {
    if ((a.alias_info() && a.alias_info()->isWrite()) || a.type()->str().find("Generator") != std::string::npos) tr.ordered = true;
  }
  if (tr.ordered) return tr;
  // The out= overload: the same arguments, then one keyword-only written Tensor per result.
  auto& dispatcher = c10::Dispatcher::singleton();
  if (st.overloads.empty()) {
    for (const c10::OperatorName& n : dispatcher.getAllOpNames()) st.overloads[n.name].push_back(n.overload_name);
  }
  const auto& args = schema.arguments();
  const size_t nret = schema.returns().size();
  for (const std::string& overload : st.overloads[schema.name()]) {
    auto cand = dispatcher.findSchema(c10::OperatorName(schema.name(), overload));
    if (!cand || !cand->hasSchema()) continue;
    const c10::FunctionSchema& cs = cand->schema();
    if (cs.arguments().size() != args.size() + nret || cs.returns().size() != nret) continue;
    bool ok = true;
    for (size_t i = 0; ok && i < args.size(); i++) ok = SameArgument(cs.arguments()[i], args[i]);
    for (size_t i = args.size(); ok && i < cs.arguments().size(); i++) {
      const c10::Argument& a = cs.arguments()[i];
      ok = a.kwarg_only() && a.alias_info() && a.alias_info()->isWrite() && a.type()->kind() == c10::TypeKind::TensorType;
    }
    if (ok) {
      tr.out = *cand;
      break;
    }
  }
  return tr;
}

// Runs the operator now, after the jobs that write its inputs (and every job, when `all`).
static Napi::Value RunNow(const Napi::CallbackInfo& info, const RegisteredOp& op, uint64_t ready, bool all, const KnownArgs* known = nullptr) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  Executor& ex = data.GetExecutor(env);
  uint64_t target = all ? ex.Submitted() : ready;
  if (target > ex.Finished()) {
    const c10::FunctionSchema& s = op.handle.schema();
    StateOf(env).waits[s.name() + "." + s.overload_name()]++;
    ex.WaitFor(target);
  }
  if (data.queue && data.queue->poisons->Any()) {
    torch::jit::Stack stack = BuildStack(info, op.handle);
    if (auto e = data.queue->poisons->FirstOf(TensorsOf(stack))) ThrowError(*e);
  }
  return CallOp(info, op, known);
}

static Napi::Value WithReady(Napi::Env env, const torch::jit::Stack& stack, uint64_t ready) {
  auto one = [&](const c10::IValue& v) -> Napi::Value {
    if (v.isTensor()) return TensorHandle::New(env, v.toTensor(), ready);
    if (v.isTensorList()) {
      auto list = v.toTensorList();
      Napi::Array out = Napi::Array::New(env, list.size());
      for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), TensorHandle::New(env, list.get(i), ready));
      return out;
    }
    return FromIValue(env, v);
  };
  if (stack.empty()) return env.Undefined();
  if (stack.size() == 1) return one(stack[0]);
  Napi::Array out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), one(stack[i]));
  return out;
}


// The device of the first real (not wrapped-number) tensor argument.
static at::Device DeviceOf(const torch::jit::Stack& stack) {
  for (const c10::IValue& v : stack) {
    if (v.isTensor() && v.toTensor().defined() && !v.toTensor().unsafeGetTensorImpl()->is_wrapped_number()) return v.toTensor().device();
  }
  return at::kCPU;
}

// Queues the operator on `stack` writing `outs` (allocated tensors, or None for results that
// are undefined): through its out= overload when it has one, else the operator and a copy.
static Napi::Value Enqueued(Napi::Env env, const OpTraits& tr, const c10::OperatorHandle& op, torch::jit::Stack stack, torch::jit::Stack outs) {
  std::vector<at::Tensor> outputs;
  for (const c10::IValue& v : outs) {
    if (v.isTensor()) outputs.push_back(v.toTensor());
  }
  std::vector<at::Tensor> inputs = TensorsOf(stack);
  auto args = std::make_shared<torch::jit::Stack>(std::move(stack));
  std::function<void()> fn;
  if (tr.out && outputs.size() == outs.size()) {
    c10::OperatorHandle outOp = *tr.out;
    fn = [outOp, args, outputs] {
      torch::jit::Stack s = std::move(*args);
      for (const at::Tensor& o : outputs) s.emplace_back(o);
      outOp.callBoxed(&s);
    };
  } else {
    fn = [op, args, outs] {
      torch::jit::Stack s = std::move(*args);
      op.callBoxed(&s);
      for (size_t i = 0; i < outs.size() && i < s.size(); i++) {
        if (outs[i].isTensor() && s[i].isTensor()) outs[i].toTensor().copy_(s[i].toTensor());
      }
    };
  }
  uint64_t seq = Enqueue(env, std::move(inputs), outputs, std::move(fn));
  return WithReady(env, outs, seq);
}

// ---- plans ------------------------------------------------------------------------------------

template <class T>
static void Put(std::string& key, const T& v) {
  key.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

static bool PutTensor(std::string& key, const at::Tensor& t) {
  if (!t.defined()) {
    key.push_back('u');
    return true;
  }
  if (t.layout() != at::kStrided) return false;
  key.push_back(t.unsafeGetTensorImpl()->is_wrapped_number() ? 'w' : 't');
  Put(key, static_cast<int8_t>(t.scalar_type()));
  Put(key, static_cast<int8_t>(t.device().type()));
  Put(key, static_cast<int8_t>(t.device().index()));
  Put(key, static_cast<int16_t>(t.dim()));
  for (int64_t i = 0; i < t.dim(); i++) Put(key, t.size(i));
  for (int64_t i = 0; i < t.dim(); i++) Put(key, t.stride(i));
  return true;
}

static bool PutValue(std::string& key, const c10::IValue& v) {
  if (v.isTensor()) return PutTensor(key, v.toTensor());
  if (v.isNone()) key.push_back('n');
  else if (v.isInt()) { key.push_back('i'); Put(key, v.toInt()); }
  else if (v.isDouble()) { key.push_back('d'); Put(key, v.toDouble()); }
  else if (v.isBool()) { key.push_back(v.toBool() ? 'T' : 'F'); }
  else if (v.isString()) { key.push_back('s'); Put(key, v.toStringRef().size()); key.append(v.toStringRef()); }
  else if (v.isDevice()) { key.push_back('D'); Put(key, static_cast<int8_t>(v.toDevice().type())); Put(key, static_cast<int8_t>(v.toDevice().index())); }
  else if (v.isIntList()) { key.push_back('I'); auto l = v.toIntList(); Put(key, l.size()); for (int64_t x : l) Put(key, x); }
  else if (v.isTensorList()) {
    key.push_back('L');
    auto l = v.toTensorList();
    Put(key, l.size());
    for (const at::Tensor& t : l.vec()) if (!PutTensor(key, t)) return false;
  } else if (v.isList()) {
    key.push_back('G');
    const auto& l = v.toListRef();
    Put(key, l.size());
    for (const c10::IValue& e : l) if (!PutValue(key, e)) return false;
  } else {
    return false;  // no plan for this call
  }
  return true;
}

// The call's signature: operator, then each argument (tensors by dtype, device, sizes and
// strides; everything else by value). False for arguments it does not describe.
static bool PlanKey(std::string& key, size_t index, const torch::jit::Stack& stack) {
  key.clear();
  Put(key, static_cast<uint32_t>(index));
  for (const c10::IValue& v : stack) {
    if (!PutValue(key, v)) return false;
  }
  return true;
}

static void Remember(State& st, bool keyed, Plan plan) {
  if (!keyed) return;
  if (st.plans.size() >= kMaxPlans) st.plans.clear();
  st.plans.emplace(st.key, std::move(plan));
}

static Plan::Out OutOf(const at::Tensor& t) {
  Plan::Out o;
  if (!t.defined()) return o;
  o.defined = true;
  o.sizes = t.sizes().vec();
  o.strides = t.strides().vec();
  o.dtype = t.scalar_type();
  return o;
}

// Views: made now (they read and write no data), ready when their inputs are.
static Napi::Value MakeViews(Napi::Env env, State& st, const c10::OperatorHandle& op, torch::jit::Stack& stack, uint64_t ready, bool done) {
  if (st.poisons->Any() && done) {
    if (auto e = st.poisons->FirstOf(TensorsOf(stack))) ThrowError(*e);
  }
  op.callBoxed(&stack);
  return WithReady(env, stack, ready);
}

// Fresh outputs as the plan says, written by a job.
static Napi::Value Allocated(Napi::Env env, const OpTraits& tr, const c10::OperatorHandle& op, torch::jit::Stack stack, const Plan& plan) {
  at::Device device = DeviceOf(stack);
  torch::jit::Stack outs;
  for (const Plan::Out& o : plan.outs) {
    if (o.defined) outs.emplace_back(at::empty_strided(o.sizes, o.strides, at::TensorOptions().dtype(o.dtype).device(device)));
    else outs.emplace_back();
  }
  return Enqueued(env, tr, op, std::move(stack), std::move(outs));
}

// callQueued(index, ...args): see queue.h.
static Napi::Value CallQueued(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  const size_t index = info[0].As<Napi::Number>().Uint32Value();
  const RegisteredOp& op = data.ops.at(index);
  State& st = StateOf(env);
  const OpTraits& tr = TraitsOf(st, index, op.handle);
  Executor& ex = data.GetExecutor(env);
  KnownArgs known;
  ArgFacts f = Facts(info, known);
  known.noGrad = !f.grad;
  if (tr.ordered || (f.grad && torch::GradMode::is_enabled()) || compat::AutocastEnabled(c10::DeviceType::CPU)) return RunNow(info, op, f.ready, true, &known);
  const bool done = f.ready <= ex.Finished();
  if (!f.tensors || (tr.metaBroken && tr.rule == kNoRule) || (done && f.numel <= kSmallNumel && !st.queueAll)) return RunNow(info, op, f.ready, false, &known);

  torch::jit::Stack stack = BuildStack(info, op.handle);
  const bool keyed = PlanKey(st.key, index, stack);
  if (keyed) {
    auto it = st.plans.find(st.key);
    if (it != st.plans.end()) {
      const Plan& plan = it->second;
      if (plan.kind == Plan::kViews) return MakeViews(env, st, op.handle, stack, f.ready, done);
      if (plan.kind == Plan::kFresh) return Allocated(env, tr, op.handle, std::move(stack), plan);
      return RunNow(info, op, f.ready, false, &known);
    }
  }
  auto byRule = [&]() -> Napi::Value {
    at::Tensor o = RuleOutput(tr.rule, op.handle, stack);
    if (!o.defined()) return RunNow(info, op, f.ready, false, &known);
    Plan plan;
    plan.kind = Plan::kFresh;
    plan.outs.push_back(OutOf(o));
    Remember(st, keyed, plan);
    torch::jit::Stack outs;
    outs.emplace_back(std::move(o));
    return Enqueued(env, tr, op.handle, std::move(stack), std::move(outs));
  };
  if (tr.metaBroken) return byRule();
  torch::jit::Stack meta;
  meta.reserve(stack.size());
  std::vector<const c10::StorageImpl*> inputStorages;
  for (const c10::IValue& v : stack) {
    meta.push_back(MetaOf(v));
    ForEachTensor(meta.back(), [&](const at::Tensor& t) {
      if (t.defined() && t.has_storage()) inputStorages.push_back(t.storage().unsafeGetStorageImpl());
    });
  }
  try {
    op.handle.callBoxed(&meta);
  } catch (...) {
    // No meta kernel, or one that needs the data (or a real error: the real call says which).
    if (tr.rule != kNoRule) {
      st.traits[index].metaBroken = true;
      return byRule();
    }
    if (f.ready > ex.Finished()) {
      st.waits[op.handle.schema().name() + "." + op.handle.schema().overload_name()]++;
      ex.WaitFor(f.ready);
    }
    std::vector<at::Tensor> inputs = TensorsOf(stack);
    if (auto e = st.poisons->FirstOf(inputs)) ThrowError(*e);
    op.handle.callBoxed(&stack);
    st.traits[index].metaBroken = true;
    return Results(env, stack);
  }
  // Which results alias an input (views) and which are fresh tensors.
  size_t aliases = 0, fresh = 0, other = 0;
  for (const c10::IValue& v : meta) {
    if (v.isTensor()) {
      const at::Tensor& t = v.toTensor();
      if (!t.defined()) continue;
      bool alias = t.has_storage() && std::find(inputStorages.begin(), inputStorages.end(), t.storage().unsafeGetStorageImpl()) != inputStorages.end();
      (alias ? aliases : fresh)++;
    } else if (v.isTensorList()) {
      for (const at::Tensor& t : v.toTensorList().vec()) {
        bool alias = t.has_storage() && std::find(inputStorages.begin(), inputStorages.end(), t.storage().unsafeGetStorageImpl()) != inputStorages.end();
        alias ? aliases++ : other++;
      }
    } else if (!v.isNone()) {
      other++;
    }
  }
  Plan plan;
  if (fresh == 0 && other == 0) {
    plan.kind = Plan::kViews;
    Remember(st, keyed, plan);
    return MakeViews(env, st, op.handle, stack, f.ready, done);
  }
  if (aliases > 0 || other > 0) {
    // Mixed results, or lists of fresh tensors: not worth a job.
    Remember(st, keyed, plan);  // kNow
    return RunNow(info, op, f.ready, false, &known);
  }
  // Fresh outputs: allocated here with the meta result's sizes and strides, written by a job.
  plan.kind = Plan::kFresh;
  for (const c10::IValue& v : meta) plan.outs.push_back(v.isTensor() ? OutOf(v.toTensor()) : Plan::Out{});
  Remember(st, keyed, plan);
  return Allocated(env, tr, op.handle, std::move(stack), plan);
}

// callQueued, then its result's dtype and sizes into the meta buffer (lib/tfjs/torch.ts reads
// them there instead of asking meta() of the handle it just received).
static Napi::Value CallQueuedWithMeta(const Napi::CallbackInfo& info) {
  Napi::Value r = CallQueued(info);
  State& st = StateOf(info.Env());
  if (st.meta != nullptr) {
    TensorHandle* h = TensorHandle::Unwrap(r);
    if (h != nullptr && h->IsLive() && static_cast<size_t>(h->tensor().dim()) + 2 <= st.metaLength) {
      const at::Tensor& t = h->tensor();
      st.meta[0] = static_cast<double>(static_cast<int>(t.scalar_type()));
      st.meta[1] = static_cast<double>(t.dim());
      for (int64_t i = 0; i < t.dim(); i++) st.meta[2 + i] = static_cast<double>(t.size(i));
    } else {
      st.meta[1] = -1;  // no single tensor result
    }
  }
  return r;
}

// setMetaBuffer(buf: Float64Array): where callQueued writes its result's meta (kept alive here).
static Napi::Value SetMetaBuffer(const Napi::CallbackInfo& info) {
  State& st = StateOf(info.Env());
  Napi::Float64Array a = info[0].As<Napi::Float64Array>();
  st.metaRef = Napi::Persistent(info[0]);
  st.meta = a.Data();
  st.metaLength = a.ElementLength();
  return info.Env().Undefined();
}

// ---- reading ------------------------------------------------------------------------------------

// readReady(h): h's values, after the job that writes them (not the whole queue).
static Napi::Value ReadReady(const Napi::CallbackInfo& info) {
  TensorHandle* h = TensorHandle::Unwrap(info[0]);
  const at::Tensor& t = TensorHandle::Get(info[0]);
  WaitUsable(info.Env(), h->Ready(), {t});
  return ToTypedArray(info.Env(), t);
}

// isReady(h): whether no queued job still writes h's data.
static Napi::Value IsReady(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TensorHandle* h = TensorHandle::Unwrap(info[0]);
  TensorHandle::Get(info[0]);  // throws for a disposed handle or another value
  AddonData& data = Data(env);
  return Napi::Boolean::New(env, !data.executor || h->Ready() <= data.executor->Finished());
}

// Tensors up to this size are copied at once when their data is ready.
constexpr size_t kReadNowBytes = 1 << 20;

// readQueued(h): a promise of h's values; copied on the executor after every queued job, or
// at once when the data is ready and small.
static Napi::Value ReadQueued(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TensorHandle* h = TensorHandle::Unwrap(info[0]);
  at::Tensor t = TensorHandle::Get(info[0]);
  Executor& ex = Data(env).GetExecutor(env);
  std::shared_ptr<Poisons> poisons = StateOf(env).poisons;
  if (h->Ready() <= ex.Finished() && static_cast<size_t>(t.numel()) * t.element_size() <= kReadNowBytes) {
    auto deferred = Napi::Promise::Deferred::New(env);
    if (auto e = poisons->Of(t)) deferred.Reject(MakeError(env, e->code, e->message).Value());
    else deferred.Resolve(ToTypedArray(env, t));
    return deferred.Promise();
  }
  auto out = std::make_shared<at::Tensor>();
  return ex.Submit(
      env,
      [t, out, poisons] {
        if (auto e = poisons->Of(t)) ThrowError(*e);
        *out = t.detach().contiguous();
      },
      [out](Napi::Env env) { return ToTypedArray(env, *out); });
}

// queueFence(): a promise that resolves when every job queued so far has run.
static Napi::Value QueueFence(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Data(env).GetExecutor(env).Submit(env, [] {}, [](Napi::Env env) { return env.Undefined(); });
}

// setQueueLimits(jobs, bytes): the queue's bounds (Executor::SubmitQuiet); lib/ has checked them.
static Napi::Value SetQueueLimits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Data(env).GetExecutor(env).SetQueueLimits(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()),
                                            static_cast<size_t>(info[1].As<Napi::Number>().Int64Value()));
  return env.Undefined();
}

// queueState() -> [submitted, finished]: jobs submitted to and run by the executor so far.
static Napi::Value QueueState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, data.executor ? static_cast<double>(data.executor->Submitted()) : 0.0));
  out.Set(1u, Napi::Number::New(env, data.executor ? static_cast<double>(data.executor->Finished()) : 0.0));
  return out;
}

// queueWaits() -> { 'aten::name.overload': count }: the operators that ran on the JS thread
// after waiting for queued jobs (no meta kernel, data-dependent results, written arguments).
static Napi::Value QueueWaits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  for (const auto& [name, n] : StateOf(env).waits) out.Set(name, Napi::Number::New(env, static_cast<double>(n)));
  return out;
}

}  // namespace queue

void InitQueue(Napi::Env env, Napi::Object exports) {
  Export<queue::CallQueuedWithMeta>(env, exports, "callQueued");
  Export<queue::SetMetaBuffer>(env, exports, "setMetaBuffer");
  Export<queue::ReadReady>(env, exports, "readReady");
  Export<queue::IsReady>(env, exports, "isReady");
  Export<queue::ReadQueued>(env, exports, "readQueued");
  Export<queue::QueueFence>(env, exports, "queueFence");
  Export<queue::QueueState>(env, exports, "queueState");
  Export<queue::SetQueueLimits>(env, exports, "setQueueLimits");
  Export<queue::QueueWaits>(env, exports, "queueWaits");
}

}  // namespace trnn
