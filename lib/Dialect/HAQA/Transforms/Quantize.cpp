//===- Quantize.cpp - choose the storage of every 2-d weight ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/Transforms/Passes.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/GlobPattern.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAQUANTIZEPASS
#include "haqa/Dialect/HAQA/Transforms/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

struct QuantizePass final : haqa::impl::HAQAQuantizePassBase<QuantizePass> {
  using Base::Base;

  /// The storage `spec` names: a bit width (16, 8 or 4, shaped by the
  /// group and zero options) or a GGUF type name (f32, f16, bf16, q8_0,
  /// q4_0, q4_1, q4_k, q6_k); null after reporting why there is none.
  QuantAttr storageFor(StringRef spec, Operation *anchor) {
    int64_t b;
    if (!spec.getAsInteger(10, b))
      return storageFor(b, anchor);
    MLIRContext *ctx = &getContext();
    QuantAttr q = llvm::StringSwitch<QuantAttr>(spec)
                      .Case("f32", QuantAttr::getPlain(ctx, ElemKind::f32))
                      .Case("f16", QuantAttr::getPlain(ctx, ElemKind::f16))
                      .Case("bf16", QuantAttr::getPlain(ctx, ElemKind::bf16))
                      .Case("q8_0", QuantAttr::getQ8_0(ctx))
                      .Case("q4_0", QuantAttr::getQ4_0(ctx))
                      .Case("q4_1", QuantAttr::getQ4_1(ctx))
                      .Case("q4_k", QuantAttr::getQ4_K(ctx))
                      .Case("q6_k", QuantAttr::getQ6_K(ctx))
                      .Default({});
    if (!q)
      anchor->emitError() << "expected a storage of 16, 8 or 4 bits or one "
                             "of f32, f16, bf16, q8_0, q4_0, q4_1, q4_k, "
                             "q6_k, got '"
                          << spec << "'";
    return q;
  }

  /// The storage for `bits`, or null after reporting why there is none.
  QuantAttr storageFor(int64_t b, Operation *anchor) {
    MLIRContext *ctx = &getContext();
    if (b == 16)
      return QuantAttr::getPlain(ctx, ElemKind::f16);
    if (b != 8 && b != 4) {
      anchor->emitError() << "expected bits to be 16, 8 or 4, got " << b;
      return {};
    }
    std::optional<ZeroKind> z = symbolizeZeroKind(zero);
    if (!z) {
      anchor->emitError() << "expected zero = none or min, got '" << zero
                          << "'";
      return {};
    }
    ElemKind kind = b == 8 ? ElemKind::i8 : ElemKind::i4;
    bool gguf =
        static_cast<int64_t>(group) == 32 &&
        (*z == ZeroKind::none || (*z == ZeroKind::min && kind == ElemKind::i4));
    auto emit = [&] { return anchor->emitError(); };
    return QuantAttr::getChecked(emit, ctx, kind, static_cast<int64_t>(group),
                                 Type(Float16Type::get(ctx)), *z,
                                 gguf ? StorageLayout::gguf
                                      : StorageLayout::planar);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // bits = 0 without a storage keeps every weight not overridden.
    QuantAttr base;
    if (!storage.empty() || bits != 0) {
      base = storage.empty() ? storageFor(bits, module)
                             : storageFor(storage, module);
      if (!base)
        return signalPassFailure();
    }
    // Parse "glob:bits" overrides.
    SmallVector<std::pair<llvm::GlobPattern, QuantAttr>> rules;
    SmallVector<StringRef> items;
    StringRef(overrides).split(items, ',', -1, /*KeepEmpty=*/false);
    for (StringRef item : items) {
      auto [glob, bitsText] = item.trim().rsplit(':');
      if (bitsText.empty() || glob == item.trim()) {
        module.emitError() << "expected an override 'glob:bits' or "
                              "'glob:storage', got '"
                           << item << "'";
        return signalPassFailure();
      }
      auto pattern = llvm::GlobPattern::create(glob);
      if (!pattern) {
        module.emitError() << "bad glob '" << glob
                           << "': " << llvm::toString(pattern.takeError());
        return signalPassFailure();
      }
      QuantAttr q = storageFor(bitsText, module);
      if (!q)
        return signalPassFailure();
      rules.push_back({std::move(*pattern), q});
    }

    WalkResult result = module.walk([&](WeightOp w) {
      WeightType type = w.getResult().getType();
      if (type.getShape().size() != 2)
        return WalkResult::advance(); // norms stay unquantized
      QuantAttr q = base;
      for (auto &[pattern, rule] : rules)
        if (pattern.match(w.getName())) {
          q = rule;
          break;
        }
      if (!q)
        return WalkResult::advance();
      if (q.getLayout() == StorageLayout::gguf_k &&
          type.getShape().back() % 256 != 0) {
        w.emitError() << "expected the innermost dimension ("
                      << type.getShape().back()
                      << ") to be a multiple of 256 for " << q.getGGUFName();
        return WalkResult::interrupt();
      }
      if (q.isQuantized() && type.getShape().back() % q.getGroup() != 0) {
        w.emitError() << "expected group size to divide the innermost "
                         "dimension ("
                      << type.getShape().back() << "), got " << q.getGroup();
        return WalkResult::interrupt();
      }
      w.getResult().setType(WeightType::get(&getContext(), type.getShape(), q));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
