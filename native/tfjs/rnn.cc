#include "rnn.h"

#include "../tensor.h"

namespace trnn {
namespace tfjs_rnn {  // named: binding.gyp compiles every .cc as one translation unit

enum Kind { kLstm = 0, kGru = 1, kSimple = 2 };
enum Act { kLinear = 0, kTanh = 1, kSigmoid = 2, kHardSigmoid = 3, kRelu = 4 };

torch::Tensor Apply(int act, const torch::Tensor& x) {
  switch (act) {
    case kLinear: return x;
    case kTanh: return torch::tanh(x);
    case kSigmoid: return torch::sigmoid(x);
    case kHardSigmoid: return torch::clamp(x * 0.2 + 0.5, 0.0, 1.0);  // tfjs's K.hardSigmoid
    case kRelu: return torch::relu(x);
    default: throw std::invalid_argument("unknown activation code " + std::to_string(act));
  }
}

// grad * act'(z), from the activated value a = act(z) (what the forward saved). hardSigmoid's
// derivative is 0.2 inside the clip range and 0 outside, relu's 1 above 0: tfjs's gradients.
torch::Tensor Backprop(int act, const torch::Tensor& grad, const torch::Tensor& a) {
  switch (act) {
    case kLinear: return grad;
    case kTanh: return at::tanh_backward(grad, a);       // grad * (1 - a²), one kernel
    case kSigmoid: return at::sigmoid_backward(grad, a);  // grad * a * (1 - a)
    case kHardSigmoid: return at::where((a > 0) & (a < 1), grad * 0.2, at::zeros({}, grad.options()));
    case kRelu: return at::threshold_backward(grad, a, 0);
    default: throw std::invalid_argument("unknown activation code " + std::to_string(act));
  }
}

// hardSigmoid in a plain loop over float32 rows (2-D, unit column stride): it is only multiply,
// add and compare, which the compiler vectorizes, in one pass where ATen needs three. Same float
// operations in the same order as the ATen form, so the same bits. (Its derivative: Deriv.)
bool RowsOfFloats(const torch::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.dim() == 2 && t.stride(1) == 1;
}

template <typename F>
void ForRows(int64_t rows, int64_t cols, F f) {
  at::parallel_for(0, rows, std::max<int64_t>(1, at::internal::GRAIN_SIZE / std::max<int64_t>(cols, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) f(r);
  });
}

void HardSigmoidInPlace(const torch::Tensor& x) {
  float* base = x.data_ptr<float>();
  const int64_t cols = x.size(1), stride = x.stride(0);
  ForRows(x.size(0), cols, [&](int64_t r) {
    float* p = base + r * stride;
    for (int64_t j = 0; j < cols; j++) {
      float v = p[j] * 0.2f + 0.5f;
      p[j] = v < 0.f ? 0.f : (v > 1.f ? 1.f : v);  // clamp; NaN stays NaN
    }
  });
}

// act'(z) from the activated value a = act(z), as Backprop computes it, for one element.
template <int A>
inline float Deriv(float a) {
  if constexpr (A == kTanh) return 1.f - a * a;
  else if constexpr (A == kSigmoid) return a * (1.f - a);
  else if constexpr (A == kHardSigmoid) return (a > 0.f && a < 1.f) ? 0.2f : 0.f;
  else if constexpr (A == kRelu) return a > 0.f ? 1.f : 0.f;
  else return 1.f;
}

// act(x) in place.
void ApplyInPlace(int act, const torch::Tensor& x) {
  switch (act) {
    case kLinear: return;
    case kTanh: x.tanh_(); return;
    case kSigmoid: x.sigmoid_(); return;
    case kHardSigmoid:
      if (RowsOfFloats(x)) HardSigmoidInPlace(x);
      else x.mul_(0.2).add_(0.5).clamp_(0.0, 1.0);
      return;
    case kRelu: x.relu_(); return;
    default: throw std::invalid_argument("unknown activation code " + std::to_string(act));
  }
}

// out = act(x).
void ApplyInto(int act, torch::Tensor out, const torch::Tensor& x) {
  switch (act) {
    case kTanh: at::tanh_out(out, x); return;
    case kSigmoid: at::sigmoid_out(out, x); return;
    default: out.copy_(x); ApplyInPlace(act, out); return;
  }
}

torch::Tensor OptTensor(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return torch::Tensor();
  return TensorHandle::Get(v);
}

// What the backward pass needs, stacked over time ([T, B, ·]); x is [B, T, I] in processing order.
//   (LSTM: ForwardLstm's buffers)
//   GRU: x, hPrev, z, r, hh
//   SimpleRNN: x, hPrev, h
struct Result {
  torch::Tensor sequence, h, c;
  std::vector<torch::Tensor> saved;
};

struct Grads {
  // dProjection: the gradient of the input projection x·kernel (+ bias), [B, T, G*U] in
  // processing order; the input's own gradient is made from it only when tfjs asks (InputGrad).
  torch::Tensor dProjection, dh0, dc0, dKernel, dRecurrent, dBias;
};

// The LSTM's recurrence over preallocated buffers, with in-place and out= operations: per step
// one addmm and the elementwise gate math, no allocation; what backward needs is the buffers
// themselves (no per-step lists to stack). Saved: x, h0, c0, gates [T, B, 4U] (activated i, f,
// g, o), c [T, B, U], act(c) [T, B, U], sequence [B, T, U].
Result ForwardLstm(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& kernel,
                   const torch::Tensor& recurrent, const torch::Tensor& bias, int act, int recAct, bool save) {
  const int64_t batch = x.size(0), steps = x.size(1), units = recurrent.size(0);
  torch::Tensor flat = x.reshape({-1, x.size(2)});
  torch::Tensor xw = (bias.defined() ? torch::addmm(bias, flat, kernel) : flat.mm(kernel)).view({batch, steps, 4 * units});
  // Without `save` two slots are enough (step t reads t-1's c).
  const int64_t slots = save ? steps : std::min<int64_t>(steps, 2);
  auto opts = x.options();
  torch::Tensor gates = torch::empty({slots, batch, 4 * units}, opts);
  torch::Tensor cs = torch::empty({slots, batch, units}, opts);
  torch::Tensor tcs = torch::empty({slots, batch, units}, opts);
  torch::Tensor seq = torch::empty({batch, steps, units}, opts);
  torch::Tensor h = h0, c = c0;
  for (int64_t t = 0; t < steps; t++) {
    const int64_t k = save ? t : t % 2;
    torch::Tensor g4 = gates[k];
    at::addmm_out(g4, xw.select(1, t), h, recurrent);
    torch::Tensor i = g4.narrow(1, 0, units), f = g4.narrow(1, units, units);
    torch::Tensor g = g4.narrow(1, 2 * units, units), o = g4.narrow(1, 3 * units, units);
    ApplyInPlace(recAct, g4.narrow(1, 0, 2 * units));
    ApplyInPlace(act, g);
    ApplyInPlace(recAct, o);
    torch::Tensor ct = cs[k];
    at::mul_out(ct, f, c).addcmul_(i, g);
    torch::Tensor tc = tcs[k];
    ApplyInto(act, tc, ct);
    torch::Tensor ht = seq.select(1, t);
    at::mul_out(ht, o, tc);
    h = ht;
    c = ct;
  }
  Result r;
  r.sequence = seq;
  r.h = steps > 0 ? h.contiguous() : h0;
  r.c = steps > 0 ? c.clone() : c0;
  if (save) {
    if (steps == 0) throw std::invalid_argument("a recurrent layer needs at least one time step to be trained");
    r.saved = {x, h0, c0, gates, cs, tcs, seq};
  }
  return r;
}

// One LSTM step's tensors for LstmStepBackward: [B, 4U] gates (activated i, f, g, o) and their
// gradients, [B, U] the rest; dSeq is a [B, U] view with row stride T*U.
struct StepRows {
  torch::Tensor gates, tc, cPrev, dSeq, dh, dc, dz;
};

template <int A, int R>
void LstmStep(const StepRows& s) {
  const int64_t units = s.tc.size(1);
  const float *g4 = s.gates.data_ptr<float>(), *tcp = s.tc.data_ptr<float>(), *cp = s.cPrev.data_ptr<float>(), *ds = s.dSeq.data_ptr<float>();
  float *dhp = s.dh.data_ptr<float>(), *dcp = s.dc.data_ptr<float>(), *dz = s.dz.data_ptr<float>();
  const int64_t dsStride = s.dSeq.stride(0);
  ForRows(s.tc.size(0), 8 * units, [&](int64_t r) {
    const float *gi = g4 + r * 4 * units, *gf = gi + units, *gg = gf + units, *go = gg + units;
    const float *tc = tcp + r * units, *cPrev = cp + r * units, *dSeq = ds + r * dsStride;
    float *dh = dhp + r * units, *dc = dcp + r * units;
    float *dI = dz + r * 4 * units, *dF = dI + units, *dG = dF + units, *dO = dG + units;
    for (int64_t j = 0; j < units; j++) {
      const float h = dh[j] + dSeq[j];
      const float c = dc[j] + (h * go[j]) * Deriv<A>(tc[j]);
      dO[j] = (h * tc[j]) * Deriv<R>(go[j]);
      dI[j] = (c * gg[j]) * Deriv<R>(gi[j]);
      dF[j] = (c * cPrev[j]) * Deriv<R>(gf[j]);
      dG[j] = (c * gi[j]) * Deriv<A>(gg[j]);
      dc[j] = c * gf[j];
    }
  });
}

template <int A>
void LstmStepRec(int recAct, const StepRows& s) {
  switch (recAct) {
    case kLinear: return LstmStep<A, kLinear>(s);
    case kTanh: return LstmStep<A, kTanh>(s);
    case kSigmoid: return LstmStep<A, kSigmoid>(s);
    case kHardSigmoid: return LstmStep<A, kHardSigmoid>(s);
    case kRelu: return LstmStep<A, kRelu>(s);
    default: throw std::invalid_argument("unknown activation code " + std::to_string(recAct));
  }
}

void LstmStepBackward(int act, int recAct, const StepRows& s) {
  switch (act) {
    case kLinear: return LstmStepRec<kLinear>(recAct, s);
    case kTanh: return LstmStepRec<kTanh>(recAct, s);
    case kSigmoid: return LstmStepRec<kSigmoid>(recAct, s);
    case kHardSigmoid: return LstmStepRec<kHardSigmoid>(recAct, s);
    case kRelu: return LstmStepRec<kRelu>(recAct, s);
    default: throw std::invalid_argument("unknown activation code " + std::to_string(act));
  }
}

// Backpropagation through time for ForwardLstm, into preallocated gate gradients [T, B, 4U].
Grads BackwardLstm(const std::vector<torch::Tensor>& s, const torch::Tensor& kernel, const torch::Tensor& recurrent, bool hasBias,
                   int act, int recAct, const torch::Tensor& dSeq, const torch::Tensor& dH, const torch::Tensor& dC) {
  const torch::Tensor &x = s.at(0), &h0 = s.at(1), &c0 = s.at(2), &gates = s.at(3), &cs = s.at(4), &tcs = s.at(5), &seq = s.at(6);
  const int64_t steps = gates.size(0), batch = gates.size(1), units = recurrent.size(0);
  for (const torch::Tensor* t : {&gates, &dSeq, &dH, &dC, &c0}) {
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat) throw std::invalid_argument("the fused LSTM gradient takes float32 CPU tensors");
  }
  torch::Tensor dz = torch::empty_like(gates);
  torch::Tensor dh = dH.clone(at::MemoryFormat::Contiguous), dc = dC.clone(at::MemoryFormat::Contiguous);
  torch::Tensor dSeqC = dSeq.contiguous(), c0C = c0.contiguous();
  torch::Tensor recurrentT = recurrent.t();
  for (int64_t t = steps - 1; t >= 0; t--) {
    // Every gate gradient of step t in one pass (only arithmetic: the derivatives come from
    // the activated values), then dh for step t-1 as one matmul.
    LstmStepBackward(act, recAct, StepRows{gates[t], tcs[t], t > 0 ? cs[t - 1] : c0C, dSeqC.select(1, t), dh, dc, dz[t]});
    at::mm_out(dh, dz[t], recurrentT);
  }
  Grads out;
  torch::Tensor dzFlat = dz.view({steps * batch, 4 * units});  // time-major rows
  torch::Tensor xTime = x.transpose(0, 1).reshape({steps * batch, x.size(2)});
  out.dKernel = xTime.t().mm(dzFlat);
  if (hasBias) out.dBias = dzFlat.sum(0);
  out.dProjection = dz.transpose(0, 1);
  torch::Tensor hPrev = torch::cat({h0.unsqueeze(0), seq.narrow(1, 0, steps - 1).transpose(0, 1)}, 0).view({steps * batch, units});
  out.dRecurrent = hPrev.t().mm(dzFlat);
  out.dh0 = dh;
  out.dc0 = dc;
  return out;
}

Result Forward(int kind, torch::Tensor x, torch::Tensor h, torch::Tensor c, const torch::Tensor& kernel, const torch::Tensor& recurrent,
               const torch::Tensor& bias, int act, int recAct, bool goBackwards, bool save) {
  if (x.dim() != 3) throw std::invalid_argument("expected a 3-D input [batch, time, features]");
  if (goBackwards) x = x.flip({1});
  const int64_t units = recurrent.size(0);
  if (!save && kind == kLstm && act == kTanh && recAct == kSigmoid) {
    // libtorch's own LSTM: gate order i, f, g, o is tfjs's i, f, c, o.
    torch::Tensor bih = bias.defined() ? bias : torch::zeros({4 * units}, kernel.options());
    std::vector<torch::Tensor> params{kernel.t(), recurrent.t(), bih, torch::zeros({4 * units}, kernel.options())};
    auto out = at::lstm(x, {h.unsqueeze(0), c.unsqueeze(0)}, params, /*has_biases=*/true, /*num_layers=*/1,
                        /*dropout=*/0.0, /*train=*/false, /*bidirectional=*/false, /*batch_first=*/true);
    return {std::get<0>(out), std::get<1>(out).squeeze(0), std::get<2>(out).squeeze(0), {}};
  }
  if (kind == kLstm) return ForwardLstm(x, h, c, kernel, recurrent, bias, act, recAct, save);
  // Input projections of every step at once: [B, T, G*U].
  torch::Tensor xw = torch::matmul(x, kernel);
  if (bias.defined()) xw = xw + bias;
  const int64_t steps = x.size(1);
  std::vector<torch::Tensor> outputs;
  outputs.reserve(steps);
  std::vector<std::vector<torch::Tensor>> keep(5);
  auto put = [&](size_t k, const torch::Tensor& t) {
    if (save) keep[k].push_back(t);
  };
  torch::Tensor rk1, rk2;
  if (kind == kGru) {
    rk1 = recurrent.narrow(1, 0, 2 * units);
    rk2 = recurrent.narrow(1, 2 * units, units);
  }
  for (int64_t t = 0; t < steps; t++) {
    torch::Tensor xt = xw.select(1, t);
    put(0, h);
    switch (kind) {
      case kGru: {
        auto xs = xt.chunk(3, 1);
        auto inner = h.mm(rk1).chunk(2, 1);
        torch::Tensor z = Apply(recAct, xs[0] + inner[0]);
        torch::Tensor r = Apply(recAct, xs[1] + inner[1]);
        torch::Tensor hh = Apply(act, torch::addmm(xs[2], r * h, rk2));
        h = z * h + (1 - z) * hh;
        put(1, z), put(2, r), put(3, hh);
        break;
      }
      case kSimple:
        h = Apply(act, torch::addmm(xt, h, recurrent));
        put(1, h);
        break;
      default:
        throw std::invalid_argument("unknown recurrent kind " + std::to_string(kind));
    }
    outputs.push_back(h);
  }
  Result r;
  r.sequence = steps > 0 ? torch::stack(outputs, 1) : torch::zeros({x.size(0), 0, units}, x.options());
  r.h = h;
  r.c = c;
  if (save) {
    if (steps == 0) throw std::invalid_argument("a recurrent layer needs at least one time step to be trained");
    r.saved.push_back(x);
    size_t n = kind == kGru ? 4 : 2;
    for (size_t k = 0; k < n; k++) r.saved.push_back(torch::stack(keep[k], 0));
  }
  return r;
}

// Backpropagation through time over the saved activations: per step only the elementwise gate
// gradients and one matmul for dh; the weight gradients are one matmul each over all steps.
Grads Backward(int kind, const std::vector<torch::Tensor>& s, const torch::Tensor& kernel, const torch::Tensor& recurrent, bool hasBias,
               int act, int recAct, bool goBackwards, const torch::Tensor& dSeq, torch::Tensor dh, torch::Tensor dc) {
  if (kind == kLstm) {
    return BackwardLstm(s, kernel, recurrent, hasBias, act, recAct, dSeq, dh, dc);
  }
  const torch::Tensor& x = s.at(0);
  const torch::Tensor& hPrev = s.at(1);
  const int64_t steps = hPrev.size(0);
  const int64_t units = recurrent.size(0);
  std::vector<torch::Tensor> dxw(steps);     // gradient of the input projection per step
  std::vector<torch::Tensor> drec(steps);    // gradient of the recurrent matmul's output per step
  torch::Tensor rk1, rk2, dRk2;
  if (kind == kGru) {
    rk1 = recurrent.narrow(1, 0, 2 * units);
    rk2 = recurrent.narrow(1, 2 * units, units);
  }
  for (int64_t t = steps - 1; t >= 0; t--) {
    dh = dh + dSeq.select(1, t);
    switch (kind) {
      case kGru: {
        const torch::Tensor &hp = hPrev[t], &z = s[2][t], &r = s[3][t], &hh = s[4][t];
        torch::Tensor dZ = Backprop(recAct, dh * (hp - hh), z);
        torch::Tensor dHH = Backprop(act, dh * (1 - z), hh);
        torch::Tensor dRH = dHH.mm(rk2.t());
        torch::Tensor dR = Backprop(recAct, dRH * hp, r);
        torch::Tensor dzr = torch::cat({dZ, dR}, 1);
        dxw[t] = torch::cat({dZ, dR, dHH}, 1);
        drec[t] = dHH;  // rk2's output gradient; rk1's is dxw[t]'s first 2U columns
        dh = dh * z + dRH * r + dzr.mm(rk1.t());
        break;
      }
      case kSimple: {
        torch::Tensor dz = Backprop(act, dh, s[2][t]);
        dxw[t] = dz;
        drec[t] = dz;
        dh = dz.mm(recurrent.t());
        break;
      }
      default:
        throw std::invalid_argument("unknown recurrent kind " + std::to_string(kind));
    }
  }
  Grads out;
  torch::Tensor dXW = torch::stack(dxw, 1);  // [B, T, G*U]
  const int64_t gu = dXW.size(2);
  out.dKernel = x.reshape({-1, x.size(2)}).t().mm(dXW.reshape({-1, gu}));
  if (hasBias) out.dBias = dXW.sum(std::vector<int64_t>{0, 1});
  out.dProjection = dXW;
  torch::Tensor hFlat = hPrev.reshape({-1, units});  // [T*B, U], time-major like drec
  if (kind == kGru) {
    torch::Tensor dzr = torch::stack(dxw, 0).narrow(2, 0, 2 * units).reshape({-1, 2 * units});
    torch::Tensor rh = (s[3] * hPrev).reshape({-1, units});
    torch::Tensor dhh = torch::stack(drec, 0).reshape({-1, units});
    out.dRecurrent = torch::cat({hFlat.t().mm(dzr), rh.t().mm(dhh)}, 1);
  } else {
    out.dRecurrent = hFlat.t().mm(torch::stack(drec, 0).reshape({-1, gu}));
  }
  out.dh0 = dh;
  out.dc0 = dc;
  return out;
}

Napi::Value Recurrent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int kind = info[0].As<Napi::Number>().Int32Value();
  bool save = info[10].As<Napi::Boolean>().Value();
  Result r = Forward(kind, TensorHandle::Get(info[1]), TensorHandle::Get(info[2]), OptTensor(info[3]), TensorHandle::Get(info[4]),
                     TensorHandle::Get(info[5]), OptTensor(info[6]), info[7].As<Napi::Number>().Int32Value(),
                     info[8].As<Napi::Number>().Int32Value(), info[9].As<Napi::Boolean>().Value(), save);
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, TensorHandle::New(env, r.sequence));
  out.Set(1u, TensorHandle::New(env, r.h));
  out.Set(2u, kind == kLstm ? TensorHandle::New(env, r.c) : env.Null());
  if (save) {
    Napi::Array saved = Napi::Array::New(env, r.saved.size());
    for (size_t k = 0; k < r.saved.size(); k++) saved.Set(static_cast<uint32_t>(k), TensorHandle::New(env, r.saved[k]));
    out.Set(3u, saved);
  } else {
    out.Set(3u, env.Null());
  }
  return out;
}

// tfjsRecurrentBackward(kind, saved[], kernel, recurrentKernel, hasBias, activation,
//   recurrentActivation, goBackwards, dSequence, dH, dC | null)
//   -> [dProjection, dh0, dc0 | null, dKernel, dRecurrentKernel, dBias | null]
Napi::Value RecurrentBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int kind = info[0].As<Napi::Number>().Int32Value();
  Napi::Array a = info[1].As<Napi::Array>();
  std::vector<torch::Tensor> saved;
  for (uint32_t k = 0; k < a.Length(); k++) saved.push_back(TensorHandle::Get(a.Get(k)));
  bool hasBias = info[4].As<Napi::Boolean>().Value();
  torch::Tensor dC = OptTensor(info[10]);
  torch::Tensor dH = TensorHandle::Get(info[9]);
  if (!dC.defined()) dC = torch::zeros_like(dH);
  torch::NoGradGuard noGrad;
  Grads g = Backward(kind, saved, TensorHandle::Get(info[2]), TensorHandle::Get(info[3]), hasBias, info[5].As<Napi::Number>().Int32Value(),
                     info[6].As<Napi::Number>().Int32Value(), info[7].As<Napi::Boolean>().Value(), TensorHandle::Get(info[8]), dH, dC);
  Napi::Array out = Napi::Array::New(env, 6);
  out.Set(0u, TensorHandle::New(env, g.dProjection));
  out.Set(1u, TensorHandle::New(env, g.dh0));
  out.Set(2u, kind == kLstm ? TensorHandle::New(env, g.dc0) : env.Null());
  out.Set(3u, TensorHandle::New(env, g.dKernel));
  out.Set(4u, TensorHandle::New(env, g.dRecurrent));
  out.Set(5u, hasBias ? TensorHandle::New(env, g.dBias) : env.Null());
  return out;
}

// tfjsRecurrentInputGrad(dProjection, kernel, goBackwards) -> dx [B, T, I]: the input's gradient
// from the projection's, in the input's own time order.
Napi::Value RecurrentInputGrad(const Napi::CallbackInfo& info) {
  torch::NoGradGuard noGrad;
  torch::Tensor dx = torch::matmul(TensorHandle::Get(info[0]), TensorHandle::Get(info[1]).t());
  if (info[2].As<Napi::Boolean>().Value()) dx = dx.flip({1});
  return TensorHandle::New(info.Env(), dx.contiguous());
}

}  // namespace tfjs_rnn

void InitTfjs(Napi::Env env, Napi::Object exports) {
  ExportOrdered<tfjs_rnn::Recurrent>(env, exports, "tfjsRecurrent");
  ExportOrdered<tfjs_rnn::RecurrentBackward>(env, exports, "tfjsRecurrentBackward");
  ExportOrdered<tfjs_rnn::RecurrentInputGrad>(env, exports, "tfjsRecurrentInputGrad");
}

}  // namespace trnn
