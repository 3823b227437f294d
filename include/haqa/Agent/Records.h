//===- Records.h - every tuning trial in SQLite -----------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The tuning records database (SQLite, WAL): every trial of every run, keyed
// by kernel signature + target + hardware fingerprint + compiler version,
// written when the trial finishes (a killed run loses nothing finished), and
// the best schedule per key, which a later model with the same kernel reuses
// without tuning again.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_AGENT_RECORDS_H
#define HAQA_AGENT_RECORDS_H

#include "haqa/Agent/Strategy.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace mlir::haqa {

/// What makes two measurements comparable.
struct RecordKey {
  std::string kernel;      ///< kernel signature ("matmul [2048,1,2048] q8_0")
  std::string target;      ///< profile id ("host", "h100")
  std::string fingerprint; ///< HardwareProfile::getFingerprint()
  std::string compilerVersion;
};

/// One stored trial: the Trial plus where it came from.
struct StoredTrial {
  Trial trial;
  std::string strategy;
  uint64_t seed = 0;
  int round = 0;
  std::string schedule;      ///< #haqa.schedule text
  llvm::json::Object fields; ///< the schedule's fields as JSON
};

/// What a tuning run decided for a kernel, after its confirmation: the
/// schedule a later run reuses (never merely the fastest trial recorded: the
/// minimum of many noisy timings is biased low, and a winner that did not
/// confirm is no winner).
struct StoredDecision {
  std::string strategy;
  uint64_t seed = 0;
  std::string source;        ///< "tuned" or "default"
  std::string schedule;      ///< #haqa.schedule text
  llvm::json::Object fields; ///< the schedule's fields as JSON
  double defaultMs = 0, bestMs = 0;
  /// Default / chosen in the confirming pairs and its 95% interval (1 when
  /// the default stayed without a confirmation).
  double speedup = 1, speedupLo = 1, speedupHi = 1;
};

class RecordStore {
public:
  ~RecordStore();
  /// Opens (creating if needed) the database at `path`; errors name it.
  static llvm::Expected<std::unique_ptr<RecordStore>> open(llvm::StringRef path);

  /// Appends one finished trial (durably, before returning).
  llvm::Error addTrial(const RecordKey &key, llvm::StringRef strategy,
                       uint64_t seed, int round, const Trial &trial,
                       llvm::StringRef schedule,
                       const llvm::json::Object &fields);
  /// The trials of one (key, strategy, seed) tuning, in round order: what a
  /// resumed run continues from.
  llvm::Expected<std::vector<StoredTrial>>
  getTrials(const RecordKey &key, llvm::StringRef strategy, uint64_t seed);
  /// Every trial of `key`, by any strategy and seed (for reports).
  llvm::Expected<std::vector<StoredTrial>> getAllTrials(const RecordKey &key);
  /// Records (replacing that of the same strategy and seed) what a tuning
  /// run decided for `key`.
  llvm::Error addDecision(const RecordKey &key, const StoredDecision &d);
  /// The latest decision recorded for `key`, by any strategy.
  llvm::Expected<std::optional<StoredDecision>>
  getDecision(const RecordKey &key);
  /// Trials of `key` by a tuning strategy (any but "default").
  llvm::Expected<int64_t> countTunedTrials(const RecordKey &key);
  /// Number of trials stored in all.
  llvm::Expected<int64_t> countTrials();

private:
  RecordStore() = default;
  llvm::Error exec(llvm::StringRef sql);
  llvm::Error addMissingColumns();
  llvm::Error fail(llvm::StringRef what);
  sqlite3 *db = nullptr;
  std::string path;
};

/// "haqa <version> (<git commit>), LLVM <version>": part of every key.
std::string getCompilerVersion();

} // namespace mlir::haqa

#endif // HAQA_AGENT_RECORDS_H
