//===- PipelineUtils.cpp - pieces the target pipelines share -------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "PipelineUtils.h"
#include "haqa/Conversion/Passes.h"
#include "haqa/Target/CPU/Passes.h"
#include "haqa/Target/GPU/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::haqa;

void mlir::haqa::addScheduleAndBufferize(OpPassManager &pm,
                                         bool wholeCacheAttention,
                                         std::unique_ptr<Pass> applySchedule,
                                         std::unique_ptr<Pass> checkSchedule,
                                         bool resultsInDestination) {
  ConvertHAQAToLinalgPassOptions convert;
  convert.outlineKernels = true;
  convert.attentionWholeCache = wholeCacheAttention;
  pm.addPass(createConvertHAQAToLinalgPass(convert));
  pm.addNestedPass<func::FuncOp>(std::move(applySchedule));
  if (checkSchedule)
    pm.addPass(std::move(checkSchedule));
  // Masked transfers become transfers with a mask operand before
  // bufferization, which cannot see through vector.mask regions.
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMaskPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (resultsInDestination)
    pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // KV caches updated in place are no results (no out-param, no copy).
  pm.addPass(bufferization::createDropEquivalentBufferResultsPass());
  pm.addPass(createHAQACPUDropAliasedResultsPass());
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
}

void mlir::haqa::addGPUKernelFormation(OpPassManager &pm,
                                       const GPUKernelFormation &o) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (o.wmma)
    pm.addNestedPass<func::FuncOp>(createHAQAGPUMmaToWMMAPass());
  HAQAGPUMapForallPassOptions map;
  map.attributions = o.attributions;
  pm.addNestedPass<func::FuncOp>(createHAQAGPUMapForallPass(map));
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createHAQAGPUHostMemoryPass());
  pm.addPass(createConvertLinalgToLoopsPass());
  VectorTransferToSCFOptions toSCF;
  toSCF.enableFullUnroll();
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(toSCF));
  pm.addNestedPass<func::FuncOp>(createHAQAGPULowerVectorPass());
  if (o.hoistConstants)
    pm.addNestedPass<func::FuncOp>(createHAQAGPUHoistConstantsPass());
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
}
