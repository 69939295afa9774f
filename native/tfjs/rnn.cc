#include "rnn.h"

#include "../nn/fused/fused.h"
#include "../queue.h"
#include "../tensor.h"

namespace trnn {
namespace tfjs_rnn {  // named: binding.gyp compiles every .cc as one translation unit

using namespace fused::lstm;

enum Kind { kLstm = 0, kGru = 1, kSimple = 2 };

torch::Tensor OptTensor(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return torch::Tensor();
  return TensorHandle::Get(v);
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

// ---- queued forms (native/queue.h: the TensorFlow.js backend's asynchronous mode) ----------------
// The same kernels as jobs on the executor: the outputs are allocated here with the shapes the
// inputs give, the job runs the kernel and copies its results into them. What the forward saves
// for the gradient stays native, in a SavedState the JS side holds as an external.

// Jobs hold their own reference: released by JS (its reference dropped), it lives until the
// last queued job that uses it has run.
struct SavedState {
  std::mutex mu;
  std::vector<torch::Tensor> saved;
  std::shared_ptr<const ErrorInfo> error;  // the forward job's, when it failed
};
using SavedPtr = std::shared_ptr<SavedState>;

static Napi::Value NewSavedState(Napi::Env env, const SavedPtr& state) {
  return Napi::External<SavedPtr>::New(env, new SavedPtr(state), [](Napi::Env, SavedPtr* p) { delete p; });
}

// The state behind a SavedState external; throws for one already released.
static SavedPtr SavedStateOf(const Napi::Value& v) {
  if (!v.IsExternal()) return nullptr;
  SavedPtr* p = v.As<Napi::External<SavedPtr>>().Data();
  if (p == nullptr || !*p) throw std::invalid_argument("the recurrent forward's saved state was released (its output was disposed)");
  return *p;
}

static void CheckInput(const torch::Tensor& x, bool save) {
  if (x.dim() != 3) throw std::invalid_argument("expected a 3-D input [batch, time, features]");
  if (save && x.size(1) == 0) throw std::invalid_argument("a recurrent layer needs at least one time step to be trained");
}

// tfjsRecurrentQueued(...tfjsRecurrent's arguments) -> [sequence, hT, cT | null, saved | null]
Napi::Value RecurrentQueued(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int kind = info[0].As<Napi::Number>().Int32Value();
  torch::Tensor x = TensorHandle::Get(info[1]), h0 = TensorHandle::Get(info[2]), c0 = OptTensor(info[3]);
  torch::Tensor kernel = TensorHandle::Get(info[4]), recurrent = TensorHandle::Get(info[5]), bias = OptTensor(info[6]);
  int act = info[7].As<Napi::Number>().Int32Value(), recAct = info[8].As<Napi::Number>().Int32Value();
  bool goBackwards = info[9].As<Napi::Boolean>().Value(), save = info[10].As<Napi::Boolean>().Value();
  CheckInput(x, save);
  const int64_t batch = x.size(0), steps = x.size(1), units = recurrent.size(0);
  const bool lstm = kind == kLstm;
  auto opts = x.options();
  torch::Tensor seq = queue::Output({batch, steps, units}, opts), h = queue::Output({batch, units}, opts);
  torch::Tensor c = lstm ? queue::Output({batch, units}, opts) : torch::Tensor();
  SavedPtr state = save ? std::make_shared<SavedState>() : nullptr;
  std::vector<torch::Tensor> outputs{seq, h};
  if (lstm) outputs.push_back(c);
  std::vector<torch::Tensor> inputs{x, h0, kernel, recurrent};
  if (c0.defined()) inputs.push_back(c0);
  if (bias.defined()) inputs.push_back(bias);
  uint64_t ready = queue::Enqueue(
      env, inputs, outputs,
      [=]() mutable {
        Result r = Forward(kind, x, h0, c0, kernel, recurrent, bias, act, recAct, goBackwards, save);
        seq.copy_(r.sequence);
        h.copy_(r.h);
        if (lstm) c.copy_(r.c);
        if (state) {
          std::lock_guard<std::mutex> lock(state->mu);
          state->saved = std::move(r.saved);
        }
      },
      [state](const std::shared_ptr<const ErrorInfo>& e) {
        if (!state) return;
        std::lock_guard<std::mutex> lock(state->mu);
        state->error = e;
      });
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, TensorHandle::New(env, seq, ready));
  out.Set(1u, TensorHandle::New(env, h, ready));
  out.Set(2u, lstm ? TensorHandle::New(env, c, ready) : env.Null());
  out.Set(3u, state ? NewSavedState(env, state) : env.Null());
  return out;
}

// tfjsRecurrentRelease(saved): drops JS's reference to what a queued forward saved (freed now,
// or when the last queued job that uses it has run).
Napi::Value RecurrentRelease(const Napi::CallbackInfo& info) {
  if (info[0].IsExternal()) {
    if (SavedPtr* p = info[0].As<Napi::External<SavedPtr>>().Data()) p->reset();
  }
  return info.Env().Undefined();
}

// tfjsRecurrentBackwardQueued(kind, saved (a queued forward's, or an array of handles), ...the
// rest of tfjsRecurrentBackward's arguments) -> the same six gradients.
Napi::Value RecurrentBackwardQueued(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int kind = info[0].As<Napi::Number>().Int32Value();
  SavedPtr state = SavedStateOf(info[1]);
  std::vector<torch::Tensor> savedNow;
  if (!state) {
    Napi::Array a = info[1].As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); k++) savedNow.push_back(TensorHandle::Get(a.Get(k)));
  }
  torch::Tensor kernel = TensorHandle::Get(info[2]), recurrent = TensorHandle::Get(info[3]);
  bool hasBias = info[4].As<Napi::Boolean>().Value();
  int act = info[5].As<Napi::Number>().Int32Value(), recAct = info[6].As<Napi::Number>().Int32Value();
  bool goBackwards = info[7].As<Napi::Boolean>().Value();
  torch::Tensor dSeq = TensorHandle::Get(info[8]), dH = TensorHandle::Get(info[9]), dC = OptTensor(info[10]);
  if (dSeq.dim() != 3) throw std::invalid_argument("expected a 3-D sequence gradient [batch, time, units]");
  const bool lstm = kind == kLstm;
  const int64_t batch = dSeq.size(0), steps = dSeq.size(1), units = recurrent.size(0), gu = kernel.size(1);
  auto opts = dSeq.options();
  torch::Tensor dProj = queue::Output({batch, steps, gu}, opts), dh0 = queue::Output({batch, units}, opts);
  torch::Tensor dc0 = lstm ? queue::Output({batch, units}, opts) : torch::Tensor();
  torch::Tensor dKernel = queue::Output(kernel.sizes(), opts), dRec = queue::Output(recurrent.sizes(), opts);
  torch::Tensor dBias = hasBias ? queue::Output({gu}, opts) : torch::Tensor();
  std::vector<torch::Tensor> outputs{dProj, dh0, dKernel, dRec};
  if (lstm) outputs.push_back(dc0);
  if (hasBias) outputs.push_back(dBias);
  std::vector<torch::Tensor> inputs{kernel, recurrent, dSeq, dH};
  if (dC.defined()) inputs.push_back(dC);
  for (const torch::Tensor& t : savedNow) inputs.push_back(t);
  uint64_t ready = queue::Enqueue(env, inputs, outputs, [=]() mutable {
    std::vector<torch::Tensor> saved = savedNow;
    if (state) {
      std::lock_guard<std::mutex> lock(state->mu);
      if (state->error) throw CodedError(state->error->code, state->error->message);
      saved = state->saved;
    }
    torch::NoGradGuard noGrad;
    torch::Tensor dc = dC.defined() ? dC : torch::zeros_like(dH);
    Grads g = Backward(kind, saved, kernel, recurrent, hasBias, act, recAct, goBackwards, dSeq, dH, dc);
    dProj.copy_(g.dProjection);
    dh0.copy_(g.dh0);
    if (lstm) dc0.copy_(g.dc0);
    dKernel.copy_(g.dKernel);
    dRec.copy_(g.dRecurrent);
    if (hasBias) dBias.copy_(g.dBias);
  });
  Napi::Array out = Napi::Array::New(env, 6);
  out.Set(0u, TensorHandle::New(env, dProj, ready));
  out.Set(1u, TensorHandle::New(env, dh0, ready));
  out.Set(2u, lstm ? TensorHandle::New(env, dc0, ready) : env.Null());
  out.Set(3u, TensorHandle::New(env, dKernel, ready));
  out.Set(4u, TensorHandle::New(env, dRec, ready));
  out.Set(5u, hasBias ? TensorHandle::New(env, dBias, ready) : env.Null());
  return out;
}

// tfjsRecurrentInputGradQueued(dProjection, kernel, goBackwards) -> dx
Napi::Value RecurrentInputGradQueued(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  torch::Tensor dProj = TensorHandle::Get(info[0]), kernel = TensorHandle::Get(info[1]);
  bool goBackwards = info[2].As<Napi::Boolean>().Value();
  if (dProj.dim() != 3) throw std::invalid_argument("expected a 3-D projection gradient [batch, time, gates * units]");
  torch::Tensor dx = queue::Output({dProj.size(0), dProj.size(1), kernel.size(0)}, dProj.options());
  uint64_t ready = queue::Enqueue(env, {dProj, kernel}, {dx}, [=]() mutable {
    torch::NoGradGuard noGrad;
    torch::Tensor r = torch::matmul(dProj, kernel.t());
    if (goBackwards) r = r.flip({1});
    dx.copy_(r);
  });
  return TensorHandle::New(env, dx, ready);
}

}  // namespace tfjs_rnn

void InitTfjs(Napi::Env env, Napi::Object exports) {
  ExportOrdered<tfjs_rnn::Recurrent>(env, exports, "tfjsRecurrent");
  ExportOrdered<tfjs_rnn::RecurrentBackward>(env, exports, "tfjsRecurrentBackward");
  ExportOrdered<tfjs_rnn::RecurrentInputGrad>(env, exports, "tfjsRecurrentInputGrad");
  Export<tfjs_rnn::RecurrentQueued>(env, exports, "tfjsRecurrentQueued");
  Export<tfjs_rnn::RecurrentBackwardQueued>(env, exports, "tfjsRecurrentBackwardQueued");
  Export<tfjs_rnn::RecurrentInputGradQueued>(env, exports, "tfjsRecurrentInputGradQueued");
  Export<tfjs_rnn::RecurrentRelease>(env, exports, "tfjsRecurrentRelease");
}

}  // namespace trnn
