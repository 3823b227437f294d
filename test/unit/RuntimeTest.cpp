//===- RuntimeTest.cpp - timing statistics and candidate isolation --------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/Device.h"
#include "haqa/Runtime/Isolate.h"

#include <gtest/gtest.h>

#include <csignal>
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
