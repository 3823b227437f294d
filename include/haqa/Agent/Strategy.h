//===- Strategy.h - propose the next schedule from the history --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Every search strategy (default, random, grid, local search, Bayesian
// optimization, NSGA-II, the LLM agent) sits behind one interface: given the
// space and the trials measured so far for one kernel, propose the next
// configuration. All are seeded and reproducible.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_AGENT_STRATEGY_H
#define HAQA_AGENT_STRATEGY_H

#include "haqa/Agent/SearchSpace.h"

#include <memory>
#include <optional>

namespace mlir::haqa {

/// One measured (or failed) configuration.
struct Trial {
  enum Status { OK, CompileError, WrongResult, Crashed, TimedOut, Invalid };
  Config config;
  Status status = OK;
  double latencyMs = 0;      ///< median, when OK
  double spreadMs = 0;       ///< interquartile range, when OK
  double maxAbsError = 0;    ///< against the reference, when measured
  /// Measured in interleaved pairs with the default schedule (when OK and
  /// > 0): the default's median in those pairs, and the median of default
  /// / this per pair with its 95% interval over `pairs` pairs. A trial of
  /// the default schedule itself has speedup 1 exactly and no pairs.
  double pairedDefaultMs = 0;
  double speedup = 0, speedupLo = 0, speedupHi = 0;
  int pairs = 0;
  std::string message;       ///< why it is not OK
  std::string proposedBy;    ///< strategy name, or "<name>:fallback"
  double seconds = 0;        ///< wall time of compile + check + measure

  bool isOK() const { return status == OK; }
  static llvm::StringRef getStatusName(Status s);
  static std::optional<Status> parseStatus(llvm::StringRef s);
};

/// An error of a strategy that retrying cannot fix (an LLM endpoint that
/// rejects the key, a model that does not exist): the tuner stops, keeping
/// every finished trial, instead of falling back round after round.
class FatalStrategyError : public llvm::ErrorInfo<FatalStrategyError> {
public:
  static char ID;
  explicit FatalStrategyError(std::string message)
      : message(std::move(message)) {}
  void log(llvm::raw_ostream &os) const override { os << message; }
  std::error_code convertToErrorCode() const override {
    return llvm::inconvertibleErrorCode();
  }

private:
  std::string message;
};

class Strategy {
public:
  virtual ~Strategy();
  virtual llvm::StringRef getName() const = 0;
  /// The next configuration to try, or std::nullopt when the strategy has
  /// nothing left to propose (the default strategy after one round). An
  /// error is a failure of the strategy itself (an LLM endpoint that cannot
  /// be reached); the tuner records it and falls back.
  virtual llvm::Expected<std::optional<Config>>
  propose(const SearchSpace &space, llvm::ArrayRef<Trial> history) = 0;
  /// Brings a fresh strategy to the state it had after proposing the trials
  /// of `history` (a resumed run), so that the run goes on as if never
  /// interrupted. The default replays every proposal against the history's
  /// prefixes; strategies whose proposals are costly override it.
  virtual void resume(const SearchSpace &space, llvm::ArrayRef<Trial> history);
};

/// Bayesian optimization (TPE) and NSGA-II (latency against the tile's
/// working set): lib/Agent/ModelBased.cpp.
std::unique_ptr<Strategy> createTPEStrategy(uint64_t seed);
std::unique_ptr<Strategy> createNSGA2Strategy(uint64_t seed);

/// "default", "random", "grid", "local", "bayes", "nsga2" ("llm" is built
/// with an endpoint: LLMAgent.h); the error lists the known names.
/// Tuners create one per kernel, seeded with getKernelSeed().
llvm::Expected<std::unique_ptr<Strategy>>
createStrategy(llvm::StringRef name, uint64_t seed);

/// The seed of one kernel's strategy: `seed` mixed with the kernel's
/// signature, so a kernel's proposals do not depend on which other kernels
/// are tuned in the same run.
uint64_t getKernelSeed(uint64_t seed, llvm::StringRef kernel);

/// The names createStrategy knows.
llvm::ArrayRef<llvm::StringRef> getStrategyNames();

/// Whether `history` already holds a trial at `c`.
bool wasTried(llvm::ArrayRef<Trial> history, const Config &c);

/// A uniform legal sample not in `history` (after at most 200 redraws; the
/// last draw otherwise): the random proposal every strategy shares.
Config sampleUntried(const SearchSpace &space, llvm::ArrayRef<Trial> history,
                     std::mt19937_64 &rng);

/// The best OK trial, or nullptr: the highest speedup over the default
/// when every OK trial was paired with it (times taken moments apart on a
/// shared machine are not comparable; ratios taken in pairs are), else the
/// lowest latency.
const Trial *getBestTrial(llvm::ArrayRef<Trial> history);

/// The best paired trial that beats the default beyond the noise (its
/// speedup's interval lies above 1), or nullptr: a difference inside the
/// interval is a tie, and ties go to the default.
const Trial *getWinningTrial(llvm::ArrayRef<Trial> history);

} // namespace mlir::haqa

#endif // HAQA_AGENT_STRATEGY_H
