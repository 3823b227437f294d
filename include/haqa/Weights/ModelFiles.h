//===- ModelFiles.h - an imported model on disk: module + weights -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// An imported model is a directory holding `model.mlir` (haqa IR whose
// module attribute `haqa.weights` names its weights file, relative to the
// module's directory or absolute) and `model.weights.gguf`. Every reader of
// such a model (the reference model, compiled models, the compile session)
// loads it here: one parse of the module, one open of its weights.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_WEIGHTS_MODELFILES_H
#define HAQA_WEIGHTS_MODELFILES_H

#include "haqa/Weights/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <memory>
#include <string>

namespace mlir::haqa {

/// The file names inside an import directory.
inline constexpr const char *kModuleFileName = "model.mlir";
inline constexpr const char *kWeightsFileName = "model.weights.gguf";

/// The weights file a module names (`haqa.weights`, relative to the module's
/// directory `moduleDir`).
llvm::Expected<std::string> getWeightsPath(ModuleOp module,
                                           llvm::StringRef moduleDir);

/// The module file of `path`: `path/model.mlir` for a directory, else
/// `path` itself.
std::string getModuleFilePath(llvm::StringRef path);

/// A model loaded from disk.
struct ModelFiles {
  OwningOpRef<ModuleOp> module;
  std::shared_ptr<WeightStore> weights;
  /// The module file read.
  std::string modulePath;
};

/// Parses the module of `path` (an import directory or a .mlir file) into
/// `ctx` and opens the weights file it names. The errors name the file and
/// carry the parser's diagnostics.
llvm::Expected<ModelFiles> loadModelFiles(MLIRContext &ctx,
                                          llvm::StringRef path);

/// Opens the weights file `module` names (relative to `moduleDir`).
llvm::Expected<std::shared_ptr<WeightStore>>
openModuleWeights(ModuleOp module, llvm::StringRef moduleDir);

} // namespace mlir::haqa

#endif // HAQA_WEIGHTS_MODELFILES_H
