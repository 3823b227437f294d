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
#include "haqa/Import/GGUF.h"

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

/// The weights of a module, read from its GGUF weights file and dequantized
/// to float on first use.
class WeightStore {
public:
  static llvm::Expected<std::unique_ptr<WeightStore>>
  open(llvm::StringRef path);
  /// The dequantized values of `name`, checked against `type` (shape and
  /// storage must match the file's tensor exactly).
  llvm::Expected<const std::vector<float> *> get(llvm::StringRef name,
                                                 WeightType type);
  /// The stored bytes of `name` when the file holds it exactly as `type`
  /// says (no requantization), else an error.
  llvm::Expected<std::pair<uint32_t, llvm::ArrayRef<uint8_t>>>
  getStoredBytes(llvm::StringRef name, WeightType type) const;
  const GGUFFile &getFile() const { return *file; }

private:
  std::unique_ptr<GGUFFile> file;
  llvm::StringMap<std::vector<float>> cache;
};

/// The weights file a module names (`haqa.weights`, relative to the module's
/// directory `moduleDir`).
llvm::Expected<std::string> getWeightsPath(ModuleOp module,
                                           llvm::StringRef moduleDir);

struct ReferenceOptions {
  /// Compute matmuls with Q8_0 / Q4_0 / Q4_1 weights as ggml's CPU backend
  /// does: activations quantized per 32 values to Q8_0 (Q8_1 for Q4_1),
  /// integer block dot products scaled in float. For like-for-like
  /// comparisons with llama.cpp; the default is exact float math.
  bool ggmlActivations = false;
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
