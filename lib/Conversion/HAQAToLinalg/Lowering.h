//===- Lowering.h - what the kernel patterns share --------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Private to lib/Conversion/HAQAToLinalg. KernelLowering builds the linalg
// form of one kernel op at its position: tagged generics, fills, weights
// read through typed strided views of their bytes. Each op family derives
// from it in a file of its own (Matmul.cpp, Normalization.cpp, RoPE.cpp,
// Embedding.cpp, Attention.cpp, Elementwise.cpp) with a `lower(OpTy)` per op,
// and KernelPattern turns that into an OpRewritePattern: the shared checks,
// the `haqa.operands` tags on the generics it made, the replacement.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_CONVERSION_HAQATOLINALG_LOWERING_H
#define LIB_CONVERSION_HAQATOLINALG_LOWERING_H

#include "haqa/Conversion/HAQAToLinalg/Contract.h"
#include "haqa/Conversion/HAQAToLinalg/HAQAToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

namespace mlir::haqa::to_linalg {

using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

/// Builds the linalg form of one kernel op at the builder's insertion point
/// (just before the op). Op families derive from it.
class KernelLowering {
public:
  KernelLowering(OpBuilder &b, Operation *kernel,
                 const HAQAToLinalgOptions &options)
      : b(b), loc(kernel->getLoc()), kernel(kernel), options(options) {}

protected:
  OpBuilder &b;
  Location loc;
  Operation *kernel;
  HAQAToLinalgOptions options;

  InFlightDiagnostic fail(const Twine &msg) {
    return kernel->emitOpError() << msg;
  }

  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }

  /// An empty tensor shaped like `like` with element type f32.
  Value emptyLike(Value like) {
    auto type = cast<RankedTensorType>(like.getType());
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
    return tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  }
  Value filled(Value empty, double v) {
    return linalg::FillOp::create(b, loc, ValueRange{f32(v)}, empty)
        .getResult(0);
  }

  /// A linalg.generic tagged with the kernel's schedule and `loopDims`.
  Value generic(Type result, ValueRange ins, Value init,
                ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iters,
                ArrayRef<int64_t> loopDims,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body);

  /// Identity-map elementwise generic over all dims of `like`.
  Value elementwise(ValueRange ins, Value like,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> f);

  static SmallVector<int64_t> identity(int64_t n) {
    SmallVector<int64_t> v(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = i;
    return v;
  }

  /// The bytes of weight operand `w`.
  Value bytesOf(Value w) { return getWeightBytes(w); }

  /// Plain (f32/f16/bf16) weight as a tensor of its element type.
  FailureOr<Value> plainWeight(Value w);

  /// `v` (a weight element) as f32.
  static Value toF32(OpBuilder &nb, Location nl, Value v) {
    if (v.getType().isF32())
      return v;
    return arith::ExtFOp::create(nb, nl, nb.getF32Type(), v);
  }

  /// A strided view of `bytes` as `shape` x `elem` (`strides` and `offset`
  /// in elements of `elem`), as a read-only tensor.
  Value strided(Value bytes, Type elem, ArrayRef<int64_t> shape,
                ArrayRef<int64_t> strides, int64_t offset);
};

/// Fails with an error on `kernel` if an activation operand is not f32.
LogicalResult checkActivations(Operation *kernel);

/// Builds `kernel`'s linalg form with `build` just before it, tags each
/// generic it made with `haqa.operands` and replaces the kernel by it. When
/// `build` fails (it said why), the ops it made are erased.
LogicalResult rewriteKernel(Operation *kernel, PatternRewriter &rewriter,
                            function_ref<FailureOr<Value>()> build);

/// Lowers each OpTy op with `Lowering(rewriter, op, options).lower(op)`, a
/// KernelLowering of the op's family, through rewriteKernel.
template <typename OpTy, typename Lowering>
struct KernelPattern : OpRewritePattern<OpTy> {
  KernelPattern(MLIRContext *ctx, const HAQAToLinalgOptions &options)
      : OpRewritePattern<OpTy>(ctx), options(options) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    return rewriteKernel(op, rewriter, [&]() -> FailureOr<Value> {
      return Lowering(rewriter, op, options).lower(op);
    });
  }

  HAQAToLinalgOptions options;
};

/// The patterns of each op family, in its file.
void populateMatmulPatterns(RewritePatternSet &patterns,
                            const HAQAToLinalgOptions &options);
void populateNormalizationPatterns(RewritePatternSet &patterns,
                                   const HAQAToLinalgOptions &options);
void populateRoPEPatterns(RewritePatternSet &patterns,
                          const HAQAToLinalgOptions &options);
void populateEmbeddingPatterns(RewritePatternSet &patterns,
                               const HAQAToLinalgOptions &options);
void populateAttentionPatterns(RewritePatternSet &patterns,
                               const HAQAToLinalgOptions &options);
void populateElementwisePatterns(RewritePatternSet &patterns,
                                 const HAQAToLinalgOptions &options);

} // namespace mlir::haqa::to_linalg

#endif // LIB_CONVERSION_HAQATOLINALG_LOWERING_H
