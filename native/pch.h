// Precompiled header: <torch/torch.h> takes 30-50 s to parse, so every translation unit
// includes this first and CMake compiles it once (target_precompile_headers).
#pragma once
#include <torch/torch.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/flat_hash_map.h>
#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>
