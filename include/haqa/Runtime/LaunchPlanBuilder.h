//===- LaunchPlanBuilder.h - launch plans from lowered host IR --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_LAUNCHPLANBUILDER_H
#define HAQA_RUNTIME_LAUNCHPLANBUILDER_H

#include "haqa/Runtime/LaunchPlan.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

namespace mlir::haqa {

/// The output of haqa-opencl-lower as data: the SPIR-V module of each
/// gpu.binary, and a plan for each public function with a body (calls of
/// private functions are followed). The host IR may use only what a plan
/// can say: memref arguments, views of buffers with constant byte shifts,
/// gpu.alloc / dealloc / memcpy / wait, memref.get_global of constants,
/// gpu.launch_func with constant sizes and arguments, func.call and ops on
/// constants; the error names anything else (a host loop, a dynamic size,
/// a host read of device memory) and where it is.
struct LaunchPlans {
  std::vector<::haqa::plan::Binary> binaries;
  std::vector<::haqa::plan::Plan> plans;
  /// The plan of `function`; the error names it when there is none.
  llvm::Expected<const ::haqa::plan::Plan *>
  lookup(llvm::StringRef function) const;
};
llvm::Expected<LaunchPlans> buildLaunchPlans(ModuleOp module);

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_LAUNCHPLANBUILDER_H
