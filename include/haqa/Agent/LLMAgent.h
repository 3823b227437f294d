//===- LLMAgent.h - the LLM search strategy with ReAct prompts --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The paper's agent: a static prompt (hardware profile, kernel, objective,
// memory limit, search space with ranges and defaults, output format) and a
// dynamic prompt per round (rounds left, the measured history within a token
// budget, the current best) in ReAct style (Thought / Action / Observation),
// from template files a user can edit. Replies are parsed robustly (JSON
// from prose or code fences), validated against the space; a malformed,
// out-of-range, repeated or off-task reply gets a bounded re-ask that says
// what was wrong, then the strategy fails over to the tuner's fallback. Every
// such event is counted and logged.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_AGENT_LLMAGENT_H
#define HAQA_AGENT_LLMAGENT_H

#include "haqa/Agent/LLMClient.h"
#include "haqa/Agent/Strategy.h"

#include "llvm/ADT/StringMap.h"

#include <functional>

namespace mlir::haqa {

/// What was wrong with a reply (the paper's failure modes, and repeats).
enum class ReplyProblem { None, Malformed, OutOfRange, OffTask, Repeat };
llvm::StringRef getReplyProblemName(ReplyProblem p);

struct ParsedReply {
  std::optional<Config> config;
  ReplyProblem problem = ReplyProblem::None;
  std::string message; ///< what was wrong, for the re-ask
  std::string thought; ///< the reply's Thought, if any
};

/// Finds the configuration in an LLM reply: JSON in code fences or inline
/// (after "Action:" preferred), wrapped or not ({"schedule": {...}}), with
/// light repairs (single quotes, trailing commas); validated by `space`.
ParsedReply parseAgentReply(llvm::StringRef reply, const SearchSpace &space);

/// Prompt templates: `<dir>/kernel-static.txt`, `kernel-dynamic.txt`,
/// `reask.txt` and `bits.txt` with {{placeholders}}.
struct PromptTemplates {
  std::string staticPrompt, dynamicPrompt, reask, bits;
  static llvm::Expected<PromptTemplates> load(llvm::StringRef dir);
};
/// $HAQA_PROMPT_DIR, else the source tree's prompts/.
std::string getDefaultPromptDir();
/// Replaces {{name}} by `values[name]`; an unknown name is an error naming
/// `origin`.
llvm::Expected<std::string> fillTemplate(llvm::StringRef text,
                                         const llvm::StringMap<std::string> &values,
                                         llvm::StringRef origin);

struct LLMAgentStats {
  int requests = 0;       ///< chat completions sent (re-asks included)
  int usable = 0;         ///< replies that gave a legal, new configuration
  int malformed = 0, outOfRange = 0, offTask = 0, repeats = 0;
  int reasks = 0;         ///< re-asks sent
  int fallbacks = 0;      ///< rounds given up to the tuner's fallback
  int endpointErrors = 0; ///< requests that failed at the HTTP level
  int promptTokens = 0, completionTokens = 0;
  double seconds = 0;     ///< time spent waiting for the LLM
  llvm::json::Object toJSON() const;
};

struct LLMAgentOptions {
  LLMConfig llm;
  PromptTemplates prompts;
  HardwareProfile profile;
  std::string memoryLimit = "none";
  int rounds = 10;
  int maxReasks = 2;
  /// Estimated tokens (4 characters each) the history may take in the
  /// dynamic prompt; the oldest observations go first, the best always stays.
  int historyTokenBudget = 2000;
  /// Receives one JSON object per prompt, reply and failure event (keys
  /// already redacted).
  std::function<void(llvm::json::Object)> log;
};

/// One precision the LLM may choose, with the memory planned for it.
struct PrecisionOption {
  int bits;            ///< 16, 8 or 4
  uint64_t totalBytes; ///< weights + KV cache + activations + runtime
};

/// Asks the LLM which precision to deploy (the prior that measurement then
/// checks): the bits.txt prompt, a reply with {"bits": N} among `options`,
/// bounded re-asks. `stats` and `log` as for LLMStrategy.
llvm::Expected<int> askLLMForPrecision(LLMClient &client,
                                       const PromptTemplates &prompts,
                                       const HardwareProfile &profile,
                                       llvm::StringRef model,
                                       llvm::StringRef memoryLimit,
                                       llvm::ArrayRef<PrecisionOption> options,
                                       int maxReasks, LLMAgentStats &stats,
                                       const std::function<void(llvm::json::Object)> &log);

class LLMStrategy final : public Strategy {
public:
  LLMStrategy(LLMAgentOptions options);
  llvm::StringRef getName() const override { return "llm"; }
  llvm::Expected<std::optional<Config>>
  propose(const SearchSpace &space, llvm::ArrayRef<Trial> history) override;
  /// Nothing to replay: each round's prompt is rebuilt from the history.
  void resume(const SearchSpace &, llvm::ArrayRef<Trial>) override {}
  const LLMAgentStats &getStats() const { return stats; }
  /// The prompts of a round (exposed for tests and --dry-run).
  llvm::Expected<std::string> buildStaticPrompt(const SearchSpace &space) const;
  llvm::Expected<std::string>
  buildDynamicPrompt(const SearchSpace &space,
                     llvm::ArrayRef<Trial> history) const;

private:
  LLMAgentOptions options;
  LLMClient client;
  LLMAgentStats stats;
};

/// Whether strategy `name` asks an LLM: "llm" and the hybrid "llm+local".
inline bool usesLLM(llvm::StringRef name) {
  return name == "llm" || name == "llm+local";
}

/// The hybrid "llm+local": the LLM proposes and local search refines around
/// the best so far, in alternate rounds (the default first, then the LLM,
/// then a neighbour of the best, ...). getName() says which part proposed
/// the last configuration ("llm+local:llm" or "llm+local:local"), which is
/// what trials record as their proposer.
std::unique_ptr<Strategy>
createLLMLocalStrategy(std::unique_ptr<LLMStrategy> llm, uint64_t seed);

} // namespace mlir::haqa

#endif // HAQA_AGENT_LLMAGENT_H
