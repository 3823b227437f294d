//===- Report.h - report.html from the tuning records -----------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A self-contained HTML report (inline SVG, no scripts, no network): per
// kernel a convergence plot (best-so-far speedup over the default per
// round, from trials paired with it; latency for unpaired records; one line
// per strategy: the median over its seeds), the table of default against
// the decided schedule with the speedup's 95% interval, and the failure
// counts per strategy (trial outcomes, fallbacks, and the LLM agent's reply
// problems when it ran).
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_AGENT_REPORT_H
#define HAQA_AGENT_REPORT_H

#include "haqa/Agent/Records.h"

namespace mlir::haqa {

struct ReportKernel {
  std::string label;                ///< "matmul [2048,1,2048] q8_0"
  std::vector<StoredTrial> trials;  ///< every strategy and seed
  /// What the run decided (after its confirmation), when it did.
  std::optional<StoredDecision> decision;
};

struct ReportInput {
  std::string title;
  std::string target;      ///< profile id and name
  std::string compilerVersion;
  std::vector<ReportKernel> kernels;
  /// LLM reply problems per strategy run ("llm-summary" events), if any.
  std::vector<llvm::json::Object> llmSummaries;
  /// What a user came for, on the first screen (the compile session's
  /// decisions: precision with its measurements, tuned against default
  /// tokens/s with their spread, fusion, what was tuned and what not), as
  /// (heading, text) pairs; empty for a kernel-only run.
  std::vector<std::pair<std::string, std::string>> summary;
};

/// Writes the report to `path`.
llvm::Error writeReport(llvm::StringRef path, const ReportInput &input);

} // namespace mlir::haqa

#endif // HAQA_AGENT_REPORT_H
