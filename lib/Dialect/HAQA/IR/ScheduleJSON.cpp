//===- ScheduleJSON.cpp - #haqa.schedule <-> JSON ------------------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/ScheduleJSON.h"

#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace mlir::haqa;

/// The fields in the order the assembly format prints them.
static const char *const kFields[] = {
    "tile",        "order",     "unroll",   "vector", "threads", "grid",
    "cpu_threads", "placement", "prefetch", "layout", "mma",     "dot",
    "isa",         "micro",     "exp",      "attn",   "fuse"};

llvm::json::Object mlir::haqa::scheduleToJSON(ScheduleAttr s) {
  llvm::json::Object o;
  auto ints = [&](const char *key, ArrayRef<int64_t> v) {
    if (!v.empty())
      o[key] = llvm::json::Array(v);
  };
  auto opt = [&](const char *key, std::optional<int64_t> v) {
    if (v)
      o[key] = *v;
  };
  ints("tile", s.getTile());
  ints("order", s.getOrder());
  opt("unroll", s.getUnroll());
  opt("vector", s.getVector());
  ints("threads", s.getThreads());
  ints("grid", s.getGrid());
  opt("cpu_threads", s.getCpuThreads());
  if (!s.getPlacement().empty()) {
    llvm::json::Array a;
    for (MemSpace m : s.getPlacement())
      a.push_back(stringifyMemSpace(m));
    o["placement"] = std::move(a);
  }
  opt("prefetch", s.getPrefetch());
  if (!s.getLayout().empty()) {
    llvm::json::Array a;
    for (OperandLayout l : s.getLayout())
      a.push_back(stringifyOperandLayout(l));
    o["layout"] = std::move(a);
  }
  opt("mma", s.getMma());
  if (s.getDot())
    o["dot"] = stringifyDotKind(*s.getDot());
  if (s.getIsa())
    o["isa"] = stringifyCPUISA(*s.getIsa());
  ints("micro", s.getMicro());
  if (s.getExp())
    o["exp"] = stringifyExpKind(*s.getExp());
  if (s.getAttn())
    o["attn"] = stringifyAttnKind(*s.getAttn());
  if (!s.getFuse().empty()) {
    llvm::json::Array a;
    for (FuseKind f : s.getFuse())
      a.push_back(stringifyFuseKind(f));
    o["fuse"] = std::move(a);
  }
  return o;
}

llvm::Expected<ScheduleAttr>
mlir::haqa::scheduleFromJSON(MLIRContext *ctx, const llvm::json::Object &obj) {
  auto fail = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  for (const auto &kv : obj)
    if (!llvm::is_contained(kFields, kv.first.str()))
      return fail("unknown field '" + kv.first.str() + "'");
  auto ints = [&](const char *key,
                  SmallVectorImpl<int64_t> &out) -> llvm::Error {
    const llvm::json::Value *v = obj.get(key);
    if (!v)
      return llvm::Error::success();
    const llvm::json::Array *a = v->getAsArray();
    if (!a)
      return fail(llvm::Twine("'") + key + "' must be a list of integers");
    for (const llvm::json::Value &x : *a) {
      std::optional<int64_t> n = x.getAsInteger();
      if (!n)
        return fail(llvm::Twine("bad entry in '") + key + "'");
      out.push_back(*n);
    }
    return llvm::Error::success();
  };
  auto opt = [&](const char *key, std::optional<int64_t> &out) -> llvm::Error {
    const llvm::json::Value *v = obj.get(key);
    if (!v)
      return llvm::Error::success();
    out = v->getAsInteger();
    if (!out)
      return fail(llvm::Twine("bad value of '") + key + "'");
    return llvm::Error::success();
  };
  auto names = [&](const char *key, auto symbolize, auto &out) -> llvm::Error {
    const llvm::json::Value *v = obj.get(key);
    if (!v)
      return llvm::Error::success();
    const llvm::json::Array *a = v->getAsArray();
    if (!a)
      return fail(llvm::Twine("'") + key + "' must be a list of names");
    for (const llvm::json::Value &x : *a) {
      std::optional<llvm::StringRef> name = x.getAsString();
      auto value = name ? symbolize(*name) : std::nullopt;
      if (!value)
        return fail(llvm::Twine("bad entry in '") + key + "'");
      out.push_back(*value);
    }
    return llvm::Error::success();
  };
  auto name = [&](const char *key, auto symbolize, auto &out) -> llvm::Error {
    const llvm::json::Value *v = obj.get(key);
    if (!v)
      return llvm::Error::success();
    std::optional<llvm::StringRef> str = v->getAsString();
    out = str ? symbolize(*str) : std::nullopt;
    if (!out)
      return fail(llvm::Twine("bad value of '") + key + "'");
    return llvm::Error::success();
  };
  SmallVector<int64_t> tile, order, threads, grid, micro;
  std::optional<int64_t> unroll, vector, cpuThreads, prefetch, mma;
  std::optional<DotKind> dot;
  std::optional<CPUISA> isa;
  std::optional<ExpKind> exp;
  std::optional<AttnKind> attn;
  SmallVector<MemSpace> placement;
  SmallVector<OperandLayout> layout;
  SmallVector<FuseKind> fuse;
  if (llvm::Error e = ints("tile", tile))
    return std::move(e);
  if (llvm::Error e = ints("order", order))
    return std::move(e);
  if (llvm::Error e = opt("unroll", unroll))
    return std::move(e);
  if (llvm::Error e = opt("vector", vector))
    return std::move(e);
  if (llvm::Error e = ints("threads", threads))
    return std::move(e);
  if (llvm::Error e = ints("grid", grid))
    return std::move(e);
  if (llvm::Error e = opt("cpu_threads", cpuThreads))
    return std::move(e);
  if (llvm::Error e = names(
          "placement", [](llvm::StringRef n) { return symbolizeMemSpace(n); },
          placement))
    return std::move(e);
  if (llvm::Error e = opt("prefetch", prefetch))
    return std::move(e);
  if (llvm::Error e = names(
          "layout", [](llvm::StringRef n) { return symbolizeOperandLayout(n); },
          layout))
    return std::move(e);
  if (llvm::Error e = opt("mma", mma))
    return std::move(e);
  if (llvm::Error e = name(
          "dot", [](llvm::StringRef n) { return symbolizeDotKind(n); }, dot))
    return std::move(e);
  if (llvm::Error e = name(
          "isa", [](llvm::StringRef n) { return symbolizeCPUISA(n); }, isa))
    return std::move(e);
  if (llvm::Error e = ints("micro", micro))
    return std::move(e);
  if (llvm::Error e = name(
          "exp", [](llvm::StringRef n) { return symbolizeExpKind(n); }, exp))
    return std::move(e);
  if (llvm::Error e = name(
          "attn", [](llvm::StringRef n) { return symbolizeAttnKind(n); },
          attn))
    return std::move(e);
  if (llvm::Error e = names(
          "fuse", [](llvm::StringRef n) { return symbolizeFuseKind(n); }, fuse))
    return std::move(e);
  std::string diagnostics;
  ScheduleAttr s;
  {
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
      diagnostics += (diagnostics.empty() ? "" : "; ") + d.str();
      return success();
    });
    s = ScheduleAttr::getChecked(
        [&] { return emitError(UnknownLoc::get(ctx)); }, ctx,
        ArrayRef<int64_t>(tile), ArrayRef<int64_t>(order), unroll, vector,
        ArrayRef<int64_t>(threads), ArrayRef<int64_t>(grid), cpuThreads,
        ArrayRef<MemSpace>(placement), prefetch,
        ArrayRef<OperandLayout>(layout), mma, dot, isa,
        ArrayRef<int64_t>(micro), exp, attn, ArrayRef<FuseKind>(fuse));
  }
  if (!s)
    return fail(diagnostics);
  return s;
}

std::string mlir::haqa::printSchedule(ScheduleAttr schedule) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << Attribute(schedule);
  return s;
}
