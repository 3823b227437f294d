//===- LoopPlanTest.cpp - the GPU loop planner ------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The GPU loop planner on plain data (loop kinds, ranges, schedule fields):
// how threads spread over the parallel loops, block tiles, K steps, vector
// width and grid; and once through a linalg op built with OpBuilder, to
// show the adapter reads the op's loops and its schedule's fields.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/GPU/LoopPlan.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::haqa;

namespace {

using utils::IteratorType;
constexpr IteratorType P = IteratorType::parallel;
constexpr IteratorType R = IteratorType::reduction;

/// A plan input over `ranges` with loops of kinds `iters`, in their own
/// order, and `threads` threads.
PlanInput input(ArrayRef<IteratorType> iters, ArrayRef<int64_t> ranges,
                ArrayRef<int64_t> threads) {
  PlanInput in;
  in.iters.assign(iters.begin(), iters.end());
  in.ranges.assign(ranges.begin(), ranges.end());
  for (unsigned l = 0; l < iters.size(); ++l)
    in.loopOrder.push_back(l);
  in.threads.assign(threads.begin(), threads.end());
  return in;
}

using Vec = SmallVector<int64_t>;

TEST(EvenThreads, AsManyAsThereArePiecesUpToTheLimit) {
  EXPECT_EQ(evenThreads(1024, 4, 128), 128); // 256 pieces of 4
  EXPECT_EQ(evenThreads(64, 1, 256), 64);    // fewer pieces than threads
  EXPECT_EQ(evenThreads(8, 4, 256), 2);
  EXPECT_EQ(evenThreads(3, 4, 256), 1); // one partial piece
}

TEST(EvenThreads, UnevenExtentsFallBackToFewerThreadsThatDivide) {
  // 100 pieces over at most 64 threads: 50 split them evenly (2 each).
  EXPECT_EQ(evenThreads(100, 1, 64), 50);
  // 96 = 3 x 32: 48 threads of 2 pieces.
  EXPECT_EQ(evenThreads(96, 1, 64), 48);
  // Nothing in [32, 64] divides 97 (prime): all 64, a partial last round.
  EXPECT_EQ(evenThreads(97, 1, 64), 64);
  // A partial vector at the end: as many as there are pieces (3 of 4).
  EXPECT_EQ(evenThreads(10, 4, 8), 3);
  // Dynamic extents are not split evenly: all the threads.
  EXPECT_EQ(evenThreads(kDynamicExtent, 1, 256), 256);
}

TEST(ExtentOf, DynamicRangesCountAsALargeExtent) {
  EXPECT_EQ(extentOf(48), 48);
  EXPECT_EQ(extentOf(ShapedType::kDynamic), kDynamicExtent);
}

TEST(PlanLoops, OneThreadCountFillsTheLoopsInnermostFirst) {
  // 4 x 64 with 256 threads: 64 along the columns, the other 4 along rows.
  LoopPlan p = planLoops(input({P, P}, {4, 64}, {256}));
  EXPECT_EQ(p.numLoops, 2u);
  EXPECT_EQ(p.totalThreads, 256);
  EXPECT_EQ(p.threadsPer, Vec({4, 64}));
  EXPECT_EQ(p.blockTile, Vec({4, 64}));
  EXPECT_EQ(p.kStep, Vec({0, 0}));
}

TEST(PlanLoops, VectorWidthIsEachThreadsShareOfTheInnermostLoop) {
  // threads = [128], vector = 4 over 4 x 1024: a block tile of 1 x 512
  // (128 threads x 4 elements); no thread left for the rows.
  PlanInput in = input({P, P}, {4, 1024}, {128});
  in.vector = 4;
  LoopPlan p = planLoops(in);
  EXPECT_EQ(p.vector, 4);
  EXPECT_EQ(p.threadsPer, Vec({1, 128}));
  EXPECT_EQ(p.blockTile, Vec({1, 512}));
}

TEST(PlanLoops, ThreadsXYZGoToTheInnermostLoopsInTurn) {
  // tile = [2, 256], threads = [64, 2]: x = 64 along the columns, y = 2
  // along the rows.
  PlanInput in = input({P, P}, {4, 1024}, {64, 2});
  in.tile = {2, 256};
  LoopPlan p = planLoops(in);
  EXPECT_EQ(p.totalThreads, 128);
  EXPECT_EQ(p.threadsPer, Vec({2, 64}));
  EXPECT_EQ(p.blockTile, Vec({2, 256}));

  // [x, y, z] over three loops; a fourth loop gets none.
  LoopPlan q = planLoops(input({P, P, P, P}, {5, 8, 4, 32}, {32, 4, 2}));
  EXPECT_EQ(q.totalThreads, 256);
  EXPECT_EQ(q.threadsPer, Vec({1, 2, 4, 32}));
  EXPECT_EQ(q.blockTile, Vec({1, 2, 4, 32}));
}

TEST(PlanLoops, ThreadsFollowOrder) {
  // order = [1, 0]: loop 0 is innermost, so it is contiguous across
  // threads and gets the vector.
  PlanInput in = input({P, P}, {256, 8}, {64});
  in.loopOrder = {1, 0};
  in.vector = 2;
  LoopPlan p = planLoops(in);
  EXPECT_EQ(p.threadsPer, Vec({64, 1}));
  EXPECT_EQ(p.blockTile, Vec({128, 1}));
}

TEST(PlanLoops, UnevenExtentsUseFewerThreads) {
  // 100 columns, at most 64 threads: 50 threads, a block tile of 50, two
  // blocks cover the columns with no partial tile.
  LoopPlan p = planLoops(input({P}, {100}, {64}));
  EXPECT_EQ(p.threadsPer, Vec({50}));
  EXPECT_EQ(p.blockTile, Vec({50}));
  // With [x, y], y is capped by its own loop too.
  LoopPlan q = planLoops(input({P, P}, {3, 96}, {64, 4}));
  EXPECT_EQ(q.threadsPer, Vec({3, 48}));
  EXPECT_EQ(q.blockTile, Vec({3, 48}));
}

TEST(PlanLoops, ReductionTilesAreKSteps) {
  // A matmul-like nest (M, N, K) with tile = [8, 16, 128]: block tiles on
  // M and N, K walked in steps of 128; no threads on K.
  PlanInput in = input({P, P, R}, {8, 64, 2048}, {256});
  in.tile = {8, 16, 128};
  LoopPlan p = planLoops(in);
  EXPECT_EQ(p.blockTile, Vec({8, 16, 0}));
  EXPECT_EQ(p.kStep, Vec({0, 0, 128}));
  EXPECT_EQ(p.threadsPer, Vec({8, 16, 0}));
  // A K tile of the whole loop (or more) is no K step.
  in.tile = {8, 16, 4096};
  EXPECT_EQ(planLoops(in).kStep, Vec({0, 0, 0}));
}

TEST(PlanLoops, TilesAreCappedAtTheLoop) {
  PlanInput in = input({P, P}, {4, 64}, {32});
  in.tile = {16, 1024};
  LoopPlan p = planLoops(in);
  EXPECT_EQ(p.blockTile, Vec({4, 64}));
}

TEST(PlanLoops, DynamicLoopsCountAsLargeExtents) {
  // A dynamic row count (prefill) and 576 columns: 192 threads split the
  // columns evenly (576 = 3 x 192); the rows get one thread.
  LoopPlan p = planLoops(input({P, P}, {ShapedType::kDynamic, 576}, {256}));
  EXPECT_EQ(p.threadsPer, Vec({1, 192}));
  EXPECT_EQ(p.blockTile, Vec({1, 192}));
  LoopPlan q = planLoops(input({P, P}, {8, ShapedType::kDynamic}, {256}));
  EXPECT_EQ(q.threadsPer, Vec({1, 256}));
  EXPECT_EQ(q.blockTile, Vec({1, 256}));
}

TEST(PlanLoops, GridAndUnrollPassThrough) {
  PlanInput in = input({P}, {1024}, {128});
  in.grid = {3};
  in.unroll = 2;
  LoopPlan p = planLoops(in);
  EXPECT_EQ(p.grid, Vec({3}));
  EXPECT_EQ(p.unroll, 2);
  EXPECT_TRUE(p.placement.empty());
  EXPECT_TRUE(p.operands.empty());
}

TEST(FlatPlan, CopiesSpreadInnermostFirstWithTheVectorWhereItDivides) {
  LoopPlan p = flatPlan({P, P}, {8, 64}, 256, 4);
  EXPECT_EQ(p.vector, 4);
  EXPECT_EQ(p.threadsPer, Vec({8, 16}));
  EXPECT_EQ(p.loopOrder, SmallVector<unsigned>({0, 1}));
  // 6 does not divide by 4: scalar copies.
  LoopPlan q = flatPlan({P, P}, {8, 6}, 256, 4);
  EXPECT_EQ(q.vector, 1);
  EXPECT_EQ(q.threadsPer, Vec({8, 6}));
  // A reduction loop gets no threads.
  LoopPlan r = flatPlan({P, R}, {16, 32}, 64, 1);
  EXPECT_EQ(r.threadsPer, Vec({16, 0}));
}

/// The adapter on a linalg op: an elementwise generic over 4 x 1024 with
/// a schedule, built with OpBuilder.
struct LoopPlanOnIR : ::testing::Test {
  LoopPlanOnIR() {
    ctx.loadDialect<HAQADialect, linalg::LinalgDialect, arith::ArithDialect,
                    func::FuncDialect, tensor::TensorDialect>();
  }
  linalg::GenericOp copyGeneric(OpBuilder &b, ArrayRef<int64_t> shape) {
    Location loc = b.getUnknownLoc();
    auto type = RankedTensorType::get(shape, b.getF32Type());
    Value in = tensor::EmptyOp::create(b, loc, shape, b.getF32Type());
    Value out = tensor::EmptyOp::create(b, loc, shape, b.getF32Type());
    AffineMap id = b.getMultiDimIdentityMap(shape.size());
    return linalg::GenericOp::create(
        b, loc, TypeRange{type}, ValueRange{in}, ValueRange{out},
        SmallVector<AffineMap>{id, id},
        SmallVector<IteratorType>(shape.size(), P),
        [](OpBuilder &nb, Location l, ValueRange args) {
          linalg::YieldOp::create(nb, l, args[0]);
        });
  }
  MLIRContext ctx;
};

TEST_F(LoopPlanOnIR, ReadsTheScheduleAndTheOpsLoops) {
  OpBuilder b(&ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
  b.setInsertionPointToEnd(module->getBody());
  linalg::GenericOp op = copyGeneric(b, {4, 1024});
  op->setAttr("haqa.operands", b.getDenseI64ArrayAttr({0, 1}));
  auto schedule = ScheduleAttr::get(
      &ctx, /*tile=*/{2, 256}, /*order=*/{}, /*unroll=*/2, /*vector=*/4,
      /*threads=*/{32, 2}, /*grid=*/{8}, /*cpuThreads=*/std::nullopt,
      /*placement=*/{MemSpace::shared, MemSpace::reg},
      /*prefetch=*/std::nullopt, /*layout=*/{}, /*mma=*/std::nullopt);
  FailureOr<LoopPlan> p = planLoops(op, schedule, /*defaultThreads=*/256);
  ASSERT_TRUE(succeeded(p));
  EXPECT_EQ(p->iters, SmallVector<IteratorType>({P, P}));
  EXPECT_EQ(p->ranges, Vec({4, 1024}));
  EXPECT_EQ(p->totalThreads, 64);
  EXPECT_EQ(p->threadsPer, Vec({2, 32}));
  EXPECT_EQ(p->blockTile, Vec({2, 256}));
  EXPECT_EQ(p->vector, 4);
  EXPECT_EQ(p->unroll, 2);
  EXPECT_EQ(p->grid, Vec({8}));
  EXPECT_EQ(p->placement,
            SmallVector<MemSpace>({MemSpace::shared, MemSpace::reg}));
  EXPECT_EQ(p->operands, Vec({0, 1}));

  // Without a schedule: one dimension of the default threads.
  FailureOr<LoopPlan> d = planLoops(op, ScheduleAttr(), 256);
  ASSERT_TRUE(succeeded(d));
  EXPECT_EQ(d->totalThreads, 256);
  EXPECT_EQ(d->threadsPer, Vec({1, 256}));
  EXPECT_EQ(d->blockTile, Vec({1, 256}));
  EXPECT_EQ(blockThreads(ScheduleAttr(), 128), Vec({128}));
  EXPECT_EQ(blockThreads(schedule, 128), Vec({32, 2}));

  // flatPlan reads the op's loops.
  LoopPlan f = flatPlan(op, 128, 4);
  EXPECT_EQ(f.threadsPer, Vec({1, 128}));
  EXPECT_EQ(f.vector, 4);
}

} // namespace
