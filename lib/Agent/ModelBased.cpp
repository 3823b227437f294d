//===- ModelBased.cpp - Bayesian optimization (TPE) and NSGA-II -----------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Two classical baselines the LLM agent is compared against at equal budget:
// Bayesian optimization with a tree-structured Parzen estimator over the
// ordinal parameters, and NSGA-II trading latency against the tile's working
// set (the second objective a schedule has without accuracy in play).
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/Strategy.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

using namespace mlir::haqa;
using llvm::ArrayRef;
using llvm::StringRef;

static size_t indexIn(const Parameter &p, int64_t v) {
  auto it = llvm::find(p.values, v);
  return it == p.values.end() ? 0 : it - p.values.begin();
}

namespace {

/// TPE: after a few random starts, split the measured trials into the best
/// quarter and the rest, model each parameter's values in both groups with
/// an ordinal kernel (a value also lends weight to its neighbours), and
/// propose the candidate (of 32 sampled from the good model) that maximizes
/// good / bad. Failed trials count as bad.
class TPEStrategy final : public Strategy {
public:
  explicit TPEStrategy(uint64_t seed) : rng(seed) {}
  StringRef getName() const override { return "bayes"; }

  llvm::Expected<std::optional<Config>>
  propose(const SearchSpace &space, ArrayRef<Trial> history) override {
    if (history.empty())
      return space.getDefault();
    std::vector<const Trial *> ok;
    for (const Trial &t : history)
      if (t.isOK())
        ok.push_back(&t);
    if (history.size() < kStartup || ok.size() < 2)
      return sampleUntried(space, history, rng);
    llvm::sort(ok, [](const Trial *a, const Trial *b) {
      return a->latencyMs < b->latencyMs;
    });
    size_t nGood = std::max<size_t>(1, (ok.size() + 3) / 4);
    std::vector<const Trial *> good(ok.begin(), ok.begin() + nGood), bad;
    for (const Trial &t : history)
      if (!llvm::is_contained(good, &t))
        bad.push_back(&t);

    ArrayRef<Parameter> params = space.getParameters();
    auto density = [&](const std::vector<const Trial *> &group, size_t p) {
      size_t k = params[p].values.size();
      std::vector<double> w(k, 1.0 / k); // prior
      for (const Trial *t : group) {
        if (t->config.size() != params.size())
          continue;
        size_t i = indexIn(params[p], t->config[p]);
        w[i] += 1.0;
        if (i > 0)
          w[i - 1] += 0.4;
        if (i + 1 < k)
          w[i + 1] += 0.4;
      }
      double sum = 0;
      for (double x : w)
        sum += x;
      for (double &x : w)
        x /= sum;
      return w;
    };
    std::vector<std::vector<double>> l, g;
    for (size_t p = 0; p < params.size(); ++p) {
      l.push_back(density(good, p));
      g.push_back(density(bad, p));
    }
    std::optional<Config> best;
    double bestScore = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < 32; ++c) {
      Config cand;
      double score = 0;
      for (size_t p = 0; p < params.size(); ++p) {
        std::discrete_distribution<size_t> d(l[p].begin(), l[p].end());
        size_t i = d(rng);
        cand.push_back(params[p].values[i]);
        score += std::log(l[p][i]) - std::log(g[p][i]);
      }
      if (wasTried(history, cand))
        continue;
      if (llvm::Error e = space.check(cand)) {
        llvm::consumeError(std::move(e));
        continue;
      }
      if (score > bestScore) {
        bestScore = score;
        best = cand;
      }
    }
    if (!best)
      return sampleUntried(space, history, rng);
    return best;
  }

private:
  static constexpr size_t kStartup = 4;
  std::mt19937_64 rng;
};

/// NSGA-II over (latency, tile working set in bytes): a population of 6,
/// offspring by binary tournament on (front rank, crowding distance),
/// uniform crossover and a one-step mutation per parameter with probability
/// 1 / #parameters. Proposals are the offspring, one per round; failed
/// trials rank below every measured one.
class NSGA2Strategy final : public Strategy {
public:
  explicit NSGA2Strategy(uint64_t seed) : rng(seed) {}
  StringRef getName() const override { return "nsga2"; }

  llvm::Expected<std::optional<Config>>
  propose(const SearchSpace &space, ArrayRef<Trial> history) override {
    if (history.empty())
      return space.getDefault();
    if (history.size() < kPopulation)
      return sampleUntried(space, history, rng);
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (pending.empty())
        breed(space, history);
      Config c = pending.front();
      pending.pop_front();
      if (wasTried(history, c))
        continue;
      if (llvm::Error e = space.check(c)) {
        llvm::consumeError(std::move(e));
        continue;
      }
      return c;
    }
    return sampleUntried(space, history, rng);
  }

private:
  static constexpr size_t kPopulation = 6;

  struct Scored {
    const Trial *trial;
    double f[2];
    int rank = 0;
    double crowd = 0;
  };

  static double footprint(const SearchSpace &space, const Config &c) {
    double bytes = 4;
    for (size_t i = 0; i < space.getKernel().dims.size() && i < c.size(); ++i)
      bytes *= static_cast<double>(c[i]);
    return bytes;
  }

  void breed(const SearchSpace &space, ArrayRef<Trial> history) {
    std::vector<Scored> pop;
    for (const Trial &t : history) {
      if (t.config.size() != space.getParameters().size())
        continue;
      double lat = t.isOK() ? t.latencyMs : std::numeric_limits<double>::max();
      pop.push_back({&t, {lat, footprint(space, t.config)}});
    }
    // Non-dominated sorting.
    auto dominates = [](const Scored &a, const Scored &b) {
      return a.f[0] <= b.f[0] && a.f[1] <= b.f[1] &&
             (a.f[0] < b.f[0] || a.f[1] < b.f[1]);
    };
    std::vector<bool> assigned(pop.size(), false);
    size_t done = 0;
    for (int rank = 0; done < pop.size(); ++rank) {
      std::vector<size_t> front;
      for (size_t i = 0; i < pop.size(); ++i) {
        if (assigned[i])
          continue;
        bool dominated = false;
        for (size_t j = 0; j < pop.size() && !dominated; ++j)
          dominated = j != i && !assigned[j] && dominates(pop[j], pop[i]);
        if (!dominated)
          front.push_back(i);
      }
      for (size_t i : front) {
        assigned[i] = true;
        pop[i].rank = rank;
      }
      done += front.size();
      // Crowding distance within the front.
      for (int m = 0; m < 2; ++m) {
        llvm::sort(front, [&](size_t a, size_t b) {
          return pop[a].f[m] < pop[b].f[m];
        });
        double span = pop[front.back()].f[m] - pop[front.front()].f[m];
        pop[front.front()].crowd = pop[front.back()].crowd =
            std::numeric_limits<double>::infinity();
        for (size_t k = 1; k + 1 < front.size(); ++k)
          if (span > 0)
            pop[front[k]].crowd +=
                (pop[front[k + 1]].f[m] - pop[front[k - 1]].f[m]) / span;
      }
    }
    // The parents: the best kPopulation by (rank, -crowding).
    llvm::sort(pop, [](const Scored &a, const Scored &b) {
      return a.rank != b.rank ? a.rank < b.rank : a.crowd > b.crowd;
    });
    if (pop.size() > kPopulation)
      pop.resize(kPopulation);
    auto tournament = [&]() -> const Scored & {
      std::uniform_int_distribution<size_t> d(0, pop.size() - 1);
      const Scored &a = pop[d(rng)], &b = pop[d(rng)];
      if (a.rank != b.rank)
        return a.rank < b.rank ? a : b;
      return a.crowd >= b.crowd ? a : b;
    };
    ArrayRef<Parameter> params = space.getParameters();
    std::uniform_real_distribution<double> u(0, 1);
    for (size_t k = 0; k < kPopulation; ++k) {
      const Config &pa = tournament().trial->config;
      const Config &pb = tournament().trial->config;
      Config child;
      for (size_t p = 0; p < params.size(); ++p) {
        int64_t v = u(rng) < 0.5 ? pa[p] : pb[p];
        if (u(rng) < 1.0 / params.size()) {
          size_t i = indexIn(params[p], v);
          size_t n = params[p].values.size();
          if (n > 1) {
            if (i == 0)
              i = 1;
            else if (i + 1 == n)
              i = n - 2;
            else
              i = u(rng) < 0.5 ? i - 1 : i + 1;
          }
          v = params[p].values[i];
        }
        child.push_back(v);
      }
      pending.push_back(std::move(child));
    }
  }


  std::mt19937_64 rng;
  std::deque<Config> pending;
};

} // namespace

std::unique_ptr<Strategy> mlir::haqa::createTPEStrategy(uint64_t seed) {
  return std::make_unique<TPEStrategy>(seed);
}

std::unique_ptr<Strategy> mlir::haqa::createNSGA2Strategy(uint64_t seed) {
  return std::make_unique<NSGA2Strategy>(seed);
}
