//===- BufferCache.h - reused buffers for generated CPU code ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The allocation functions generated CPU code calls (`memref.alloc` and
// `memref.dealloc` lowered with finalize-memref-to-llvm's generic functions:
// `_mlir_memref_to_llvm_alloc`, `_mlir_memref_to_llvm_aligned_alloc`,
// `_mlir_memref_to_llvm_free`). A model step allocates its intermediate
// tensors and frees them when it ends; with plain malloc every buffer above
// glibc's mmap threshold was mapped, page-faulted and unmapped again on every
// step (a third of a SmolLM2 prefill). Here a freed buffer is kept on a free
// list of its size class and handed out again, up to a bound on the idle
// bytes kept.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_BUFFERCACHE_H
#define HAQA_RUNTIME_BUFFERCACHE_H

#include <cstdint>
#include <vector>

namespace mlir::haqa {

/// `size` bytes aligned to at least 64 (and to `alignment`, a power of two or
/// 0), from the cache's free list of the size's class or, when it is empty,
/// from the system. Null when the alignment is no power of two or the system
/// has no memory left.
void *bufferCacheAlloc(uint64_t alignment, uint64_t size);
/// Returns a buffer of bufferCacheAlloc to its free list, or to the system
/// when the idle bytes would pass the bound. Null is ignored.
void bufferCacheFree(void *ptr);

struct BufferCacheStats {
  uint64_t allocations = 0; ///< bufferCacheAlloc calls
  uint64_t reused = 0;      ///< of them, served from a free list
  uint64_t idleBytes = 0;   ///< bytes on the free lists now
  uint64_t limitBytes = 0;  ///< the bound on idleBytes
};
BufferCacheStats getBufferCacheStats();
/// Hands every idle buffer back to the system.
void trimBufferCache();
/// Sets the bound on idle bytes (trimming down to it); the default is 1 GiB
/// (haqa-plan-memory's runtime allowance, 256 MiB, does not count these
/// idle buffers yet), or HAQA_BUFFER_CACHE_MIB from the environment (0
/// disables the cache).
void setBufferCacheLimit(uint64_t bytes);

/// The generic allocation functions by the names generated code calls.
struct BufferCacheSymbol {
  const char *name;
  void *address;
};
std::vector<BufferCacheSymbol> getBufferCacheSymbols();

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_BUFFERCACHE_H
