//===- InitAllDialects.h - register HAQA and upstream dialects --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_INITALLDIALECTS_H
#define HAQA_INITALLDIALECTS_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "mlir/IR/DialectRegistry.h"

namespace mlir::haqa {

inline void registerAllHAQADialects(DialectRegistry &registry) {
  registry.insert<HAQADialect>();
}

} // namespace mlir::haqa

#endif // HAQA_INITALLDIALECTS_H
