#include "tensor.h"

#include "executor.h"

namespace trnn {

// ---- handle lifetime and memory accounting -------------------------------------------------

Napi::Value TensorHandle::New(Napi::Env env, torch::Tensor t, uint64_t ready) {
  if (!t.defined()) return env.Null();
  // autograd's "efficient zero" tensors (the gradient of sgn, of a masked scatter...) have no
  // storage: reading one would dereference null. JS gets real zeros of the same shape.
  if (t._is_zerotensor()) t = at::zeros(t.sizes(), t.options());
  AddonData& data = Data(env);
  while (!data.spareHandles.empty()) {
    TensorHandle* spare = data.spareHandles.back();
    data.spareHandles.pop_back();
    napi_value out = nullptr;
    bool ok = napi_get_reference_value(env, spare->self_, &out) == napi_ok && out != nullptr;
    uint32_t count = 0;
    napi_reference_unref(env, spare->self_, &count);  // weak again: the handle's JS owner keeps it
    if (!ok) continue;
    spare->tensor_ = std::move(t);
    spare->ready_ = ready;
    spare->Track(data, env);
    return Napi::Value(env, out);
  }
  auto* h = new TensorHandle();
  h->tensor_ = std::move(t);
  h->ready_ = ready;
  napi_value out;
  napi_status status = napi_create_external(env, h, Finalize, nullptr, &out);
  if (status != napi_ok) {
    delete h;
    NAPI_THROW_IF_FAILED(env, status, Napi::Value());
  }
  // A weak reference for the handle's whole life: dispose() makes it strong to keep the
  // external as a spare, New() weak again when it reuses it (no reference made per tensor).
  if (napi_create_reference(env, out, 0, &h->self_) != napi_ok) h->self_ = nullptr;
  h->Track(data, env);
  return Napi::Value(env, out);
}

void TensorHandle::Dispose(Napi::Env env, const Napi::Value& v) {
  TensorHandle* h = Unwrap(v);
  if (h == nullptr || !h->tracked_) return;  // a second dispose() must not pool it twice
  h->Release(env);
  AddonData& data = Data(env);
  if (h->self_ == nullptr || data.spareHandles.size() >= AddonData::kMaxSpareHandles) return;
  uint32_t count = 0;
  if (napi_reference_ref(env, h->self_, &count) == napi_ok) data.spareHandles.push_back(h);
}

void TensorHandle::Finalize(napi_env env, void* data, void*) {
  auto* h = static_cast<TensorHandle*>(data);
  h->Release(Napi::Env(env));
  if (h->self_ != nullptr) napi_delete_reference(env, h->self_);
  h->magic_ = 0;
  delete h;
}

// No napi_typeof first: napi_get_value_external itself refuses anything but an external.
TensorHandle* TensorHandle::Unwrap(const Napi::Value& v) {
  void* data = nullptr;
  if (napi_get_value_external(v.Env(), v, &data) != napi_ok || data == nullptr) return nullptr;
  auto* h = static_cast<TensorHandle*>(data);
  return h->magic_ == kMagic ? h : nullptr;
}

// Reports a change of live storage bytes to V8. Small changes are summed and reported once
// they reach kReportBytes, so a tiny op does not pay for a V8 call on each result.
static void ReportExternal(AddonData& data, Napi::Env env, int64_t delta) {
  constexpr int64_t kReportBytes = 64 * 1024;
  data.unreportedBytes += delta;
  if (data.unreportedBytes >= kReportBytes || data.unreportedBytes <= -kReportBytes) {
    Napi::MemoryManagement::AdjustExternalMemory(env, data.unreportedBytes);
    data.unreportedBytes = 0;
  }
}

void TensorHandle::Track(AddonData& data, Napi::Env env) {
  storageKey_ = nullptr;
  if (tensor_.has_storage()) {
    storageKey_ = tensor_.storage().unsafeGetStorageImpl();
    auto it = data.storages.find(storageKey_);
    if (it == data.storages.end()) {
      int64_t bytes = static_cast<int64_t>(tensor_.storage().nbytes());
      data.storages.emplace(storageKey_, AddonData::StorageUse{1, bytes});
      data.liveBytes += bytes;
      ReportExternal(data, env, bytes);
    } else {
      it->second.handles++;
    }
  }
  data.liveTensors++;
  tracked_ = true;
}

void TensorHandle::Untrack(Napi::Env env) {
  if (!tracked_) return;
  tracked_ = false;
  AddonData& data = Data(env);
  data.liveTensors--;
  if (storageKey_ != nullptr) {
    auto it = data.storages.find(storageKey_);
    if (it != data.storages.end() && --it->second.handles == 0) {
      data.liveBytes -= it->second.bytes;
      ReportExternal(data, env, -it->second.bytes);
      data.storages.erase(it);
    }
  }
}

void TensorHandle::Release(Napi::Env env) {
  Untrack(env);
  tensor_ = torch::Tensor();
}

static const torch::Tensor& Live(const TensorHandle* h, const Napi::Value& v) {
  if (h == nullptr || !h->IsLive()) {
    throw InvalidHandle(v, "a live tensor", "a tensor argument", h != nullptr, "a disposed tensor");
  }
  return h->tensor();
}

const torch::Tensor& TensorHandle::Get(const Napi::Value& v) { return Live(Unwrap(v), v); }

// ---- devices ------------------------------------------------------------------------------

c10::Device ParseDevice(const std::string& s) {
  return c10::Device(s);
}

std::string DeviceString(const c10::Device& d) {
  return d.str();
}

// ---- data in and out ----------------------------------------------------------------------

// The typed array that carries each dtype's data (DESIGN.md "Tensors").
static napi_typedarray_type ArrayTypeFor(c10::ScalarType st) {
  switch (st) {
    case c10::ScalarType::Float: return napi_float32_array;
    case c10::ScalarType::Double: return napi_float64_array;
    case c10::ScalarType::Int: return napi_int32_array;
    case c10::ScalarType::Long: return napi_bigint64_array;
    case c10::ScalarType::Short: return napi_int16_array;
    case c10::ScalarType::Char: return napi_int8_array;
    case c10::ScalarType::Byte:
    case c10::ScalarType::Bool: return napi_uint8_array;
    case c10::ScalarType::Half:
    case c10::ScalarType::BFloat16: return napi_uint16_array;
    // complex: the real and imaginary parts interleaved, two numbers per element
    case c10::ScalarType::ComplexFloat: return napi_float32_array;
    case c10::ScalarType::ComplexDouble: return napi_float64_array;
    default:
      throw std::runtime_error(std::string("tensors of dtype ") + c10::toString(st) + " cannot be read into a typed array");
  }
}

Napi::Value ToTypedArray(Napi::Env env, const torch::Tensor& t) {
  // resolve_conj/resolve_neg: a conjugate or negative view (ifft's result, x.conj()) is a bit on
  // the tensor, not in its memory
  torch::Tensor c = t.detach().to(torch::kCPU).resolve_conj().resolve_neg().contiguous();
  napi_typedarray_type type = ArrayTypeFor(c.scalar_type());
  size_t bytes = c.numel() * c.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buf.Data(), c.data_ptr(), bytes);
  const size_t length = c.is_complex() ? 2 * static_cast<size_t>(c.numel()) : static_cast<size_t>(c.numel());
  napi_value out;
  NAPI_THROW_IF_FAILED(env, napi_create_typedarray(env, type, length, buf, 0, &out), Napi::Value());
  return Napi::Value(env, out);
}

static std::vector<int64_t> ToShape(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> shape(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) shape[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return shape;
}

// fromData(bytes: TypedArray|Buffer, shape, srcDtype, dstDtype, requiresGrad, device|null)
// lib/ has checked that bytes.byteLength == numel(shape) * itemsize(srcDtype).
static Napi::Value FromData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape = ToShape(info[1]);
  auto src = static_cast<c10::ScalarType>(info[2].As<Napi::Number>().Int32Value());
  auto dst = static_cast<c10::ScalarType>(info[3].As<Napi::Number>().Int32Value());
  bool requiresGrad = info[4].As<Napi::Boolean>().Value();
  torch::Tensor t;
  {
    // Inside a trace, data from JS is a constant of the graph (as torch.tensor() in
    // torch.jit.trace); recording the empty() and the copies would replay uninitialized memory.
    at::tracer::impl::NoTracerDispatchMode notTraced;
    t = torch::empty(shape, torch::TensorOptions().dtype(src));
    size_t bytes = t.numel() * t.element_size();
    if (bytes > 0) {
      auto* base = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
      std::memcpy(t.data_ptr(), base, bytes);
    }
    if (dst != src) t = t.to(dst);
    if (!info[5].IsNull() && !info[5].IsUndefined()) {
      t = t.to(ParseDevice(info[5].As<Napi::String>().Utf8Value()));
    }
  }
  if (requiresGrad) t.set_requires_grad(true);
  return TensorHandle::New(env, std::move(t));
}

static Napi::Value DataSync(const Napi::CallbackInfo& info) {
  return ToTypedArray(info.Env(), TensorHandle::Get(info[0]));
}

// data(h): the copy runs on the executor, after every job queued before it.
static Napi::Value DataAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  torch::Tensor t = TensorHandle::Get(info[0]);
  auto out = std::make_shared<torch::Tensor>();
  return Data(env).GetExecutor(env).Submit(
      env,
      [t, out] { *out = t.detach().to(torch::kCPU).contiguous(); },
      [out](Napi::Env env) { return ToTypedArray(env, *out); });
}

// ---- metadata -----------------------------------------------------------------------------

// meta(h) -> [dtype, shape, device]: read once per tensor and cached by lib/tensor.ts
// (none of the three changes over a tensor's life through torchrnn's API).
static Napi::Value Meta(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const torch::Tensor& t = TensorHandle::Get(info[0]);
  Napi::Array shape = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); i++) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(t.size(i))));
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, static_cast<int>(t.scalar_type())));
  out.Set(1u, shape);
  out.Set(2u, Napi::String::New(env, DeviceString(t.device())));
  return out;
}

// metaInto(h, out: Float64Array) -> rank: writes [dtype, rank, ...sizes] into `out` (which has
// room for 2 + 64 numbers): what meta() says but the device, without building JS arrays (the
// tfjs backend asks for every kernel's output).
static Napi::Value MetaInto(const Napi::CallbackInfo& info) {
  const torch::Tensor& t = TensorHandle::Get(info[0]);
  void* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  NAPI_THROW_IF_FAILED(info.Env(), napi_get_typedarray_info(info.Env(), info[1], &type, &length, &data, &buffer, &offset), Napi::Value());
  const int64_t rank = t.dim();
  if (type != napi_float64_array || length < static_cast<size_t>(rank) + 2) throw std::invalid_argument("metaInto: expected a Float64Array with room for the shape");
  auto* out = static_cast<double*>(data);
  out[0] = static_cast<double>(static_cast<int>(t.scalar_type()));
  out[1] = static_cast<double>(rank);
  for (int64_t i = 0; i < rank; i++) out[2 + i] = static_cast<double>(t.size(i));
  return Napi::Number::New(info.Env(), static_cast<double>(rank));
}

static Napi::Value Dispose(const Napi::CallbackInfo& info) {
  TensorHandle::Dispose(info.Env(), info[0]);
  return info.Env().Undefined();
}

static Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  Napi::Object out = Napi::Object::New(env);
  out.Set("tensors", Napi::Number::New(env, static_cast<double>(data.liveTensors)));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(data.liveBytes)));
  return out;
}

// index(h, specs): Python's indexing semantics through libtorch's own Tensor::index.
// Each spec is [kind, ...]: 0 int, 1 slice(start|null, stop|null, step|null), 2 None,
// 3 Ellipsis, 4 tensor handle, 5 bool.
static c10::optional<int64_t> OptInt(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return c10::nullopt;
  return v.As<Napi::Number>().Int64Value();
}

static Napi::Value Index(const Napi::CallbackInfo& info) {
  const torch::Tensor& t = TensorHandle::Get(info[0]);
  Napi::Array specs = info[1].As<Napi::Array>();
  std::vector<at::indexing::TensorIndex> idx;
  idx.reserve(specs.Length());
  for (uint32_t i = 0; i < specs.Length(); i++) {
    Napi::Array s = specs.Get(i).As<Napi::Array>();
    switch (s.Get(0u).As<Napi::Number>().Int32Value()) {
      case 0: idx.emplace_back(s.Get(1u).As<Napi::Number>().Int64Value()); break;
      case 1: idx.emplace_back(at::indexing::Slice(OptInt(s.Get(1u)), OptInt(s.Get(2u)), OptInt(s.Get(3u)))); break;
      case 2: idx.emplace_back(c10::nullopt); break;
      case 3: idx.emplace_back(at::indexing::Ellipsis); break;
      case 4: idx.emplace_back(TensorHandle::Get(s.Get(1u))); break;
      default: idx.emplace_back(s.Get(1u).As<Napi::Boolean>().Value()); break;
    }
  }
  return TensorHandle::New(info.Env(), t.index(idx));
}

// setData(h, src): `param.data = src` in Python: h keeps its identity (and autograd leaf
// status) and takes src's data, dtype and device. Module.to() uses it.
static Napi::Value SetData(const Napi::CallbackInfo& info) {
  TensorHandle* h = TensorHandle::Unwrap(info[0]);
  torch::Tensor t = TensorHandle::Get(info[0]);
  t.set_data(TensorHandle::Get(info[1]));
  h->Retrack(info.Env());  // its storage changed: account for the new one
  return info.Env().Undefined();
}

void InitTensor(Napi::Env env, Napi::Object exports) {
  ExportOrdered<SetData>(env, exports, "setData");
  Export<FromData>(env, exports, "fromData");
  ExportOrdered<DataSync>(env, exports, "dataSync");
  Export<DataAsync>(env, exports, "dataAsync");
  Export<Meta>(env, exports, "meta");
  Export<MetaInto>(env, exports, "metaInto");
  Export<Dispose>(env, exports, "dispose");
  Export<Memory>(env, exports, "memory");
  ExportOrdered<Index>(env, exports, "index");
}

}  // namespace trnn
