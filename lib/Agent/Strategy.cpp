//===- Strategy.cpp - default, random, grid and local search ---------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/Strategy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"

#include <algorithm>
#include <set>

using namespace mlir::haqa;
using llvm::ArrayRef;
using llvm::StringRef;

char FatalStrategyError::ID = 0;

Strategy::~Strategy() = default;

void Strategy::resume(const SearchSpace &space, ArrayRef<Trial> history) {
  for (size_t i = 0; i < history.size(); ++i) {
    auto p = propose(space, history.take_front(i));
    if (!p)
      llvm::consumeError(p.takeError());
  }
}

uint64_t mlir::haqa::getKernelSeed(uint64_t seed, StringRef kernel) {
  // FNV-1a over the signature, then a splitmix64 step with the seed.
  uint64_t h = 1469598103934665603ULL;
  for (char c : kernel)
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL + h;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

StringRef Trial::getStatusName(Status s) {
  switch (s) {
  case OK:
    return "ok";
  case CompileError:
    return "compile-error";
  case WrongResult:
    return "wrong-result";
  case Crashed:
    return "crashed";
  case TimedOut:
    return "timed-out";
  case Invalid:
    return "invalid";
  }
  return "?";
}

std::optional<Trial::Status> Trial::parseStatus(StringRef s) {
  return llvm::StringSwitch<std::optional<Status>>(s)
      .Case("ok", OK)
      .Case("compile-error", CompileError)
      .Case("wrong-result", WrongResult)
      .Case("crashed", Crashed)
      .Case("timed-out", TimedOut)
      .Case("invalid", Invalid)
      .Default(std::nullopt);
}

/// Is `a` better than `b` (both OK): by speedup when both have one.
static bool isBetter(const Trial &a, const Trial &b, bool bySpeedup) {
  if (bySpeedup && a.speedup != b.speedup)
    return a.speedup > b.speedup;
  return a.latencyMs < b.latencyMs;
}

const Trial *mlir::haqa::getBestTrial(ArrayRef<Trial> history) {
  bool bySpeedup = llvm::all_of(
      history, [](const Trial &t) { return !t.isOK() || t.speedup > 0; });
  const Trial *best = nullptr;
  for (const Trial &t : history)
    if (t.isOK() && (!best || isBetter(t, *best, bySpeedup)))
      best = &t;
  return best;
}

const Trial *mlir::haqa::getWinningTrial(ArrayRef<Trial> history) {
  const Trial *best = nullptr;
  for (const Trial &t : history)
    if (t.isOK() && t.speedup > 0 && t.speedupLo > 1 &&
        (!best || isBetter(t, *best, true)))
      best = &t;
  return best;
}

bool mlir::haqa::wasTried(ArrayRef<Trial> history, const Config &c) {
  return llvm::any_of(history, [&](const Trial &t) { return t.config == c; });
}

Config mlir::haqa::sampleUntried(const SearchSpace &space,
                                 ArrayRef<Trial> history,
                                 std::mt19937_64 &rng) {
  Config c = space.sample(rng);
  for (int i = 0; i < 200 && wasTried(history, c); ++i)
    c = space.sample(rng);
  return c;
}

namespace {

/// The compiler's default schedule, once.
class DefaultStrategy final : public Strategy {
public:
  StringRef getName() const override { return "default"; }
  llvm::Expected<std::optional<Config>>
  propose(const SearchSpace &space, ArrayRef<Trial> history) override {
    if (!history.empty())
      return std::nullopt;
    return space.getDefault();
  }
};

/// Uniform samples of the legal configs, never one already tried (as long
/// as untried ones are found in a bounded number of draws).
class RandomStrategy final : public Strategy {
public:
  explicit RandomStrategy(uint64_t seed) : rng(seed) {}
  StringRef getName() const override { return "random"; }
  llvm::Expected<std::optional<Config>>
  propose(const SearchSpace &space, ArrayRef<Trial> history) override {
    return sampleUntried(space, history, rng);
  }

private:
  std::mt19937_64 rng;
};

/// A coarse grid: each parameter at its smallest, default and largest value,
/// the product walked from the default point with a fixed stride coprime to
/// its size (a spread-out, reproducible order; the seed picks the start).
class GridStrategy final : public Strategy {
public:
  explicit GridStrategy(uint64_t seed) : seed(seed) {}
  StringRef getName() const override { return "grid"; }
  llvm::Expected<std::optional<Config>>
  propose(const SearchSpace &space, ArrayRef<Trial> history) override {
    if (levels.empty())
      build(space);
    if (history.empty())
      return space.getDefault();
    uint64_t size = 1;
    for (const auto &l : levels)
      size *= l.size();
    for (; next < size; ++next) {
      uint64_t idx = (start + next * stride) % size;
      Config c;
      for (const auto &l : levels) {
        c.push_back(l[idx % l.size()]);
        idx /= l.size();
      }
      if (wasTried(history, c))
        continue;
      if (llvm::Error e = space.check(c)) {
        llvm::consumeError(std::move(e));
        continue;
      }
      ++next;
      return c;
    }
    return std::nullopt;
  }

private:
  void build(const SearchSpace &space) {
    uint64_t size = 1;
    for (const Parameter &p : space.getParameters()) {
      std::set<int64_t> l = {p.values.front(), p.defaultValue,
                             p.values.back()};
      levels.emplace_back(l.begin(), l.end());
      size *= levels.back().size();
    }
    // A stride near size / golden ratio, made coprime to size.
    stride = std::max<uint64_t>(1, static_cast<uint64_t>(size * 0.618));
    while (std::gcd(stride, size) != 1)
      ++stride;
    start = size ? seed % size : 0;
  }
  uint64_t seed, stride = 1, start = 0, next = 0;
  std::vector<std::vector<int64_t>> levels;
};

/// Hill climbing from the default: the untried neighbours of the best point
/// so far in a seeded random order; a random restart when all were tried.
class LocalStrategy final : public Strategy {
public:
  explicit LocalStrategy(uint64_t seed) : rng(seed) {}
  StringRef getName() const override { return "local"; }
  llvm::Expected<std::optional<Config>>
  propose(const SearchSpace &space, ArrayRef<Trial> history) override {
    if (history.empty())
      return space.getDefault();
    const Trial *best = getBestTrial(history);
    Config center = best ? best->config : space.getDefault();
    std::vector<Config> n = space.neighbors(center);
    std::shuffle(n.begin(), n.end(), rng);
    for (Config &c : n)
      if (!wasTried(history, c))
        return c;
    return sampleUntried(space, history, rng);
  }

private:
  std::mt19937_64 rng;
};

} // namespace

ArrayRef<StringRef> mlir::haqa::getStrategyNames() {
  static const StringRef names[] = {"default", "random", "grid",
                                    "local",   "bayes",  "nsga2"};
  return names;
}

llvm::Expected<std::unique_ptr<Strategy>>
mlir::haqa::createStrategy(StringRef name, uint64_t seed) {
  if (name == "default")
    return std::make_unique<DefaultStrategy>();
  if (name == "random")
    return std::make_unique<RandomStrategy>(seed);
  if (name == "grid")
    return std::make_unique<GridStrategy>(seed);
  if (name == "local")
    return std::make_unique<LocalStrategy>(seed);
  if (name == "bayes")
    return createTPEStrategy(seed);
  if (name == "nsga2")
    return createNSGA2Strategy(seed);
  if (name == "llm" || name == "llm+local")
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "the " + name + " strategy needs an endpoint (LLMAgent.h)");
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "unknown strategy '" + name + "' (known: " +
                                     llvm::join(getStrategyNames(), ", ") +
                                     ", llm, llm+local)");
}
