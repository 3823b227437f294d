//===- Embedding.cpp - haqa.embedding as a linalg generic -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa.embedding: the rows the tokens select, dequantized in the body of one
// parallel generic that reads the table's GGUF blocks with tensor.extract.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::to_linalg;

namespace {
struct EmbeddingLowering : KernelLowering {
  using KernelLowering::KernelLowering;
  FailureOr<Value> lower(EmbeddingOp op);
};
} // namespace

/// y[t, e] = table[tokens[t], e], dequantized: a parallel generic over
/// (t, e) whose body reads the row the token selects (tensor.extract from
/// the weight's strided views; GGUF blocks as in Matmul.cpp).
FailureOr<Value> EmbeddingLowering::lower(EmbeddingOp op) {
  WeightType wt = op.getTable().getType();
  QuantAttr q = wt.getQuant();
  int64_t vocab = wt.getShape()[0], dim = wt.getShape()[1];
  auto resultType = cast<RankedTensorType>(op.getType());
  Value tokens = op.getTokens();
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, tokens, 0),
                                     b.getIndexAttr(dim)};
  Value init = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  Type f16 = b.getF16Type(), i8 = b.getI8Type();
  SmallVector<Value> tables;
  StringRef name;
  if (!q.isQuantized()) {
    FailureOr<Value> w = plainWeight(op.getTable());
    if (failed(w))
      return failure();
    tables.push_back(*w);
  } else {
    if (q.getLayout() != StorageLayout::gguf)
      return fail("unimplemented: embedding with ")
                 << q << " tables on the CPU",
             failure();
    name = q.getGGUFName();
    int64_t blocks = dim / 32;
    // Strides in bytes (quants) and in f16s (scale, min) per block.
    int64_t blockBytes = q.getGGUFBlockBytes(), h = blockBytes / 2;
    Value bytes = bytesOf(op.getTable());
    if (name == "q8_0") {
      tables.push_back(strided(bytes, i8, {vocab, blocks, 32},
                               {blockBytes * blocks, blockBytes, 1}, 2));
      tables.push_back(
          strided(bytes, f16, {vocab, blocks}, {h * blocks, h}, 0));
    } else {
      bool hasMin = name == "q4_1";
      tables.push_back(strided(bytes, i8, {vocab, blocks, 16},
                               {blockBytes * blocks, blockBytes, 1},
                               hasMin ? 4 : 2));
      tables.push_back(
          strided(bytes, f16, {vocab, blocks}, {h * blocks, h}, 0));
      if (hasMin)
        tables.push_back(
            strided(bytes, f16, {vocab, blocks}, {h * blocks, h}, 1));
    }
  }
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, getAffineDimExpr(0, ctx)),
                                 b.getMultiDimIdentityMap(2)};
  return generic(
      resultType, tokens, init, maps, {kPar, kPar}, {0, 1},
      [&, name](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value row = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
        Value e = linalg::IndexOp::create(nb, nl, 1);
        auto cst = [&](int64_t v) {
          return arith::ConstantIndexOp::create(nb, nl, v);
        };
        if (name.empty())
          return toF32(
              nb, nl,
              tensor::ExtractOp::create(nb, nl, tables[0], ValueRange{row, e}));
        Value blk = arith::DivUIOp::create(nb, nl, e, cst(32));
        Value j = arith::RemUIOp::create(nb, nl, e, cst(32));
        Value scale = toF32(
            nb, nl,
            tensor::ExtractOp::create(nb, nl, tables[1], ValueRange{row, blk}));
        if (name == "q8_0") {
          Value qv = tensor::ExtractOp::create(nb, nl, tables[0],
                                               ValueRange{row, blk, j});
          Value qf = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), qv);
          return arith::MulFOp::create(nb, nl, qf, scale);
        }
        // Value j of a Q4 block is the low nibble of byte j (j < 16) or the
        // high nibble of byte j - 16.
        Value byteIdx = arith::RemUIOp::create(nb, nl, j, cst(16));
        Value byte = tensor::ExtractOp::create(nb, nl, tables[0],
                                               ValueRange{row, blk, byteIdx});
        Value isLow = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                            j, cst(16));
        Value lo = arith::AndIOp::create(
            nb, nl, byte,
            arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), 15));
        Value hi = arith::ShRUIOp::create(
            nb, nl, byte,
            arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), 4));
        Value nib = arith::SelectOp::create(nb, nl, isLow, lo, hi);
        Value qf = arith::UIToFPOp::create(nb, nl, nb.getF32Type(), nib);
        if (name == "q4_1") {
          Value mn = toF32(nb, nl,
                           tensor::ExtractOp::create(nb, nl, tables[2],
                                                     ValueRange{row, blk}));
          return arith::AddFOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, qf, scale), mn);
        }
        Value eight =
            arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(8.0));
        return arith::MulFOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, qf, eight), scale);
      });
}

void mlir::haqa::to_linalg::populateEmbeddingPatterns(
    RewritePatternSet &patterns, const HAQAToLinalgOptions &options) {
  patterns.add<KernelPattern<EmbeddingOp, EmbeddingLowering>>(
      patterns.getContext(), options);
}
