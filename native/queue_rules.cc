#include "queue_rules.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace trnn {
namespace queue {

int RuleFor(const c10::FunctionSchema& s) {
  static const std::unordered_map<std::string, int> rules = {
      {"aten::isnan.", kUnary}, {"aten::isinf.", kUnary}, {"aten::isfinite.", kUnary}, {"aten::isposinf.", kUnary},
      {"aten::isneginf.", kUnary}, {"aten::signbit.", kUnary}, {"aten::logical_not.", kUnary}, {"aten::relu.", kUnary},
      {"aten::flip.", kUnary}, {"aten::logical_and.", kBroadcast}, {"aten::logical_or.", kBroadcast},
      {"aten::logical_xor.", kBroadcast}, {"aten::where.self", kWhere}, {"aten::index_select.", kIndexSelect},
      {"aten::abs.", kUnary}, {"aten::complex.", kBroadcast}, {"aten::convolution.", kConvolution},
  };
  auto it = rules.find(s.name() + "." + s.overload_name());
  return it == rules.end() ? kNoRule : it->second;
}

static at::Tensor StandIn(const at::Tensor& t) {
  if (!t.defined()) return t;
  std::vector<int64_t> ones(t.dim(), 1);
  at::Tensor s = at::zeros(ones, t.options());
  if (t.unsafeGetTensorImpl()->is_wrapped_number()) s.unsafeGetTensorImpl()->set_wrapped_number(true);
  return s;
}

// An output of `sizes` and `dtype` laid out like `like` when it has those sizes (as
// TensorIterator lays out a result like its inputs), else contiguous.
static at::Tensor LikeOrContiguous(const at::Tensor& like, at::IntArrayRef sizes, at::ScalarType dtype) {
  if (like.sizes() == sizes) return at::empty_like(like, like.options().dtype(dtype), at::MemoryFormat::Preserve);
  return at::empty(sizes, like.options().dtype(dtype));
}

at::Tensor RuleOutput(int rule, const c10::OperatorHandle& op, const torch::jit::Stack& stack) {
  std::vector<at::Tensor> ts;
  for (const c10::IValue& v : stack) {
    if (v.isTensor()) ts.push_back(v.toTensor());
  }
  if (ts.empty() || !ts[0].defined()) return at::Tensor();
  if (rule == kIndexSelect) {
    if (stack.size() < 3 || !stack[1].isInt() || ts.size() < 2 || ts[1].dim() > 1) return at::Tensor();
    const at::Tensor& self = ts[0];
    std::vector<int64_t> sizes = self.sizes().vec();
    if (self.dim() == 0) return at::empty({}, self.options());
    int64_t dim = c10::maybe_wrap_dim(stack[1].toInt(), self.dim());
    sizes[dim] = ts[1].numel();
    return at::empty(sizes, self.options());
  }
  if (rule == kConvolution) {
    // convolution(input, weight, bias?, stride, padding, dilation, transposed, outputPadding, groups)
    if (stack.size() < 9 || ts.size() < 2 || stack[6].toBool()) return at::Tensor();  // transposed: runs now
    const at::Tensor &input = ts[0], &weight = ts[1];
    const int64_t nd = input.dim() - 2;
    std::vector<int64_t> stride = stack[3].toIntVector(), padding = stack[4].toIntVector(), dilation = stack[5].toIntVector();
    if (nd < 1 || weight.dim() != input.dim() || static_cast<int64_t>(stride.size()) != nd || static_cast<int64_t>(padding.size()) != nd ||
        static_cast<int64_t>(dilation.size()) != nd || input.scalar_type() != weight.scalar_type()) {
      return at::Tensor();
    }
    std::vector<int64_t> sizes{input.size(0), weight.size(0)};
    for (int64_t d = 0; d < nd; d++) {
      int64_t n = (input.size(d + 2) + 2 * padding[d] - dilation[d] * (weight.size(d + 2) - 1) - 1) / stride[d] + 1;
      if (n <= 0) return at::Tensor();  // libtorch's error, from the call now
      sizes.push_back(n);
    }
    // libtorch's CPU convolution writes a 4-D result in its input's suggested memory format.
    auto format = nd == 2 ? input.suggest_memory_format() : at::MemoryFormat::Contiguous;
    return at::empty(sizes, input.options(), format);
  }
  // The dtype: the operator on stand-ins.
  torch::jit::Stack probe;
  for (const c10::IValue& v : stack) probe.push_back(v.isTensor() ? c10::IValue(StandIn(v.toTensor())) : v);
  op.callBoxed(&probe);
  if (probe.size() != 1 || !probe[0].isTensor()) return at::Tensor();
  at::ScalarType dtype = probe[0].toTensor().scalar_type();
  if (rule == kUnary) return LikeOrContiguous(ts[0], ts[0].sizes(), dtype);
  std::vector<int64_t> sizes = ts[0].sizes().vec();
  for (size_t i = 1; i < ts.size(); i++) sizes = at::infer_size(sizes, ts[i].sizes());  // throws as the operator would
  const at::Tensor& like = rule == kWhere && ts.size() > 1 ? ts[1] : ts[0];
  return LikeOrContiguous(like, sizes, dtype);
}

}  // namespace queue
}  // namespace trnn
