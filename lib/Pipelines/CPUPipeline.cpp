//===- CPUPipeline.cpp - the host CPU lowering (and gpu-on-cpu) --*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa IR with CPU schedules to the LLVM dialect for the host; with
// `gpuSchedules`, the GPU schedules' block / thread / staging structure run
// as CPU loops instead (the gpu-on-cpu target).
//
//===----------------------------------------------------------------------===//

#include "PipelineUtils.h"
#include "haqa/Pipelines/Pipelines.h"
#include "haqa/Target/CPU/Passes.h"
#include "haqa/Target/GPU/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::haqa;

void mlir::haqa::buildCPUPipeline(OpPassManager &pm,
                                  const CPUPipelineOptions &options) {
  // One function per distinct kernel, called by every layer using it; each
  // computes into the destination its caller passes (the outliner makes it
  // the init of the kernel's last op). GPU schedules as on CUDA: attention
  // over the whole KV cache, and eliminate-empty-tensors for the chains the
  // outliner leaves. Not for CPU schedules: with their single-threaded tile
  // loops it makes one-shot-bufferize report RaW conflicts.
  // GPU schedules: the workgroup memory of each block checked against
  // CUDA's static limit, as on the GPU.
  std::unique_ptr<Pass> apply, check;
  if (options.gpuSchedules) {
    HAQAGPUApplySchedulePassOptions gpu;
    gpu.addressSpaces = false;
    apply = createHAQAGPUApplySchedulePass(gpu);
    HAQAGPUCheckLimitsPassOptions limits;
    limits.profile = "";
    check = createHAQAGPUCheckLimitsPass(limits);
  } else {
    apply = createHAQACPUApplySchedulePass();
  }
  addScheduleAndBufferize(pm, options.gpuSchedules, std::move(apply),
                          std::move(check), options.gpuSchedules);
  bufferization::buildBufferDeallocationPipeline(pm);
  // Micro-kernels (dot = i8 / fma, attn = fused) as calls, after the
  // deallocations are placed: a buffer is freed after the micro-kernel that
  // last uses it, not after the address computation of its call.
  HAQACPULowerMicroKernelsPassOptions micro;
  micro.features = options.features;
  pm.addPass(createHAQACPULowerMicroKernelsPass(micro));
  pm.addPass(createConvertLinalgToLoopsPass());
  VectorTransferToSCFOptions toSCF;
  toSCF.enableFullUnroll();
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(toSCF));
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMultiReductionPass());
  pm.addPass(createForallToParallelLoopPass());
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // Before scf-to-cf: it lowers the alloca_scope OpenMP bodies get while
  // they still are one block.
  // With the buffer cache, a step's intermediate buffers are reused from
  // step to step instead of mapped and page-faulted again each time.
  FinalizeMemRefToLLVMConversionPassOptions toLLVMMemRef;
  toLLVMMemRef.useGenericFunctions = options.bufferCache;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(toLLVMMemRef));
  pm.addPass(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions toLLVM;
  toLLVM.x86Vector = true;
  pm.addPass(createConvertVectorToLLVMPass(toLLVM));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
