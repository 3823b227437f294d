//===- SearchSpace.h - the legal #haqa.schedule values of a kernel -*- C++ -*-//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// For one kernel (its iteration space, from the haqa op) and one hardware
// profile: the schedule parameters with their legal values (the paper's
// appendix D ranges, restricted by the profile and the kernel's extents), the
// compiler's default schedule as a point of the space, and the cross-field
// constraints (threads per block, shared memory) checked before anything is
// compiled. Strategies see a configuration as one value per parameter.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_AGENT_SEARCHSPACE_H
#define HAQA_AGENT_SEARCHSPACE_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "haqa/Hardware/Profile.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <random>
#include <string>
#include <vector>

namespace mlir::haqa {

/// What a search space is built from: the kernel as the tuner sees it.
struct KernelInfo {
  std::string kernel;        ///< "matmul", "softmax", ...
  std::vector<int64_t> dims; ///< iteration extents, #haqa.schedule's order
  std::string weights;       ///< weight storage ("f16", "q8_0", ...), or ""
  unsigned numOperands = 2;  ///< inputs then results (for placement)
  /// Arithmetic and bytes moved per call (KernelOpInterface::getFlops /
  /// getBytes), for the roofline the LLM agent is shown; 0: unknown.
  uint64_t flops = 0, bytes = 0;
};

/// One tunable parameter: a field of #haqa.schedule (or one entry of an
/// array field) and its legal values, smallest first.
struct Parameter {
  std::string name;            ///< "tile[0]", "order", "vector", ...
  std::string description;     ///< one line, for prompts and reports
  std::vector<int64_t> values; ///< legal values (order: permutation index)
  int64_t defaultValue = 0;    ///< a member of `values`
};

/// One point: a value per parameter, in getParameters() order.
using Config = llvm::SmallVector<int64_t, 8>;

class SearchSpace {
public:
  /// The space of `kernel` on `profile`. `defaultSchedule` (as
  /// haqa-default-schedule gives it) becomes the default point, each value
  /// snapped to the nearest legal one; the space's schedules are made in
  /// its context.
  static SearchSpace get(const KernelInfo &kernel,
                         const HardwareProfile &profile,
                         ScheduleAttr defaultSchedule);

  const KernelInfo &getKernel() const { return kernel; }
  llvm::ArrayRef<Parameter> getParameters() const { return params; }
  const Config &getDefault() const { return defaultConfig; }
  /// The loop orders `order` indexes.
  llvm::ArrayRef<std::vector<int64_t>> getOrders() const { return orders; }
  /// Number of points (before cross-field constraints).
  double getSize() const;

  /// Every value in range and the cross-field constraints hold; the error
  /// names the parameter and the limit.
  llvm::Error check(const Config &c) const;
  /// The config as #haqa.schedule fields in JSON ({"tile": [...], ...}).
  llvm::json::Object toJSON(const Config &c) const;
  /// The config as a schedule (its JSON through scheduleFromJSON). On a GPU
  /// profile the default point is the default schedule itself: the fields
  /// it leaves out (a tile: the block covers what its threads do, the
  /// reduction is not stepped) have no value in the space, and spelling them
  /// out lowers differently (6.6x slower for SmolLM2's output head on
  /// OpenCL), so the baseline and every strategy's start would not be the
  /// default.
  ScheduleAttr toSchedule(const Config &c) const;
  /// `#haqa.schedule<...>` text.
  std::string toScheduleText(const Config &c) const;
  /// A config from JSON fields; the error says which field is missing,
  /// unknown, malformed or out of range (what a re-ask tells the LLM).
  /// Missing fields take the default.
  llvm::Expected<Config> fromJSON(const llvm::json::Value &v) const;
  /// The space for a prompt: each field, its legal values and default.
  llvm::json::Object describe() const;

  /// A uniformly random legal config.
  Config sample(std::mt19937_64 &rng) const;
  /// Legal configs one step away: each parameter moved to an adjacent value.
  std::vector<Config> neighbors(const Config &c) const;
  /// The i-th config in mixed-radix order (for grid search), legal or not.
  Config at(uint64_t index) const;

private:
  MLIRContext *ctx = nullptr;
  KernelInfo kernel;
  HardwareProfile profile;
  std::vector<Parameter> params;
  std::vector<std::vector<int64_t>> orders;
  Config defaultConfig;
  /// GPU profiles: the default schedule the default point stands for.
  ScheduleAttr gpuDefault;
  /// Placement of the operands after the first (then the results), as the
  /// default schedule has it ("global" where it has none): #haqa.schedule
  /// takes one entry per operand and result, the space varies the first.
  std::vector<std::string> otherPlacements;
  int indexOf(llvm::StringRef name) const;
};

} // namespace mlir::haqa

#endif // HAQA_AGENT_SEARCHSPACE_H
