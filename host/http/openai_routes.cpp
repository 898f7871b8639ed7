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
#include "host/http/openai_request.h"
#include "host/http/router.h"
#include "host/http/sse_writer.h"
#include "host/json_text.h"
#include "host/log.h"
#include "host/metrics.h"
#include "host/services/completion_service.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>

namespace switchboard::http {

namespace {

using Clock = std::chrono::steady_clock;

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

Json usage_json(const ChatOutcome& o) {
  Json usage = {{"prompt_tokens", o.prompt_tokens},
                {"completion_tokens", o.completion_tokens},
                {"total_tokens", o.prompt_tokens + o.completion_tokens}};
  // The upstream's detail (cached, reasoning tokens), as it gave it.
  if (!o.usage_details_json.empty()) {
    const Json details = Json::parse(o.usage_details_json);
    for (const auto& [k, v] : details.items()) usage.emplace(k, v);
  }
  return usage;
}

Json tool_calls_json(const std::vector<ToolCall>& calls) {
  Json out = Json::array();
  for (const auto& c : calls)
    out.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  return out;
}

OpenAiError upstream_error(const ChatOutcome& o) {
  if (o.error_code == "shutting_down") return {503, "server_error", o.error_code, o.error_message, ""};
  const bool timeout = o.error_code == "upstream_timeout";
  return {timeout ? 504 : 502, "upstream_error", o.error_code, o.error_message, ""};
}

// For stream: false: writes nothing until the end (the service puts the
// reply together), and stops the provider once the client has left.
class WatchSink final : public ChatSink {
 public:
  explicit WatchSink(Exchange& ex) : watch_(ex) {}
  bool on_event(const ProviderEvent&) override { return watch_.alive(); }
  bool alive() override { return watch_.alive(); }
  bool wait(std::chrono::milliseconds ms) override { return watch_.wait(ms); }

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

  bool on_event(const ProviderEvent& event) override {
    const auto started = Clock::now();
    if (!sse_.started()) role_chunk(event.kind == ProviderEvent::Kind::ToolCall);
    std::string& chunk = chunk_;  // reused: no allocation per token once it has grown
    chunk.assign(prefix_);
    if (event.kind == ProviderEvent::Kind::Text) {
      chunk += "[{\"index\":0,\"delta\":{\"content\":";
      append_json_string(chunk, event.text);
    } else {
      // As OpenAI streams a call, in its key order: id, type and name with its first piece only.
      const ToolCallDelta& d = event.tool_call;
      auto str = [](const std::string& v) { return Json(v).dump(-1, ' ', false, Json::error_handler_t::replace); };
      chunk += "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":" + std::to_string(d.index);
      if (!d.id.empty())
        chunk += ",\"id\":" + str(d.id) + ",\"type\":\"function\",\"function\":{\"name\":" + str(d.name) + ",";
      else
        chunk += ",\"function\":{";
      chunk += "\"arguments\":" + str(d.arguments) + "}}";
      chunk += "]";
    }
    chunk += "},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    const bool ok = sse_.write(chunk, !(event.kind == ProviderEvent::Kind::Text && event.held));
    metrics::global().streamed_tokens.add();
    own_time += Clock::now() - started;
    return ok;
  }
  bool alive() override { return sse_.alive(); }
  bool wait(std::chrono::milliseconds ms) override { return sse_.wait(ms); }

  // A reply that starts with a tool call has null content, as OpenAI sends it.
  void role_chunk(bool content_null = false) {
    // Headers go out now, so the header reports the time spent before the provider was called.
    sse_.set_header("X-Switchboard-Overhead-Us",
                    std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(pre_provider).count()));
    if (!config_name.empty()) sse_.set_header("X-Switchboard-Config", config_name);
    sse_.begin();
    sse_.write(prefix_ + "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":" + (content_null ? "null" : "\"\"") +
               "},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
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
  std::string chunk_;
};

// OpenAI's base64 embedding: the float32 values, little-endian, in base64.
std::string base64_floats(const std::vector<double>& values) {
  std::string bytes;
  bytes.reserve(values.size() * 4);
  for (double v : values) {
    const float f = static_cast<float>(v);
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t chunk = 0;
    for (std::size_t k = 0; k < 3; ++k)
      chunk = (chunk << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out.push_back(k <= n ? kAlphabet[(chunk >> (18 - 6 * k)) & 0x3f] : '=');
  }
  return out;
}

void set_overhead(Exchange& ex, Clock::duration overhead) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(overhead).count();
  ex.response.set("X-Switchboard-Overhead-Us", std::to_string(us));
  metrics::global().openai_overhead_seconds.observe(std::chrono::duration<double>(overhead).count());
}

}  // namespace

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

  router.add("POST", "/v1/embeddings", Access::User, [&completions, limit](Exchange& ex) {
    std::string body;
    try {
      body = read_body(ex, limit, true);
    } catch (const HttpError& e) {
      return send_openai_error(ex, {e.status, "invalid_request_error", e.code, e.message, ""});
    }
    ParsedEmbeddingRequest parsed;
    if (auto error = parse_embedding_request(body, parsed)) return send_openai_error(ex, *error);
    parsed.request.caller = caller_of(ex);
    const auto result = completions.embed(parsed.request);
    if (!result) return send_openai_error(ex, from_service(result.error()));
    Json data = Json::array();
    for (std::size_t i = 0; i < result->vectors.size(); ++i)
      data.push_back({{"object", "embedding"},
                      {"index", i},
                      {"embedding", parsed.base64 ? Json(base64_floats(result->vectors[i])) : Json(result->vectors[i])}});
    send_json(ex, 200, dump({{"object", "list"},
                             {"data", std::move(data)},
                             {"model", parsed.request.model},
                             {"usage", {{"prompt_tokens", result->prompt_tokens}, {"total_tokens", result->prompt_tokens}}}}));
  });

  router.add("POST", "/v1/chat/completions", Access::User, [&ctx, &completions, limit](Exchange& ex) {
    const auto started = Clock::now();
    std::string body;
    try {
      body = read_body(ex, limit, true);
    } catch (const HttpError& e) {
      return send_openai_error(ex, {e.status, "invalid_request_error", e.code, e.message, ""});
    }
    ParsedChatRequest parsed;
    if (auto error = parse_chat_request(body, parsed)) return send_openai_error(ex, *error);
    parsed.request.caller = caller_of(ex);
    metrics::global().chat_turns.add();
    const std::string id = completion_id();
    const std::int64_t created = unix_seconds();

    if (!parsed.stream) {
      WatchSink sink(ex);
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
      const ReplyText& text = result->reply;
      Json message = {{"role", "assistant"},
                      {"content", text.text.empty() && !text.tool_calls.empty() ? Json(nullptr) : Json(text.text)},
                      {"refusal", nullptr}};
      if (!text.tool_calls.empty()) message["tool_calls"] = tool_calls_json(text.tool_calls);
      const Json reply = {{"id", id},
                          {"object", "chat.completion"},
                          {"created", created},
                          {"model", parsed.request.model},
                          {"system_fingerprint", nullptr},
                          {"choices", Json::array({{{"index", 0},
                                                    {"message", std::move(message)},
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
