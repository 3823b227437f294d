//===- BufferCacheTest.cpp - reused buffers for generated CPU code --------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/BufferCache.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace mlir::haqa;

namespace {

/// Each test starts from an empty cache with the default bound.
class BufferCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    setBufferCacheLimit(uint64_t(1) << 30);
    trimBufferCache();
  }
  void TearDown() override { setBufferCacheLimit(uint64_t(1) << 30); }
};

TEST_F(BufferCacheTest, AlignsAndReusesAFreedBufferOfTheSameClass) {
  BufferCacheStats before = getBufferCacheStats();
  void *a = bufferCacheAlloc(64, 1 << 20);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  std::memset(a, 1, 1 << 20); // the whole size is writable
  bufferCacheFree(a);
  EXPECT_EQ(getBufferCacheStats().idleBytes, uint64_t(1) << 20);
  // A slightly smaller request falls in the same class (8 per power of two).
  void *b = bufferCacheAlloc(64, (1 << 20) - 1000);
  EXPECT_EQ(a, b);
  BufferCacheStats after = getBufferCacheStats();
  EXPECT_EQ(after.allocations - before.allocations, 2u);
  EXPECT_EQ(after.reused - before.reused, 1u);
  EXPECT_EQ(after.idleBytes, 0u);
  bufferCacheFree(b);
}

TEST_F(BufferCacheTest, DifferentClassesAndAlignmentsAreNotMixed) {
  void *a = bufferCacheAlloc(64, 4096);
  bufferCacheFree(a);
  void *b = bufferCacheAlloc(64, 8192); // another size class
  EXPECT_NE(a, b);
  void *c = bufferCacheAlloc(4096, 4096); // another alignment
  EXPECT_NE(a, c);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c) % 4096, 0u);
  bufferCacheFree(b);
  bufferCacheFree(c);
  EXPECT_EQ(bufferCacheAlloc(3, 16), nullptr); // not a power of two
  bufferCacheFree(nullptr);                    // ignored
}

TEST_F(BufferCacheTest, IdleBytesStayUnderTheLimit) {
  setBufferCacheLimit(3 << 20);
  void *p[4];
  for (void *&q : p)
    q = bufferCacheAlloc(64, 1 << 20);
  for (void *q : p)
    bufferCacheFree(q);
  // The fourth went back to the system.
  EXPECT_EQ(getBufferCacheStats().idleBytes, uint64_t(3) << 20);
  setBufferCacheLimit(1 << 20);
  EXPECT_EQ(getBufferCacheStats().idleBytes, uint64_t(1) << 20);
  trimBufferCache();
  EXPECT_EQ(getBufferCacheStats().idleBytes, 0u);
  // A limit of 0 keeps nothing.
  setBufferCacheLimit(0);
  bufferCacheFree(bufferCacheAlloc(64, 100));
  EXPECT_EQ(getBufferCacheStats().idleBytes, 0u);
}

TEST_F(BufferCacheTest, GeneratedCodeFindsTheGenericFunctions) {
  std::vector<BufferCacheSymbol> symbols = getBufferCacheSymbols();
  ASSERT_EQ(symbols.size(), 3u);
  EXPECT_STREQ(symbols[0].name, "_mlir_memref_to_llvm_alloc");
  EXPECT_STREQ(symbols[1].name, "_mlir_memref_to_llvm_aligned_alloc");
  EXPECT_STREQ(symbols[2].name, "_mlir_memref_to_llvm_free");
  auto alloc = reinterpret_cast<void *(*)(uint64_t)>(symbols[0].address);
  auto alignedAlloc =
      reinterpret_cast<void *(*)(uint64_t, uint64_t)>(symbols[1].address);
  auto release = reinterpret_cast<void (*)(void *)>(symbols[2].address);
  void *a = alloc(100);
  void *b = alignedAlloc(128, 100);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 128, 0u);
  release(a);
  release(b);
  EXPECT_EQ(alloc(90), a);
}

} // namespace
