#include "script.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/script.h>

#include "../executor.h"
#include "../ops.h"
#include "../tensor.h"

namespace trnn {

struct ScriptModule {
  torch::jit::Module module;
  std::mutex mu;  // the interpreter's module state is not shared across concurrent calls
};

class ScriptHandle : public Napi::ObjectWrap<ScriptHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "ScriptHandle", {});
    Data(env).scriptCtor = Napi::Persistent(ctor);
    exports.Set("ScriptHandle", ctor);
  }
  explicit ScriptHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ScriptHandle>(info) {}
  std::shared_ptr<ScriptModule> script;
};

static std::shared_ptr<ScriptModule> GetScript(const Napi::Value& v) {
  ScriptHandle* h = UnwrapAs<ScriptHandle>(v, Data(v.Env()).scriptCtor);
  if (h == nullptr || !h->script) throw InvalidHandle(v, "a TorchScript module handle", "module", h != nullptr, "a released module");
  return h->script;
}

// Dicts become objects (keys as strings), lists arrays; the rest as ops.cc converts results.
static Napi::Value ToJs(Napi::Env env, const c10::IValue& v) {
  if (v.isGenericDict()) {
    Napi::Object out = Napi::Object::New(env);
    for (const auto& e : v.toGenericDict()) {
      const auto& k = e.key();
      std::string key = k.isString() ? k.toStringRef() : k.isInt() ? std::to_string(k.toInt()) : c10::str(k);
      out.Set(key, ToJs(env, e.value()));
    }
    return out;
  }
  if (v.isList() && !v.isTensorList() && !v.isIntList()) {
    auto list = v.toListRef();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), ToJs(env, list[i]));
    return out;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) out.Set(static_cast<uint32_t>(i), ToJs(env, elems[i]));
    return out;
  }
  return FromIValue(env, v);
}

Napi::Object NewScriptHandle(Napi::Env env, torch::jit::Module module) {
  auto s = std::make_shared<ScriptModule>();
  s->module = std::move(module);
  Napi::Object obj = Data(env).scriptCtor.New({});
  ScriptHandle::Unwrap(obj)->script = s;
  return obj;
}

// scriptLoad(path, device | null)
static Napi::Value Load(const Napi::CallbackInfo& info) {
  c10::optional<c10::Device> device;
  if (info[1].IsString()) device = ParseDevice(info[1].As<Napi::String>().Utf8Value());
  auto module = torch::jit::load(info[0].As<Napi::String>().Utf8Value(), device);
  module.eval();
  return NewScriptHandle(info.Env(), std::move(module));
}

// scriptSave(h, path): the archive is written to path (lib writes to a temporary name and
// renames it, so a failed save leaves no partial file at the destination).
static Napi::Value Save(const Napi::CallbackInfo& info) {
  auto s = GetScript(info[0]);
  std::lock_guard<std::mutex> lock(s->mu);
  s->module.save(info[1].As<Napi::String>().Utf8Value());
  return info.Env().Undefined();
}

static Napi::Value SaveAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto s = GetScript(info[0]);
  std::string path = info[1].As<Napi::String>().Utf8Value();
  return Data(env).GetExecutor(env).Submit(
      env,
      [s, path] {
        std::lock_guard<std::mutex> lock(s->mu);
        s->module.save(path);
      },
      [](Napi::Env env) { return env.Undefined(); });
}

// The forward method's arguments after self, converted by its schema.
static std::vector<c10::IValue> Args(const Napi::CallbackInfo& info, ScriptModule& s) {
  const auto& schema = s.module.get_method("forward").function().getSchema();
  const auto& params = schema.arguments();
  Napi::Array a = info[1].As<Napi::Array>();
  std::vector<c10::IValue> args;
  for (size_t i = 1; i < params.size(); i++) {
    uint32_t j = static_cast<uint32_t>(i - 1);
    if (j < a.Length() && !a.Get(j).IsUndefined()) args.push_back(ToIValue(a.Get(j), params[i].type()));
    else if (params[i].default_value()) args.push_back(*params[i].default_value());
    else throw std::runtime_error("forward() is missing argument " + params[i].name());
  }
  if (a.Length() + 1 > params.size()) throw std::runtime_error("forward() takes " + std::to_string(params.size() - 1) + " arguments but " + std::to_string(a.Length()) + " were given");
  return args;
}

static Napi::Value ScriptForward(const Napi::CallbackInfo& info) {
  auto s = GetScript(info[0]);
  auto args = Args(info, *s);
  std::lock_guard<std::mutex> lock(s->mu);
  return ToJs(info.Env(), s->module.forward(args));
}

static Napi::Value ScriptForwardAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto s = GetScript(info[0]);
  auto args = Args(info, *s);
  auto out = std::make_shared<c10::IValue>();
  return Data(env).GetExecutor(env).Submit(
      env,
      [s, args, out] {
        std::lock_guard<std::mutex> lock(s->mu);
        *out = s->module.forward(args);
      },
      [out](Napi::Env env) { return ToJs(env, *out); });
}

static Napi::Value ScriptTrain(const Napi::CallbackInfo& info) {
  GetScript(info[0])->module.train(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// [names, handles] of a named_parameters() or named_buffers() list
template <typename List>
static Napi::Value NamedTensors(Napi::Env env, const List& list) {
  Napi::Array names = Napi::Array::New(env);
  Napi::Array handles = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& p : list) {
    names.Set(i, Napi::String::New(env, p.name));
    handles.Set(i++, TensorHandle::New(env, p.value));
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, names);
  out.Set(1u, handles);
  return out;
}

// scriptParameters(h, recurse) -> [names, handles]: the module's own tensors (updates are the module's)
static Napi::Value ScriptParameters(const Napi::CallbackInfo& info) {
  return NamedTensors(info.Env(), GetScript(info[0])->module.named_parameters(info[1].ToBoolean().Value()));
}

// scriptBuffers(h, recurse) -> [names, handles]
static Napi::Value ScriptBuffers(const Napi::CallbackInfo& info) {
  return NamedTensors(info.Env(), GetScript(info[0])->module.named_buffers(info[1].ToBoolean().Value()));
}

// scriptChildren(h) -> [[name, ScriptHandle]]: the submodules, each a handle of its own (the
// same TorchScript objects: a change through one is seen through the other)
static Napi::Value ScriptChildren(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& c : GetScript(info[0])->module.named_children()) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, c.name));
    pair.Set(1u, NewScriptHandle(env, c.value));
    out.Set(i++, pair);
  }
  return out;
}

// scriptIsTraining(h): the root module's training attribute
static Napi::Value ScriptIsTraining(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), GetScript(info[0])->module.is_training());
}

// scriptCode(h): forward's TorchScript IR
static Napi::Value ScriptGraph(const Napi::CallbackInfo& info) {
  auto s = GetScript(info[0]);
  return Napi::String::New(info.Env(), torch::jit::toGraphFunction(s->module.get_method("forward").function()).graph()->toString());
}

void InitScript(Napi::Env env, Napi::Object exports) {
  ScriptHandle::Init(env, exports);
  Export<Load>(env, exports, "scriptLoad");
  ExportOrdered<ScriptForward>(env, exports, "scriptForward");
  Export<ScriptForwardAsync>(env, exports, "scriptForwardAsync");
  ExportOrdered<ScriptTrain>(env, exports, "scriptTrain");
  ExportOrdered<ScriptParameters>(env, exports, "scriptParameters");
  ExportOrdered<ScriptBuffers>(env, exports, "scriptBuffers");
  Export<ScriptChildren>(env, exports, "scriptChildren");
  Export<ScriptIsTraining>(env, exports, "scriptIsTraining");
  Export<ScriptGraph>(env, exports, "scriptGraph");
  ExportOrdered<Save>(env, exports, "scriptSave");
  Export<SaveAsync>(env, exports, "scriptSaveAsync");
}

}  // namespace trnn
