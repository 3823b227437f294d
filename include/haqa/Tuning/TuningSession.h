//===- TuningSession.h - tune a set of kernels on a target ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// One tuning run: a strategy (a classical search or the LLM agent) proposes
// schedules for each kernel, the harness measures them on the target (in
// forked children), and every trial is recorded in the SQLite records (an
// interrupted run resumes; a kernel tuned before is reused) and logged as
// JSONL; the run ends with report.html and a table of the best schedules.
// haqa-compile --table3 and the compile session's tune phase both use it.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_TUNING_TUNINGSESSION_H
#define HAQA_TUNING_TUNINGSESSION_H

#include "haqa/Agent/LLMAgent.h"
#include "haqa/Agent/Records.h"
#include "haqa/Agent/Report.h"
#include "haqa/Hardware/Profile.h"
#include "haqa/Pipelines/Target.h"
#include "haqa/Runtime/KernelHarness.h"

#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::haqa {

/// The LLM agent's endpoint and prompts.
struct LLMOptions {
  /// OpenAI-compatible endpoint (else $HAQA_LLM_BASE_URL), model (else
  /// $HAQA_LLM_MODEL) and key (else $HAQA_LLM_API_KEY, $OPENAI_API_KEY).
  std::string baseURL, model, apiKey;
  double timeoutSeconds = 120;
  int retries = 4;
  int maxTokens = 768;
  /// Sampling temperature of a first ask (re-asks go 0.3 higher each).
  double temperature = 0.2;
  /// Replies as one JSON object {"thought": ..., "action": {...}}, asked
  /// with response_format json_object.
  bool jsonMode = false;
  /// Re-asks after an unusable reply.
  int reasks = 2;
  /// Token budget of the measured history in each prompt.
  int historyTokens = 2000;
  /// Prompt templates (empty: $HAQA_PROMPT_DIR or the source tree's).
  std::string promptDir;
};

struct TuningOptions {
  /// auto (llm when an endpoint is configured, else local), default,
  /// random, grid, local, bayes, nsga2, llm.
  std::string strategy = "auto";
  uint64_t seed = 0;
  /// Trials per kernel.
  int rounds = 10;
  /// Timed runs per trial, and seconds per trial.
  int repeats = 10;
  double timeoutSeconds = 60;
  /// Tune kernels whose best schedule is already recorded.
  bool retune = false;
  /// On the CPU, time every candidate with the caches evicted first (the
  /// weights come from DRAM, as in a model's decode step); off, they stay
  /// in cache between runs (Table 3, comparisons with ggml's kernels).
  bool coldCaches = false;
  /// The best of many noisy trials is biased low (a minimum): before a
  /// tuned schedule replaces the default, both are measured again this many
  /// times `repeats` pairs at most, interleaved, and the tuned one is kept
  /// only when the speedup's 95% interval lies above 1 and its median is at
  /// least 1 + kConfirmMargin. 0: no confirmation.
  int confirmRounds = 2;
  /// Where records.sqlite (unless `recordsPath`), run.jsonl and report.html
  /// go.
  std::string outDir = "out/tune";
  std::string recordsPath;
  /// The memory limit as the user wrote it, stated to the LLM.
  std::string memoryLimit = "none";
  LLMOptions llm;
  /// Where kernels are measured.
  CompileTarget target = CompileTarget::CPU;
  /// Names the tool in the progress header ("haqa-compile: 10 kernels ...").
  std::string tool = "haqa-compile";
};

/// The compile target that runs code for `profile` on this machine: cpu for
/// a CPU profile; for an NVIDIA one, gpu-on-cpu when `gpuOnCPU`, else cuda
/// when this machine has a GPU (probed once, in a child process); for an
/// OpenCL one (Adreno), opencl when this machine has an OpenCL device (any
/// ICD: PoCL on the host CPU here, which the output then measures); else an
/// error saying that the target `verb` ("runs on", "is measured on") such a
/// device, and for OpenCL `openclWhat`.
llvm::Expected<CompileTarget> resolveRunTarget(const HardwareProfile &profile,
                                               bool gpuOnCPU,
                                               llvm::StringRef verb,
                                               llvm::StringRef openclWhat);

/// A kernel to tune: a kernel module (KernelHarness.h) and its label.
struct TuningKernel {
  std::string label;
  ModuleOp module;
};

/// What tuning one kernel gave.
/// How much faster (relative) a tuned schedule must confirm to be than the
/// default: smaller differences are within the run-to-run spread here.
constexpr double kConfirmMargin = 0.03;

struct TunedKernel {
  std::string label;
  /// "tuned", "default" (no trial beat the default schedule, or the winner
  /// did not confirm) or "reused" (recorded by an earlier run).
  std::string source;
  int trials = 0, failed = 0;
  double defaultMs = 0, bestMs = 0;
  /// Default / tuned, the median over interleaved pairs (the confirmation's
  /// when there was one) and its 95% interval: the speedup printed and the
  /// spread next to it. 0 when the default stays.
  double ratio = 0, ratioLo = 0, ratioHi = 0;
  /// The schedule to use; null when no trial was correct.
  ScheduleAttr best;
};

class TuningSession {
public:
  /// Resolves the strategy (an LLM needs its endpoint and prompts), opens
  /// the records and the log in `options.outDir`.
  static llvm::Expected<std::unique_ptr<TuningSession>>
  create(const HardwareProfile &profile, TuningOptions options,
         llvm::raw_ostream &progress);
  ~TuningSession();

  /// "llm", "local", ...: the strategy after resolving "auto".
  llvm::StringRef getStrategyName() const { return strategyName; }
  /// The LLM's configuration and prompts when the strategy is llm.
  const std::optional<LLMConfig> &getLLMConfig() const { return llmConfig; }
  const std::optional<PromptTemplates> &getPrompts() const { return prompts; }
  const TuningOptions &getOptions() const { return options; }

  /// Tunes each kernel (schedules in the kernels' context), writes
  /// report.html and returns one result per kernel, in order. The error
  /// says what stopped the run; every finished trial is in the records.
  llvm::Expected<std::vector<TunedKernel>>
  tune(llvm::ArrayRef<TuningKernel> kernels);
  /// TuningOptions::coldCaches for the next tune() calls.
  void setColdCaches(bool cold) { options.coldCaches = cold; }

  /// The results as the table haqa-compile prints, and the report's path.
  void printTable(llvm::raw_ostream &os,
                  llvm::ArrayRef<TunedKernel> results) const;

  /// Appends one JSON event to run.jsonl (best effort).
  void log(llvm::json::Object event);

  /// Writes report.html again, the last tune() call's kernels under
  /// `summary` (the compile session's decisions, Report.h).
  llvm::Error writeReportWithSummary(
      std::vector<std::pair<std::string, std::string>> summary);

private:
  /// Measures `row.best` against `defaultSchedule` in interleaved pairs
  /// (`measure` pairs them) and keeps the default unless the tuned one is
  /// faster beyond the noise and by kConfirmMargin; the row's times and
  /// ratio become the confirmation's.
  void confirm(TunedKernel &row,
               llvm::function_ref<Trial(ScheduleAttr)> measure,
               ScheduleAttr defaultSchedule, size_t index, size_t count);
  TuningSession(const HardwareProfile &profile, TuningOptions options,
                llvm::raw_ostream &progress)
      : profile(profile), options(std::move(options)), progress(progress) {}

  HardwareProfile profile;
  TuningOptions options;
  llvm::raw_ostream &progress;
  std::string strategyName;
  std::optional<LLMConfig> llmConfig;
  /// The report of the last tune() call.
  ReportInput lastReport;
  std::optional<PromptTemplates> prompts;
  std::unique_ptr<RecordStore> store;
  std::string recordsPath, logPath, reportPath;
  std::unique_ptr<llvm::raw_fd_ostream> logStream;
};

} // namespace mlir::haqa

#endif // HAQA_TUNING_TUNINGSESSION_H
