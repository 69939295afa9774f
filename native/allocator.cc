#include "allocator.h"

#include "block_cache.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace trnn {

// Why: libtorch's CPU tensors come from malloc (posix_memalign). glibc serves a block of more
// than its mmap threshold (128 KiB, raised dynamically up to 32 MiB as such blocks are freed)
// with a fresh mmap, and gives the top of its heap back to the kernel once more than its trim
// threshold (twice the mmap threshold) is free there. A training step allocates and frees the
// same large buffers every iteration (gates, their gradients, the input projection: 33 MB each
// at batch 32, seq 512, hidden 128), so each iteration the kernel maps them again and zeroes
// every page on first touch: 45,000–54,000 page faults (190–220 MB) per step at seq 512 against
// 3,000–6,000 at seq 128, which made the per-step cost grow with sequence length (issue 25).
// PyTorch's Python process has the same allocator and the same faults.
//
// What: blocks up to kMmapThreshold come from the heap, and up to kTrimThreshold of free memory
// stays at the top of the heap: a loop that allocates what it freed last iteration reuses it
// without faults. Memory a program freed is kept for reuse (RSS stays at its working size
// instead of falling and rising every step); `releaseMemory()` (malloc_trim) gives it back.
// Blocks from 256 KiB on do not come from malloc at all: libtorch's CPU allocator is replaced by
// block_cache.cc's, which keeps them in one process-wide cache (glibc's per-thread arenas kept
// them apart). Not applied when TORCHRNN_MALLOC=default, when the user configured glibc's malloc
// (MALLOC_*_ variables, glibc.malloc.* tunables), or under a sanitizer (its own allocator).
constexpr size_t kMmapThreshold = size_t(256) << 20;
constexpr size_t kTrimThreshold = size_t(512) << 20;

struct MallocPolicy {
  std::string policy = "glibc-default";  // "torchrnn" | "glibc-default" | "user" | "other"
  std::string reason;
  size_t mmapThreshold = 0;  // set by torchrnn (0: glibc's own, dynamic)
  size_t trimThreshold = 0;
};

static MallocPolicy& Policy() {
  static MallocPolicy p;
  return p;
}

static bool UserConfigured(std::string& why) {
  for (const char* v : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_", "MALLOC_ARENA_MAX"}) {
    if (std::getenv(v) != nullptr) {
      why = std::string(v) + " is set";
      return true;
    }
  }
  const char* t = std::getenv("GLIBC_TUNABLES");
  if (t != nullptr && std::strstr(t, "glibc.malloc.") != nullptr) {
    why = "GLIBC_TUNABLES sets glibc.malloc tunables";
    return true;
  }
  return false;
}

static void ApplyPolicy() {
  static std::once_flag once;
  std::call_once(once, [] {
    MallocPolicy& p = Policy();
#if !defined(__GLIBC__)
    p.policy = "other";
    p.reason = "not glibc";
#elif defined(__SANITIZE_ADDRESS__)
    p.policy = "other";
    p.reason = "sanitizer build (the sanitizer's allocator)";
#else
    const char* env = std::getenv("TORCHRNN_MALLOC");
    std::string why;
    if (env != nullptr && std::string(env) == "default") {
      p.reason = "TORCHRNN_MALLOC=default";
    } else if (UserConfigured(why)) {
      p.policy = "user";
      p.reason = why;
    } else if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThreshold)) == 1 &&
               mallopt(M_TRIM_THRESHOLD, static_cast<int>(kTrimThreshold)) == 1) {
      p.policy = "torchrnn";
      p.mmapThreshold = kMmapThreshold;
      p.trimThreshold = kTrimThreshold;
      InstallBlockCache();
    } else {
      p.reason = "mallopt refused the thresholds";
    }
#endif
  });
}

// mallocPolicy() -> { policy, reason, mmapThreshold, trimThreshold }
static Napi::Value GetMallocPolicy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const MallocPolicy& p = Policy();
  Napi::Object out = Napi::Object::New(env);
  out.Set("policy", Napi::String::New(env, p.policy));
  out.Set("reason", Napi::String::New(env, p.reason));
  out.Set("mmapThreshold", Napi::Number::New(env, static_cast<double>(p.mmapThreshold)));
  out.Set("trimThreshold", Napi::Number::New(env, static_cast<double>(p.trimThreshold)));
  const BlockCacheStats c = GetBlockCacheStats();
  Napi::Object cache = Napi::Object::New(env);
  cache.Set("enabled", Napi::Boolean::New(env, c.installed));
  cache.Set("threshold", Napi::Number::New(env, static_cast<double>(c.threshold)));
  cache.Set("hits", Napi::Number::New(env, static_cast<double>(c.hits)));
  cache.Set("misses", Napi::Number::New(env, static_cast<double>(c.misses)));
  cache.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(c.cachedBytes)));
  cache.Set("liveBytes", Napi::Number::New(env, static_cast<double>(c.liveBytes)));
  out.Set("largeBlocks", cache);
  return out;
}

// releaseMemory() -> whether memory went back to the kernel: the cached large blocks, then
// malloc_trim(0), which returns the free top of every arena and the free pages inside them.
static Napi::Value ReleaseMemory(const Napi::CallbackInfo& info) {
  const bool blocks = ReleaseBlockCache() > 0;
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
  const bool trimmed = malloc_trim(0) == 1;
  return Napi::Boolean::New(info.Env(), blocks || trimmed);
#else
  return Napi::Boolean::New(info.Env(), blocks);
#endif
}

void InitMalloc(Napi::Env env, Napi::Object exports) {
  ApplyPolicy();
  Export<GetMallocPolicy>(env, exports, "mallocPolicy");
  Export<ReleaseMemory>(env, exports, "releaseMemory");
}

}  // namespace trnn
