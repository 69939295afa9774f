#include "fused_infer.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include "fused_lstm.h"
#include "gate_kernels.h"

namespace trnn {
namespace fused_infer {
namespace {

// The checks both modules share (see the header); the weights come from all_weights().
bool Applies(const torch::nn::detail::RNNOptionsBase& o, bool training, const torch::Tensor& input, const torch::Tensor& h0,
             const std::vector<torch::Tensor>& weights) {
  if (!fused_lstm::Enabled() || at::autocast::is_cpu_enabled() || torch::jit::tracer::isTracing()) return false;
  if (training && o.dropout() > 0 && o.num_layers() > 1) return false;
  if (input.dim() != 3 || !input.device().is_cpu() || input.scalar_type() != at::kFloat || input.size(o.batch_first() ? 1 : 0) == 0) return false;
  if (h0.defined() && (!h0.device().is_cpu() || h0.scalar_type() != at::kFloat)) return false;
  const bool grad = torch::GradMode::is_enabled();
  if (grad && (input.requires_grad() || (h0.defined() && h0.requires_grad()))) return false;
  for (const torch::Tensor& w : weights) {
    if (!w.device().is_cpu() || w.scalar_type() != at::kFloat || (grad && w.requires_grad())) return false;
  }
  return true;
}

// One layer and direction: x [B, T, I] in processing order, h0 [B, U] -> sequence [B, T, U].
using Layer = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor* w, bool bias)>;

// Layers and directions as libtorch stacks them (the reverse direction on the time-flipped
// sequence, put back in time order), with hN the last step of each.
std::vector<torch::Tensor> Run(const torch::nn::detail::RNNOptionsBase& o, const std::vector<torch::Tensor>& weights, const torch::Tensor& input,
                               const torch::Tensor& h0In, const Layer& layer) {
  at::NoGradGuard noGrad;  // (nothing needs a gradient here: keep the temporaries out of autograd)
  const int64_t layers = o.num_layers(), dirs = o.bidirectional() ? 2 : 1, hidden = o.hidden_size();
  torch::Tensor x = o.batch_first() ? input : input.transpose(0, 1);  // [B, T, I]
  const int64_t batch = x.size(0), steps = x.size(1);
  torch::Tensor h0 = h0In.defined() ? h0In : torch::zeros({layers * dirs, batch, hidden}, x.options());
  const size_t per = o.bias() ? 4 : 2;
  std::vector<torch::Tensor> hs;
  for (int64_t l = 0; l < layers; l++) {
    std::vector<torch::Tensor> outs;
    for (int64_t d = 0; d < dirs; d++) {
      const int64_t k = l * dirs + d;
      torch::Tensor seq = layer(d == 1 ? x.flip(1) : x, h0[k].contiguous(), &weights[k * per], o.bias());
      hs.push_back(seq.select(1, steps - 1).contiguous());
      outs.push_back(d == 1 ? seq.flip(1) : seq);
    }
    x = dirs == 2 ? torch::cat(outs, 2) : outs[0];
  }
  return {o.batch_first() ? x : x.transpose(0, 1), torch::stack(hs, 0)};
}

// x·W_ihᵀ (+ bias) for every step: [B, T, G*U], contiguous
torch::Tensor Projection(const torch::Tensor& x, const torch::Tensor& wih, const torch::Tensor& bias) {
  torch::Tensor flat = x.reshape({-1, x.size(2)});
  return (bias.defined() ? torch::addmm(bias, flat, wih.t()) : flat.mm(wih.t())).view({x.size(0), x.size(1), wih.size(0)});
}

int64_t Grain(int64_t units) { return std::max<int64_t>(1, at::internal::GRAIN_SIZE / (16 * units)); }

}  // namespace

c10::optional<std::vector<torch::Tensor>> Gru(const torch::nn::GRU& m, const torch::Tensor& input, const torch::Tensor& h0) {
  const std::vector<torch::Tensor> weights = m->all_weights();  // per layer and direction: w_ih, w_hh[, b_ih, b_hh]
  if (!Applies(m->options_base, m->is_training(), input, h0, weights)) return c10::nullopt;
  return Run(m->options_base, weights, input, h0, [](const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor* w, bool bias) {
    const int64_t batch = x.size(0), steps = x.size(1), units = w[1].size(1);
    const torch::Tensor xg = Projection(x, w[0], bias ? w[2] : torch::Tensor());
    const torch::Tensor whh = w[1].t().contiguous();  // [U, 3U]: the per-step mm without a transposed operand
    const torch::Tensor bhh = bias ? w[3].contiguous() : torch::Tensor();
    torch::Tensor hg = torch::empty({batch, 3 * units}, x.options());
    torch::Tensor seq = torch::empty({batch, steps, units}, x.options());
    torch::Tensor h = h0;
    const float* hPrev = h0.data_ptr<float>();
    int64_t hPrevStride = h0.stride(0);
    for (int64_t t = 0; t < steps; t++) {
      at::mm_out(hg, h, whh);
      const gate_kernels::GruRows rows{xg.data_ptr<float>() + t * 3 * units, steps * 3 * units, hg.data_ptr<float>(), 3 * units,
                                       bias ? bhh.data_ptr<float>() : nullptr, hPrev, hPrevStride,
                                       seq.data_ptr<float>() + t * units, steps * units, units};
      at::parallel_for(0, batch, Grain(units), [&](int64_t b, int64_t e) { gate_kernels::GruForward(rows, b, e); });
      h = seq.select(1, t);
      hPrev = rows.h, hPrevStride = rows.hStride;
    }
    return seq;
  });
}

c10::optional<std::vector<torch::Tensor>> Rnn(const torch::nn::RNN& m, const torch::Tensor& input, const torch::Tensor& h0) {
  const std::vector<torch::Tensor> weights = m->all_weights();
  if (!Applies(m->options_base, m->is_training(), input, h0, weights)) return c10::nullopt;
  const bool relu = c10::get_if<torch::enumtype::kReLU>(&m->options.nonlinearity()) != nullptr;
  return Run(m->options_base, weights, input, h0, [relu](const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor* w, bool bias) {
    const int64_t batch = x.size(0), steps = x.size(1), units = w[1].size(1);
    const torch::Tensor xw = Projection(x, w[0], bias ? w[2] + w[3] : torch::Tensor());
    const torch::Tensor whh = w[1].t().contiguous();  // [U, U]
    torch::Tensor hw = torch::empty({batch, units}, x.options());
    torch::Tensor seq = torch::empty({batch, steps, units}, x.options());
    torch::Tensor h = h0;
    for (int64_t t = 0; t < steps; t++) {
      at::mm_out(hw, h, whh);
      const gate_kernels::RnnRows rows{hw.data_ptr<float>(), units, xw.data_ptr<float>() + t * units, steps * units,
                                       seq.data_ptr<float>() + t * units, steps * units, units, relu};
      at::parallel_for(0, batch, Grain(units), [&](int64_t b, int64_t e) { gate_kernels::RnnForward(rows, b, e); });
      h = seq.select(1, t);
    }
    return seq;
  });
}

}  // namespace fused_infer
}  // namespace trnn
