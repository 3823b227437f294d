//===- JITExecutable.h - executables over MLIR's ExecutionEngine -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_LIB_RUNTIME_JITEXECUTABLE_H
#define HAQA_LIB_RUNTIME_JITEXECUTABLE_H

#include "haqa/Runtime/Device.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/IR/Module.h"

namespace mlir::haqa {

/// The engine's optimizer at `optLevel`, except for the packed wrappers
/// ExecutionEngine adds (`_mlir_<name>`: unpack a void** array, call
/// <name>): those are marked optnone / noinline, so they get the cheap code
/// generator. A model step's entry point takes every weight as a memref
/// (about 1,900 arguments for SmolLM2); at -O3 the selection DAG of its
/// wrapper's one call spent 12 s merging the argument stores (2 of a 27 s
/// compile). The wrapper runs once per call, so its code quality is moot.
inline std::function<llvm::Error(llvm::Module *)>
makeJITOptimizer(unsigned optLevel, llvm::TargetMachine *tm) {
  auto optimize = makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, tm);
  return [optimize](llvm::Module *m) -> llvm::Error {
    for (llvm::Function &f : *m)
      if (!f.isDeclaration() && f.getName().starts_with("_mlir_") &&
          !f.getName().starts_with("_mlir_ciface_")) {
        f.removeFnAttr(llvm::Attribute::AlwaysInline);
        f.addFnAttr(llvm::Attribute::NoInline);
        f.addFnAttr(llvm::Attribute::OptimizeNone);
      }
    return optimize(m);
  };
}

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
