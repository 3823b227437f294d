//===- haqa-compile.cpp - tune kernels for a target -------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The deployment driver. Today: list the hardware profiles, and tune the
// paper's Table 3 kernels on the host CPU with any search strategy, every
// trial recorded in the SQLite records database (an interrupted run resumes;
// a kernel tuned before is reused) and logged as JSONL.
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/KernelTuning.h"
#include "haqa/Agent/LLMAgent.h"
#include "haqa/Agent/Records.h"
#include "haqa/Agent/Report.h"
#include "haqa/Agent/Tuner.h"
#include "haqa/Hardware/Profile.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::haqa;
namespace cl = llvm::cl;

static cl::OptionCategory category("haqa-compile options");
static cl::opt<bool> listTargets("list-targets",
                                 cl::desc("print the hardware profiles"),
                                 cl::cat(category));
static cl::opt<std::string> hardwareDir(
    "hardware-dir",
    cl::desc("directory of hardware profile files (default: "
             "$HAQA_HARDWARE_DIR or the source tree's hardware/)"),
    cl::cat(category));
static cl::opt<std::string> targetOpt("target",
                                      cl::desc("hardware profile id (host)"),
                                      cl::init("host"), cl::cat(category));
static cl::opt<bool> table3("table3",
                            cl::desc("tune the paper's Table 3 kernels"),
                            cl::cat(category));
static cl::opt<std::string> tokensOpt("tokens",
                                      cl::desc("Table 3 token counts"),
                                      cl::init("1,64,128"), cl::cat(category));
static cl::opt<std::string>
    weightsOpt("weights", cl::desc("matmul weight storages"),
               cl::init("f16,q8_0,q4_0"), cl::cat(category));
static cl::opt<std::string> kernelsOpt(
    "kernels", cl::desc("only these kernels (comma list, e.g. matmul,rope)"),
    cl::cat(category));
static cl::opt<std::string> strategyOpt(
    "strategy",
    cl::desc("search strategy: auto (llm when an endpoint is configured, "
             "else local), default, random, grid, local, bayes, nsga2, llm"),
    cl::init("auto"), cl::cat(category));
static cl::opt<std::string>
    llmBaseURL("llm-base-url",
               cl::desc("OpenAI-compatible endpoint, e.g. "
                        "https://api.openai.com/v1 (or $HAQA_LLM_BASE_URL)"),
               cl::cat(category));
static cl::opt<std::string>
    llmModel("llm-model", cl::desc("model name (or $HAQA_LLM_MODEL)"),
             cl::cat(category));
static cl::opt<std::string> llmKey(
    "llm-api-key",
    cl::desc("API key (or $HAQA_LLM_API_KEY, then $OPENAI_API_KEY); never "
             "logged"),
    cl::cat(category));
static cl::opt<double> llmTimeout("llm-timeout",
                                  cl::desc("seconds per LLM request"),
                                  cl::init(120), cl::cat(category));
static cl::opt<int> llmRetries(
    "llm-retries",
    cl::desc("retries of a request on 429 / 5xx / no connection"),
    cl::init(4), cl::cat(category));
static cl::opt<int> llmReasks("llm-reasks",
                              cl::desc("re-asks after an unusable reply"),
                              cl::init(2), cl::cat(category));
static cl::opt<int> historyTokens(
    "history-tokens",
    cl::desc("token budget of the measured history in each prompt"),
    cl::init(2000), cl::cat(category));
static cl::opt<std::string>
    promptDir("prompt-dir",
              cl::desc("prompt templates (default: $HAQA_PROMPT_DIR or the "
                       "source tree's prompts/)"),
              cl::cat(category));
static cl::opt<std::string>
    memoryLimit("memory-limit",
                cl::desc("memory limit stated to the agent, e.g. 10GiB"),
                cl::init("none"), cl::cat(category));
static cl::opt<int> roundsOpt("rounds", cl::desc("trials per kernel"),
                              cl::init(10), cl::cat(category));
static cl::opt<uint64_t> seedOpt("seed", cl::desc("strategy seed"),
                                 cl::init(0), cl::cat(category));
static cl::opt<int> repeatsOpt("repeats",
                               cl::desc("timed runs per trial"), cl::init(10),
                               cl::cat(category));
static cl::opt<double> timeoutOpt("timeout",
                                  cl::desc("seconds per trial"),
                                  cl::init(60), cl::cat(category));
static cl::opt<std::string>
    recordsOpt("records",
               cl::desc("records database (default: <out>/records.sqlite)"),
               cl::cat(category));
static cl::opt<std::string> outOpt("o", cl::desc("output directory"),
                                   cl::init("out/tune"), cl::cat(category));
static cl::opt<bool> retune(
    "retune",
    cl::desc("tune even kernels whose best schedule is already recorded"),
    cl::cat(category));

static int fail(const llvm::Twine &msg) {
  llvm::errs() << "haqa-compile: error: " << msg << "\n";
  return 1;
}

static std::string humanBytes(uint64_t b) {
  if (b >= (1ull << 30))
    return llvm::formatv("{0:F0} GiB", b / double(1ull << 30)).str();
  if (b >= (1ull << 20))
    return llvm::formatv("{0:F0} MiB", b / double(1ull << 20)).str();
  return llvm::formatv("{0} KiB", b / 1024).str();
}

static int runListTargets(llvm::StringRef dir) {
  auto profiles = loadHardwareProfiles(dir);
  if (!profiles)
    return fail(llvm::toString(profiles.takeError()));
  llvm::outs() << llvm::formatv(
      "{0,-12} {1,-7} {2,-11} {3,8} {4,10} {5,9} {6,9} {7,5} {8,5} {9,5} "
      "{10,6} {11,9}  {12}\n",
      "id", "kind", "arch", "memory", "GB/s", "f32 TF", "int8 TOP", "int8",
      "int4", "sg", "thr/bl", "shmem/bl", "name");
  for (const HardwareProfile &p : *profiles) {
    auto peak = [&](llvm::StringRef t) {
      auto it = p.peakTops.find(t);
      return it == p.peakTops.end()
                 ? std::string("-")
                 : llvm::formatv("{0:F1}", it->second).str();
    };
    llvm::outs() << llvm::formatv(
        "{0,-12} {1,-7} {2,-11} {3,8} {4,10} {5,9} {6,9} {7,5} {8,5} {9,5} "
        "{10,6} {11,9}  {12}\n",
        p.id,
        p.kind == TargetKind::CPU    ? "cpu"
        : p.kind == TargetKind::CUDA ? "cuda"
                                     : "opencl",
        p.arch, humanBytes(p.memoryBytes),
        p.memoryBandwidthGBps > 0
            ? llvm::formatv("{0:F1}", p.memoryBandwidthGBps).str()
            : std::string("unmeasured"),
        peak("f32"), peak("int8"), p.nativeInt8 ? "yes" : "no",
        p.nativeInt4 ? "yes" : "no",
        p.kind == TargetKind::CPU ? std::string("-")
                                  : std::to_string(p.subgroupSize),
        p.kind == TargetKind::CPU ? std::string("-")
                                  : std::to_string(p.maxThreadsPerBlock),
        p.sharedMemoryPerBlockBytes ? humanBytes(p.sharedMemoryPerBlockBytes)
                                    : std::string("-"),
        p.name);
  }
  llvm::outs() << "\nprofiles from " << dir
               << "; host detected now (bandwidth: haqa-bench measures it)\n";
  for (const HardwareProfile &p : *profiles)
    llvm::outs() << "  " << p.id << ": " << p.source << "\n";
  return 0;
}

static std::vector<int64_t> parseInts(llvm::StringRef s) {
  std::vector<int64_t> out;
  for (llvm::StringRef p : llvm::split(s, ',')) {
    int64_t v;
    if (!p.trim().getAsInteger(10, v))
      out.push_back(v);
  }
  return out;
}

static int runTable3(const HardwareProfile &profile) {
  if (profile.kind != TargetKind::CPU)
    return fail("target '" + profile.id +
                "': only the host CPU can measure here (the CUDA and OpenCL "
                "runtimes are separate issues)");
  if (roundsOpt < 1)
    return fail("--rounds must be at least 1");
  std::string strategyName = strategyOpt;
  if (strategyName == "auto")
    strategyName = isLLMConfigured(llmBaseURL) ? "llm" : "local";
  std::optional<LLMConfig> llmConfig;
  std::optional<PromptTemplates> prompts;
  if (strategyName == "llm") {
    auto c = resolveLLMConfig(llmBaseURL, llmModel, llmKey);
    if (!c)
      return fail(llvm::toString(c.takeError()));
    c->timeoutSeconds = llmTimeout;
    c->maxRetries = llmRetries;
    llmConfig = *c;
    auto p = PromptTemplates::load(promptDir.empty() ? getDefaultPromptDir()
                                                     : promptDir.getValue());
    if (!p)
      return fail(llvm::toString(p.takeError()));
    prompts = *p;
  } else if (auto s = createStrategy(strategyName, seedOpt); !s) {
    return fail(llvm::toString(s.takeError()));
  }
  std::vector<std::string> weights;
  for (llvm::StringRef w : llvm::split(weightsOpt, ','))
    weights.push_back(w.trim().str());
  std::vector<KernelSpec> specs =
      getTable3Kernels(parseInts(tokensOpt), weights);
  if (!kernelsOpt.empty()) {
    llvm::SmallVector<llvm::StringRef> keep;
    llvm::StringRef(kernelsOpt).split(keep, ',');
    llvm::erase_if(specs, [&](const KernelSpec &s) {
      return !llvm::is_contained(keep, s.kernel);
    });
  }
  if (specs.empty())
    return fail("no kernels selected");

  if (std::error_code ec = llvm::sys::fs::create_directories(outOpt))
    return fail(outOpt + ": " + ec.message());
  std::string recordsPath = recordsOpt.empty()
                                ? outOpt + "/records.sqlite"
                                : recordsOpt.getValue();
  auto store = RecordStore::open(recordsPath);
  if (!store)
    return fail(llvm::toString(store.takeError()));
  std::string logPath = outOpt + "/run.jsonl";
  std::error_code ec;
  llvm::raw_fd_ostream log(logPath, ec, llvm::sys::fs::OF_Append);
  if (ec)
    return fail(logPath + ": " + ec.message());

  MeasureOptions measure;
  measure.timing.repeats = repeatsOpt;
  measure.timeoutSeconds = timeoutOpt;
  std::string version = getCompilerVersion();
  llvm::errs() << llvm::formatv(
      "haqa-compile: {0} kernels on {1} ({2}), strategy {3}, {4} rounds, seed "
      "{5}\n  records {6}\n  log {7}\n",
      specs.size(), profile.id, profile.name, strategyName, roundsOpt, seedOpt,
      recordsPath, logPath);

  double elapsed = 0;
  int elapsedRounds = 0;
  struct Row {
    std::string label, schedule, source;
    double defaultMs = 0, bestMs = 0;
    int trials = 0, failed = 0;
  };
  std::vector<Row> rows;
  ReportInput report;
  report.title = "HAQA tuning report";
  report.target = profile.id + " (" + profile.name + ")";
  report.compilerVersion = version;
  for (size_t i = 0; i < specs.size(); ++i) {
    const KernelSpec &spec = specs[i];
    RecordKey key{spec.getLabel(), profile.id, profile.getFingerprint(),
                  version};
    auto space = getKernelSearchSpace(spec, profile);
    if (!space)
      return fail(llvm::toString(space.takeError()));
    Row row;
    row.label = spec.getLabel();

    // The default schedule's latency, the baseline of every report: measured
    // once per key (outside the strategy's budget) and recorded as strategy
    // "default", seed 0.
    auto measureFn = [&](const Config &, const std::string &schedule) {
      return measureTrialOnCPU(spec, schedule, measure);
    };
    if (strategyName != "default") {
      auto base = (*store)->getTrials(key, "default", 0);
      if (!base)
        return fail(llvm::toString(base.takeError()));
      if (base->empty()) {
        Trial t = measureFn(space->getDefault(),
                            space->toScheduleText(space->getDefault()));
        t.config = space->getDefault();
        t.proposedBy = "default";
        if (auto e = (*store)->addTrial(key, "default", 0, 0, t,
                                        space->toScheduleText(t.config),
                                        space->toJSON(t.config)))
          return fail(llvm::toString(std::move(e)));
        if (t.isOK())
          row.defaultMs = t.latencyMs;
      } else if (base->front().trial.isOK()) {
        row.defaultMs = base->front().trial.latencyMs;
      }
    }

    if (!retune && strategyName != "default") {
      auto best = (*store)->getBest(key);
      if (!best)
        return fail(llvm::toString(best.takeError()));
      auto mine = (*store)->getTrials(key, strategyName, seedOpt);
      if (!mine)
        return fail(llvm::toString(mine.takeError()));
      auto tuned = (*store)->countTunedTrials(key);
      if (!tuned)
        return fail(llvm::toString(tuned.takeError()));
      if (*best && *tuned > 0 && mine->empty()) {
        llvm::errs() << llvm::formatv(
            "[{0}/{1}] {2}: best schedule recorded ({3:F4} ms, {4}): reused, "
            "not tuned again (--retune to tune)\n",
            i + 1, specs.size(), row.label, (*best)->trial.latencyMs,
            (*best)->strategy);
        row.bestMs = (*best)->trial.latencyMs;
        row.schedule = (*best)->schedule;
        row.source = "reused";
        rows.push_back(row);
        continue;
      }
    }

    // Resume: the trials this (strategy, seed) already finished.
    std::vector<Trial> history;
    auto stored = (*store)->getTrials(key, strategyName, seedOpt);
    if (!stored)
      return fail(llvm::toString(stored.takeError()));
    for (StoredTrial &st : *stored) {
      auto c = space->fromJSON(llvm::json::Value(std::move(st.fields)));
      if (!c) {
        // Recorded against another space (an invalid proposal keeps the
        // default point): keep the trial, at the default point.
        llvm::consumeError(c.takeError());
        st.trial.config = space->getDefault();
      } else {
        st.trial.config = *c;
      }
      history.push_back(std::move(st.trial));
    }
    if (!history.empty())
      llvm::errs() << llvm::formatv("[{0}/{1}] {2}: resuming after {3} "
                                    "recorded trials\n",
                                    i + 1, specs.size(), row.label,
                                    history.size());

    std::unique_ptr<Strategy> strategy;
    LLMStrategy *llm = nullptr;
    if (strategyName == "llm") {
      LLMAgentOptions o;
      o.llm = *llmConfig;
      o.prompts = *prompts;
      o.profile = profile;
      o.memoryLimit = memoryLimit;
      o.rounds = roundsOpt;
      o.maxReasks = llmReasks;
      o.historyTokenBudget = historyTokens;
      std::string label = row.label;
      o.log = [&, label](llvm::json::Object e) {
        e["kernel"] = label;
        e["strategy"] = "llm";
        log << llvm::formatv("{0}", llvm::json::Value(std::move(e))) << "\n";
        log.flush();
      };
      auto l = std::make_unique<LLMStrategy>(std::move(o));
      llm = l.get();
      strategy = std::move(l);
    } else {
      auto s = createStrategy(strategyName, getKernelSeed(seedOpt, row.label));
      if (!s)
        return fail(llvm::toString(s.takeError()));
      strategy = std::move(*s);
    }
    strategy->resume(*space, history);

    TuneOptions opts;
    opts.rounds = roundsOpt;
    opts.progress = &llvm::errs();
    opts.label = row.label;
    if (row.defaultMs > 0)
      opts.baselineMs = row.defaultMs;
    opts.kernelIndex = i;
    opts.kernelCount = specs.size();
    opts.elapsedSeconds = &elapsed;
    opts.elapsedRounds = &elapsedRounds;
    auto recordFn = [&](const Trial &t, int round) -> llvm::Error {
      llvm::json::Object fields = space->toJSON(t.config);
      std::string schedule = space->toScheduleText(t.config);
      if (llvm::Error e = (*store)->addTrial(key, strategyName, seedOpt, round,
                                             t, schedule, fields))
        return e;
      llvm::json::Object line{
          {"kernel", row.label},        {"target", profile.id},
          {"event", "trial"},
          {"strategy", strategyName},
          {"seed", static_cast<int64_t>(seedOpt.getValue())},
          {"round", round},             {"proposed_by", t.proposedBy},
          {"fields", std::move(fields)}, {"schedule", schedule},
          {"status", Trial::getStatusName(t.status)},
          {"seconds", t.seconds}};
      if (t.isOK()) {
        line["latency_ms"] = t.latencyMs;
        line["spread_ms"] = t.spreadMs;
        line["max_abs_error"] = t.maxAbsError;
      } else {
        line["message"] = t.message;
      }
      log << llvm::formatv("{0}", llvm::json::Value(std::move(line))) << "\n";
      log.flush();
      return llvm::Error::success();
    };
    auto result = tuneKernel(*space, *strategy, measureFn, recordFn,
                             std::move(history), opts,
                             getKernelSeed(seedOpt, row.label));
    if (llm) {
      const LLMAgentStats &st = llm->getStats();
      llvm::json::Object e = st.toJSON();
      e["event"] = "llm-summary";
      e["kernel"] = row.label;
      report.llmSummaries.push_back(e);
      log << llvm::formatv("{0}", llvm::json::Value(std::move(e))) << "\n";
      log.flush();
      llvm::errs() << llvm::formatv(
          "  llm: {0} requests, {1} usable, {2} malformed, {3} out of range, "
          "{4} off-task, {5} repeats, {6} re-asks, {7} fallbacks, {8} "
          "endpoint errors, {9:F1} s waiting\n",
          st.requests, st.usable, st.malformed, st.outOfRange, st.offTask,
          st.repeats, st.reasks, st.fallbacks, st.endpointErrors, st.seconds);
    }
    if (!result)
      return fail(llvm::toString(result.takeError()) +
                  " (every finished trial is in " + recordsPath + ")");
    row.trials = result->size();
    for (const Trial &t : *result) {
      row.failed += !t.isOK();
      if (t.isOK() && t.config == space->getDefault() && row.defaultMs == 0)
        row.defaultMs = t.latencyMs;
    }
    if (const Trial *best = getBestTrial(*result)) {
      row.bestMs = best->latencyMs;
      row.schedule = space->toScheduleText(best->config);
    }
    row.source = "tuned";
    rows.push_back(row);
  }

  for (const KernelSpec &spec : specs) {
    RecordKey key{spec.getLabel(), profile.id, profile.getFingerprint(),
                  version};
    auto all = (*store)->getAllTrials(key);
    if (!all)
      return fail(llvm::toString(all.takeError()));
    report.kernels.push_back({spec.getLabel(), std::move(*all)});
  }
  std::string reportPath = outOpt + "/report.html";
  if (llvm::Error e = writeReport(reportPath, report))
    return fail(llvm::toString(std::move(e)));

  llvm::outs() << llvm::formatv("{0,-30} {1,-7} {2,7} {3,7} {4,11} {5,11} "
                                "{6,8}  {7}\n",
                                "kernel", "how", "trials", "failed",
                                "default ms", "best ms", "speedup",
                                "best schedule");
  for (const Row &r : rows)
    llvm::outs() << llvm::formatv(
        "{0,-30} {1,-7} {2,7} {3,7} {4,11} {5,11} {6,8}  {7}\n", r.label,
        r.source, r.trials, r.failed,
        r.defaultMs > 0 ? llvm::formatv("{0:F4}", r.defaultMs).str()
                        : std::string("-"),
        r.bestMs > 0 ? llvm::formatv("{0:F4}", r.bestMs).str()
                     : std::string("-"),
        r.defaultMs > 0 && r.bestMs > 0
            ? llvm::formatv("{0:F2}x", r.defaultMs / r.bestMs).str()
            : std::string("-"),
        r.schedule.empty() ? std::string("(none correct)") : r.schedule);
  llvm::outs() << "report: " << reportPath << "\n";
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "HAQA deployment driver\n\n"
      "  haqa-compile --list-targets\n"
      "  haqa-compile --table3 --target host --strategy random --rounds 10 "
      "--seed 0 -o out/tune\n");
  std::string dir =
      hardwareDir.empty() ? getDefaultHardwareDir() : hardwareDir.getValue();
  if (listTargets)
    return runListTargets(dir);
  if (!table3)
    return fail("nothing to do: --list-targets or --table3 (compiling a "
                "whole model with tuned kernels is not built yet)");
  auto profile = findHardwareProfile(targetOpt, dir);
  if (!profile)
    return fail(llvm::toString(profile.takeError()));
  return runTable3(*profile);
}
