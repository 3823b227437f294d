//===- ModelFiles.cpp - an imported model on disk: module + weights ------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/ModelFiles.h"
#include "haqa/Support/InputFiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace mlir::haqa;
using llvm::Expected;
using llvm::StringRef;

Expected<std::string> mlir::haqa::getWeightsPath(ModuleOp module,
                                                 StringRef moduleDir) {
  auto attr = module->getAttrOfType<StringAttr>("haqa.weights");
  if (!attr)
    return llvm::createStringError(
        "module has no 'haqa.weights' attribute naming its "
        "weights file");
  llvm::SmallString<256> path(attr.getValue());
  if (!llvm::sys::path::is_absolute(path)) {
    path = moduleDir;
    llvm::sys::path::append(path, attr.getValue());
  }
  return path.str().str();
}

std::string mlir::haqa::getModuleFilePath(StringRef path) {
  llvm::SmallString<256> p(path);
  if (llvm::sys::fs::is_directory(path))
    llvm::sys::path::append(p, kModuleFileName);
  return p.str().str();
}

Expected<std::shared_ptr<WeightStore>>
mlir::haqa::openModuleWeights(ModuleOp module, StringRef moduleDir) {
  auto weightsPath = getWeightsPath(module, moduleDir);
  if (!weightsPath)
    return weightsPath.takeError();
  auto store = WeightStore::open(*weightsPath);
  if (!store)
    return store.takeError();
  return std::shared_ptr<WeightStore>(std::move(*store));
}

Expected<ModelFiles> mlir::haqa::loadModelFiles(MLIRContext &ctx,
                                                StringRef path) {
  ModelFiles files;
  files.modulePath = getModuleFilePath(path);
  ctx.loadDialect<HAQADialect, func::FuncDialect, tensor::TensorDialect,
                  arith::ArithDialect>();
  // The parser would block on a FIFO; a missing file is its own error.
  if (llvm::sys::fs::exists(files.modulePath))
    if (llvm::Error e = checkRegularFile(files.modulePath))
      return std::move(e);
  std::string diagnostics;
  {
    llvm::raw_string_ostream os(diagnostics);
    llvm::SourceMgr mgr;
    SourceMgrDiagnosticHandler handler(mgr, &ctx, os);
    files.module = parseSourceFile<ModuleOp>(files.modulePath, mgr, &ctx);
  }
  if (!files.module)
    return llvm::createStringError(files.modulePath + ": cannot load module\n" +
                                   diagnostics);
  auto weightsPath = getWeightsPath(
      *files.module, llvm::sys::path::parent_path(files.modulePath));
  if (!weightsPath)
    return llvm::createStringError(files.modulePath + ": " +
                                   llvm::toString(weightsPath.takeError()));
  auto store = WeightStore::open(*weightsPath);
  if (!store)
    return store.takeError();
  files.weights = std::move(*store);
  return std::move(files);
}
