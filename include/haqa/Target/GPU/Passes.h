//===- Passes.h - GPU target passes (CUDA, OpenCL) --------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_TARGET_GPU_PASSES_H
#define HAQA_TARGET_GPU_PASSES_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::haqa {

#define GEN_PASS_DECL
#include "haqa/Target/GPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "haqa/Target/GPU/Passes.h.inc"

/// What haqa-gpu-apply-schedule records on a block-level scf.forall for
/// haqa-gpu-check-limits: the bytes of workgroup memory each block uses
/// (i64; absent where none), and for a tensor-core matmul its tiles
/// (array<i64: bm, bn, bk>), which the error names.
inline constexpr llvm::StringLiteral kWorkgroupBytesAttrName =
    "haqa.workgroup_bytes";
inline constexpr llvm::StringLiteral kMmaTilesAttrName = "haqa.mma_tiles";

} // namespace mlir::haqa

#endif // HAQA_TARGET_GPU_PASSES_H
