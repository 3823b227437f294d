//===- TuningSession.cpp - tune a set of kernels on a target -------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Tuning/TuningSession.h"
#include "haqa/Agent/Report.h"
#include "haqa/Agent/Tuner.h"
#include "haqa/Dialect/HAQA/IR/ScheduleJSON.h"
#include "haqa/Support/Parsing.h"
#include "haqa/Tuning/KernelTuning.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::haqa;

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Expected<CompileTarget>
mlir::haqa::resolveRunTarget(const HardwareProfile &profile, bool gpuOnCPU,
                             llvm::StringRef verb, llvm::StringRef openclWhat) {
  if (profile.kind == TargetKind::OpenCL) {
    static std::string whyNot;
    static const bool opencl =
        isDeviceAvailable(CompileTarget::OpenCL, &whyNot);
    if (!opencl)
      return error("target '" + profile.id + "' (" + profile.name + ") " +
                   verb + " an OpenCL device; there is none here (" + whyNot +
                   "): " + openclWhat);
    return CompileTarget::OpenCL;
  }
  if (profile.kind != TargetKind::CUDA)
    return CompileTarget::CPU;
  if (gpuOnCPU)
    return CompileTarget::GPUOnCPU;
  static std::string why;
  static const bool present = isDeviceAvailable(CompileTarget::CUDA, &why);
  if (!present)
    return error("target '" + profile.id + "' (" + profile.name + ") " + verb +
                 " an NVIDIA GPU; there is none here: " + why);
  return CompileTarget::CUDA;
}

llvm::Expected<std::unique_ptr<TuningSession>>
TuningSession::create(const HardwareProfile &profile, TuningOptions options,
                      llvm::raw_ostream &progress) {
  if (options.rounds < 1)
    return error("--rounds must be at least 1");
  // Bad values would be recorded as trials (ok at 0 ms, or all timed out)
  // that later runs reuse: refused before anything is measured.
  if (llvm::Error e = checkCount("--repeats", options.repeats, 1, 100000))
    return std::move(e);
  if (llvm::Error e = checkSeconds("--timeout", options.timeoutSeconds, 86400))
    return std::move(e);
  if (llvm::Error e =
          checkSeconds("--llm-timeout", options.llm.timeoutSeconds, 3600))
    return std::move(e);
  if (llvm::Error e = checkCount("--llm-retries", options.llm.retries, 0, 20))
    return std::move(e);
  if (!(options.llm.temperature >= 0 && options.llm.temperature <= 2))
    return error("--llm-temperature must be in [0, 2], not " +
                 llvm::formatv("{0}", options.llm.temperature).str());
  if (options.confirmRounds < 0 || options.confirmRounds > 100)
    return error("--confirm must be in [0, 100], not " +
                 std::to_string(options.confirmRounds));
  std::unique_ptr<TuningSession> s(
      new TuningSession(profile, std::move(options), progress));
  const TuningOptions &o = s->options;
  // "auto" becomes llm (an endpoint is configured) or local; llm needs its
  // endpoint and prompt templates.
  s->strategyName = o.strategy;
  if (s->strategyName == "auto")
    s->strategyName = isLLMConfigured(o.llm.baseURL) ? "llm" : "local";
  if (!usesLLM(s->strategyName)) {
    auto strategy = createStrategy(s->strategyName, o.seed);
    if (!strategy)
      return strategy.takeError();
  } else {
    auto c = resolveLLMConfig(o.llm.baseURL, o.llm.model, o.llm.apiKey);
    if (!c)
      return c.takeError();
    c->timeoutSeconds = o.llm.timeoutSeconds;
    c->maxRetries = o.llm.retries;
    c->maxTokens = o.llm.maxTokens;
    c->temperature = o.llm.temperature;
    c->jsonMode = o.llm.jsonMode;
    s->llmConfig = *c;
    // The agent is shown each kernel's roofline: on the host, measure the
    // peaks it is drawn against (about a second) where the profile only
    // estimated them.
    if (s->profile.kind == TargetKind::CPU &&
        s->profile.memoryBandwidthGBps <= 0) {
      MeasuredPeaks m = measureHostPeaks();
      if (m.gbps > 0 && m.gflops > 0) {
        s->profile.peakTops["f32"] = m.gflops / 1e3;
        s->profile.memoryBandwidthGBps = m.gbps;
        s->profile.source += "; f32 peak and read bandwidth measured";
      }
    }
    auto p = PromptTemplates::load(
        o.llm.promptDir.empty() ? getDefaultPromptDir() : o.llm.promptDir);
    if (!p)
      return p.takeError();
    s->prompts = *p;
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(o.outDir))
    return error(o.outDir + ": " + ec.message());
  s->recordsPath =
      o.recordsPath.empty() ? o.outDir + "/records.sqlite" : o.recordsPath;
  auto store = RecordStore::open(s->recordsPath);
  if (!store)
    return store.takeError();
  s->store = std::move(*store);
  s->logPath = o.outDir + "/run.jsonl";
  s->reportPath = o.outDir + "/report.html";
  std::error_code ec;
  s->logStream = std::make_unique<llvm::raw_fd_ostream>(
      s->logPath, ec, llvm::sys::fs::OF_Append);
  if (ec)
    return error(s->logPath + ": " + ec.message());
  return std::move(s);
}

TuningSession::~TuningSession() = default;

llvm::Error TuningSession::writeReportWithSummary(
    std::vector<std::pair<std::string, std::string>> summary) {
  lastReport.summary = std::move(summary);
  return writeReport(reportPath, lastReport);
}

void TuningSession::log(llvm::json::Object event) {
  *logStream << llvm::formatv("{0}", llvm::json::Value(std::move(event)))
             << "\n";
  logStream->flush();
}

void TuningSession::confirm(TunedKernel &row,
                            llvm::function_ref<Trial(ScheduleAttr)> measure,
                            ScheduleAttr defaultSchedule, size_t index,
                            size_t count) {
  // One more paired measurement, longer than a trial's: the best of many
  // trials is biased (it won partly by luck), this one is not.
  Trial t = measure(row.best);
  bool paired = t.isOK() && t.speedup > 0;
  bool kept = paired && t.speedupLo > 1 && t.speedup >= 1 + kConfirmMargin;
  if (paired) {
    row.ratio = t.speedup;
    row.ratioLo = t.speedupLo;
    row.ratioHi = t.speedupHi;
    row.defaultMs = t.pairedDefaultMs;
  }
  progress << llvm::formatv(
      "[{0}/{1}] {2}: confirm: {3}: {4}\n", index + 1, count, row.label,
      paired ? llvm::formatv("tuned {0:F4} ms vs default {1:F4} ms, {2:F2}x "
                             "({3:F2}-{4:F2}, 95% interval of {5} "
                             "interleaved pairs)",
                             t.latencyMs, t.pairedDefaultMs, t.speedup,
                             t.speedupLo, t.speedupHi, t.pairs)
                   .str()
             : "not measured (" + Trial::getStatusName(t.status).str() +
                   (t.message.empty() ? "" : ": " + t.message) + ")",
      kept               ? "kept"
      : !paired          ? "the default stays"
      : t.speedupHi < 1  ? "slower, the default stays"
      : t.speedupLo <= 1 ? "inside the noise, the default stays"
                         : "not faster by 3%, the default stays");
  llvm::json::Object event{{"kernel", row.label},
                           {"target", profile.id},
                           {"event", "confirm"},
                           {"schedule", printSchedule(row.best)},
                           {"status", Trial::getStatusName(t.status)},
                           {"kept", kept}};
  if (paired) {
    event["tuned_ms"] = t.latencyMs;
    event["default_ms"] = t.pairedDefaultMs;
    event["speedup"] = t.speedup;
    event["speedup_lo"] = t.speedupLo;
    event["speedup_hi"] = t.speedupHi;
    event["pairs"] = t.pairs;
  }
  log(std::move(event));
  if (kept) {
    row.bestMs = t.latencyMs;
    return;
  }
  row.best = defaultSchedule;
  row.bestMs = row.defaultMs;
  row.source = "default";
  row.ratio = 0;
}

llvm::Expected<std::vector<TunedKernel>>
TuningSession::tune(llvm::ArrayRef<TuningKernel> kernels) {
  if (kernels.empty())
    return error("no kernels selected");
  // Every trial is timed in interleaved pairs with the default schedule, in
  // the same child: up to --repeats pairs, fewer once the speedup's 95%
  // interval is within 2%.
  MeasureOptions measure;
  measure.timing.repeats = options.repeats;
  measure.timeoutSeconds = options.timeoutSeconds;
  measure.target = options.target;
  measure.pairWithDefault = true;
  measure.minPairs = std::min(6, options.repeats);
  // Twice the last-level cache, at least 64 MiB.
  if (options.coldCaches)
    measure.evictBytes =
        std::max<uint64_t>(2 * profile.l3Bytes, uint64_t(64) << 20);
  // The confirmation: longer (confirmRounds x repeats pairs at most).
  MeasureOptions confirmMeasure = measure;
  confirmMeasure.timing.repeats =
      std::max(1, options.confirmRounds) * options.repeats;
  confirmMeasure.minPairs = std::min(10, confirmMeasure.timing.repeats);
  confirmMeasure.timing.maxSeconds = 2 * measure.timing.maxSeconds;
  std::string version = getCompilerVersion();
  progress << llvm::formatv(
      "{8}: {0} kernels on {1} ({2}), strategy {3}, {4} rounds, seed "
      "{5}\n  records {6}\n  log {7}\n",
      kernels.size(), profile.id, profile.name, strategyName, options.rounds,
      options.seed, recordsPath, logPath, options.tool);

  double elapsed = 0;
  int elapsedRounds = 0;
  std::vector<TunedKernel> rows;
  ReportInput report;
  report.title = "HAQA tuning report";
  report.target = profile.id + " (" + profile.name + ")";
  report.compilerVersion = version;
  auto withRecords = [&](llvm::Error e) {
    return error(llvm::toString(std::move(e)) +
                 " (every finished trial is in " + recordsPath + ")");
  };
  for (size_t i = 0; i < kernels.size(); ++i) {
    const TuningKernel &kernel = kernels[i];
    KernelOpInterface op = getKernelOp(kernel.module);
    ModuleOp module = kernel.module;
    MLIRContext *ctx = module.getContext();
    RecordKey key{kernel.label, profile.id, profile.getFingerprint(), version};
    auto space = getKernelSearchSpace(op, profile);
    if (!space)
      return space.takeError();
    TunedKernel row;
    row.label = kernel.label;
    // Inputs, weights and the reference output, made when the first trial
    // needs them (a reused kernel needs none).
    std::optional<KernelProblem> problem;
    auto measureWith = [&](ScheduleAttr schedule,
                           const MeasureOptions &how) -> Trial {
      if (!problem) {
        auto p = KernelProblem::prepare(module);
        if (!p) {
          Trial t;
          t.status = Trial::Invalid;
          t.message = llvm::toString(p.takeError());
          return t;
        }
        problem = std::move(*p);
      }
      return measureTrial(*problem, schedule, how);
    };
    auto measureFn = [&](const Config &, ScheduleAttr schedule) {
      return measureWith(schedule, measure);
    };
    auto fieldsOf = [&](const Config &c) { return space->toJSON(c); };

    // The default schedule's latency, the baseline of every report: measured
    // once per key (outside the strategy's budget) and recorded as strategy
    // "default", seed 0.
    if (strategyName != "default") {
      auto base = store->getTrials(key, "default", 0);
      if (!base)
        return base.takeError();
      if (base->empty()) {
        Trial t = measureFn(space->getDefault(),
                            space->toSchedule(space->getDefault()));
        t.config = space->getDefault();
        t.proposedBy = "default";
        if (auto e = store->addTrial(key, "default", 0, 0, t,
                                     space->toScheduleText(t.config),
                                     fieldsOf(t.config)))
          return std::move(e);
        if (t.isOK())
          row.defaultMs = t.latencyMs;
      } else if (base->front().trial.isOK()) {
        row.defaultMs = base->front().trial.latencyMs;
      }
    }

    // What an earlier run decided (after its confirmation) is reused unless
    // this strategy and seed have trials of their own to resume.
    if (!options.retune && strategyName != "default") {
      auto decision = store->getDecision(key);
      if (!decision)
        return decision.takeError();
      auto mine = store->getTrials(key, strategyName, options.seed);
      if (!mine)
        return mine.takeError();
      if (*decision && mine->empty()) {
        const StoredDecision &d = **decision;
        progress << llvm::formatv(
            "[{0}/{1}] {2}: decided before ({3} by {4}, {5:F2}x the "
            "default): reused, not tuned again (--retune to tune)\n",
            i + 1, kernels.size(), row.label, d.source, d.strategy, d.speedup);
        auto s = scheduleFromJSON(ctx, d.fields);
        if (!s)
          return error(row.label + ": the recorded schedule " + d.schedule +
                       " is unusable: " + llvm::toString(s.takeError()));
        row.best = *s;
        row.bestMs = d.bestMs;
        if (d.defaultMs > 0)
          row.defaultMs = d.defaultMs;
        if (d.source == "tuned") {
          row.ratio = d.speedup;
          row.ratioLo = d.speedupLo;
          row.ratioHi = d.speedupHi;
        }
        row.source = "reused";
        rows.push_back(row);
        continue;
      }
    }

    // Resume: the trials this (strategy, seed) already finished.
    std::vector<Trial> history;
    auto stored = store->getTrials(key, strategyName, options.seed);
    if (!stored)
      return stored.takeError();
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
      progress << llvm::formatv("[{0}/{1}] {2}: resuming after {3} "
                                "recorded trials\n",
                                i + 1, kernels.size(), row.label,
                                history.size());

    std::unique_ptr<Strategy> strategy;
    LLMStrategy *llm = nullptr;
    if (usesLLM(strategyName)) {
      LLMAgentOptions o;
      o.llm = *llmConfig;
      o.prompts = *prompts;
      o.profile = profile;
      o.memoryLimit = options.memoryLimit;
      o.rounds = options.rounds;
      o.maxReasks = options.llm.reasks;
      o.historyTokenBudget = options.llm.historyTokens;
      std::string label = row.label;
      o.log = [this, label](llvm::json::Object e) {
        e["kernel"] = label;
        e["strategy"] = "llm";
        log(std::move(e));
      };
      auto l = std::make_unique<LLMStrategy>(std::move(o));
      llm = l.get();
      if (strategyName == "llm+local")
        strategy = createLLMLocalStrategy(
            std::move(l), getKernelSeed(options.seed, row.label));
      else
        strategy = std::move(l);
    } else {
      auto s =
          createStrategy(strategyName, getKernelSeed(options.seed, row.label));
      if (!s)
        return s.takeError();
      strategy = std::move(*s);
    }
    strategy->resume(*space, history);

    TuneOptions opts;
    opts.rounds = options.rounds;
    opts.progress = &progress;
    opts.label = row.label;
    if (row.defaultMs > 0)
      opts.baselineMs = row.defaultMs;
    opts.kernelIndex = i;
    opts.kernelCount = kernels.size();
    opts.elapsedSeconds = &elapsed;
    opts.elapsedRounds = &elapsedRounds;
    auto recordFn = [&](const Trial &t, int round) -> llvm::Error {
      llvm::json::Object fields = fieldsOf(t.config);
      std::string schedule = space->toScheduleText(t.config);
      if (llvm::Error e = store->addTrial(key, strategyName, options.seed,
                                          round, t, schedule, fields))
        return e;
      llvm::json::Object line{{"kernel", row.label},
                              {"target", profile.id},
                              {"event", "trial"},
                              {"strategy", strategyName},
                              {"seed", static_cast<int64_t>(options.seed)},
                              {"round", round},
                              {"proposed_by", t.proposedBy},
                              {"fields", std::move(fields)},
                              {"schedule", schedule},
                              {"status", Trial::getStatusName(t.status)},
                              {"seconds", t.seconds}};
      if (t.isOK()) {
        line["latency_ms"] = t.latencyMs;
        line["spread_ms"] = t.spreadMs;
        line["max_abs_error"] = t.maxAbsError;
        if (t.speedup > 0) {
          line["default_ms"] = t.pairedDefaultMs;
          line["speedup"] = t.speedup;
          line["speedup_lo"] = t.speedupLo;
          line["speedup_hi"] = t.speedupHi;
          line["pairs"] = t.pairs;
        }
      } else {
        line["message"] = t.message;
      }
      log(std::move(line));
      return llvm::Error::success();
    };
    auto result =
        tuneKernel(*space, *strategy, measureFn, recordFn, std::move(history),
                   opts, getKernelSeed(options.seed, row.label));
    if (llm) {
      const LLMAgentStats &st = llm->getStats();
      llvm::json::Object e = st.toJSON();
      e["event"] = "llm-summary";
      e["kernel"] = row.label;
      report.llmSummaries.push_back(e);
      log(std::move(e));
      progress << llvm::formatv(
          "  llm: {0} requests, {1} usable, {2} malformed, {3} out of range, "
          "{4} off-task, {5} repeats, {6} re-asks, {7} fallbacks, {8} "
          "endpoint errors, {9:F1} s waiting\n",
          st.requests, st.usable, st.malformed, st.outOfRange, st.offTask,
          st.repeats, st.reasks, st.fallbacks, st.endpointErrors, st.seconds);
    }
    if (!result)
      return withRecords(result.takeError());
    row.trials = result->size();
    ScheduleAttr defaultSchedule = space->toSchedule(space->getDefault());
    for (const Trial &t : *result)
      row.failed += !t.isOK();
    // The winner beats the default beyond the noise of its own pairs (a
    // difference inside the interval is a tie, and the default wins ties);
    // a re-proposed default is the default.
    row.source = "default";
    row.best = defaultSchedule;
    row.bestMs = row.defaultMs;
    Config chosen = space->getDefault();
    const Trial *winner = getWinningTrial(*result);
    if (winner && space->toSchedule(winner->config) != defaultSchedule) {
      row.source = "tuned";
      row.best = space->toSchedule(winner->config);
      row.bestMs = winner->latencyMs;
      row.defaultMs = winner->pairedDefaultMs;
      row.ratio = winner->speedup;
      row.ratioLo = winner->speedupLo;
      row.ratioHi = winner->speedupHi;
      chosen = winner->config;
      if (options.confirmRounds > 0)
        confirm(
            row, [&](ScheduleAttr s) { return measureWith(s, confirmMeasure); },
            defaultSchedule, i, kernels.size());
      if (row.source == "default")
        chosen = space->getDefault();
    } else if (!llvm::any_of(*result,
                             [](const Trial &t) { return t.isOK(); }) &&
               row.defaultMs == 0) {
      row.best = nullptr;
    }
    StoredDecision d;
    d.strategy = strategyName;
    d.seed = options.seed;
    d.source = row.source;
    d.schedule = row.best ? printSchedule(row.best) : "";
    d.fields = fieldsOf(chosen);
    d.defaultMs = row.defaultMs;
    d.bestMs = row.bestMs;
    if (row.ratio > 0) {
      d.speedup = row.ratio;
      d.speedupLo = row.ratioLo;
      d.speedupHi = row.ratioHi;
    }
    if (row.best)
      if (llvm::Error e = store->addDecision(key, d))
        return withRecords(std::move(e));
    rows.push_back(row);
  }

  for (const TuningKernel &kernel : kernels) {
    RecordKey key{kernel.label, profile.id, profile.getFingerprint(), version};
    auto all = store->getAllTrials(key);
    if (!all)
      return all.takeError();
    auto decision = store->getDecision(key);
    if (!decision)
      return decision.takeError();
    report.kernels.push_back(
        {kernel.label, std::move(*all), std::move(*decision)});
  }
  logStream->flush();
  if (logStream->has_error()) {
    std::error_code err = logStream->error();
    logStream->clear_error();
    return error(logPath + ": write failed: " + err.message() +
                 " (the trials are in " + recordsPath + ")");
  }
  if (llvm::Error e = writeReport(reportPath, report))
    return std::move(e);
  lastReport = std::move(report);
  return rows;
}

void TuningSession::printTable(llvm::raw_ostream &os,
                               llvm::ArrayRef<TunedKernel> rows) const {
  os << llvm::formatv("{0,-30} {1,-7} {2,7} {3,7} {4,11} {5,11} "
                      "{6,8} {7,11}  {8}\n",
                      "kernel", "how", "trials", "failed", "default ms",
                      "best ms", "speedup", "spread", "best schedule");
  for (const TunedKernel &r : rows)
    os << llvm::formatv(
        "{0,-30} {1,-7} {2,7} {3,7} {4,11} {5,11} {6,8} {7,11}  {8}\n", r.label,
        r.source, r.trials, r.failed,
        r.defaultMs > 0 ? llvm::formatv("{0:F4}", r.defaultMs).str()
                        : std::string("-"),
        r.bestMs > 0 ? llvm::formatv("{0:F4}", r.bestMs).str()
                     : std::string("-"),
        r.ratio > 0 ? llvm::formatv("{0:F2}x", r.ratio).str()
        : r.best    ? std::string("1.00x")
                    : std::string("-"),
        // The 95% interval of default / tuned over interleaved pairs.
        r.ratioHi > 0
            ? llvm::formatv("{0:F2}-{1:F2}", r.ratioLo, r.ratioHi).str()
            : std::string("-"),
        r.best ? printSchedule(r.best) : std::string("(none correct)"));
  os << "report: " << reportPath << "\n";
}
