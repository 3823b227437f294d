//===- Importer.h - model source to module and weights file -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_IMPORT_IMPORTER_H
#define HAQA_IMPORT_IMPORTER_H

#include "haqa/Weights/ModelFiles.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace mlir::haqa {

struct ImportOptions {
  /// KV-cache rows; 0 takes the model's context length.
  int64_t contextLength = 2048;
  bool shapesOnly = false;
  /// Weight storage, as --haqa-quantize: 0 keeps the source's storage,
  /// 16 / 8 / 4 requantize every 2-d weight (round-to-nearest).
  int64_t bits = 0;
  int64_t group = 32;
  std::string zero = "none";
  std::string overrides;
  /// A GGUF storage for every 2-d weight instead of `bits` (f16, q8_0,
  /// q4_0, q4_1, q4_k, q6_k, ...): --haqa-quantize's storage option.
  std::string storage;
};

struct ImportResult {
  std::string mlirPath, weightsPath;
  /// Human-readable lines on what was written.
  std::string summary;
  /// The module written to `mlirPath`, in the caller's context (the overload
  /// taking one), so that the caller need not parse it again.
  OwningOpRef<ModuleOp> module;
};

/// Imports `input` (GGUF file or HF directory) into `outDir`
/// (kModuleFileName and kWeightsFileName there).
llvm::Expected<ImportResult> importModel(llvm::StringRef input,
                                         llvm::StringRef outDir,
                                         const ImportOptions &options);
/// The same, built in `ctx`: the result keeps the module.
llvm::Expected<ImportResult> importModel(MLIRContext &ctx,
                                         llvm::StringRef input,
                                         llvm::StringRef outDir,
                                         const ImportOptions &options);

} // namespace mlir::haqa

#endif // HAQA_IMPORT_IMPORTER_H
