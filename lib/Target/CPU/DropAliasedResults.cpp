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

/// Whether `v` is `target`, looking through scf.for loops that carry a
/// buffer unchanged (yield their own iter_arg, or a nested loop that does,
/// as a bufferized in-place update does).
bool isCarried(Value v, Value target) {
  while (v != target) {
    auto loop = v.getDefiningOp<scf::ForOp>();
    if (!loop)
      return false;
    unsigned i = cast<OpResult>(v).getResultNumber();
    if (!isCarried(loop.getYieldedValues()[i], loop.getRegionIterArgs()[i]))
      return false;
    v = loop.getInitArgs()[i];
  }
  return true;
}

/// The function argument `v` is, looking through scf.for loops that carry
/// a buffer unchanged.
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
    if (!isCarried(loop.getYieldedValues()[i], loop.getRegionIterArgs()[i]))
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
    ModuleOp module = getOperation();
    SymbolTableCollection symbols;
    SymbolUserMap users(symbols, module);
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      // Callers inside the module (an outlined kernel's) are rewritten:
      // only possible when every use is a call.
      ArrayRef<Operation *> uses = users.getUsers(func);
      if (!llvm::all_of(uses, [](Operation *u) { return isa<func::CallOp>(u); }))
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
      if (uses.empty()) {
        // An entry point: its callers are told which argument holds each
        // dropped result.
        func->setAttr(kAliasedResultsAttrName,
                      DenseI64ArrayAttr::get(&getContext(), aliases));
        continue;
      }
      for (Operation *u : uses) {
        auto call = cast<func::CallOp>(u);
        OpBuilder b(call);
        auto newCall = func::CallOp::create(b, call.getLoc(), func,
                                            call.getOperands());
        unsigned kept = 0, dropped = 0;
        for (unsigned i = 0; i < call.getNumResults(); ++i) {
          Value replacement = drop.test(i)
                                  ? call.getOperand(aliases[dropped++])
                                  : newCall.getResult(kept++);
          call.getResult(i).replaceAllUsesWith(replacement);
        }
        newCall->setDiscardableAttrs(call->getDiscardableAttrDictionary());
        call.erase();
      }
    }
  }
};

} // namespace
