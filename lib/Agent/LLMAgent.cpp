//===- LLMAgent.cpp - the LLM search strategy with ReAct prompts ----------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/LLMAgent.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdlib>

using namespace mlir::haqa;
using llvm::StringRef;

#ifndef HAQA_SOURCE_DIR
#define HAQA_SOURCE_DIR "."
#endif

StringRef mlir::haqa::getReplyProblemName(ReplyProblem p) {
  switch (p) {
  case ReplyProblem::None:
    return "none";
  case ReplyProblem::Malformed:
    return "malformed";
  case ReplyProblem::OutOfRange:
    return "out-of-range";
  case ReplyProblem::OffTask:
    return "off-task";
  case ReplyProblem::Repeat:
    return "repeat";
  }
  return "?";
}

//===----------------------------------------------------------------------===//
// Reply parsing
//===----------------------------------------------------------------------===//

/// Balanced {...} spans of `text` (outermost only), string-aware.
static std::vector<std::pair<size_t, size_t>> braceSpans(StringRef text) {
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{')
      continue;
    int depth = 0;
    char quote = 0;
    size_t j = i;
    for (; j < text.size(); ++j) {
      char c = text[j];
      if (quote) {
        if (c == '\\')
          ++j;
        else if (c == quote)
          quote = 0;
        continue;
      }
      if (c == '"' || c == '\'')
        quote = c;
      else if (c == '{')
        ++depth;
      else if (c == '}' && --depth == 0)
        break;
    }
    if (j < text.size()) {
      spans.push_back({i, j + 1});
      i = j;
    } else {
      spans.push_back({i, text.size()}); // unbalanced: still a candidate
      break;
    }
  }
  return spans;
}

/// Light repairs small models need: single-quoted strings and keys, trailing
/// commas, Python literals.
static std::string repairJSON(StringRef s) {
  std::string out;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == '\\' && i + 1 < s.size()) {
        out += c;
        out += s[++i];
        continue;
      }
      if (c == quote) {
        out += '"';
        quote = 0;
        continue;
      }
      out += c == '"' ? '\'' : c;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      out += '"';
      continue;
    }
    if (c == ',') {
      size_t k = i + 1;
      while (k < s.size() && isspace(static_cast<unsigned char>(s[k])))
        ++k;
      if (k < s.size() && (s[k] == '}' || s[k] == ']'))
        continue;
    }
    out += c;
  }
  for (auto [from, to] : {std::pair<StringRef, StringRef>{"True", "true"},
                          {"False", "false"},
                          {"None", "null"}})
    for (size_t p; (p = out.find(from.str())) != std::string::npos;)
      out.replace(p, from.size(), to.str());
  return out;
}

/// A reply as logged and echoed back in a re-ask: at most 16 KiB, so a
/// runaway reply is neither logged in full nor sent back to the server.
static std::string clipReply(StringRef content) {
  constexpr size_t kMaxEchoed = 16384;
  if (content.size() <= kMaxEchoed)
    return content.str();
  return (content.take_front(kMaxEchoed) + "\n[... " +
          llvm::Twine(content.size() - kMaxEchoed) + " more bytes cut]")
      .str();
}

/// A value taken from a file name, a path or a user's option, as it goes
/// into a prompt: a JSON string (quoted, newlines and quotes escaped, at
/// most 200 characters), so it cannot forge lines of the prompt.
static std::string quoted(StringRef value) {
  std::string v = value.take_front(200).str();
  if (value.size() > 200)
    v += "...";
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::json::Value(llvm::json::fixUTF8(v));
  return out;
}

static bool hasScheduleField(const llvm::json::Object &o) {
  for (const char *f : {"tile", "order", "unroll", "vector", "threads",
                        "cpu_threads", "prefetch", "placement", "mma", "dot",
                        "isa", "micro", "exp", "attn", "fuse"})
    if (o.get(f))
      return true;
  return false;
}

ParsedReply mlir::haqa::parseAgentReply(StringRef reply,
                                        const SearchSpace &space) {
  ParsedReply out;
  // The Thought, for the log ("Thought: ..." or, in JSON mode, the
  // reply's "thought").
  if (size_t t = reply.find("Thought:"); t != StringRef::npos) {
    StringRef rest = reply.drop_front(t + 8);
    out.thought = rest.take_front(rest.find("Action:")).trim().str();
  } else if (auto whole = llvm::json::parse(reply)) {
    if (const llvm::json::Object *o = whole->getAsObject())
      if (std::optional<StringRef> t = o->getString("thought"))
        out.thought = t->str();
  } else {
    llvm::consumeError(whole.takeError());
  }
  // Candidates: code fences first, then the text after "Action:", then all.
  std::vector<std::string> candidates;
  for (size_t pos = 0; (pos = reply.find("```", pos)) != StringRef::npos;) {
    size_t start = reply.find('\n', pos);
    size_t end = start == StringRef::npos ? StringRef::npos
                                          : reply.find("```", start);
    if (end == StringRef::npos)
      break;
    StringRef body = reply.slice(start + 1, end);
    for (auto [a, b] : braceSpans(body))
      candidates.push_back(body.slice(a, b).str());
    pos = end + 3;
  }
  StringRef action = reply;
  if (size_t a = reply.rfind("Action:"); a != StringRef::npos)
    action = reply.drop_front(a);
  for (auto [a, b] : braceSpans(action))
    candidates.push_back(action.slice(a, b).str());
  for (auto [a, b] : braceSpans(reply))
    candidates.push_back(reply.slice(a, b).str());

  bool sawMalformed = false;
  std::string rangeError, malformedError;
  for (const std::string &cand : candidates) {
    llvm::Expected<llvm::json::Value> v = llvm::json::parse(cand);
    if (!v) {
      std::string why = llvm::toString(v.takeError());
      v = llvm::json::parse(repairJSON(cand));
      if (!v) {
        llvm::consumeError(v.takeError());
        sawMalformed = true;
        if (malformedError.empty())
          malformedError = "the JSON does not parse (" + why + "): " +
                           StringRef(cand).take_front(120).str();
        continue;
      }
    }
    const llvm::json::Object *o = v->getAsObject();
    if (!o)
      continue;
    // Unwrap {"schedule": {...}}, {"config": {...}}, {"action": {...}}.
    for (const char *wrap : {"schedule", "config", "configuration", "action",
                             "Action", "action_input"})
      if (const llvm::json::Object *inner = o->getObject(wrap))
        if (!hasScheduleField(*o)) {
          o = inner;
          break;
        }
    if (!hasScheduleField(*o))
      continue;
    llvm::Expected<Config> c = space.fromJSON(llvm::json::Value(llvm::json::Object(*o)));
    if (!c) {
      if (rangeError.empty())
        rangeError = llvm::toString(c.takeError());
      else
        llvm::consumeError(c.takeError());
      continue;
    }
    out.config = *c;
    return out;
  }
  if (!rangeError.empty()) {
    out.problem = ReplyProblem::OutOfRange;
    out.message = rangeError;
  } else if (sawMalformed) {
    out.problem = ReplyProblem::Malformed;
    out.message = malformedError;
  } else {
    out.problem = ReplyProblem::OffTask;
    out.message = "the reply has no JSON object with schedule fields";
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Templates
//===----------------------------------------------------------------------===//

std::string mlir::haqa::getDefaultPromptDir() {
  if (const char *env = std::getenv("HAQA_PROMPT_DIR"); env && *env)
    return env;
  return HAQA_SOURCE_DIR "/prompts";
}

llvm::Expected<PromptTemplates> PromptTemplates::load(StringRef dir) {
  PromptTemplates t;
  for (auto [name, slot] :
       {std::pair<const char *, std::string *>{"kernel-static.txt",
                                               &t.staticPrompt},
        {"kernel-dynamic.txt", &t.dynamicPrompt},
        {"reask.txt", &t.reask},
        {"bits.txt", &t.bits}}) {
    std::string path = (dir + "/" + name).str();
    auto buf = llvm::MemoryBuffer::getFile(path);
    if (!buf)
      return llvm::createStringError("prompt template " + path + ": " +
                                     buf.getError().message());
    *slot = (*buf)->getBuffer().str();
  }
  return t;
}

llvm::Expected<std::string>
mlir::haqa::fillTemplate(StringRef text,
                         const llvm::StringMap<std::string> &values,
                         StringRef origin) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == StringRef::npos) {
      out += text.drop_front(pos).str();
      return out;
    }
    size_t close = text.find("}}", open);
    if (close == StringRef::npos)
      return llvm::createStringError(origin +
                                     ": unterminated {{ in the template");
    out += text.slice(pos, open).str();
    StringRef name = text.slice(open + 2, close).trim();
    auto it = values.find(name);
    if (it == values.end()) {
      std::vector<std::string> known;
      for (const auto &kv : values)
        known.push_back(kv.getKey().str());
      llvm::sort(known);
      return llvm::createStringError(
          origin + ": unknown placeholder {{" + name +
          "}} (known: " + llvm::join(known, ", ") + ")");
    }
    out += it->second;
    pos = close + 2;
  }
}

//===----------------------------------------------------------------------===//
// The strategy
//===----------------------------------------------------------------------===//

llvm::json::Object LLMAgentStats::toJSON() const {
  return llvm::json::Object{{"requests", requests},
                            {"usable", usable},
                            {"malformed", malformed},
                            {"out_of_range", outOfRange},
                            {"off_task", offTask},
                            {"repeats", repeats},
                            {"reasks", reasks},
                            {"fallbacks", fallbacks},
                            {"endpoint_errors", endpointErrors},
                            {"prompt_tokens", promptTokens},
                            {"completion_tokens", completionTokens},
                            {"seconds", seconds}};
}

LLMStrategy::LLMStrategy(LLMAgentOptions options)
    : options(std::move(options)), client(this->options.llm) {}

static std::string hardwareText(const HardwareProfile &p) {
  std::string s = llvm::formatv("- {0} ({1}, {2})\n", p.name,
                                p.kind == TargetKind::CPU    ? "host CPU"
                                : p.kind == TargetKind::CUDA ? "NVIDIA GPU"
                                                             : "OpenCL GPU",
                                p.arch)
                      .str();
  s += llvm::formatv("- memory {0:F1} GiB", p.memoryBytes / double(1ull << 30))
           .str();
  if (p.memoryBandwidthGBps > 0)
    s += llvm::formatv(", bandwidth {0:F1} GB/s", p.memoryBandwidthGBps).str();
  s += "\n- peak throughput (TFLOPS / TOPS):";
  for (const char *t : {"f32", "f16", "bf16", "int8", "int4"})
    if (p.peakTops.count(t))
      s += llvm::formatv(" {0} {1:F2}", t, p.peakTops.lookup(t)).str();
  s += llvm::formatv("\n- native INT8: {0}, native INT4: {1}\n",
                     p.nativeInt8 ? "yes" : "no", p.nativeInt4 ? "yes" : "no")
           .str();
  if (p.kind == TargetKind::CPU) {
    s += llvm::formatv("- {0} hardware threads, {1}-bit SIMD ({2} f32 lanes); "
                       "L1 {3} KiB, L2 {4} KiB, L3 {5} MiB\n",
                       p.computeUnits, p.vectorBits, p.vectorBits / 32,
                       p.l1Bytes / 1024, p.l2Bytes / 1024,
                       p.l3Bytes / (1024 * 1024))
             .str();
    if (!p.features.empty())
      s += "- ISA extensions: " + llvm::join(p.features, ", ") + "\n";
  } else {
    s += llvm::formatv("- {0} compute units, subgroup {1}, at most {2} "
                       "threads and {3} KiB shared memory per block\n",
                       p.computeUnits, p.subgroupSize, p.maxThreadsPerBlock,
                       p.sharedMemoryPerBlockBytes / 1024)
             .str();
  }
  return s;
}

/// The kernel's roofline floor on `p`: the time its bytes take at the
/// memory bandwidth or its arithmetic at the f32 peak, whichever is longer
/// (ms; 0 when the profile lacks the numbers), and which one it is.
struct RooflineFloor {
  double ms = 0;
  bool memoryBound = false;
};
static RooflineFloor getRooflineFloor(const KernelInfo &k,
                                      const HardwareProfile &p) {
  double memMs = p.memoryBandwidthGBps > 0 && k.bytes
                     ? k.bytes / (p.memoryBandwidthGBps * 1e6)
                     : 0;
  double peak = p.peakTops.lookup("f32");
  double flopMs = peak > 0 && k.flops ? k.flops / (peak * 1e9) : 0;
  bool memoryBound =
      p.memoryBandwidthGBps > 0 && peak > 0 &&
      k.bytes / (p.memoryBandwidthGBps * 1e6) >= k.flops / (peak * 1e9);
  return {std::max(memMs, flopMs), memoryBound};
}

/// "; per call N FLOPs and B bytes moved ..." for the static prompt: what
/// the kernel must move and compute, and the best time the hardware allows.
static std::string rooflineText(const KernelInfo &k, const HardwareProfile &p) {
  if (!k.flops && !k.bytes)
    return "";
  std::string s =
      llvm::formatv("; per call {0} FLOPs and {1} bytes moved "
                    "({2:F2} FLOPs per byte)",
                    k.flops, k.bytes, k.bytes ? double(k.flops) / k.bytes : 0.0)
          .str();
  RooflineFloor floor = getRooflineFloor(k, p);
  if (floor.ms > 0)
    s += llvm::formatv(": at the peaks above no schedule can beat {0:F4} ms "
                       "(the roofline floor; {1})",
                       floor.ms,
                       floor.memoryBound ? "memory-bound" : "compute-bound")
             .str();
  return s;
}

static std::string spaceText(const SearchSpace &space) {
  std::string s;
  llvm::json::Object d = space.describe();
  for (const Parameter &p : space.getParameters()) {
    const llvm::json::Object *e = d.getObject(p.name);
    s += llvm::formatv("- {0}: {1}. Allowed: {2}. Default: {3}\n", p.name,
                       p.description,
                       llvm::formatv("{0}", *e->get("values")).str(),
                       llvm::formatv("{0}", *e->get("default")).str())
             .str();
  }
  return s;
}

/// Per field, the allowed values no trial in `history` has used (at most
/// 8 each), one line per field that has any: what a model that keeps
/// re-proposing measured points is pointed at.
static std::string untriedText(const SearchSpace &space,
                               llvm::ArrayRef<Trial> history) {
  llvm::json::Object d = space.describe();
  std::string s;
  const auto &params = space.getParameters();
  for (size_t i = 0; i < params.size(); ++i) {
    const Parameter &p = params[i];
    llvm::SmallDenseSet<int64_t> seen;
    for (const Trial &t : history)
      if (i < t.config.size())
        seen.insert(t.config[i]);
    const llvm::json::Object *e = d.getObject(p.name);
    const llvm::json::Array *values = e ? e->getArray("values") : nullptr;
    std::vector<std::string> untried;
    size_t more = 0;
    for (size_t j = 0; j < p.values.size(); ++j) {
      if (seen.contains(p.values[j]))
        continue;
      if (untried.size() == 8) {
        ++more;
        continue;
      }
      untried.push_back(values && j < values->size()
                            ? llvm::formatv("{0}", (*values)[j]).str()
                            : std::to_string(p.values[j]));
    }
    if (untried.empty())
      continue;
    s += "- " + p.name + ": " + llvm::join(untried, ", ") +
         (more ? llvm::formatv(" (and {0} more)", more).str() : "") + "\n";
  }
  return s.empty() ? "(every allowed value of every field has been tried)\n"
                   : s;
}

static std::string configText(const SearchSpace &space, const Config &c) {
  return llvm::formatv("{0}", llvm::json::Value(space.toJSON(c))).str();
}

/// The configuration the prompts show as the format's example: a legal
/// point that is not the default schedule (a small model copied a default
/// example round after round, and every copy was a repeat), the same for a
/// space every time.
static std::string exampleText(const SearchSpace &space) {
  ScheduleAttr def = space.toSchedule(space.getDefault());
  std::mt19937_64 rng(0x5EEDE7A3);
  for (int i = 0; i < 100; ++i) {
    Config c = space.sample(rng);
    if (llvm::Error e = space.check(c)) {
      llvm::consumeError(std::move(e));
      continue;
    }
    if (space.toSchedule(c) != def)
      return configText(space, c);
  }
  return configText(space, space.getDefault());
}

llvm::Expected<std::string>
LLMStrategy::buildStaticPrompt(const SearchSpace &space) const {
  const KernelInfo &k = space.getKernel();
  llvm::StringMap<std::string> v;
  v["hardware"] = hardwareText(options.profile);
  v["kernel"] = k.kernel;
  std::vector<std::string> dims;
  for (int64_t d : k.dims)
    dims.push_back(d == std::numeric_limits<int64_t>::min() ? "?"
                                                            : std::to_string(d));
  v["kernel_details"] =
      llvm::formatv("iteration space [{0}] (outermost first; tile and order "
                    "index these dimensions){1}",
                    llvm::join(dims, ", "),
                    k.weights.empty() ? std::string()
                                      : ", weights stored as " + k.weights)
          .str() +
      rooflineText(k, options.profile);
  v["memory_limit"] = quoted(options.memoryLimit);
  v["space"] = spaceText(space);
  v["example"] = exampleText(space);
  v["rounds"] = std::to_string(options.rounds);
  return fillTemplate(options.prompts.staticPrompt, v, "kernel-static.txt");
}

llvm::Expected<std::string>
LLMStrategy::buildDynamicPrompt(const SearchSpace &space,
                                llvm::ArrayRef<Trial> history) const {
  // Observations newest first until the token budget (4 characters per
  // token), then restored to chronological order; the best always stays.
  const Trial *best = getBestTrial(history);
  double floorMs = getRooflineFloor(space.getKernel(), options.profile).ms;
  // How close a measured latency came to the roofline floor.
  auto ofFloor = [&](double ms) {
    return floorMs > 0 && ms > 0
               ? llvm::formatv("; {0:F0}% of the roofline", 100 * floorMs / ms)
                     .str()
               : std::string();
  };
  auto line = [&](size_t i) {
    const Trial &t = history[i];
    // A paired trial says how it compares with the default timed beside
    // it: the number that decides, not the absolute time of a moment.
    std::string obs =
        t.isOK() && t.speedup > 0 && t.pairs > 0
            ? llvm::formatv("latency {0:F4} ms; {1:F2}x the default's speed "
                            "(95% interval {2:F2}-{3:F2}; under 1 is slower; "
                            "an interval holding 1 is a tie)",
                            t.latencyMs, t.speedup, t.speedupLo, t.speedupHi)
                  .str()
        : t.isOK() && t.speedup > 0
            ? llvm::formatv("latency {0:F4} ms; this is the default schedule",
                            t.latencyMs)
                  .str()
        : t.isOK() ? llvm::formatv("latency {0:F4} ms (spread {1:F4} ms)",
                                   t.latencyMs, t.spreadMs)
                         .str()
                   : llvm::formatv(
                         "FAILED ({0}): {1}", Trial::getStatusName(t.status),
                         StringRef(t.message).split('\n').first.take_front(200))
                         .str();
    if (t.isOK())
      obs += ofFloor(t.latencyMs);
    return llvm::formatv("Round {0}: Action: {1}\nObservation: {2}\n", i + 1,
                         configText(space, t.config), obs)
        .str();
  };
  std::vector<std::string> kept, omitted;
  // Three quarters of the budget for whole rounds, the rest (and whatever
  // the rounds leave) for the bare configurations of the omitted ones.
  size_t total = static_cast<size_t>(options.historyTokenBudget) * 4;
  size_t budget = total / 4 * 3;
  size_t used = 0, dropped = 0;
  bool bestKept = false;
  for (size_t i = history.size(); i-- > 0;) {
    std::string l = line(i);
    bool isBest = best == &history[i];
    if (used + l.size() > budget && !isBest) {
      ++dropped;
      // Still named, compactly, so that they are not proposed again.
      omitted.push_back(configText(space, history[i].config));
      continue;
    }
    used += l.size();
    bestKept |= isBest;
    kept.push_back(std::move(l));
  }
  std::reverse(kept.begin(), kept.end());
  llvm::StringMap<std::string> v;
  v["round"] = std::to_string(history.size() + 1);
  v["rounds"] = std::to_string(options.rounds);
  v["rounds_left"] = std::to_string(options.rounds - history.size());
  v["history"] = kept.empty() ? "(none yet: start from the default or your "
                                "best guess)\n"
                              : llvm::join(kept, "");
  if (!omitted.empty()) {
    // Newest first while they fit.
    std::string list;
    size_t listed = 0;
    for (const std::string &c : omitted) {
      if (used + list.size() + c.size() + 2 > total)
        break;
      list += (listed++ ? ", " : "") + c;
    }
    if (listed)
      v["history"] +=
          "Also measured in the omitted rounds (do not propose "
          "again): " +
          list +
          (listed < omitted.size()
               ? llvm::formatv(" and {0} older", omitted.size() - listed).str()
               : std::string()) +
          "\n";
  }
  v["history_note"] =
      dropped ? llvm::formatv("; {0} older rounds omitted for length", dropped)
                    .str()
              : std::string();
  // The best by its round, not its configuration again: a small model
  // copied the JSON of the best into its next action round after round.
  v["best"] =
      !best ? std::string("none yet")
            : llvm::formatv(
                  "round {0}'s configuration, {1:F4} ms{2} (already "
                  "measured: improve on it, do not repeat it)",
                  best - history.data() + 1, best->latencyMs,
                  best->speedup > 0
                      ? llvm::formatv(", {0:F2}x the default", best->speedup)
                            .str()
                      : std::string())
                  .str();
  v["example"] = exampleText(space);
  v["untried"] = untriedText(space, history);
  auto prompt =
      fillTemplate(options.prompts.dynamicPrompt, v, "kernel-dynamic.txt");
  // JSON mode: the server constrains the reply to one JSON object; say
  // which.
  if (prompt && options.llm.jsonMode)
    *prompt += "\nReply with one JSON object only, for example {\"thought\": "
               "\"one short sentence\", \"action\": " +
               exampleText(space) + "}\n";
  return prompt;
}

llvm::Expected<std::optional<Config>>
LLMStrategy::propose(const SearchSpace &space, llvm::ArrayRef<Trial> history) {
  auto sys = buildStaticPrompt(space);
  if (!sys)
    return sys.takeError();
  auto user = buildDynamicPrompt(space, history);
  if (!user)
    return user.takeError();
  std::vector<LLMMessage> messages = {{"system", *sys}, {"user", *user}};
  auto log = [&](llvm::json::Object o) {
    if (options.log) {
      o["kernel"] = space.getKernel().kernel;
      o["round"] = static_cast<int64_t>(history.size());
      options.log(std::move(o));
    }
  };
  log(llvm::json::Object{{"event", "prompt"}, {"system", *sys}, {"user", *user}});

  std::string lastProblem;
  for (int attempt = 0; attempt <= options.maxReasks; ++attempt) {
    ++stats.requests;
    // A re-ask at the same temperature tends to come back byte-identical:
    // each one samples hotter (0.3 more per attempt, at most 1 or the
    // configured temperature, if higher).
    std::optional<double> temperature;
    if (attempt > 0)
      temperature = std::min(std::max(1.0, options.llm.temperature),
                             options.llm.temperature + 0.3 * attempt);
    llvm::Expected<ChatReply> reply = client.chat(messages, temperature);
    if (!reply) {
      ++stats.endpointErrors;
      ++stats.fallbacks;
      std::string msg = redact(llvm::toString(reply.takeError()),
                               options.llm.apiKey);
      log(llvm::json::Object{{"event", "endpoint-error"}, {"message", msg}});
      // A rejected key or an unknown model / URL will not get better.
      if (StringRef(msg).contains("HTTP 401") ||
          StringRef(msg).contains("HTTP 403") ||
          StringRef(msg).contains("HTTP 404"))
        return llvm::make_error<FatalStrategyError>("LLM endpoint: " + msg);
      return llvm::createStringError("LLM endpoint: " + msg);
    }
    stats.seconds += reply->seconds;
    stats.promptTokens += reply->promptTokens;
    stats.completionTokens += reply->completionTokens;
    std::string content = redact(reply->content, options.llm.apiKey);
    ParsedReply parsed = parseAgentReply(content, space);
    if (parsed.config && wasTried(history, *parsed.config)) {
      parsed.problem = ReplyProblem::Repeat;
      parsed.message = "this configuration was already measured: " +
                       configText(space, *parsed.config) +
                       "; propose one not in the observations, changing at "
                       "least one field to a value not tried yet:\n" +
                       untriedText(space, history);
      parsed.config.reset();
    }
    log(llvm::json::Object{{"event", "reply"},
                           {"attempt", attempt},
                           {"content", clipReply(content)},
                           {"thought", clipReply(parsed.thought)},
                           {"seconds", reply->seconds},
                           {"problem", getReplyProblemName(parsed.problem)},
                           {"message", parsed.message}});
    if (parsed.config) {
      ++stats.usable;
      return parsed.config;
    }
    switch (parsed.problem) {
    case ReplyProblem::Malformed:
      ++stats.malformed;
      break;
    case ReplyProblem::OutOfRange:
      ++stats.outOfRange;
      break;
    case ReplyProblem::OffTask:
      ++stats.offTask;
      break;
    case ReplyProblem::Repeat:
      ++stats.repeats;
      break;
    case ReplyProblem::None:
      break;
    }
    lastProblem = std::string(getReplyProblemName(parsed.problem)) + ": " +
                  parsed.message;
    if (attempt == options.maxReasks)
      break;
    llvm::StringMap<std::string> v;
    v["problem"] = parsed.message;
    v["example"] = exampleText(space);
    auto reask = fillTemplate(options.prompts.reask, v, "reask.txt");
    if (!reask)
      return reask.takeError();
    ++stats.reasks;
    messages.push_back({"assistant", clipReply(content)});
    messages.push_back({"user", *reask});
    log(llvm::json::Object{{"event", "reask"}, {"user", *reask}});
  }
  ++stats.fallbacks;
  return llvm::createStringError(
      llvm::formatv("no usable reply after {0} re-asks ({1})",
                    options.maxReasks, lastProblem)
          .str());
}

llvm::Expected<int> mlir::haqa::askLLMForPrecision(
    LLMClient &client, const PromptTemplates &prompts,
    const HardwareProfile &profile, StringRef model, StringRef memoryLimit,
    llvm::ArrayRef<PrecisionOption> options, int maxReasks,
    LLMAgentStats &stats, const std::function<void(llvm::json::Object)> &log) {
  auto name = [](int bits) {
    return bits == 16 ? "FP16" : bits == 8 ? "INT8" : "INT4";
  };
  std::string list;
  std::vector<std::string> allowed;
  for (const PrecisionOption &o : options) {
    list += llvm::formatv("- {0} ({1} bits): {2:F1} MiB\n", name(o.bits),
                          o.bits, o.totalBytes / 1048576.0)
                .str();
    allowed.push_back(std::to_string(o.bits));
  }
  llvm::StringMap<std::string> v;
  v["hardware"] = hardwareText(profile);
  v["model"] = quoted(model);
  v["memory_limit"] = quoted(memoryLimit);
  v["options"] = list;
  auto prompt = fillTemplate(prompts.bits, v, "bits.txt");
  if (!prompt)
    return prompt.takeError();
  std::vector<LLMMessage> messages = {{"user", *prompt}};
  if (log)
    log(llvm::json::Object{{"event", "prompt"}, {"user", *prompt}});
  std::string problem;
  for (int attempt = 0; attempt <= maxReasks; ++attempt) {
    ++stats.requests;
    auto reply = client.chat(messages);
    if (!reply) {
      ++stats.endpointErrors;
      return llvm::createStringError(
          "LLM endpoint: " +
          redact(llvm::toString(reply.takeError()), client.getConfig().apiKey));
    }
    stats.seconds += reply->seconds;
    std::string content = redact(reply->content, client.getConfig().apiKey);
    // {"bits": N} anywhere, else the first of INT4 / INT8 / FP16 after
    // "Action:".
    std::optional<int> bits;
    StringRef action = content;
    if (size_t a = action.rfind("Action:"); a != StringRef::npos)
      action = action.drop_front(a);
    for (auto [a, b] : braceSpans(action)) {
      auto j = llvm::json::parse(repairJSON(action.slice(a, b)));
      if (!j) {
        llvm::consumeError(j.takeError());
        continue;
      }
      if (const llvm::json::Object *o = j->getAsObject())
        if (auto n = o->getInteger("bits"))
          bits = static_cast<int>(*n);
    }
    if (!bits)
      for (auto [word, n] : {std::pair<StringRef, int>{"INT4", 4},
                             {"INT8", 8},
                             {"FP16", 16}})
        if (action.contains(word)) {
          bits = n;
          break;
        }
    ReplyProblem p = ReplyProblem::None;
    if (!bits) {
      p = ReplyProblem::OffTask;
      problem = "the reply names no precision; answer with Action: "
                "{\"bits\": N}";
    } else if (!llvm::is_contained(allowed, std::to_string(*bits))) {
      p = ReplyProblem::OutOfRange;
      problem = llvm::formatv("bits = {0} is not one of the precisions that "
                              "fit: {1}",
                              *bits, llvm::join(allowed, ", "))
                    .str();
    }
    if (log)
      log(llvm::json::Object{
          {"event", "reply"},
          {"attempt", attempt},
          {"content", clipReply(content)},
          {"problem", getReplyProblemName(p)},
          {"message", p == ReplyProblem::None ? "" : problem}});
    if (p == ReplyProblem::None) {
      ++stats.usable;
      return *bits;
    }
    if (p == ReplyProblem::OffTask)
      ++stats.offTask;
    else
      ++stats.outOfRange;
    if (attempt == maxReasks)
      break;
    ++stats.reasks;
    messages.push_back({"assistant", clipReply(content)});
    messages.push_back({"user", "Your reply could not be used: " + problem +
                                    ". Answer again: Thought, then Action: "
                                    "{\"bits\": N} with N one of " +
                                    llvm::join(allowed, ", ") + "."});
  }
  ++stats.fallbacks;
  return llvm::createStringError("no usable precision from the LLM (" +
                                 problem + ")");
}

namespace {
class LLMLocalStrategy final : public Strategy {
public:
  LLMLocalStrategy(std::unique_ptr<LLMStrategy> llm,
                   std::unique_ptr<Strategy> local)
      : llm(std::move(llm)), local(std::move(local)) {}
  llvm::StringRef getName() const override { return name; }
  llvm::Expected<std::optional<Config>>
  propose(const SearchSpace &space, llvm::ArrayRef<Trial> history) override {
    // The default first (local search starts there), then the LLM on odd
    // history lengths and a neighbour of the best on even ones.
    bool askLLM = !history.empty() && history.size() % 2 == 1;
    name = askLLM ? "llm+local:llm" : "llm+local:local";
    return askLLM ? llm->propose(space, history)
                  : local->propose(space, history);
  }
  /// The LLM rebuilds its prompt from the history; local search from the
  /// best trial.
  void resume(const SearchSpace &, llvm::ArrayRef<Trial>) override {}

private:
  std::unique_ptr<LLMStrategy> llm;
  std::unique_ptr<Strategy> local;
  std::string name = "llm+local";
};
} // namespace

std::unique_ptr<Strategy>
mlir::haqa::createLLMLocalStrategy(std::unique_ptr<LLMStrategy> llm,
                                   uint64_t seed) {
  auto local = createStrategy("local", seed);
  assert(local && "local search always exists");
  return std::make_unique<LLMLocalStrategy>(std::move(llm), std::move(*local));
}
