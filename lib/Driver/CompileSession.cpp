//===- CompileSession.cpp - a model through HAQA's phases -----------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Driver/CompileSession.h"
#include "haqa/Dialect/HAQA/Transforms/DistinctKernels.h"
#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/Import/Importer.h"
#include "haqa/Reference/Model.h"
#include "haqa/Runtime/CompiledModel.h"
#include "haqa/Runtime/Isolate.h"
#include "haqa/Support/Parsing.h"
#include "haqa/Support/Statistics.h"
#include "haqa/Tokenizer/Tokenizer.h"
#include "haqa/Tuning/KernelTuning.h"
#include "haqa/Weights/Codecs.h"
#include "haqa/Weights/GGUFWriter.h"
#include "haqa/Weights/ModelFiles.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <thread>

using namespace mlir;
using namespace mlir::haqa;

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

static const char *const kPhaseNames[] = {"import", "plan", "precision",
                                          "tune",   "emit", "measure"};

llvm::Expected<CompilePhase> mlir::haqa::parseCompilePhase(llvm::StringRef n) {
  for (size_t i = 0; i < std::size(kPhaseNames); ++i)
    if (n == kPhaseNames[i])
      return static_cast<CompilePhase>(i);
  return error("unknown phase '" + n +
               "' (import, plan, precision, tune, emit, measure)");
}

llvm::StringRef mlir::haqa::getCompilePhaseName(CompilePhase phase) {
  return kPhaseNames[static_cast<size_t>(phase)];
}

static std::string precisionName(int bits) {
  return bits == 16  ? "FP16"
         : bits == 8 ? "INT8"
         : bits == 4 ? "INT4"
                     : "as stored";
}

namespace {

/// One generation with a compiled model.
struct Generation {
  std::vector<int64_t> tokens;
  double prefillTokS = 0, decodeTokS = 0, compileSeconds = 0;
};

/// A precision that fits the memory limit.
struct Candidate {
  int bits = 0;
  /// Which precision a tie goes to (the more accurate): ten times the
  /// bits per value of the 2-d weights.
  int preference = 0;
  uint64_t bytes = 0;
  OwningOpRef<ModuleOp> module;
  Generation probe;
  /// Decode tokens/s of each interleaved probe round (probe.decodeTokS is
  /// their median).
  std::vector<double> probeRounds;
};

/// `to`'s function `fn` gets the schedules of the same ops of `from`'s (a
/// clone of one module, schedules apart).
static llvm::Error copySchedules(ModuleOp from, ModuleOp to,
                                 llvm::StringRef fn) {
  auto f = from.lookupSymbol<func::FuncOp>(fn);
  auto t = to.lookupSymbol<func::FuncOp>(fn);
  SmallVector<KernelOpInterface> a, b;
  if (f)
    f.walk([&](KernelOpInterface k) { a.push_back(k); });
  if (t)
    t.walk([&](KernelOpInterface k) { b.push_back(k); });
  if (!f || !t || a.size() != b.size())
    return error("internal error: @" + fn +
                 " differs between the default and the tuned module");
  for (auto [x, y] : llvm::zip(a, b)) {
    if (x->getName() != y->getName())
      return error("internal error: @" + fn +
                   " differs between the default and the tuned module");
    if (ScheduleAttr s = x.getSchedule())
      y.setSchedule(s);
    else
      y->removeAttr("schedule");
  }
  return llvm::Error::success();
}

/// Median of `v` (0 for none): the one chooseFromRounds decides by, so that
/// what is printed is what decided.
static double medianOf(const std::vector<double> &v) {
  return getMedianInterval(v).median;
}

/// "lo-hi" of `v`, two decimals ("-" for none).
static std::string rangeOf(const std::vector<double> &v) {
  if (v.empty())
    return "-";
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return llvm::formatv("{0:F2}-{1:F2}", *lo, *hi).str();
}

class Session {
public:
  Session(const HardwareProfile &profile, const CompileOptions &options,
          llvm::raw_ostream &out, llvm::raw_ostream &progress)
      : profile(profile), options(options), out(out), progress(progress) {}

  llvm::Expected<CompileResult> run();

private:
  llvm::Error importModel();
  llvm::Error plan();
  llvm::Error choosePrecision();
  llvm::Error tune();
  llvm::Error emit();
  llvm::Error measure();

  /// `module` with its weights named by absolute path, written to
  /// `<out>/<name>`.
  llvm::Error writeModule(ModuleOp module, llvm::StringRef name,
                          llvm::StringRef weights);
  /// A copy of the imported module with 2-d weights stored at `bits` (0: as
  /// stored).
  llvm::Expected<OwningOpRef<ModuleOp>> quantized(int bits);
  /// Compiles `module` and generates `n` tokens greedily; `keep`, if set,
  /// receives the compiled model.
  llvm::Expected<Generation>
  generate(ModuleOp module, std::shared_ptr<WeightStore> weights, int n,
           bool stopAtEos, std::unique_ptr<CompiledModel> *keep = nullptr,
           bool fuse = true);
  /// Measure: the tuned model with its matmuls' fuse against the same
  /// without (fusion changes which ops a kernel holds, so only the whole
  /// model can rank it); keeps the faster in `tuned` and the module file.
  llvm::Error chooseFusion(std::shared_ptr<WeightStore> weights);
  /// Generates `n` tokens greedily with `model` from its start.
  llvm::Expected<Generation> generateWith(CompiledModel &model, int n,
                                          bool stopAtEos);
  /// The reference executor's tokens for `model`'s module as compiled
  /// (Q8 activations where dot = i8), `n` of them.
  llvm::Expected<std::vector<int64_t>> referenceTokens(CompiledModel &model,
                                                       size_t n);
  bool stopsAfter(CompilePhase phase) const {
    return options.stopAfter == phase;
  }
  std::string outPath(llvm::StringRef name) const {
    llvm::SmallString<256> p(options.tuning.outDir);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }

  const HardwareProfile &profile;
  const CompileOptions &options;
  llvm::raw_ostream &out, &progress;
  CompileResult result;
  MLIRContext ctx;
  /// Where compiled models run.
  CompileTarget target = CompileTarget::CPU;
  /// The model as imported (weights as stored) and its weights file.
  OwningOpRef<ModuleOp> imported;
  std::string importedWeights;
  bool isImport = false;
  /// Bytes the memory limit allows.
  uint64_t budget = 0;
  std::vector<Candidate> fits;
  Candidate *chosen = nullptr;
  std::optional<Tokenizer> tok;
  std::vector<int64_t> prompt;
  std::unique_ptr<TuningSession> tuning;
  OwningOpRef<ModuleOp> tuned;
  int applied = 0;
  /// chooseFusion measured the matmuls faster apart and dropped fusion.
  bool fusionDropped = false;
  /// The emitted model's weights file.
  std::string emittedWeights;
  /// The decisions and their measurements, for report.html's first screen.
  std::vector<std::pair<std::string, std::string>> summary;
};

} // namespace

llvm::Error Session::writeModule(ModuleOp module, llvm::StringRef name,
                                 llvm::StringRef weights) {
  std::string path = outPath(name);
  module->setAttr("haqa.weights", StringAttr::get(&ctx, weights));
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return error(path + ": " + ec.message());
  module->print(os);
  os.close();
  if (os.has_error()) {
    std::error_code err = os.error();
    os.clear_error();
    llvm::sys::fs::remove(path);
    return error(path + ": write failed: " + err.message());
  }
  if (!llvm::is_contained(result.written, path))
    result.written.push_back(path);
  return llvm::Error::success();
}

llvm::Error Session::importModel() {
  const std::string &input = options.input;
  if (!llvm::sys::fs::exists(input))
    return error(input + ": no such file or directory");
  llvm::SmallString<256> asImport(input);
  llvm::sys::fs::make_absolute(asImport); // "model.mlir" has a parent
  if (llvm::sys::fs::is_directory(asImport))
    llvm::sys::path::append(asImport, kModuleFileName);
  isImport = llvm::StringRef(asImport).ends_with(".mlir") &&
             llvm::sys::fs::exists(asImport);
  if (std::error_code ec =
          llvm::sys::fs::create_directories(options.tuning.outDir))
    return error(options.tuning.outDir + ": " + ec.message());
  if (isImport) {
    // Already imported: one parse of its module.
    auto files = loadModelFiles(ctx, asImport);
    if (!files)
      return files.takeError();
    imported = std::move(files->module);
    auto w = getWeightsPath(*imported, llvm::sys::path::parent_path(asImport));
    if (!w)
      return w.takeError();
    importedWeights = *w;
    return llvm::Error::success();
  }
  // Imported once, weights as stored; every precision is made from it.
  std::string dir = outPath("import");
  ImportOptions o;
  o.bits = 0;
  o.contextLength = options.contextLength;
  progress << "importing " << input << " (" << precisionName(0) << ") into "
           << dir << "\n";
  auto r = haqa::importModel(ctx, input, dir, o);
  if (!r)
    return r.takeError();
  imported = std::move(r->module);
  llvm::SmallString<256> weights(r->weightsPath);
  llvm::sys::fs::make_absolute(weights);
  importedWeights = weights.str().str();
  result.written.push_back(r->mlirPath);
  result.written.push_back(r->weightsPath);
  return llvm::Error::success();
}

llvm::Expected<OwningOpRef<ModuleOp>> Session::quantized(int bits) {
  OwningOpRef<ModuleOp> m = imported->clone();
  if (bits == 0)
    return std::move(m);
  PassManager pm(&ctx);
  HAQAQuantizePassOptions q;
  q.bits = bits;
  pm.addPass(createHAQAQuantizePass(q));
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return success();
  });
  if (failed(pm.run(*m)))
    return error(options.input + ": --haqa-quantize=bits=" + llvm::Twine(bits) +
                 " failed: " + diagnostics);
  return std::move(m);
}

llvm::Error Session::plan() {
  std::vector<int> candidates;
  // Bits per value of the 2-d weights as stored, and whether that storage
  // is one the precisions below cannot make (K-quants, Q4_1, a mix such as
  // Q4_K_M's Q4_K / Q6_K or a Q4_0 file's Q6_K output).
  uint64_t storedBytes = 0, storedValues = 0;
  llvm::StringSet<> storages;
  imported->walk([&](WeightOp w) {
    WeightType t = w.getResult().getType();
    if (t.getShape().size() != 2)
      return;
    storedBytes += t.getStorageBytes();
    storedValues += t.getNumElements();
    storages.insert(t.getQuant().getGGUFName());
  });
  bool storedIsNew =
      storages.size() > 1 ||
      (storages.size() == 1 && !storages.contains("f16") &&
       !storages.contains("q8_0") && !storages.contains("q4_0") &&
       !storages.contains("f32") && !storages.contains("bf16"));
  if (options.bits == "auto") {
    candidates = isImport ? std::vector<int>{0} : std::vector<int>{16, 8, 4};
    // A quantized file (Q4_K_M, ...) is also measured as the user has it.
    if (!isImport && storedIsNew)
      candidates.push_back(0);
  } else if (options.bits == "keep")
    candidates = {0};
  else if (options.bits == "16" || options.bits == "8" || options.bits == "4")
    candidates = {std::stoi(options.bits)};
  else
    return error("--bits must be auto, keep, 16, 8 or 4, not '" + options.bits +
                 "'");
  auto limit = parseMemoryLimit(options.memoryLimit);
  if (!limit)
    return error(
        "--memory-limit: cannot read '" + options.memoryLimit +
        "' (e.g. 10GiB, 512MB, none): " + llvm::toString(limit.takeError()));
  budget = limit->value_or(profile.memoryBytes);

  // haqa-plan-memory on the model (weights at each precision, the f32 KV
  // cache of --context, prefill activations, a runtime allowance) against
  // the limit.
  OwningOpRef<ModuleOp> planned = imported->clone();
  PassManager pm(&ctx);
  HAQAPlanMemoryPassOptions po;
  po.limit = std::to_string(budget) + "B";
  po.kvBits = 32; // the CPU and CUDA targets keep f32 KV caches
  // Idle cached buffers: the CPU runtime's (host memory on CUDA, not the
  // device's).
  if (target == CompileTarget::CUDA)
    po.bufferCache = "0";
  pm.addPass(createHAQAPlanMemoryPass(po));
  if (failed(pm.run(*planned)))
    return error(options.input + ": haqa-plan-memory failed");
  std::map<int, std::pair<uint64_t, bool>> plan; // bits -> (total, fits)
  auto dict = (*planned)->getAttrOfType<DictionaryAttr>("haqa.memory_plan");
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
  for (int bits : candidates) {
    auto [total, ok] =
        plan.count(bits) ? plan[bits] : std::pair<uint64_t, bool>{0, true};
    if (!ok) {
      progress << llvm::formatv(
          "  {0}: needs {1} (weights, KV cache, activations, buffer cache, "
          "runtime), over the memory limit of {2}: not a candidate\n",
          precisionName(bits), formatBytes(total), formatBytes(budget));
      continue;
    }
    Candidate c;
    c.bits = bits;
    c.preference = bits ? 10 * bits
                        : static_cast<int>(
                              std::lround(10.0 * 8 * storedBytes /
                                          std::max<uint64_t>(1, storedValues)));
    c.bytes = total;
    fits.push_back(std::move(c));
  }
  if (fits.empty())
    return error("no precision fits the memory limit");
  if (stopsAfter(CompilePhase::Plan))
    return writeModule(*planned, "plan.mlir", importedWeights);
  return llvm::Error::success();
}

llvm::Expected<Generation>
Session::generate(ModuleOp module, std::shared_ptr<WeightStore> weights, int n,
                  bool stopAtEos, std::unique_ptr<CompiledModel> *keep,
                  bool fuse) {
  CompiledModelOptions o;
  o.target = target;
  o.fuse = fuse;
  auto model = CompiledModel::create(module, std::move(weights), o);
  if (!model)
    return model.takeError();
  // One untimed step first: the first call pays for the thread pool, the
  // weights' first touch and the caches, and whichever of two models runs
  // first would look slower.
  if (auto warm = generateWith(**model, 1, stopAtEos); !warm)
    return warm.takeError();
  auto g = generateWith(**model, n, stopAtEos);
  if (g && keep)
    *keep = std::move(*model);
  return g;
}

llvm::Expected<Generation> Session::generateWith(CompiledModel &model, int n,
                                                 bool stopAtEos) {
  auto stop = [&](int64_t id) {
    return stopAtEos && tok && tok->isEndOfGeneration(id);
  };
  model.reset();
  auto tokens = model.generate(prompt, n, stop);
  if (!tokens)
    return tokens.takeError();
  Generation g;
  g.tokens = *tokens;
  g.compileSeconds = model.compileSeconds();
  g.prefillTokS = prompt.size() / model.lastPrefillSeconds();
  std::vector<double> steps = model.decodeSeconds();
  if (!steps.empty()) {
    std::sort(steps.begin(), steps.end());
    g.decodeTokS = 1.0 / steps[steps.size() / 2];
  }
  return g;
}

llvm::Expected<std::vector<int64_t>>
Session::referenceTokens(CompiledModel &model, size_t n) {
  auto ref = model.createReference();
  if (!ref)
    return ref.takeError();
  auto stop = [&](int64_t id) { return tok && tok->isEndOfGeneration(id); };
  return (*ref)->generate(prompt, n, stop);
}

llvm::Error Session::choosePrecision() {
  // The strategy (and an LLM's endpoint) is settled first: an LLM may give
  // the precision's prior. The session also holds the records and the log of
  // the tune phase.
  TuningOptions to = options.tuning;
  to.target = target; // kernels are measured where the model runs
  auto session = TuningSession::create(profile, std::move(to), progress);
  if (!session)
    return session.takeError();
  tuning = std::move(*session);

  // The tokenizer (from the weights file) and the prompt.
  if (options.promptTokens.empty()) {
    auto file = GGUFFile::open(importedWeights);
    if (!file)
      return file.takeError();
    auto t = loadTokenizer(file->get());
    if (!t)
      return error(llvm::toString(t.takeError()) +
                   " (give the prompt as --prompt-tokens)");
    tok.emplace(std::move(*t));
  }
  auto p =
      readPromptTokens(tok ? &*tok : nullptr, options.prompt,
                       options.promptTokens, options.chat, "--prompt-tokens");
  if (!p)
    return p.takeError();
  prompt = std::move(*p);

  for (Candidate &c : fits) {
    auto m = quantized(c.bits);
    if (!m)
      return m.takeError();
    c.module = std::move(*m);
  }
  chosen = &fits.front();
  if (fits.size() > 1) {
    // A prior from the profile (the LLM's choice when the agent is an LLM,
    // else the smallest precision the chip runs natively), then measured
    // decode speed decides (on a chip without fast INT4 the measurement
    // overturns it).
    int prior = profile.nativeInt4 ? 4 : profile.nativeInt8 ? 8 : 16;
    std::string why = llvm::formatv("{0} native INT4, {1} native INT8",
                                    profile.nativeInt4 ? "has" : "no",
                                    profile.nativeInt8 ? "has" : "no")
                          .str();
    if (usesLLM(tuning->getStrategyName())) {
      LLMClient client(*tuning->getLLMConfig());
      LLMAgentStats stats;
      std::vector<PrecisionOption> choices;
      for (const Candidate &c : fits)
        choices.push_back({c.bits, c.bytes});
      auto log = [&](llvm::json::Object e) {
        e["kernel"] = "precision";
        e["strategy"] = "llm";
        tuning->log(std::move(e));
      };
      auto b = askLLMForPrecision(client, *tuning->getPrompts(), profile,
                                  llvm::sys::path::filename(options.input),
                                  options.memoryLimit, choices,
                                  options.tuning.llm.reasks, stats, log);
      if (b) {
        prior = *b;
        why = "the LLM's choice";
      } else {
        why += "; the LLM gave none: " + llvm::toString(b.takeError());
      }
    }
    progress << llvm::formatv(
        "precision: prior {0} ({1}); measuring decode of {2} tokens with "
        "default schedules\n",
        precisionName(prior), why, options.probeTokens);
    // Every candidate compiled first (quantized in memory from the stored
    // weights), then probed in interleaved rounds: one probe each in turn
    // misjudged precisions whenever the machine's speed drifted between
    // them. The median round decides; the spread is printed beside it.
    // Rounds go on (up to kMaxProbeRounds) until the fastest beats every
    // precision of more bits in every round; one that it does not beat so
    // is a tie, and a tie goes to the more accurate precision.
    constexpr int kMinProbeRounds = 3, kMaxProbeRounds = 7;
    // The fastest by median; a precision of more bits it does not beat in
    // every round ties, and ties go to the more accurate (chooseFromRounds).
    auto standings = [&] {
      std::vector<std::vector<double>> speeds;
      std::vector<int> bits;
      for (Candidate &c : fits) {
        speeds.push_back(c.probeRounds);
        bits.push_back(c.preference);
      }
      return chooseFromRounds(speeds, bits);
    };
    // Every candidate compiled and probed. Where a device does not survive
    // the fork of the tuner's measuring children (CUDA after cuInit, an
    // OpenCL driver's threads), this runs in one child of its own, so that
    // this process never opens the device.
    auto probeAll = [&]() -> llvm::Error {
      std::vector<std::unique_ptr<CompiledModel>> models;
      for (Candidate &c : fits) {
        auto weights = WeightStore::open(importedWeights);
        if (!weights)
          return weights.takeError();
        std::unique_ptr<CompiledModel> m;
        auto g = generate(*c.module, std::move(*weights), options.probeTokens,
                          /*stopAtEos=*/false, &m);
        if (!g)
          return g.takeError();
        // This first generation warms up (page faults on the weights, cold
        // caches): not a round.
        c.probe = *g;
        models.push_back(std::move(m));
      }
      for (int r = 0; r < kMaxProbeRounds; ++r) {
        if (r >= kMinProbeRounds && standings().settled)
          break;
        for (size_t i = 0; i < fits.size(); ++i) {
          auto g = generateWith(*models[i], options.probeTokens,
                                /*stopAtEos=*/false);
          if (!g)
            return g.takeError();
          fits[i].probeRounds.push_back(g->decodeTokS);
        }
      }
      models.clear();
      return llvm::Error::success();
    };
    if (!CompiledModel::deviceSurvivesFork(target)) {
      if (ctx.isMultithreadingEnabled())
        ctx.disableMultithreading();
      auto child = runIsolated(
          [&]() -> std::string {
            if (llvm::Error e = probeAll())
              return "error:" + llvm::toString(std::move(e));
            llvm::json::Array all;
            for (const Candidate &c : fits)
              all.push_back(llvm::json::Object{
                  {"tokens", llvm::json::Array(c.probe.tokens)},
                  {"prefill", c.probe.prefillTokS},
                  {"decode", c.probe.decodeTokS},
                  {"compile", c.probe.compileSeconds},
                  {"rounds", llvm::json::Array(c.probeRounds)}});
            return "ok:" +
                   llvm::formatv("{0}", llvm::json::Value(std::move(all)))
                       .str();
          },
          /*timeoutSeconds=*/3600);
      ctx.enableMultithreading();
      if (!child)
        return child.takeError();
      if (child->kind != IsolatedResult::Finished)
        return error("the precision probes died (" + child->reason +
                     "): " + child->childStderr);
      llvm::StringRef answer = child->output;
      if (answer.consume_front("error:"))
        return error(answer);
      answer.consume_front("ok:");
      auto parsed = llvm::json::parse(answer);
      llvm::json::Array *all = parsed ? parsed->getAsArray() : nullptr;
      if (!all || all->size() != fits.size())
        return error("the precision probes answered something unreadable");
      for (auto [c, v] : llvm::zip(fits, *all)) {
        const llvm::json::Object *o = v.getAsObject();
        if (!o)
          return error("the precision probes answered something unreadable");
        if (const llvm::json::Array *t = o->getArray("tokens"))
          for (const llvm::json::Value &id : *t)
            c.probe.tokens.push_back(id.getAsInteger().value_or(-1));
        c.probe.prefillTokS = o->getNumber("prefill").value_or(0);
        c.probe.decodeTokS = o->getNumber("decode").value_or(0);
        c.probe.compileSeconds = o->getNumber("compile").value_or(0);
        if (const llvm::json::Array *r = o->getArray("rounds"))
          for (const llvm::json::Value &x : *r)
            c.probeRounds.push_back(x.getAsNumber().value_or(0));
      }
    } else if (llvm::Error e = probeAll()) {
      return e;
    }
    RoundsChoice choice = standings();
    Candidate *fastest = &fits[choice.fastest];
    chosen = &fits[choice.chosen];
    for (Candidate &c : fits) {
      std::vector<double> v = c.probeRounds;
      std::sort(v.begin(), v.end());
      c.probe.decodeTokS = medianOf(v);
      progress << llvm::formatv("  {0,-5} needs {1,7:F1} MiB  decode "
                                "{2,7:F1} tokens/s ({3,7:F1} - {4,7:F1} over "
                                "{5} interleaved rounds)\n",
                                precisionName(c.bits), c.bytes / 1048576.0,
                                c.probe.decodeTokS, v.front(), v.back(),
                                v.size());
    }
    if (chosen != fastest)
      progress << llvm::formatv(
          "  {0} was not faster than {1} in every round: a tie within the "
          "noise, which goes to the more accurate {1}\n",
          precisionName(fastest->bits), precisionName(chosen->bits));
    progress << "  chosen: " << precisionName(chosen->bits)
             << (chosen->bits == prior ? " (the prior held)"
                                       : " (measurement overturned the "
                                         "prior)")
             << "\n";
    std::string probes;
    for (const Candidate &c : fits)
      probes += llvm::formatv("{0}{1} {2:F1} tokens/s ({3})",
                              probes.empty() ? "" : ", ", precisionName(c.bits),
                              c.probe.decodeTokS, formatBytes(c.bytes))
                    .str();
    summary.push_back(
        {"Precision",
         llvm::formatv("{0}, {1} of the precisions that fit (default "
                       "schedules, {2} tokens each, medians of {3} "
                       "interleaved rounds): {4}; prior {5} ({6}), {7}",
                       precisionName(chosen->bits),
                       chosen == fastest
                           ? std::string("the fastest decode")
                           : "tied within the noise with the faster " +
                                 precisionName(fastest->bits) +
                                 " (not faster in every round), the more "
                                 "accurate",
                       options.probeTokens, chosen->probeRounds.size(), probes,
                       precisionName(prior), why,
                       chosen->bits == prior ? "held" : "overturned")
             .str()});
  } else {
    summary.push_back(
        {"Precision",
         llvm::formatv("{0}: the only one that fits the memory "
                       "limit ({1})",
                       precisionName(chosen->bits), formatBytes(chosen->bytes))
             .str()});
  }
  if (stopsAfter(CompilePhase::Precision))
    return writeModule(*chosen->module, "precision.mlir", importedWeights);
  return llvm::Error::success();
}

llvm::Error Session::tune() {
  tuned = chosen->module->clone();
  auto decode = tuned->lookupSymbol<func::FuncOp>("decode");
  auto prefill = tuned->lookupSymbol<func::FuncOp>("prefill");
  if (!decode || !prefill)
    return error(options.input + ": no @decode or @prefill");
  int64_t context = 0;
  for (Type t : decode.getArgumentTypes().drop_front(2))
    context = cast<RankedTensorType>(t).getDimSize(0);
  if (options.prefillRows < 0 || options.prefillRows > context)
    return error("--prefill-rows must lie in [0, " + llvm::Twine(context) +
                 "] (the KV cache's rows), not " +
                 llvm::Twine(options.prefillRows));
  // The distinct kernels of @decode and of @prefill (one schedule each),
  // every one measured alone: @prefill's at --prefill-rows prompt tokens.
  std::vector<TuningKernel> kernels;
  std::vector<OwningOpRef<ModuleOp>> kernelModules;
  std::vector<std::pair<size_t, DistinctKernel>> groups; // kernel index
  llvm::StringMap<size_t> byLabel;
  llvm::StringMap<int> skipped;
  int counts[2] = {0, 0}, ops[2] = {0, 0};
  size_t headOps = 0;
  for (int phase = 0; phase < 2; ++phase) {
    func::FuncOp func = phase == 0 ? decode : prefill;
    if (phase == 1 && options.prefillRows == 0) {
      for (DistinctKernel &k : collectDistinctKernels(func, false))
        skipped[("prefill " + k.first.getKernelName()).str()] += k.ops.size();
      continue;
    }
    // @prefill's output head runs on the last prompt row at run time
    // (haqa-last-logits in CompiledModel, on the targets it names): not
    // tuned at --prefill-rows rows.
    llvm::SmallPtrSet<Operation *, 2> head;
    if (phase == 1 && CompiledModel::lastLogitsOn(target))
      for (Operation *op : getOutputHead(prefill))
        head.insert(op);
    for (DistinctKernel &k : collectDistinctKernels(func, false)) {
      size_t before = k.ops.size();
      llvm::erase_if(k.ops, [&](Operation *op) { return head.contains(op); });
      headOps += before - k.ops.size();
      if (k.ops.empty())
        continue;
      k.first = cast<KernelOpInterface>(k.ops.front());
      auto module = buildKernelModule(k.first, options.prefillRows);
      if (!module) {
        progress << "  " << llvm::toString(module.takeError()) << "\n";
        skipped[k.first.getKernelName()] += k.ops.size();
        continue;
      }
      ops[phase] += k.ops.size();
      std::string label = getKernelLabel(getKernelOp(**module));
      auto [it, inserted] = byLabel.try_emplace(label, kernels.size());
      if (inserted) {
        kernels.push_back({label, **module});
        kernelModules.push_back(std::move(*module));
        ++counts[phase];
      }
      groups.push_back({it->second, std::move(k)});
    }
  }
  progress << llvm::formatv("tuning {0} distinct decode kernels ({1} ops) "
                            "and {2} distinct prefill kernels ({3} ops, "
                            "measured at {4} rows)",
                            counts[0], ops[0], counts[1], ops[1],
                            options.prefillRows);
  for (const auto &kv : skipped)
    progress << llvm::formatv("; {0} x {1} keep the default schedule",
                              kv.getValue(), kv.getKey());
  if (headOps)
    progress << llvm::formatv("; @prefill's output head ({0} ops) runs on the "
                              "last prompt row, as decode's",
                              headOps);
  progress << "\n";
  std::vector<TuningKernel> selected;
  for (const TuningKernel &k : kernels)
    if (options.onlyKernels.empty() ||
        llvm::is_contained(options.onlyKernels,
                           getKernelOp(k.module).getKernelName()))
      selected.push_back(k);

  // A model larger than the last-level cache reads its weights from DRAM
  // at every decode step: its kernels are timed so (with hot weights the
  // tuner preferred one thread for small matmuls that ran slower in the
  // model).
  tuning->setColdCaches(target == CompileTarget::CPU &&
                        chosen->bytes > uint64_t(profile.l3Bytes));
  // Measuring forks children: the context's threads go first (and come
  // back for the compiles of the measure phase).
  auto rows = tuning->tune(selected);
  ctx.enableMultithreading();
  if (!rows)
    return rows.takeError();
  tuning->printTable(out, *rows);
  {
    int tunedCount = 0, defaults = 0, reused = 0;
    for (const TunedKernel &r : *rows) {
      tunedCount += r.source == "tuned";
      defaults += r.source == "default";
      reused += r.source == "reused";
    }
    std::string notTuned;
    for (const auto &kv : skipped)
      notTuned += llvm::formatv("{0}{1} x {2}", notTuned.empty() ? "" : ", ",
                                kv.getValue(), kv.getKey())
                      .str();
    summary.push_back(
        {"Kernels",
         llvm::formatv("{0} distinct kernels measured ({1} strategy): {2} "
                       "with a faster schedule (confirmed against the "
                       "default), {3} keep the default, {4} reused from the "
                       "records; not tuned: {5}",
                       rows->size(), tuning->getStrategyName(), tunedCount,
                       defaults, reused,
                       notTuned.empty() ? std::string("none") : notTuned)
             .str()});
  }
  llvm::StringMap<ScheduleAttr> best;
  for (const TunedKernel &r : *rows)
    if (r.best)
      best[r.label] = r.best;
  for (const auto &[index, group] : groups) {
    ScheduleAttr s = best.lookup(kernels[index].label);
    if (!s)
      continue;
    for (Operation *op : group.ops) {
      // A schedule measured at --prefill-rows rows may not fit the op of
      // dynamic rows: that one keeps its default, and says so.
      if (llvm::Error e = setKernelSchedule(cast<KernelOpInterface>(op), s)) {
        progress << kernels[index].label << ": the tuned schedule does not "
                 << "fit " << cast<KernelOpInterface>(op).getSignatureString()
                 << ", which keeps the default: "
                 << llvm::toString(std::move(e)) << "\n";
        continue;
      }
      ++applied;
    }
  }
  if (stopsAfter(CompilePhase::Tune))
    return writeModule(*tuned, "tuned.mlir", importedWeights);
  return llvm::Error::success();
}

llvm::Error Session::emit() {
  // The weights in the chosen storage: the import's file when that is how
  // it stores them, else a file of their own beside the module.
  auto stored = WeightStore::open(importedWeights);
  if (!stored)
    return stored.takeError();
  bool asStored = true;
  GGUFWriter writer;
  llvm::StringSet<> seen;
  std::string failure;
  tuned->walk([&](WeightOp w) {
    if (!failure.empty() || !seen.insert(w.getName()).second)
      return;
    WeightType type = w.getType();
    auto bytes = (*stored)->getBytes(w.getName(), type);
    if (!bytes) {
      failure = llvm::toString(bytes.takeError());
      return;
    }
    GGUFTensorLayout layout = getGGUFTensorLayout(type);
    asStored &= (*stored)->isStoredAs(w.getName(), type);
    writer.addTensorView(w.getName(), layout.shape, layout.ggmlType, *bytes);
  });
  if (!failure.empty())
    return error(failure);
  std::string weights = importedWeights;
  if (!asStored) {
    // Keep the import's metadata (tokenizer, chat template, names).
    for (const auto &[key, value] : (*stored)->getFile()->getMetadata())
      if (key != "general.alignment")
        writer.addMetadata(key, value);
    std::string path = outPath(kWeightsFileName);
    if (llvm::Error e = writer.write(path))
      return e;
    llvm::SmallString<256> abs(path);
    llvm::sys::fs::make_absolute(abs);
    weights = abs.str().str();
    result.written.push_back(path);
  }
  emittedWeights = weights;
  if (llvm::Error e = writeModule(*tuned, kModuleFileName, weights))
    return e;
  progress << "wrote " << outPath(kModuleFileName) << " (" << applied
           << " ops with tuned schedules)\n";
  return llvm::Error::success();
}

/// `module` with no matmul schedule asking for fusion.
static void dropFusion(ModuleOp module) {
  module.walk([](MatmulOp m) {
    if (ScheduleAttr s = m.getScheduleAttr(); s && !s.getFuse().empty())
      m.setScheduleAttr(s.withFuse({}));
  });
}

llvm::Error Session::chooseFusion(std::shared_ptr<WeightStore> weights) {
  bool fused = false;
  tuned->walk([&](MatmulOp m) {
    ScheduleAttr s = m.getScheduleAttr();
    fused |= s && !s.getFuse().empty();
  });
  if (!fused)
    return llvm::Error::success();
  OwningOpRef<ModuleOp> apart = tuned->clone();
  dropFusion(*apart);
  std::unique_ptr<CompiledModel> fusedModel, apartModel;
  if (auto g = generate(*tuned, weights, 1, true, &fusedModel); !g)
    return g.takeError();
  if (auto g = generate(*apart, weights, 1, true, &apartModel, false); !g)
    return g.takeError();
  // Interleaved rounds, as the default-against-tuned comparison below.
  constexpr int kRounds = 3;
  std::vector<double> ratio, fusedTokS, apartTokS, prefillRatio;
  for (int r = 0; r < kRounds; ++r) {
    auto f = generateWith(*fusedModel, options.generateTokens, true);
    if (!f)
      return f.takeError();
    auto a = generateWith(*apartModel, options.generateTokens, true);
    if (!a)
      return a.takeError();
    fusedTokS.push_back(f->decodeTokS);
    apartTokS.push_back(a->decodeTokS);
    if (a->decodeTokS > 0)
      ratio.push_back(f->decodeTokS / a->decodeTokS);
    prefillRatio.push_back(f->prefillTokS / a->prefillTokS);
  }
  // Decode decides (generation is mostly decode steps); without decode
  // steps, prefill.
  bool keep =
      ratio.empty() ? medianOf(prefillRatio) >= 1.0 : medianOf(ratio) >= 1.0;
  out << llvm::formatv(
      "fusion (fuse = [norm, swiglu, residual]): decode {0:F1} tokens/s "
      "fused vs {1:F1} apart (per round {2:F2}x, {3}), prefill per round "
      "{4:F2}x ({5}); medians of {6} interleaved generations; kept {7}\n",
      medianOf(fusedTokS), medianOf(apartTokS), medianOf(ratio), rangeOf(ratio),
      medianOf(prefillRatio), rangeOf(prefillRatio), kRounds,
      keep ? "fused" : "apart");
  summary.push_back(
      {"Fusion",
       llvm::formatv("{0}: decode {1:F1} tokens/s fused against {2:F1} apart "
                     "(per round {3:F2}x, {4}; {5} interleaved rounds)",
                     keep ? "kept" : "dropped", medianOf(fusedTokS),
                     medianOf(apartTokS), medianOf(ratio), rangeOf(ratio),
                     kRounds)
           .str()});
  if (keep)
    return llvm::Error::success();
  fusionDropped = true;
  tuned = std::move(apart);
  return writeModule(*tuned, kModuleFileName, emittedWeights);
}

llvm::Error Session::measure() {
  // Default against tuned, side by side, on the emitted weights.
  auto opened = WeightStore::open(emittedWeights);
  if (!opened)
    return opened.takeError();
  std::shared_ptr<WeightStore> weights = std::move(*opened);
  if (llvm::Error e = chooseFusion(weights))
    return e;
  std::unique_ptr<CompiledModel> defModel, tunedModel;
  auto def = generate(*chosen->module, weights, options.generateTokens, true,
                      &defModel);
  if (!def)
    return def.takeError();
  auto tunedGen = generate(*tuned, weights, options.generateTokens, true,
                           &tunedModel);
  if (!tunedGen)
    return tunedGen.takeError();
  printGeneration(out, tunedGen->tokens, tok ? &*tok : nullptr);
  result.sameTokens = tunedGen->tokens == def->tokens;
  // The speeds: more generations of each model, interleaved (this host's
  // memory bandwidth drifts over seconds; one generation each misjudged a
  // 5% gain as a 22% loss), until every round agrees on which is faster in
  // decode and in prefill, or kMaxMeasureRounds. Medians, and the range of
  // the per-round ratios.
  constexpr int kMinMeasureRounds = 3, kMaxMeasureRounds = 7;
  std::vector<double> decodeT, decodeD, prefillT, prefillD, decodeRatio,
      prefillRatio;
  auto agree = [](const std::vector<double> &ratios) {
    return ratios.empty() ||
           llvm::all_of(ratios, [](double r) { return r > 1; }) ||
           llvm::all_of(ratios, [](double r) { return r < 1; });
  };
  int rounds = 0;
  while (rounds < kMaxMeasureRounds &&
         (rounds < kMinMeasureRounds || !agree(decodeRatio) ||
          !agree(prefillRatio))) {
    auto d = generateWith(*defModel, options.generateTokens, true);
    if (!d)
      return d.takeError();
    auto t = generateWith(*tunedModel, options.generateTokens, true);
    if (!t)
      return t.takeError();
    decodeD.push_back(d->decodeTokS);
    decodeT.push_back(t->decodeTokS);
    prefillD.push_back(d->prefillTokS);
    prefillT.push_back(t->prefillTokS);
    if (d->decodeTokS > 0)
      decodeRatio.push_back(t->decodeTokS / d->decodeTokS);
    prefillRatio.push_back(t->prefillTokS / d->prefillTokS);
    ++rounds;
  }
  auto median = medianOf;
  auto range = rangeOf;
  out << llvm::formatv(
      "{0} weights; decode {1:F1} tokens/s tuned vs {2:F1} default (per "
      "round {3:F2}x, {4}), prefill {5:F1} vs {6:F1} tokens/s (per round "
      "{7:F2}x, {8}); medians of {9} interleaved generations; same tokens as "
      "the default schedules: {10}\n",
      precisionName(chosen->bits), median(decodeT), median(decodeD),
      median(decodeRatio), range(decodeRatio), median(prefillT),
      median(prefillD), median(prefillRatio), range(prefillRatio), rounds,
      result.sameTokens ? "yes" : "NO");
  // A function whose tuned schedules were slower than the default (the
  // median round; every round, when they agreed early) keeps the default
  // schedules: kernels timed alone do not always add up to a faster model
  // (a one-thread matmul that wins alone leaves the other core idle in the
  // model), and the module written says what was measured fastest.
  auto slower = [](const std::vector<double> &ratios) {
    return !ratios.empty() && medianOf(ratios) < 1;
  };
  std::vector<std::string> reverted;
  if (slower(decodeRatio))
    reverted.push_back("decode");
  if (slower(prefillRatio))
    reverted.push_back("prefill");
  // The default model's schedules, as it compiled them (explicit in the
  // module written, as the tuned ones are).
  for (const std::string &fn : reverted)
    if (llvm::Error e =
            copySchedules(defModel->getScheduledModule(), *tuned, fn))
      return e;
  if (!reverted.empty()) {
    if (fusionDropped)
      dropFusion(*tuned);
    if (llvm::Error e = writeModule(*tuned, kModuleFileName, emittedWeights))
      return e;
    out << llvm::formatv("the tuned schedules of @{0} were slower than the "
                         "default (median round): {1} the default "
                         "schedules (rewrote {2})\n",
                         llvm::join(reverted, " and @"),
                         reverted.size() > 1 ? "they keep" : "it keeps",
                         outPath(kModuleFileName));
  }
  summary.insert(
      summary.begin() + std::min<size_t>(1, summary.size()),
      {"Tuned against default",
       llvm::formatv(
           "{0} weights; decode {1:F1} tokens/s tuned, {2:F1} "
           "default (per round {3:F2}x, range {4}); prefill {5:F1} "
           "against {6:F1} (per round {7:F2}x, range {8}); medians "
           "of {9} interleaved generations; same tokens: {10}{11}",
           precisionName(chosen->bits), median(decodeT), median(decodeD),
           median(decodeRatio), range(decodeRatio), median(prefillT),
           median(prefillD), median(prefillRatio), range(prefillRatio), rounds,
           result.sameTokens ? "yes" : "NO",
           reverted.empty() ? std::string()
                            : "; tuned slower in the median round, so the "
                              "default schedules kept for @" +
                                  llvm::join(reverted, " and @"))
           .str()});
  if (llvm::Error e = tuning->writeReportWithSummary(summary))
    return e;
  if (result.sameTokens && !options.check)
    return llvm::Error::success();
  // Different tokens are a wrong kernel or different arithmetic (a tuned
  // dot = i8 quantizes activations the default does not, or the other way
  // round): the reference executor computing each module's arithmetic tells
  // which.
  auto expected = referenceTokens(*tunedModel, tunedGen->tokens.size());
  if (!expected)
    return expected.takeError();
  result.matchesReference = *expected == tunedGen->tokens;
  out << "check: the reference executor, with the tuned schedules' "
         "arithmetic, generates "
      << (*result.matchesReference ? "the same tokens" : "DIFFERENT tokens")
      << "\n";
  if (result.sameTokens)
    return llvm::Error::success();
  auto expectedDef = referenceTokens(*defModel, def->tokens.size());
  if (!expectedDef)
    return expectedDef.takeError();
  out << "check: the reference executor, with the default schedules' "
         "arithmetic, generates "
      << (*expectedDef == def->tokens ? "the same tokens"
                                      : "DIFFERENT tokens")
      << " as the defaults\n";
  return llvm::Error::success();
}

/// The 1-minute load average when it says other work is running (at least
/// 3/4 of the hardware threads busy before this session starts), else
/// nullopt. Linux's /proc/loadavg (or the file $HAQA_LOADAVG names, in its
/// format: how the tests load a machine); nullopt elsewhere.
static std::optional<double> busyLoad() {
  const char *env = std::getenv("HAQA_LOADAVG");
  auto buf = llvm::MemoryBuffer::getFile(env && *env ? env : "/proc/loadavg",
                                         /*IsText=*/true);
  if (!buf)
    return std::nullopt;
  double load;
  if ((*buf)->getBuffer().split(' ').first.getAsDouble(load))
    return std::nullopt;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (load < 0.75 * cores)
    return std::nullopt;
  return load;
}

llvm::Expected<CompileResult> Session::run() {
  // Measurements on a loaded machine mislead (a busy build once made INT4
  // look 4x faster than INT8): said up front.
  if (std::optional<double> load = busyLoad())
    progress << llvm::formatv(
        "warning: this machine is busy (load average {0:F1} on {1} hardware "
        "threads): the speeds measured here may mislead; the precision "
        "probes and tuned-against-default runs are interleaved, but run "
        "nothing else while measuring\n",
        *load, std::thread::hardware_concurrency());
  // Compiled for, tuned on and run on this machine's GPU for an NVIDIA
  // profile.
  auto t = resolveRunTarget(profile, options.gpuOnCPU, "runs on",
                            "a model cannot run on it");
  if (!t)
    return t.takeError();
  target = *t;
  using Phase = llvm::Error (Session::*)();
  static const std::pair<CompilePhase, Phase> phases[] = {
      {CompilePhase::Import, &Session::importModel},
      {CompilePhase::Plan, &Session::plan},
      {CompilePhase::Precision, &Session::choosePrecision},
      {CompilePhase::Tune, &Session::tune},
      {CompilePhase::Emit, &Session::emit},
      {CompilePhase::Measure, &Session::measure}};
  for (auto [phase, fn] : phases) {
    if (llvm::Error e = (this->*fn)())
      return std::move(e);
    result.lastPhase = phase;
    if (stopsAfter(phase))
      break;
  }
  return std::move(result);
}

llvm::Expected<CompileResult> mlir::haqa::runCompileSession(
    const HardwareProfile &profile, const CompileOptions &options,
    llvm::raw_ostream &out, llvm::raw_ostream &progress) {
  Session session(profile, options, out, progress);
  return session.run();
}

llvm::Error mlir::haqa::runKernelTuning(const HardwareProfile &profile,
                                        llvm::ArrayRef<KernelSpec> specs,
                                        const CompileOptions &options,
                                        llvm::raw_ostream &out,
                                        llvm::raw_ostream &progress) {
  auto target = resolveRunTarget(profile, options.gpuOnCPU, "is measured on",
                                 "kernels for it cannot be measured");
  if (!target)
    return target.takeError();
  TuningOptions to = options.tuning;
  to.target = *target;
  auto session = TuningSession::create(profile, std::move(to), progress);
  if (!session)
    return session.takeError();
  MLIRContext ctx(MLIRContext::Threading::DISABLED);
  std::vector<OwningOpRef<ModuleOp>> modules;
  std::vector<TuningKernel> kernels;
  for (const KernelSpec &spec : specs) {
    if (!options.onlyKernels.empty() &&
        !llvm::is_contained(options.onlyKernels, spec.kernel))
      continue;
    auto module = buildKernelModule(&ctx, spec);
    if (!module)
      return module.takeError();
    kernels.push_back({getKernelLabel(getKernelOp(**module)), **module});
    modules.push_back(std::move(*module));
  }
  auto rows = (*session)->tune(kernels);
  if (!rows)
    return rows.takeError();
  (*session)->printTable(out, *rows);
  return llvm::Error::success();
}
