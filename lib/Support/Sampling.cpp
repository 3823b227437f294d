//===- Sampling.cpp - choosing the next token from logits ----------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/Sampling.h"

#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <unordered_set>
#include <vector>

int64_t mlir::haqa::argmax(llvm::ArrayRef<float> values) {
  int64_t best = 0;
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i] > values[best])
      best = i;
  return best;
}

int64_t mlir::haqa::getMaxNewTokens(int64_t pos, int64_t promptTokens,
                                    int64_t context) {
  return std::max<int64_t>(0, context - pos - promptTokens + 1);
}

llvm::Error mlir::haqa::checkPromptFits(int64_t pos, int64_t promptTokens,
                                        int64_t context) {
  if (promptTokens < 1 || pos + promptTokens > context)
    return llvm::createStringError("a prompt of " + llvm::Twine(promptTokens) +
                                   " tokens at position " + llvm::Twine(pos) +
                                   " does not fit the context of " +
                                   llvm::Twine(context) + " tokens");
  return llvm::Error::success();
}

llvm::Expected<int64_t> mlir::haqa::boundGeneration(int64_t pos,
                                                    int64_t promptTokens,
                                                    int64_t n, int64_t context,
                                                    llvm::raw_ostream &notes) {
  if (llvm::Error e = checkPromptFits(pos, promptTokens, context))
    return std::move(e);
  int64_t room = getMaxNewTokens(pos, promptTokens, context);
  if (n <= room)
    return n;
  notes << "note: -n " << n << ": the context of " << context
        << " tokens holds the prompt's " << promptTokens << " and " << room
        << " more; generating " << room << "\n";
  return room;
}

size_t mlir::haqa::findStop(llvm::StringRef text,
                            llvm::ArrayRef<std::string> stops) {
  size_t first = llvm::StringRef::npos;
  for (const std::string &s : stops)
    if (!s.empty())
      first = std::min(first, text.find(s));
  return first;
}

llvm::Error mlir::haqa::checkSamplingOptions(const SamplingOptions &o) {
  auto bad = [](const char *opt, double v, const char *range) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", v);
    return llvm::createStringError(llvm::Twine(opt) + " must be " + range +
                                   ", not " + text);
  };
  if (!(o.temperature >= 0 && o.temperature <= 100))
    return bad("--temp", o.temperature, "in [0, 100] (0: greedy)");
  if (o.topK < 0)
    return bad("--top-k", static_cast<double>(o.topK),
               "at least 0 (0: all tokens)");
  if (!(o.topP > 0 && o.topP <= 1))
    return bad("--top-p", o.topP, "in (0, 1] (1: all tokens)");
  if (!(o.minP >= 0 && o.minP < 1))
    return bad("--min-p", o.minP, "in [0, 1) (0: none dropped)");
  if (!(o.repetitionPenalty > 0 && o.repetitionPenalty <= 100))
    return bad("--repeat-penalty", o.repetitionPenalty,
               "in (0, 100] (1: none)");
  if (o.repeatLastN < 0)
    return bad("--repeat-last-n", static_cast<double>(o.repeatLastN),
               "at least 0");
  return llvm::Error::success();
}

mlir::haqa::Sampler::Sampler(SamplingOptions options)
    : options(options), state(options.seed) {}

double mlir::haqa::Sampler::uniform() {
  // splitmix64: small, fast, the same sequence everywhere.
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

int64_t mlir::haqa::Sampler::next(llvm::ArrayRef<float> logits,
                                  llvm::ArrayRef<int64_t> context) {
  if (logits.empty())
    return 0;
  if (options.isGreedy())
    return argmax(penalize(logits, context));
  llvm::ArrayRef<int64_t> c = getCandidates(logits, context);
  const std::vector<float> &l = this->logits;
  float top = l[c.front()];
  for (int64_t id : c)
    top = std::max(top, l[id]);
  // The draw at the temperature, over the candidates in their order.
  std::vector<float> &p = probs;
  p.resize(c.size());
  float invT = static_cast<float>(1 / options.temperature);
  double total = 0;
  for (size_t i = 0; i < c.size(); ++i)
    total += p[i] = std::exp((l[c[i]] - top) * invT);
  double r = uniform() * total, cum = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    cum += p[i];
    if (r < cum)
      return c[i];
  }
  return c.back();
}

const std::vector<float> &
mlir::haqa::Sampler::penalize(llvm::ArrayRef<float> logits,
                              llvm::ArrayRef<int64_t> context) {
  const SamplingOptions &o = options;
  std::vector<float> &l = this->logits;
  l.assign(logits.begin(), logits.end());
  // Repetition penalty over the window (each token once).
  if (o.repetitionPenalty != 1 && o.repeatLastN > 0) {
    size_t from = context.size() > static_cast<size_t>(o.repeatLastN)
                      ? context.size() - o.repeatLastN
                      : 0;
    std::unordered_set<int64_t> seen(context.begin() + from, context.end());
    for (int64_t t : seen)
      if (t >= 0 && static_cast<size_t>(t) < l.size())
        l[t] =
            l[t] > 0 ? l[t] / o.repetitionPenalty : l[t] * o.repetitionPenalty;
  }
  if (allowed) {
    bool any = false;
    std::vector<float> kept = l;
    for (size_t i = 0; i < l.size(); ++i) {
      if (allowed(static_cast<int64_t>(i)))
        any = true;
      else
        l[i] = -INFINITY;
    }
    if (!any)
      l = std::move(kept);
  }
  return l;
}

llvm::ArrayRef<int64_t>
mlir::haqa::Sampler::getCandidates(llvm::ArrayRef<float> logits,
                                   llvm::ArrayRef<int64_t> context) {
  const SamplingOptions &o = options;
  const std::vector<float> &l = penalize(logits, context);
  if (l.empty())
    return {};
  // The candidates, in id order. Tokens more than 40 x max(1, T) below the
  // top are less likely than e^-40 times it at either temperature used
  // below: never candidates. No full sort of the vocabulary anywhere (at
  // 150k tokens that costs more than a small model's decode step).
  float top = *std::max_element(l.begin(), l.end());
  float floor = top - 40.0f * static_cast<float>(std::max(1.0, o.temperature));
  // Min-p compares a token's probability with the top's: exp(l - top) >=
  // min-p, a bound on the logit (the same at any normalization).
  if (o.minP > 0)
    floor = std::max(floor, top + static_cast<float>(std::log(o.minP)));
  ids.clear();
  for (size_t i = 0; i < l.size(); ++i)
    if (l[i] >= floor)
      ids.push_back(static_cast<int64_t>(i));
  auto byLogit = [&](int64_t a, int64_t b) {
    return l[a] != l[b] ? l[a] > l[b] : a < b;
  };
  if (o.topK > 0 && static_cast<size_t>(o.topK) < ids.size()) {
    std::nth_element(ids.begin(), ids.begin() + o.topK, ids.end(), byLogit);
    ids.resize(o.topK);
  }
  // Top-p on the probabilities at temperature 1 after top-k (llama.cpp's
  // order; min-p, which only drops the least likely, commutes with it): the
  // most likely candidates that hold mass p. Found without sorting them
  // all: the candidates go into buckets by logit, whole buckets are kept
  // from the top while their mass stays below p, and only the bucket where
  // p is reached is sorted.
  if (o.topP < 1 && ids.size() > 1) {
    std::vector<float> &w = probs;
    w.resize(ids.size());
    double sum = 0;
    for (size_t i = 0; i < ids.size(); ++i)
      sum += w[i] = std::exp(l[ids[i]] - top);
    double target = o.topP * sum;
    constexpr int kBuckets = 4096;
    float range = std::max(top - floor, 1e-30f);
    auto bucketOf = [&](int64_t id) {
      return std::min(kBuckets - 1,
                      static_cast<int>((top - l[id]) / range * kBuckets));
    };
    std::vector<double> mass(kBuckets);
    for (size_t i = 0; i < ids.size(); ++i)
      mass[bucketOf(ids[i])] += w[i];
    int cut = 0;
    double before = 0;
    while (cut < kBuckets - 1 && before + mass[cut] < target)
      before += mass[cut++];
    std::vector<int64_t> kept, edge;
    for (int64_t id : ids) {
      int b = bucketOf(id);
      if (b < cut)
        kept.push_back(id);
      else if (b == cut)
        edge.push_back(id);
    }
    std::sort(edge.begin(), edge.end(), byLogit);
    for (int64_t id : edge) {
      if (before >= target && !kept.empty())
        break;
      kept.push_back(id);
      before += std::exp(l[id] - top);
    }
    ids = std::move(kept);
  }
  return ids;
}
