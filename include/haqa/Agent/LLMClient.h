//===- LLMClient.h - OpenAI-compatible chat completions ---------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A client for `POST {base}/chat/completions` over libcurl that works
// unchanged against OpenAI, vLLM, llama.cpp's server and Ollama: base URL,
// model and key from flags or the environment, time-outs, retries with
// exponential backoff on 429 / 5xx / connection failures, clear errors on
// 401 / 404. The key is never part of an error message or a log line.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_AGENT_LLMCLIENT_H
#define HAQA_AGENT_LLMCLIENT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace mlir::haqa {

struct LLMConfig {
  std::string baseURL; ///< e.g. https://api.openai.com/v1
  std::string model;
  std::string apiKey; ///< may be empty (local servers)
  double timeoutSeconds = 120;
  int maxRetries = 4;          ///< after the first attempt
  double backoffSeconds = 1.0; ///< doubled after each retry
  double temperature = 0.2;
  int maxTokens = 768;
  /// Ask for `response_format: {"type": "json_object"}` (servers that
  /// constrain their output to JSON, haqa-serve and llama.cpp's among them).
  bool jsonMode = false;
  /// A reply body larger than this is refused as it arrives (a server
  /// streaming without end must not fill memory), not retried.
  size_t maxReplyBytes = 8u << 20;
  /// A 429 / 503 reply's Retry-After (seconds) is waited out, up to this.
  double maxRetryAfterSeconds = 120;
  /// Circuit breaker: after this many calls in a row that gave up (every
  /// attempt failed), the endpoint is not asked again for breakerSeconds;
  /// calls fail at once, and the tuner falls back to its own proposals.
  int breakerFailures = 2;
  double breakerSeconds = 300;
};

/// Flags first, then $HAQA_LLM_BASE_URL, $HAQA_LLM_MODEL, $HAQA_LLM_API_KEY
/// (falling back to $OPENAI_API_KEY). The error names what is missing.
llvm::Expected<LLMConfig> resolveLLMConfig(llvm::StringRef baseURL,
                                           llvm::StringRef model,
                                           llvm::StringRef apiKey);

/// True when a base URL is configured (flag or environment): the LLM agent
/// can run.
bool isLLMConfigured(llvm::StringRef baseURL);

struct LLMMessage {
  std::string role; ///< system, user, assistant
  std::string content;
};

struct ChatReply {
  std::string content;
  int promptTokens = 0, completionTokens = 0; ///< as the server reports them
  double seconds = 0;                         ///< all attempts together
  int attempts = 0;
};

class LLMClient {
public:
  explicit LLMClient(LLMConfig config);
  /// One chat completion. Errors say what happened and at which URL (never
  /// the key): unreachable, time-out, HTTP status with the server's message,
  /// a reply that is not a chat completion.
  /// `temperature`: this request's, instead of the configured one.
  llvm::Expected<ChatReply>
  chat(llvm::ArrayRef<LLMMessage> messages,
       std::optional<double> temperature = std::nullopt);
  const LLMConfig &getConfig() const { return config; }

private:
  LLMConfig config;
};

/// `text` with every occurrence of `secret` (and of a bearer token) replaced
/// by "[redacted]": for anything that is logged.
/// `text` with `secret` (4 characters or more), any bearer token and the
/// user information of any URL (`scheme://user:password@host`) replaced by
/// "[redacted]".
std::string redact(llvm::StringRef text, llvm::StringRef secret);

} // namespace mlir::haqa

#endif // HAQA_AGENT_LLMCLIENT_H
