// File: host/http/openai_routes.cpp
//
// The OpenAI-compatible door: GET /v1/models (one model per LLM config) and
// POST /v1/chat/completions, whole or streamed as chat.completion.chunk
// events, with errors in OpenAI's shape. Stateless: nothing is saved. Each
// response carries X-Switchboard-Overhead-Us, the time spent outside the
// provider, which also feeds the /metrics histogram.
#include "host/http/api_json.h"
#include "host/http/api_routes.h"
#include "host/http/client_watch.h"
#include "host/http/router.h"
#include "host/http/sse_writer.h"
#include "host/log.h"
#include "host/metrics.h"
#include "host/services/completion_service.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <atomic>
#include <chrono>
#include <random>

namespace switchboard::http {

namespace {

using Clock = std::chrono::steady_clock;

// {"error": {"message", "type", "param", "code"}} with the matching status.
struct OpenAiError {
  int status;
  std::string type;
  std::string code;
  std::string message;
  std::string param;
};

OpenAiError from_service(const Error& e) {
  switch (e.kind) {
    case ErrorKind::InvalidArgument: return {400, "invalid_request_error", e.code, e.message, e.field};
    case ErrorKind::Unauthenticated: return {401, "invalid_request_error", "invalid_api_key", e.message, ""};
    case ErrorKind::PermissionDenied: return {403, "permission_denied", e.code, e.message, ""};
    case ErrorKind::NotFound: return {404, "invalid_request_error", e.code, e.message, e.field};
    case ErrorKind::Conflict: return {409, "invalid_request_error", e.code, e.message, ""};
    case ErrorKind::Unavailable:
    case ErrorKind::ShuttingDown: return {503, "server_error", e.code, e.message, ""};
    case ErrorKind::Upstream: return {502, "upstream_error", e.code, e.message, ""};
    case ErrorKind::UpstreamTimeout: return {504, "upstream_error", e.code, e.message, ""};
    case ErrorKind::Internal: return {500, "server_error", "internal", "internal server error", ""};
  }
  return {500, "server_error", "internal", "internal server error", ""};
}

Json error_body(const OpenAiError& e) {
  return {{"error",
           {{"message", e.message},
            {"type", e.type},
            {"param", e.param.empty() ? Json(nullptr) : Json(e.param)},
            {"code", e.code}}}};
}

void send_openai_error(Exchange& ex, const OpenAiError& e) { send_json(ex, e.status, dump(error_body(e))); }

OpenAiError bad_request(const std::string& param, const std::string& message) {
  return {400, "invalid_request_error", "invalid_" + param, message, param};
}

std::string completion_id() {
  static std::atomic<std::uint64_t> counter{0};
  static const std::uint64_t seed = std::random_device{}();
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "chatcmpl-%012llx%08llx", static_cast<unsigned long long>(seed & 0xffffffffffffULL),
                static_cast<unsigned long long>(counter.fetch_add(1)));
  return buffer;
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct ParsedRequest {
  CompletionRequest request;
  bool stream = false;
  bool include_usage = false;
};

// Parses the body leniently about fields we do not use (SDKs send many),
// strictly about the types of those we do.
std::optional<OpenAiError> parse(const std::string& body, ParsedRequest& out) {
  Json j;
  try {
    j = parse_json_body(body);
  } catch (const HttpError& e) {
    return OpenAiError{400, "invalid_request_error", e.code, e.message, ""};
  }
  if (!j.is_object()) return OpenAiError{400, "invalid_request_error", "invalid_json", "body must be a JSON object", ""};
  if (!j.contains("model") || !j["model"].is_string()) return bad_request("model", "model must be a string naming an LLM config");
  out.request.model = j["model"].get<std::string>();
  if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())
    return bad_request("messages", "messages must be a non-empty array");
  for (const auto& m : j["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return bad_request("messages", "each message needs a string role");
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";  // OpenAI's newer name for system
    std::string content;
    const Json& c = m.contains("content") ? m["content"] : Json(nullptr);
    if (c.is_string()) {
      content = c.get<std::string>();
    } else if (c.is_array()) {
      for (const auto& part : c) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          return bad_request("messages", "only text content parts are supported");
        content += part["text"].get<std::string>();
      }
    } else if (!c.is_null()) {
      return bad_request("messages", "message content must be a string or an array of text parts");
    }
    out.request.messages.push_back({role, content});
  }
  try {
    if (j.contains("temperature") && !j["temperature"].is_null()) {
      if (!j["temperature"].is_number()) return bad_request("temperature", "temperature must be a number");
      out.request.temperature = j["temperature"].get<double>();
    } else {
      out.request.temperature = 1.0;  // OpenAI's default
    }
    for (const char* key : {"max_completion_tokens", "max_tokens"}) {
      if (j.contains(key) && !j[key].is_null()) {
        if (!j[key].is_number_integer() || (j[key].is_number_unsigned() && j[key].get<std::uint64_t>() > INT64_MAX))
          return bad_request(key, std::string(key) + " must be an integer within range");
        out.request.max_tokens = j[key].get<std::int64_t>();
        break;
      }
    }
    if (j.contains("n") && !j["n"].is_null() && j["n"] != 1) return bad_request("n", "only n = 1 is supported");
    if (j.contains("stream") && !j["stream"].is_null()) {
      if (!j["stream"].is_boolean()) return bad_request("stream", "stream must be a boolean");
      out.stream = j["stream"].get<bool>();
    }
    if (j.contains("stream_options") && j["stream_options"].is_object())
      out.include_usage = j["stream_options"].value("include_usage", false);
    Json options = Json::object();
    if (j.contains("top_p") && !j["top_p"].is_null()) {
      if (!j["top_p"].is_number()) return bad_request("top_p", "top_p must be a number");
      options["top_p"] = j["top_p"];
    }
    if (j.contains("stop") && !j["stop"].is_null()) {
      if (!j["stop"].is_string() && !j["stop"].is_array()) return bad_request("stop", "stop must be a string or an array");
      options["stop"] = j["stop"].is_string() ? Json::array({j["stop"]}) : j["stop"];
    }
    out.request.options_json = options.dump();
  } catch (const Json::exception& e) {
    return OpenAiError{400, "invalid_request_error", "invalid_request", e.what(), ""};
  }
  return std::nullopt;
}

Json usage_json(const ChatOutcome& o) {
  return {{"prompt_tokens", o.prompt_tokens},
          {"completion_tokens", o.completion_tokens},
          {"total_tokens", o.prompt_tokens + o.completion_tokens}};
}

OpenAiError upstream_error(const ChatOutcome& o) {
  if (o.error_code == "shutting_down") return {503, "server_error", o.error_code, o.error_message, ""};
  const bool timeout = o.error_code == "upstream_timeout";
  return {timeout ? 504 : 502, "upstream_error", o.error_code, o.error_message, ""};
}

// Collects the whole reply for stream: false, and stops the provider once
// the client has left.
class CollectSink final : public ChatSink {
 public:
  explicit CollectSink(Exchange& ex) : watch_(ex) {}
  bool on_delta(std::string_view text) override {
    reply.append(text);
    return watch_.alive();
  }
  bool alive() override { return watch_.alive(); }
  std::string reply;

 private:
  ClientWatch watch_;
};

// Writes each delta as a chat.completion.chunk; the chunk's fixed parts are
// built once, so a token costs one small string append and one write.
class ChunkSink final : public ChatSink {
 public:
  ChunkSink(SseWriter& sse, const std::string& id, std::int64_t created, const std::string& model)
      : sse_(sse) {
    prefix_ = "data: {\"id\":" + Json(id).dump() + ",\"object\":\"chat.completion.chunk\",\"created\":" +
              std::to_string(created) + ",\"model\":" + Json(model).dump(-1, ' ', false, Json::error_handler_t::replace) +
              ",\"system_fingerprint\":null,\"choices\":";
  }

  bool on_delta(std::string_view text) override {
    const auto started = Clock::now();
    if (!sse_.started()) role_chunk();
    std::string chunk = prefix_;
    chunk += "[{\"index\":0,\"delta\":{\"content\":";
    chunk += Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
    chunk += "},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    const bool ok = sse_.write(chunk);
    metrics::global().streamed_tokens.add();
    own_time += Clock::now() - started;
    return ok;
  }
  bool alive() override { return sse_.alive(); }

  void role_chunk() {
    // Headers go out now, so the header reports the time spent before the provider was called.
    sse_.set_header("X-Switchboard-Overhead-Us",
                    std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(pre_provider).count()));
    if (!config_name.empty()) sse_.set_header("X-Switchboard-Config", config_name);
    sse_.begin();
    sse_.write(prefix_ + "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  }
  void finish_chunk(const std::string& reason) {
    sse_.write(prefix_ + "[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":" + Json(reason).dump() + "}]}\n\n");
  }
  void usage_chunk(const ChatOutcome& o) {
    std::string chunk = prefix_ + "[],\"usage\":" + usage_json(o).dump() + "}\n\n";
    sse_.write(chunk);
  }

  Clock::duration own_time{0};
  Clock::duration pre_provider{0};
  std::string config_name;  // the config answering (a fallback, perhaps), for X-Switchboard-Config

 private:
  SseWriter& sse_;
  std::string prefix_;
};

void set_overhead(Exchange& ex, Clock::duration overhead) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(overhead).count();
  ex.response.set("X-Switchboard-Overhead-Us", std::to_string(us));
  metrics::global().openai_overhead_seconds.observe(std::chrono::duration<double>(overhead).count());
}

}  // namespace

std::string completion_body_refusal(const std::string& body) {
  ParsedRequest parsed;
  const auto error = parse(body, parsed);
  return error ? error->code : "";
}

void register_openai_routes(Router& router, ApiContext& ctx, CompletionService& completions) {
  const auto limit = ctx.max_body_bytes;

  router.add("GET", "/v1/models", Access::User, [&ctx](Exchange& ex) {
    const auto configs = ctx.configs.list(caller_of(ex));
    if (!configs) return send_openai_error(ex, from_service(configs.error()));
    Json data = Json::array();
    for (const auto& c : configs.value())
      data.push_back({{"id", c.name}, {"object", "model"}, {"created", c.created_at_ms / 1000}, {"owned_by", c.provider}});
    send_json(ex, 200, dump({{"object", "list"}, {"data", data}}));
  });

  router.add("GET", "/v1/models/{id}", Access::User, [&ctx](Exchange& ex) {
    const auto r = ctx.configs.resolve_by_name(caller_of(ex), ex.params[0]);
    if (!r) return send_openai_error(ex, from_service(r.error()));
    const storage::LlmConfig& c = r.value()->record;
    send_json(ex, 200, dump({{"id", c.name}, {"object", "model"}, {"created", c.created_at_ms / 1000}, {"owned_by", c.provider}}));
  });

  router.add("POST", "/v1/chat/completions", Access::User, [&ctx, &completions, limit](Exchange& ex) {
    const auto started = Clock::now();
    std::string body;
    try {
      body = read_body(ex, limit, true);
    } catch (const HttpError& e) {
      return send_openai_error(ex, {e.status, "invalid_request_error", e.code, e.message, ""});
    }
    ParsedRequest parsed;
    if (auto error = parse(body, parsed)) return send_openai_error(ex, *error);
    parsed.request.caller = caller_of(ex);
    metrics::global().chat_turns.add();
    const std::string id = completion_id();
    const std::int64_t created = unix_seconds();

    if (!parsed.stream) {
      CollectSink sink(ex);
      const auto result = completions.complete(parsed.request, sink);
      if (!result) return send_openai_error(ex, from_service(result.error()));
      const ChatOutcome& o = result->outcome;
      set_overhead(ex, Clock::now() - started - result->provider_time);
      ex.response.set("X-Switchboard-Config", result->config_name);
      if (o.status == ChatStatus::Error) {
        metrics::global().upstream_errors.add();
        return send_openai_error(ex, upstream_error(o));
      }
      if (o.status == ChatStatus::Cancelled) {
        ex.response.setKeepAlive(false);  // the client left: no one to answer
        return;
      }
      const Json reply = {{"id", id},
                          {"object", "chat.completion"},
                          {"created", created},
                          {"model", parsed.request.model},
                          {"system_fingerprint", nullptr},
                          {"choices", Json::array({{{"index", 0},
                                                    {"message", {{"role", "assistant"}, {"content", sink.reply}, {"refusal", nullptr}}},
                                                    {"logprobs", nullptr},
                                                    {"finish_reason", o.finish_reason.empty() ? "stop" : o.finish_reason}}})},
                          {"usage", usage_json(o)}};
      return send_json(ex, 200, dump(reply));
    }

    SseWriter sse(ex, ctx.sse_keepalive_ms);
    ChunkSink sink(sse, id, created, parsed.request.model);
    const auto result =
        completions.complete(parsed.request, sink, [&] { sink.pre_provider = Clock::now() - started; },
                             [&](const std::string& name) { sink.config_name = name; });
    if (!result) {
      if (!sse.started()) return send_openai_error(ex, from_service(result.error()));
      sse.data(dump(error_body(from_service(result.error()))));
      return;
    }
    const ChatOutcome& o = result->outcome;
    metrics::global().openai_overhead_seconds.observe(
        std::chrono::duration<double>(Clock::now() - started - result->provider_time + sink.own_time).count());
    if (o.status == ChatStatus::Cancelled) return;  // the client is gone
    if (o.status == ChatStatus::Error) {
      metrics::global().upstream_errors.add();
      log::http().error("/v1 completion " + id + " on model " + parsed.request.model + " failed: " + o.error_code +
                        ": " + o.error_message);
      // Before any byte: a plain HTTP error. Mid-stream: an error event and no [DONE].
      if (!sse.started()) return send_openai_error(ex, upstream_error(o));
      sse.data(dump(error_body(upstream_error(o))));
      return;
    }
    if (!sse.started()) sink.role_chunk();
    sink.finish_chunk(o.finish_reason.empty() ? "stop" : o.finish_reason);
    if (parsed.include_usage) sink.usage_chunk(o);
    sse.write("data: [DONE]\n\n");
  });
}

}  // namespace switchboard::http
