// The C allocator's policy for large blocks (glibc malloc), set once per process when the addon
// loads, and giving freed memory back on request. See allocator.cc for what and why.
#pragma once
#include "addon.h"

namespace trnn {

void InitMalloc(Napi::Env env, Napi::Object exports);

}  // namespace trnn
