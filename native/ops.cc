#include "ops.h"

#include "executor.h"
#include "tensor.h"

#include <ATen/ScalarOps.h>

#include <optional>

namespace trnn {

// Each conversion reads the value's type once (napi_typeof is most of a tiny op's argument cost).
static int64_t ToInt(const Napi::Value& v, napi_valuetype type) {
  if (type == napi_bigint) {
    bool lossless;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (type == napi_boolean) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  return v.As<Napi::Number>().Int64Value();
}
static int64_t ToInt(const Napi::Value& v) { return ToInt(v, v.Type()); }

// A JS number is an integral Scalar when it has no fraction, so `intTensor.add(2)` stays
// integral while `intTensor.add(2.5)` promotes, as in Python.
static c10::Scalar ToScalar(const Napi::Value& v, napi_valuetype type) {
  if (type == napi_boolean) return c10::Scalar(v.As<Napi::Boolean>().Value());
  if (type == napi_bigint) return c10::Scalar(ToInt(v, type));
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9007199254740992.0) return c10::Scalar(static_cast<int64_t>(d));
  return c10::Scalar(d);
}

// A number where a tensor is expected: the 0-dim "wrapped number" tensor Python's argument
// parser makes of `x + 2` (see ToIValue).
static at::Tensor WrappedNumber(const Napi::Value& v, napi_valuetype type) {
  at::Tensor t = c10::scalar_to_tensor(ToScalar(v, type));
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

// The values of an Int32Array, or false for any other value. lib/tfjs passes shapes so:
// reading a JS array costs a napi call per element (most of a reshape's cost).
static bool ReadInt32Array(napi_env env, napi_value v, c10::SmallVector<int64_t, 8>& out) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_int32_array) return false;
  const int32_t* p = static_cast<const int32_t*>(data);
  out.assign(p, p + length);
  return true;
}

static c10::IValue ToList(const Napi::Value& v, const c10::TypePtr& elem) {
  const bool ints = elem->kind() == c10::TypeKind::IntType || elem->kind() == c10::TypeKind::SymIntType;
  c10::SmallVector<int64_t, 8> values;
  if (ints && ReadInt32Array(v.Env(), v, values)) return c10::List<int64_t>(values);
  // A lone number where a list of ints is expected (dim=1 for int[1] dim) becomes [n].
  if (!v.IsArray()) {
    if (elem->kind() == c10::TypeKind::IntType || elem->kind() == c10::TypeKind::SymIntType) {
      return c10::IValue(c10::List<int64_t>({ToInt(v)}));
    }
    throw std::runtime_error("expected an array argument");
  }
  Napi::Array a = v.As<Napi::Array>();
  uint32_t n = a.Length();
  switch (elem->kind()) {
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: {
      c10::List<int64_t> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) out.push_back(ToInt(a.Get(i)));
      return out;
    }
    case c10::TypeKind::FloatType: {
      c10::List<double> out;
      for (uint32_t i = 0; i < n; i++) out.push_back(a.Get(i).As<Napi::Number>().DoubleValue());
      return out;
    }
    case c10::TypeKind::NumberType: {  // Scalar[]
      c10::impl::GenericList out(c10::NumberType::get());
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) {
        Napi::Value e = a.Get(i);
        out.push_back(c10::IValue(ToScalar(e, e.Type())));
      }
      return c10::IValue(std::move(out));
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> out;
      for (uint32_t i = 0; i < n; i++) out.push_back(a.Get(i).As<Napi::Boolean>().Value());
      return out;
    }
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) out.push_back(TensorHandle::Get(a.Get(i)));
      return out;
    }
    case c10::TypeKind::OptionalType: {  // Tensor?[] (aten::index.Tensor)
      c10::List<c10::optional<at::Tensor>> out;
      for (uint32_t i = 0; i < n; i++) {
        Napi::Value e = a.Get(i);
        if (e.IsNull() || e.IsUndefined()) out.push_back(c10::nullopt);
        else out.push_back(TensorHandle::Get(e));
      }
      return out;
    }
    default:
      throw std::runtime_error("unsupported list argument type " + elem->str());
  }
}

c10::IValue ToIValue(const Napi::Value& v, const c10::TypePtr& type) { return ToIValue(v, v.Type(), type); }

c10::IValue ToIValue(const Napi::Value& v, napi_valuetype vt, const c10::TypePtr& type) {
  switch (type->kind()) {
    case c10::TypeKind::OptionalType:
      if (vt == napi_null || vt == napi_undefined) return c10::IValue();
      return ToIValue(v, vt, type->castRaw<c10::OptionalType>()->getElementType());
    case c10::TypeKind::TensorType:
      // A number where a tensor is expected becomes a 0-dim "wrapped number" tensor, exactly
      // what Python's argument parser makes of `x + 2`: it takes part in type promotion as a
      // Python scalar would, and autograd records the same node (AddBackward0).
      switch (vt) {
        case napi_number:
        case napi_boolean:
        case napi_bigint:
          return WrappedNumber(v, vt);
        default:
          return TensorHandle::Get(v);
      }
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
    case c10::TypeKind::ScalarTypeType:
    case c10::TypeKind::LayoutType:
    case c10::TypeKind::MemoryFormatType:
      return ToInt(v, vt);
    case c10::TypeKind::FloatType:
      return v.As<Napi::Number>().DoubleValue();
    case c10::TypeKind::BoolType:
      return v.As<Napi::Boolean>().Value();
    case c10::TypeKind::NumberType:
      return ToScalar(v, vt);
    case c10::TypeKind::StringType:
      return v.As<Napi::String>().Utf8Value();
    case c10::TypeKind::DeviceObjType:
      return ParseDevice(v.As<Napi::String>().Utf8Value());
    case c10::TypeKind::ListType:
      return ToList(v, type->castRaw<c10::ListType>()->getElementType());
    case c10::TypeKind::GeneratorType:
      // lib/ passes only null here (the default generator); a Generator object has no JS form.
      throw std::runtime_error("a Generator argument must be null (the default generator)");
    default:
      throw std::runtime_error("unsupported argument type " + type->str());
  }
}

Napi::Value FromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return TensorHandle::New(env, v.toTensor());
  if (v.isNone()) return env.Null();
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), TensorHandle::New(env, list.get(i)));
    return out;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) out.Set(static_cast<uint32_t>(i), FromIValue(env, elems[i]));
    return out;
  }
  if (v.isIntList()) {
    auto list = v.toIntList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(list.get(i))));
    return out;
  }
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isDevice()) return Napi::String::New(env, DeviceString(v.toDevice()));
  if (v.isList()) {  // double[], bool[], Tensor?[], Scalar[] ...: element by element
    auto list = v.toListRef();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), FromIValue(env, list[i]));
    return out;
  }
  if (v.isComplexDouble()) throw std::runtime_error("complex results are not supported");
  throw std::runtime_error(std::string("unsupported return type ") + v.tagKind());
}

// The typed handle Call() may use for `h`'s schema, or monostate. Only schemas of exactly these
// shapes qualify: Tensor and Scalar arguments (no optionals, lists or out=) and one Tensor
// result; typed() checks the C++ signature libtorch registered and throws on a mismatch.
static decltype(RegisteredOp::unboxed) UnboxedFor(const c10::OperatorHandle& h) {
  using T = RegisteredOp::T;
  using S = RegisteredOp::S;
  const c10::FunctionSchema& schema = h.schema();
  if (schema.is_vararg() || schema.returns().size() != 1 || schema.returns()[0].type()->kind() != c10::TypeKind::TensorType) return {};
  std::string shape;
  for (const c10::Argument& a : schema.arguments()) {
    if (a.kwarg_only() && !a.default_value()) return {};
    switch (a.type()->kind()) {
      case c10::TypeKind::TensorType: shape += 'T'; break;
      case c10::TypeKind::NumberType: shape += 'S'; break;
      case c10::TypeKind::ListType: {
        c10::TypeKind elem = a.type()->castRaw<c10::ListType>()->getElementType()->kind();
        if (elem == c10::TypeKind::IntType) shape += 'L';
        else if (elem == c10::TypeKind::SymIntType) shape += 'Y';
        else return {};
        break;
      }
      default: return {};
    }
  }
  try {
    if (shape == "T") return h.typed<T(const T&)>();
    if (shape == "TT") return h.typed<T(const T&, const T&)>();
    if (shape == "TTS") return h.typed<T(const T&, const T&, const S&)>();
    if (shape == "TS") return h.typed<T(const T&, const S&)>();
    if (shape == "TSS") return h.typed<T(const T&, const S&, const S&)>();
    if (shape == "TL") return h.typed<T(const T&, at::IntArrayRef)>();
    if (shape == "TY") return h.typed<T(const T&, c10::SymIntArrayRef)>();
  } catch (const c10::Error&) {
    // registered with another C++ signature: stays boxed
  }
  return {};
}

// op(name, overload) -> index for call(). Throws if libtorch has no such operator.
static Napi::Value Op(const Napi::CallbackInfo& info) {
  AddonData& data = Data(info.Env());
  c10::OperatorHandle handle = c10::Dispatcher::singleton().findSchemaOrThrow(
      info[0].As<Napi::String>().Utf8Value().c_str(), info[1].As<Napi::String>().Utf8Value().c_str());
  data.ops.push_back(RegisteredOp{handle, UnboxedFor(handle), SmallBinaryOf(handle)});
  return Napi::Number::New(info.Env(), static_cast<double>(data.ops.size() - 1));
}

// schemas(): every operator in libtorch's dispatcher that has a schema, as
// [name, overload, arguments, returns], where an argument is
// [name, type, hasDefault, default, kwargOnly, writes, N] and a return is [name, type, writes].
// `type` is the schema's spelling ("Tensor?", "int[]", "SymInt"); N is the fixed length of a
// list argument (int[2] stride) or 0. lib/aten/ reads this once, on first use of torch.ops.
static Napi::Value ArgumentInfo(Napi::Env env, const c10::Argument& a, bool isReturn) {
  Napi::Array out = Napi::Array::New(env);
  bool writes = a.alias_info() && a.alias_info()->isWrite();
  out.Set(0u, Napi::String::New(env, a.name()));
  out.Set(1u, Napi::String::New(env, a.type()->str()));
  if (isReturn) {
    out.Set(2u, Napi::Boolean::New(env, writes));
    return out;
  }
  out.Set(2u, Napi::Boolean::New(env, a.default_value().has_value()));
  Napi::Value def = env.Undefined();
  if (a.default_value()) {
    try {
      def = FromIValue(env, *a.default_value());
    } catch (const std::exception&) {
      def = env.Undefined();  // a default with no JS form (none in aten's schemas today)
    }
  }
  out.Set(3u, def);
  out.Set(4u, Napi::Boolean::New(env, a.kwarg_only()));
  out.Set(5u, Napi::Boolean::New(env, writes));
  out.Set(6u, Napi::Number::New(env, a.N() ? static_cast<double>(*a.N()) : 0.0));
  return out;
}

static Napi::Value Schemas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto& dispatcher = c10::Dispatcher::singleton();
  Napi::Array out = Napi::Array::New(env);
  uint32_t k = 0;
  for (const c10::OperatorName& name : dispatcher.getAllOpNames()) {
    auto handle = dispatcher.findOp(name);
    if (!handle || !handle->hasSchema()) continue;
    const c10::FunctionSchema& schema = handle->schema();
    Napi::Array args = Napi::Array::New(env, schema.arguments().size());
    for (size_t i = 0; i < schema.arguments().size(); i++) args.Set(static_cast<uint32_t>(i), ArgumentInfo(env, schema.arguments()[i], false));
    Napi::Array rets = Napi::Array::New(env, schema.returns().size());
    for (size_t i = 0; i < schema.returns().size(); i++) rets.Set(static_cast<uint32_t>(i), ArgumentInfo(env, schema.returns()[i], true));
    Napi::Array entry = Napi::Array::New(env, 5);
    entry.Set(0u, Napi::String::New(env, name.name));
    entry.Set(1u, Napi::String::New(env, name.overload_name));
    entry.Set(2u, args);
    entry.Set(3u, rets);
    entry.Set(4u, Napi::Boolean::New(env, schema.is_vararg()));
    out.Set(k++, entry);
  }
  return out;
}

torch::jit::Stack BuildStack(const Napi::CallbackInfo& info, const c10::OperatorHandle& op) {
  const auto& args = op.schema().arguments();
  size_t given = info.Length() - 1;
  torch::jit::Stack stack;
  stack.reserve(args.size());
  for (size_t i = 0; i < args.size(); i++) {
    napi_valuetype vt = i < given ? info[i + 1].Type() : napi_undefined;
    if (vt != napi_undefined) {
      stack.push_back(ToIValue(info[i + 1], vt, args[i].type()));
    } else if (args[i].default_value()) {
      stack.push_back(*args[i].default_value());
    } else {
      throw std::runtime_error("missing argument " + args[i].name() + " of " + op.schema().name());
    }
  }
  return stack;
}

// ---- the unboxed path: the same conversions as ToIValue, read straight into C++ arguments.
// Each reader answers false for anything it does not take (a missing tensor, a list, a
// string...): Call() then takes the boxed path, whose conversion and errors are the reference.

struct TensorArg {
  const at::Tensor* t = nullptr;
  at::Tensor owned;  // a wrapped number
  operator const at::Tensor&() const { return *t; }
};

static bool ReadTensor(const Napi::CallbackInfo& info, size_t i, TensorArg& out, const KnownArgs* known) {
  if (i >= info.Length()) return false;
  TensorHandle* h = known != nullptr && i - 1 < known->n ? known->h[i - 1] : TensorHandle::Unwrap(info[i]);
  if (h != nullptr) {
    if (!h->IsLive()) return false;  // the boxed path throws the error
    out.t = &h->tensor();
    return true;
  }
  switch (napi_valuetype vt = info[i].Type()) {
    case napi_number:
    case napi_boolean:
    case napi_bigint:
      out.owned = WrappedNumber(info[i], vt);
      out.t = &out.owned;
      return true;
    default:
      return false;
  }
}

// An int[] or SymInt[] argument given as an Int32Array (a JS array takes the boxed path).
static bool ReadIntList(const Napi::CallbackInfo& info, size_t i, c10::SmallVector<int64_t, 8>& out) {
  return i < info.Length() && ReadInt32Array(info.Env(), info[i], out);
}

static bool ReadScalar(const Napi::CallbackInfo& info, size_t i, const c10::Argument& arg, c10::Scalar& out) {
  napi_valuetype vt = i < info.Length() ? info[i].Type() : napi_undefined;
  switch (vt) {
    case napi_undefined:
      if (!arg.default_value()) return false;
      out = arg.default_value()->toScalar();
      return true;
    case napi_number:
    case napi_boolean:
    case napi_bigint:
      out = ToScalar(info[i], vt);
      return true;
    default:
      return false;
  }
}

template <class... A>
using Typed = c10::TypedOperatorHandle<at::Tensor(const A&...)>;

static bool CallUnboxed(const Napi::CallbackInfo& info, const RegisteredOp& op, at::Tensor& result, const KnownArgs* known) {
  using T = RegisteredOp::T;
  using S = RegisteredOp::S;
  const auto& args = op.handle.schema().arguments();
  if (info.Length() - 1 > args.size()) return false;
  TensorArg t0, t1;
  c10::Scalar s1, s2;
  if (!ReadTensor(info, 1, t0, known)) return false;
  std::optional<at::AutoDispatchBelowAutograd> belowAutograd;
  if (known != nullptr && known->noGrad) belowAutograd.emplace();
  if (auto* f = std::get_if<Typed<T>>(&op.unboxed)) {
    result = f->call(t0);
  } else if (auto* f = std::get_if<Typed<T, T>>(&op.unboxed)) {
    if (!ReadTensor(info, 2, t1, known)) return false;
    if (!TrySmallBinary(op.small, t0, t1, nullptr, result)) result = f->call(t0, t1);
  } else if (auto* f = std::get_if<Typed<T, T, S>>(&op.unboxed)) {
    if (!ReadTensor(info, 2, t1, known) || !ReadScalar(info, 3, args[2], s2)) return false;
    if (!TrySmallBinary(op.small, t0, t1, &s2, result)) result = f->call(t0, t1, s2);
  } else if (auto* f = std::get_if<Typed<T, S>>(&op.unboxed)) {
    if (!ReadScalar(info, 2, args[1], s1)) return false;
    result = f->call(t0, s1);
  } else if (auto* f = std::get_if<Typed<T, S, S>>(&op.unboxed)) {
    if (!ReadScalar(info, 2, args[1], s1) || !ReadScalar(info, 3, args[2], s2)) return false;
    result = f->call(t0, s1, s2);
  } else if (auto* f = std::get_if<RegisteredOp::TIntList>(&op.unboxed)) {
    c10::SmallVector<int64_t, 8> list;
    if (!ReadIntList(info, 2, list)) return false;
    result = f->call(t0, list);
  } else if (auto* f = std::get_if<RegisteredOp::TSymIntList>(&op.unboxed)) {
    c10::SmallVector<int64_t, 8> list;
    if (!ReadIntList(info, 2, list)) return false;
    result = f->call(t0, c10::fromIntArrayRefUnchecked(list));  // int32 values: never symbolic
  } else {
    return false;
  }
  return true;
}

// An operator's results: undefined, the single value, or an array of them.
Napi::Value Results(Napi::Env env, const torch::jit::Stack& stack) {
  if (stack.empty()) return env.Undefined();
  if (stack.size() == 1) return FromIValue(env, stack[0]);
  Napi::Array out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), FromIValue(env, stack[i]));
  return out;
}

Napi::Value CallOp(const Napi::CallbackInfo& info, const RegisteredOp& op, const KnownArgs* known) {
  Napi::Env env = info.Env();
  if (op.unboxed.index() != 0) {
    at::Tensor result;
    if (CallUnboxed(info, op, result, known)) return TensorHandle::New(env, std::move(result));
  }
  torch::jit::Stack stack = BuildStack(info, op.handle);
  op.handle.callBoxed(&stack);
  return Results(env, stack);
}

// call(index, ...args): the operator's result, a single value or an array of them.
static Napi::Value Call(const Napi::CallbackInfo& info) {
  return CallOp(info, Data(info.Env()).ops.at(info[0].As<Napi::Number>().Uint32Value()));
}

// callInPlace(index, self, ...args): for `add_` and friends, whose result is `self` again:
// no new handle is made for it.
static Napi::Value CallInPlace(const Napi::CallbackInfo& info) {
  const c10::OperatorHandle& op = Data(info.Env()).ops.at(info[0].As<Napi::Number>().Uint32Value()).handle;
  torch::jit::Stack stack = BuildStack(info, op);
  op.callBoxed(&stack);
  return info.Env().Undefined();
}

// callAsync(index, ...args): call() on the executor thread (for heavy operators: a
// decomposition, a large matmul). The arguments are converted here, on the JS thread, so the
// job holds its own references to the tensors; the results are converted when it completes.
static Napi::Value CallAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const c10::OperatorHandle op = Data(env).ops.at(info[0].As<Napi::Number>().Uint32Value()).handle;
  auto stack = std::make_shared<torch::jit::Stack>(BuildStack(info, op));
  return Data(env).GetExecutor(env).Submit(
      env, [op, stack] { op.callBoxed(stack.get()); },
      [stack](Napi::Env env) { return Results(env, *stack); });
}

void InitOps(Napi::Env env, Napi::Object exports) {
  Export<Op>(env, exports, "op");
  Export<Schemas>(env, exports, "schemas");
  ExportOrdered<Call>(env, exports, "call");
  ExportOrdered<CallInPlace>(env, exports, "callInPlace");
  Export<CallAsync>(env, exports, "callAsync");
}

}  // namespace trnn
