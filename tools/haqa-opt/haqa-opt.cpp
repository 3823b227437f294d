//===- haqa-opt.cpp - the HAQA optimizer driver -----------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// mlir-opt with the haqa dialect and passes added: every upstream dialect,
// extension and pass is registered too, so any upstream pass runs on haqa IR.
//
//===----------------------------------------------------------------------===//

#include "haqa/InitAllDialects.h"
#include "haqa/InitAllPasses.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::haqa::registerAllHAQAPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::haqa::registerAllHAQADialects(registry);
  // gpu-module-to-binary translates GPU modules to LLVM IR.
  mlir::registerAllGPUToLLVMIRTranslations(registry);

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "HAQA optimizer driver\n", registry));
}
