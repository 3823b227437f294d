//===- Statistics.h - medians and their confidence intervals ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// What every measurement that decides something uses: the median of noisy
// samples (a run's time, the ratio of two schedules' times in interleaved
// pairs) and a distribution-free confidence interval for it, so that a
// difference inside the noise is called a tie rather than a speedup.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_SUPPORT_STATISTICS_H
#define HAQA_SUPPORT_STATISTICS_H

#include "llvm/ADT/ArrayRef.h"

#include <utility>
#include <vector>

namespace mlir::haqa {

/// A median and a confidence interval around it.
struct MedianInterval {
  double median = 0, lo = 0, hi = 0;
  int samples = 0;
  /// (hi - lo) / (2 median): the interval's half-width, relative.
  double getRelativeHalfWidth() const;
  /// Does the interval hold `value`?
  bool contains(double value) const { return lo <= value && value <= hi; }
};

/// The ranks (1-based, j <= k) of the sorted samples that bound a
/// `confidence` interval for the median of `n` samples: the largest j with
/// P(Binomial(n, 1/2) < j) <= (1 - confidence) / 2, and k = n + 1 - j. Below
/// six samples that is the minimum and the maximum (a wider interval than
/// asked for).
std::pair<int, int> getMedianIntervalRanks(int n, double confidence = 0.95);

/// The median of `samples` and its distribution-free confidence interval
/// (order statistics at getMedianIntervalRanks). No samples: all zero.
MedianInterval getMedianInterval(llvm::ArrayRef<double> samples,
                                 double confidence = 0.95);

/// The choice among candidates timed in interleaved rounds.
struct RoundsChoice {
  /// The fastest by median speed, and the one chosen.
  size_t fastest = 0, chosen = 0;
  /// No candidate ties with the fastest (more rounds could settle a tie).
  bool settled = true;
};

/// Chooses among candidates whose speeds (higher is faster) were measured in
/// interleaved rounds, `speeds[c][r]` candidate c's in round r: the fastest
/// by median, unless a candidate of higher `preference` is not beaten by it
/// in every round. That one ties (its difference is inside the noise), and
/// a tie goes to the most preferred of the tied (the more accurate
/// precision).
RoundsChoice chooseFromRounds(llvm::ArrayRef<std::vector<double>> speeds,
                              llvm::ArrayRef<int> preference);

} // namespace mlir::haqa

#endif // HAQA_SUPPORT_STATISTICS_H
