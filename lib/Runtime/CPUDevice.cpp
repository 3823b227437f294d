//===- CPUDevice.cpp - host CPU target: lowering and JIT --------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/CPUDevice.h"
#include "JITExecutable.h"
#include "haqa/Conversion/Passes.h"
#include "haqa/Target/CPU/Passes.h"
#include "haqa/Target/GPU/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// Text of the lowering: a readable pass list, the same one `haqa-opt
/// --haqa-cpu-lower` runs (a formatv template: {0} the extra options of
/// convert-haqa-to-linalg, {1} the schedule pass, {2} passes before
/// bufferization, {3} checks of the scheduled IR; buildCPULoweringPipeline
/// fills them in).
constexpr const char *kCPUPipeline =
    // One function per distinct kernel, called by every layer using it.
    "convert-haqa-to-linalg{{outline-kernels=true{0}},"
    "func.func({1}),{3}"
    // Masked transfers become transfers with a mask operand before
    // bufferization, which cannot see through vector.mask regions.
    "func.func(lower-vector-mask),"
    "canonicalize,cse,{2}"
    "one-shot-bufferize{{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    // KV caches updated in place are no results (no out-param, no copy).
    "drop-equivalent-buffer-results,"
    "haqa-cpu-drop-aliased-results,"
    "buffer-results-to-out-params{{hoist-static-allocs=true "
    "modify-public-functions=true},"
    "buffer-deallocation-pipeline,"
    "convert-linalg-to-loops,"
    "func.func(convert-vector-to-scf{{full-unroll=true}),"
    "func.func(lower-vector-multi-reduction),"
    "scf-forall-to-parallel,"
    "convert-scf-to-openmp,"
    "expand-strided-metadata,"
    "lower-affine,"
    // Before scf-to-cf: it lowers the alloca_scope OpenMP bodies get while
    // they still are one block.
    "finalize-memref-to-llvm,"
    "convert-scf-to-cf,"
    "convert-vector-to-llvm{{enable-x86vector},"
    "convert-math-to-llvm,"
    "convert-arith-to-llvm,"
    "convert-ub-to-llvm,"
    "convert-openmp-to-llvm,"
    "convert-func-to-llvm,"
    "convert-cf-to-llvm,"
    "reconcile-unrealized-casts";

class CPUExecutable : public JITExecutable {
public:
  explicit CPUExecutable(std::unique_ptr<ExecutionEngine> engine)
      : JITExecutable(std::move(engine)) {}

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

void mlir::haqa::buildCPULoweringPipeline(OpPassManager &pm,
                                          bool gpuSchedule) {
  registerLoweringPasses();
  // GPU schedules as CPU loops: as in the CUDA pipeline, attention over the
  // whole KV cache, and results computed in the caller's destination (the
  // forall tiles of GPU schedules bufferize in place there). Not for CPU
  // schedules: with their single-threaded tile loops eliminate-empty-tensors
  // makes one-shot-bufferize report RaW conflicts; the result copy into the
  // caller's destination is one activation row per token.
  std::string text =
      gpuSchedule
          ? llvm::formatv(kCPUPipeline, " attention-whole-cache=true",
                          "haqa-gpu-apply-schedule{address-spaces=false}",
                          "eliminate-empty-tensors,",
                          // The workgroup memory of each block against
                          // CUDA's static limit, as on a GPU.
                          "haqa-gpu-check-limits{profile=\"\"},")
                .str()
          : llvm::formatv(kCPUPipeline, "", "haqa-cpu-apply-schedule", "", "")
                .str();
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(text, pm, os)))
    llvm::report_fatal_error(
        llvm::Twine("haqa: the CPU pipeline text does not parse: ") + error);
}

void mlir::haqa::registerCPUPipelines() {
  PassPipelineRegistration<>(
      "haqa-cpu-lower",
      "lower haqa kernels (with their schedules) to the LLVM dialect for the "
      "host CPU",
      [](OpPassManager &pm) { buildCPULoweringPipeline(pm); });
  PassPipelineRegistration<>(
      "haqa-gpu-on-cpu-lower",
      "lower haqa kernels with GPU schedules to host CPU loops with the same "
      "block / thread / staging structure (checks GPU schedules' numerics "
      "without a GPU)",
      [](OpPassManager &pm) { buildCPULoweringPipeline(pm, true); });
}

std::string CPUDevice::getName() const {
  return ("cpu (" + llvm::sys::getHostCPUName() + ")").str();
}

llvm::Expected<std::unique_ptr<Executable>>
CPUDevice::compile(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  PassManager pm(ctx);
  buildCPULoweringPipeline(pm, gpuSchedule);
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
  ExecutionEngineOptions options;
  auto transformer = makeOptimizingTransformer(3, 0, tm->get());
  options.transformer = transformer;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  std::string omp = findOpenMPRuntime();
  SmallVector<StringRef> libs;
  if (!omp.empty())
    libs.push_back(omp);
  // memrefCopy: memref.copy between strided views (staging copies of GPU
  // schedules run on the CPU).
  std::string runnerUtils = llvmLibDir() + "/libmlir_c_runner_utils.so";
  if (llvm::sys::fs::exists(runnerUtils))
    libs.push_back(runnerUtils);
  options.sharedLibPaths = libs;
  auto engine = ExecutionEngine::create(module, options, std::move(*tm));
  if (!engine)
    return engine.takeError();
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
