//===- LLMClient.cpp - OpenAI-compatible chat completions -----------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/LLMClient.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <curl/curl.h>
#include <mutex>
#include <thread>

using namespace mlir::haqa;
using llvm::StringRef;

static std::string env(const char *name) {
  const char *v = std::getenv(name);
  return v ? v : "";
}

bool mlir::haqa::isLLMConfigured(StringRef baseURL) {
  return !baseURL.empty() || !env("HAQA_LLM_BASE_URL").empty();
}

llvm::Expected<LLMConfig> mlir::haqa::resolveLLMConfig(StringRef baseURL,
                                                       StringRef model,
                                                       StringRef apiKey) {
  LLMConfig c;
  c.baseURL = !baseURL.empty() ? baseURL.str() : env("HAQA_LLM_BASE_URL");
  c.model = !model.empty() ? model.str() : env("HAQA_LLM_MODEL");
  c.apiKey = !apiKey.empty() ? apiKey.str() : env("HAQA_LLM_API_KEY");
  if (c.apiKey.empty())
    c.apiKey = env("OPENAI_API_KEY");
  if (c.baseURL.empty())
    return llvm::createStringError(
        "no LLM endpoint: pass --llm-base-url or set "
        "HAQA_LLM_BASE_URL (e.g. https://api.openai.com/v1, "
        "http://127.0.0.1:8080/v1 for llama.cpp's server)");
  if (c.model.empty())
    return llvm::createStringError(
        "no LLM model: pass --llm-model or set HAQA_LLM_MODEL");
  while (!c.baseURL.empty() && c.baseURL.back() == '/')
    c.baseURL.pop_back();
  return c;
}

std::string mlir::haqa::redact(StringRef text, StringRef secret) {
  std::string out = text.str();
  if (secret.size() >= 4)
    for (size_t pos = 0; (pos = out.find(secret.str(), pos)) != std::string::npos;
         pos += 10) // past the "[redacted]" just written
      out.replace(pos, secret.size(), "[redacted]");
  // Credentials inside a URL: scheme://user:password@host/...
  for (size_t pos = 0; (pos = out.find("://", pos)) != std::string::npos;) {
    pos += 3;
    size_t end = out.find_first_of("/ \"'\n\r,}", pos);
    size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at >= pos &&
        out.compare(pos, 10, "[redacted]") != 0) {
      out.replace(pos, at - pos, "[redacted]");
      pos += 10;
    }
  }
  // A bearer token that is not the configured key (echoed by a proxy).
  for (size_t pos = 0; (pos = out.find("Bearer ", pos)) != std::string::npos;
       pos += 7) {
    size_t end = out.find_first_of(" \"'\n\r,}", pos + 7);
    out.replace(pos + 7, (end == std::string::npos ? out.size() : end) - pos - 7,
                "[redacted]");
  }
  return out;
}

LLMClient::LLMClient(LLMConfig config) : config(std::move(config)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

namespace {
/// Where a reply body goes, up to a bound.
struct ReplySink {
  std::string body;
  size_t limit = 0;
  bool overflow = false;
};

/// The health of one endpoint, shared by every client of the process (the
/// tuner makes one per kernel): the circuit breaker's state.
struct EndpointHealth {
  int failuresInARow = 0;
  std::chrono::steady_clock::time_point openUntil;
  std::string lastError;
};

std::mutex healthMutex;
llvm::StringMap<EndpointHealth> &endpoints() {
  static llvm::StringMap<EndpointHealth> map;
  return map;
}
} // namespace

static size_t collect(char *data, size_t size, size_t n, void *out) {
  auto *sink = static_cast<ReplySink *>(out);
  if (sink->body.size() + size * n > sink->limit) {
    sink->overflow = true;
    return 0; // curl stops with CURLE_WRITE_ERROR
  }
  sink->body.append(data, size * n);
  return size * n;
}

/// Retry-After in seconds (the HTTP-date form is not read), into `out`.
static size_t header(char *data, size_t size, size_t n, void *out) {
  StringRef line(data, size * n);
  if (line.trim().lower().rfind("retry-after:", 0) == 0) {
    double seconds;
    if (!line.trim().drop_front(12).trim().getAsDouble(seconds) &&
        std::isfinite(seconds) && seconds >= 0)
      *static_cast<double *>(out) = seconds;
  }
  return size * n;
}

/// The server's own error message, if its body is an OpenAI-style error.
static std::string serverMessage(StringRef body) {
  auto v = llvm::json::parse(body);
  if (!v) {
    llvm::consumeError(v.takeError());
    return body.take_front(300).str();
  }
  if (const llvm::json::Object *o = v->getAsObject()) {
    if (const llvm::json::Object *e = o->getObject("error"))
      if (auto m = e->getString("message"))
        return m->str();
    if (auto m = o->getString("error"))
      return m->str();
    if (auto m = o->getString("message"))
      return m->str();
  }
  return body.take_front(300).str();
}

llvm::Expected<ChatReply> LLMClient::chat(llvm::ArrayRef<LLMMessage> messages,
                                          std::optional<double> temperature) {
  using Clock = std::chrono::steady_clock;
  std::string url = config.baseURL + "/chat/completions";
  llvm::json::Array msgs;
  for (const LLMMessage &m : messages)
    msgs.push_back(llvm::json::Object{{"role", m.role}, {"content", m.content}});
  llvm::json::Object req{
      {"model", config.model},
      {"messages", std::move(msgs)},
      {"temperature", temperature.value_or(config.temperature)},
      {"max_tokens", config.maxTokens},
      {"stream", false}};
  if (config.jsonMode)
    req["response_format"] = llvm::json::Object{{"type", "json_object"}};
  std::string body = llvm::formatv("{0}", llvm::json::Value(std::move(req)));

  ChatReply reply;
  auto t0 = Clock::now();
  {
    std::lock_guard<std::mutex> lock(healthMutex);
    EndpointHealth &h = endpoints()[config.baseURL];
    if (h.failuresInARow >= config.breakerFailures && t0 < h.openUntil)
      return llvm::createStringError(redact(
          llvm::formatv(
              "{0}: not asked (it failed {1} calls in a row, the last with "
              "\"{2}\"; asked again in {3:F0} s)",
              url, h.failuresInARow, h.lastError,
              std::chrono::duration<double>(h.openUntil - t0).count())
              .str(),
          config.apiKey));
  }
  // Every call that gave up counts towards opening the breaker; a success
  // closes it.
  auto gaveUp = [&](std::string message) -> llvm::Error {
    message = redact(message, config.apiKey);
    std::lock_guard<std::mutex> lock(healthMutex);
    EndpointHealth &h = endpoints()[config.baseURL];
    ++h.failuresInARow;
    h.lastError = message;
    if (h.failuresInARow >= config.breakerFailures)
      h.openUntil = Clock::now() +
                    std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(config.breakerSeconds));
    return llvm::createStringError(message);
  };
  double backoff = config.backoffSeconds;
  double retryAfter = -1;
  std::string lastError;
  for (int attempt = 0; attempt <= config.maxRetries; ++attempt) {
    if (attempt > 0) {
      // The server's Retry-After when it gave one (bounded), else the
      // doubling backoff.
      double wait = retryAfter >= 0
                        ? std::min(retryAfter, config.maxRetryAfterSeconds)
                        : backoff;
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      backoff *= 2;
    }
    retryAfter = -1;
    reply.attempts = attempt + 1;
    CURL *curl = curl_easy_init();
    if (!curl)
      return llvm::createStringError("LLM client: curl_easy_init failed");
    ReplySink sink;
    sink.limit = config.maxReplyBytes;
    char curlError[CURL_ERROR_SIZE] = {0};
    struct curl_slist *headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    std::string auth;
    if (!config.apiKey.empty()) {
      auth = "Authorization: Bearer " + config.apiKey;
      headers = curl_slist_append(headers, auth.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &retryAfter);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curlError);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(config.timeoutSeconds * 1000));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    // The Authorization header string held the key: wipe it.
    std::fill(auth.begin(), auth.end(), '\0');

    std::string &response = sink.body;
    if (sink.overflow)
      return gaveUp(llvm::formatv("{0}: the reply is larger than {1} bytes; "
                                  "refused",
                                  url, config.maxReplyBytes)
                        .str());
    if (rc != CURLE_OK) {
      lastError = llvm::formatv("cannot reach {0}: {1}", url,
                                curlError[0] ? curlError
                                             : curl_easy_strerror(rc))
                      .str();
      continue; // connection refused, DNS, time-out: retry
    }
    if (status != 429 && status != 503)
      retryAfter = -1; // only those two ask to be retried later
    if (status == 429 || status >= 500) {
      lastError = llvm::formatv("{0} answered HTTP {1}: {2}", url, status,
                                serverMessage(response))
                      .str();
      continue;
    }
    if (status == 401 || status == 403)
      return llvm::createStringError(redact(
          llvm::formatv("{0} answered HTTP {1} (unauthorized): {2}; check "
                        "HAQA_LLM_API_KEY / OPENAI_API_KEY",
                        url, status, serverMessage(response))
              .str(),
          config.apiKey));
    if (status == 404)
      return llvm::createStringError(redact(
          llvm::formatv("{0} answered HTTP 404: {1}; check the base URL "
                        "(it should end in /v1) and the model name '{2}'",
                        url, serverMessage(response), config.model)
              .str(),
          config.apiKey));
    if (status != 200)
      return llvm::createStringError(
          redact(llvm::formatv("{0} answered HTTP {1}: {2}", url, status,
                               serverMessage(response))
                     .str(),
                 config.apiKey));

    auto v = llvm::json::parse(response);
    if (!v) {
      llvm::consumeError(v.takeError());
      return llvm::createStringError(
          redact(llvm::formatv("{0}: the reply is not JSON: {1}", url,
                               StringRef(response).take_front(200))
                     .str(),
                 config.apiKey));
    }
    const llvm::json::Object *o = v->getAsObject();
    const llvm::json::Array *choices = o ? o->getArray("choices") : nullptr;
    const llvm::json::Object *msg = nullptr;
    if (choices && !choices->empty())
      if (const llvm::json::Object *c0 = (*choices)[0].getAsObject())
        msg = c0->getObject("message");
    std::optional<StringRef> content =
        msg ? msg->getString("content") : std::nullopt;
    if (!content)
      return llvm::createStringError(
          redact(llvm::formatv("{0}: not a chat completion (no "
                               "choices[0].message.content): {1}",
                               url, StringRef(response).take_front(200))
                     .str(),
                 config.apiKey));
    reply.content = content->str();
    if (const llvm::json::Object *u = o->getObject("usage")) {
      reply.promptTokens = u->getInteger("prompt_tokens").value_or(0);
      reply.completionTokens = u->getInteger("completion_tokens").value_or(0);
    }
    reply.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    {
      std::lock_guard<std::mutex> lock(healthMutex);
      endpoints()[config.baseURL].failuresInARow = 0;
    }
    return reply;
  }
  return gaveUp(llvm::formatv("{0} (gave up after {1} attempts)", lastError,
                              config.maxRetries + 1)
                    .str());
}
