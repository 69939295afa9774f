#include "rnn.h"

#include "../nn/fused/fused.h"
#include "gru_simple.h"
#include "../queue.h"
#include "../tensor.h"

namespace trnn {
namespace tfjs_rnn {  // named: binding.gyp compiles every .cc as one translation unit

using namespace fused;
using namespace fused::lstm;

enum Kind { kLstm = 0, kGru = 1, kSimple = 2 };

// How many tensors the LSTM saves before the optional mask (the GRU's and SimpleRNN's: gru_simple.h).
constexpr size_t kSavedLstm = 7;

torch::Tensor OptTensor(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return torch::Tensor();
  return TensorHandle::Get(v);
}

// ---- the layer

// mask [B, T] or [B, T, 1] of any dtype (tfjs-layers casts it to bool): 1 where it is non-zero,
// as float32 [B, T] in processing order.
torch::Tensor MaskRows(const torch::Tensor& mask, const torch::Tensor& x, bool goBackwards) {
  if (!mask.defined()) return mask;
  if (mask.numel() != x.size(0) * x.size(1)) throw std::invalid_argument("the mask must be [batch, time] or [batch, time, 1]");
  torch::Tensor m = mask.reshape({x.size(0), x.size(1)}).ne(0).to(torch::kFloat);
  if (goBackwards) m = m.flip({1});
  return m.contiguous();
}

// A masked layer in inference: the halves of a split batch (SplitRows) at once, each as packed
// sequences where its mask is post-padded (packed(p, x, h, c, seq): no work for masked steps;
// lstm_packed.h ForwardPostPadded, gru_rnn.h RnnPostPadded), else through the masked pass
// (masked(x, h, c, mask, seq)). c: the LSTM's cell state, undefined for the others.
template <typename PackedFn, typename MaskedFn>
Result MaskedInference(const torch::Tensor& x, const torch::Tensor& h, const torch::Tensor& c, const torch::Tensor& mask,
                       const torch::Tensor& seqOut, int64_t units, int64_t gateCols, const PackedFn& packed, const MaskedFn& masked) {
  const auto run = [&](const torch::Tensor& xs, const torch::Tensor& hs, const torch::Tensor& cs, const torch::Tensor& ms,
                       const torch::Tensor& seqRows) -> Result {
    if (auto p = PostPadded::Of(ms)) return packed(*p, xs, hs, cs, seqRows);
    return masked(xs, hs, cs, ms, seqRows);
  };
  const torch::Tensor seq = BufferOr(seqOut, {x.size(0), x.size(1), units}, x.options());
  auto split = SplitRows(seq, gateCols, units, [&](int64_t b, int64_t n, const torch::Tensor& seqRows) {
    return run(Rows(x, b, n), Rows(h, b, n), Rows(c, b, n), Rows(mask, b, n), seqRows);
  });
  return split ? *split : run(x, h, c, mask, seq);
}

// seqOut (optional): the [B, T, U] buffer the fused recurrences write the sequence into (the
// queued forms' output; libtorch's at::lstm path returns its own).
Result Forward(int kind, torch::Tensor x, torch::Tensor h, torch::Tensor c, const torch::Tensor& kernel, const torch::Tensor& recurrent,
               const torch::Tensor& bias, int act, int recAct, bool goBackwards, bool save, const torch::Tensor& maskIn,
               const torch::Tensor& seqOut = torch::Tensor()) {
  if (x.dim() != 3) throw std::invalid_argument("expected a 3-D input [batch, time, features]");
  // no initial state: zeros
  if (!h.defined()) h = torch::zeros({x.size(0), recurrent.size(0)}, x.options());
  if (kind == kLstm && !c.defined()) c = torch::zeros({x.size(0), recurrent.size(0)}, x.options());
  if (!AllFloatCpu({&x, &h, &kernel, &recurrent})) throw std::invalid_argument("the fused recurrent layers take float32 CPU tensors");
  const torch::Tensor mask = MaskRows(maskIn, x, goBackwards);
  if (goBackwards) x = x.flip({1});
  const int64_t units = recurrent.size(0);
  switch (kind) {
    case kLstm:
      if (!save && !mask.defined() && act == kTanh && recAct == kSigmoid) {
        // libtorch's own LSTM: gate order i, f, g, o is tfjs's i, f, c, o.
        torch::Tensor bih = bias.defined() ? bias : torch::zeros({4 * units}, kernel.options());
        std::vector<torch::Tensor> params{kernel.t(), recurrent.t(), bih, torch::zeros({4 * units}, kernel.options())};
        auto out = at::lstm(x, {h.unsqueeze(0), c.unsqueeze(0)}, params, /*has_biases=*/true, /*num_layers=*/1,
                            /*dropout=*/0.0, /*train=*/false, /*bidirectional=*/false, /*batch_first=*/true);
        return {std::get<0>(out), std::get<1>(out).squeeze(0), std::get<2>(out).squeeze(0), {}};
      }
      if (!save && mask.defined()) {
        return MaskedInference(
            x, h, c, mask, seqOut, units, 4 * units,
            [&](const PostPadded& p, const torch::Tensor& xs, const torch::Tensor& hs, const torch::Tensor& cs, const torch::Tensor& seq) {
              return ForwardPostPadded(p, xs, hs, cs, kernel, recurrent, bias, act, recAct, seq);
            },
            [&](const torch::Tensor& xs, const torch::Tensor& hs, const torch::Tensor& cs, const torch::Tensor& ms, const torch::Tensor& seq) {
              return ForwardLstm(xs, hs, cs, kernel, recurrent, bias, act, recAct, false, ms, seq);
            });
      }
      return ForwardLstm(x, h, c, kernel, recurrent, bias, act, recAct, save, mask, seqOut);
    case kGru: {
      Result r = ForwardGru(x, h, kernel, recurrent, bias, act, recAct, save, mask, seqOut);
      r.c = c;
      return r;
    }
    case kSimple: {
      Result r = save || !mask.defined()
                     ? ForwardSimple(x, h, kernel, recurrent, bias, act, save, mask, seqOut)
                     : MaskedInference(
                           x, h, torch::Tensor(), mask, seqOut, units, units,
                           [&](const PostPadded& p, const torch::Tensor& xs, const torch::Tensor& hs, const torch::Tensor&, const torch::Tensor& seq) {
                             Result pr;
                             std::tie(pr.sequence, pr.h) = gru_rnn::RnnPostPadded(p, xs, hs, kernel, recurrent, bias, act, seq);
                             return pr;
                           },
                           [&](const torch::Tensor& xs, const torch::Tensor& hs, const torch::Tensor&, const torch::Tensor& ms, const torch::Tensor& seq) {
                             return ForwardSimple(xs, hs, kernel, recurrent, bias, act, false, ms, seq);
                           });
      r.c = c;
      return r;
    }
    default:
      throw std::invalid_argument("unknown recurrent kind " + std::to_string(kind));
  }
}

// dProjOut (optional): the buffer the projection's gradient is written into: [T, B, 4U] for the
// LSTM (dProjection is its transpose), [B, T, G*U] for the others.
Grads Backward(int kind, const std::vector<torch::Tensor>& s, const torch::Tensor& kernel, const torch::Tensor& recurrent, bool hasBias,
               int act, int recAct, const torch::Tensor& dSeq, const torch::Tensor& dh, const torch::Tensor& dc,
               const torch::Tensor& dProjOut = torch::Tensor()) {
  const size_t base = kind == kLstm ? kSavedLstm : kind == kGru ? kSavedGru : kSavedSimple;
  if (kind < kLstm || kind > kSimple || s.size() < base || s.size() > base + 1) throw std::invalid_argument("bad saved activations");
  for (const torch::Tensor& t : s) {
    if (!t.device().is_cpu() || t.scalar_type() != at::kFloat) throw std::invalid_argument("the fused recurrent gradients take float32 CPU tensors");
  }
  if (kind == kLstm) return BackwardLstm(s, kernel, recurrent, hasBias, act, recAct, dSeq, dh, dc, dProjOut);
  Grads g = kind == kSimple ? BackwardSimple(s, recurrent, hasBias, act, dSeq, dh, dProjOut)
                            : BackwardGru(s, recurrent, hasBias, act, recAct, dSeq, dh, dProjOut);
  g.dc0 = dc;
  return g;
}

// tfjsRecurrent(kind, x, h0 | null, c0 | null, kernel, recurrentKernel, bias | null, activation,
//   recurrentActivation, goBackwards, save, mask | null) -> [sequence, hT, cT | null, saved[] | null]
Napi::Value Recurrent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int kind = info[0].As<Napi::Number>().Int32Value();
  bool save = info[10].As<Napi::Boolean>().Value();
  Result r = Forward(kind, TensorHandle::Get(info[1]), OptTensor(info[2]), OptTensor(info[3]), TensorHandle::Get(info[4]),
                     TensorHandle::Get(info[5]), OptTensor(info[6]), info[7].As<Napi::Number>().Int32Value(),
                     info[8].As<Napi::Number>().Int32Value(), info[9].As<Napi::Boolean>().Value(), save, OptTensor(info[11]));
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
                     info[6].As<Napi::Number>().Int32Value(), TensorHandle::Get(info[8]), dH, dC);
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
// inputs give, the job runs the kernel, which writes the large ones (the sequence, the
// projection's gradient) in place and the rest is copied in (a second buffer of the large ones
// and its copy cost ~10 % of a training step: fresh pages from the allocator every step). What
// the forward saves for the gradient stays native, in a SavedState the JS side holds as an
// external.

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

// Copies a kernel's result into a queued output, unless the kernel wrote it there already.
static void Into(torch::Tensor& out, const torch::Tensor& result) {
  if (result.data_ptr() == out.data_ptr() && result.sizes() == out.sizes() && result.strides() == out.strides()) return;
  out.copy_(result);
}

// What Forward would refuse, checked at once from the shapes and dtypes (the job runs later).
static void CheckInput(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& kernel, const torch::Tensor& recurrent,
                       const torch::Tensor& mask, bool save) {
  if (x.dim() != 3) throw std::invalid_argument("expected a 3-D input [batch, time, features]");
  if (save && x.size(1) == 0) throw std::invalid_argument("a recurrent layer needs at least one time step to be trained");
  if (!AllFloatCpu({&x, &kernel, &recurrent}) || (h0.defined() && !AllFloatCpu({&h0}))) {
    throw std::invalid_argument("the fused recurrent layers take float32 CPU tensors");
  }
  if (mask.defined() && mask.numel() != x.size(0) * x.size(1)) throw std::invalid_argument("the mask must be [batch, time] or [batch, time, 1]");
}

// tfjsRecurrentQueued(...tfjsRecurrent's arguments, mask included) -> [sequence, hT, cT | null, saved | null]
Napi::Value RecurrentQueued(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int kind = info[0].As<Napi::Number>().Int32Value();
  torch::Tensor x = TensorHandle::Get(info[1]), h0 = OptTensor(info[2]), c0 = OptTensor(info[3]);
  torch::Tensor kernel = TensorHandle::Get(info[4]), recurrent = TensorHandle::Get(info[5]), bias = OptTensor(info[6]);
  int act = info[7].As<Napi::Number>().Int32Value(), recAct = info[8].As<Napi::Number>().Int32Value();
  bool goBackwards = info[9].As<Napi::Boolean>().Value(), save = info[10].As<Napi::Boolean>().Value();
  torch::Tensor mask = OptTensor(info[11]);
  CheckInput(x, h0, kernel, recurrent, mask, save);
  const int64_t batch = x.size(0), steps = x.size(1), units = recurrent.size(0);
  const bool lstm = kind == kLstm;
  auto opts = x.options();
  torch::Tensor seq = queue::Output({batch, steps, units}, opts), h = queue::Output({batch, units}, opts);
  torch::Tensor c = lstm ? queue::Output({batch, units}, opts) : torch::Tensor();
  SavedPtr state = save ? std::make_shared<SavedState>() : nullptr;
  std::vector<torch::Tensor> outputs{seq, h};
  if (lstm) outputs.push_back(c);
  std::vector<torch::Tensor> inputs{x, kernel, recurrent};
  for (const torch::Tensor& t : {h0, c0, bias, mask}) {
    if (t.defined()) inputs.push_back(t);
  }
  uint64_t ready = queue::Enqueue(
      env, inputs, outputs,
      [=]() mutable {
        // the fused recurrences write the sequence into `seq` (no second buffer, no copy)
        Result r = Forward(kind, x, h0, c0, kernel, recurrent, bias, act, recAct, goBackwards, save, mask, seq);
        Into(seq, r.sequence);
        Into(h, r.h);
        if (lstm) Into(c, r.c);
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
  // info[7], goBackwards: the saved activations are in processing order already
  torch::Tensor dSeq = TensorHandle::Get(info[8]), dH = TensorHandle::Get(info[9]), dC = OptTensor(info[10]);
  if (dSeq.dim() != 3) throw std::invalid_argument("expected a 3-D sequence gradient [batch, time, units]");
  const bool lstm = kind == kLstm;
  const int64_t batch = dSeq.size(0), steps = dSeq.size(1), units = recurrent.size(0), gu = kernel.size(1);
  auto opts = dSeq.options();
  // The projection's gradient is written in place by the kernel: the LSTM's is the transpose of
  // its [T, B, 4U] gate gradients (as tfjsRecurrentBackward returns it), the others' [B, T, G*U].
  torch::Tensor dProjBuf = lstm ? queue::Output({steps, batch, gu}, opts) : queue::Output({batch, steps, gu}, opts);
  torch::Tensor dProj = lstm ? dProjBuf.transpose(0, 1) : dProjBuf, dh0 = queue::Output({batch, units}, opts);
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
    Grads g = Backward(kind, saved, kernel, recurrent, hasBias, act, recAct, dSeq, dH, dc, dProjBuf);
    Into(dProj, g.dProjection);
    Into(dh0, g.dh0);
    if (lstm) Into(dc0, g.dc0);
    Into(dKernel, g.dKernel);
    Into(dRec, g.dRecurrent);
    if (hasBias) Into(dBias, g.dBias);
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
  // lib/tfjs/rnn.ts fuses masked layers only with an addon whose tfjsRecurrent takes the mask
  exports.Set("tfjsRecurrentMasks", Napi::Boolean::New(env, true));
}

}  // namespace trnn
