//===- RuntimeTest.cpp - timing statistics and candidate isolation --------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/Device.h"
#include "haqa/Runtime/Isolate.h"
#include "haqa/Support/Statistics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

using namespace mlir::haqa;

TEST(Timing, MedianQuartilesOutliers) {
  TimingStats s = TimingStats::of({5, 1, 3, 2, 4, 100});
  EXPECT_DOUBLE_EQ(s.minMs, 1);
  EXPECT_DOUBLE_EQ(s.maxMs, 100);
  EXPECT_DOUBLE_EQ(s.medianMs, 3.5);
  EXPECT_DOUBLE_EQ(s.q1Ms, 2.25);
  EXPECT_DOUBLE_EQ(s.q3Ms, 4.75);
  EXPECT_EQ(s.outliers, 1); // 100 is beyond q3 + 1.5 IQR
  EXPECT_EQ(s.samplesMs.size(), 6u);
}

namespace {
/// An executable that busy-waits `ms` times the machine's slowness, which
/// grows by `drift` with every call (a machine getting busier).
class SpinningExecutable final : public Executable {
public:
  SpinningExecutable(double ms, double &slowness, double drift)
      : ms(ms), slowness(slowness), drift(drift) {}
  llvm::Error run(llvm::StringRef, llvm::ArrayRef<BufferRef>) override {
    using Clock = std::chrono::steady_clock;
    auto end =
        Clock::now() + std::chrono::duration<double, std::milli>(ms * slowness);
    while (Clock::now() < end) {
    }
    slowness *= drift;
    return llvm::Error::success();
  }

private:
  double ms;
  double &slowness;
  double drift;
};
} // namespace

TEST(Timing, PairsSeeThroughADriftingMachine) {
  // The machine slows down 15% with every call (24 calls: 28x): timed
  // apart, the slow executable's fastest run beats the fast one's slowest;
  // timed in pairs with the order alternating, the ratio stays near 3.
  double slowness = 1;
  SpinningExecutable fast(0.2, slowness, 1.15), slow(0.6, slowness, 1.15);
  PairingOptions o;
  o.warmup = 0;
  o.minPairs = 12;
  o.maxPairs = 12;
  auto p = timePaired(fast, slow, "f", {}, o);
  ASSERT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
  ASSERT_EQ(p->ratios.size(), 12u);
  EXPECT_EQ(p->a.samplesMs.size(), 12u);
  EXPECT_EQ(p->b.samplesMs.size(), 12u);
  EXPECT_LT(p->b.minMs, p->a.maxMs);
  MedianInterval r = getMedianInterval(p->ratios);
  EXPECT_NEAR(r.median, 3.0, 0.6);
  EXPECT_GT(r.lo, 1.0);
}

TEST(Timing, PairsStopOnceTheIntervalIsTight) {
  // A steady machine: at least minPairs, and far fewer than maxPairs once
  // the ratio's 95% interval is within 25%.
  double slowness = 1;
  SpinningExecutable a(0.3, slowness, 1.0), b(0.6, slowness, 1.0);
  PairingOptions o;
  o.minPairs = 6;
  o.maxPairs = 200;
  o.tolerance = 0.25;
  auto p = timePaired(a, b, "f", {}, o);
  ASSERT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
  EXPECT_GE(p->ratios.size(), 6u);
  EXPECT_LT(p->ratios.size(), 200u);
  EXPECT_NEAR(getMedianInterval(p->ratios).median, 2.0, 0.4);
}

TEST(Isolate, ReturnsTheChildsReport) {
  auto r = runIsolated([] { return std::string("status ok\n"); }, 10);
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r->kind, IsolatedResult::Finished);
  EXPECT_EQ(r->output, "status ok\n");
}

TEST(Isolate, ACrashIsReportedNotInherited) {
  auto r = runIsolated(
      []() -> std::string {
        std::raise(SIGSEGV);
        return "unreachable";
      },
      10);
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r->kind, IsolatedResult::Crashed);
  EXPECT_NE(r->reason.find("signal 11"), std::string::npos) << r->reason;
}

TEST(Isolate, TheChildsStderrIsKeptNotPrinted) {
  // What a dying child writes (LLVM's stack trace, say) comes back with the
  // result instead of going to this process's stderr.
  testing::internal::CaptureStderr();
  auto r = runIsolated(
      []() -> std::string {
        std::fprintf(stderr, "Stack dump:\n0. frame zero\n");
        std::fflush(stderr);
        std::abort();
        return "unreachable";
      },
      10);
  std::string printed = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r->kind, IsolatedResult::Crashed);
  EXPECT_EQ(r->childStderr, "Stack dump:\n0. frame zero\n");
  EXPECT_EQ(printed.find("Stack dump"), std::string::npos) << printed;
}

TEST(Isolate, AHangIsKilledAtTheLimit) {
  auto r = runIsolated(
      []() -> std::string {
        std::this_thread::sleep_for(std::chrono::seconds(30));
        return "late";
      },
      1);
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r->kind, IsolatedResult::TimedOut);
  EXPECT_EQ(r->output, "");
}

//===----------------------------------------------------------------------===//
// CUDA: runs where an NVIDIA GPU is; elsewhere the device reports why not.
//===----------------------------------------------------------------------===//

#include "haqa/InitAllDialects.h"
#include "haqa/Runtime/CUDADevice.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"

TEST(CUDADevice, WithoutAGPUTheErrorSaysWhy) {
  std::string why;
  if (mlir::haqa::isCUDAAvailable(&why))
    GTEST_SKIP() << "a GPU is present";
  EXPECT_NE(why.find("CUDA"), std::string::npos) << why;
  auto device = mlir::haqa::CUDADevice::create();
  ASSERT_FALSE(static_cast<bool>(device));
  EXPECT_EQ(llvm::toString(device.takeError()), why);
}

TEST(CUDADevice, AddsOnTheGPUAndKeepsResidentBuffers) {
  std::string why;
  if (!mlir::haqa::isCUDAAvailable(&why))
    GTEST_SKIP() << why;
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::haqa::registerAllHAQADialects(registry);
  mlir::MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(
      "func.func @f(%a: tensor<3x1000xf32>, %b: tensor<3x1000xf32>) -> "
      "tensor<3x1000xf32> {\n"
      "  %c = haqa.add %a, %b {schedule = #haqa.schedule<threads = [128], "
      "vector = 4>} : tensor<3x1000xf32>\n"
      "  return %c : tensor<3x1000xf32>\n}\n",
      &ctx);
  ASSERT_TRUE(module);
  auto device = mlir::haqa::CUDADevice::create();
  ASSERT_TRUE(static_cast<bool>(device)) << llvm::toString(device.takeError());
  auto exe = (*device)->compile(*module);
  ASSERT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());
  std::vector<float> a(3000), b(3000), c(3000, -1.0f);
  for (int i = 0; i < 3000; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = 0.5f * static_cast<float>(i);
  }
  mlir::haqa::BufferRef ra{a.data(), {3, 1000}}, rb{b.data(), {3, 1000}},
      rc{c.data(), {3, 1000}};
  rb.residency = mlir::haqa::BufferRef::Constant;
  ASSERT_FALSE(static_cast<bool>((*exe)->run("f", {ra, rb, rc})));
  for (int i = 0; i < 3000; ++i)
    ASSERT_FLOAT_EQ(c[i], 1.5f * static_cast<float>(i)) << i;
  // The constant operand is not copied again: changing it on the host does
  // not change the result.
  b.assign(3000, 0.0f);
  ASSERT_FALSE(static_cast<bool>((*exe)->run("f", {ra, rb, rc})));
  EXPECT_FLOAT_EQ(c[10], 15.0f);
  auto t = (*exe)->time("f", {ra, rb, rc}, {});
  ASSERT_TRUE(static_cast<bool>(t)) << llvm::toString(t.takeError());
  EXPECT_GT(t->medianMs, 0.0);
}

//===----------------------------------------------------------------------===//
// The mgpu* wrappers over a fake driver: the block cache and the waits,
// checked without a GPU (libcuda's entry points replaced by counters).
//===----------------------------------------------------------------------===//

#include "../../../lib/Runtime/CUDADriver.h"

namespace {
namespace fake {
using namespace mlir::haqa::cuda;
constexpr CUresult kOutOfMemory = 2, kInvalidValue = 1;
// Device addresses are below kHost; anything at or above it is host memory.
constexpr CUdeviceptr kHost = 1ull << 40;
CUdeviceptr next = 0x1000;
int allocs = 0, frees = 0, syncs = 0, failNextAlloc = 0;
std::vector<size_t> allocSizes;
CUresult memAlloc(CUdeviceptr *p, size_t bytes) {
  if (failNextAlloc) {
    --failNextAlloc;
    return kOutOfMemory;
  }
  ++allocs;
  allocSizes.push_back(bytes);
  *p = next;
  next += bytes;
  return CUDA_SUCCESS;
}
CUresult memFree(CUdeviceptr) {
  ++frees;
  return CUDA_SUCCESS;
}
CUresult streamSynchronize(CUstream) {
  ++syncs;
  return CUDA_SUCCESS;
}
CUresult memcpyAsync(CUdeviceptr, CUdeviceptr, size_t, CUstream) {
  return CUDA_SUCCESS;
}
CUresult pointerGetAttribute(void *data, int, CUdeviceptr p) {
  if (p >= kHost)
    return kInvalidValue; // pageable host memory: not the driver's
  *static_cast<unsigned *>(data) = CU_MEMORYTYPE_DEVICE;
  return CUDA_SUCCESS;
}
} // namespace fake

template <typename Fn> Fn wrapper(const char *name) {
  for (const mlir::haqa::cuda::WrapperSymbol &s :
       mlir::haqa::cuda::getWrapperSymbols())
    if (llvm::StringRef(s.name) == name)
      return reinterpret_cast<Fn>(s.address);
  ADD_FAILURE() << "no wrapper " << name;
  return nullptr;
}
} // namespace

TEST(CUDAWrappers, CacheFreedBlocksAndWaitOnlyForHostCopies) {
  if (mlir::haqa::cuda::syncEachOp())
    GTEST_SKIP() << "HAQA_CUDA_SYNC_EACH_OP is set";
  using namespace mlir::haqa::cuda;
  Driver d{};
  d.cuMemAlloc = fake::memAlloc;
  d.cuMemFree = fake::memFree;
  d.cuStreamSynchronize = fake::streamSynchronize;
  d.cuMemcpyAsync = fake::memcpyAsync;
  d.cuPointerGetAttribute = fake::pointerGetAttribute;
  setDriverForTesting(&d);
  auto alloc = wrapper<void *(*)(uint64_t, CUstream, bool)>("mgpuMemAlloc");
  auto release = wrapper<void (*)(void *, CUstream)>("mgpuMemFree");
  auto sync = wrapper<void (*)(CUstream)>("mgpuStreamSynchronize");
  auto copy = wrapper<void (*)(void *, void *, size_t, CUstream)>("mgpuMemcpy");
  ASSERT_TRUE(alloc && release && sync && copy);

  // A freed block is reused for the same rounded size; no driver call.
  void *a = alloc(1000, nullptr, false);
  sync(nullptr);
  EXPECT_EQ(fake::allocs, 1);
  EXPECT_EQ(fake::allocSizes.back(), 1024u); // rounded to 256 bytes
  release(a, nullptr);
  sync(nullptr);
  EXPECT_EQ(fake::frees, 0);
  void *b = alloc(1020, nullptr, false);
  EXPECT_EQ(b, a);
  EXPECT_EQ(fake::allocs, 1);
  void *c = alloc(1000, nullptr, false); // `a` is in use: a new block
  EXPECT_NE(c, a);
  EXPECT_EQ(fake::allocs, 2);

  // Waits: none after allocations, frees and device-to-device copies; one
  // after a copy into host memory (the host reads it next).
  copy(b, c, 1000, nullptr);
  sync(nullptr);
  EXPECT_EQ(fake::syncs, 0);
  copy(reinterpret_cast<void *>(fake::kHost + 64), c, 1000, nullptr);
  sync(nullptr);
  EXPECT_EQ(fake::syncs, 1);
  sync(nullptr);
  EXPECT_EQ(fake::syncs, 1);

  // Out of memory with blocks cached: they are freed and the allocation
  // retried.
  release(b, nullptr);
  release(c, nullptr);
  fake::failNextAlloc = 1;
  void *e = alloc(1 << 20, nullptr, false);
  EXPECT_NE(e, nullptr);
  EXPECT_EQ(fake::frees, 2);
  EXPECT_EQ(fake::allocs, 3);
  EXPECT_FALSE(static_cast<bool>(takeWrapperError()));

  // Trimming frees the cached blocks, not those in use.
  release(e, nullptr);
  poolTrim();
  EXPECT_EQ(fake::frees, 3);
  setDriverForTesting(nullptr);
}
