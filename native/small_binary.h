// Elementwise add, sub, mul and div of two small tensors of one shape, computed here without
// libtorch's dispatcher and TensorIterator: for a 1×4 add those cost more than the arithmetic
// and most of a tiny tfjs kernel's native time. Only where the result is libtorch's bit for
// bit (contiguous CPU float32 or int32 tensors of equal sizes, no gradient, nothing a
// dispatch key would add); everything else goes to the operator as before.
#pragma once
#include <ATen/ATen.h>

namespace trnn {

enum class SmallBinary : uint8_t { kNone, kAdd, kSub, kMul, kDiv };

// The kind of aten::{add,sub}.Tensor / aten::{mul,div}.Tensor, kNone for any other operator.
SmallBinary SmallBinaryOf(const c10::OperatorHandle& op);

// Writes op(a, b) (add/sub: a ± alpha·b, taken only for alpha 1) to `out` and returns true,
// or returns false, having done nothing, when the operator must run instead.
bool TrySmallBinary(SmallBinary op, const at::Tensor& a, const at::Tensor& b, const c10::Scalar* alpha, at::Tensor& out);

}  // namespace trnn
