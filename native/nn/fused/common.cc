#include "common.h"

#include <ATen/ThreadLocalState.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <string>

#include "../../compat.h"
#include "gate_kernels.h"

namespace trnn {
namespace fused {

using torch::autograd::variable_list;

static std::atomic<bool> enabled{true};
bool Enabled() { return enabled.load(std::memory_order_relaxed); }
void SetEnabled(bool on) { enabled.store(on, std::memory_order_relaxed); }
static std::atomic<bool> automatic{true};
bool Auto() { return automatic.load(std::memory_order_relaxed); }
void SetAuto(bool on) { automatic.store(on, std::memory_order_relaxed); }

variable_list ReferenceGrads(const std::vector<torch::Tensor>& inputs, const std::vector<torch::Tensor>& outs, const variable_list& grads) {
  std::vector<torch::Tensor> ys, gys;
  for (size_t k = 0; k < outs.size(); k++) {
    if (grads[k].defined()) ys.push_back(outs[k]), gys.push_back(grads[k]);
  }
  std::vector<torch::Tensor> wrt;
  std::vector<size_t> where;
  for (size_t k = 0; k < inputs.size(); k++) {
    if (inputs[k].defined() && inputs[k].requires_grad()) wrt.push_back(inputs[k]), where.push_back(k);
  }
  variable_list result(inputs.size());
  if (ys.empty() || wrt.empty()) return result;
  auto g = torch::autograd::grad(ys, wrt, gys, /*retain_graph=*/true, /*create_graph=*/true, /*allow_unused=*/true);
  for (size_t k = 0; k < where.size(); k++) result[where[k]] = g[k];
  return result;
}

bool AllFloatCpu(std::initializer_list<const torch::Tensor*> tensors) {
  for (const torch::Tensor* t : tensors) {
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat) return false;
  }
  return true;
}

void StepMatmul(torch::Tensor& out, const torch::Tensor& h, const torch::Tensor& w) {
  const int64_t rows = h.size(0);
  if (rows > kSmallMatmulRows || h.stride(1) != 1 || w.stride(1) != 1 || out.stride(1) != 1 || !AllFloatCpu({&out, &h, &w})) {
    at::mm_out(out, h, w);
    return;
  }
  const gate_kernels::MatmulRows m{h.data_ptr<float>(), h.stride(0), w.data_ptr<float>(), w.stride(0), out.data_ptr<float>(), out.stride(0),
                                   h.size(1), w.size(1)};
  gate_kernels::SmallMatmul(m, 0, rows);
}

torch::Tensor BufferOr(const torch::Tensor& out, at::IntArrayRef sizes, const at::TensorOptions& options) {
  if (!out.defined()) return torch::empty(sizes, options);
  if (out.sizes() != sizes || !out.is_contiguous() || !AllFloatCpu({&out})) {
    throw std::invalid_argument("a fused layer's output buffer must be a contiguous float32 CPU tensor of the result's size");
  }
  return out;
}

torch::Tensor InputProjection(const torch::Tensor& rows, const torch::Tensor& kernel, const torch::Tensor& bias) {
  return bias.defined() ? torch::addmm(bias, rows, kernel) : rows.mm(kernel);
}

std::vector<torch::Tensor> ReferenceParams(const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh) {
  std::vector<torch::Tensor> params{wih, whh};
  if (bih.has_value() && bih->defined()) params.push_back(*bih), params.push_back(*bhh);
  return params;
}

bool Fusable(const torch::nn::detail::RNNOptionsBase& o, const torch::Tensor& input, const std::vector<torch::Tensor>& weights) {
  if (!Enabled() || compat::AutocastEnabled(c10::DeviceType::CPU)) return false;
  if (!AllFloatCpu({&input})) return false;
  for (const torch::Tensor& w : weights) {
    if (!AllFloatCpu({&w})) return false;
  }
  return true;
}

// Dropout between layers, as libtorch's stack applies it (at::dropout(layer output, p,
// train=true), so the mask comes from the same generator draws): on the output in libtorch's
// memory order, time-major ([T, B, F] contiguous, or the packed rows [N, F]), since the mask's
// elements are drawn in memory order. featureDim 2: x is [B, T, F].
static torch::Tensor DropoutBetweenLayers(const torch::Tensor& x, double p, int64_t featureDim) {
  if (featureDim == 2) return at::dropout(x.transpose(0, 1).contiguous(), p, /*train=*/true).transpose(0, 1);
  return at::dropout(x.contiguous(), p, /*train=*/true);
}

bool Tracing() { return torch::jit::tracer::isTracing(); }

// Halves run at once only with the row helper (without it they would run one after the other)
static bool SplitOn() {
  static const bool on = RowHelperOn() && !EnvSwitchedOff("TORCHRNN_SPLIT_BATCH");
  return on;
}

bool SplitBatchPays(int64_t batch, int64_t elements, int64_t stepMacs) {
  return batch >= 2 && elements >= kSplitMinElements && stepMacs < kSplitMaxStepMacs && SplitOn();
}

// The two directions of a bidirectional layer, at once where TwoAtOnce can, else one after the
// other.
template <typename F>
static void BothDirections(const F& direction) {
  if (!TwoAtOnce(direction, PairKind::kDirections)) {
    direction(0);
    direction(1);
  }
}

std::vector<torch::Tensor> StackLayers(const torch::nn::detail::RNNOptionsBase& o, bool training, const std::vector<torch::Tensor>& weights, torch::Tensor x,
                                       int64_t featureDim, const std::function<torch::Tensor(const torch::Tensor&)>& reverse,
                                       const LayerFn& layer) {
  const int64_t layers = o.num_layers(), dirs = o.bidirectional() ? 2 : 1;
  const size_t per = (o.bias() ? 4 : 2) + (o.proj_size() > 0 ? 1 : 0);  // per layer and direction: w_ih, w_hh[, b_ih, b_hh][, w_hr]
  std::vector<std::vector<torch::Tensor>> states;
  for (int64_t l = 0; l < layers; l++) {
    std::vector<torch::Tensor> outs;
    const torch::Tensor xs[2] = {x, dirs == 2 ? reverse(x) : torch::Tensor()};
    LayerResult rs[2];
    const auto direction = [&](int64_t d) {
      // the two directions run as a pair (inference): their layers do not split their batches
      c10::optional<NoSplitScope> noSplit;
      if (dirs == 2) noSplit.emplace();
      const int64_t k = l * dirs + d;
      const torch::Tensor* w = &weights[k * per];
      const OptTensor bih = o.bias() ? OptTensor(w[2]) : OptTensor(), bhh = o.bias() ? OptTensor(w[3]) : OptTensor();
      rs[d] = layer(xs[d], k, w[0], w[1], bih, bhh);
    };
    const int64_t rows = x.numel() / std::max<int64_t>(1, x.size(-1));  // batch x steps, or packed rows
    if (dirs == 2 && (!NeedsGrad({&x, &weights[0]}) || rows * weights[1].size(0) >= kPairMinTrainingWork)) {
      BothDirections(direction);
    } else {
      for (int64_t d = 0; d < dirs; d++) direction(d);
    }
    for (int64_t d = 0; d < dirs; d++) {
      outs.push_back(d == 1 ? reverse(rs[d].out) : rs[d].out);
      states.resize(rs[d].states.size());
      for (size_t i = 0; i < rs[d].states.size(); i++) states[i].push_back(rs[d].states[i]);
    }
    x = dirs == 2 ? torch::cat(outs, featureDim) : outs[0];
    if (training && o.dropout() > 0 && l < layers - 1) x = DropoutBetweenLayers(x, o.dropout(), featureDim);
  }
  std::vector<torch::Tensor> result{x};
  for (const auto& s : states) result.push_back(torch::stack(s, 0));
  return result;
}

std::vector<torch::Tensor> StackPacked(const torch::nn::detail::RNNOptionsBase& o, bool training, const std::vector<torch::Tensor>& weights, const Packed& in,
                                       const PackedSteps& st, std::vector<torch::Tensor> states0, const PackedLayerFn& layer) {
  const int64_t rows = o.num_layers() * (o.bidirectional() ? 2 : 1);
  for (torch::Tensor& s : states0) {
    const int64_t size = &s == &states0[0] && o.proj_size() > 0 ? o.proj_size() : o.hidden_size();  // h0 of an LSTM with projSize: P
    if (!s.defined()) s = torch::zeros({rows, st.sizes[0], size}, in.data.options());
    else if (in.sortedIndices.defined()) s = s.index_select(1, in.sortedIndices.to(s.device()));
  }
  const torch::Tensor reversed = o.bidirectional() ? st.ReversedRows() : torch::Tensor();
  auto out = StackLayers(o, training, weights, in.data, 1, [&](const torch::Tensor& t) { return t.index_select(0, reversed); },
                         [&](const torch::Tensor& x, int64_t k, const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih,
                             const OptTensor& bhh) {
                           std::vector<torch::Tensor> s0;
                           for (const torch::Tensor& s : states0) s0.push_back(s[k]);
                           return layer(x, k, s0, wih, whh, bih, bhh);
                         });
  for (size_t i = 1; i < out.size(); i++) {
    if (in.unsortedIndices.defined()) out[i] = out[i].index_select(1, in.unsortedIndices.to(out[i].device()));
  }
  return out;
}

c10::optional<PostPadded> PostPadded::Of(const torch::Tensor& maskIn) {
  const torch::Tensor mask = maskIn.to(torch::kFloat).contiguous();
  const int64_t batch = mask.size(0), steps = mask.size(1);
  const float* m = mask.data_ptr<float>();
  std::vector<int64_t> length(batch);
  for (int64_t b = 0; b < batch; b++) {
    const float* row = m + b * steps;
    int64_t l = 0;
    while (l < steps && row[l] != 0.0f) l++;
    for (int64_t t = l; t < steps; t++) {
      if (row[t] != 0.0f) return c10::nullopt;
    }
    length[b] = l;
  }
  std::vector<int64_t> order;
  for (int64_t b = 0; b < batch; b++) {
    if (length[b] > 0) order.push_back(b);
  }
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return length[a] > length[b]; });
  const int64_t longest = order.empty() ? 0 : length[order[0]];
  std::vector<int64_t> sizes(longest), offsets(longest), packRows, position(batch, -1);
  for (size_t p = 0; p < order.size(); p++) position[order[p]] = static_cast<int64_t>(p);
  for (int64_t t = 0, off = 0; t < longest; t++) {
    offsets[t] = off;
    while (sizes[t] < static_cast<int64_t>(order.size()) && length[order[sizes[t]]] > t) {
      packRows.push_back(order[sizes[t]] * steps + t);
      sizes[t]++;
    }
    off += sizes[t];
  }
  const int64_t n = static_cast<int64_t>(packRows.size());
  std::vector<int64_t> unpack(batch * steps), last(batch);
  for (int64_t b = 0; b < batch; b++) {
    last[b] = length[b] > 0 ? offsets[length[b] - 1] + position[b] : n + b;
    for (int64_t t = 0; t < steps; t++) unpack[b * steps + t] = t < length[b] ? offsets[t] + position[b] : last[b];
  }
  PostPadded p;
  p.order = torch::tensor(order, torch::kLong);
  p.batchSizes = torch::tensor(sizes, torch::kLong);
  p.packRows = torch::tensor(packRows, torch::kLong);
  p.unpackRows = torch::tensor(unpack, torch::kLong);
  p.lastRows = torch::tensor(last, torch::kLong);
  return p;
}

torch::Tensor PostPadded::Pack(const torch::Tensor& x) const { return x.reshape({-1, x.size(2)}).index_select(0, packRows); }

torch::Tensor PostPadded::Sequence(const torch::Tensor& out, const torch::Tensor& init, const torch::Tensor& seq) const {
  torch::Tensor flat = seq.view({-1, seq.size(2)});
  at::index_select_out(flat, torch::cat({out, init}), 0, unpackRows);
  return seq;
}

torch::Tensor PostPadded::Last(const torch::Tensor& out, const torch::Tensor& init) const {
  return torch::cat({out, init}).index_select(0, lastRows);
}

bool NeedsGrad(std::initializer_list<const torch::Tensor*> inputs) {
  if (!torch::GradMode::is_enabled()) return false;
  for (const torch::Tensor* t : inputs) {
    if (t->defined() && t->requires_grad()) return true;
  }
  return false;
}

torch::Tensor BiasOr(const c10::optional<torch::Tensor>& b, const torch::Tensor& w) {
  return b.has_value() && b->defined() ? *b : torch::zeros({w.size(0)}, w.options());
}

}  // namespace fused
}  // namespace trnn
