#include "small_binary.h"

#include <ATen/EmptyTensor.h>
#include <torch/csrc/jit/frontend/tracer.h>

namespace trnn {

// Above this the arithmetic outweighs the dispatch, and libtorch's vectorized loops win.
constexpr int64_t kSmallBinaryNumel = 1024;

SmallBinary SmallBinaryOf(const c10::OperatorHandle& op) {
  const auto& name = op.schema().operator_name();
  if (name.overload_name != "Tensor") return SmallBinary::kNone;
  if (name.name == "aten::add") return SmallBinary::kAdd;
  if (name.name == "aten::sub") return SmallBinary::kSub;
  if (name.name == "aten::mul") return SmallBinary::kMul;
  if (name.name == "aten::div") return SmallBinary::kDiv;
  return SmallBinary::kNone;
}

// A plain dense CPU tensor: its key set, autograd's and autocast's keys aside (the operators
// here pass autocast through), is CPU alone (no Python, functionalization, named or
// conjugate/negative view keys), and it records no gradient.
static bool Plain(const at::Tensor& t) {
  if (!t.defined() || t.requires_grad() || !t.is_contiguous()) return false;
  const c10::DispatchKeySet rest = t.key_set() - c10::autograd_dispatch_keyset_with_ADInplaceOrView - c10::autocast_dispatch_keyset;
  return rest == c10::DispatchKeySet(c10::DispatchKey::CPU) &&
         !t.is_neg() && !t.is_conj() && !t.has_names();
}

template <class V, class F>
static void Loop(const at::Tensor& a, const at::Tensor& b, at::Tensor& out, F f) {
  const V* pa = a.data_ptr<V>();
  const V* pb = b.data_ptr<V>();
  V* po = out.data_ptr<V>();
  const int64_t n = out.numel();
  for (int64_t i = 0; i < n; i++) po[i] = f(pa[i], pb[i]);
}

bool TrySmallBinary(SmallBinary op, const at::Tensor& a, const at::Tensor& b, const c10::Scalar* alpha, at::Tensor& out) {
  if (op == SmallBinary::kNone || !Plain(a) || !Plain(b)) return false;
  const at::ScalarType type = a.scalar_type();
  if (type != b.scalar_type() || a.numel() > kSmallBinaryNumel || !a.sizes().equals(b.sizes())) return false;
  if (type != at::kFloat && !(type == at::kInt && op != SmallBinary::kDiv)) return false;  // int / int is a float
  if (alpha != nullptr && !(alpha->isIntegral(false) ? alpha->toLong() == 1 : alpha->isFloatingPoint() && alpha->toDouble() == 1.0)) return false;
  if (torch::jit::tracer::isTracing()) return false;  // the trace must record the operator
  out = at::detail::empty_cpu(a.sizes(), type);  // what aten::empty's CPU kernel makes (inference mode included)
  if (type == at::kFloat) {
    // One IEEE operation per element: the same value as libtorch's vectorized loop
    // (add computes a + 1·b, exact as a + b).
    switch (op) {
      case SmallBinary::kAdd: Loop<float>(a, b, out, [](float x, float y) { return x + y; }); break;
      case SmallBinary::kSub: Loop<float>(a, b, out, [](float x, float y) { return x - y; }); break;
      case SmallBinary::kMul: Loop<float>(a, b, out, [](float x, float y) { return x * y; }); break;
      default: Loop<float>(a, b, out, [](float x, float y) { return x / y; }); break;
    }
  } else {
    // int32 wraps around as libtorch's does (computed unsigned: no signed overflow).
    auto wrap = [](uint32_t v) { return static_cast<int32_t>(v); };
    switch (op) {
      case SmallBinary::kAdd: Loop<int32_t>(a, b, out, [&](int32_t x, int32_t y) { return wrap(uint32_t(x) + uint32_t(y)); }); break;
      case SmallBinary::kSub: Loop<int32_t>(a, b, out, [&](int32_t x, int32_t y) { return wrap(uint32_t(x) - uint32_t(y)); }); break;
      default: Loop<int32_t>(a, b, out, [&](int32_t x, int32_t y) { return wrap(uint32_t(x) * uint32_t(y)); }); break;
    }
  }
  return true;
}

}  // namespace trnn
