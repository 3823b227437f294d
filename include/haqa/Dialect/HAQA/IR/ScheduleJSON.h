//===- ScheduleJSON.h - #haqa.schedule <-> JSON -----------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The one converter between a schedule attribute and its JSON fields
// ({"tile": [1, 16, 256], "vector": 16, "placement": ["shared"], ...}), the
// form schedules take outside the IR: the tuning records, the search space's
// points, the LLM's replies and haqa-bench --schedule.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_DIALECT_HAQA_IR_SCHEDULEJSON_H
#define HAQA_DIALECT_HAQA_IR_SCHEDULEJSON_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace mlir::haqa {

/// The fields `schedule` sets, by their assembly names (`cpu_threads`).
llvm::json::Object scheduleToJSON(ScheduleAttr schedule);

/// The schedule with `fields`, verified as the parser verifies
/// `#haqa.schedule<...>` text. The error names an unknown field, a
/// malformed value or the verifier's complaint.
llvm::Expected<ScheduleAttr> scheduleFromJSON(MLIRContext *ctx,
                                              const llvm::json::Object &fields);

/// `#haqa.schedule<...>` as printed.
std::string printSchedule(ScheduleAttr schedule);

} // namespace mlir::haqa

#endif // HAQA_DIALECT_HAQA_IR_SCHEDULEJSON_H
