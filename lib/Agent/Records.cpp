//===- Records.cpp - every tuning trial in SQLite --------------------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/Records.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FormatVariadic.h"

#include <sqlite3.h>

using namespace mlir::haqa;
using llvm::StringRef;

#ifndef HAQA_VERSION
#define HAQA_VERSION "0.1.0"
#endif
#include "haqa/Version.inc" // HAQA_GIT_COMMIT, written at every build

std::string mlir::haqa::getCompilerVersion() {
  return llvm::formatv("haqa {0} ({1}), LLVM {2}", HAQA_VERSION,
                       HAQA_GIT_COMMIT, LLVM_VERSION_STRING)
      .str();
}

namespace {
/// A prepared statement, finalized on scope exit.
struct Stmt {
  sqlite3_stmt *s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
  void text(int i, StringRef v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
  }
  std::string column(int i) {
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? reinterpret_cast<const char *>(t) : "";
  }
};
} // namespace

RecordStore::~RecordStore() {
  if (db)
    sqlite3_close(db);
}

/// What to do about a records file SQLite cannot read, for error messages.
static std::string damagedHint(StringRef path, int code) {
  code &= 0xff; // the primary result code
  if (code != SQLITE_CORRUPT && code != SQLITE_NOTADB)
    return "";
  return llvm::formatv("; the records file is damaged or not a records "
                       "database: move it aside (`mv {0} {0}.bad`) to start "
                       "with empty records, or recover its finished trials "
                       "with `sqlite3 {0}.bad .recover | sqlite3 {0}`",
                       path)
      .str();
}

llvm::Error RecordStore::fail(StringRef what) {
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      llvm::formatv("records {0}: {1}: {2}{3}", path, what,
                    db ? sqlite3_errmsg(db) : "cannot open",
                    db ? damagedHint(path, sqlite3_extended_errcode(db)) : "")
          .str());
}

llvm::Error RecordStore::exec(StringRef sql) {
  char *msg = nullptr;
  std::string s = sql.str();
  if (int rc = sqlite3_exec(db, s.c_str(), nullptr, nullptr, &msg);
      rc != SQLITE_OK) {
    std::string m = msg ? msg : "?";
    sqlite3_free(msg);
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "records " + path + ": " + m +
                                       damagedHint(path, rc));
  }
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<RecordStore>>
RecordStore::open(StringRef path) {
  std::unique_ptr<RecordStore> r(new RecordStore());
  r->path = path.str();
  if (sqlite3_open_v2(r->path.c_str(), &r->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK)
    return r->fail("cannot open");
  sqlite3_busy_timeout(r->db, 10000);
  // WAL: readers never block the tuner; FULL sync: a trial is on disk when
  // addTrial returns, so kill -9 (or a crash of the machine) loses nothing
  // finished.
  if (auto e = r->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"))
    return std::move(e);
  if (auto e = r->exec(R"sql(
    CREATE TABLE IF NOT EXISTS trials (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      kernel TEXT NOT NULL, target TEXT NOT NULL, fingerprint TEXT NOT NULL,
      compiler_version TEXT NOT NULL,
      strategy TEXT NOT NULL, seed INTEGER NOT NULL, round INTEGER NOT NULL,
      fields TEXT NOT NULL, schedule TEXT NOT NULL,
      status TEXT NOT NULL, latency_ms REAL, spread_ms REAL,
      max_abs_error REAL, message TEXT, proposed_by TEXT, seconds REAL,
      created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      UNIQUE (kernel, target, fingerprint, compiler_version, strategy, seed,
              round));
    CREATE INDEX IF NOT EXISTS trials_key
      ON trials (kernel, target, fingerprint, compiler_version, status);
    CREATE TABLE IF NOT EXISTS decisions (
      kernel TEXT NOT NULL, target TEXT NOT NULL, fingerprint TEXT NOT NULL,
      compiler_version TEXT NOT NULL,
      strategy TEXT NOT NULL, seed INTEGER NOT NULL,
      source TEXT NOT NULL, schedule TEXT NOT NULL, fields TEXT NOT NULL,
      default_ms REAL, best_ms REAL,
      speedup REAL, speedup_lo REAL, speedup_hi REAL,
      created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      PRIMARY KEY (kernel, target, fingerprint, compiler_version, strategy,
                   seed));
  )sql"))
    return std::move(e);
  // Records written before trials were paired with the default lack these
  // columns: add them (their trials read as unpaired).
  if (auto e = r->addMissingColumns())
    return std::move(e);
  return r;
}

/// The columns of `trials` added after its first version.
static const char *const kPairedColumns[][2] = {{"default_ms", "REAL"},
                                                {"speedup", "REAL"},
                                                {"speedup_lo", "REAL"},
                                                {"speedup_hi", "REAL"},
                                                {"pairs", "INTEGER"}};

llvm::Error RecordStore::addMissingColumns() {
  Stmt st;
  if (sqlite3_prepare_v2(db, "PRAGMA table_info(trials)", -1, &st.s, nullptr) !=
      SQLITE_OK)
    return fail("read the trials' columns");
  llvm::StringSet<> have;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW)
    have.insert(st.column(1));
  if (rc != SQLITE_DONE)
    return fail("read the trials' columns");
  for (auto &[name, type] : kPairedColumns)
    if (!have.contains(name))
      if (auto e = exec(
              llvm::formatv("ALTER TABLE trials ADD COLUMN {0} {1}", name, type)
                  .str()))
        return e;
  return llvm::Error::success();
}

llvm::Error RecordStore::addTrial(const RecordKey &key, StringRef strategy,
                                  uint64_t seed, int round, const Trial &t,
                                  StringRef schedule,
                                  const llvm::json::Object &fields) {
  Stmt st;
  const char *sql =
      "INSERT OR REPLACE INTO trials (kernel, target, fingerprint, "
      "compiler_version, strategy, seed, round, fields, schedule, status, "
      "latency_ms, spread_ms, max_abs_error, message, proposed_by, seconds, "
      "default_ms, speedup, speedup_lo, speedup_hi, pairs) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
      "?15, ?16, ?17, ?18, ?19, ?20, ?21)";
  if (sqlite3_prepare_v2(db, sql, -1, &st.s, nullptr) != SQLITE_OK)
    return fail("prepare insert");
  st.text(1, key.kernel);
  st.text(2, key.target);
  st.text(3, key.fingerprint);
  st.text(4, key.compilerVersion);
  st.text(5, strategy);
  sqlite3_bind_int64(st.s, 6, static_cast<int64_t>(seed));
  sqlite3_bind_int(st.s, 7, round);
  std::string f = llvm::formatv("{0}", llvm::json::Value(llvm::json::Object(
                                           fields)))
                      .str();
  st.text(8, f);
  st.text(9, schedule);
  st.text(10, Trial::getStatusName(t.status));
  if (t.isOK()) {
    sqlite3_bind_double(st.s, 11, t.latencyMs);
    sqlite3_bind_double(st.s, 12, t.spreadMs);
  }
  sqlite3_bind_double(st.s, 13, t.maxAbsError);
  st.text(14, t.message);
  st.text(15, t.proposedBy);
  sqlite3_bind_double(st.s, 16, t.seconds);
  if (t.isOK() && t.speedup > 0) {
    sqlite3_bind_double(st.s, 17, t.pairedDefaultMs);
    sqlite3_bind_double(st.s, 18, t.speedup);
    sqlite3_bind_double(st.s, 19, t.speedupLo);
    sqlite3_bind_double(st.s, 20, t.speedupHi);
    sqlite3_bind_int(st.s, 21, t.pairs);
  }
  if (sqlite3_step(st.s) != SQLITE_DONE)
    return fail("insert trial");
  return llvm::Error::success();
}

/// The schedule fields a row stores as JSON text (`what`: "a trial's").
static llvm::Expected<llvm::json::Object>
parseFields(const std::string &fields, StringRef path, StringRef what) {
  auto parsed = llvm::json::parse(fields);
  if (!parsed || !parsed->getAsObject()) {
    if (!parsed)
      llvm::consumeError(parsed.takeError());
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "records " + path + ": " + what +
            " fields are not a JSON object: " + fields);
  }
  return std::move(*parsed->getAsObject());
}

static llvm::Expected<StoredTrial> readRow(Stmt &st, StringRef path) {
  StoredTrial r;
  r.strategy = st.column(0);
  r.seed = static_cast<uint64_t>(sqlite3_column_int64(st.s, 1));
  r.round = sqlite3_column_int(st.s, 2);
  auto fields = parseFields(st.column(3), path, "a trial's");
  if (!fields)
    return fields.takeError();
  r.fields = std::move(*fields);
  r.schedule = st.column(4);
  std::string status = st.column(5);
  auto s = Trial::parseStatus(status);
  if (!s)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "records " + path + ": unknown status '" +
                                       status + "'");
  r.trial.status = *s;
  r.trial.latencyMs = sqlite3_column_double(st.s, 6);
  r.trial.spreadMs = sqlite3_column_double(st.s, 7);
  r.trial.maxAbsError = sqlite3_column_double(st.s, 8);
  r.trial.message = st.column(9);
  r.trial.proposedBy = st.column(10);
  r.trial.seconds = sqlite3_column_double(st.s, 11);
  r.trial.pairedDefaultMs = sqlite3_column_double(st.s, 12);
  r.trial.speedup = sqlite3_column_double(st.s, 13);
  r.trial.speedupLo = sqlite3_column_double(st.s, 14);
  r.trial.speedupHi = sqlite3_column_double(st.s, 15);
  r.trial.pairs = sqlite3_column_int(st.s, 16);
  return r;
}

static const char *kColumns =
    "strategy, seed, round, fields, schedule, status, latency_ms, spread_ms, "
    "max_abs_error, message, proposed_by, seconds, default_ms, speedup, "
    "speedup_lo, speedup_hi, pairs";

/// Prepares `sql` (whose ?1..?4 are the key's fields) and binds `key`.
static bool prepareKeyed(sqlite3 *db, Stmt &st, const std::string &sql,
                         const RecordKey &key) {
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK)
    return false;
  st.text(1, key.kernel);
  st.text(2, key.target);
  st.text(3, key.fingerprint);
  st.text(4, key.compilerVersion);
  return true;
}

/// Every row of a prepared SELECT of kColumns; `rc` is sqlite3_step's last.
static llvm::Expected<std::vector<StoredTrial>>
readRows(Stmt &st, StringRef path, int &rc) {
  std::vector<StoredTrial> out;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    auto r = readRow(st, path);
    if (!r)
      return r.takeError();
    out.push_back(std::move(*r));
  }
  return out;
}

llvm::Expected<std::vector<StoredTrial>>
RecordStore::getTrials(const RecordKey &key, StringRef strategy,
                       uint64_t seed) {
  Stmt st;
  std::string sql = llvm::formatv(
      "SELECT {0} FROM trials WHERE kernel = ?1 AND target = ?2 AND "
      "fingerprint = ?3 AND compiler_version = ?4 AND strategy = ?5 AND "
      "seed = ?6 ORDER BY round",
      kColumns);
  if (!prepareKeyed(db, st, sql, key))
    return fail("prepare select");
  st.text(5, strategy);
  sqlite3_bind_int64(st.s, 6, static_cast<int64_t>(seed));
  int rc;
  auto out = readRows(st, path, rc);
  if (out && rc != SQLITE_DONE)
    return fail("select trials");
  return out;
}

llvm::Error RecordStore::addDecision(const RecordKey &key,
                                     const StoredDecision &d) {
  Stmt st;
  if (!prepareKeyed(
          db, st,
          "INSERT OR REPLACE INTO decisions (kernel, target, fingerprint, "
          "compiler_version, strategy, seed, source, schedule, fields, "
          "default_ms, best_ms, speedup, speedup_lo, speedup_hi) VALUES (?1, "
          "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
          key))
    return fail("prepare insert");
  st.text(5, d.strategy);
  sqlite3_bind_int64(st.s, 6, static_cast<int64_t>(d.seed));
  st.text(7, d.source);
  st.text(8, d.schedule);
  st.text(9,
          llvm::formatv("{0}", llvm::json::Value(llvm::json::Object(d.fields)))
              .str());
  sqlite3_bind_double(st.s, 10, d.defaultMs);
  sqlite3_bind_double(st.s, 11, d.bestMs);
  sqlite3_bind_double(st.s, 12, d.speedup);
  sqlite3_bind_double(st.s, 13, d.speedupLo);
  sqlite3_bind_double(st.s, 14, d.speedupHi);
  if (sqlite3_step(st.s) != SQLITE_DONE)
    return fail("insert decision");
  return llvm::Error::success();
}

llvm::Expected<std::optional<StoredDecision>>
RecordStore::getDecision(const RecordKey &key) {
  Stmt st;
  if (!prepareKeyed(db, st,
                    "SELECT strategy, seed, source, schedule, fields, "
                    "default_ms, best_ms, speedup, speedup_lo, speedup_hi "
                    "FROM decisions WHERE kernel = ?1 AND target = ?2 AND "
                    "fingerprint = ?3 AND compiler_version = ?4 ORDER BY "
                    "created DESC, rowid DESC LIMIT 1",
                    key))
    return fail("prepare select");
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE)
    return std::nullopt;
  if (rc != SQLITE_ROW)
    return fail("select decision");
  StoredDecision d;
  d.strategy = st.column(0);
  d.seed = static_cast<uint64_t>(sqlite3_column_int64(st.s, 1));
  d.source = st.column(2);
  d.schedule = st.column(3);
  auto fields = parseFields(st.column(4), path, "a decision's");
  if (!fields)
    return fields.takeError();
  d.fields = std::move(*fields);
  d.defaultMs = sqlite3_column_double(st.s, 5);
  d.bestMs = sqlite3_column_double(st.s, 6);
  d.speedup = sqlite3_column_double(st.s, 7);
  d.speedupLo = sqlite3_column_double(st.s, 8);
  d.speedupHi = sqlite3_column_double(st.s, 9);
  return std::optional<StoredDecision>(std::move(d));
}

llvm::Expected<int64_t> RecordStore::countTrials() {
  Stmt st;
  if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM trials", -1, &st.s,
                         nullptr) != SQLITE_OK)
    return fail("prepare count");
  if (sqlite3_step(st.s) != SQLITE_ROW)
    return fail("count");
  return sqlite3_column_int64(st.s, 0);
}

llvm::Expected<int64_t> RecordStore::countTunedTrials(const RecordKey &key) {
  Stmt st;
  if (!prepareKeyed(db, st,
                    "SELECT COUNT(*) FROM trials WHERE kernel = ?1 AND "
                    "target = ?2 AND fingerprint = ?3 AND "
                    "compiler_version = ?4 AND strategy != 'default'",
                    key))
    return fail("prepare count");
  if (sqlite3_step(st.s) != SQLITE_ROW)
    return fail("count");
  return sqlite3_column_int64(st.s, 0);
}

llvm::Expected<std::vector<StoredTrial>>
RecordStore::getAllTrials(const RecordKey &key) {
  Stmt st;
  std::string sql = llvm::formatv(
      "SELECT {0} FROM trials WHERE kernel = ?1 AND target = ?2 AND "
      "fingerprint = ?3 AND compiler_version = ?4 ORDER BY strategy, seed, "
      "round",
      kColumns);
  if (!prepareKeyed(db, st, sql, key))
    return fail("prepare select");
  int rc;
  auto out = readRows(st, path, rc);
  if (out && rc != SQLITE_DONE)
    return fail("select trials");
  return out;
}
