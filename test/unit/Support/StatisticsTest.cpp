//===- StatisticsTest.cpp - medians and their confidence intervals -------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/Statistics.h"

#include <cmath>
#include <gtest/gtest.h>
#include <random>
#include <vector>

using namespace mlir::haqa;

TEST(Statistics, RanksAreTheBinomialTables) {
  // Below six samples the range; then the classic tables' ranks for 95%.
  for (int n = 1; n <= 5; ++n)
    EXPECT_EQ(getMedianIntervalRanks(n), std::make_pair(1, n)) << n;
  EXPECT_EQ(getMedianIntervalRanks(6), std::make_pair(1, 6));
  EXPECT_EQ(getMedianIntervalRanks(9), std::make_pair(2, 8));
  EXPECT_EQ(getMedianIntervalRanks(10), std::make_pair(2, 9));
  EXPECT_EQ(getMedianIntervalRanks(16), std::make_pair(4, 13));
  EXPECT_EQ(getMedianIntervalRanks(20), std::make_pair(6, 15));
  EXPECT_EQ(getMedianIntervalRanks(100), std::make_pair(40, 61));
  // Thousands of samples do not overflow.
  auto [j, k] = getMedianIntervalRanks(5000);
  EXPECT_GT(j, 2400);
  EXPECT_EQ(j + k, 5001);
}

TEST(Statistics, IntervalHoldsTheMedian) {
  MedianInterval m =
      getMedianInterval({1.0, 1.1, 0.9, 1.05, 0.95, 1.2, 0.8, 1.02, 0.98, 5.0});
  EXPECT_DOUBLE_EQ(m.median, 1.01);
  EXPECT_EQ(m.samples, 10);
  EXPECT_DOUBLE_EQ(m.lo, 0.9);
  EXPECT_DOUBLE_EQ(m.hi, 1.2);
  EXPECT_TRUE(m.contains(1.0));
  EXPECT_NEAR(m.getRelativeHalfWidth(), 0.15 / 1.01, 1e-12);
  EXPECT_EQ(getMedianInterval({}).samples, 0);
  MedianInterval one = getMedianInterval({2.0});
  EXPECT_EQ(one.lo, 2.0);
  EXPECT_EQ(one.hi, 2.0);
}

TEST(Statistics, CoverageIsAtLeastTheConfidence) {
  // Skewed noise (exponential), true median log(2): the interval holds it
  // in at least 95% of 2000 draws of 12 samples.
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> noise(1.0);
  int held = 0, draws = 2000;
  for (int d = 0; d < draws; ++d) {
    std::vector<double> s;
    for (int i = 0; i < 12; ++i)
      s.push_back(noise(rng));
    held += getMedianInterval(s).contains(std::log(2.0));
  }
  EXPECT_GE(held, 0.95 * draws - 20);
}

TEST(Statistics, RoundsChooseTheFastestAndTiesGoToThePreferred) {
  // INT4 (preference 4), INT8 (8), FP16 (16), decode tokens/s per round.
  std::vector<int> bits = {4, 8, 16};
  // INT4 faster than INT8 and FP16 in every round: INT4, settled.
  RoundsChoice a =
      chooseFromRounds({{105, 110, 108}, {100, 99, 101}, {60, 61, 59}}, bits);
  EXPECT_EQ(a.fastest, 0u);
  EXPECT_EQ(a.chosen, 0u);
  EXPECT_TRUE(a.settled);
  // INT4's median is higher, but INT8 won one round: a tie, INT8 chosen.
  RoundsChoice b =
      chooseFromRounds({{105, 98, 108}, {100, 99, 101}, {60, 61, 59}}, bits);
  EXPECT_EQ(b.fastest, 0u);
  EXPECT_EQ(b.chosen, 1u);
  EXPECT_FALSE(b.settled);
  // A faster precision of more bits needs no tie: FP16 fastest, chosen.
  RoundsChoice c =
      chooseFromRounds({{50, 51, 52}, {60, 61, 59}, {70, 69, 71}}, bits);
  EXPECT_EQ(c.chosen, 2u);
  EXPECT_TRUE(c.settled);
  // Two tie with INT4: the most accurate of them.
  RoundsChoice d =
      chooseFromRounds({{100, 100, 100}, {101, 90, 99}, {99, 102, 90}}, bits);
  EXPECT_EQ(d.fastest, 0u);
  EXPECT_EQ(d.chosen, 2u);
  EXPECT_FALSE(d.settled);
}
