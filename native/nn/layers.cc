#include "layers.h"

namespace trnn {

// createLinear(inFeatures, outFeatures, bias)
static Napi::Value CreateLinear(const Napi::CallbackInfo& info) {
  torch::nn::Linear m(torch::nn::LinearOptions(info[0].As<Napi::Number>().Int64Value(), info[1].As<Napi::Number>().Int64Value())
                          .bias(info[2].As<Napi::Boolean>().Value()));
  return ModuleHandle::New(info.Env(), m.ptr(), [m](const Tensors& a) mutable { return Tensors{m->forward(a[0])}; });
}

// createEmbedding(numEmbeddings, embeddingDim, paddingIdx | null)
static Napi::Value CreateEmbedding(const Napi::CallbackInfo& info) {
  torch::nn::EmbeddingOptions o(info[0].As<Napi::Number>().Int64Value(), info[1].As<Napi::Number>().Int64Value());
  if (info[2].IsNumber()) o.padding_idx(info[2].As<Napi::Number>().Int64Value());
  torch::nn::Embedding m(o);
  return ModuleHandle::New(info.Env(), m.ptr(), [m](const Tensors& a) mutable { return Tensors{m->forward(a[0])}; });
}

// createDropout(p): active in training mode only (module.train()/eval()).
static Napi::Value CreateDropout(const Napi::CallbackInfo& info) {
  torch::nn::Dropout m(torch::nn::DropoutOptions(info[0].As<Napi::Number>().DoubleValue()));
  return ModuleHandle::New(info.Env(), m.ptr(), [m](const Tensors& a) mutable { return Tensors{m->forward(a[0])}; });
}

// createLayerNorm(normalizedShape, eps, elementwiseAffine)
static Napi::Value CreateLayerNorm(const Napi::CallbackInfo& info) {
  Napi::Array shape = info[0].As<Napi::Array>();
  std::vector<int64_t> s(shape.Length());
  for (uint32_t i = 0; i < shape.Length(); i++) s[i] = shape.Get(i).As<Napi::Number>().Int64Value();
  torch::nn::LayerNorm m(torch::nn::LayerNormOptions(s).eps(info[1].As<Napi::Number>().DoubleValue())
                             .elementwise_affine(info[2].As<Napi::Boolean>().Value()));
  return ModuleHandle::New(info.Env(), m.ptr(), [m](const Tensors& a) mutable { return Tensors{m->forward(a[0])}; });
}

void InitLayers(Napi::Env env, Napi::Object exports) {
  Export<CreateLinear>(env, exports, "createLinear");
  Export<CreateEmbedding>(env, exports, "createEmbedding");
  Export<CreateDropout>(env, exports, "createDropout");
  Export<CreateLayerNorm>(env, exports, "createLayerNorm");
}

}  // namespace trnn
