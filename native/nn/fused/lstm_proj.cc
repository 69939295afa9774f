#include "lstm_proj.h"

#include "lstm.h"
#include "lstm_packed.h"

namespace trnn {
namespace fused {
namespace lstm {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

struct LstmProjLayerBackward : public torch::autograd::Function<LstmProjLayerBackward> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0,
                               const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bih, const torch::Tensor& bhh,
                               const torch::Tensor& whr) {
    return LayerForwardSaving(ctx, {x, h0, c0, wih, whh, bih, bhh, whr});
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) { return LayerBackwardSaved(ctx, grads); }
};

struct LstmProjPackedLayerBackward : public torch::autograd::Function<LstmProjPackedLayerBackward> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0,
                               const torch::Tensor& c0, const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bih,
                               const torch::Tensor& bhh, const torch::Tensor& whr) {
    return PackedForwardSaving(ctx, batchSizes, {data, h0, c0, wih, whh, bih, bhh, whr});
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) { return PackedBackwardSaved(ctx, grads); }
};

// The operators' kernels: CPU (no autograd: inference) and Autograd.
Triple ProjNoGrad(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih, const torch::Tensor& whh,
                  const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr) {
  return LayerForwardNoGrad(x, h0, c0, wih, whh, bih, bhh, whr);
}
Triple ProjAutograd(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih, const torch::Tensor& whh,
                    const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr) {
  return LayerAutogradWith<LstmProjLayerBackward>(x, h0, c0, wih, whh, bih, bhh, whr);
}
Triple ProjPackedNoGrad(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                        const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr) {
  return PackedForwardNoGrad(data, batchSizes, h0, c0, wih, whh, bih, bhh, whr);
}
Triple ProjPackedAutograd(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                          const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr) {
  return PackedAutogradWith<LstmProjPackedLayerBackward>(data, batchSizes, h0, c0, wih, whh, bih, bhh, whr);
}

}  // namespace

Triple ProjLayer(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0, const torch::Tensor& wih, const torch::Tensor& whh,
                 const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchrnn::lstm_proj_layer", "").typed<
      Triple(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const OptTensor&,
             const OptTensor&, const torch::Tensor&)>();
  return op.call(x, h0, c0, wih, whh, bih, bhh, whr);
}

Triple ProjPackedLayer(const torch::Tensor& data, const torch::Tensor& batchSizes, const torch::Tensor& h0, const torch::Tensor& c0,
                       const torch::Tensor& wih, const torch::Tensor& whh, const OptTensor& bih, const OptTensor& bhh, const torch::Tensor& whr) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("torchrnn::lstm_proj_layer_packed", "").typed<
      Triple(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
             const OptTensor&, const OptTensor&, const torch::Tensor&)>();
  return op.call(data, batchSizes, h0, c0, wih, whh, bih, bhh, whr);
}

// Registered when the addon loads, as torchrnn::lstm_layer is (lstm.cc says why).
void RegisterProj() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (c10::Dispatcher::singleton().findSchema({"torchrnn::lstm_proj_layer", ""}).has_value()) return;
    static torch::Library def(torch::Library::FRAGMENT, "torchrnn", c10::nullopt, __FILE__, __LINE__);
    def.def("lstm_proj_layer(Tensor input, Tensor h0, Tensor c0, Tensor w_ih, Tensor w_hh, Tensor? b_ih, Tensor? b_hh, Tensor w_hr) "
            "-> (Tensor, Tensor, Tensor)");
    def.def("lstm_proj_layer_packed(Tensor data, Tensor batch_sizes, Tensor h0, Tensor c0, Tensor w_ih, Tensor w_hh, Tensor? b_ih, "
            "Tensor? b_hh, Tensor w_hr) -> (Tensor, Tensor, Tensor)");
    static torch::Library cpu(torch::Library::IMPL, "torchrnn", c10::DispatchKey::CPU, __FILE__, __LINE__);
    cpu.impl("lstm_proj_layer", ProjNoGrad);
    cpu.impl("lstm_proj_layer_packed", ProjPackedNoGrad);
    static torch::Library autograd(torch::Library::IMPL, "torchrnn", c10::DispatchKey::Autograd, __FILE__, __LINE__);
    autograd.impl("lstm_proj_layer", ProjAutograd);
    autograd.impl("lstm_proj_layer_packed", ProjPackedAutograd);
  });
}

}  // namespace lstm
}  // namespace fused
}  // namespace trnn
