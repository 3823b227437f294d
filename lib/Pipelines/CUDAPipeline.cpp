//===- CUDAPipeline.cpp - the NVIDIA GPU lowering ---------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa IR with CUDA schedules to the LLVM dialect for the host, with the
// kernels as gpu.binary objects (PTX, cubin or fatbin) through upstream's
// gpu, nvvm and gpu-to-llvm lowering.
//
//===----------------------------------------------------------------------===//

#include "PipelineUtils.h"
#include "haqa/Hardware/Profile.h"
#include "haqa/Pipelines/Pipelines.h"
#include "haqa/Target/GPU/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::haqa;

llvm::Error mlir::haqa::buildCUDAPipeline(OpPassManager &pm,
                                          const CUDAPipelineOptions &options) {
  std::string chip = options.chip;
  HAQAGPUApplySchedulePassOptions apply;
  apply.sharedMemoryBytes = 48 * 1024;
  // The workgroup memory each block stages, checked once scheduled: against
  // the profile's limit, or CUDA's static one without a profile.
  HAQAGPUCheckLimitsPassOptions staged;
  staged.profile = "";
  staged.sharedMemoryBytes = apply.sharedMemoryBytes;
  staged.limitSource = "CUDA static shared memory per block";
  if (!options.profile.empty()) {
    auto hw = loadHardwareProfile(options.profile);
    if (!hw)
      return hw.takeError();
    if (hw->kind != TargetKind::CUDA)
      return llvm::createStringError("profile '" + hw->id +
                                     "' is not an NVIDIA GPU");
    if (chip.empty())
      chip = hw->arch;
    apply.sharedMemoryBytes = hw->getLimits().sharedMemoryBytes;
    staged = HAQAGPUCheckLimitsPassOptions();
    staged.profile = options.profile;
  }
  if (chip.empty())
    chip = "sm_80";
  if (options.format != "isa" && options.format != "bin" &&
      options.format != "fatbin")
    return llvm::createStringError("unknown CUDA output format '" +
                                   options.format +
                                   "' (expected isa, bin or fatbin)");

  if (!options.profile.empty()) {
    HAQAGPUCheckLimitsPassOptions check;
    check.profile = options.profile;
    pm.addPass(createHAQAGPUCheckLimitsPass(check));
  }
  // Attention over the whole KV cache: no value read back to the host in
  // the middle of a decode step. Each kernel's result computed in the
  // caller's destination, not in a temporary copied there (one launch and
  // one allocation fewer per kernel call); GPU schedules tile every loop
  // with scf.forall.
  addScheduleAndBufferize(pm, /*wholeCacheAttention=*/true,
                          createHAQAGPUApplySchedulePass(apply),
                          createHAQAGPUCheckLimitsPass(staged),
                          /*resultsInDestination=*/true);
  GPUKernelFormation formation;
  formation.wmma = true;
  addGPUKernelFormation(pm, formation);
  pm.addPass(createHAQAGPUAlignWorkgroupPass());
  pm.addPass(createHAQAGPUAlignKernelArgsPass());
  GpuNVVMAttachTargetOptions attach;
  attach.chip = chip;
  attach.features = options.features;
  attach.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(attach));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  return llvm::Error::success();
}
