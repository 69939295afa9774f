// Built-in modules (RNN, LSTM, GRU, cells, Linear, Embedding, Dropout, LayerNorm) wrap
// libtorch's own torch::nn modules, so their parameter names are PyTorch's and CUDA builds
// get cuDNN kernels. A ModuleHandle owns one module and a forward function that maps
// positional tensors (undefined = not given) to a flat list of output tensors; lib/nn puts
// the outputs back into PyTorch's nesting.
// Thread rules: forward may run on the executor thread; the handle keeps the module alive
// (shared_ptr) for as long as a queued job needs it.
#pragma once
#include "../addon.h"

namespace trnn {

using Tensors = std::vector<torch::Tensor>;
using ForwardFn = std::function<Tensors(const Tensors&)>;

class ModuleHandle : public Napi::ObjectWrap<ModuleHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Object New(Napi::Env env, std::shared_ptr<torch::nn::Module> module, ForwardFn forward);
  static ModuleHandle* Get(const Napi::Value& v);

  explicit ModuleHandle(const Napi::CallbackInfo& info);

  std::shared_ptr<torch::nn::Module> module;
  ForwardFn forward;
};

// Arrays of handles (null/undefined entries become undefined tensors) and back.
Tensors TensorsFrom(const Napi::Value& v);
Napi::Array TensorsTo(Napi::Env env, const Tensors& ts);

void InitRnn(Napi::Env env, Napi::Object exports);
void InitLayers(Napi::Env env, Napi::Object exports);

}  // namespace trnn
