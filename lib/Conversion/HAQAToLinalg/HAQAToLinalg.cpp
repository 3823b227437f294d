//===- HAQAToLinalg.cpp - haqa kernel ops to linalg on tensors --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The convert-haqa-to-linalg pass. Weights become byte-buffer function
// arguments read through typed strided views (WeightArguments.cpp: GGUF
// blocks are never repacked: the scale of block b of row n of a Q8_0 weight
// is the f16 at byte 34*(n*B+b)); with `outline-kernels`, each distinct
// kernel moves into a private function first (OutlineKernels.cpp); then one
// pattern per kernel op (Matmul.cpp, Normalization.cpp, RoPE.cpp,
// Embedding.cpp, Attention.cpp, Elementwise.cpp, sharing Lowering.h) turns
// it into linalg.generic ops whose bodies dequantize in place, tagged for
// the targets as Contract.h says.
//
// The patterns are applied by a plain loop over the kernel ops in program
// order, not by the greedy driver: no folding or constant hoisting changes
// the IR the targets see, each pattern runs once per op (so its error is
// reported once) and the pass stops at the first kernel that cannot be
// lowered.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"
#include "OutlineKernels.h"

#include "haqa/Conversion/Passes.h"

#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "mlir/Rewrite/PatternApplicator.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_CONVERTHAQATOLINALGPASS
#include "haqa/Conversion/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

void mlir::haqa::populateHAQAToLinalgConversionPatterns(
    RewritePatternSet &patterns, const HAQAToLinalgOptions &options) {
  to_linalg::populateMatmulPatterns(patterns, options);
  to_linalg::populateNormalizationPatterns(patterns, options);
  to_linalg::populateRoPEPatterns(patterns, options);
  to_linalg::populateEmbeddingPatterns(patterns, options);
  to_linalg::populateAttentionPatterns(patterns, options);
  to_linalg::populateElementwisePatterns(patterns, options);
}

namespace {

/// Lowers every kernel op of `func` in place, in program order; stops at
/// the first that fails (its pattern said why, or it has none).
LogicalResult lowerKernels(func::FuncOp func,
                           const FrozenRewritePatternSet &patterns) {
  SmallVector<KernelOpInterface> kernels;
  func.walk([&](KernelOpInterface k) { kernels.push_back(k); });
  PatternApplicator applicator(patterns);
  applicator.applyDefaultCostModel();
  PatternRewriter rewriter(func.getContext());
  for (KernelOpInterface k : kernels) {
    bool hasPattern = false;
    rewriter.setInsertionPoint(k);
    if (succeeded(applicator.matchAndRewrite(k, rewriter, [&](const Pattern &) {
          hasPattern = true;
          return true;
        })))
      continue;
    if (!hasPattern && succeeded(to_linalg::checkActivations(k)))
      k->emitOpError("unimplemented: no CPU lowering for this kernel yet");
    return failure();
  }
  return success();
}

struct ConvertHAQAToLinalgPass
    : haqa::impl::ConvertHAQAToLinalgPassBase<ConvertHAQAToLinalgPass> {
  using Base::Base;
  void runOnOperation() override;
};

void ConvertHAQAToLinalgPass::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
  // Weights come from haqa.weight ops (their names become the byte-buffer
  // arguments the runtime binds); any other !haqa.weight value is an error.
  WalkResult notAWeightOp = module.walk([&](KernelOpInterface k) {
    for (OpOperand &use : k->getOpOperands())
      if (isa<WeightType>(use.get().getType()) &&
          !use.get().getDefiningOp<WeightOp>()) {
        k->emitOpError("operand #")
            << use.getOperandNumber()
            << " is a weight that no haqa.weight op defines (a function "
               "argument?): the lowering binds weights by the name of their "
               "haqa.weight op";
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  if (notAWeightOp.wasInterrupted())
    return signalPassFailure();

  RewritePatternSet patternList(&getContext());
  HAQAToLinalgOptions options;
  options.attentionWholeCache = attentionWholeCache;
  populateHAQAToLinalgConversionPatterns(patternList, options);
  FrozenRewritePatternSet patterns(std::move(patternList));

  to_linalg::KernelOutliner outliner(module);
  for (func::FuncOp func : funcs) {
    if (func.isExternal())
      continue;
    if (failed(addWeightArguments(func)))
      return signalPassFailure();
    if (outlineKernels)
      outliner.outline(func);
    if (failed(lowerKernels(func, patterns)))
      return signalPassFailure();
    SmallVector<WeightOp> dead;
    func.walk([&](WeightOp w) { dead.push_back(w); });
    for (WeightOp w : dead) {
      if (!w->use_empty()) {
        w.emitOpError("is still used after lowering");
        return signalPassFailure();
      }
      w.erase();
    }
  }
  // Outlined kernels: their weights are placeholder casts of the byte
  // arguments, dead once lowered.
  for (func::FuncOp callee : outliner.getCallees()) {
    if (failed(lowerKernels(callee, patterns)))
      return signalPassFailure();
    SmallVector<UnrealizedConversionCastOp> casts;
    callee.walk([&](UnrealizedConversionCastOp c) { casts.push_back(c); });
    for (UnrealizedConversionCastOp c : casts)
      if (c->use_empty())
        c.erase();
    to_linalg::KernelOutliner::computeIntoDestination(callee);
  }
}

} // namespace
