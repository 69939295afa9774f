#include "block_cache.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "compat.h"

namespace trnn {

// Why: glibc malloc gives each thread that allocates its own arena, and a freed block goes back
// to the arena it came from. torchrnn allocates tensors on several threads (the JS thread, the
// executor, the row helper), so the large buffers of a training step sit in two or three arenas,
// each keeping its own free space: measured at batch 32, seq 512, hidden 128, peak RSS over idle
// +262 MB against PyTorch's +245 MB (one thread, one arena), and +189 MB when a single arena was
// forced (glibc.malloc.arena_max=1). mallopt(M_ARENA_MAX) after start-up does not take effect on
// Debian 13's glibc, and the tunable cannot be set from inside the process.
//
// What: libtorch's CPU allocator is replaced by this one. Blocks under kLargeBlockMin go to the
// allocator it replaced (glibc malloc, through libtorch's own default). Larger blocks are mapped
// by the page, and a freed one is kept in one process-wide list: an allocation of the same size
// (or up to 1/8 larger) takes the most recently freed match, with no fault and no syscall. On a
// miss, cached blocks are unmapped, oldest first, until the blocks in use, the cache and the new
// block together fit in 9/8 of the most ever in use at once, and only then is the new block
// mapped. So the large blocks' resident memory stays within 9/8 of their peak in use, whatever
// thread frees them. (With exactly the peak, a training loop kept missing: blocks of sizes that
// are not in use at the same time cannot stand in for each other. Measured at batch 32, seq 512:
// 4 misses per step at 1, none after the first step at 9/8, the same peak RSS.)
// releaseMemory() unmaps every cached block.

namespace {

constexpr size_t kMaxCachedBlocks = 4096;

size_t PageRound(size_t n) {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

struct Block {
  void* ptr;
  size_t size;
};

void FreeLarge(void* ptr);
void FreeAny(void* ptr);

class CachingCpuAllocator final : public c10::Allocator {
 public:
#if TORCHRNN_TORCH_AT_LEAST(2, 3)
  c10::DataPtr allocate(size_t n) override { return Allocate(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#else
  c10::DataPtr allocate(size_t n) const override { return Allocate(n); }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return &FreeAny; }

  c10::Allocator* prev = nullptr;  // the allocator replaced: serves small blocks

  c10::DataPtr Allocate(size_t n) const {
    const size_t size = PageRound(n);
    if (n < kLargeBlockMin || size < n) return prev->allocate(n);  // small, or no page count fits
    std::vector<Block> victims;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto best = free_.end();
      for (auto it = free_.end(); it != free_.begin();) {
        --it;  // most recently freed first
        if (it->size >= size && it->size - size <= size / 8 && (best == free_.end() || it->size < best->size)) {
          best = it;
          if (it->size == size) break;
        }
      }
      if (best != free_.end()) {
        Block b = *best;
        free_.erase(best);
        cached_ -= b.size;
        live_.emplace(b.ptr, b.size);
        liveBytes_ += b.size;
        ++hits_;
        return {b.ptr, b.ptr, &FreeLarge, c10::Device(c10::DeviceType::CPU)};
      }
      ++misses_;
      peakLive_ = std::max(peakLive_, liveBytes_ + size);
      const size_t budget = peakLive_ + peakLive_ / 8;
      while (liveBytes_ + cached_ + size > budget && !free_.empty()) {
        victims.push_back(free_.front());
        cached_ -= free_.front().size;
        free_.pop_front();
      }
    }
    for (const Block& b : victims) munmap(b.ptr, b.size);
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      Release();
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    // still no memory: the replaced allocator tries, and refuses with libtorch's own message
    if (p == MAP_FAILED) return prev->allocate(n);
    std::lock_guard<std::mutex> lock(mu_);
    live_.emplace(p, size);
    liveBytes_ += size;
    return {p, p, &FreeLarge, c10::Device(c10::DeviceType::CPU)};
  }

  // Returns false when ptr is not a large block of this allocator.
  bool Free(void* ptr) const {
    Block evict{nullptr, 0};
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = live_.find(ptr);
      if (it == live_.end()) return false;
      free_.push_back({ptr, it->second});
      cached_ += it->second;
      liveBytes_ -= it->second;
      live_.erase(it);
      if (free_.size() > kMaxCachedBlocks) {
        evict = free_.front();
        cached_ -= evict.size;
        free_.pop_front();
      }
    }
    if (evict.ptr != nullptr) munmap(evict.ptr, evict.size);
    return true;
  }

  size_t Release() const {
    std::list<Block> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      all.swap(free_);
      cached_ = 0;
    }
    size_t bytes = 0;
    for (const Block& b : all) {
      munmap(b.ptr, b.size);
      bytes += b.size;
    }
    return bytes;
  }

  BlockCacheStats Stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    BlockCacheStats s;
    s.hits = hits_;
    s.misses = misses_;
    s.cachedBytes = cached_;
    s.liveBytes = liveBytes_;
    return s;
  }

 private:
  // allocate() is const on libtorch 1.13: the cache is state behind that interface.
  mutable std::mutex mu_;
  mutable std::list<Block> free_;  // oldest first
  mutable std::unordered_map<void*, size_t> live_;
  mutable size_t cached_ = 0, liveBytes_ = 0, peakLive_ = 0;
  mutable uint64_t hits_ = 0, misses_ = 0;
};

// Never destroyed: tensors may be freed during process exit, after static destructors ran.
CachingCpuAllocator& Instance() {
  static auto* a = new CachingCpuAllocator();
  return *a;
}

bool& Installed() {
  static bool installed = false;
  return installed;
}

void FreeLarge(void* ptr) { Instance().Free(ptr); }

void FreeAny(void* ptr) {
  if (Instance().Free(ptr)) return;
  c10::DeleterFnPtr d = Instance().prev->raw_deleter();
  TORCH_INTERNAL_ASSERT(d != nullptr, "CPU allocator: the replaced allocator has no raw deleter");
  d(ptr);
}

}  // namespace

void InstallBlockCache() {
  static std::once_flag once;
  std::call_once(once, [] {
    CachingCpuAllocator& a = Instance();
    a.prev = c10::GetCPUAllocator();
    c10::SetCPUAllocator(&a, /*priority=*/0);
    Installed() = c10::GetCPUAllocator() == &a;
  });
}

BlockCacheStats GetBlockCacheStats() {
  BlockCacheStats s = Installed() ? Instance().Stats() : BlockCacheStats{};
  s.installed = Installed();
  s.threshold = Installed() ? kLargeBlockMin : 0;
  return s;
}

size_t ReleaseBlockCache() { return Installed() ? Instance().Release() : 0; }

}  // namespace trnn
