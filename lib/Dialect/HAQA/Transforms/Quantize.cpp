//===- Quantize.cpp - choose the storage of every 2-d weight ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/Transforms/Passes.h"

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
    QuantAttr base = storageFor(bits, module);
    if (!base)
      return signalPassFailure();
    // Parse "glob:bits" overrides.
    SmallVector<std::pair<llvm::GlobPattern, QuantAttr>> rules;
    SmallVector<StringRef> items;
    StringRef(overrides).split(items, ',', -1, /*KeepEmpty=*/false);
    for (StringRef item : items) {
      auto [glob, bitsText] = item.trim().rsplit(':');
      int64_t b;
      if (bitsText.getAsInteger(10, b)) {
        module.emitError() << "expected an override 'glob:bits', got '" << item
                           << "'";
        return signalPassFailure();
      }
      auto pattern = llvm::GlobPattern::create(glob);
      if (!pattern) {
        module.emitError() << "bad glob '" << glob
                           << "': " << llvm::toString(pattern.takeError());
        return signalPassFailure();
      }
      QuantAttr q = storageFor(b, module);
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
