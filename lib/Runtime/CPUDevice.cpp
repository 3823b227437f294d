//===- CPUDevice.cpp - the host CPU: JIT and run ----------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/CPUDevice.h"
#include "JITExecutable.h"
#include "haqa/MicroKernels/MicroKernels.h"
#include "haqa/Runtime/BufferCache.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::haqa;

namespace {

class CPUExecutable : public JITExecutable {
public:
  explicit CPUExecutable(std::unique_ptr<ExecutionEngine> engine)
      : JITExecutable(std::move(engine)) {}
  /// Its idle buffers are of no use to the next executable's shapes.
  ~CPUExecutable() override { trimBufferCache(); }

  llvm::Error run(llvm::StringRef function,
                  llvm::ArrayRef<BufferRef> args) override {
    auto fn = lookup(function);
    if (!fn)
      return fn.takeError();
    PackedMemRefArgs packed(args);
    (*fn)(packed.get());
    return llvm::Error::success();
  }
};

/// Where LLVM's runtime libraries are: $HAQA_LLVM_LIB_DIR (a machine with
/// them carried elsewhere, see scripts/gpu-carry.sh), else Debian's place.
std::string llvmLibDir() {
  const char *dir = std::getenv("HAQA_LLVM_LIB_DIR");
  return dir && *dir ? dir : "/usr/lib/llvm-22/lib";
}

/// libomp for the OpenMP runtime calls of multi-threaded kernels.
std::string findOpenMPRuntime() {
  for (std::string p :
       {llvmLibDir() + "/libomp.so", llvmLibDir() + "/libomp.so.5",
        std::string("/usr/lib/x86_64-linux-gnu/libomp.so.5")})
    if (llvm::sys::fs::exists(p))
      return p;
  return "";
}

} // namespace

std::string CPUDevice::getName() const {
  return ("cpu (" + llvm::sys::getHostCPUName() + ")").str();
}

llvm::Expected<std::unique_ptr<Executable>>
CPUDevice::compile(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  PassManager pm(ctx);
  if (llvm::Error e = buildLoweringPipeline(pm, target, options))
    return std::move(e);
  if (llvm::Error e = runLoweringPipeline(module, pm, "CPU lowering failed"))
    return std::move(e);

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);

  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb)
    return jtmb.takeError();
  jtmb->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  auto tm = jtmb->createTargetMachine();
  if (!tm)
    return tm.takeError();
  ExecutionEngineOptions engineOptions;
  // A function_ref: the optimizer must outlive ExecutionEngine::create.
  auto optimize = makeJITOptimizer(3, tm->get());
  engineOptions.transformer = optimize;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  std::string omp = findOpenMPRuntime();
  SmallVector<StringRef> libs;
  if (!omp.empty())
    libs.push_back(omp);
  // memrefCopy: memref.copy between strided views (staging copies of GPU
  // schedules run on the CPU).
  std::string runnerUtils = llvmLibDir() + "/libmlir_c_runner_utils.so";
  if (llvm::sys::fs::exists(runnerUtils))
    libs.push_back(runnerUtils);
  engineOptions.sharedLibPaths = libs;
  auto engine = ExecutionEngine::create(module, engineOptions, std::move(*tm));
  if (!engine)
    return engine.takeError();
  // The micro-kernels (dot = i8 / fma, attn = fused) generated code calls,
  // by name (the pipeline checked each call's instruction set against this
  // host), and the buffer cache's allocation functions.
  (*engine)->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    auto add = [&](const char *name, void *address) {
      map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                             llvm::JITSymbolFlags::Exported};
    };
    for (const MicroKernelSymbol &s : getMicroKernelSymbols())
      add(s.name, s.address);
    for (const BufferCacheSymbol &s : getBufferCacheSymbols())
      add(s.name, s.address);
    return map;
  });
  (*engine)->initialize();
  // The JIT materializes lazily: generate the code now (one LLVM module, so
  // one lookup compiles every function) rather than inside the first timed
  // call.
  for (auto f : module.getOps<LLVM::LLVMFuncOp>())
    if (!f.isExternal() && f.isPublic() &&
        !f.getName().starts_with("_mlir_ciface_")) {
      if (auto fn = (*engine)->lookupPacked(f.getName()); !fn)
        return fn.takeError();
      break;
    }
  return std::make_unique<CPUExecutable>(std::move(*engine));
}
