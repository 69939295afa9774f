// libtorch's CPU allocator with a process-wide cache of large blocks (see block_cache.cc): the
// large tensors a loop frees and allocates again each iteration are reused whichever thread
// frees them, and a miss first gives cached memory back, so resident memory stays at the loop's
// working size.
#pragma once
#include <cstddef>
#include <cstdint>

namespace trnn {

constexpr size_t kLargeBlockMin = size_t(256) << 10;  // blocks from this size on are cached

struct BlockCacheStats {
  bool installed = false;
  size_t threshold = 0;
  uint64_t hits = 0, misses = 0;  // large allocations served from the cache / newly mapped
  size_t cachedBytes = 0;         // free blocks kept for reuse
  size_t liveBytes = 0;           // large blocks in use
};

// Installs the allocator as libtorch's CPU allocator (once per process; later calls do nothing).
void InstallBlockCache();
BlockCacheStats GetBlockCacheStats();
// Unmaps every cached block; returns the bytes given back.
size_t ReleaseBlockCache();

}  // namespace trnn
