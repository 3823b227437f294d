//===- Sampling.cpp - choosing the next token from logits ----------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/Sampling.h"

int64_t mlir::haqa::argmax(llvm::ArrayRef<float> values) {
  int64_t best = 0;
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i] > values[best])
      best = i;
  return best;
}
