// A caching CPU allocator for libtorch. Training allocates and frees the same activation and gradient sizes
// every step. Through glibc's malloc, those freed blocks were not reused while small native objects waited for
// the JavaScript garbage collector. The resident set then grew by about 1 MB per step of a small LiLNet
// (measured on Node 20, Debian glibc and libtorch 1.13). Freed blocks are kept here in size classes and handed
// out again, so memory stays at the peak working set of a step, and reused blocks need no new page faults.
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace lilnet {
namespace {

// Rounds a request up to its size class: multiples of 64 bytes up to 4 KiB, then eight classes per power of
// two, so a cached block wastes at most 12.5% of its size.
size_t SizeClass(size_t bytes) {
  if (bytes <= 4096) return (bytes + 63) & ~static_cast<size_t>(63);
  size_t power = 4096;
  while (power < bytes) power <<= 1;
  size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(size_t maxCachedBytes) : maxCachedBytes_(maxCachedBytes) {}

  c10::DataPtr allocate(size_t bytes) const override {
    void* data = Allocate(bytes);
    return {data, data, &Deallocate, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Deallocate; }

  static CachingCpuAllocator& Instance() {
    static CachingCpuAllocator* instance = new CachingCpuAllocator(MaxCachedBytesFromEnvironment());
    return *instance;
  }

  // Returns every cached block to the system.
  void EmptyCache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& entry : cache_) {
      for (void* block : entry.second) c10::free_cpu(block);
      entry.second.clear();
    }
    cachedBytes_ = 0;
  }

  size_t CachedBytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cachedBytes_;
  }

 private:
  static size_t MaxCachedBytesFromEnvironment() {
    const char* value = std::getenv("LILNET_TORCH_CACHE_MB");
    long megabytes = value ? std::strtol(value, nullptr, 10) : 4096;
    return megabytes > 0 ? static_cast<size_t>(megabytes) << 20 : 0;
  }

  void* Allocate(size_t bytes) const {
    if (bytes == 0) return nullptr;
    size_t size = SizeClass(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = cache_.find(size);
      if (found != cache_.end() && !found->second.empty()) {
        void* block = found->second.back();
        found->second.pop_back();
        cachedBytes_ -= size;
        sizes_[block] = size;
        return block;
      }
    }
    void* block = c10::alloc_cpu(size);
    std::lock_guard<std::mutex> lock(mutex_);
    sizes_[block] = size;
    return block;
  }

  static void Deallocate(void* block) {
    if (block == nullptr) return;
    Instance().Release(block);
  }

  void Release(void* block) const {
    std::unique_lock<std::mutex> lock(mutex_);
    auto found = sizes_.find(block);
    if (found == sizes_.end()) {
      lock.unlock();
      c10::free_cpu(block);
      return;
    }
    size_t size = found->second;
    sizes_.erase(found);
    if (cachedBytes_ + size > maxCachedBytes_) {
      lock.unlock();
      c10::free_cpu(block);
      return;
    }
    cache_[size].push_back(block);
    cachedBytes_ += size;
  }

  const size_t maxCachedBytes_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<size_t, std::vector<void*>> cache_;
  mutable std::unordered_map<void*, size_t> sizes_;
  mutable size_t cachedBytes_ = 0;
};

}  // namespace

void InstallCachingAllocator() { c10::SetCPUAllocator(&CachingCpuAllocator::Instance(), /*priority=*/100); }

LILNET_FUNCTION(emptyCache) {
  CachingCpuAllocator::Instance().EmptyCache();
  return info.Env().Undefined();
}

LILNET_FUNCTION(cachedBytes) {
  return Napi::Number::New(info.Env(), static_cast<double>(CachingCpuAllocator::Instance().CachedBytes()));
}

void RegisterAllocatorFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("emptyCache", Napi::Function::New(env, emptyCache, "emptyCache"));
  exports.Set("cachedBytes", Napi::Function::New(env, cachedBytes, "cachedBytes"));
}

}  // namespace lilnet
