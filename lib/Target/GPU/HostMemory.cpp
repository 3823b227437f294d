//===- HostMemory.cpp - host-side buffers live on the device ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUHOSTMEMORYPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// Whether `op` reads or writes memory (other than allocating it).
bool touchesMemory(Operation *op) {
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return !op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() &&
           !isa<func::CallOp, func::ReturnOp, gpu::LaunchOp>(op) &&
           op->getNumRegions() == 0 && !isPure(op);
  return effects.hasEffect<MemoryEffects::Read>() ||
         effects.hasEffect<MemoryEffects::Write>();
}

/// `build(token)` as the one asynchronous dependency of a stream of its
/// own, waited for at once (gpu-to-llvm lowers gpu.alloc, gpu.memcpy and
/// gpu.dealloc only in their async form).
template <typename Fn> Operation *async(RewriterBase &rw, Location loc, Fn build) {
  Type token = gpu::AsyncTokenType::get(rw.getContext());
  Value start = gpu::WaitOp::create(rw, loc, token, ValueRange{}).getAsyncToken();
  Operation *op = build(token, start);
  gpu::WaitOp::create(rw, loc, Type(), ValueRange{op->getResults().back()});
  return op;
}

struct HAQAGPUHostMemoryPass
    : haqa::impl::HAQAGPUHostMemoryPassBase<HAQAGPUHostMemoryPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rw(&getContext());
    SmallVector<Operation *> hostOps;
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op)) {
        return WalkResult::skip();
      }
      if (op != func)
        hostOps.push_back(op);
      return WalkResult::advance();
    });
    SmallVector<Value> allocated;
    for (Operation *op : hostOps) {
      rw.setInsertionPoint(op);
      Location loc = op->getLoc();
      if (auto a = dyn_cast<memref::AllocOp>(op)) {
        if (a.getType().getMemorySpace()) {
          a.emitOpError("allocates workgroup / private memory on the host");
          return signalPassFailure();
        }
        auto g = cast<gpu::AllocOp>(async(rw, loc, [&](Type t, Value dep) {
          return gpu::AllocOp::create(rw, loc, a.getType(), t,
                                      ValueRange{dep}, a.getDynamicSizes(),
                                      a.getSymbolOperands(), false);
        }));
        rw.replaceOp(a, g.getMemref());
        if (g->getBlock() == &func.getBody().front())
          allocated.push_back(g.getMemref());
      } else if (auto d = dyn_cast<memref::DeallocOp>(op)) {
        async(rw, loc, [&](Type t, Value dep) {
          return gpu::DeallocOp::create(rw, loc, TypeRange{t},
                                        ValueRange{dep}, d.getMemref());
        });
        rw.eraseOp(d);
      } else if (auto c = dyn_cast<memref::CopyOp>(op)) {
        auto src = cast<MemRefType>(c.getSource().getType());
        auto dst = cast<MemRefType>(c.getTarget().getType());
        if (!src.getLayout().isIdentity() || !dst.getLayout().isIdentity()) {
          c.emitOpError("copies a strided view on the host; GPU kernels "
                        "must make this copy");
          return signalPassFailure();
        }
        async(rw, loc, [&](Type t, Value dep) {
          return gpu::MemcpyOp::create(rw, loc, TypeRange{t}, ValueRange{dep},
                                       c.getTarget(), c.getSource());
        });
        rw.eraseOp(c);
      } else if (auto load = dyn_cast<memref::LoadOp>(op)) {
        // A value the host needs (attention's last visible position): the
        // buffer is copied back into host memory and read there.
        MemRefType type = load.getMemRefType();
        if (!type.getLayout().isIdentity() || !type.hasStaticShape()) {
          load.emitOpError("reads a strided or dynamic device buffer on the "
                           "host");
          return signalPassFailure();
        }
        Value host = memref::AllocOp::create(rw, loc, type);
        async(rw, loc, [&](Type t, Value dep) {
          return gpu::MemcpyOp::create(rw, loc, TypeRange{t}, ValueRange{dep},
                                       host, load.getMemRef());
        });
        Value v = memref::LoadOp::create(rw, loc, host, load.getIndices());
        memref::DeallocOp::create(rw, loc, host);
        rw.replaceOp(load, v);
      } else if (!isa<memref::AllocOp, memref::DeallocOp>(op) &&
                 touchesMemory(op)) {
        op->emitOpError("reads or writes memory outside a GPU kernel: the "
                        "GPU schedule left it on the host");
        return signalPassFailure();
      }
    }
    // Temporaries not returned are freed at every return.
    func.walk([&](func::ReturnOp ret) {
      rw.setInsertionPoint(ret);
      for (Value v : allocated) {
        if (llvm::is_contained(ret.getOperands(), v) ||
            llvm::any_of(v.getUsers(), llvm::IsaPred<gpu::DeallocOp>) ||
            v.getParentBlock() != ret->getBlock())
          continue;
        async(rw, ret.getLoc(), [&](Type t, Value dep) {
          return gpu::DeallocOp::create(rw, ret.getLoc(), TypeRange{t},
                                        ValueRange{dep}, v);
        });
      }
    });
  }
};

} // namespace
