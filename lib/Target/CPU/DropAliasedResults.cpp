//===- DropAliasedResults.cpp - results that are arguments ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/CPU/Passes.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQACPUDROPALIASEDRESULTSPASS
#include "haqa/Target/CPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// The function argument `v` is, looking through scf.for loops that carry
/// a buffer unchanged (yield their own iter_arg, as a bufferized in-place
/// update does).
std::optional<unsigned> traceToArgument(func::FuncOp func, Value v) {
  while (true) {
    if (auto bbArg = dyn_cast<BlockArgument>(v)) {
      if (bbArg.getOwner() == &func.getBody().front())
        return bbArg.getArgNumber();
      return std::nullopt;
    }
    auto loop = v.getDefiningOp<scf::ForOp>();
    if (!loop)
      return std::nullopt;
    unsigned i = cast<OpResult>(v).getResultNumber();
    if (loop.getYieldedValues()[i] != loop.getRegionIterArgs()[i])
      return std::nullopt;
    v = loop.getInitArgs()[i];
  }
}

/// The argument every return of `func` yields as result `i`, if one.
std::optional<unsigned> aliasedArgument(func::FuncOp func, unsigned i) {
  std::optional<unsigned> arg;
  bool ok = true;
  func.walk([&](func::ReturnOp ret) {
    std::optional<unsigned> a = traceToArgument(func, ret.getOperand(i));
    if (!a || (arg && *arg != *a)) {
      ok = false;
      return;
    }
    arg = *a;
  });
  return ok ? arg : std::nullopt;
}

struct DropAliasedResultsPass
    : haqa::impl::HAQACPUDropAliasedResultsPassBase<DropAliasedResultsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      // Callers inside the module would need rewriting; the model's
      // functions are entry points.
      if (SymbolTable::symbolKnownUseEmpty(func, getOperation()) == false)
        continue;
      llvm::BitVector drop(func.getNumResults());
      SmallVector<int64_t> aliases;
      for (unsigned i = 0; i < func.getNumResults(); ++i) {
        if (!isa<BaseMemRefType>(func.getResultTypes()[i]))
          continue;
        if (std::optional<unsigned> arg = aliasedArgument(func, i)) {
          drop.set(i);
          aliases.push_back(*arg);
        }
      }
      if (drop.none())
        continue;
      func.walk([&](func::ReturnOp ret) { ret->eraseOperands(drop); });
      if (failed(func.eraseResults(drop)))
        return signalPassFailure();
      func->setAttr("haqa.aliased_results",
                    DenseI64ArrayAttr::get(&getContext(), aliases));
    }
  }
};

} // namespace
