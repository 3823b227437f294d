//===- MapForall.cpp - block / thread foralls to gpu.launch -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/GPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/MathExtras.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUMAPFORALLPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// The linear dimension a forall dimension is mapped to (0 fastest), or -1.
int64_t linearDim(Attribute mapping) {
  auto m = dyn_cast<DeviceMappingAttrInterface>(mapping);
  if (!m || !m.isLinearMapping())
    return -1;
  return m.getRelativeIndex();
}

enum class Level { Block, Warp, Thread };

/// What `forall` is mapped to (all its dimensions alike); nullopt for other
/// foralls.
std::optional<Level> levelOf(scf::ForallOp forall) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  if (!mapping || mapping->empty())
    return std::nullopt;
  if (llvm::all_of(*mapping, llvm::IsaPred<gpu::GPUBlockMappingAttr>))
    return Level::Block;
  if (llvm::all_of(*mapping, llvm::IsaPred<gpu::GPUWarpMappingAttr>))
    return Level::Warp;
  if (llvm::all_of(*mapping, llvm::IsaPred<gpu::GPUThreadMappingAttr>))
    return Level::Thread;
  return std::nullopt;
}

bool inBlock(scf::ForallOp forall) {
  std::optional<Level> l = levelOf(forall);
  return l == Level::Warp || l == Level::Thread;
}

/// Threads of a warp (all NVIDIA GPUs).
constexpr int64_t kWarpSize = 32;

Value index(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// Trip counts of `forall`'s dimensions and their product.
std::pair<SmallVector<Value>, Value> tripCounts(OpBuilder &b,
                                                scf::ForallOp forall) {
  Location loc = forall.getLoc();
  SmallVector<Value> trips;
  Value total = index(b, loc, 1);
  for (auto [lb, ub, step] :
       llvm::zip(forall.getMixedLowerBound(), forall.getMixedUpperBound(),
                 forall.getMixedStep())) {
    Value l = getValueOrCreateConstantIndexOp(b, loc, lb);
    Value u = getValueOrCreateConstantIndexOp(b, loc, ub);
    Value s = getValueOrCreateConstantIndexOp(b, loc, step);
    Value t = arith::CeilDivUIOp::create(
        b, loc, arith::SubIOp::create(b, loc, u, l), s);
    trips.push_back(t);
    total = arith::MulIOp::create(b, loc, total, t);
  }
  return {trips, total};
}

/// The induction variables of `forall` for linear iteration `linear`.
SmallVector<Value> delinearize(OpBuilder &b, scf::ForallOp forall,
                               ArrayRef<Value> trips, Value linear) {
  Location loc = forall.getLoc();
  ArrayAttr mapping = *forall.getMapping();
  unsigned n = trips.size();
  SmallVector<unsigned> byDim(n);
  for (unsigned i = 0; i < n; ++i)
    byDim[i] = i;
  llvm::sort(byDim, [&](unsigned a, unsigned c) {
    return linearDim(mapping[a]) < linearDim(mapping[c]);
  });
  SmallVector<Value> ivs(n);
  Value rest = linear;
  for (unsigned k = 0; k < n; ++k) {
    unsigned i = byDim[k];
    Value idx = k + 1 == n ? rest
                           : arith::RemUIOp::create(b, loc, rest, trips[i]);
    if (k + 1 < n)
      rest = arith::DivUIOp::create(b, loc, rest, trips[i]);
    Value lb = getValueOrCreateConstantIndexOp(
        b, loc, forall.getMixedLowerBound()[i]);
    Value step =
        getValueOrCreateConstantIndexOp(b, loc, forall.getMixedStep()[i]);
    ivs[i] = arith::AddIOp::create(b, loc, lb,
                                   arith::MulIOp::create(b, loc, idx, step));
  }
  return ivs;
}

/// Runs `forall`'s body at linear iterations `first`, `first + stride`, ...
/// below `total`: once without a guard when `first` is the only one, under
/// scf.if when there is at most one, in an scf.for otherwise; the code goes
/// before `at`. Erases `forall`.
void inlineStrided(RewriterBase &rw, scf::ForallOp forall, Operation *at,
                   ArrayRef<Value> trips, Value total, Value first,
                   Value stride, std::optional<int64_t> staticTotal,
                   std::optional<int64_t> staticStride) {
  Location loc = forall.getLoc();
  rw.eraseOp(forall.getTerminator());
  auto inlineAt = [&](Operation *before, Value linear) {
    OpBuilder::InsertionGuard g(rw);
    rw.setInsertionPoint(before);
    SmallVector<Value> ivs = delinearize(rw, forall, trips, linear);
    rw.inlineBlockBefore(forall.getBody(), before, ivs);
  };
  rw.setInsertionPoint(at);
  if (staticTotal && staticStride && *staticTotal == *staticStride) {
    inlineAt(at, first);
  } else if (staticTotal && staticStride && *staticTotal < *staticStride) {
    Value inRange = arith::CmpIOp::create(rw, loc, arith::CmpIPredicate::ult,
                                          first, total);
    auto guard = scf::IfOp::create(rw, loc, inRange, /*withElse=*/false);
    inlineAt(guard.thenBlock()->getTerminator(), first);
  } else {
    auto loop = scf::ForOp::create(rw, loc, first, total, stride);
    inlineAt(loop.getBody()->getTerminator(), loop.getInductionVar());
  }
  rw.eraseOp(forall);
}

/// The iteration count of `forall` when its bounds are constants.
std::optional<int64_t> staticIterations(scf::ForallOp forall) {
  int64_t total = 1;
  for (auto [lb, ub, step] :
       llvm::zip(forall.getMixedLowerBound(), forall.getMixedUpperBound(),
                 forall.getMixedStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb),
                           u = getConstantIntValue(ub),
                           s = getConstantIntValue(step);
    if (!l || !u || !s || *s <= 0)
      return std::nullopt;
    total *= llvm::divideCeil(*u - *l, *s);
  }
  return total;
}

LogicalResult mapBlocks(RewriterBase &rw, scf::ForallOp forall,
                        bool attributions) {
  Location loc = forall.getLoc();
  rw.setInsertionPoint(forall);
  auto [trips, tiles] = tripCounts(rw, forall);
  SmallVector<int64_t> threads = {1, 1, 1};
  if (auto t = forall->getAttrOfType<DenseI64ArrayAttr>("haqa.threads")) {
    if (t.empty() || t.size() > 3)
      return forall.emitOpError("haqa.threads must have 1 to 3 entries");
    for (auto [i, v] : llvm::enumerate(t.asArrayRef()))
      threads[i] = v;
  }
  int64_t numThreads = threads[0] * threads[1] * threads[2];
  Value grid = tiles;
  auto gridAttr = forall->getAttrOfType<IntegerAttr>("haqa.grid");
  if (gridAttr)
    grid = index(rw, loc, gridAttr.getInt());
  Value one = index(rw, loc, 1);
  auto launch = gpu::LaunchOp::create(
      rw, loc, grid, one, one, index(rw, loc, threads[0]),
      index(rw, loc, threads[1]), index(rw, loc, threads[2]));
  Block &body = launch.getBody().front();
  rw.setInsertionPointToEnd(&body);
  auto terminator = gpu::TerminatorOp::create(rw, loc);
  rw.setInsertionPoint(terminator);

  // Threads: the linear id, x fastest.
  gpu::KernelDim3 tid = launch.getThreadIds();
  Value tx = index(rw, loc, threads[0]), ty = index(rw, loc, threads[1]);
  Value linearThread = arith::AddIOp::create(
      rw, loc, tid.x,
      arith::MulIOp::create(
          rw, loc, tx,
          arith::AddIOp::create(rw, loc, tid.y,
                                arith::MulIOp::create(rw, loc, ty, tid.z))));
  SmallVector<scf::ForallOp> threadLoops;
  forall.getBody()->walk([&](scf::ForallOp inner) {
    if (inBlock(inner))
      threadLoops.push_back(inner);
  });

  // Blocks: one tile per block, or a grid stride over the tiles.
  Value bid = launch.getBlockIds().x;
  // (The trip counts are computed before the launch; gpu-kernel-outlining
  // passes them in.)
  if (gridAttr)
    inlineStrided(rw, forall, terminator, trips, tiles, bid, grid,
                  staticIterations(forall), gridAttr.getInt());
  else
    inlineStrided(rw, forall, terminator, trips, tiles, bid, grid, 1, 1);

  for (scf::ForallOp inner : threadLoops) {
    rw.setInsertionPoint(inner);
    auto [innerTrips, total] = tripCounts(rw, inner);
    Operation *next = inner->getNextNode();
    bool last = inner->getBlock() == &body && next &&
                isa<gpu::TerminatorOp>(next);
    Location innerLoc = inner.getLoc();
    std::optional<int64_t> iterations = staticIterations(inner);
    Value first = linearThread;
    int64_t workers = numThreads;
    if (levelOf(inner) == Level::Warp) {
      if (numThreads % kWarpSize != 0)
        return inner.emitOpError("is mapped to warps but the block has ")
               << numThreads << " threads, not a multiple of " << kWarpSize;
      workers = numThreads / kWarpSize;
      first = arith::DivUIOp::create(rw, innerLoc, linearThread,
                                     index(rw, innerLoc, kWarpSize));
    }
    inlineStrided(rw, inner, inner, innerTrips, total, first,
                  index(rw, innerLoc, workers), iterations, workers);
    if (!last) {
      rw.setInsertionPoint(next);
      gpu::BarrierOp::create(rw, innerLoc);
    }
  }

  // Constants used in the kernel are made in it (gpu-kernel-outlining
  // would pass ub.poison and vector constants as arguments).
  SmallVector<std::pair<OpOperand *, Operation *>> outside;
  launch.getBody().walk([&](Operation *op) {
    for (OpOperand &use : op->getOpOperands())
      if (Operation *def = use.get().getDefiningOp())
        if (def->getNumOperands() == 0 && def->getNumRegions() == 0 &&
            isPure(def) && !launch->isAncestor(def))
          outside.push_back({&use, def});
  });
  {
    DenseMap<Operation *, Operation *> cloned;
    for (auto [use, def] : outside) {
      Operation *&c = cloned[def];
      if (!c) {
        rw.setInsertionPointToStart(&body);
        c = rw.clone(*def);
      }
      use->set(c->getResult(cast<OpResult>(use->get()).getResultNumber()));
    }
  }

  // Copies inside the kernel are loops of the thread making them (device
  // code has no memrefCopy runtime function).
  SmallVector<memref::CopyOp> copies;
  launch.getBody().walk([&](memref::CopyOp c) { copies.push_back(c); });
  for (memref::CopyOp c : copies) {
    rw.setInsertionPoint(c);
    if (c.getSource() != c.getTarget())
      linalg::CopyOp::create(rw, c.getLoc(), c.getSource(), c.getTarget());
    rw.eraseOp(c);
  }

  // Buffers of one block or one thread: launch attributions, or (for
  // SPIR-V, which lowers no attribution) allocations at the start of the
  // launch: memref.alloc of workgroup memory, memref.alloca of private.
  SmallVector<memref::AllocOp> allocs;
  launch.getBody().walk([&](memref::AllocOp a) { allocs.push_back(a); });
  for (memref::AllocOp a : allocs) {
    auto space =
        dyn_cast_or_null<gpu::AddressSpaceAttr>(a.getType().getMemorySpace());
    if (!space)
      return a.emitOpError("allocates global memory inside a GPU kernel");
    if (!a.getType().hasStaticShape())
      return a.emitOpError("workgroup / private buffers need a static shape");
    for (Operation *user : llvm::make_early_inc_range(a->getUsers()))
      if (isa<memref::DeallocOp>(user))
        rw.eraseOp(user);
    bool workgroup = space.getValue() == gpu::AddressSpace::Workgroup;
    if (!attributions) {
      rw.setInsertionPointToStart(&launch.getBody().front());
      Value buffer = workgroup
                         ? memref::AllocOp::create(rw, a.getLoc(), a.getType(),
                                                   a.getAlignmentAttr())
                               .getResult()
                         : memref::AllocaOp::create(rw, a.getLoc(), a.getType(),
                                                    a.getAlignmentAttr())
                               .getResult();
      rw.replaceOp(a, buffer);
      continue;
    }
    BlockArgument arg =
        workgroup ? launch.addWorkgroupAttribution(a.getType(), a.getLoc())
                  : launch.addPrivateAttribution(a.getType(), a.getLoc());
    rw.replaceOp(a, arg);
  }
  return success();
}

struct HAQAGPUMapForallPass
    : haqa::impl::HAQAGPUMapForallPassBase<HAQAGPUMapForallPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rw(&getContext());
    SmallVector<scf::ForallOp> blocks;
    getOperation().walk([&](scf::ForallOp f) {
      if (levelOf(f) == Level::Block && !f->getParentOfType<scf::ForallOp>())
        blocks.push_back(f);
    });
    for (scf::ForallOp f : blocks) {
      if (f.getNumResults()) {
        f.emitOpError("must be bufferized before haqa-gpu-map-forall");
        return signalPassFailure();
      }
      if (failed(mapBlocks(rw, f, attributions)))
        return signalPassFailure();
    }
    WalkResult left = getOperation().walk([&](scf::ForallOp f) {
      if (inBlock(f) && !f->getParentOfType<gpu::LaunchOp>()) {
        f.emitOpError("is mapped to GPU threads or warps outside a block "
                      "mapping");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
