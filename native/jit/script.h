// TorchScript: modules saved by Python (torch.jit.script or trace + save) loaded with
// torch::jit::load and run with their own interpreter. Arguments are converted by the
// forward method's schema, as ops.cc does for operators.
#pragma once
#include "../addon.h"

namespace torch::jit {
struct Module;
}

namespace trnn {

struct ScriptModule;

// A new ScriptHandle object (lib's ScriptModule wraps it) that owns `module`.
Napi::Object NewScriptHandle(Napi::Env env, torch::jit::Module module);

}  // namespace trnn
