//===- InitAllPasses.h - register every HAQA pass and pipeline --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_INITALLPASSES_H
#define HAQA_INITALLPASSES_H

#include "haqa/Conversion/Passes.h"
#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/Pipelines/Pipelines.h"
#include "haqa/Target/CPU/Passes.h"
#include "haqa/Target/GPU/Passes.h"

namespace mlir::haqa {

inline void registerAllHAQAPasses() {
  registerHAQAPasses();
  registerHAQAConversionPasses();
  registerHAQACPUPasses();
  registerHAQAGPUPasses();
  registerHAQAPipelines();
}

} // namespace mlir::haqa

#endif // HAQA_INITALLPASSES_H
