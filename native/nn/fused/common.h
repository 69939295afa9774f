// What the fused recurrent layers share (lstm.cc, lstm_packed.cc, lstm_proj.cc, gru_rnn.cc): the
// torch.backends.fusedRnn flag, the test of whether a module's forward may take a fused layer,
// the stacking of layers and directions as libtorch stacks them, the double-backward path
// through libtorch's own implementation, and small row helpers.
//
// For the fused layers' own files; the rest of native/ includes fused.h.
#pragma once
#include <ATen/ThreadLocalState.h>

#include <exception>

#include "../../addon.h"
#include "gate_kernels.h"  // kFlushBelow
#include "row_helper.h"

namespace trnn {
namespace fused {

// torch.backends.fusedRnn.enabled: false sends every nn.LSTM, nn.GRU and nn.RNN to libtorch's own
// implementation (the same
// bits as PyTorch). Process-wide, like cuDNN's flag.
bool Enabled();
void SetEnabled(bool on);

// torch.backends.fusedRnn.auto (default true): where libtorch's own layer is faster than the
// fused one, take it. Today: a non-packed LSTM without projSize on a libtorch whose at::lstm
// runs on oneDNN (2.x; compat::LstmRunsOnOneDnn) in inference (no gradient recorded) at every
// batch, and in training at small batches. false: the fused layer wherever it applies (the
// tests of the fused kernels set it).
bool Auto();
void SetAuto(bool on);
// The smallest batch for which the fused LSTM's training step beats oneDNN's, measured with 1
// intra-op thread on libtorch 2.6 (input 32, 2 layers, seq 64, hidden 128 and 256): below 8,
// oneDNN's was 1.2-2.5x faster. Inference has no such batch: remeasured on 2026-12-05 (the
// same sizes, batches 1-128), oneDNN's forward was as fast (batch 1-2) or faster (batch 4-128:
// the fused forward at 0.57-0.87 of its speed; the bench's inference row 0.72x PyTorch 2.6),
// where the fused training step was 0.8-1.0x at batch 8-32 and 1.15x from 64.
constexpr int64_t kLstmFusedMinBatchTraining = 8;

using OptTensor = c10::optional<torch::Tensor>;

// Rows [0, rows) on libtorch's intra-op threads, in chunks of about GRAIN_SIZE elements of work
// at `cost` elements per row: RowGrain for a kernel over row ranges, ForRows row by row.
inline int64_t RowGrain(int64_t cost) { return std::max<int64_t>(1, at::internal::GRAIN_SIZE / std::max<int64_t>(cost, 1)); }
template <typename F>
void ForRows(int64_t rows, int64_t cost, F f) {
  at::parallel_for(0, rows, RowGrain(cost), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) f(r);
  });
}

bool AllFloatCpu(std::initializer_list<const torch::Tensor*> tensors);

// A step's recurrent product into a preallocated buffer, out [B, N] = h [B, K] · w [K, N]
// (float32 CPU, unit column strides, any row strides): gate_kernels::SmallMatmul up to
// kSmallMatmulRows rows, at::mm_out above (or for any other layout). Measured on libtorch 1.13
// with OpenBLAS 0.3.21 (pthreads) on 2 vCPUs (load average 5-7 from other work), 1 intra-op
// thread, 2-layer LSTM, input 32, seq 64, inference, ms a call, this kernel vs OpenBLAS:
//   hidden 128: batch 1 1.0 vs 3.2-3.4, batch 4 2.5 vs 3.7, batch 8 5.3 vs 11.9
//   hidden 512: batch 1 16-18 vs 50-53, batch 4 38-106 vs 124-126, batch 8 80 vs 134
// At batch 12-16 the two were even or OpenBLAS ahead (hidden 128 and 256; noisy).
constexpr int64_t kSmallMatmulRows = 8;
void StepMatmul(torch::Tensor& out, const torch::Tensor& h, const torch::Tensor& w);

// A layer's result buffer: `out` when the caller passed one (it must be a contiguous float32 CPU
// tensor of these sizes: the tfjs backend's queued kernels write into their outputs), else a new
// one.
torch::Tensor BufferOr(const torch::Tensor& out, at::IntArrayRef sizes, const at::TensorOptions& options);

// rows [N, I] · kernel [I, G*U] (+ bias [G*U]): the input projection of every step at once.
torch::Tensor InputProjection(const torch::Tensor& rows, const torch::Tensor& kernel, const torch::Tensor& bias);

// One layer's weights as libtorch's at::lstm / at::gru / at::rnn_* take them: w_ih, w_hh[, b_ih,
// b_hh] (biases when bih is given).
std::vector<torch::Tensor> ReferenceParams(const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh);

// Whether a module's forward may run a fused layer: torch.backends.fusedRnn enabled, no CPU
// autocast, float32 CPU input and weights (an LSTM's w_hr among them: projSize runs fused,
// lstm_proj.h). Callers check their input's shape.
bool Fusable(const torch::nn::detail::RNNOptionsBase& o, const torch::Tensor& input, const std::vector<torch::Tensor>& weights);

// Whether the calling thread is tracing (torch.jit.trace records on the thread that traces).
bool Tracing();

// Two independent tasks, task(0) and task(1), at once: the caller runs one and the row helper
// the other (SharedPairRun, row_helper.h), the helper with the caller's thread-local state (grad
// mode, inference mode, autocast, dispatch keys); an exception in either is rethrown once both
// have finished. Returns false, having run neither, where they cannot run as a pair: while
// tracing, with the helper busy (another thread's pass, or a pair this one runs inside) or off,
// or where OpenBLAS's threads cannot be set.
template <typename F>
bool TwoAtOnce(const F& task, PairKind kind) {
  if (Tracing()) return false;
  struct Ctx {
    const F* f;
    at::ThreadLocalState tls;
    std::exception_ptr err[2];
  } c{&task, at::ThreadLocalState(), {}};
  const RowRangeFn each = [](const void* p, int64_t i, int64_t) {
    auto* c = static_cast<Ctx*>(const_cast<void*>(p));
    try {
      at::ThreadLocalStateGuard guard(c->tls);
      (*c->f)(i);
    } catch (...) {
      c->err[i] = std::current_exception();
    }
  };
  if (!SharedPairRun(each, &c, kind)) return false;
  for (const std::exception_ptr& e : c.err) {
    if (e) std::rethrow_exception(e);
  }
  return true;
}

// Set on a thread while it runs one half of a split batch or one direction of a bidirectional
// layer: the layers there do not split (again).
class NoSplitScope {
 public:
  NoSplitScope() : prev_(Flag()) { Flag() = true; }
  ~NoSplitScope() { Flag() = prev_; }
  NoSplitScope(const NoSplitScope&) = delete;
  NoSplitScope& operator=(const NoSplitScope&) = delete;
  static bool Active() { return Flag(); }

 private:
  static bool& Flag() {
    static thread_local bool flag = false;
    return flag;
  }
  bool prev_;
};

// Inference on a batch as two halves at once. A fused layer's forward without autograd has one
// thread's work per step (a small matmul, where OpenBLAS's second thread barely helps, and a gate
// pass, whose rows are shared with the helper only from 2^18 elements), but its rows are
// independent: rows [0, ceil(B/2)) and the rest run as two whole layers, one on the row helper
// (TwoAtOnce), OpenBLAS on one thread, each writing its rows of the caller's buffers.
// half(i, begin, size) runs rows [begin, begin + size) (i = 0, 1).
//
// Where a batch splits depends on its sizes and the process alone (SplitBatchPays), never on
// timing: when the helper is busy the halves run one after the other, the same arithmetic (OpenBLAS
// shares a product's rows and columns among its threads, never a sum), so a result does not
// depend on what other threads were doing. Nor does a layer split inside a
// bidirectional layer, whose directions already run as a pair, or inside a half
// (NoSplitScope). Returns false, having run nothing, where the batch does not split.
//
// Measured on 2 vCPUs (libtorch 1.13, OpenBLAS 0.3.21), a 2-layer stack's forward under noGrad,
// input 32, ms per call, halves at once / whole batch (TORCHRNN_SPLIT_BATCH=0), median of 7x30:
//   seq 64, hidden 128: LSTM batch 2 1.00 / 1.27, batch 8 2.34 / 3.49, batch 32 7.18 / 10.17,
//   batch 64 12.9 / 16.9; GRU batch 4 1.10 / 1.42, batch 32 4.00 / 7.33; RNN batch 4 0.50 /
//   0.56, batch 32 1.79 / 2.52
//   seq 32, LSTM: batch 64 hidden 256 21.4 / 23.8, batch 256 hidden 128 22.1 / 26.4, but batch
//   128 hidden 256 41.9 / 40.8, batch 128 hidden 512 145 / 142, batch 256 hidden 512 263 / 253:
//   from a step product of 2^25 multiply-adds (batch x gate columns x state size), OpenBLAS's two
//   threads on the whole batch's matmuls are as fast or faster.
// elements: batch x steps x gate columns (the halves' hand-off costs a wake-up of the helper);
// stepMacs: the step's recurrent product, batch x gate columns x state size.
constexpr int64_t kSplitMinElements = int64_t(1) << 15;
constexpr int64_t kSplitMaxStepMacs = int64_t(1) << 25;
bool SplitBatchPays(int64_t batch, int64_t elements, int64_t stepMacs);
template <typename F>
bool SplitBatch(int64_t batch, int64_t elements, int64_t stepMacs, const F& half) {
  if (NoSplitScope::Active() || !SplitBatchPays(batch, elements, stepMacs)) return false;
  const int64_t first = (batch + 1) / 2;
  const auto task = [&](int64_t i) {
    NoSplitScope scope;
    half(i, i == 0 ? 0 : first, i == 0 ? first : batch - first);
  };
  if (!TwoAtOnce(task, PairKind::kBatchHalves)) {
    task(0);
    task(1);
  }
  return true;
}

// Training on the two halves of the batch at once (the TensorFlow.js backend's layers): a
// forward that saves, and the per-step part of its backward, run rows [0, ceil(B/2)) and the
// rest as two whole recurrences (SplitBatch, on its size rule), each writing its rows of the
// whole batch's buffers: half(begin, size). The weight gradients stay whole-batch GEMMs.
// Returns false, having run nothing, where the batch does not split.
template <typename F>
bool TrainingHalves(int64_t batch, int64_t steps, int64_t gateCols, int64_t stateSize, const F& half) {
  return SplitBatch(batch, batch * steps * gateCols, batch * gateCols * stateSize, [&](int64_t, int64_t b, int64_t n) { half(b, n); });
}

// One layer and direction k (layer * directions + direction) on x in processing order, with
// its weights: the output sequence and its final states (h, or h and c).
struct LayerResult {
  torch::Tensor out;
  std::vector<torch::Tensor> states;
};
using LayerFn = std::function<LayerResult(const torch::Tensor& x, int64_t k, const torch::Tensor& wih, const torch::Tensor& whh,
                                          const OptTensor& bih, const OptTensor& bhh)>;

// Layers and directions as libtorch stacks them, weights from all_weights(): the reverse
// direction runs on reverse(x) and its output is reversed back (reverse is its own inverse),
// the directions' outputs are concatenated on featureDim. Per layer and direction the weights
// are w_ih, w_hh[, b_ih, b_hh][, w_hr] (an LSTM with projSize: the layer reads its w_hr, the
// last of its `per` weights, at weights[(k + 1) * per - 1]). In training mode with dropout > 0,
// each layer's output but the last goes through at::dropout as in libtorch's stack
// (DropoutBetweenLayers). Returns the last layer's output, then each state stacked over layers
// and directions ([L*D, B, U]; an LSTM's h with projSize [L*D, B, P]).
std::vector<torch::Tensor> StackLayers(const torch::nn::detail::RNNOptionsBase& o, bool training, const std::vector<torch::Tensor>& weights, torch::Tensor x,
                                       int64_t featureDim, const std::function<torch::Tensor(const torch::Tensor&)>& reverse,
                                       const LayerFn& layer);

// A packed input to nn.LSTM / GRU / RNN: data [N, I] (time-major rows), batch sizes [T] (int64,
// CPU), sorted/unsorted indices (undefined when the batch was already sorted).
struct Packed {
  torch::Tensor data, batchSizes, sortedIndices, unsortedIndices;
};

// The steps of a packed batch (lstm_packed.cc, gru_rnn_packed.cc): batch sizes (non-increasing)
// and the first packed row of each step.
struct PackedSteps {
  std::vector<int64_t> sizes, offsets;
  explicit PackedSteps(const torch::Tensor& batchSizes) {
    const torch::Tensor bs = batchSizes.to(torch::kCPU, torch::kLong).contiguous();
    const int64_t* p = bs.data_ptr<int64_t>();
    int64_t offset = 0;
    for (int64_t t = 0; t < bs.numel(); t++) {
      if (p[t] <= 0 || (t > 0 && p[t] > p[t - 1])) throw std::invalid_argument("batch sizes must be positive and non-increasing");
      sizes.push_back(p[t]), offsets.push_back(offset);
      offset += p[t];
    }
  }
  int64_t count() const { return static_cast<int64_t>(sizes.size()); }
  int64_t rows() const { return sizes.empty() ? 0 : offsets.back() + sizes.back(); }
  // Packed row of each sequence's last step (sequence b's last step is the last t with
  // sizes[t] > b): where hN and cN are read.
  torch::Tensor LastRows() const {
    std::vector<int64_t> idx(sizes.empty() ? 0 : sizes[0]);
    for (int64_t t = 0; t < count(); t++) {
      for (int64_t b = t + 1 < count() ? sizes[t + 1] : 0; b < sizes[t]; b++) idx[b] = offsets[t] + b;
    }
    return torch::tensor(idx, torch::kLong);
  }
  // For the reverse direction: the packed row of each row's time-reversed position, (t, b) <->
  // (L_b - 1 - t, b) with L_b sequence b's length. Reversing every sequence keeps the batch
  // sizes, and the map is its own inverse.
  torch::Tensor ReversedRows() const {
    std::vector<int64_t> length(sizes.empty() ? 0 : sizes[0]), idx(rows());
    for (int64_t t = 0; t < count(); t++) {
      for (int64_t b = 0; b < sizes[t]; b++) length[b] = t + 1;
    }
    for (int64_t t = 0; t < count(); t++) {
      for (int64_t b = 0; b < sizes[t]; b++) idx[offsets[t] + b] = offsets[length[b] - 1 - t] + b;
    }
    return torch::tensor(idx, torch::kLong);
  }
  // Each packed row's previous state, in packed row order [N, U]: h0's rows for step 0, then
  // each step's prefix of the previous step's output rows (the weight gradient of W_hh).
  torch::Tensor PreviousStates(const torch::Tensor& h0, const torch::Tensor& out) const {
    std::vector<torch::Tensor> prev{h0.narrow(0, 0, sizes[0])};
    for (int64_t t = 1; t < count(); t++) prev.push_back(out.narrow(0, offsets[t - 1], sizes[t]));
    return torch::cat(prev, 0);
  }
};

// A batch whose [B, T] mask (processing order, non-zero where a step counts) is post-padded in
// every row (its counted steps first, then only masked ones) as packed sequences: the rows with
// at least one step sorted by length (longest first, ties in batch order), so that step t's
// rows are a prefix of the sorted batch (what the packed layers run). The tfjs backend's masked
// layers run such batches this way in inference: no matmul or gate pass for a masked row.
// nullopt for any other mask (a hole, leading masked steps).
struct PostPadded {
  torch::Tensor order;        // [nonEmpty] int64: the batch rows with a step, sorted
  torch::Tensor batchSizes;   // [longest] int64: PackedSteps' batch sizes
  torch::Tensor packRows;     // [N] int64: each packed row's row of x.reshape({B * T, F}), b * T + t
  // [B * T] int64: each (b, t)'s row of cat(packed output [N, U], h0 [B, U]): the packed row of
  // (b, min(t, L_b - 1)) (a masked step repeats the last output, and keeps the state), N + b
  // where b has no step (the state h0 throughout)
  torch::Tensor unpackRows;
  torch::Tensor lastRows;     // [B] int64: the same for each row's last step (the final states)
  static c10::optional<PostPadded> Of(const torch::Tensor& mask);
  bool Empty() const { return order.numel() == 0; }  // no row has a step
  // x [B, T, F] -> the packed rows [N, F]; a state [B, S] -> the sorted rows' [nonEmpty, S]
  torch::Tensor Pack(const torch::Tensor& x) const;
  torch::Tensor Sorted(const torch::Tensor& state) const { return state.index_select(0, order); }
  // From the packed layer's rows `out` [N, S] (empty when Empty()) and the initial state [B, S]:
  // the [B, T, S] sequence, written into `seq`; each row's final state [B, S].
  torch::Tensor Sequence(const torch::Tensor& out, const torch::Tensor& init, const torch::Tensor& seq) const;
  torch::Tensor Last(const torch::Tensor& out, const torch::Tensor& init) const;
};

// One layer and direction k of a packed forward (StackPacked) on rows x in processing order, with
// its initial states (sorted order, [B, U] each; an LSTM's h0 [B, P] with projSize) and weights.
using PackedLayerFn = std::function<LayerResult(const torch::Tensor& x, int64_t k, const std::vector<torch::Tensor>& states0, const torch::Tensor& wih,
                                                const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh)>;

// nn.LSTM / GRU / RNN's forward on a packed input through StackLayers: the initial states
// (h0[, c0], [L*D, B, U] in the batch's own order, undefined for zeros; an LSTM's h0 with
// projSize [L*D, B, P]) permuted into sorted order, as libtorch's packed forward takes them;
// the reverse direction runs the forward layer on every sequence reversed in place (an
// index_select, the same batch sizes) and reverses back; the final states come back in the
// batch's own order. Returns output data [N, D*U] (D*P with projSize), then the states.
std::vector<torch::Tensor> StackPacked(const torch::nn::detail::RNNOptionsBase& o, bool training, const std::vector<torch::Tensor>& weights, const Packed& in,
                                       const PackedSteps& st, std::vector<torch::Tensor> states0, const PackedLayerFn& layer);

// Whether autograd must record a layer: grad mode on and some (defined) input requires grad.
bool NeedsGrad(std::initializer_list<const torch::Tensor*> inputs);
// A custom autograd function's inputs must be defined tensors: a layer without bias gets
// zeros (needing no gradient) the size of w's first dimension.
torch::Tensor BiasOr(const c10::optional<torch::Tensor>& b, const torch::Tensor& w);

// v, or 0 where |v| < kFlushBelow. The fused backward passes apply it to the gradients they carry
// from step to step: over long sequences those decay toward the denormal range, where every x86
// multiply takes a microcode assist (~100 cycles) and matmuls slow down 3-5x (seq 512 here: a
// training step 1.38 s -> 0.44 s when denormals themselves were flushed). Flushing only denormals
// (|v| < FLT_MIN) left tiny normal gate gradients whose products with the recurrent weights are
// denormal: OpenBLAS's second thread, which torchrnn cannot put in flush-to-zero mode, computed
// those slowly. Measured (seq 256, batch 32, hidden 128, 2 layers, backward + Adam, ms per step,
// means of 5 steps): at FLT_MIN 299, 303, 164, then 108-111; at 2^-100 116, 110, 108, 108 (and
// with OpenBLAS on one thread in flush-to-zero mode 152, 145, 143: the same cure). A gradient
// changes only where it is below 2^-100 (7.9e-31), 23 orders of magnitude under float32's
// resolution of any gradient of 1e-7 or more: a parameter's sum of such terms is unchanged.
inline float FlushDenormal(float v) { return std::fabs(v) < kFlushBelow ? 0.f : v; }

// backward(create_graph=True) of a fused layer: the gradients of `outs` (the layer recomputed
// by libtorch's own differentiable implementation on the saved inputs) for the incoming output
// gradients `grads` (undefined ones skipped), with respect to the inputs that require a
// gradient; themselves differentiable. One entry per input (undefined where not needed).
torch::autograd::variable_list ReferenceGrads(const std::vector<torch::Tensor>& inputs, const std::vector<torch::Tensor>& outs,
                                              const torch::autograd::variable_list& grads);

}  // namespace fused
}  // namespace trnn
