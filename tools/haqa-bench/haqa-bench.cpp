//===- haqa-bench.cpp - kernel benchmarks on the host CPU -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Kernel mode: the paper's Table 3 kernels (or one given with --kernel),
// compiled with the default schedule or one given as JSON / attribute text,
// checked against the reference executor and timed; prints median latency,
// spread, GFLOP/s, GB/s and the fraction of this machine's measured peak.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/ScheduleJSON.h"
#include "haqa/Hardware/Profile.h"
#include "haqa/Runtime/CompiledModel.h"
#include "haqa/Runtime/KernelHarness.h"
#include "haqa/Support/Parsing.h"

#include "mlir/AsmParser/AsmParser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace mlir;
using namespace mlir::haqa;
namespace cl = llvm::cl;

static cl::OptionCategory category("haqa-bench options");
static cl::opt<std::string>
    kernelOpt("kernel",
              cl::desc("one kernel: softmax, silu, rms_norm, rope, matmul, "
                       "swiglu, add, mul (default: all of Table 3)"),
              cl::cat(category));
static cl::opt<std::string>
    shapeOpt("shape",
             cl::desc("ggml-order shape for --kernel, e.g. 2048,1,2048"),
             cl::cat(category));
static cl::opt<std::string>
    tokensOpt("tokens", cl::desc("Table 3 token counts (default 1,64,128)"),
              cl::init("1,64,128"), cl::cat(category));
static cl::opt<std::string>
    weightsOpt("weights",
               cl::desc("matmul weight storages (default f16,q8_0,q4_0)"),
               cl::init("f16,q8_0,q4_0"), cl::cat(category));
static cl::opt<std::string> scheduleOpt(
    "schedule",
    cl::desc("schedule for every kernel: JSON ({\"tile\": [1, 16, 256], "
             "\"vector\": 16, ...}) or #haqa.schedule<...> text; default: "
             "haqa-default-schedule"),
    cl::cat(category));
static cl::opt<int> repeatsOpt("repeats", cl::desc("timed runs per kernel"),
                               cl::init(20), cl::cat(category));
static cl::opt<double> timeoutOpt("timeout", cl::desc("seconds per candidate"),
                                  cl::init(120), cl::cat(category));
static cl::opt<bool> verboseOpt("verbose",
                                cl::desc("print whole failure messages"),
                                cl::cat(category));
static cl::opt<bool>
    jsonOpt("json",
            cl::desc("kernel mode: one JSON object per kernel instead of the "
                     "table"),
            cl::cat(category));
// cl::desc keeps a StringRef: the text must outlive the option.
static const std::string targetHelp =
    "where kernels run (cuda exits 3 when there is no GPU): " +
    describeCompileTargets();
static cl::opt<std::string> targetOpt("target", cl::desc(targetHelp),
                                      cl::init("cpu"), cl::cat(category));
static cl::opt<bool> noPeakOpt("no-peak",
                               cl::desc("skip measuring the machine's peak"),
                               cl::cat(category));

static cl::opt<std::string>
    modelOpt("model",
             cl::desc("model mode: an import directory; times prefill of "
                      "--prompt-tokens and decode of --gen-tokens"),
             cl::cat(category));
static cl::opt<int64_t> promptTokensOpt("prompt-tokens", cl::init(128),
                                        cl::desc("model mode: prompt length"),
                                        cl::cat(category));
static cl::opt<int64_t> genTokensOpt("gen-tokens", cl::init(128),
                                     cl::desc("model mode: tokens decoded"),
                                     cl::cat(category));
static cl::opt<int64_t> threadsOpt(
    "host-threads", cl::init(0),
    cl::desc("host threads (0: all cores): the model's, and in kernel mode "
             "the most the default schedules use"),
    cl::cat(category));

static cl::opt<bool> fuseOpt(
    "fuse", cl::init(true),
    cl::desc("model mode: matmuls fuse their rms_norm, swiglu and residual "
             "add (the default schedules' fuse = [norm, swiglu, residual]); "
             "--fuse=false keeps them apart"),
    cl::cat(category));

static int fail(const llvm::Twine &msg) {
  llvm::errs() << "haqa-bench: error: " << msg << "\n";
  return 1;
}

/// Model mode: compile once, then `repeats` runs of (reset, prefill of P
/// token ids, G greedy decode steps), as llama-bench's pp / tg tests.
static int runModel(CompileTarget target) {
  CompiledModelOptions options;
  options.threads = threadsOpt;
  options.target = target;
  options.fuse = fuseOpt;
  auto model = CompiledModel::load(modelOpt, options);
  if (!model) {
    llvm::errs() << "haqa-bench: error: " << llvm::toString(model.takeError())
                 << "\n";
    return 1;
  }
  CompiledModel &m = **model;
  int64_t p = promptTokensOpt, g = genTokensOpt;
  if (p < 1 || g < 1 || p + g > m.contextLength()) {
    llvm::errs() << "haqa-bench: error: prompt + generated tokens must be in "
                    "[2, "
                 << m.contextLength() << "]\n";
    return 1;
  }
  // Fixed, spread-out token ids (the values do not change the work).
  std::vector<int64_t> prompt(p);
  for (int64_t i = 0; i < p; ++i)
    prompt[i] = (1 + 7919 * i) % m.vocabSize();
  std::vector<double> pp, tg;
  int repeats = repeatsOpt;
  for (int r = 0; r < repeats + 1; ++r) { // the first run warms up
    m.reset();
    auto out = m.generate(prompt, g + 1);
    if (!out) {
      llvm::errs() << "haqa-bench: error: " << llvm::toString(out.takeError())
                   << "\n";
      return 1;
    }
    if (r == 0)
      continue;
    double decode = 0;
    for (double s : m.decodeSeconds())
      decode += s;
    pp.push_back(p / m.lastPrefillSeconds());
    tg.push_back(static_cast<double>(m.decodeSeconds().size()) / decode);
  }
  auto row = [&](const char *what, std::vector<double> v) {
    TimingStats t = TimingStats::of(v);
    llvm::outs() << llvm::formatv(
        "{0,-8} {1,10:f2} tokens/s  (min {2:f2}, max {3:f2}, {4} runs)\n", what,
        t.medianMs, t.minMs, t.maxMs, v.size());
  };
  llvm::outs() << llvm::formatv("model {0}: compiled in {1:f1} s; "
                                "pp{2} and tg{3}, median of runs\n",
                                modelOpt, m.compileSeconds(), p, g);
  row("prefill", pp);
  row("decode", tg);
  return 0;
}

/// The --schedule as an attribute: JSON fields or `#haqa.schedule<...>`.
static llvm::Expected<ScheduleAttr> readSchedule(MLIRContext *ctx,
                                                 llvm::StringRef text) {
  auto fail = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "--schedule: " + msg);
  };
  if (text.trim().starts_with("{")) {
    auto parsed = llvm::json::parse(text);
    if (!parsed)
      return fail(llvm::toString(parsed.takeError()));
    const llvm::json::Object *obj = parsed->getAsObject();
    if (!obj)
      return fail("expected a JSON object");
    auto s = scheduleFromJSON(ctx, *obj);
    if (!s)
      return fail(llvm::toString(s.takeError()));
    return *s;
  }
  auto s = dyn_cast_or_null<ScheduleAttr>(parseAttribute(text, ctx));
  if (!s)
    return fail("not a #haqa.schedule: " + text);
  return s;
}

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "HAQA kernel benchmarks on the host CPU\n\n"
      "  haqa-bench                       Table 3 kernels, default schedule\n"
      "  haqa-bench --kernel matmul --shape 2048,1,2048 --weights q4_0 \\\n"
      "             --schedule '{\"tile\": [1, 16, 256], \"vector\": 16}'\n"
      "  haqa-bench --model out/ --prompt-tokens 128 --gen-tokens 128 "
      "--repeats 3\n");
  auto target = parseCompileTarget(targetOpt);
  if (!target)
    return fail("--target: " + llvm::toString(target.takeError()));
  if (getCompileTargetInfo(*target).needsDevice) {
    // Checked once up front, so a missing GPU is one clear message.
    std::string why;
    if (!isDeviceAvailable(*target, &why)) {
      llvm::errs() << "haqa-bench: no "
                   << (*target == CompileTarget::OpenCL ? "OpenCL" : "CUDA")
                   << " device: " << why << "\n";
      return 3;
    }
  }
  // Checked before anything runs: --repeats 0 would time nothing and print
  // 0 ms, a time-out of 0 or NaN would make every kernel "time out".
  if (llvm::Error e = checkCount("--repeats", repeatsOpt, 1, 100000))
    return fail(llvm::toString(std::move(e)));
  if (llvm::Error e = checkSeconds("--timeout", timeoutOpt, 86400))
    return fail(llvm::toString(std::move(e)));
  if (!modelOpt.empty())
    return runModel(*target);
  MLIRContext ctx(MLIRContext::Threading::DISABLED);
  ctx.loadDialect<HAQADialect>();
  ScheduleAttr schedule;
  if (!scheduleOpt.empty()) {
    auto s = readSchedule(&ctx, scheduleOpt);
    if (!s)
      return fail(llvm::toString(s.takeError()));
    schedule = *s;
  }

  std::vector<std::string> weights;
  for (llvm::StringRef w : llvm::split(weightsOpt, ','))
    weights.push_back(w.trim().str());
  std::vector<KernelSpec> specs;
  if (!kernelOpt.empty()) {
    auto ne = parseIntList(shapeOpt);
    if (!ne)
      return fail("--shape: " + llvm::toString(ne.takeError()));
    if (ne->size() != 3)
      return fail("--kernel needs --shape A,B,C");
    llvm::SmallVector<int64_t, 3> shape((*ne).begin(), (*ne).end());
    if (kernelOpt == "matmul")
      for (const std::string &w : weights)
        specs.push_back({kernelOpt, shape, w});
    else
      specs.push_back({kernelOpt, shape, "f32"});
  } else {
    auto counts = parseIntList(tokensOpt);
    if (!counts)
      return fail("--tokens: " + llvm::toString(counts.takeError()));
    specs = getTable3Kernels(*counts, weights);
  }

  MeasuredPeaks peaks;
  if (!noPeakOpt && *target == CompileTarget::CPU) {
    peaks = measureHostPeaks();
    if (jsonOpt)
      llvm::outs() << llvm::formatv(
          "{0}\n", llvm::json::Value(llvm::json::Object{
                       {"peak_gflops", peaks.gflops},
                       {"peak_gbps", peaks.gbps},
                       {"threads", std::thread::hardware_concurrency()}}));
    else
      llvm::outs() << llvm::formatv(
          "machine peak (measured, {0} threads): {1:F1} GFLOP/s f32 FMA, "
          "{2:F1} GB/s read\n",
          std::thread::hardware_concurrency(), peaks.gflops, peaks.gbps);
  }
  MeasureOptions options;
  options.timing.repeats = repeatsOpt;
  options.timeoutSeconds = timeoutOpt;
  options.target = *target;
  if (threadsOpt < 0)
    return fail("--host-threads must be >= 0, not " + llvm::Twine(threadsOpt));
  options.cpuThreads = threadsOpt;
  if (!jsonOpt)
    llvm::outs() << llvm::formatv("{0,-30} {1,-12} {2,11} {3,10} {4,9} {5,8} "
                                  "{6,7} {7,9}  {8}\n",
                                  "kernel", "status", "median ms", "IQR ms",
                                  "GFLOP/s", "GB/s", "%peak", "max err",
                                  "schedule");
  int failures = 0;
  for (const KernelSpec &spec : specs) {
    KernelMeasurement m;
    std::string label = spec.getLabel();
    auto module = buildKernelModule(&ctx, spec);
    llvm::Expected<KernelProblem> problem =
        module ? KernelProblem::prepare(**module) : module.takeError();
    if (problem) {
      m = measureKernel(*problem, schedule, options);
    } else {
      m.status = KernelMeasurement::BadSpec;
      m.message = llvm::toString(problem.takeError());
    }
    bool ok = m.status == KernelMeasurement::OK;
    failures += !ok;
    double sec = m.timing.medianMs / 1e3;
    double gflops = ok ? m.flops / sec / 1e9 : 0,
           gbps = ok ? m.bytes / sec / 1e9 : 0;
    // The fraction of whichever roof binds this kernel.
    double frac = 0;
    if (peaks.gflops > 0 && peaks.gbps > 0)
      frac = std::max(gflops / peaks.gflops, gbps / peaks.gbps);
    if (jsonOpt) {
      llvm::json::Object o{
          {"kernel", spec.kernel},
          {"shape", llvm::json::Array(spec.ne)},
          {"weights", spec.weights},
          {"status", KernelMeasurement::getStatusName(m.status)},
          {"schedule", m.schedule}};
      if (ok) {
        o["median_ms"] = m.timing.medianMs;
        o["q1_ms"] = m.timing.q1Ms;
        o["q3_ms"] = m.timing.q3Ms;
        o["outliers"] = m.timing.outliers;
        o["max_abs_error"] = m.maxAbsError;
        o["gflops"] = gflops;
        o["gbps"] = gbps;
      } else {
        o["message"] = m.message;
      }
      llvm::outs() << llvm::formatv("{0}", llvm::json::Value(std::move(o)))
                   << "\n";
      llvm::outs().flush();
      continue;
    }
    if (!ok) {
      llvm::outs() << llvm::formatv(
          "{0,-30} {1,-12} {2}\n", label,
          KernelMeasurement::getStatusName(m.status),
          verboseOpt ? llvm::StringRef(m.message)
                     : llvm::StringRef(m.message).split('\n').first);
      continue;
    }
    llvm::outs() << llvm::formatv(
        "{0,-30} {1,-12} {2,11:F4} {3,10:F4} {4,9:F2} {5,8:F2} {6,7} "
        "{7,9:E1}  {8}{9}\n",
        label, "ok", m.timing.medianMs, m.timing.q3Ms - m.timing.q1Ms, gflops,
        gbps,
        // Only the host's peak is measured (not a GPU's).
        peaks.gflops > 0 ? llvm::formatv("{0:F1}%", 100 * frac).str() : "-",
        m.maxAbsError, m.schedule,
        m.timing.outliers
            ? llvm::formatv(" ({0} outliers)", m.timing.outliers).str()
            : std::string());
  }
  return failures ? 2 : 0;
}
