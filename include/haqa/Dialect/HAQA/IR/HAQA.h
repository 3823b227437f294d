//===- HAQA.h - HAQA dialect, attributes, types and ops ---------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Everything a user of the haqa dialect includes: the dialect, its enums,
// attributes (#haqa.quant, #haqa.schedule), types (!haqa.weight), the kernel
// op interface and the ops.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_DIALECT_HAQA_IR_HAQA_H
#define HAQA_DIALECT_HAQA_IR_HAQA_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "haqa/Dialect/HAQA/IR/HAQAEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "haqa/Dialect/HAQA/IR/HAQAAttrs.h.inc"

// After the attributes: the helpers of the dialect's discardable attributes
// (HAQADialect::<Name>AttrHelper) return them.
#include "haqa/Dialect/HAQA/IR/HAQADialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "haqa/Dialect/HAQA/IR/HAQATypes.h.inc"

namespace mlir::haqa {
class KernelOpInterface;
namespace detail {
/// Checks an op's #haqa.schedule against its iteration space and operands.
LogicalResult verifyKernelOp(Operation *op);
} // namespace detail
} // namespace mlir::haqa

#include "haqa/Dialect/HAQA/IR/HAQAInterfaces.h.inc"

#define GET_OP_CLASSES
#include "haqa/Dialect/HAQA/IR/HAQAOps.h.inc"

namespace mlir::haqa {
/// Checks `schedule` against the kernel op `op` (not yet attached): its
/// iteration space and operand count (schedule_c10 .. c13) and the fields
/// that need a kind of kernel (schedule_c17: dot = i8 on a matmul with Q8_0 /
/// Q4_0 / Q4_1 weights). Errors go through `emitError`.
LogicalResult verifyKernelSchedule(Operation *op, ScheduleAttr schedule,
                                   function_ref<InFlightDiagnostic()> emitError);

/// True for the GGUF storages (QuantAttr::getGGUFName) whose matmuls ggml
/// computes on Q8 activations and HAQA's `dot = i8` micro-kernels take:
/// q8_0, q4_0 and q4_1.
bool hasInt8DotKernels(StringRef ggufName);

/// True for the weights with f32 FMA dot micro-kernels (`dot = fma`): F16
/// and BF16.
bool hasFMADotKernels(StringRef ggufName);

/// True when `op` is an attention the `attn = fused` micro-kernel takes: an
/// f32 query and KV cache with static heads and head size, i32 positions.
bool canFuseAttention(Operation *op);

/// True when a matmul under `root` has `dot = i8`: its activations are
/// quantized to Q8 blocks, so the reference executor with ggml's
/// activations (QuantizedActivations::AsScheduled) is its oracle.
bool hasInt8Dot(Operation *root);

/// What makes two kernel ops the same kernel (one lowering, one schedule, one
/// tuning): op name, operand and result types and attributes, the
/// `schedule` attribute only when `withSchedule`. haqa-extract-kernels,
/// kernel outlining and the tuner all group kernels by it.
std::string getKernelKey(Operation *op, bool withSchedule = true);

/// Inverse frequency of rotary pair `pair` of a head of `headDim` values,
/// with the op's Llama-3 scaling if it has one (as transformers'
/// _compute_llama3_parameters); freq_factors, if any, are not applied.
double getRoPEFrequency(RoPEOp op, int64_t pair, int64_t headDim);
} // namespace mlir::haqa

#endif // HAQA_DIALECT_HAQA_IR_HAQA_H
