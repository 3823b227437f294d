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
#include "haqa/Import/Importer.h"
#include "haqa/Import/Tokenizer.h"
#include "haqa/Reference/Model.h"
#include "haqa/Runtime/CompiledModel.h"
#include "haqa/Runtime/CUDADevice.h"

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/Import/GGUF.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir;
using namespace mlir::haqa;
namespace cl = llvm::cl;

static cl::OptionCategory category("haqa-compile options");
static cl::opt<std::string>
    inputOpt(cl::Positional,
             cl::desc("[model: a GGUF file, a Hugging Face directory, an "
                      "import directory or its model.mlir]"),
             cl::cat(category));
static cl::opt<std::string> bitsOpt(
    "bits",
    cl::desc("weight precision: auto (every one of 16, 8, 4 that fits the "
             "memory limit, measured; the fastest wins), keep (as stored), 16, "
             "8 or 4"),
    cl::init("auto"), cl::cat(category));
static cl::opt<std::string> promptOpt(
    "prompt", cl::desc("prompt for the final generation"),
    cl::init("What is the capital of France? Answer in one sentence."),
    cl::cat(category));
static cl::opt<std::string>
    tokensOpt2("prompt-tokens",
               cl::desc("prompt as token ids (1,2,3) instead of --prompt; "
                        "for models without a tokenizer"),
               cl::cat(category));
static cl::opt<bool> checkOpt(
    "check",
    cl::desc("also generate with the reference executor and compare tokens"),
    cl::cat(category));
static cl::opt<bool> chatOpt("chat",
                             cl::desc("wrap --prompt in the chat template"),
                             cl::init(true), cl::cat(category));
static cl::opt<int> genTokens("n", cl::desc("tokens to generate at the end"),
                              cl::init(64), cl::cat(category));
static cl::opt<int> probeTokens(
    "probe-tokens",
    cl::desc("decoded tokens per precision when --bits=auto measures them"),
    cl::init(16), cl::cat(category));
static cl::opt<int64_t> contextOpt("context",
                                   cl::desc("context length of the import"),
                                   cl::init(1024), cl::cat(category));
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
static cl::opt<bool> gpuOnCPU(
    "gpu-on-cpu",
    cl::desc("with an NVIDIA profile: compile its CUDA schedules and run "
             "their block and thread loops on the host CPU instead of a GPU "
             "(checks numerics and the whole flow without one; the timings "
             "are the CPU's)"),
    cl::cat(category));
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
static cl::opt<int> llmMaxTokens("llm-max-tokens",
                                 cl::desc("most tokens of one LLM reply"),
                                 cl::init(768), cl::cat(category));
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

/// --strategy resolved: "auto" becomes llm (an endpoint is configured) or
/// local; llm needs its endpoint and prompt templates.
static llvm::Error resolveStrategy(std::string &name,
                                   std::optional<LLMConfig> &llm,
                                   std::optional<PromptTemplates> &prompts) {
  name = strategyOpt;
  if (name == "auto")
    name = isLLMConfigured(llmBaseURL) ? "llm" : "local";
  if (name != "llm") {
    auto s = createStrategy(name, seedOpt);
    return s ? llvm::Error::success() : s.takeError();
  }
  auto c = resolveLLMConfig(llmBaseURL, llmModel, llmKey);
  if (!c)
    return c.takeError();
  c->timeoutSeconds = llmTimeout;
  c->maxRetries = llmRetries;
  c->maxTokens = llmMaxTokens;
  llm = *c;
  auto p = PromptTemplates::load(promptDir.empty() ? getDefaultPromptDir()
                                                   : promptDir.getValue());
  if (!p)
    return p.takeError();
  prompts = *p;
  return llvm::Error::success();
}

/// Tunes `specs` on `profile` with the chosen strategy: records, run.jsonl,
/// report.html in -o; prints the per-kernel table. `best` receives each
/// kernel's best schedule text (label -> schedule).
/// Where the kernels and models of `profile` run on this machine: "cpu",
/// "cuda" (its NVIDIA GPU; probed once, in a child process) or "gpu-on-cpu"
/// (--gpu-on-cpu); else an error saying that the target `verb` an NVIDIA GPU
/// or, for OpenCL, `openclWhat`.
static llvm::Expected<std::string> runTargetFor(const HardwareProfile &profile,
                                                llvm::StringRef verb,
                                                llvm::StringRef openclWhat) {
  auto error = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  if (profile.kind == TargetKind::OpenCL)
    return error("target '" + profile.id +
                 "': the OpenCL runtime is not built yet; " + openclWhat);
  if (profile.kind != TargetKind::CUDA)
    return std::string("cpu");
  if (gpuOnCPU)
    return std::string("gpu-on-cpu");
  static std::string why;
  static const bool present = isCUDAAvailableInChild(&why);
  if (!present)
    return error("target '" + profile.id + "' (" + profile.name + ") " + verb +
                 " an NVIDIA GPU; there is none here: " + why);
  return std::string("cuda");
}

static int tuneSpecs(const HardwareProfile &profile,
                     std::vector<KernelSpec> specs,
                     std::map<std::string, std::string> *best = nullptr) {
  MeasureOptions measure;
  measure.timing.repeats = repeatsOpt;
  measure.timeoutSeconds = timeoutOpt;
  // Measured on this machine's GPU for an NVIDIA profile, which should be
  // the profile's chip.
  auto target = runTargetFor(profile, "is measured on",
                             "kernels for it cannot be measured");
  if (!target)
    return fail(llvm::toString(target.takeError()));
  measure.target = *target;
  if (roundsOpt < 1)
    return fail("--rounds must be at least 1");
  std::string strategyName;
  std::optional<LLMConfig> llmConfig;
  std::optional<PromptTemplates> prompts;
  if (llvm::Error e = resolveStrategy(strategyName, llmConfig, prompts))
    return fail(llvm::toString(std::move(e)));
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
      return measureTrial(spec, schedule, measure);
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
    row.source = "tuned";
    const Trial *best = getBestTrial(*result);
    if (best) {
      row.bestMs = best->latencyMs;
      row.schedule = space->toScheduleText(best->config);
    }
    // No trial beat the default schedule (measured the same way): it stays.
    if (row.defaultMs > 0 && (!best || best->latencyMs >= row.defaultMs)) {
      row.bestMs = row.defaultMs;
      row.schedule = space->toScheduleText(space->getDefault());
      row.source = "default";
    }
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
  log.close();
  if (log.has_error()) {
    std::error_code err = log.error();
    log.clear_error();
    return fail(logPath + ": write failed: " + err.message() +
                " (the trials are in " + recordsPath + ")");
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
  if (best)
    for (const Row &r : rows)
      if (!r.schedule.empty())
        (*best)[r.label] = r.schedule;
  return 0;
}

static int runTable3(const HardwareProfile &profile) {
  std::vector<std::string> weights;
  for (llvm::StringRef w : llvm::split(weightsOpt, ','))
    weights.push_back(w.trim().str());
  return tuneSpecs(profile, getTable3Kernels(parseInts(tokensOpt), weights));
}

/// "10GiB", "512MB", "none" (0: no limit).
static std::optional<uint64_t> parseBytes(llvm::StringRef s) {
  s = s.trim();
  if (s.empty() || s == "none")
    return 0;
  uint64_t scale = 1;
  for (auto [suffix, mult] :
       {std::pair<llvm::StringRef, uint64_t>{"GiB", 1ull << 30},
        {"MiB", 1ull << 20},
        {"KiB", 1ull << 10},
        {"GB", 1000000000ull},
        {"MB", 1000000ull},
        {"KB", 1000ull},
        {"G", 1ull << 30},
        {"M", 1ull << 20}})
    if (s.consume_back(suffix)) {
      scale = mult;
      break;
    }
  double v;
  if (s.trim().getAsDouble(v) || v < 0)
    return std::nullopt;
  return static_cast<uint64_t>(v * scale);
}

namespace {
struct Generation {
  std::vector<int64_t> tokens;
  double prefillTokS = 0, decodeTokS = 0, compileSeconds = 0;
};
} // namespace

/// Where a compiled model runs: "cpu" or "cuda" (the profile's kind).
static std::string modelTarget = "cpu";

/// Compiles the model at `path` and generates `n` tokens after `prompt`.
static llvm::Expected<Generation> generate(llvm::StringRef path,
                                           llvm::ArrayRef<int64_t> prompt,
                                           int n, bool stopAtEos,
                                           const Tokenizer *tok) {
  CompiledModelOptions options;
  options.target = modelTarget;
  auto model = CompiledModel::load(path, options);
  if (!model)
    return model.takeError();
  auto stop = [&](int64_t id) {
    return stopAtEos && tok && tok->isEndOfGeneration(id);
  };
  auto out = (*model)->generate(prompt, n, stop);
  if (!out)
    return out.takeError();
  Generation g;
  g.tokens = *out;
  g.compileSeconds = (*model)->compileSeconds();
  g.prefillTokS = prompt.size() / (*model)->lastPrefillSeconds();
  std::vector<double> steps = (*model)->decodeSeconds();
  if (!steps.empty()) {
    std::sort(steps.begin(), steps.end());
    g.decodeTokS = 1.0 / steps[steps.size() / 2];
  }
  return g;
}

static std::string precisionName(int bits) {
  return bits == 16 ? "FP16" : bits == 8 ? "INT8" : bits == 4 ? "INT4"
                                                              : "as stored";
}

/// The whole model: pick the precision (measured), tune the decode kernels,
/// write the tuned module, generate with default and tuned schedules.
static int runModel(const HardwareProfile &profile) {
  // Compiled for, tuned on and run on this machine's GPU for an NVIDIA
  // profile.
  auto target = runTargetFor(profile, "runs on", "a model cannot run on it");
  if (!target)
    return fail(llvm::toString(target.takeError()));
  modelTarget = *target;
  std::string input = inputOpt;
  if (!llvm::sys::fs::exists(input))
    return fail(input + ": no such file or directory");
  llvm::SmallString<256> asImport(input);
  llvm::sys::fs::make_absolute(asImport); // "model.mlir" has a parent
  if (llvm::sys::fs::is_directory(asImport))
    llvm::sys::path::append(asImport, "model.mlir");
  bool isImport = llvm::StringRef(asImport).ends_with(".mlir") &&
                  llvm::sys::fs::exists(asImport);
  std::vector<int> candidates;
  if (bitsOpt == "auto")
    candidates = isImport ? std::vector<int>{0} : std::vector<int>{16, 8, 4};
  else if (bitsOpt == "keep")
    candidates = {0};
  else if (bitsOpt == "16" || bitsOpt == "8" || bitsOpt == "4")
    candidates = {std::stoi(bitsOpt)};
  else
    return fail("--bits must be auto, keep, 16, 8 or 4, not '" + bitsOpt + "'");
  if (isImport && candidates != std::vector<int>{0})
    return fail(input + " is already imported: its weights are compiled as "
                        "stored (re-import the source model with --bits, or "
                        "pass the GGUF / Hugging Face model to haqa-compile)");
  auto limit = parseBytes(memoryLimit);
  if (!limit)
    return fail("--memory-limit: cannot read '" + memoryLimit +
                "' (e.g. 10GiB, 512MB, none)");
  uint64_t budget = *limit ? *limit : profile.memoryBytes;
  if (std::error_code ec = llvm::sys::fs::create_directories(outOpt))
    return fail(outOpt + ": " + ec.message());

  // 1. The precisions that fit: haqa-plan-memory on the model (weights at
  // each precision, the f32 KV cache of --context, prefill activations, a
  // runtime allowance) against the limit. The plan needs one import: the
  // smallest precision asked for (or the stored one) comes first.
  struct Candidate {
    int bits;
    std::string dir;
    uint64_t bytes = 0;
    Generation probe;
  };
  auto dirOf = [&](int bits) {
    return isImport ? std::string(llvm::sys::path::parent_path(asImport))
                    : outOpt + "/import-" + (bits ? std::to_string(bits) : "keep");
  };
  auto ensureImport = [&](int bits) -> llvm::Error {
    std::string dir = dirOf(bits);
    if (llvm::sys::fs::exists(dir + "/model.mlir"))
      return llvm::Error::success();
    ImportOptions o;
    o.bits = bits;
    o.contextLength = contextOpt;
    llvm::errs() << "importing " << input << " (" << precisionName(bits)
                 << ") into " << dir << "\n";
    auto r = importModel(input, dir, o);
    return r ? llvm::Error::success() : r.takeError();
  };
  std::vector<int> order = candidates;
  llvm::sort(order, [](int a, int b) { return (a ? a : 99) < (b ? b : 99); });
  if (llvm::Error e = ensureImport(order.front()))
    return fail(llvm::toString(std::move(e)));
  std::map<int, std::pair<uint64_t, bool>> plan; // bits -> (total, fits)
  {
    MLIRContext pctx;
    pctx.loadDialect<HAQADialect, func::FuncDialect, tensor::TensorDialect>();
    std::string path = dirOf(order.front()) + "/model.mlir";
    OwningOpRef<ModuleOp> m = parseSourceFile<ModuleOp>(path, &pctx);
    if (!m)
      return fail(path + ": cannot parse");
    PassManager pm(&pctx);
    HAQAPlanMemoryPassOptions po;
    po.limit = std::to_string(budget) + "B";
    po.kvBits = 32; // the CPU and CUDA targets keep f32 KV caches
    pm.addPass(createHAQAPlanMemoryPass(po));
    if (failed(pm.run(*m)))
      return fail(path + ": haqa-plan-memory failed");
    auto dict = (*m)->getAttrOfType<DictionaryAttr>("haqa.memory_plan");
    for (auto [bits, key] : {std::pair<int, const char *>{16, "fp16"},
                             {8, "int8"},
                             {4, "int4"},
                             {0, "current"}})
      if (auto e = dict ? dict.getAs<DictionaryAttr>(key) : DictionaryAttr()) {
        auto total = e.getAs<IntegerAttr>("total");
        auto fitsAttr = e.getAs<BoolAttr>("fits");
        plan[bits] = {total ? total.getInt() : 0,
                      fitsAttr ? fitsAttr.getValue() : true};
      }
  }
  std::vector<Candidate> fits;
  for (int bits : candidates) {
    auto [total, ok] = plan.count(bits) ? plan[bits]
                                        : std::pair<uint64_t, bool>{0, true};
    if (!ok) {
      llvm::errs() << llvm::formatv(
          "  {0}: needs {1:F1} MiB (weights, KV cache, activations, "
          "runtime), over the memory limit of {2:F1} MiB: not a candidate\n",
          precisionName(bits), total / 1048576.0, budget / 1048576.0);
      continue;
    }
    if (llvm::Error e = ensureImport(bits))
      return fail(llvm::toString(std::move(e)));
    Candidate c{bits, dirOf(bits), total};
    fits.push_back(std::move(c));
  }
  if (fits.empty())
    return fail("no precision fits the memory limit");

  // The tokenizer and the prompt.
  std::optional<Tokenizer> tok;
  std::vector<int64_t> prompt;
  if (!tokensOpt2.empty()) {
    prompt = parseInts(tokensOpt2);
    if (prompt.empty())
      return fail("--prompt-tokens: expected token ids like 1,2,3");
  } else {
    auto file = GGUFFile::open(fits.front().dir + "/model.weights.gguf");
    if (!file)
      return fail(llvm::toString(file.takeError()));
    auto vocab = readVocab(**file);
    if (!vocab)
      return fail(llvm::toString(vocab.takeError()) +
                  " (give the prompt as --prompt-tokens)");
    auto t = Tokenizer::create(std::move(*vocab));
    if (!t)
      return fail(llvm::toString(t.takeError()));
    tok.emplace(std::move(*t));
    auto encoded = tok->encodePrompt(promptOpt, chatOpt);
    if (!encoded)
      return fail(llvm::toString(encoded.takeError()));
    prompt = std::move(*encoded);
  }
  const Tokenizer *tokp = tok ? &*tok : nullptr;

  // 2. The precision: a prior from the profile, then measured decode speed
  // decides (on a chip without fast INT4 the measurement overturns it).
  Candidate *chosen = &fits.front();
  if (fits.size() > 1) {
    // The prior: the LLM's choice when the agent is an LLM, else the
    // smallest precision the chip runs natively.
    int prior = profile.nativeInt4 ? 4 : profile.nativeInt8 ? 8 : 16;
    std::string why = llvm::formatv("{0} native INT4, {1} native INT8",
                                    profile.nativeInt4 ? "has" : "no",
                                    profile.nativeInt8 ? "has" : "no")
                          .str();
    std::string strategyName;
    std::optional<LLMConfig> llmConfig;
    std::optional<PromptTemplates> prompts;
    if (llvm::Error e = resolveStrategy(strategyName, llmConfig, prompts))
      return fail(llvm::toString(std::move(e)));
    if (strategyName == "llm") {
      LLMClient client(*llmConfig);
      LLMAgentStats stats;
      std::vector<PrecisionOption> options;
      for (const Candidate &c : fits)
        options.push_back({c.bits, c.bytes});
      std::error_code ec;
      llvm::raw_fd_ostream plog(outOpt + "/run.jsonl", ec,
                                llvm::sys::fs::OF_Append);
      auto log = [&](llvm::json::Object e) {
        e["kernel"] = "precision";
        e["strategy"] = "llm";
        if (!ec)
          plog << llvm::formatv("{0}", llvm::json::Value(std::move(e)))
               << "\n";
      };
      auto b = askLLMForPrecision(client, *prompts, profile,
                                  llvm::sys::path::filename(input),
                                  memoryLimit, options, llmReasks, stats, log);
      if (!ec) {
        plog.close();
        plog.clear_error(); // the log is best effort; never abort for it
      }
      if (b) {
        prior = *b;
        why = "the LLM's choice";
      } else {
        why += "; the LLM gave none: " + llvm::toString(b.takeError());
      }
    }
    llvm::errs() << llvm::formatv(
        "precision: prior {0} ({1}); measuring decode of {2} tokens with "
        "default schedules\n",
        precisionName(prior), why, probeTokens.getValue());
    for (Candidate &c : fits) {
      auto g = generate(c.dir, prompt, probeTokens, /*stopAtEos=*/false, tokp);
      if (!g)
        return fail(llvm::toString(g.takeError()));
      c.probe = *g;
      llvm::errs() << llvm::formatv("  {0,-5} needs {1,7:F1} MiB  decode "
                                    "{2,7:F1} tokens/s\n",
                                    precisionName(c.bits), c.bytes / 1048576.0,
                                    c.probe.decodeTokS);
      if (c.probe.decodeTokS > chosen->probe.decodeTokS)
        chosen = &c;
    }
    llvm::errs() << "  chosen: " << precisionName(chosen->bits)
                 << (chosen->bits == prior ? " (the prior held)"
                                           : " (measurement overturned the "
                                             "prior)")
                 << "\n";
  }

  // 3. Tune the decode kernels of the chosen model.
  std::string modelPath = chosen->dir + "/model.mlir";
  MLIRContext ctx;
  ctx.loadDialect<HAQADialect, func::FuncDialect, tensor::TensorDialect>();
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(modelPath, &ctx);
  if (!module)
    return fail(modelPath + ": cannot parse");
  auto decode = module->lookupSymbol<func::FuncOp>("decode");
  if (!decode)
    return fail(modelPath + ": no @decode");
  llvm::StringMap<int> skipped;
  std::vector<ModelKernel> kernels = collectModelKernels(decode, skipped);
  std::vector<KernelSpec> specs;
  for (const ModelKernel &k : kernels)
    if (llvm::none_of(specs, [&](const KernelSpec &s) {
          return s.getLabel() == k.spec.getLabel();
        }))
      specs.push_back(k.spec);
  llvm::errs() << llvm::formatv("tuning {0} distinct decode kernels ({1} "
                                "ops)",
                                specs.size(), kernels.size());
  for (const auto &kv : skipped)
    llvm::errs() << llvm::formatv("; {0} x {1} keep the default schedule (no "
                                  "isolated harness yet)",
                                  kv.getValue(), kv.getKey());
  llvm::errs() << "\n";
  std::map<std::string, std::string> best;
  if (int rc = tuneSpecs(profile, specs, &best))
    return rc;
  int applied = 0;
  for (const ModelKernel &k : kernels) {
    auto it = best.find(k.spec.getLabel());
    if (it == best.end())
      continue;
    if (llvm::Error e = setScheduleFromText(k.op, it->second))
      return fail(k.spec.getLabel() + ": " + llvm::toString(std::move(e)));
    ++applied;
  }
  // The tuned module reads the chosen import's weights where they are.
  llvm::SmallString<256> weights(chosen->dir + "/model.weights.gguf");
  llvm::sys::fs::make_absolute(weights);
  (*module)->setAttr("haqa.weights", StringAttr::get(&ctx, weights));
  std::string tunedPath = outOpt + "/model.mlir";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tunedPath, ec);
    if (ec)
      return fail(tunedPath + ": " + ec.message());
    module->print(os);
    os.close();
    if (os.has_error()) {
      std::error_code err = os.error();
      os.clear_error();
      llvm::sys::fs::remove(tunedPath);
      return fail(tunedPath + ": write failed: " + err.message());
    }
  }
  llvm::errs() << "wrote " << tunedPath << " (" << applied
               << " decode ops with tuned schedules)\n";

  // 4. Default against tuned, side by side, and the text.
  auto def = generate(chosen->dir, prompt, genTokens, true, tokp);
  if (!def)
    return fail(llvm::toString(def.takeError()));
  auto tuned = generate(tunedPath, prompt, genTokens, true, tokp);
  if (!tuned)
    return fail(llvm::toString(tuned.takeError()));
  llvm::outs() << "generated:";
  for (int64_t id : tuned->tokens)
    llvm::outs() << " " << id;
  llvm::outs() << "\n";
  if (tok) {
    std::vector<int32_t> ids(tuned->tokens.begin(), tuned->tokens.end());
    llvm::outs() << "text: " << tok->decode(ids) << "\n";
  }
  llvm::outs() << llvm::formatv(
      "{0} weights; decode {1:F1} tokens/s tuned vs {2:F1} default ({3:F2}x), "
      "prefill {4:F1} vs {5:F1} tokens/s; same tokens as the default "
      "schedules: {6}\n",
      precisionName(chosen->bits), tuned->decodeTokS, def->decodeTokS,
      def->decodeTokS > 0 ? tuned->decodeTokS / def->decodeTokS : 0.0,
      tuned->prefillTokS, def->prefillTokS,
      tuned->tokens == def->tokens ? "yes" : "NO");
  if (tuned->tokens != def->tokens)
    return 3;
  if (checkOpt) {
    auto ref = ReferenceModel::load(tunedPath);
    if (!ref)
      return fail(llvm::toString(ref.takeError()));
    auto stop = [&](int64_t id) { return tok && tok->isEndOfGeneration(id); };
    auto expected = (*ref)->generate(prompt, tuned->tokens.size(), stop);
    if (!expected)
      return fail(llvm::toString(expected.takeError()));
    bool same = *expected == tuned->tokens;
    llvm::outs() << "check: the reference executor generates "
                 << (same ? "the same tokens" : "DIFFERENT tokens") << "\n";
    if (!same)
      return 3;
  }
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "HAQA deployment driver\n\n"
      "  haqa-compile model.gguf --target host --memory-limit 10GiB -o out/m\n"
      "  haqa-compile --list-targets\n"
      "  haqa-compile --table3 --target host --strategy random --rounds 10 "
      "--seed 0 -o out/tune\n");
  std::string dir =
      hardwareDir.empty() ? getDefaultHardwareDir() : hardwareDir.getValue();
  if (listTargets)
    return runListTargets(dir);
  if (!table3 && inputOpt.empty())
    return fail("nothing to do: give a model, --table3 or --list-targets");
  auto profile = findHardwareProfile(targetOpt, dir);
  if (!profile)
    return fail(llvm::toString(profile.takeError()));
  if (table3)
    return runTable3(*profile);
  return runModel(*profile);
}
