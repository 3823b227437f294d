//===- TensorCores.cpp - blocked matmuls on tensor cores --------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Scheduler::runMma: a blocked matmul with `mma = 1` as a block forall
// over bm x bn tiles of f32 sums in workgroup memory (MmaTiles), per K step
// its activation tile converted to f16 and its weight tile dequantized to
// f16 (the matmul body's own dequantization, cloned by dequantToF16) into
// workgroup memory by the block's threads, and 16 x 16 fragment matmuls
// (linalg.matmul {haqa.mma}) spread over the block's warps. The block loop
// records its workgroup bytes and tiles for haqa-gpu-check-limits.
//
//===----------------------------------------------------------------------===//

#include "Scheduler.h"
#include "haqa/Conversion/HAQAToLinalg/Contract.h"
#include "haqa/Hardware/TargetLimits.h"
#include "haqa/Target/GPU/Passes.h"
#include "haqa/Target/ScheduleUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/TilingInterface.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::gpu_schedule;

/// The dequantized weight `w` of a blocked matmul's partial-sum body
/// `acc + x * w` (x the first block argument, acc the last).
static FailureOr<Value> dequantizedWeight(linalg::GenericOp partial) {
  Block &body = partial.getRegion().front();
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return failure();
  Value acc = body.getArguments().back();
  Value prod = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  auto mul = prod.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return failure();
  Value x = body.getArgument(0);
  if (mul.getLhs() == x)
    return mul.getRhs();
  if (mul.getRhs() == x)
    return mul.getLhs();
  return failure();
}

/// The weight of a blocked matmul (loops m, n, h, b, j over x[m, b, h, j]
/// and its weight operands) dequantized to f16 as a generic over (n, b, h,
/// j) writing W[b, h, j, n]: the partial body's weight computation, cloned.
static FailureOr<linalg::GenericOp> dequantToF16(RewriterBase &rw,
                                                 linalg::GenericOp partial) {
  FailureOr<Value> w = dequantizedWeight(partial);
  if (failed(w))
    return failure();
  Location loc = partial.getLoc();
  MLIRContext *ctx = rw.getContext();
  auto e = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  // Partial loop -> dequant loop: m (unused), n, h, b, j -> 0, 2, 1, 3.
  const int64_t newDim[5] = {-1, 0, 2, 1, 3};
  SmallVector<AffineExpr> sub = {getAffineConstantExpr(0, ctx), e(0), e(2),
                                 e(1), e(3)};
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  for (OpOperand *in : partial.getDpsInputOperands()) {
    if (in->getOperandNumber() == 0)
      continue;
    AffineMap m = partial.getMatchingIndexingMap(in);
    if (m.isFunctionOfDim(0))
      return failure();
    ins.push_back(in->get());
    maps.push_back(m.replaceDimsAndSymbols(sub, {}, 4, 0));
  }
  SmallVector<int64_t> ranges = partial.getStaticLoopRanges();
  int64_t n = ranges[1], blocks = ranges[3];
  auto type = RankedTensorType::get({blocks, 2, 16, n}, rw.getF16Type());
  Value empty =
      tensor::EmptyOp::create(rw, loc, type.getShape(), type.getElementType());
  maps.push_back(AffineMap::get(4, 0, {e(1), e(2), e(3), e(0)}, ctx));
  Block &body = partial.getRegion().front();
  Operation *mul = body.getTerminator()->getOperand(0).getDefiningOp();
  bool ok = true;
  auto op = linalg::GenericOp::create(
      rw, loc, TypeRange{type}, ins, ValueRange{empty}, maps,
      SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
      [&](OpBuilder &b, Location l, ValueRange args) {
        IRMapping map;
        for (unsigned i = 1; i + 1 < body.getNumArguments(); ++i)
          map.map(body.getArgument(i), args[i - 1]);
        Value x = body.getArgument(0), acc = body.getArguments().back();
        for (Operation &o : body.without_terminator()) {
          if (&o == mul || llvm::is_contained(o.getUsers(), mul))
            continue;
          if (llvm::is_contained(o.getOperands(), x) ||
              llvm::is_contained(o.getOperands(), acc)) {
            ok = false;
            continue;
          }
          if (auto index = dyn_cast<linalg::IndexOp>(o)) {
            int64_t d = newDim[index.getDim()];
            if (d < 0) {
              ok = false;
              continue;
            }
            map.map(index.getResult(),
                    linalg::IndexOp::create(b, l, d).getResult());
            continue;
          }
          b.clone(o, map);
        }
        Value wv = map.lookupOrDefault(*w);
        linalg::YieldOp::create(
            b, l,
            arith::TruncFOp::create(b, l, b.getF16Type(), wv).getResult());
      });
  if (!ok) {
    rw.eraseOp(op);
    return failure();
  }
  return op;
}

/// A blocked matmul on tensor cores (schedule mma = 1): a block forall over
/// bm x bn output tiles whose sums live in workgroup memory; per K step of
/// bk, the threads convert the activation tile to f16 and dequantize the
/// weight tile to f16 into workgroup memory, then each warp multiplies its
/// 16 x 16 fragments (a linalg.matmul tagged haqa.mma, which
/// haqa-gpu-mma-to-wmma turns into gpu.subgroup_mma ops on CUDA and the CPU
/// runs as loops); finally the threads copy the sums out.
LogicalResult Scheduler::runMma(linalg::GenericOp partial,
                                linalg::GenericOp sum) {
  auto schedule = partial->getAttrOfType<ScheduleAttr>(kScheduleAttrName);
  Location loc = partial.getLoc();
  MLIRContext *ctx = rw.getContext();
  auto expand = partial.getDpsInputOperand(0)
                    ->get()
                    .getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand)
    return partial.emitOpError("mma = 1: activations of unexpected form");
  Value x = expand.getSrc();
  SmallVector<int64_t> ranges = partial.getStaticLoopRanges();
  int64_t m = ranges[0], n = ranges[1], k = ranges[3] * 32;
  ArrayRef<int64_t> tile = schedule.getTile();
  auto tileAt = [&](size_t i) -> int64_t {
    return i < tile.size() ? tile[i] : 0;
  };
  int64_t threads = 1;
  for (int64_t t : blockThreads(schedule, defaultThreads))
    threads *= t;
  std::string whyNot;
  std::optional<MmaTiles> t =
      chooseMmaTiles(ShapedType::isDynamic(m) ? 0 : m, n, k, tileAt(0),
                     tileAt(1), tileAt(2), threads, &whyNot);
  if (!t)
    return partial.emitOpError(whyNot);
  if (threads < 32)
    return partial.emitOpError("mma = 1 needs at least one warp (32 "
                               "threads) per block, got ")
           << threads;

  rw.setInsertionPoint(partial);
  FailureOr<linalg::GenericOp> dequant = dequantToF16(rw, partial);
  if (failed(dequant))
    return partial.emitOpError("mma = 1: matmul body of unexpected form");
  Type f16 = rw.getF16Type(), f32 = rw.getF32Type();
  auto xType = cast<RankedTensorType>(x.getType());
  Value emptyA =
      tensor::EmptyOp::create(rw, loc, tensor::getMixedSizes(rw, loc, x), f16);
  AffineMap id2 = rw.getMultiDimIdentityMap(2);
  auto toF16 = linalg::GenericOp::create(
      rw, loc, TypeRange{emptyA.getType()}, ValueRange{x}, ValueRange{emptyA},
      SmallVector<AffineMap>{id2, id2},
      SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
      [&](OpBuilder &b, Location l, ValueRange args) {
        linalg::YieldOp::create(
            b, l, arith::TruncFOp::create(b, l, f16, args[0]).getResult());
      });
  (void)xType;

  rw.setInsertionPoint(sum);
  Value dest = sum.getDpsInitOperand(0)->get();
  if (auto fill = dest.getDefiningOp<linalg::FillOp>())
    dest = fill.getDpsInitOperand(0)->get();
  OpFoldResult mSize = tensor::getMixedSize(rw, loc, dest, 0);
  auto forall = scf::ForallOp::create(
      rw, loc, ArrayRef<OpFoldResult>{rw.getIndexAttr(0), rw.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{mSize, rw.getIndexAttr(n)},
      ArrayRef<OpFoldResult>{rw.getIndexAttr(t->bm), rw.getIndexAttr(t->bn)},
      ValueRange{dest}, rw.getArrayAttr(linearMapping(ctx, 2, Level::Block)));
  forall->setAttr("haqa.threads", rw.getDenseI64ArrayAttr({threads}));
  // The sums and the two f16 tiles below, for haqa-gpu-check-limits.
  recordWorkgroupBytes(forall, t->sharedBytes);
  forall->setAttr(kMmaTilesAttrName,
                  rw.getDenseI64ArrayAttr({t->bm, t->bn, t->bk}));
  if (!schedule.getGrid().empty()) {
    int64_t g = 1;
    for (int64_t v : schedule.getGrid())
      g *= v;
    forall->setAttr("haqa.grid", rw.getI64IntegerAttr(g));
  }
  rw.setInsertionPointToStart(forall.getBody());
  Value i = forall.getInductionVars()[0], j = forall.getInductionVars()[1];
  Value out = forall.getRegionIterArgs()[0];
  bool fullRows = !ShapedType::isDynamic(m) && m % t->bm == 0;
  OpFoldResult rows = rw.getIndexAttr(t->bm);
  if (!fullRows) {
    AffineExpr d0 = getAffineDimExpr(0, ctx), s0 = getAffineSymbolExpr(0, ctx);
    rows = affine::makeComposedFoldedAffineMin(
        rw, loc,
        AffineMap::get(1, 1, {getAffineConstantExpr(t->bm, ctx), s0 - d0}, ctx),
        {i, mSize});
  }
  Attribute space;
  if (addressSpaces)
    space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto shared = [&](ArrayRef<int64_t> shape, Type elem) -> Value {
    return bufferization::AllocTensorOp::create(
        rw, loc, RankedTensorType::get(shape, elem), ValueRange{}, Value(),
        Value(), space);
  };
  auto zero = [&](Type type) -> Value {
    return arith::ConstantOp::create(rw, loc, rw.getZeroAttr(type));
  };
  SmallVector<linalg::LinalgOp> spread; // ops for all the block's threads
  auto fillZero = [&](Value buf) -> Value {
    auto fill = linalg::FillOp::create(
        rw, loc, zero(cast<ShapedType>(buf.getType()).getElementType()), buf);
    spread.push_back(fill);
    return fill.getResult(0);
  };
  Value acc = fillZero(shared({t->bm, t->bn}, f32));
  auto loop = scf::ForOp::create(
      rw, loc, arith::ConstantIndexOp::create(rw, loc, 0),
      arith::ConstantIndexOp::create(rw, loc, k),
      arith::ConstantIndexOp::create(rw, loc, t->bk), ValueRange{acc});
  rw.setInsertionPointToStart(loop.getBody());
  Value kk = loop.getInductionVar();
  SmallVector<OpFoldResult> zeros2(2, rw.getIndexAttr(0)),
      ones2(2, rw.getIndexAttr(1));
  // The activation tile (rows past M stay zero).
  Value as = shared({t->bm, t->bk}, f16);
  if (!fullRows)
    as = fillZero(as);
  SmallVector<OpFoldResult> aSizes = {rows, rw.getIndexAttr(t->bk)};
  Value aSlice =
      tensor::ExtractSliceOp::create(rw, loc, as, zeros2, aSizes, ones2);
  FailureOr<TilingResult> tiledA =
      cast<TilingInterface>(toF16.getOperation())
          .getTiledImplementation(rw, {i, kk}, aSizes);
  if (failed(tiledA))
    return partial.emitOpError("mma = 1: cannot tile the activations");
  auto aOp = cast<linalg::LinalgOp>(tiledA->tiledOps.front());
  aOp.getDpsInitOperand(0)->set(aSlice);
  spread.push_back(aOp);
  as = tensor::InsertSliceOp::create(rw, loc, aOp->getResult(0), as, zeros2,
                                     aSizes, ones2);
  // The weight tile, dequantized to [bk / 32, 2, 16, bn] = [bk, bn].
  Value bs4 = shared({t->bk / 32, 2, 16, t->bn}, f16);
  Value kBlock = arith::DivUIOp::create(
      rw, loc, kk, arith::ConstantIndexOp::create(rw, loc, 32));
  FailureOr<TilingResult> tiledB =
      cast<TilingInterface>(dequant->getOperation())
          .getTiledImplementation(
              rw, {j, kBlock, rw.getIndexAttr(0), rw.getIndexAttr(0)},
              {rw.getIndexAttr(t->bn), rw.getIndexAttr(t->bk / 32),
               rw.getIndexAttr(2), rw.getIndexAttr(16)});
  if (failed(tiledB))
    return partial.emitOpError("mma = 1: cannot tile the weight");
  auto bOp = cast<linalg::LinalgOp>(tiledB->tiledOps.front());
  bOp.getDpsInitOperand(0)->set(bs4);
  spread.push_back(bOp);
  Value bs = tensor::CollapseShapeOp::create(
      rw, loc, RankedTensorType::get({t->bk, t->bn}, f16), bOp->getResult(0),
      SmallVector<ReassociationIndices>{{0, 1, 2}, {3}});
  auto mm = linalg::MatmulOp::create(rw, loc, TypeRange{acc.getType()},
                                     ValueRange{as, bs},
                                     ValueRange{loop.getRegionIterArgs()[0]});
  scf::YieldOp::create(rw, loc, mm->getResult(0));
  rw.setInsertionPointAfter(loop);
  SmallVector<OpFoldResult> outOffsets = {i, j},
                            outSizes = {rows, rw.getIndexAttr(t->bn)};
  Value outSlice =
      tensor::ExtractSliceOp::create(rw, loc, out, outOffsets, outSizes, ones2);
  Value accSlice = tensor::ExtractSliceOp::create(rw, loc, loop.getResult(0),
                                                  zeros2, outSizes, ones2);
  auto copy = linalg::CopyOp::create(rw, loc, accSlice, outSlice);
  rw.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rw, loc, copy->getResult(0), out,
                                        outOffsets, outSizes, ones2);
  spread.push_back(copy);

  // The old generics and the full-size conversions are replaced.
  SmallVector<Operation *> fills;
  for (Value v :
       {sum.getDpsInitOperand(0)->get(), partial.getDpsInitOperand(0)->get()})
    if (auto fill = v.getDefiningOp<linalg::FillOp>())
      fills.push_back(fill);
  rw.replaceOp(sum, forall->getResults());
  rw.eraseOp(partial);
  rw.eraseOp(*dequant);
  rw.eraseOp(toF16);
  for (Operation *fill : fills)
    if (fill->use_empty())
      rw.eraseOp(fill);

  // Threads: the fills, conversions and copy; warps: the fragments.
  for (linalg::LinalgOp op : spread) {
    int64_t vector = op == bOp ? 1 : schedule.getVector().value_or(1);
    if (failed(threadLevel(op, flatPlan(op, threads, vector))))
      return failure();
  }
  scf::SCFTilingOptions warps;
  warps.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  warps.setNumThreads(indexAttrs(rw, {t->warpsM, t->warpsN, 0}));
  warps.setMapping(linearMapping(ctx, 2, Level::Warp));
  auto perWarp =
      tileLinalgOp(rw, cast<linalg::LinalgOp>(mm.getOperation()), warps);
  if (failed(perWarp))
    return partial.emitOpError("mma = 1: cannot distribute over warps");
  scf::SCFTilingOptions fragments;
  fragments.setTileSizes(indexAttrs(rw, {16, 16, 0}));
  auto perFragment = tileLinalgOp(rw, perWarp->first, fragments);
  if (failed(perFragment))
    return partial.emitOpError("mma = 1: cannot tile into 16x16 fragments");
  perFragment->first->setAttr("haqa.mma", rw.getUnitAttr());
  return success();
}
