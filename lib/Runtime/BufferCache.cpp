//===- BufferCache.cpp - reused buffers for generated CPU code
//-------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/BufferCache.h"

#include "llvm/Support/MathExtras.h"

#include <cstdlib>
#include <mutex>
#include <unordered_map>

using namespace mlir::haqa;

namespace {

/// What sits in the 16 bytes before every pointer handed out.
struct Header {
  void *base;   ///< what std::aligned_alloc returned
  uint64_t key; ///< the free list it goes back to
};

/// Sizes up to 4 KiB in steps of 64 bytes, above that 8 classes per power of
/// two (at most 12.5% unused), so that a prompt of 100 tokens reuses the
/// buffers one of 97 left.
uint64_t classBytes(uint64_t size) {
  if (size <= 4096)
    return llvm::alignTo(std::max<uint64_t>(size, 1), 64);
  uint64_t step = uint64_t(1) << (llvm::Log2_64(size) - 3);
  return llvm::alignTo(size, step);
}

class Cache {
public:
  Cache() {
    if (const char *env = std::getenv("HAQA_BUFFER_CACHE_MIB"))
      limit = std::strtoull(env, nullptr, 10) << 20;
  }

  void *alloc(uint64_t alignment, uint64_t size) {
    // No power of two, or a size no machine has (and whose class would
    // wrap).
    if ((alignment && !llvm::isPowerOf2_64(alignment)) || size > (1ull << 56))
      return nullptr;
    uint64_t align = std::max<uint64_t>(alignment, 64);
    uint64_t bytes = classBytes(size);
    uint64_t key = bytes << 6 | llvm::Log2_64(align);
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++stats.allocations;
      auto it = free.find(key);
      if (it != free.end() && !it->second.empty()) {
        void *ptr = it->second.back();
        it->second.pop_back();
        stats.idleBytes -= bytes;
        ++stats.reused;
        return ptr;
      }
    }
    // The header fits in the alignment padding before the pointer.
    // aligned_alloc wants a multiple of the alignment. Out of memory: the
    // idle buffers go back to the system first.
    uint64_t total = llvm::alignTo(align + bytes, align);
    void *base = std::aligned_alloc(align, total);
    if (!base) {
      trim();
      base = std::aligned_alloc(align, total);
    }
    if (!base)
      return nullptr;
    char *ptr = static_cast<char *>(base) + align;
    *reinterpret_cast<Header *>(ptr - sizeof(Header)) = {base, key};
    return ptr;
  }

  void release(void *ptr) {
    if (!ptr)
      return;
    Header header =
        *reinterpret_cast<Header *>(static_cast<char *>(ptr) - sizeof(Header));
    uint64_t bytes = header.key >> 6;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stats.idleBytes + bytes <= limit) {
        free[header.key].push_back(ptr);
        stats.idleBytes += bytes;
        return;
      }
    }
    std::free(header.base);
  }

  BufferCacheStats getStats() {
    std::lock_guard<std::mutex> lock(mutex);
    BufferCacheStats s = stats;
    s.limitBytes = limit;
    return s;
  }

  void setLimit(uint64_t bytes) {
    std::lock_guard<std::mutex> lock(mutex);
    limit = bytes;
    trimTo(limit);
  }

  void trim() {
    std::lock_guard<std::mutex> lock(mutex);
    trimTo(0);
  }

private:
  /// Frees idle buffers (in no particular order) until at most `bytes` stay.
  void trimTo(uint64_t bytes) {
    for (auto &[key, list] : free)
      while (stats.idleBytes > bytes && !list.empty()) {
        void *ptr = list.back();
        list.pop_back();
        stats.idleBytes -= key >> 6;
        std::free(reinterpret_cast<Header *>(static_cast<char *>(ptr) -
                                             sizeof(Header))
                      ->base);
      }
  }

  std::mutex mutex;
  std::unordered_map<uint64_t, std::vector<void *>> free;
  BufferCacheStats stats;
  // 256 MiB cost the 1.1B model's pp128 13% (its step cycles more than
  // that through the cache).
  uint64_t limit = uint64_t(1) << 30;
};

/// Never destroyed: kernels on other threads may still free into it while
/// the process exits.
Cache &cache() {
  static Cache *c = new Cache();
  return *c;
}

void *haqa_buffer_cache_alloc(uint64_t size) { return cache().alloc(64, size); }
void *haqa_buffer_cache_aligned_alloc(uint64_t alignment, uint64_t size) {
  return cache().alloc(alignment, size);
}
void haqa_buffer_cache_free(void *ptr) { cache().release(ptr); }

} // namespace

void *mlir::haqa::bufferCacheAlloc(uint64_t alignment, uint64_t size) {
  return cache().alloc(alignment, size);
}
void mlir::haqa::bufferCacheFree(void *ptr) { cache().release(ptr); }
BufferCacheStats mlir::haqa::getBufferCacheStats() {
  return cache().getStats();
}
void mlir::haqa::trimBufferCache() { cache().trim(); }
void mlir::haqa::setBufferCacheLimit(uint64_t bytes) {
  cache().setLimit(bytes);
}

std::vector<BufferCacheSymbol> mlir::haqa::getBufferCacheSymbols() {
  return {
      {"_mlir_memref_to_llvm_alloc",
       reinterpret_cast<void *>(&haqa_buffer_cache_alloc)},
      {"_mlir_memref_to_llvm_aligned_alloc",
       reinterpret_cast<void *>(&haqa_buffer_cache_aligned_alloc)},
      {"_mlir_memref_to_llvm_free",
       reinterpret_cast<void *>(&haqa_buffer_cache_free)},
  };
}
