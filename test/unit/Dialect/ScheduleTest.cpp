//===- ScheduleTest.cpp - #haqa.schedule parse, print, verify ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "haqa/Dialect/HAQA/IR/ScheduleJSON.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::haqa;

namespace {

struct ScheduleTest : ::testing::Test {
  ScheduleTest()
      : handler(&ctx, [this](Diagnostic &d) {
          diagnostics.push_back(d.str());
          return success();
        }) {
    ctx.loadDialect<HAQADialect>();
  }
  ScheduleAttr parse(StringRef text) {
    return dyn_cast_or_null<ScheduleAttr>(parseAttribute(text, &ctx));
  }
  MLIRContext ctx;
  ScopedDiagnosticHandler handler;
  std::vector<std::string> diagnostics;
};

TEST_F(ScheduleTest, ParsesEveryField) {
  ScheduleAttr s = parse(
      "#haqa.schedule<layout = [row, col_t], prefetch = 3, tile = [4, 64], "
      "order = [1, 0], unroll = 8, vector = 16, threads = [32, 4], "
      "grid = [100], cpu_threads = 2, placement = [shared, register]>");
  ASSERT_TRUE(s);
  EXPECT_EQ(s.getTile(), ArrayRef<int64_t>({4, 64}));
  EXPECT_EQ(s.getOrder(), ArrayRef<int64_t>({1, 0}));
  EXPECT_EQ(s.getUnroll(), 8);
  EXPECT_EQ(s.getVector(), 16);
  EXPECT_EQ(s.getThreads(), ArrayRef<int64_t>({32, 4}));
  EXPECT_EQ(s.getGrid(), ArrayRef<int64_t>({100}));
  EXPECT_EQ(s.getCpuThreads(), 2);
  EXPECT_EQ(s.getPrefetch(), 3);
  EXPECT_EQ(s.getPlacement(),
            ArrayRef<MemSpace>({MemSpace::shared, MemSpace::reg}));
  EXPECT_EQ(s.getLayout(), ArrayRef<OperandLayout>(
                               {OperandLayout::row, OperandLayout::col_t}));
  // Printing uses a fixed field order and parses back to the same attribute.
  std::string text;
  llvm::raw_string_ostream os(text);
  Attribute(s).print(os);
  EXPECT_EQ(text, "#haqa.schedule<tile = [4, 64], order = [1, 0], unroll = 8, "
                  "vector = 16, threads = [32, 4], grid = [100], cpu_threads = "
                  "2, placement = [shared, register], prefetch = 3, layout = "
                  "[row, col_t]>");
  EXPECT_EQ(parse(text), s);
}

TEST_F(ScheduleTest, FuseRoundTripsThroughTextAndJSON) {
  ScheduleAttr s = parse("#haqa.schedule<fuse = [residual, norm], dot = i8, "
                         "micro = [1, 4]>");
  ASSERT_TRUE(s);
  EXPECT_EQ(s.getFuse(),
            ArrayRef<FuseKind>({FuseKind::residual, FuseKind::norm}));
  EXPECT_TRUE(s.fuses(FuseKind::norm));
  EXPECT_FALSE(s.fuses(FuseKind::swiglu));
  std::string text;
  llvm::raw_string_ostream os(text);
  Attribute(s).print(os);
  EXPECT_EQ(text, "#haqa.schedule<dot = i8, micro = [1, 4], fuse = [residual, "
                  "norm]>");
  auto back = scheduleFromJSON(&ctx, scheduleToJSON(s));
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(*back, s);
  EXPECT_TRUE(s.withFuse({}).getFuse().empty());
  EXPECT_EQ(s.withFuse({}).getMicro(), s.getMicro());
  // A bad name in JSON (records, LLM replies) is an error, not dropped.
  llvm::json::Object bad{{"dot", "i8"}, {"fuse", llvm::json::Array{"rope"}}};
  auto e = scheduleFromJSON(&ctx, bad);
  ASSERT_FALSE(static_cast<bool>(e));
  EXPECT_NE(llvm::toString(e.takeError()).find("bad entry in 'fuse'"),
            std::string::npos);
}

TEST_F(ScheduleTest, EmptyScheduleIsValid) {
  ScheduleAttr s = parse("#haqa.schedule<>");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s.getTile().empty());
  EXPECT_FALSE(s.getUnroll().has_value());
}

TEST_F(ScheduleTest, RejectsNonPermutation) {
  EXPECT_FALSE(parse("#haqa.schedule<order = [0, 0, 2]>"));
  ASSERT_FALSE(diagnostics.empty());
  EXPECT_EQ(diagnostics.back(),
            "expected order to be a permutation of [0, 3), got [0, 0, 2]");
}

TEST_F(ScheduleTest, VerifyAgainstIterationSpace) {
  ScheduleAttr s = parse("#haqa.schedule<tile = [1, 4096]>");
  ASSERT_TRUE(s);
  auto emit = [&] { return emitError(UnknownLoc::get(&ctx)); };
  EXPECT_TRUE(succeeded(s.verifyAgainst(emit, {64, 4096}, 2)));
  EXPECT_TRUE(succeeded(s.verifyAgainst(emit, {64, ShapedType::kDynamic}, 2)));
  EXPECT_TRUE(failed(s.verifyAgainst(emit, {64, 2048}, 2)));
  EXPECT_EQ(diagnostics.back(),
            "expected tile size 4096 at index 1 to be at most the dimension "
            "2048");
  EXPECT_TRUE(failed(s.verifyAgainst(emit, {4096}, 2)));
}

} // namespace
