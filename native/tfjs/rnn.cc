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

torch::Tensor OptTensor(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return torch::Tensor();
  return TensorHandle::Get(v);
}

// What the backward pass needs, stacked over time ([T, B, ·]); x is [B, T, I] in processing order.
//   LSTM: x, hPrev, cPrev, i, f, g, o, tanhC (activation(c_t))
//   GRU: x, hPrev, z, r, hh
//   SimpleRNN: x, hPrev, h
struct Result {
  torch::Tensor sequence, h, c;
  std::vector<torch::Tensor> saved;
};

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
  // Input projections of every step at once: [B, T, G*U].
  torch::Tensor xw = torch::matmul(x, kernel);
  if (bias.defined()) xw = xw + bias;
  const int64_t steps = x.size(1);
  std::vector<torch::Tensor> outputs;
  outputs.reserve(steps);
  std::vector<std::vector<torch::Tensor>> keep(8);
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
      case kLstm: {
        torch::Tensor gates = torch::addmm(xt, h, recurrent);
        // The recurrent activation over all four blocks at once (the c block's is unused).
        torch::Tensor ifo = Apply(recAct, gates);
        torch::Tensor i = ifo.narrow(1, 0, units);
        torch::Tensor f = ifo.narrow(1, units, units);
        torch::Tensor g = Apply(act, gates.narrow(1, 2 * units, units));
        torch::Tensor o = ifo.narrow(1, 3 * units, units);
        put(1, c);
        c = torch::addcmul(f * c, i, g);
        torch::Tensor tc = Apply(act, c);
        h = o * tc;
        put(2, i), put(3, f), put(4, g), put(5, o), put(6, tc);
        break;
      }
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
    size_t n = kind == kLstm ? 7 : kind == kGru ? 4 : 2;
    for (size_t k = 0; k < n; k++) r.saved.push_back(torch::stack(keep[k], 0));
  }
  return r;
}

struct Grads {
  torch::Tensor dx, dh0, dc0, dKernel, dRecurrent, dBias;
};

// Backpropagation through time over the saved activations: per step only the elementwise gate
// gradients and one matmul for dh; the weight gradients are one matmul each over all steps.
Grads Backward(int kind, const std::vector<torch::Tensor>& s, const torch::Tensor& kernel, const torch::Tensor& recurrent, bool hasBias,
               int act, int recAct, bool goBackwards, const torch::Tensor& dSeq, torch::Tensor dh, torch::Tensor dc) {
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
      case kLstm: {
        const torch::Tensor &cPrev = s[2][t], &i = s[3][t], &f = s[4][t], &g = s[5][t], &o = s[6][t], &tc = s[7][t];
        torch::Tensor dOut = Backprop(recAct, dh * tc, o);
        dc = dc + Backprop(act, dh * o, tc);
        torch::Tensor dI = Backprop(recAct, dc * g, i);
        torch::Tensor dF = Backprop(recAct, dc * cPrev, f);
        torch::Tensor dG = Backprop(act, dc * i, g);
        torch::Tensor dz = torch::cat({dI, dF, dG, dOut}, 1);
        dc = dc * f;
        dxw[t] = dz;
        drec[t] = dz;
        dh = dz.mm(recurrent.t());
        break;
      }
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
  torch::Tensor dx = torch::matmul(dXW, kernel.t());
  out.dx = goBackwards ? dx.flip({1}) : dx;
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
//   -> [dx, dh0, dc0 | null, dKernel, dRecurrentKernel, dBias | null]
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
  out.Set(0u, TensorHandle::New(env, g.dx));
  out.Set(1u, TensorHandle::New(env, g.dh0));
  out.Set(2u, kind == kLstm ? TensorHandle::New(env, g.dc0) : env.Null());
  out.Set(3u, TensorHandle::New(env, g.dKernel));
  out.Set(4u, TensorHandle::New(env, g.dRecurrent));
  out.Set(5u, hasBias ? TensorHandle::New(env, g.dBias) : env.Null());
  return out;
}

}  // namespace tfjs_rnn

void InitTfjs(Napi::Env env, Napi::Object exports) {
  ExportOrdered<tfjs_rnn::Recurrent>(env, exports, "tfjsRecurrent");
  ExportOrdered<tfjs_rnn::RecurrentBackward>(env, exports, "tfjsRecurrentBackward");
}

}  // namespace trnn
