//===- Tuner.cpp - propose, compile, check, measure, record
//----------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/Tuner.h"

#include "llvm/Support/FormatVariadic.h"

#include <chrono>

using namespace mlir::haqa;

llvm::Expected<std::vector<Trial>>
mlir::haqa::tuneKernel(const SearchSpace &space, Strategy &strategy,
                       MeasureFn measure, RecordFn record,
                       std::vector<Trial> history, const TuneOptions &options,
                       uint64_t fallbackSeed) {
  using Clock = std::chrono::steady_clock;
  std::mt19937_64 fallbackRng(fallbackSeed ^ 0x5DEECE66DULL);
  std::optional<double> defaultMs = options.baselineMs;
  for (const Trial &t : history)
    if (t.isOK() && t.config == space.getDefault())
      defaultMs = t.latencyMs;

  for (int round = static_cast<int>(history.size()); round < options.rounds;
       ++round) {
    auto t0 = Clock::now();
    Trial trial;
    llvm::Expected<std::optional<Config>> proposal =
        strategy.propose(space, history);
    if (!proposal) {
      llvm::Error err = proposal.takeError();
      if (err.isA<FatalStrategyError>())
        return std::move(err);
      // The strategy itself failed: say so in the trial, measure a fallback.
      trial.message = "strategy failed: " + llvm::toString(std::move(err));
      trial.config = space.sample(fallbackRng);
      trial.proposedBy = strategy.getName().str() + ":fallback";
    } else if (!*proposal) {
      break;
    } else {
      trial.config = std::move(**proposal);
      trial.proposedBy = strategy.getName().str();
    }

    ScheduleAttr schedule;
    if (llvm::Error e = space.check(trial.config)) {
      trial.status = Trial::Invalid;
      trial.message = llvm::toString(std::move(e));
      if (trial.config.size() != space.getParameters().size())
        trial.config = space.getDefault();
    } else if (!(schedule = space.toSchedule(trial.config))) {
      trial.status = Trial::Invalid;
      trial.message = "the configuration is no valid #haqa.schedule";
    } else {
      std::string note = trial.message;
      std::string proposedBy = trial.proposedBy;
      Config config = trial.config;
      trial = measure(config, schedule);
      trial.config = std::move(config);
      trial.proposedBy = proposedBy;
      if (!note.empty())
        trial.message =
            trial.message.empty() ? note : note + "; " + trial.message;
    }
    trial.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (llvm::Error e = record(trial, round))
      return std::move(e);
    if (trial.isOK() && trial.config == space.getDefault())
      defaultMs = trial.latencyMs;
    history.push_back(std::move(trial));

    if (options.elapsedSeconds && options.elapsedRounds) {
      *options.elapsedSeconds += history.back().seconds;
      *options.elapsedRounds += 1;
    }
    if (options.progress) {
      const Trial *best = getBestTrial(history);
      const Trial &last = history.back();
      double eta = 0;
      if (options.elapsedRounds && *options.elapsedRounds > 0) {
        int left =
            (options.rounds - round - 1) +
            (options.kernelCount - options.kernelIndex - 1) * options.rounds;
        eta = *options.elapsedSeconds / *options.elapsedRounds * left;
      }
      // A paired trial shows its speedup over the default, measured in the
      // same pairs, with its 95% interval; the best is the best of those.
      auto paired = [](const Trial &t) {
        return llvm::formatv("{0:F2}x default ({1:F2}-{2:F2})", t.speedup,
                             t.speedupLo, t.speedupHi)
            .str();
      };
      std::string lastText =
          !last.isOK() ? Trial::getStatusName(last.status).str()
          : last.speedup > 0 && last.pairs > 0
              ? llvm::formatv("{0:F4} ms, {1}", last.latencyMs, paired(last))
                    .str()
          : last.speedup > 0
              ? llvm::formatv("{0:F4} ms, the default", last.latencyMs).str()
              : llvm::formatv("{0:F4} ms", last.latencyMs).str();
      std::string bestText =
          !best ? std::string("-")
          : best->speedup > 0
              ? (best->pairs > 0 ? paired(*best) : std::string("the default"))
          : defaultMs
              ? llvm::formatv("{0:F4} ms ({1:F2}x default)", best->latencyMs,
                              *defaultMs / best->latencyMs)
                    .str()
              : llvm::formatv("{0:F4} ms", best->latencyMs).str();
      *options.progress << llvm::formatv(
          "[{0}/{1}] {2}  round {3}/{4}  {5}  best {6}  ETA {7:F0} s\n",
          options.kernelIndex + 1, options.kernelCount, options.label,
          round + 1, options.rounds, lastText, bestText, eta);
      options.progress->flush();
    }
  }
  return history;
}
