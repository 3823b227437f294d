//===- Matmul.cpp - haqa.matmul as linalg generics --------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa.matmul, y = x * W^T with W stored [N, K]: with K in blocks of 32 (all
// GGUF weights) two generics, 16 partial sums per output with the weight
// dequantized in the body, then their sum, tagged `haqa.matmul_part =
// partial_sums / lane_sum` for the targets; otherwise one three-loop generic
// over a plain weight.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::to_linalg;

namespace {
struct MatmulLowering : KernelLowering {
  using KernelLowering::KernelLowering;
  FailureOr<Value> lower(MatmulOp op);

private:
  FailureOr<Value> lowerProduct(MatmulOp op);
  FailureOr<Value> lowerBlocked(MatmulOp op, Value init);
  FailureOr<Value> lowerInt8Dot(MatmulOp op, ScheduleAttr schedule,
                                Value init);
  FailureOr<Value> lowerF16Dot(MatmulOp op, ScheduleAttr schedule,
                               Value init);
  FailureOr<Value> dotInput(MatmulOp op, CPUISAAttr isa);
  Value dotCall(MatmulOp op, ScheduleAttr schedule, StringRef kernel,
                CPUISAAttr isa, SmallVector<Value> ins, Value init);
};
} // namespace

/// The product, then `y[m, n] += bias[n]` as one more generic (the
/// verifier, matmul_c8, keeps gate and residual epilogues away from a
/// bias).
FailureOr<Value> MatmulLowering::lower(MatmulOp op) {
  FailureOr<Value> y = lowerProduct(op);
  if (failed(y) || !op.getBias())
    return y;
  FailureOr<Value> bias = plainWeight(op.getBias());
  if (failed(bias))
    return failure();
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {d(1)}, ctx),
                                 AffineMap::get(2, 0, {d(0), d(1)}, ctx)};
  Value out = generic(
      cast<RankedTensorType>(op.getType()), {*bias}, *y, maps, {kPar, kPar},
      {0, 1}, [](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::AddFOp::create(nb, nl, a[1], toF32(nb, nl, a[0]));
      });
  setMatmulPart(out.getDefiningOp(), MatmulPart::bias);
  return out;
}

/// y[m, n] = sum_k x[m, k] * W[n, k]. With K a multiple of 32 (always for
/// GGUF blocks) this is lowerBlocked; otherwise a plain three-loop
/// generic over f32 / f16 / bf16 weights.
FailureOr<Value> MatmulLowering::lowerProduct(MatmulOp op) {
  Value x = op.getInput();
  WeightType wt = op.getWeight().getType();
  QuantAttr q = wt.getQuant();
  int64_t n = wt.getShape()[0], k = wt.getShape()[1];
  auto resultType = cast<RankedTensorType>(op.getType());
  SmallVector<OpFoldResult> outSizes = {tensor::getMixedSize(b, loc, x, 0),
                                        b.getIndexAttr(n)};
  if (ScheduleAttr s = op.getScheduleAttr(); s && s.isInt8Dot())
    return lowerInt8Dot(
        op, s, tensor::EmptyOp::create(b, loc, outSizes, b.getF32Type()));
  if (ScheduleAttr s = op.getScheduleAttr(); s && s.isMicroKernelDot())
    return lowerF16Dot(
        op, s, tensor::EmptyOp::create(b, loc, outSizes, b.getF32Type()));
  // The verifier (matmul_c7) admits fused neighbours only with a
  // micro-kernel dot.
  if (op.isFused())
    return fail("fused neighbours need dot = i8 or fma"), failure();
  Value init =
      filled(tensor::EmptyOp::create(b, loc, outSizes, b.getF32Type()), 0.0);
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };

  if (q.isQuantized() && q.getLayout() != StorageLayout::gguf)
    return fail("unimplemented: matmul with ") << q << " weights on the CPU",
           failure();
  if (k % 32 == 0)
    return lowerBlocked(op, init);
  if (q.isQuantized())
    return fail("quantized matmul needs K a multiple of 32, got ") << k,
           failure();
  FailureOr<Value> w = plainWeight(op.getWeight());
  if (failed(w))
    return failure();
  SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {d(0), d(2)}, ctx),
                                 AffineMap::get(3, 0, {d(1), d(2)}, ctx),
                                 AffineMap::get(3, 0, {d(0), d(1)}, ctx)};
  return generic(resultType, {x, *w}, init, maps, {kPar, kPar, kRed}, {0, 1, 2},
                 [](OpBuilder &nb, Location nl, ValueRange a) {
                   Value p =
                       arith::MulFOp::create(nb, nl, a[0], toF32(nb, nl, a[1]));
                   return arith::AddFOp::create(nb, nl, a[2], p);
                 });
}

/// K in blocks of 32: y[m, n] = sum_j P[m, n, j] with 16 partial sums per
/// output, P[m, n, j] = sum_{h, b} x[m, b, h, j] * w[n, b, h, j] over loops
/// (m, n, h, b, j): the value j + 16 h of block b. With j parallel, the
/// vectorized body is a plain multiply-add into a 16-lane accumulator that
/// stays put over the innermost block loop; the horizontal sum happens once
/// per output, in the second generic. GGUF blocks are read through strided
/// views of the weight bytes: block_q8_0 {f16 d; i8 qs[32]} (34 bytes),
/// block_q4_0 {f16 d; u8 qs[16]} (18 bytes, x = d * (q - 8)) and block_q4_1
/// {f16 d, m; u8 qs[16]} (20 bytes, x = d * q + m), whose byte j holds
/// values j (low nibble, h = 0) and j + 16 (high nibble, h = 1).
FailureOr<Value> MatmulLowering::lowerBlocked(MatmulOp op, Value init) {
  Value x = op.getInput();
  WeightType wt = op.getWeight().getType();
  StringRef name = wt.getQuant().getGGUFName();
  int64_t n = wt.getShape()[0], k = wt.getShape()[1], blocks = k / 32;
  auto resultType = cast<RankedTensorType>(op.getType());
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  Type f16 = b.getF16Type(), i8 = b.getI8Type(), f32t = b.getF32Type();
  Value bytes = bytesOf(op.getWeight());
  int64_t m = resultType.getDimSize(0);
  OpFoldResult mSize = tensor::getMixedSize(b, loc, x, 0);
  Value x4 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({m, blocks, 2, 16}, f32t), x,
      SmallVector<ReassociationIndices>{{0}, {1, 2, 3}},
      SmallVector<OpFoldResult>{mSize, b.getIndexAttr(blocks),
                                b.getIndexAttr(2), b.getIndexAttr(16)});
  bool plain = !wt.getQuant().isQuantized();
  bool q8 = name == "q8_0", hasMin = name == "q4_1";
  // Strides in bytes (quants) and in f16s (scale, min) per block.
  int64_t blockBytes = wt.getQuant().getGGUFBlockBytes(), h = blockBytes / 2;
  SmallVector<Value> ins = {x4};
  SmallVector<AffineMap> maps = {
      AffineMap::get(5, 0, {d(0), d(3), d(2), d(4)}, ctx)};
  if (plain) {
    // f32 / f16 / bf16 rows viewed as [N, K/32, 2, 16]: no scales.
    FailureOr<Value> w = plainWeight(op.getWeight());
    if (failed(w))
      return failure();
    Type elem = cast<RankedTensorType>(w->getType()).getElementType();
    ins.push_back(tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({n, blocks, 2, 16}, elem), *w,
        SmallVector<ReassociationIndices>{{0}, {1, 2, 3}}));
    maps.push_back(AffineMap::get(5, 0, {d(1), d(3), d(2), d(4)}, ctx));
    maps.push_back(AffineMap::get(5, 0, {d(0), d(1), d(4)}, ctx));
  } else if (q8) {
    ins.push_back(strided(bytes, i8, {n, blocks, 2, 16},
                          {blockBytes * blocks, blockBytes, 16, 1}, 2));
    maps.push_back(AffineMap::get(5, 0, {d(1), d(3), d(2), d(4)}, ctx));
  } else {
    ins.push_back(strided(bytes, i8, {n, blocks, 16},
                          {blockBytes * blocks, blockBytes, 1},
                          hasMin ? 4 : 2));
    maps.push_back(AffineMap::get(5, 0, {d(1), d(3), d(4)}, ctx));
  }
  if (!plain) {
    ins.push_back(strided(bytes, f16, {n, blocks}, {h * blocks, h}, 0));
    maps.push_back(AffineMap::get(5, 0, {d(1), d(3)}, ctx));
    if (hasMin) {
      ins.push_back(strided(bytes, f16, {n, blocks}, {h * blocks, h}, 1));
      maps.push_back(AffineMap::get(5, 0, {d(1), d(3)}, ctx));
    }
    maps.push_back(AffineMap::get(5, 0, {d(0), d(1), d(4)}, ctx));
  }
  auto partialType = RankedTensorType::get({m, n, 16}, f32t);
  Value partialInit = filled(
      tensor::EmptyOp::create(b, loc,
                              SmallVector<OpFoldResult>{
                                  mSize, b.getIndexAttr(n), b.getIndexAttr(16)},
                              f32t),
      0.0);
  Value partial = generic(
      partialType, ins, partialInit, maps, {kPar, kPar, kRed, kRed, kPar},
      {0, 1, 2, 2, 2},
      [plain, q8, hasMin](OpBuilder &nb, Location nl, ValueRange a) {
        if (plain)
          return arith::AddFOp::create(
              nb, nl, a[2],
              arith::MulFOp::create(nb, nl, a[0], toF32(nb, nl, a[1])));
        Value w;
        Value scale = toF32(nb, nl, a[2]);
        if (q8) {
          Value qf = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), a[1]);
          w = arith::MulFOp::create(nb, nl, qf, scale);
        } else {
          Value half = linalg::IndexOp::create(nb, nl, 2);
          Value isLow =
              arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, half,
                                    arith::ConstantIndexOp::create(nb, nl, 0));
          Value lo = arith::AndIOp::create(
              nb, nl, a[1],
              arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), 15));
          Value hi = arith::ShRUIOp::create(
              nb, nl, a[1],
              arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), 4));
          Value nib = arith::SelectOp::create(nb, nl, isLow, lo, hi);
          Value qf = arith::UIToFPOp::create(nb, nl, nb.getF32Type(), nib);
          if (hasMin) {
            w = arith::AddFOp::create(nb, nl,
                                      arith::MulFOp::create(nb, nl, qf, scale),
                                      toF32(nb, nl, a[3]));
          } else {
            Value eight =
                arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(8.0));
            w = arith::MulFOp::create(
                nb, nl, arith::SubFOp::create(nb, nl, qf, eight), scale);
          }
        }
        Value acc = a[hasMin ? 4 : 3];
        Value p = arith::MulFOp::create(nb, nl, a[0], w);
        return arith::AddFOp::create(nb, nl, acc, p);
      });
  // Loop h steps K by 16, loop b by a block of 32: a K tile is in blocks.
  partial.getDefiningOp()->setAttr(kLoopStridesAttrName,
                                   b.getDenseI64ArrayAttr({1, 1, 16, 32, 1}));
  Value sum = generic(resultType, partial, init,
                      {AffineMap::get(3, 0, {d(0), d(1), d(2)}, ctx),
                       AffineMap::get(3, 0, {d(0), d(1)}, ctx)},
                      {kPar, kPar, kRed}, {0, 1, 2},
                      [](OpBuilder &nb, Location nl, ValueRange a) {
                        return arith::AddFOp::create(nb, nl, a[1], a[0]);
                      });
  // The targets find the two parts by these tags (Contract.h).
  setMatmulPart(partial.getDefiningOp(), MatmulPart::partial_sums);
  setMatmulPart(sum.getDefiningOp(), MatmulPart::lane_sum);
  return sum;
}

/// The input of a micro-kernel dot: with a fused `norm`, the rows
/// normalized first by an rms_norm_f32 micro-kernel (in the kernel, before
/// the activation quantization or the f16 dot reads them).
FailureOr<Value> MatmulLowering::dotInput(MatmulOp op, CPUISAAttr isa) {
  Value x = op.getInput();
  if (!op.getNorm())
    return x;
  FailureOr<Value> g = plainWeight(op.getNorm());
  if (failed(g))
    return failure();
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x),
                                       b.getF32Type());
  return MicroKernelOp::create(
             b, loc, TypeRange{init.getType()}, b.getStringAttr("rms_norm_f32"),
             isa, ValueRange{x, *g}, ValueRange{init},
             b.getDenseI64ArrayAttr({1, 1}), b.getI64IntegerAttr(1),
             FloatAttr(), UnitAttr(), UnitAttr(), op.getEpsilonAttr())
      .getResult(0);
}

/// The dot micro-kernel `kernel` on `ins` (activations, weight) into
/// `init`, with the matmul's fused epilogues (gate, residual) as further
/// inputs each thread applies to its piece of y.
Value MatmulLowering::dotCall(MatmulOp op, ScheduleAttr schedule,
                              StringRef kernel, CPUISAAttr isa,
                              SmallVector<Value> ins, Value init) {
  if (op.getGate())
    ins.push_back(op.getGate());
  if (op.getResidual())
    ins.push_back(op.getResidual());
  SmallVector<int64_t> micro(schedule.getMicro());
  if (micro.empty())
    micro = {1, 1};
  auto unit = [&](bool on) { return on ? b.getUnitAttr() : UnitAttr(); };
  return MicroKernelOp::create(
             b, loc, TypeRange{init.getType()}, b.getStringAttr(kernel), isa,
             ins, ValueRange{init}, b.getDenseI64ArrayAttr(micro),
             b.getI64IntegerAttr(schedule.getCpuThreads().value_or(1)),
             FloatAttr(), unit(static_cast<bool>(op.getGate())),
             unit(static_cast<bool>(op.getResidual())), FloatAttr())
      .getResult(0);
}

/// Schedule `dot = i8`: two micro-kernels instead of generated loops, the
/// activation rows quantized to Q8 blocks once, then the int8 block dot
/// products against the weight's GGUF block rows (read in place). `init`
/// is left unfilled: the dot kernel writes every output.
FailureOr<Value>
MatmulLowering::lowerInt8Dot(MatmulOp op, ScheduleAttr schedule, Value init) {
  WeightType wt = op.getWeight().getType();
  StringRef gguf = wt.getQuant().getGGUFName();
  int64_t n = wt.getShape()[0], k = wt.getShape()[1], blocks = k / 32;
  int64_t blockBytes = wt.getQuant().getGGUFBlockBytes();
  // The kernel op's verifier (schedule_c17) admits only these weights.
  assert(hasInt8DotKernels(gguf) &&
         "dot = i8 on a weight without Q8 micro-kernels");
  CPUISA isa = schedule.getIsa().value_or(CPUISA::scalar);
  auto isaAttr = CPUISAAttr::get(b.getContext(), isa);
  FailureOr<Value> x = dotInput(op, isaAttr);
  if (failed(x))
    return failure();
  OpFoldResult mSize = tensor::getMixedSize(b, loc, *x, 0);
  Type i8 = b.getI8Type();
  Value rowsInit = tensor::EmptyOp::create(
      b, loc,
      SmallVector<OpFoldResult>{
          mSize, b.getIndexAttr(blocks * MicroKernelOp::kQ8BlockBytes)},
      i8);
  auto quantize = MicroKernelOp::create(
      b, loc, TypeRange{rowsInit.getType()}, b.getStringAttr("quantize_q8"),
      isaAttr, ValueRange{*x}, ValueRange{rowsInit},
      b.getDenseI64ArrayAttr({1, 1}), b.getI64IntegerAttr(1), FloatAttr(),
      UnitAttr(), UnitAttr(), FloatAttr());
  Value w = strided(bytesOf(op.getWeight()), i8, {n, blocks * blockBytes},
                    {blocks * blockBytes, 1}, 0);
  return dotCall(op, schedule, ("dot_" + gguf).str(), isaAttr,
                 {quantize.getResult(0), w}, init);
}

/// dot = fma: one dot_f16 / dot_bf16 micro-kernel on the F16 / BF16 weight
/// as stored.
FailureOr<Value> MatmulLowering::lowerF16Dot(MatmulOp op,
                                             ScheduleAttr schedule,
                                             Value init) {
  // The kernel op's verifier (schedule_c17) admits only F16 weights.
  FailureOr<Value> w = plainWeight(op.getWeight());
  if (failed(w))
    return failure();
  auto isaAttr = CPUISAAttr::get(b.getContext(),
                                 schedule.getIsa().value_or(CPUISA::scalar));
  FailureOr<Value> x = dotInput(op, isaAttr);
  if (failed(x))
    return failure();
  StringRef kernel = op.getWeight().getType().getQuant().getGGUFName() == "bf16"
                         ? "dot_bf16"
                         : "dot_f16";
  return dotCall(op, schedule, kernel, isaAttr, {*x, *w}, init);
}

void mlir::haqa::to_linalg::populateMatmulPatterns(
    RewritePatternSet &patterns, const HAQAToLinalgOptions &options) {
  patterns.add<KernelPattern<MatmulOp, MatmulLowering>>(patterns.getContext(),
                                                        options);
}
