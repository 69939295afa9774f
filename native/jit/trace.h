// Tracing: libtorch's tracer (what torch.jit.trace uses) records a forward written in
// TypeScript while it runs once on the JS thread. Every tensor the forward reads that is not
// a graph input becomes a constant, so a module's parameters are passed as inputs and stay
// trainable. The recorded graph runs on the executor with autograd, as eager code would.
#pragma once
#include "../addon.h"

namespace torch::jit {
struct GraphFunction;
}

namespace trnn {

class TracedHandle : public Napi::ObjectWrap<TracedHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static TracedHandle* Get(const Napi::Value& v);
  explicit TracedHandle(const Napi::CallbackInfo& info);
  std::shared_ptr<torch::jit::GraphFunction> fn;
  size_t numInputs = 0;
  bool tupledOutputs = false;  // the trace's several outputs were packed into the graph's one tuple output (trace.cc)
};

// Runs a traced graph: inputs in graph order, outputs flattened. Any thread.
std::vector<torch::Tensor> RunGraph(torch::jit::GraphFunction& fn, const std::vector<torch::Tensor>& inputs);

void InitJit(Napi::Env env, Napi::Object exports);

}  // namespace trnn
