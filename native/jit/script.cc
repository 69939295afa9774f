#include "script.h"

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

// scriptLoad(path, device | null)
static Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto s = std::make_shared<ScriptModule>();
  c10::optional<c10::Device> device;
  if (info[1].IsString()) device = ParseDevice(info[1].As<Napi::String>().Utf8Value());
  s->module = torch::jit::load(info[0].As<Napi::String>().Utf8Value(), device);
  s->module.eval();
  Napi::Object obj = Data(env).scriptCtor.New({});
  ScriptHandle::Unwrap(obj)->script = s;
  return obj;
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

// scriptParameters(h) -> [names, handles]
static Napi::Value ScriptParameters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto s = GetScript(info[0]);
  Napi::Array names = Napi::Array::New(env);
  Napi::Array handles = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& p : s->module.named_parameters(true)) {
    names.Set(i, Napi::String::New(env, p.name));
    handles.Set(i++, TensorHandle::New(env, p.value));
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, names);
  out.Set(1u, handles);
  return out;
}

void InitScript(Napi::Env env, Napi::Object exports) {
  ScriptHandle::Init(env, exports);
  Export<Load>(env, exports, "scriptLoad");
  ExportOrdered<ScriptForward>(env, exports, "scriptForward");
  Export<ScriptForwardAsync>(env, exports, "scriptForwardAsync");
  ExportOrdered<ScriptTrain>(env, exports, "scriptTrain");
  ExportOrdered<ScriptParameters>(env, exports, "scriptParameters");
}

}  // namespace trnn
