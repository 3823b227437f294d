//===- Model.cpp - an imported model run by the reference executor ------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Reference/Model.h"

#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/Support/Sampling.h"
#include "haqa/Weights/ModelFiles.h"
#include <algorithm>

#include "mlir/Pass/PassManager.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::haqa;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

Expected<std::unique_ptr<ReferenceModel>>
ReferenceModel::load(StringRef path, ReferenceOptions options, int64_t bits) {
  auto ctx = std::make_unique<MLIRContext>();
  auto files = loadModelFiles(*ctx, path);
  if (!files)
    return files.takeError();
  if (bits != 0) {
    PassManager pm(ctx.get());
    HAQAQuantizePassOptions q;
    q.bits = bits;
    pm.addPass(createHAQAQuantizePass(q));
    std::string diagnostics;
    llvm::raw_string_ostream os(diagnostics);
    ScopedDiagnosticHandler handler(ctx.get(), [&](Diagnostic &d) {
      os << d.str();
      return success();
    });
    if (failed(pm.run(*files->module)))
      return llvm::createStringError(
          files->modulePath + ": --haqa-quantize=bits=" + llvm::Twine(bits) +
          " failed: " + diagnostics);
  }
  auto m = create(*files->module, files->weights, options);
  if (!m)
    return llvm::createStringError(files->modulePath + ": " +
                                   llvm::toString(m.takeError()));
  (*m)->ownedContext = std::move(ctx);
  (*m)->ownedModule = std::move(files->module);
  return m;
}

Expected<std::unique_ptr<ReferenceModel>>
ReferenceModel::create(ModuleOp module, std::shared_ptr<WeightStore> weights,
                       ReferenceOptions options) {
  std::unique_ptr<ReferenceModel> m(new ReferenceModel());
  m->module = module;
  m->weights = std::move(weights);
  m->executor =
      std::make_unique<ReferenceExecutor>(module, *m->weights, options);
  auto decode = module.lookupSymbol<func::FuncOp>("decode");
  if (!decode || decode.getNumArguments() < 2 ||
      decode.getNumResults() != decode.getNumArguments() - 1)
    return llvm::createStringError(
        "expected @decode(token, position, caches...) "
        "-> (logits, caches...)");
  auto logits = cast<RankedTensorType>(decode.getResultTypes()[0]);
  m->vocab = logits.getDimSize(1);
  for (Type t : decode.getArgumentTypes().drop_front(2)) {
    auto cache = cast<RankedTensorType>(t);
    m->cacheShape.assign(cache.getShape().begin(), cache.getShape().end());
  }
  m->context = m->cacheShape.empty() ? 0 : m->cacheShape[0];
  m->caches.resize(decode.getNumArguments() - 2);
  m->reset();
  return std::move(m);
}

void ReferenceModel::reset() {
  for (HostTensor &c : caches)
    c = HostTensor::floats(cacheShape);
  pos = 0;
}

Expected<HostTensor> ReferenceModel::call(StringRef func,
                                          llvm::ArrayRef<int64_t> tokens) {
  int64_t n = tokens.size();
  if (pos + n > context)
    return llvm::createStringError(
        "context full: " + llvm::Twine(pos) + " + " + llvm::Twine(n) +
        " tokens exceed the KV cache of " + llvm::Twine(context) +
        " rows (re-import with a larger "
        "--context)");
  std::vector<HostTensor> args;
  args.push_back(HostTensor::ints({n}, tokens));
  std::vector<int64_t> positions(n);
  for (int64_t i = 0; i < n; ++i)
    positions[i] = pos + i;
  args.push_back(HostTensor::ints({n}, positions));
  for (HostTensor &c : caches)
    args.push_back(std::move(c));
  auto results = executor->run(func, std::move(args));
  if (!results) {
    reset(); // the caches were moved into the failed call
    return results.takeError();
  }
  for (size_t i = 0; i < caches.size(); ++i)
    caches[i] = std::move((*results)[i + 1]);
  pos += n;
  return std::move((*results)[0]);
}

Expected<HostTensor> ReferenceModel::prefill(llvm::ArrayRef<int64_t> tokens) {
  return call("prefill", tokens);
}

Expected<HostTensor> ReferenceModel::decode(int64_t token) {
  return call("decode", {token});
}

int64_t ReferenceModel::getMaxNewTokens(int64_t promptTokens) const {
  return haqa::getMaxNewTokens(pos, promptTokens, context);
}

llvm::Error ReferenceModel::checkPromptFits(int64_t promptTokens) const {
  return haqa::checkPromptFits(pos, promptTokens, context);
}

Expected<std::vector<int64_t>> ReferenceModel::generate(
    llvm::ArrayRef<int64_t> prompt, int64_t n,
    llvm::function_ref<bool(int64_t)> stop,
    llvm::function_ref<void(llvm::ArrayRef<float>)> onLogits) {
  std::vector<int64_t> out;
  // As CompiledModel::generate: stop where the context is full.
  if (llvm::Error e = checkPromptFits(prompt.size()))
    return std::move(e);
  n = std::min(n, getMaxNewTokens(prompt.size()));
  auto logits = prefill(prompt);
  if (!logits)
    return logits.takeError();
  llvm::ArrayRef<float> last(logits->f);
  last = last.take_back(vocab);
  for (int64_t i = 0; i < n; ++i) {
    if (onLogits)
      onLogits(last);
    int64_t next = argmax(last);
    out.push_back(next);
    if ((stop && stop(next)) || i + 1 == n)
      break;
    logits = decode(next);
    if (!logits)
      return logits.takeError();
    last = llvm::ArrayRef<float>(logits->f);
  }
  return out;
}

Expected<std::pair<double, int64_t>>
ReferenceModel::perplexity(llvm::ArrayRef<int64_t> tokens, int64_t chunk,
                           int64_t maxChunks) {
  if (chunk < 4 || chunk > context)
    return llvm::createStringError(
        "perplexity: chunk of " + llvm::Twine(chunk) +
        " tokens must be in [4, " + llvm::Twine(context) + "]");
  int64_t chunks = tokens.size() / chunk;
  if (maxChunks > 0)
    chunks = std::min(chunks, maxChunks);
  if (chunks == 0)
    return llvm::createStringError(
        "perplexity: the text has " + llvm::Twine(tokens.size()) +
        " tokens, fewer than one chunk of " + llvm::Twine(chunk));
  double nll = 0;
  int64_t count = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    reset();
    auto logits = prefill(tokens.slice(c * chunk, chunk));
    if (!logits)
      return logits.takeError();
    for (int64_t i = chunk / 2; i + 1 < chunk; ++i) {
      llvm::ArrayRef<float> row(&logits->f[i * vocab], vocab);
      float mx = *std::max_element(row.begin(), row.end());
      double sum = 0;
      for (float v : row)
        sum += std::exp(static_cast<double>(v) - mx);
      int64_t next = tokens[c * chunk + i + 1];
      nll += std::log(sum) + mx - row[next];
      ++count;
    }
  }
  reset();
  return std::make_pair(std::exp(nll / count), count);
}
