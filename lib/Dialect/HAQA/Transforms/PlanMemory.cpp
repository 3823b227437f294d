//===- PlanMemory.cpp - memory needed per precision -------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// An analysis pass: records in `haqa.memory_plan` the bytes of weights, KV
// cache, activations and runtime overhead for the current storage and for
// FP16 / INT8 / INT4, and whether each fits the limit. The agent reads this
// to offer only feasible bit widths.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/Support/Parsing.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAPLANMEMORYPASS
#include "haqa/Dialect/HAQA/Transforms/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

struct PlanMemoryPass final
    : haqa::impl::HAQAPlanMemoryPassBase<PlanMemoryPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto fail = [&](const Twine &msg) {
      module.emitError(msg);
      signalPassFailure();
    };
    auto config = module->getAttrOfType<DictionaryAttr>("haqa.config");
    if (!config)
      return fail("expected the module attribute 'haqa.config' (written by "
                  "llama-import) with the model's shapes");
    auto get = [&](StringRef key) -> std::optional<int64_t> {
      if (auto a = config.getAs<IntegerAttr>(key))
        return a.getInt();
      return std::nullopt;
    };
    std::optional<int64_t> layers = get("layers"), kvHeads = get("kv_heads"),
                           headDim = get("head_dim"), heads = get("heads"),
                           dim = get("dim"), ffn = get("ffn_dim"),
                           vocab = get("vocab"), rows = get("context");
    if (!layers || !kvHeads || !headDim || !heads || !dim || !ffn || !vocab ||
        !rows)
      return fail("'haqa.config' lacks one of layers, kv_heads, head_dim, "
                  "heads, dim, ffn_dim, vocab, context");
    std::optional<uint64_t> limitBytes;
    if (!limit.empty()) {
      auto bytes = parseByteSize(limit);
      if (!bytes) {
        llvm::consumeError(bytes.takeError());
        return fail("expected limit as a size such as 12GB or 512MiB, got '" +
                    limit + "'");
      }
      limitBytes = *bytes;
    }
    auto overheadBytes = parseByteSize(overhead);
    if (!overheadBytes) {
      llvm::consumeError(overheadBytes.takeError());
      return fail("expected overhead as a size, got '" + overhead + "'");
    }
    auto cacheBytes = parseByteSize(bufferCache);
    if (!cacheBytes) {
      llvm::consumeError(cacheBytes.takeError());
      return fail("expected buffer-cache as a size, got '" + bufferCache + "'");
    }
    if (kvBits != 32 && kvBits != 16 && kvBits != 8)
      return fail("expected kv-bits 32, 16 or 8, got " + Twine(kvBits));
    int64_t ctxLen = context > 0 ? static_cast<int64_t>(context) : *rows;
    int64_t batchLen = std::min<int64_t>(batch, ctxLen);

    // Distinct weights (prefill and decode share them by name).
    SmallVector<WeightType> weights;
    llvm::StringSet<> seen;
    module.walk([&](WeightOp w) {
      if (seen.insert(w.getName()).second)
        weights.push_back(w.getResult().getType());
    });

    uint64_t kv = 2ull * *layers * ctxLen * *kvHeads * *headDim * kvBits / 8;
    uint64_t act = static_cast<uint64_t>(batchLen) * 4 *
                   (4 * *dim + 2 * *ffn + *heads * ctxLen + *vocab);
    // The buffer cache keeps freed intermediates (activations) for reuse,
    // up to its bound.
    uint64_t cached = std::min<uint64_t>(act, *cacheBytes);
    Builder b(ctx);
    auto entry = [&](QuantAttr q) {
      uint64_t w = 0;
      for (WeightType t : weights)
        w += t.getShape().size() == 2 && q ? t.getStorageBytes(q)
                                           : t.getStorageBytes();
      uint64_t total = w + kv + act + cached + *overheadBytes;
      NamedAttrList e;
      e.append("weights", b.getI64IntegerAttr(w));
      e.append("kv_cache", b.getI64IntegerAttr(kv));
      e.append("activations", b.getI64IntegerAttr(act));
      e.append("buffer_cache", b.getI64IntegerAttr(cached));
      e.append("overhead", b.getI64IntegerAttr(*overheadBytes));
      e.append("total", b.getI64IntegerAttr(total));
      if (limitBytes)
        e.append("fits", b.getBoolAttr(total <= *limitBytes));
      return e.getDictionary(ctx);
    };
    NamedAttrList plan;
    if (limitBytes)
      plan.append("limit", b.getI64IntegerAttr(*limitBytes));
    plan.append("context", b.getI64IntegerAttr(ctxLen));
    plan.append("batch", b.getI64IntegerAttr(batchLen));
    plan.append("current", entry({}));
    plan.append("fp16", entry(QuantAttr::getPlain(ctx, ElemKind::f16)));
    plan.append("int8", entry(QuantAttr::getQ8_0(ctx)));
    plan.append("int4", entry(QuantAttr::getQ4_0(ctx)));
    module->setAttr("haqa.memory_plan", plan.getDictionary(ctx));
    markAllAnalysesPreserved();
  }
};

} // namespace
