// The project's own CPU kernels: fused LSTM, GRU and RNN layers (one matmul and one vectorized
// gate pass per step, their own backpropagation through time), registered with libtorch's
// dispatcher as the operators torchrnn::lstm_layer, lstm_layer_packed, lstm_proj_layer,
// lstm_proj_layer_packed (nn.LSTM with projSize: one more small matmul per step), gru_layer,
// gru_layer_packed, rnn_layer and rnn_layer_packed. They are taken only where they apply
// (float32 CPU, no autocast; dropout between layers in training mode is libtorch's at::dropout
// between the fused layers, the same mask as libtorch's); everywhere else the callers run
// libtorch's own modules, and torch.backends.fusedRnn.enabled = false turns them off
// process-wide. Tested against libtorch's implementation and PyTorch's numbers (test/30.nn.rnn,
// test/36's fuzzer).
//
// This header is the kernels' public surface: native/nn/rnn.cc (nn.LSTM / GRU / RNN) and
// native/tfjs/rnn.cc (the TensorFlow.js backend's recurrent layers) include it and nothing else
// from this directory.
//
//   namespace fused            the fusedRnn flag, Register(), KernelVariant(); common.h: what
//                              the layers share (StackLayers, Fusable, ReferenceGrads, ...)
//   namespace fused::lstm      lstm.h: the LSTM recurrence on buffers (with an optional output
//                              projection) and nn.LSTM's layer; lstm_packed.h: nn.LSTM on packed
//                              sequences; lstm_proj.h: the layers with projSize (w_hr)
//   namespace fused::gru_rnn   gru_rnn.h: nn.GRU and nn.RNN
//   namespace fused::gate_kernels  gate_kernels.h: one step's gate math forward and backward
//                              (libtorch's cells, tfjs's GRU; any of tfjs's activations; masked
//                              rows), AVX2+FMA or baseline
//
// Threads: whichever thread runs the module (the JS thread or the executor).
#pragma once
#include "common.h"
#include "gate_kernels.h"
#include "gru_rnn.h"
#include "lstm.h"
#include "lstm_packed.h"
#include "lstm_proj.h"

namespace trnn {
namespace fused {

// Registers the operators with libtorch's dispatcher (once per process; when the addon loads).
inline void Register() {
  lstm::Register();
  lstm::RegisterPacked();
  lstm::RegisterProj();
  gru_rnn::Register();
  gru_rnn::RegisterPacked();
}

// The gate kernels' instruction set: "avx2+fma" or "baseline".
inline const char* KernelVariant() { return gate_kernels::Variant(); }

}  // namespace fused
}  // namespace trnn
