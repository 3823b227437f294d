//===- haqa-serve.cpp - an OpenAI-compatible server over a compiled model -===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa-serve out/model --port 8080 compiles an imported (or haqa-compile'd)
// model once and answers, on HTTP (cpp-httplib, from Debian):
//   GET  /health                 {"status": "ok"}
//   GET  /v1/models              the one model
//   POST /v1/chat/completions    messages through the model's chat template
//   POST /v1/completions         a prompt string
// with max_tokens, temperature / top_p / top_k / min_p / repeat_penalty /
// seed (Support/Sampling), stop (a string or up to 4), stream (server-sent
// events, ending "data: [DONE]"), response_format json_object (every token
// keeps the output a prefix of one JSON object: Support/JSONPrefix) and
// usage counts. One model, one request
// at a time: concurrent requests queue on a mutex. Limits: request bodies
// (refused before they are read), tokens per request, the context; an API
// key when --api-key is set. Every error is an OpenAI-style JSON body with
// a 4xx / 5xx status.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/CompiledModel.h"
#include "haqa/Support/JSONPrefix.h"
#include "haqa/Support/Sampling.h"
#include "haqa/Tokenizer/Tokenizer.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <random>

using namespace llvm;
using namespace mlir::haqa;

static cl::OptionCategory category("haqa-serve options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<imported model directory>"),
                                      cl::cat(category));
static cl::opt<std::string> host("host", cl::init("127.0.0.1"),
                                 cl::desc("address to listen on"),
                                 cl::cat(category));
static cl::opt<int> port("port", cl::init(8080),
                         cl::desc("port (0: any free one, printed)"),
                         cl::cat(category));
static cl::opt<std::string>
    apiKey("api-key", cl::init(""),
           cl::desc("require 'Authorization: Bearer KEY' on /v1 (else "
                    "$HAQA_SERVE_API_KEY; empty: no key)"),
           cl::cat(category));
static cl::opt<std::string> modelName(
    "model-name", cl::init(""),
    cl::desc("the model's id in /v1/models (default: the directory's name)"),
    cl::cat(category));
static cl::opt<int64_t> maxBody("max-body", cl::init(1 << 20),
                                cl::desc("largest request body in bytes"),
                                cl::cat(category));
static cl::opt<int64_t>
    maxTokensLimit("max-tokens-limit", cl::init(4096),
                   cl::desc("most tokens one request may generate"),
                   cl::cat(category));
static cl::opt<std::string> target("target", cl::init("cpu"),
                                   cl::desc("cpu, cuda or gpu-on-cpu"),
                                   cl::cat(category));
static cl::opt<int64_t> threads("host-threads", cl::init(0),
                                cl::desc("host threads (0: all cores)"),
                                cl::cat(category));
static cl::opt<std::string>
    portFile("port-file", cl::init(""),
             cl::desc("write the port listened on to this file once ready "
                      "(for scripts and tests)"),
             cl::cat(category));

namespace {

/// An OpenAI-style error body.
std::string errorBody(StringRef message, StringRef type) {
  json::Object e{{"message", message}, {"type", type}};
  return formatv("{0}", json::Value(json::Object{{"error", std::move(e)}}))
      .str();
}

void sendError(httplib::Response &res, int status, StringRef message) {
  StringRef type = status == 401   ? "authentication_error"
                   : status == 404 ? "not_found_error"
                   : status < 500  ? "invalid_request_error"
                                   : "server_error";
  res.status = status;
  res.set_content(errorBody(message, type), "application/json");
}

/// `v` as %g writes it ("0", "1e-09", "100").
std::string shortNumber(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", v);
  return text;
}

/// The longest prefix of `s` that ends on a whole UTF-8 character.
size_t utf8Prefix(StringRef s) {
  size_t n = s.size();
  // Back over at most 3 continuation bytes to a lead byte.
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    unsigned char c = s[n - back];
    if ((c & 0xC0) == 0x80)
      continue;
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    return len <= back ? n : n - back;
  }
  return n;
}

/// What a request asks for, parsed and checked.
struct Request {
  std::vector<int64_t> prompt;
  int64_t maxTokens = 16;
  SamplingOptions sampling;
  std::vector<std::string> stops;
  bool stream = false;
  bool chat = true;
  /// response_format json_object: the output is one JSON object.
  bool json = false;
};

class Server {
public:
  Server(std::unique_ptr<CompiledModel> model, Tokenizer tok, std::string id)
      : model(std::move(model)), tok(std::move(tok)), id(std::move(id)) {}

  /// Parses `body` for the chat (or completions) endpoint; the error says
  /// what is wrong with the request.
  Expected<Request> parse(StringRef body, bool chat) const;
  /// Runs `r`: `emit` gets text as it becomes final (UTF-8 whole, stop
  /// sequences held back) and returns false when the client is gone.
  /// Returns the finish reason and the token counts.
  struct Outcome {
    std::string text, finishReason;
    int64_t completionTokens = 0;
    /// Prompt tokens whose KV rows were reused from the previous request.
    int64_t cachedPromptTokens = 0;
  };
  Expected<Outcome> run(const Request &r,
                        function_ref<bool(StringRef)> emit = nullptr);
  const std::string &getId() const { return id; }
  int64_t contextLength() const { return model->contextLength(); }

private:
  std::unique_ptr<CompiledModel> model;
  Tokenizer tok;
  std::string id;
  std::mutex busy;
  uint64_t requestCount = 0;
  /// Each token's text alone (empty for control tokens): what JSON mode
  /// checks, made at the first JSON request.
  std::vector<std::string> pieces;
  /// The tokens whose KV rows the model's cache holds, from position 0.
  std::vector<int64_t> cached;
  /// Per JSON prefix state (JSONPrefix::getStateKey), which tokens' texts
  /// continue it (1) and which do not (0): kept across requests, dropped
  /// whole past kMaxJSONMasks states.
  std::map<std::string, std::vector<uint8_t>> jsonMasks;
  static constexpr size_t kMaxJSONMasks = 512;
  const std::vector<uint8_t> &jsonMask(const JSONPrefix &state);
};

const std::vector<uint8_t> &Server::jsonMask(const JSONPrefix &state) {
  std::string key = state.getStateKey();
  auto it = jsonMasks.find(key);
  if (it != jsonMasks.end())
    return it->second;
  if (jsonMasks.size() >= kMaxJSONMasks)
    jsonMasks.clear();
  std::vector<uint8_t> m(pieces.size(), 0);
  if (!state.isComplete())
    for (size_t t = 0; t < pieces.size(); ++t) {
      if (pieces[t].empty())
        continue;
      JSONPrefix next = state;
      m[t] = next.feed(pieces[t]);
    }
  return jsonMasks.emplace(std::move(key), std::move(m)).first->second;
}

Expected<Request> Server::parse(StringRef body, bool chat) const {
  auto bad = [](const Twine &msg) { return createStringError(msg); };
  auto parsed = json::parse(body);
  if (!parsed)
    return bad("the body is not JSON: " + toString(parsed.takeError()));
  const json::Object *o = parsed->getAsObject();
  if (!o)
    return bad("the body must be a JSON object");
  Request r;
  r.chat = chat;
  std::string text;
  if (chat) {
    const json::Array *msgs = o->getArray("messages");
    if (!msgs || msgs->empty())
      return bad("'messages' must be a non-empty array");
    std::vector<ChatMessage> messages;
    for (const json::Value &m : *msgs) {
      const json::Object *mo = m.getAsObject();
      std::optional<StringRef> role = mo ? mo->getString("role") : std::nullopt;
      std::optional<StringRef> content =
          mo ? mo->getString("content") : std::nullopt;
      if (!role || !content)
        return bad("every message needs a string 'role' and a string "
                   "'content'");
      if (*role != "system" && *role != "user" && *role != "assistant")
        return bad("unknown role '" + *role + "' (system, user or assistant)");
      messages.push_back({role->str(), content->str()});
    }
    auto rendered = tok.applyChatTemplate(messages, true);
    if (!rendered)
      return bad("the model's chat template: " +
                 toString(rendered.takeError()));
    text = *rendered;
  } else {
    std::optional<StringRef> prompt = o->getString("prompt");
    if (!prompt)
      return bad("'prompt' must be a string");
    text = prompt->str();
  }
  for (int32_t t : tok.encode(text, /*addSpecial=*/true,
                              /*parseSpecial=*/chat))
    r.prompt.push_back(t);
  if (r.prompt.empty())
    return bad("the prompt is empty");

  auto number = [&](StringRef key, double &out, double lo, double hi) -> Error {
    const json::Value *v = o->get(key);
    if (!v || v->kind() == json::Value::Null)
      return Error::success();
    std::optional<double> d = v->getAsNumber();
    if (!d || !(*d >= lo && *d <= hi))
      return bad("'" + key + "' must be a number in [" + shortNumber(lo) +
                 ", " + shortNumber(hi) + "]");
    out = *d;
    return Error::success();
  };
  auto integer = [&](StringRef key, int64_t &out, int64_t lo,
                     int64_t hi) -> Error {
    const json::Value *v = o->get(key);
    if (!v || v->kind() == json::Value::Null)
      return Error::success();
    std::optional<int64_t> i = v->getAsInteger();
    if (!i || *i < lo || *i > hi)
      return bad("'" + key + "' must be an integer in [" + Twine(lo) + ", " +
                 Twine(hi) + "]");
    out = *i;
    return Error::success();
  };
  int64_t maxTokens = r.maxTokens;
  if (Error e = integer("max_tokens", maxTokens, 1, maxTokensLimit))
    return std::move(e);
  if (Error e = integer("max_completion_tokens", maxTokens, 1, maxTokensLimit))
    return std::move(e);
  r.maxTokens = maxTokens;
  // OpenAI's default temperature is 1; greedy here unless asked, as
  // llama.cpp's server and the tests expect.
  double temperature = 0, topP = 1, minP = 0, penalty = 1;
  int64_t topK = 0, seed = 0;
  if (Error e = number("temperature", temperature, 0, 100))
    return std::move(e);
  if (Error e = number("top_p", topP, 1e-9, 1))
    return std::move(e);
  if (Error e = number("min_p", minP, 0, 0.999999))
    return std::move(e);
  if (Error e = number("repeat_penalty", penalty, 1e-9, 100))
    return std::move(e);
  if (Error e = integer("top_k", topK, 0, INT32_MAX))
    return std::move(e);
  if (Error e = integer("seed", seed, INT64_MIN, INT64_MAX))
    return std::move(e);
  r.sampling.temperature = temperature;
  r.sampling.topP = topP;
  r.sampling.minP = minP;
  r.sampling.repetitionPenalty = penalty;
  r.sampling.topK = topK;
  r.sampling.seed = static_cast<uint64_t>(seed);
  // No seed: a fresh one per request, as OpenAI's API and llama.cpp's
  // server do (a fixed default made every unseeded request at a
  // temperature draw the same tokens, re-asks included).
  if (const json::Value *sv = o->get("seed");
      !sv || sv->kind() == json::Value::Null) {
    std::random_device rd;
    r.sampling.seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  if (Error e = checkSamplingOptions(r.sampling))
    return std::move(e);
  if (const json::Value *s = o->get("stop");
      s && s->kind() != json::Value::Null) {
    if (std::optional<StringRef> one = s->getAsString()) {
      r.stops.push_back(one->str());
    } else if (const json::Array *many = s->getAsArray();
               many && many->size() <= 4) {
      for (const json::Value &x : *many) {
        std::optional<StringRef> str = x.getAsString();
        if (!str)
          return bad("'stop' must be a string or an array of up to 4");
        r.stops.push_back(str->str());
      }
    } else {
      return bad("'stop' must be a string or an array of up to 4");
    }
  }
  r.stream = o->getBoolean("stream").value_or(false);
  if (const json::Object *rf = o->getObject("response_format")) {
    StringRef type = rf->getString("type").value_or("");
    if (type == "json_object")
      r.json = true;
    else if (type != "text")
      return bad("response_format '" + type +
                 "': unimplemented (json_object and text are); a schema "
                 "is not enforced yet");
  }
  if (std::optional<int64_t> n = o->getInteger("n"); n && *n != 1)
    return bad("'n' must be 1");
  if (Error e = checkPromptFits(0, r.prompt.size(), model->contextLength()))
    return bad("the prompt of " + Twine(r.prompt.size()) +
               " tokens does not fit the model's context of " +
               Twine(model->contextLength()) + " tokens");
  return r;
}

Expected<Server::Outcome> Server::run(const Request &r,
                                      function_ref<bool(StringRef)> emit) {
  std::lock_guard<std::mutex> lock(busy);
  ++requestCount;
  // The longest prefix this prompt shares with what the KV cache holds is
  // not computed again (an agent's requests share their whole system
  // prompt); at least the last prompt token is, for its logits.
  size_t reuse = 0;
  while (reuse < cached.size() && reuse + 1 < r.prompt.size() &&
         cached[reuse] == r.prompt[reuse])
    ++reuse;
  if (reuse > 0)
    model->rewind(reuse);
  else
    model->reset();
  cached.clear();
  int64_t room = getMaxNewTokens(0, r.prompt.size(), model->contextLength());
  int64_t n = std::min(r.maxTokens, room);
  Outcome out;
  std::vector<int32_t> generated;
  size_t sent = 0, maxStop = 0;
  for (const std::string &s : r.stops)
    maxStop = std::max(maxStop, s.size());
  bool ended = false, gone = false, stopped = false;
  std::string text;
  // JSON mode: the object generated so far.
  std::optional<JSONPrefix> object;
  // Its token mask (jsonMask), followed as the object grows.
  const std::vector<uint8_t> *mask = nullptr;
  if (r.json)
    object.emplace();
  auto stopFn = [&](int64_t t) {
    if (tok.isEndOfGeneration(static_cast<int32_t>(t))) {
      ended = true;
      return true;
    }
    generated.push_back(static_cast<int32_t>(t));
    if (object && static_cast<size_t>(t) < pieces.size()) {
      object->feed(pieces[t]);
      mask = &jsonMask(*object);
    }
    text = tok.decode(generated);
    size_t cut = findStop(text, r.stops);
    size_t final = text.size();
    if (cut != std::string::npos) {
      final = cut;
      stopped = true;
    } else if (maxStop > 1) {
      // A stop sequence may be starting: hold its length back.
      final = text.size() > maxStop - 1 ? text.size() - (maxStop - 1) : 0;
    }
    final = std::max(sent, utf8Prefix(StringRef(text).take_front(final)));
    if (emit && final > sent && !emit(StringRef(text).slice(sent, final))) {
      gone = true;
      return true;
    }
    sent = std::max(sent, final);
    // A complete JSON object ends the output.
    if (object && object->isComplete())
      ended = true;
    return stopped || ended;
  };
  std::optional<Sampler> sampler;
  if (!r.sampling.isGreedy() || r.sampling.repetitionPenalty != 1 || r.json)
    sampler.emplace(r.sampling);
  // JSON mode: a token is drawn only when its text keeps the output a
  // prefix of one JSON object; the end token only once it is complete.
  // Which tokens keep it one depends only on the prefix's state, and a
  // response passes through few states (inside a string, most of it), so
  // each state's mask over the vocabulary is computed once and kept:
  // checking every token's text at every step cost more than the decode.
  if (r.json) {
    if (pieces.empty())
      for (size_t t = 0; t < tok.size(); ++t)
        pieces.push_back(tok.decode({static_cast<int32_t>(t)}));
    mask = &jsonMask(*object);
    sampler->setAllowed([&](int64_t t) {
      if (tok.isEndOfGeneration(static_cast<int32_t>(t)))
        return object->isComplete();
      return t >= 0 && static_cast<size_t>(t) < mask->size() && (*mask)[t];
    });
  }
  auto tokens = model->generate(r.prompt, n, stopFn,
                                sampler ? &*sampler : nullptr, reuse);
  if (!tokens)
    return tokens.takeError();
  // What the cache holds now: the prompt and the tokens decoded after it.
  cached.assign(r.prompt.begin(), r.prompt.end());
  cached.insert(cached.end(), tokens->begin(), tokens->end());
  cached.resize(std::min<size_t>(cached.size(), model->position()));
  out.completionTokens = tokens->size();
  out.cachedPromptTokens = reuse;
  if (stopped) {
    text.resize(findStop(text, r.stops));
  }
  // What was held back is final now.
  if (emit && !gone && !stopped && text.size() > sent)
    emit(StringRef(text).drop_front(sent));
  out.text = text;
  out.finishReason = ended || stopped ? "stop" : "length";
  return out;
}

std::string completionId(StringRef prefix) {
  static std::atomic<uint64_t> counter{0};
  return formatv("{0}-{1}-{2}", prefix, std::time(nullptr), ++counter).str();
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "haqa-serve: an OpenAI-compatible HTTP server "
                              "over a compiled model\n");
  auto fail = [](const Twine &msg) {
    WithColor::error(errs(), "haqa-serve") << msg << "\n";
    return 1;
  };
  if (port < 0 || port > 65535)
    return fail("--port must be in [0, 65535], not " + Twine(port));
  if (maxBody < 16 || maxBody > (int64_t(1) << 30))
    return fail("--max-body must be in [16, 2^30] bytes, not " +
                Twine(maxBody));
  if (maxTokensLimit < 1)
    return fail("--max-tokens-limit must be at least 1");
  std::string key = apiKey;
  if (key.empty())
    if (const char *env = std::getenv("HAQA_SERVE_API_KEY"))
      key = env;
  auto compileTarget = parseCompileTarget(target);
  if (!compileTarget)
    return fail(toString(compileTarget.takeError()));
  CompiledModelOptions options;
  options.threads = threads;
  options.target = *compileTarget;
  errs() << "haqa-serve: compiling " << modelPath << "...\n";
  auto model = CompiledModel::load(modelPath, options);
  if (!model)
    return fail(toString(model.takeError()));
  auto tok = loadTokenizer((*model)->getWeights().getFile());
  if (!tok)
    return fail(modelPath + ": a server needs the model's tokenizer: " +
                toString(tok.takeError()));
  std::string id = modelName;
  if (id.empty())
    id = sys::path::filename(StringRef(modelPath).rtrim("/")).str();
  Server server(std::move(*model), std::move(*tok), id);

  httplib::Server http;
  http.set_payload_max_length(static_cast<size_t>(maxBody));
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  auto authorized = [&](const httplib::Request &req, httplib::Response &res) {
    if (key.empty() || req.get_header_value("Authorization") == "Bearer " + key)
      return true;
    sendError(res, 401, "missing or wrong API key (Authorization: Bearer)");
    return false;
  };
  http.Get("/health", [](const httplib::Request &, httplib::Response &res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  http.Get(
      "/v1/models", [&](const httplib::Request &req, httplib::Response &res) {
        if (!authorized(req, res))
          return;
        json::Object m{{"id", server.getId()},
                       {"object", "model"},
                       {"created", static_cast<int64_t>(std::time(nullptr))},
                       {"owned_by", "haqa"}};
        json::Object list{{"object", "list"},
                          {"data", json::Array{json::Value(std::move(m))}}};
        res.set_content(formatv("{0}", json::Value(std::move(list))).str(),
                        "application/json");
      });
  auto complete = [&](bool chat) {
    return [&, chat](const httplib::Request &req, httplib::Response &res) {
      if (!authorized(req, res))
        return;
      auto r = server.parse(req.body, chat);
      if (!r)
        return sendError(res, 400, toString(r.takeError()));
      std::string cid = completionId(chat ? "chatcmpl" : "cmpl");
      int64_t created = std::time(nullptr);
      StringRef object = chat ? "chat.completion" : "text_completion";
      int64_t promptTokens = r->prompt.size();
      // OpenAI's usage, with prompt_tokens_details.cached_tokens: the prompt
      // tokens whose KV rows a previous request had computed.
      auto usage = [promptTokens](const Server::Outcome &o) {
        return json::Object{
            {"prompt_tokens", promptTokens},
            {"completion_tokens", o.completionTokens},
            {"total_tokens", promptTokens + o.completionTokens},
            {"prompt_tokens_details",
             json::Object{{"cached_tokens", o.cachedPromptTokens}}}};
      };
      if (!r->stream) {
        auto out = server.run(*r);
        if (!out)
          return sendError(res, 500, toString(out.takeError()));
        json::Object choice{{"index", 0}, {"finish_reason", out->finishReason}};
        if (chat)
          choice["message"] =
              json::Object{{"role", "assistant"}, {"content", out->text}};
        else
          choice["text"] = out->text;
        json::Object body{{"id", cid},
                          {"object", object},
                          {"created", created},
                          {"model", server.getId()},
                          {"choices", json::Array{std::move(choice)}},
                          {"usage", usage(*out)}};
        res.set_content(formatv("{0}", json::Value(std::move(body))).str(),
                        "application/json");
        return;
      }
      // Server-sent events: one chunk per piece of final text, then the
      // finish reason with the usage, then [DONE].
      Request request = std::move(*r);
      res.set_header("Cache-Control", "no-cache");
      res.set_chunked_content_provider("text/event-stream", [&server, request,
                                                             cid, created, chat,
                                                             object, usage](
                                                                size_t,
                                                                httplib::
                                                                    DataSink
                                                                        &sink) {
        auto chunk = [&](json::Object delta,
                         std::optional<std::string> finish) {
          json::Object choice{{"index", 0}};
          if (chat)
            choice["delta"] = std::move(delta);
          else
            choice["text"] = delta.getString("content").value_or("");
          choice["finish_reason"] =
              finish ? json::Value(*finish) : json::Value(nullptr);
          json::Object body{{"id", cid},
                            {"object", chat ? "chat.completion.chunk" : object},
                            {"created", created},
                            {"model", server.getId()},
                            {"choices", json::Array{std::move(choice)}}};
          return body;
        };
        auto send = [&](json::Object body) {
          std::string line =
              "data: " + formatv("{0}", json::Value(std::move(body))).str() +
              "\n\n";
          return sink.is_writable() && sink.write(line.data(), line.size());
        };
        if (chat &&
            !send(chunk(json::Object{{"role", "assistant"}, {"content", ""}},
                        std::nullopt)))
          return false;
        auto out = server.run(request, [&](StringRef piece) {
          return send(chunk(json::Object{{"content", piece}}, std::nullopt));
        });
        if (!out) {
          std::string e =
              "data: " + errorBody(toString(out.takeError()), "server_error") +
              "\n\n";
          sink.write(e.data(), e.size());
          sink.done();
          return true;
        }
        json::Object last = chunk(json::Object{}, out->finishReason);
        last["usage"] = usage(*out);
        if (!send(std::move(last)))
          return false;
        static const char done[] = "data: [DONE]\n\n";
        sink.write(done, sizeof(done) - 1);
        sink.done();
        return true;
      });
    };
  };
  http.Post("/v1/chat/completions", complete(true));
  http.Post("/v1/completions", complete(false));
  http.set_error_handler([](const httplib::Request &req,
                            httplib::Response &res) {
    if (!res.body.empty())
      return;
    std::string msg = res.status == 413 ? "the request body exceeds --max-body"
                      : res.status == 404
                          ? "no route " + req.method + " " + req.path
                          : "HTTP error";
    sendError(res, res.status, msg);
  });
  http.set_exception_handler(
      [](const httplib::Request &, httplib::Response &res, std::exception_ptr) {
        sendError(res, 500, "internal error");
      });

  int bound = port;
  if (port == 0) {
    bound = http.bind_to_any_port(host);
    if (bound < 0)
      return fail("cannot listen on " + host + ": no free port");
  } else if (!http.bind_to_port(host, port)) {
    return fail("cannot listen on " + host + ":" + Twine(port));
  }
  errs() << formatv("haqa-serve: {0} on http://{1}:{2}/v1{3}\n", id,
                    host.getValue(), bound,
                    key.empty() ? "" : " (API key required)");
  if (!portFile.empty()) {
    std::error_code ec;
    raw_fd_ostream os(portFile, ec);
    if (ec)
      return fail(portFile + ": " + ec.message());
    os << bound << "\n";
  }
  if (!http.listen_after_bind())
    return fail("the server stopped");
  return 0;
}
