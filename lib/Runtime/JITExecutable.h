//===- JITExecutable.h - executables over MLIR's ExecutionEngine -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_LIB_RUNTIME_JITEXECUTABLE_H
#define HAQA_LIB_RUNTIME_JITEXECUTABLE_H

#include "haqa/Runtime/Device.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::haqa {

/// The part of the CPU and CUDA executables that is the JIT: the engine and
/// its packed function wrappers, each looked up once.
class JITExecutable : public Executable {
protected:
  explicit JITExecutable(std::unique_ptr<ExecutionEngine> engine)
      : engine(std::move(engine)) {}

  using PackedFn = void (*)(void **);
  llvm::Expected<PackedFn> lookup(llvm::StringRef name) {
    auto it = functions.find(name);
    if (it != functions.end())
      return it->second;
    auto fn = engine->lookupPacked(name);
    if (!fn)
      return fn.takeError();
    functions[name] = *fn;
    return *fn;
  }

private:
  std::unique_ptr<ExecutionEngine> engine;
  llvm::StringMap<PackedFn> functions;
};

} // namespace mlir::haqa

#endif // HAQA_LIB_RUNTIME_JITEXECUTABLE_H
