//===- SamplingTest.cpp - drawing the next token --------------------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/Sampling.h"

#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <numeric>
#include <random>
#include <vector>

using namespace mlir::haqa;

namespace {
/// Frequencies of 20000 draws from `logits` under `o`.
std::vector<double> frequencies(const std::vector<float> &logits,
                                SamplingOptions o) {
  Sampler s(o);
  std::vector<double> f(logits.size());
  const int n = 20000;
  for (int i = 0; i < n; ++i)
    f[s.next(logits, {})] += 1.0 / n;
  return f;
}
const std::vector<float> kLogits = {std::log(0.5f), std::log(0.3f),
                                    std::log(0.2f)};
} // namespace

TEST(Sampling, GreedyIsArgmaxAfterThePenalty) {
  SamplingOptions o;
  Sampler s(o);
  EXPECT_EQ(s.next({1, 3, 2}, {}), 1);
  // Token 1 was just generated: its logit 3 / 2 = 1.5 falls below token 2's.
  o.repetitionPenalty = 2;
  Sampler p(o);
  EXPECT_EQ(p.next({1, 3, 2}, {1}), 2);
  // A negative logit is multiplied: -1 -> -2 ranks below token 0's -1.5.
  EXPECT_EQ(p.next({-1.5f, -1, -3}, {1}), 0);
  // Outside the window, no penalty.
  o.repeatLastN = 1;
  Sampler w(o);
  EXPECT_EQ(w.next({1, 3, 2}, {1, 0}), 1);
}

TEST(Sampling, DrawsFollowTheDistribution) {
  SamplingOptions o;
  o.temperature = 1;
  o.seed = 42;
  std::vector<double> f = frequencies(kLogits, o);
  EXPECT_NEAR(f[0], 0.5, 0.02);
  EXPECT_NEAR(f[1], 0.3, 0.02);
  EXPECT_NEAR(f[2], 0.2, 0.02);
  // Temperature 2 flattens: p ~ sqrt(p), normalized.
  o.temperature = 2;
  f = frequencies(kLogits, o);
  double z = std::sqrt(0.5) + std::sqrt(0.3) + std::sqrt(0.2);
  EXPECT_NEAR(f[0], std::sqrt(0.5) / z, 0.02);
  EXPECT_NEAR(f[2], std::sqrt(0.2) / z, 0.02);
}

TEST(Sampling, TopKTopPMinPCutTheCandidates) {
  SamplingOptions o;
  o.temperature = 1;
  o.topK = 1;
  EXPECT_NEAR(frequencies(kLogits, o)[0], 1.0, 1e-9);
  // Top-p 0.6: 0.5 is not enough, 0.5 + 0.3 is; renormalized 5:3.
  o.topK = 0;
  o.topP = 0.6;
  std::vector<double> f = frequencies(kLogits, o);
  EXPECT_EQ(f[2], 0.0);
  EXPECT_NEAR(f[0], 0.625, 0.02);
  // Min-p 0.5: tokens below half the top's 0.5 (0.2) go.
  o.topP = 1;
  o.minP = 0.5;
  f = frequencies(kLogits, o);
  EXPECT_EQ(f[2], 0.0);
  EXPECT_GT(f[1], 0.3);
}

TEST(Sampling, TheSeedDecides) {
  SamplingOptions o;
  o.temperature = 1;
  std::vector<float> flat(100, 0.0f);
  auto draw = [&](uint64_t seed) {
    o.seed = seed;
    Sampler s(o);
    std::vector<int64_t> out;
    for (int i = 0; i < 20; ++i)
      out.push_back(s.next(flat, out));
    return out;
  };
  EXPECT_EQ(draw(1), draw(1));
  EXPECT_NE(draw(1), draw(2));
  // The same first draws on every platform (our generator, not the
  // standard library's distributions).
  EXPECT_EQ(draw(1).front(), draw(1).front());
}

TEST(Sampling, OptionsOutOfRangeNameTheOption) {
  auto msg = [](SamplingOptions o) {
    return llvm::toString(checkSamplingOptions(o));
  };
  SamplingOptions o;
  EXPECT_FALSE(static_cast<bool>(checkSamplingOptions(o)));
  o.temperature = NAN;
  EXPECT_NE(msg(o).find("--temp"), std::string::npos);
  o = {};
  o.topK = -1;
  EXPECT_NE(msg(o).find("--top-k"), std::string::npos);
  o = {};
  o.topP = 1.5;
  EXPECT_NE(msg(o).find("--top-p"), std::string::npos);
  o = {};
  o.repeatLastN = -2;
  EXPECT_NE(msg(o).find("--repeat-last-n"), std::string::npos);
}

TEST(Sampling, StopSequencesFindTheEarliest) {
  EXPECT_EQ(findStop("Paris, France.", {".", ","}), 5u);
  EXPECT_EQ(findStop("Paris", {"x", ""}), std::string::npos);
  EXPECT_EQ(findStop("a\n\nb", {"\n\n"}), 1u);
}

TEST(Sampling, TopPKeepsExactlyTheSortedPrefix) {
  // 5000 tokens of spread logits: the candidates are the most likely tokens
  // whose mass (at temperature 1) first reaches p, as a full sort finds them.
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0, 2);
  std::vector<float> logits(5000);
  for (float &v : logits)
    v = normal(rng);
  for (double p : {0.1, 0.5, 0.9, 0.99}) {
    SamplingOptions o;
    o.temperature = 0.7;
    o.topP = p;
    Sampler s(o);
    llvm::ArrayRef<int64_t> c = s.getCandidates(logits, {});
    std::vector<int64_t> got(c.begin(), c.end());
    std::sort(got.begin(), got.end());
    std::vector<int64_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
    double top = logits[order[0]], sum = 0, cum = 0;
    for (float v : logits)
      sum += std::exp(v - top);
    std::vector<int64_t> want;
    for (int64_t id : order) {
      if (cum >= p * sum)
        break;
      want.push_back(id);
      cum += std::exp(logits[id] - top);
    }
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want) << "top-p " << p;
  }
}

// A mask (JSON mode's) draws exactly as if every refused token's logit were
// -inf: the same seed gives the same tokens, greedy and sampled, with top-k
// and top-p, whether the best tokens are refused or not; with nothing
// allowed no token is masked.
TEST(Sampling, AMaskDrawsAsIfRefusedTokensWereImpossible) {
  std::mt19937 rng(7);
  std::normal_distribution<float> spread(0, 4);
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<float> logits(5000);
    for (float &v : logits)
      v = spread(rng);
    // A cliff: a few tokens far above the rest, often all refused.
    for (int i = 0; i < 5; ++i)
      logits[rng() % logits.size()] += 200;
    int modulus = 2 + trial % 5;
    auto allowed = [&](int64_t t) { return t % modulus == 0; };
    for (double temperature : {0.0, 0.7, 1.0, 3.0}) {
      SamplingOptions o;
      o.temperature = temperature;
      o.topK = trial % 3 == 0 ? 40 : 0;
      o.topP = trial % 2 ? 0.9 : 1.0;
      o.seed = trial;
      std::vector<float> masked = logits;
      for (size_t i = 0; i < masked.size(); ++i)
        if (!allowed(i))
          masked[i] = -INFINITY;
      Sampler withMask(o), full(o);
      withMask.setAllowed(allowed);
      for (int draw = 0; draw < 20; ++draw)
        ASSERT_EQ(withMask.next(logits, {}), full.next(masked, {}))
            << "trial " << trial << " T " << temperature << " draw " << draw;
    }
  }
  // Nothing allowed: the most likely token, as without a mask.
  SamplingOptions o;
  Sampler none(o);
  none.setAllowed([](int64_t) { return false; });
  EXPECT_EQ(none.next({1, 5, 2}, {}), 1);
}
