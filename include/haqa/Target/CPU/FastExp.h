//===- FastExp.h - exp = fast: a short exp in plain arithmetic --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_TARGET_CPU_FASTEXP_H
#define HAQA_TARGET_CPU_FASTEXP_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::haqa {

/// math.exp on f32 (scalar or vector) as range reduction, a degree-6
/// polynomial in FMAs and 2^n added to the exponent bits: the schedule's
/// `exp = fast` (see lib/Target/CPU/FastExp.cpp for its range and error).
void populateFastExpPattern(RewritePatternSet &patterns);

} // namespace mlir::haqa

#endif // HAQA_TARGET_CPU_FASTEXP_H
