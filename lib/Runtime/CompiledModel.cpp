//===- CompiledModel.cpp - a model compiled for a target ------------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/CompiledModel.h"

#include "haqa/Conversion/Passes.h"
#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/Support/Sampling.h"
#include "haqa/Weights/ModelFiles.h"
#include <algorithm>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

#include <chrono>

using namespace mlir;
using namespace mlir::haqa;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

static double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

Expected<std::unique_ptr<CompiledModel>>
CompiledModel::load(StringRef path, CompiledModelOptions options) {
  auto ctx = std::make_unique<MLIRContext>();
  auto files = loadModelFiles(*ctx, path);
  if (!files)
    return files.takeError();
  auto m = create(*files->module, files->weights, options);
  if (!m)
    return llvm::createStringError(files->modulePath + ": " +
                                   llvm::toString(m.takeError()));
  files->module = nullptr;
  (*m)->ownedContext = std::move(ctx);
  return m;
}

Expected<std::unique_ptr<CompiledModel>>
CompiledModel::create(ModuleOp source, std::shared_ptr<WeightStore> weights,
                      CompiledModelOptions options) {
  std::unique_ptr<CompiledModel> m(new CompiledModel());
  m->weights = std::move(weights);
  MLIRContext *ctx = source.getContext();
  OwningOpRef<ModuleOp> module = source.clone();
  auto decode = module->lookupSymbol<func::FuncOp>("decode");
  auto prefill = module->lookupSymbol<func::FuncOp>("prefill");
  if (!decode || !prefill || decode.getNumArguments() < 2 ||
      decode.getNumResults() != decode.getNumArguments() - 1 ||
      prefill.getNumArguments() != decode.getNumArguments())
    return llvm::createStringError(
        "expected @prefill and @decode(tokens, positions, caches...) -> "
        "(logits, caches...)");
  m->vocab = cast<RankedTensorType>(decode.getResultTypes()[0]).getDimSize(1);
  for (Type t : decode.getArgumentTypes().drop_front(2)) {
    auto cache = cast<RankedTensorType>(t);
    if (!cache.getElementType().isF32())
      return llvm::createStringError("KV caches must be f32 on the CPU");
    m->cacheShape.assign(cache.getShape().begin(), cache.getShape().end());
  }
  m->context = m->cacheShape.empty() ? 0 : m->cacheShape[0];
  m->caches.resize(decode.getNumArguments() - 2);

  // The bytes of every weight argument in the storage the module gives it:
  // the lowering reads them as they are.
  for (func::FuncOp f : {prefill, decode}) {
    std::vector<BufferRef> &args = m->weightArgs[f.getSymName()];
    for (WeightOp w : getWeightArguments(f)) {
      auto bytes = m->weights->getBytes(w.getName(), w.getType());
      if (!bytes)
        return bytes.takeError();
      BufferRef ref;
      ref.data = const_cast<uint8_t *>(bytes->data());
      ref.shape = {static_cast<int64_t>(bytes->size())};
      ref.elementBytes = 1;
      ref.residency = BufferRef::Constant;
      args.push_back(ref);
    }
  }

  auto start = std::chrono::steady_clock::now();
  HAQADefaultSchedulePassOptions sched;
  // gpu-on-cpu: the CUDA schedules, run as CPU loops (numerics only).
  sched.target =
      stringifyTargetKind(getCompileTargetInfo(options.target).scheduleKind)
          .str();
  sched.cpuThreads = options.threads;
  if (options.target == CompileTarget::CPU) {
    sched.microKernels = options.microKernels;
    sched.fuse = options.fuse;
  }
  {
    // Errors of these two pass runs, for their messages; the compile below
    // reports its own.
    std::string errors;
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
      if (d.getSeverity() == DiagnosticSeverity::Error)
        errors += d.str() + "\n";
      return success();
    });
    PassManager pm(ctx);
    pm.addPass(createHAQADefaultSchedulePass(sched));
    if (failed(pm.run(*module)))
      return llvm::createStringError("default schedules failed: " + errors);
    // The reference executor (createReference) runs this form: every row's
    // logits, with the schedules the compiled ops have.
    m->scheduled = module->clone();
    // Generation reads the last prompt token's logits only: the output head
    // runs on that row, with one-row default schedules, where @prefill ends
    // in one (else every row, as before), on the targets lastLogitsOn
    // names.
    m->lastLogitsOnly = !options.allPromptLogits &&
                        lastLogitsOn(options.target) &&
                        !getOutputHead(prefill).empty();
    if (m->lastLogitsOnly) {
      PassManager last(ctx);
      last.addPass(createHAQALastLogitsPass());
      last.addPass(createHAQADefaultSchedulePass(sched));
      if (failed(last.run(*module)))
        return llvm::createStringError("haqa-last-logits failed: " + errors);
    }
    // The neighbours the matmul schedules ask to fuse (none without fuse).
    PassManager fusion(ctx);
    fusion.addPass(createHAQAFuseMatmulsPass());
    if (failed(fusion.run(*module)))
      return llvm::createStringError("haqa-fuse-matmuls failed: " + errors);
  }
  m->allPromptLogits = options.allPromptLogits;
  m->byDecode = prefillsByDecode(options.target);
  if (m->byDecode) {
    m->lastLogitsOnly = false;
    module->lookupSymbol<func::FuncOp>("prefill").erase();
  }
  auto device = createDevice(options.target);
  if (!device)
    return device.takeError();
  auto exe = (*device)->compile(*module);
  if (!exe)
    return exe.takeError();
  m->exe = std::move(*exe);
  m->compileSec = secondsSince(start);
  m->reset();
  return std::move(m);
}

int64_t CompiledModel::getMaxNewTokens(int64_t promptTokens) const {
  return haqa::getMaxNewTokens(pos, promptTokens, context);
}

llvm::Error CompiledModel::checkPromptFits(int64_t promptTokens) const {
  return haqa::checkPromptFits(pos, promptTokens, context);
}

Expected<std::unique_ptr<ReferenceModel>>
CompiledModel::createReference() const {
  ReferenceOptions options;
  options.activations = QuantizedActivations::AsScheduled;
  return ReferenceModel::create(*scheduled, weights, options);
}

void CompiledModel::reset() {
  int64_t n = 1;
  for (int64_t d : cacheShape)
    n *= d;
  for (auto &c : caches)
    c.assign(n, 0.0f);
  // Device copies of the caches are stale now.
  if (exe)
    exe->releaseResident();
  pos = 0;
  decodeSec.clear();
  prefillSec = 0;
}

void CompiledModel::rewind(int64_t position) {
  pos = std::clamp<int64_t>(position, 0, pos);
  decodeSec.clear();
  prefillSec = 0;
}

Expected<std::vector<float>>
CompiledModel::call(StringRef func, llvm::ArrayRef<int64_t> tokens) {
  int64_t n = tokens.size();
  if (n == 0)
    return llvm::createStringError("@" + func + ": no tokens");
  if (pos + n > context)
    return llvm::createStringError(
        "context full: " + llvm::Twine(pos) + " + " + llvm::Twine(n) +
        " tokens exceed the KV cache of " + llvm::Twine(context) +
        " rows (re-import with a larger --context)");
  // Compiled code does not bounds-check its gathers: check here.
  std::vector<int32_t> ids(n), positions(n);
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab)
      return llvm::createStringError("token id " + llvm::Twine(tokens[i]) +
                                     " outside the vocabulary of " +
                                     llvm::Twine(vocab));
    ids[i] = static_cast<int32_t>(tokens[i]);
    positions[i] = static_cast<int32_t>(pos + i);
  }
  int64_t rows = func == "prefill" && lastLogitsOnly ? 1 : n;
  std::vector<float> logits(rows * vocab);
  std::vector<BufferRef> args;
  args.push_back({ids.data(), {n}});
  args.push_back({positions.data(), {n}});
  for (auto &c : caches) {
    BufferRef ref;
    ref.data = c.data();
    ref.shape.assign(cacheShape.begin(), cacheShape.end());
    // Updated in place by every call: on a GPU it stays there.
    ref.residency = BufferRef::Resident;
    args.push_back(ref);
  }
  for (const BufferRef &w : weightArgs[func])
    args.push_back(w);
  args.push_back({logits.data(), {rows, vocab}});
  if (Error e = exe->run(func, args))
    return std::move(e);
  pos += n;
  return logits;
}

Expected<std::vector<float>>
CompiledModel::prefill(llvm::ArrayRef<int64_t> tokens) {
  auto start = std::chrono::steady_clock::now();
  if (byDecode) {
    if (llvm::Error e = checkPromptFits(tokens.size()))
      return std::move(e);
    std::vector<float> all;
    for (int64_t t : tokens) {
      auto step = call("decode", {t});
      if (!step)
        return step.takeError();
      if (allPromptLogits || all.empty())
        all.insert(all.end(), step->begin(), step->end());
      else
        std::copy(step->begin(), step->end(), all.begin());
    }
    prefillSec = secondsSince(start);
    return all;
  }
  auto logits = call("prefill", tokens);
  prefillSec = secondsSince(start);
  return logits;
}

Expected<std::vector<float>> CompiledModel::decode(int64_t token) {
  auto start = std::chrono::steady_clock::now();
  auto logits = call("decode", {token});
  decodeSec.push_back(secondsSince(start));
  return logits;
}

Expected<std::vector<int64_t>>
CompiledModel::generate(llvm::ArrayRef<int64_t> prompt, int64_t n,
                        llvm::function_ref<bool(int64_t)> stop,
                        Sampler *sampler, int64_t cached) {
  std::vector<int64_t> out;
  if (cached < 0 || cached >= static_cast<int64_t>(prompt.size()) ||
      (cached > 0 && cached != pos))
    return llvm::createStringError(
        "generate: " + llvm::Twine(cached) + " cached tokens of a prompt of " +
        llvm::Twine(prompt.size()) + " at position " + llvm::Twine(pos));
  llvm::ArrayRef<int64_t> rest = prompt.drop_front(cached);
  // The cache holds the prompt and every generated token but the last:
  // generation stops there, with what it has, rather than failing.
  if (llvm::Error e = checkPromptFits(rest.size()))
    return std::move(e);
  n = std::min(n, getMaxNewTokens(rest.size()));
  auto logits = prefill(rest);
  if (!logits)
    return logits.takeError();
  std::vector<float> last(logits->end() - vocab, logits->end());
  // The context the sampler's repetition penalty looks back over.
  std::vector<int64_t> context;
  if (sampler)
    context.assign(prompt.begin(), prompt.end());
  for (int64_t i = 0; i < n; ++i) {
    int64_t next = sampler ? sampler->next(last, context) : argmax(last);
    if (sampler)
      context.push_back(next);
    out.push_back(next);
    if ((stop && stop(next)) || i + 1 == n)
      break;
    auto step = decode(next);
    if (!step)
      return step.takeError();
    last = std::move(*step);
  }
  return out;
}
