//===- Executor.h - the reference interpreter of haqa IR --------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A plain, readable interpreter of haqa modules: every kernel op, every
// weight storage, evaluated in double precision with straightforward loops.
// It is the numerical oracle every compiled target is checked against.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_REFERENCE_EXECUTOR_H
#define HAQA_REFERENCE_EXECUTOR_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "haqa/Weights/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <vector>

namespace mlir::haqa {

/// A host tensor: float data for float element types, int64 for integers.
struct HostTensor {
  llvm::SmallVector<int64_t, 4> shape;
  std::vector<float> f;
  std::vector<int64_t> i;
  bool isInt = false;

  static HostTensor floats(llvm::ArrayRef<int64_t> shape, float fill = 0);
  static HostTensor ints(llvm::ArrayRef<int64_t> shape,
                         llvm::ArrayRef<int64_t> values);
  int64_t numElements() const;
};

/// How the reference computes a matmul with Q8_0 / Q4_0 / Q4_1 weights.
enum class QuantizedActivations {
  /// Exact float math on the dequantized weights.
  Exact,
  /// As ggml's CPU backend does: activations quantized per 32 values to
  /// Q8_0 (Q8_1 for Q4_1), integer block dot products scaled in float. For
  /// like-for-like comparisons with llama.cpp.
  GGML,
  /// GGML for the matmuls whose schedule has dot = i8, Exact for the others:
  /// the oracle of a compiled module with those schedules.
  AsScheduled,
};

struct ReferenceOptions {
  QuantizedActivations activations = QuantizedActivations::Exact;
};

class ReferenceExecutor {
public:
  ReferenceExecutor(ModuleOp module, WeightStore &weights,
                    ReferenceOptions options = {})
      : module(module), weights(weights), options(options) {}

  /// Runs `func.func @name` on `args` (moved in: a KV cache argument is
  /// updated in place) and returns its results.
  llvm::Expected<std::vector<HostTensor>> run(llvm::StringRef name,
                                              std::vector<HostTensor> args);

private:
  ModuleOp module;
  WeightStore &weights;
  ReferenceOptions options;
};

} // namespace mlir::haqa

#endif // HAQA_REFERENCE_EXECUTOR_H
