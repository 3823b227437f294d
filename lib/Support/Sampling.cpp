//===- Sampling.cpp - choosing the next token from logits ----------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/Sampling.h"

#include "llvm/ADT/Twine.h"

#include <algorithm>

int64_t mlir::haqa::argmax(llvm::ArrayRef<float> values) {
  int64_t best = 0;
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i] > values[best])
      best = i;
  return best;
}

int64_t mlir::haqa::getMaxNewTokens(int64_t pos, int64_t promptTokens,
                                    int64_t context) {
  return std::max<int64_t>(0, context - pos - promptTokens + 1);
}

llvm::Error mlir::haqa::checkPromptFits(int64_t pos, int64_t promptTokens,
                                        int64_t context) {
  if (promptTokens < 1 || pos + promptTokens > context)
    return llvm::createStringError("a prompt of " + llvm::Twine(promptTokens) +
                                   " tokens at position " + llvm::Twine(pos) +
                                   " does not fit the context of " +
                                   llvm::Twine(context) + " tokens");
  return llvm::Error::success();
}

llvm::Expected<int64_t> mlir::haqa::boundGeneration(int64_t pos,
                                                    int64_t promptTokens,
                                                    int64_t n, int64_t context,
                                                    llvm::raw_ostream &notes) {
  if (llvm::Error e = checkPromptFits(pos, promptTokens, context))
    return std::move(e);
  int64_t room = getMaxNewTokens(pos, promptTokens, context);
  if (n <= room)
    return n;
  notes << "note: -n " << n << ": the context of " << context
        << " tokens holds the prompt's " << promptTokens << " and " << room
        << " more; generating " << room << "\n";
  return room;
}
