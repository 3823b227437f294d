//===- KernelHarnessTest.cpp - kernel modules, problems, measuring --------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Kernel modules are built with OpBuilder, from a name and shape or by
// cloning an op of a model; their weights live in memory; a measurement
// checks the compiled kernel against the reference executor.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/KernelHarness.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include <cstring>
#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::haqa;

namespace {

int countKernels(ModuleOp m) {
  int n = 0;
  m.walk([&](KernelOpInterface) { ++n; });
  return n;
}

TEST(KernelHarness, SpecsBuildTheTable3Kernels) {
  MLIRContext ctx;
  std::vector<std::string> labels;
  for (const KernelSpec &s : getTable3Kernels({1}, {"f16", "q4_1"})) {
    auto m = buildKernelModule(&ctx, s);
    ASSERT_TRUE(static_cast<bool>(m)) << llvm::toString(m.takeError());
    EXPECT_TRUE(succeeded(verify(**m)));
    EXPECT_EQ(countKernels(**m), 1);
    labels.push_back(getKernelLabel(getKernelOp(**m)));
    EXPECT_EQ(labels.back(), s.getLabel());
  }
  EXPECT_EQ(labels,
            (std::vector<std::string>{"softmax [1024,1,32]", "silu [11008,1,1]",
                                      "rms_norm [4096,1,1]", "rope [128,1,1]",
                                      "matmul [2048,1,2048] f16",
                                      "matmul [2048,1,2048] q4_1"}));
  auto bad = buildKernelModule(&ctx, {"conv", {8, 1, 1}, "f32"});
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("unknown kernel 'conv'"),
            std::string::npos);
}

/// A model-like function: rms_norm, then a Q8_0 matmul with a schedule,
/// then an embedding.
OwningOpRef<ModuleOp> buildModel(MLIRContext &ctx) {
  ctx.loadDialect<HAQADialect, func::FuncDialect>();
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> m = ModuleOp::create(loc);
  b.setInsertionPointToEnd(m->getBody());
  auto x = RankedTensorType::get({1, 64}, b.getF32Type());
  auto y = RankedTensorType::get({1, 32}, b.getF32Type());
  auto ids = RankedTensorType::get({1}, b.getI32Type());
  auto f = func::FuncOp::create(b, loc, "decode",
                                b.getFunctionType({x, ids}, {y, x}));
  b.setInsertionPointToStart(f.addEntryBlock());
  Value norm = WeightOp::create(
      b, loc,
      WeightType::get(&ctx, {64}, QuantAttr::getPlain(&ctx, ElemKind::f32)),
      b.getStringAttr("blk.0.attn_norm.weight"));
  Value w = WeightOp::create(
      b, loc, WeightType::get(&ctx, {32, 64}, QuantAttr::getQ8_0(&ctx)),
      b.getStringAttr("blk.0.attn_q.weight"));
  Value table = WeightOp::create(
      b, loc, WeightType::get(&ctx, {100, 64}, QuantAttr::getQ8_0(&ctx)),
      b.getStringAttr("token_embd.weight"));
  Value n = RMSNormOp::create(b, loc, x, f.getArgument(0), norm,
                              b.getF32FloatAttr(1e-5f), ScheduleAttr());
  auto schedule =
      ScheduleAttr::get(&ctx, {1, 8, 64}, {}, std::nullopt, std::nullopt, {},
                        {}, std::nullopt, {}, std::nullopt, {}, std::nullopt);
  Value q = MatmulOp::create(b, loc, y, n, w, schedule);
  Value e =
      EmbeddingOp::create(b, loc, x, table, f.getArgument(1), ScheduleAttr());
  func::ReturnOp::create(b, loc, ValueRange{q, e});
  return m;
}

TEST(KernelHarness, AModelOpIsClonedAloneWithItsWeights) {
  MLIRContext ctx;
  OwningOpRef<ModuleOp> model = buildModel(ctx);
  ASSERT_TRUE(succeeded(verify(*model)));
  MatmulOp mm;
  model->walk([&](MatmulOp op) { mm = op; });
  auto m = buildKernelModule(cast<KernelOpInterface>(mm.getOperation()));
  ASSERT_TRUE(static_cast<bool>(m)) << llvm::toString(m.takeError());
  ASSERT_TRUE(succeeded(verify(**m)));
  auto f = (*m)->lookupSymbol<func::FuncOp>("kernel");
  ASSERT_TRUE(f);
  // The activation is the one argument; the weight is cloned by name.
  EXPECT_EQ(f.getNumArguments(), 1u);
  int weights = 0;
  (*m)->walk([&](WeightOp w) {
    ++weights;
    EXPECT_EQ(w.getName(), "blk.0.attn_q.weight");
  });
  EXPECT_EQ(weights, 1);
  KernelOpInterface k = getKernelOp(**m);
  EXPECT_FALSE(k.getSchedule()) << "the clone is measured under a schedule "
                                   "of the tuner's, not the model's";
  EXPECT_EQ(getKernelLabel(k), "matmul [64,1,32] q8_0");
  // The model is untouched.
  EXPECT_TRUE(mm.getSchedule());

  // The embedding is measured on token ids within its table's 100 rows.
  EmbeddingOp emb;
  model->walk([&](EmbeddingOp op) { emb = op; });
  auto e = buildKernelModule(cast<KernelOpInterface>(emb.getOperation()));
  ASSERT_TRUE(static_cast<bool>(e)) << llvm::toString(e.takeError());
  EXPECT_EQ(getKernelLabel(getKernelOp(**e)), "embedding [64,1,1] q8_0");
  auto p = KernelProblem::prepare(**e);
  ASSERT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
  ASSERT_EQ(p->inputBytes.size(), 1u);
  int32_t id;
  std::memcpy(&id, p->inputBytes[0].data(), 4);
  EXPECT_EQ(id, 99) << "the last row of a running generation in the table";
  MeasureOptions o;
  o.timing.repeats = 2;
  KernelMeasurement r = measureKernel(*p, ScheduleAttr(), o);
  EXPECT_EQ(r.status, KernelMeasurement::OK) << r.message;
}

/// @prefill-like: a KV-cache write and the attention over it, their token
/// count dynamic.
OwningOpRef<ModuleOp> buildPrefill(MLIRContext &ctx) {
  ctx.loadDialect<HAQADialect, func::FuncDialect>();
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> m = ModuleOp::create(loc);
  b.setInsertionPointToEnd(m->getBody());
  int64_t dyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type();
  auto q = RankedTensorType::get({dyn, 4, 16}, f32);
  auto kv = RankedTensorType::get({dyn, 2, 16}, f32);
  auto cache = RankedTensorType::get({512, 2, 16}, f32);
  auto pos = RankedTensorType::get({dyn}, b.getI32Type());
  auto f = func::FuncOp::create(
      b, loc, "prefill", b.getFunctionType({q, kv, pos, cache}, {q, cache}));
  b.setInsertionPointToStart(f.addEntryBlock());
  Value c = KVWriteOp::create(b, loc, cache, f.getArgument(3),
                              f.getArgument(1), f.getArgument(2),
                              ScheduleAttr());
  Value o = AttentionOp::create(b, loc, q, f.getArgument(0), c, c,
                                f.getArgument(2), b.getF32FloatAttr(0.25f),
                                ScheduleAttr());
  func::ReturnOp::create(b, loc, ValueRange{o, c});
  return m;
}

TEST(KernelHarness, DynamicRowsAreMeasuredAtARepresentativeCount) {
  MLIRContext ctx;
  OwningOpRef<ModuleOp> model = buildPrefill(ctx);
  ASSERT_TRUE(succeeded(verify(*model)));
  KVWriteOp write;
  AttentionOp attention;
  model->walk([&](KVWriteOp op) { write = op; });
  model->walk([&](AttentionOp op) { attention = op; });
  auto k = cast<KernelOpInterface>(write.getOperation());
  // Without a row count, dynamic shapes cannot be measured.
  auto none = buildKernelModule(k);
  ASSERT_FALSE(static_cast<bool>(none));
  EXPECT_NE(llvm::toString(none.takeError()).find("need a row count"),
            std::string::npos);

  MeasureOptions o;
  o.timing.repeats = 2;
  for (KernelOpInterface kernel :
       {k, cast<KernelOpInterface>(attention.getOperation())}) {
    auto m = buildKernelModule(kernel, 8);
    ASSERT_TRUE(static_cast<bool>(m)) << llvm::toString(m.takeError());
    ASSERT_TRUE(succeeded(verify(**m)));
    auto p = KernelProblem::prepare(**m);
    ASSERT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
    // Positions 248 .. 255: the 8 tokens before row 256 of the 512-row
    // cache.
    auto func = (*m)->lookupSymbol<func::FuncOp>("kernel");
    for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
      if (!cast<RankedTensorType>(arg.getType()).getElementType().isInteger(32))
        continue;
      std::vector<int32_t> got(8);
      std::memcpy(got.data(), p->inputBytes[i].data(), 32);
      EXPECT_EQ(got.front(), 248);
      EXPECT_EQ(got.back(), 255);
    }
    // The kv_write updates its cache argument in place (no result buffer):
    // checked there against the reference.
    KernelMeasurement r = measureKernel(*p, ScheduleAttr(), o);
    EXPECT_EQ(r.status, KernelMeasurement::OK)
        << getKernelLabel(kernel) << ": " << r.message;
  }
  EXPECT_EQ(getKernelLabel(getKernelOp(**buildKernelModule(k, 8))),
            "kv_write [16,2,8]");
}

TEST(KernelHarness, ProblemsHaveInMemoryWeightsAndAReference) {
  MLIRContext ctx;
  auto m = buildKernelModule(&ctx, {"matmul", {64, 2, 16}, "q4_0"});
  ASSERT_TRUE(static_cast<bool>(m)) << llvm::toString(m.takeError());
  auto p = KernelProblem::prepare(**m);
  ASSERT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
  ASSERT_EQ(p->inputBytes.size(), 1u);
  EXPECT_EQ(p->inputBytes[0].size(), 2u * 64 * 4);
  ASSERT_EQ(p->weightBytes.size(), 1u);
  EXPECT_EQ(p->weightBytes[0].size(), 16u * 2 * 18); // two Q4_0 blocks a row
  EXPECT_EQ(p->outputShape, (llvm::SmallVector<int64_t, 4>{2, 16}));
  EXPECT_EQ(p->reference.size(), 32u);
  EXPECT_EQ(p->flops, 2u * 2 * 16 * 64);
  // Seeded: the same problem twice.
  auto again = KernelProblem::prepare(**m);
  EXPECT_EQ(again->reference, p->reference);
}

TEST(KernelHarness, MeasuresAgainstTheReference) {
  MLIRContext ctx;
  auto m = buildKernelModule(&ctx, {"silu", {256, 2, 1}, "f32"});
  ASSERT_TRUE(static_cast<bool>(m));
  auto p = KernelProblem::prepare(**m);
  ASSERT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
  MeasureOptions o;
  o.timing.repeats = 3;
  KernelMeasurement r = measureKernel(*p, ScheduleAttr(), o);
  EXPECT_EQ(r.status, KernelMeasurement::OK) << r.message;
  EXPECT_NE(r.schedule.find("#haqa.schedule<"), std::string::npos);
  EXPECT_LT(r.maxAbsError, 1e-3);
  EXPECT_EQ(r.timing.samplesMs.size(), 3u);
  // With the caches evicted before every timed run: the same samples.
  MeasureOptions cold = o;
  cold.evictBytes = uint64_t(64) << 20;
  KernelMeasurement c = measureKernel(*p, ScheduleAttr(), cold);
  EXPECT_EQ(c.status, KernelMeasurement::OK) << c.message;
  EXPECT_EQ(c.timing.samplesMs.size(), 3u);
  // A schedule that does not fit the kernel is a bad spec, not a crash.
  auto tooBig =
      ScheduleAttr::get(&ctx, {1, 512}, {}, std::nullopt, std::nullopt, {}, {},
                        std::nullopt, {}, std::nullopt, {}, std::nullopt);
  KernelMeasurement bad = measureKernel(*p, tooBig, o);
  EXPECT_EQ(bad.status, KernelMeasurement::BadSpec);
}

TEST(KernelHarness, SchedulesAreTimedInPairsWithTheDefault) {
  MLIRContext ctx;
  auto m = buildKernelModule(&ctx, {"silu", {256, 2, 1}, "f32"});
  ASSERT_TRUE(static_cast<bool>(m));
  auto p = KernelProblem::prepare(**m);
  ASSERT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
  MeasureOptions o;
  o.timing.repeats = 8;
  o.pairWithDefault = true;
  o.minPairs = 4;
  // The default itself is not paired with itself: speedup 1, no pairs.
  KernelMeasurement d = measureKernel(*p, ScheduleAttr(), o);
  ASSERT_EQ(d.status, KernelMeasurement::OK) << d.message;
  EXPECT_EQ(d.speedup.median, 1.0);
  EXPECT_EQ(d.speedup.lo, 1.0);
  EXPECT_EQ(d.speedup.samples, 0);
  // Another schedule: both compiled in one child, timed in 4 to 8 pairs.
  auto other = mlir::cast<ScheduleAttr>(parseAttribute(
      "#haqa.schedule<tile = [1, 128], order = [0, 1], unroll = 2, "
      "vector = 8, cpu_threads = 1>",
      &ctx));
  KernelMeasurement r = measureKernel(*p, other, o);
  ASSERT_EQ(r.status, KernelMeasurement::OK) << r.message;
  EXPECT_NE(r.schedule, d.schedule);
  EXPECT_GE(r.speedup.samples, 4);
  EXPECT_LE(r.speedup.samples, 8);
  EXPECT_GT(r.speedup.median, 0.0);
  EXPECT_LE(r.speedup.lo, r.speedup.median);
  EXPECT_GE(r.speedup.hi, r.speedup.median);
  EXPECT_EQ(r.timing.samplesMs.size(), size_t(r.speedup.samples));
  EXPECT_EQ(r.defaultTiming.samplesMs.size(), size_t(r.speedup.samples));
}

} // namespace
