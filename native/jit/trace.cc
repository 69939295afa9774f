#include "trace.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include "../executor.h"
#include "../nn/module.h"
#include "../tensor.h"

namespace trnn {

void TracedHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "TracedHandle", {});
  Data(env).tracedCtor = Napi::Persistent(ctor);
  exports.Set("TracedHandle", ctor);
}

TracedHandle::TracedHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TracedHandle>(info) {}

TracedHandle* TracedHandle::Get(const Napi::Value& v) {
  TracedHandle* h = UnwrapAs<TracedHandle>(v, Data(v.Env()).tracedCtor);
  if (h == nullptr || !h->fn) throw InvalidHandle(v, "a traced graph handle", "traced", h != nullptr, "a released graph");
  return h;
}

std::vector<torch::Tensor> RunGraph(torch::jit::GraphFunction& fn, const std::vector<torch::Tensor>& inputs) {
  torch::jit::Stack stack(inputs.begin(), inputs.end());
  fn.run(stack);
  std::vector<torch::Tensor> out;
  for (auto& v : stack) {
    if (v.isTensor()) out.push_back(v.toTensor());
    else if (v.isTuple()) for (auto& e : v.toTupleRef().elements()) out.push_back(e.toTensor());
    else if (v.isTensorList()) for (const auto& t : v.toTensorVector()) out.push_back(t);
  }
  return out;
}

// trace(inputs, fn): runs fn() once under the tracer, with `inputs` (parameters first, then
// the example inputs) as the graph's inputs; fn returns the output handles, flattened.
static Napi::Value Trace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Tensors inputs = TensorsFrom(info[0]);
  Napi::Function fn = info[1].As<Napi::Function>();
  torch::jit::Stack stack(inputs.begin(), inputs.end());
  auto traced = torch::jit::tracer::trace(
      stack,
      [&](torch::jit::Stack) {
        Napi::Value out = fn.Call({});
        torch::jit::Stack outs;
        for (const auto& t : TensorsFrom(out)) outs.emplace_back(t);
        return outs;
      },
      [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/false);
  auto graph = traced.first->graph;
  // A function's graph has one output (libtorch refuses to run one with several: "Method ...
  // require a single output"): several become one tuple, which RunGraph takes apart again.
  const bool tupled = graph->outputs().size() != 1;
  if (tupled) {
    std::vector<torch::jit::Value*> outs(graph->outputs().begin(), graph->outputs().end());
    while (!graph->outputs().empty()) graph->eraseOutput(0);
    graph->registerOutput(graph->insertNode(graph->createTuple(outs))->output());
  }
  Napi::Object obj = Data(env).tracedCtor.New({});
  TracedHandle* h = TracedHandle::Unwrap(obj);
  h->tupledOutputs = tupled;
  // SIMPLE: run the recorded ops as they are (no profiling or fusion passes), so forward and
  // backward give eager mode's numbers.
  h->fn = std::make_shared<torch::jit::GraphFunction>("forward", graph, nullptr, torch::jit::ExecutorExecutionMode::SIMPLE);
  h->numInputs = inputs.size();
  return obj;
}

static Napi::Value GraphString(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TracedHandle::Get(info[0])->fn->graph()->toString());
}

static Napi::Value Run(const Napi::CallbackInfo& info) {
  return TensorsTo(info.Env(), RunGraph(*TracedHandle::Get(info[0])->fn, TensorsFrom(info[1])));
}

static Napi::Value RunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TracedHandle* h = TracedHandle::Get(info[0]);
  auto fn = h->fn;
  Tensors inputs = TensorsFrom(info[1]);
  auto out = std::make_shared<Tensors>();
  return Data(env).GetExecutor(env).Submit(
      env,
      [fn, inputs, out] { *out = RunGraph(*fn, inputs); },
      [out](Napi::Env env) { return TensorsTo(env, *out); });
}

void InitJit(Napi::Env env, Napi::Object exports) {
  TracedHandle::Init(env, exports);
  ExportOrdered<Trace>(env, exports, "trace");
  Export<GraphString>(env, exports, "tracedGraph");
  ExportOrdered<Run>(env, exports, "tracedRun");
  Export<RunAsync>(env, exports, "tracedRunAsync");
}

}  // namespace trnn
