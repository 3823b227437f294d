//===- Statistics.cpp - medians and their confidence intervals -----------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/Statistics.h"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace mlir::haqa;

double MedianInterval::getRelativeHalfWidth() const {
  if (median == 0)
    return hi > lo ? INFINITY : 0;
  return (hi - lo) / (2 * std::fabs(median));
}

std::pair<int, int> mlir::haqa::getMedianIntervalRanks(int n,
                                                       double confidence) {
  if (n <= 0)
    return {0, 0};
  double tail = (1 - confidence) / 2;
  // j is admissible when P(B < j) = P(B <= j - 1) <= tail, B ~ Binomial(n,
  // 1/2); the terms in logs (n may be in the thousands). Below six samples
  // not even j = 1 is, and the interval is the range.
  int j = 1;
  double cdf = 0;
  for (int i = 0; i < n; ++i) {
    cdf += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) -
                    std::lgamma(n - i + 1.0) - n * std::log(2.0));
    if (cdf > tail)
      break;
    j = i + 1;
  }
  j = std::max(1, std::min(j, (n + 1) / 2));
  return {j, n + 1 - j};
}

MedianInterval mlir::haqa::getMedianInterval(llvm::ArrayRef<double> samples,
                                             double confidence) {
  MedianInterval m;
  if (samples.empty())
    return m;
  std::vector<double> s(samples.begin(), samples.end());
  std::sort(s.begin(), s.end());
  size_t n = s.size();
  m.samples = static_cast<int>(n);
  m.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  auto [j, k] = getMedianIntervalRanks(static_cast<int>(n), confidence);
  m.lo = s[j - 1];
  m.hi = s[k - 1];
  return m;
}

RoundsChoice
mlir::haqa::chooseFromRounds(llvm::ArrayRef<std::vector<double>> speeds,
                             llvm::ArrayRef<int> preference) {
  RoundsChoice c;
  if (speeds.empty())
    return c;
  auto median = [&](size_t i) { return getMedianInterval(speeds[i]).median; };
  for (size_t i = 1; i < speeds.size(); ++i)
    if (median(i) > median(c.fastest))
      c.fastest = i;
  c.chosen = c.fastest;
  const std::vector<double> &best = speeds[c.fastest];
  for (size_t i = 0; i < speeds.size(); ++i) {
    if (i == c.fastest || preference[i] <= preference[c.fastest])
      continue;
    bool beaten = !best.empty() && best.size() == speeds[i].size();
    for (size_t r = 0; beaten && r < best.size(); ++r)
      beaten = best[r] > speeds[i][r];
    if (beaten)
      continue;
    c.settled = false;
    if (preference[i] > preference[c.chosen])
      c.chosen = i;
  }
  return c;
}
