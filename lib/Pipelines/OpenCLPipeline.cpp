//===- OpenCLPipeline.cpp - SPIR-V kernels for OpenCL -----------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa IR with OpenCL schedules to SPIR-V kernels (Kernel capability, the
// OpenCL flavour) in gpu.binary ops, through the same GPU schedule
// machinery as the CUDA target and upstream's gpu-to-spirv conversion. The
// host side stays in the func / gpu / memref dialects: the OpenCL runtime
// reads its launches, allocations and copies as a launch plan (no host code
// is compiled, so that a remote device runs the same plan).
//
//===----------------------------------------------------------------------===//

#include "PipelineUtils.h"
#include "haqa/Hardware/Profile.h"
#include "haqa/Pipelines/Pipelines.h"
#include "haqa/Target/GPU/Passes.h"

#include "mlir/Conversion/GPUToSPIRV/GPUToSPIRVPass.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::haqa;

llvm::Error
mlir::haqa::buildOpenCLPipeline(OpPassManager &pm,
                                const OpenCLPipelineOptions &options) {
  HAQAGPUApplySchedulePassOptions apply;
  HAQAGPUCheckLimitsPassOptions check;
  check.profile = options.profile;
  auto hw = loadHardwareProfile(options.profile);
  if (!hw)
    return hw.takeError();
  if (hw->kind != TargetKind::OpenCL)
    return llvm::createStringError("profile '" + hw->id +
                                   "' is not an OpenCL device");
  apply.sharedMemoryBytes = hw->getLimits().sharedMemoryBytes;

  pm.addPass(createHAQAGPUCheckLimitsPass(check));
  addScheduleAndBufferize(pm, /*wholeCacheAttention=*/true,
                          createHAQAGPUApplySchedulePass(apply),
                          createHAQAGPUCheckLimitsPass(check),
                          /*resultsInDestination=*/true);
  // Workgroup buffers stay allocations (SPIR-V lowers no attribution);
  // constant tables become kernel arguments (no memref global in SPIR-V
  // kernels).
  GPUKernelFormation formation;
  formation.attributions = false;
  formation.hoistConstants = true;
  addGPUKernelFormation(pm, formation);
  // OpenCL has no bf16, and f16 arithmetic only with cl_khr_fp16.
  HAQAGPUHalfAsBitsPassOptions halves;
  halves.f16 = !options.nativeF16;
  halves.bf16 = true;
  pm.addPass(createHAQAGPUHalfAsBitsPass(halves));

  GpuSPIRVAttachTargetOptions attach;
  attach.spirvVersion = options.spirvVersion;
  attach.spirvCapabilities = {"Kernel", "Addresses", "Int64",
                              "Int8",   "Int16",     "Vector16"};
  if (options.nativeF16)
    attach.spirvCapabilities.push_back("Float16");
  attach.clientApi = "OpenCL";
  pm.addPass(createGpuSPIRVAttachTarget(attach));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(memref::createFoldMemRefAliasOpsPass());
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(createCanonicalizerPass());
  pm.addPass(createHAQAGPUPrepareSPIRVPass());
  pm.nest<gpu::GPUModuleOp>().addPass(createConvertMathToSPIRVPass());
  pm.nest<gpu::GPUModuleOp>().addPass(createUBToSPIRVConversionPass());
  // 64-bit indices (Physical64 addressing; weights beyond 2^31 bytes). The
  // pass has no typed options constructor.
  std::unique_ptr<Pass> toSPIRV = createConvertGPUToSPIRVPass();
  if (failed(toSPIRV->initializeOptions(
          "use-64bit-index=true",
          [](const llvm::Twine &) { return failure(); })))
    return llvm::createStringError("convert-gpu-to-spirv has no option "
                                   "use-64bit-index");
  pm.addPass(std::move(toSPIRV));
  OpPassManager &spirvModules =
      pm.nest<gpu::GPUModuleOp>().nest<spirv::ModuleOp>();
  spirvModules.addPass(spirv::createSPIRVLowerABIAttributesPass());
  spirvModules.addPass(createHAQASPIRVExpandCompositeConstructPass());
  spirvModules.addPass(spirv::createSPIRVUpdateVCEPass());
  pm.addPass(createGpuModuleToBinaryPass());
  pm.addPass(createCanonicalizerPass());
  return llvm::Error::success();
}
