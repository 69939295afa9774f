// TorchScript: modules saved by Python (torch.jit.script or trace + save) loaded with
// torch::jit::load and run with their own interpreter. Arguments are converted by the
// forward method's schema, as ops.cc does for operators.
#pragma once
#include "../addon.h"
