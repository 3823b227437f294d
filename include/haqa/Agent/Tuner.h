//===- Tuner.h - propose, compile, check, measure, record -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The tuning loop for one kernel: N rounds of propose (strategy), constraint
// check (space), compile + check against the reference + time (measure
// callback, a child process on the CPU), record (callback, before the next
// round). Invalid proposals, compile errors, wrong results, crashes and
// time-outs are trials like any other: recorded and fed back.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_AGENT_TUNER_H
#define HAQA_AGENT_TUNER_H

#include "haqa/Agent/Strategy.h"

#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <optional>

namespace mlir::haqa {

/// Compiles, checks and times one configuration. `schedule` is the
/// configuration as a #haqa.schedule. Must not throw or crash the caller.
using MeasureFn =
    std::function<Trial(const Config &config, ScheduleAttr schedule)>;
/// Persists one finished trial of `round`; an error stops the tuning.
using RecordFn = std::function<llvm::Error(const Trial &trial, int round)>;

struct TuneOptions {
  int rounds = 10;
  /// Progress lines (kernel, round, best so far, ETA) go here when set.
  llvm::raw_ostream *progress = nullptr;
  std::string label; ///< the kernel, for progress lines
  /// The default schedule's latency when measured outside the rounds: the
  /// progress lines show the best's speed-up over it.
  std::optional<double> baselineMs;
  int kernelIndex = 0; ///< for "[3/21]" and the ETA
  int kernelCount = 1;
  /// Seconds of the rounds already run in this session over all kernels,
  /// and their count: the ETA's rate (updated by tune()).
  double *elapsedSeconds = nullptr;
  int *elapsedRounds = nullptr;
};

/// Runs the rounds left after `history` (a resumed tuning passes its stored
/// trials) and returns the whole history. A strategy that fails to propose
/// (an unreachable LLM) is recorded as such and a random legal point is
/// measured instead ("<strategy>:fallback"); one that has nothing left ends
/// the tuning early.
llvm::Expected<std::vector<Trial>>
tuneKernel(const SearchSpace &space, Strategy &strategy, MeasureFn measure,
           RecordFn record, std::vector<Trial> history,
           const TuneOptions &options, uint64_t fallbackSeed = 0);

} // namespace mlir::haqa

#endif // HAQA_AGENT_TUNER_H
