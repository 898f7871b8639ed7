// File: switchboard/provider.hpp
//
// The C++ face of the plugin contract (provider.h). A plugin derives from
// switchboard::sdk::Provider, implements chat(), and exports itself with
// SB_EXPORT_PROVIDER(MyProvider). The glue here parses the host's JSON into
// typed structs and catches every exception on the plugin's side of the
// boundary, turning it into an error status and {code, message} data.
//
// The smallest plugin:
//
//   class Echo final : public sdk::Provider {
//    public:
//     sdk::ProviderInfo info() const override { return {"echo", "1.0.0", "says it back"}; }
//     void chat(const sdk::ChatRequest& r, sdk::Sink& sink) override {
//       sink.delta(r.messages.back().content);     // then usage and done are optional
//     }
//   };
//   SB_EXPORT_PROVIDER(Echo)
//
// Since SDK 1.1 a provider declares capabilities() (tools, vision, json_output,
// embeddings, passthrough); the host refuses requests that need one it lacks,
// so a provider never sees a field it did not claim to handle. A tool-calling
// provider emits ChatEvent::tool_call(...) pieces and finishes with
// done("tool_calls").
//
// Plugins need only this header and nlohmann/json (header-only).
#pragma once

#include <switchboard/provider.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace switchboard::sdk {
inline namespace v1 {

using Json = nlohmann::json;

// One part of a message's content (since 1.1).
struct ContentPart {
  std::string type;       // "text" or "image_url"
  std::string text;       // text
  std::string image_url;  // image_url: "data:<media type>;base64,..." or "https://..."
  std::string detail;     // image_url: "auto", "low", "high" or ""
};

// A tool call an assistant made (since 1.1); arguments is JSON text.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

struct Message {
  std::string role;     // "system", "user", "assistant" or (since 1.1) "tool"
  std::string content;  // the text; with parts, the text parts joined
  /* since 1.1 */
  std::vector<ContentPart> parts;    // set when the content came as a list of parts
  std::vector<ToolCall> tool_calls;  // assistant
  std::string tool_call_id;          // tool
  std::string name;                  // the participant's name, when given
  bool content_null = false;         // content was null or absent (assistant with tool_calls)

  // The data: and https: images among the parts.
  std::size_t image_count() const {
    std::size_t n = 0;
    for (const auto& p : parts) n += p.type == "image_url" ? 1 : 0;
    return n;
  }
};

struct ChatRequest {
  std::string model;
  std::vector<Message> messages;
  // Since 1.1 absent when the client sent none: the upstream's default applies.
  std::optional<double> temperature;
  std::optional<std::int64_t> max_tokens;
  Json config = Json::object();   // effective config: plugin defaults + stored overrides
  Json options = Json::object();  // per-request options (provider specific)
  /* since 1.1: OpenAI's fields, null when the client did not send them */
  bool max_tokens_is_completion = false;  // the client said max_completion_tokens
  Json tools = nullptr;                    // [{"type": "function", "function": {"name", ...}}]
  Json tool_choice = nullptr;
  Json parallel_tool_calls = nullptr;
  Json response_format = nullptr;          // {"type": "json_object" | "json_schema" | "text", ...}
  bool stream = true;                      // false: the client wants the reply whole
  Json stream_options = nullptr;           // as the client sent them
  Json extra = Json::object();             // every other request field (passthrough)

  // An option from the request, else from the config, else `fallback`.
  template <typename T>
  T option(const std::string& key, T fallback) const {
    if (options.is_object() && options.contains(key)) return options.at(key).get<T>();
    if (config.is_object() && config.contains("options") && config["options"].is_object() &&
        config["options"].contains(key))
      return config["options"].at(key).get<T>();
    if (config.is_object() && config.contains(key)) return config.at(key).get<T>();
    return fallback;
  }
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  /* since 1.1: more fields as the upstream gave them, e.g.
     {"prompt_tokens_details": {"cached_tokens": 3}}; kept by the host. */
  Json details = Json::object();
};

// A piece of a tool call (since 1.1): the first piece of call `index` carries
// id and name, later ones append to its arguments.
struct ToolCallDelta {
  int index = 0;
  std::string id;
  std::string name;
  std::string arguments;
};

struct ChatEvent {
  enum class Kind { Delta = SB_EVENT_DELTA, Usage = SB_EVENT_USAGE, Done = SB_EVENT_DONE,
                    Error = SB_EVENT_ERROR, ToolCall = SB_EVENT_TOOL_CALL /* since 1.1 */ };
  Kind kind = Kind::Delta;
  std::string content;        // Delta
  Usage usage;                // Usage
  std::string finish_reason;  // Done
  std::string code;           // Error
  std::string message;        // Error
  ToolCallDelta tool_call;    // ToolCall

  static ChatEvent delta(std::string text) {
    ChatEvent e; e.kind = Kind::Delta; e.content = std::move(text); return e;
  }
  static ChatEvent usage_of(std::int64_t prompt, std::int64_t completion, Json details = Json::object()) {
    ChatEvent e; e.kind = Kind::Usage; e.usage = {prompt, completion, std::move(details)}; return e;
  }
  static ChatEvent tool_call_of(int index, std::string id, std::string name, std::string arguments) {
    ChatEvent e; e.kind = Kind::ToolCall;
    e.tool_call = {index, std::move(id), std::move(name), std::move(arguments)};
    return e;
  }
  static ChatEvent done(std::string reason = "stop") {
    ChatEvent e; e.kind = Kind::Done; e.finish_reason = std::move(reason); return e;
  }
  static ChatEvent error(std::string code, std::string message) {
    ChatEvent e; e.kind = Kind::Error; e.code = std::move(code); e.message = std::move(message);
    return e;
  }

  Json payload() const {
    switch (kind) {
      case Kind::Delta: return {{"content", content}};
      case Kind::Usage: {
        Json j = usage.details.is_object() ? usage.details : Json::object();
        j["prompt_tokens"] = usage.prompt_tokens;
        j["completion_tokens"] = usage.completion_tokens;
        return j;
      }
      case Kind::Done: return {{"finish_reason", finish_reason}};
      case Kind::Error: return {{"code", code}, {"message", message}};
      case Kind::ToolCall: {
        Json j = {{"index", tool_call.index}, {"arguments", tool_call.arguments}};
        if (!tool_call.id.empty()) j["id"] = tool_call.id;
        if (!tool_call.name.empty()) j["name"] = tool_call.name;
        return j;
      }
    }
    return Json::object();
  }
};

// A failure with a stable code ("upstream_timeout", "invalid_config", ...).
// Thrown inside a plugin, it reaches the host as {code, message}.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

// Where a plugin sends its reply. emit() returns false once the host wants the
// stream stopped; the plugin then stops promptly and returns.
class Sink {
 public:
  explicit Sink(const sb_host_callbacks* cb) : cb_(cb) {}

  bool emit(const ChatEvent& event) {
    if (stopped_) return false;
    if (event.kind == ChatEvent::Kind::Delta) return delta(event.content);
    const std::string json = event.payload().dump(-1, ' ', false, Json::error_handler_t::replace);
    if (cb_->emit(cb_->ctx, static_cast<std::uint32_t>(event.kind), json.data(), json.size()) == 0)
      stopped_ = true;
    if (event.kind == ChatEvent::Kind::Done || event.kind == ChatEvent::Kind::Error) finished_ = true;
    return !stopped_;
  }
  // A piece of the reply. Since 1.2 it crosses as the text itself
  // (SB_EVENT_TEXT): no JSON is built here nor parsed in the host.
  bool delta(std::string_view text) { return text_event(SB_EVENT_TEXT, text); }
  // A piece of the reply the host may hold until this plugin next emits
  // another kind, calls alive() or wait_for(), or returns (SB_EVENT_TEXT_HELD):
  // only for a plugin that calls alive() before every wait.
  bool delta_held(std::string_view text) { return text_event(SB_EVENT_TEXT_HELD, text); }

  // False once the host wants the stream stopped; cheap enough to poll in a wait loop.
  bool alive() {
    if (!stopped_ && cb_->alive != nullptr && cb_->alive(cb_->ctx) == 0) stopped_ = true;
    return !stopped_;
  }
  // Pauses for `ms` (a timer, a rate limit), returning early with false once
  // the host wants the stream stopped. Since 1.2 the host blocks the thread
  // until either happens; an older host is polled every 5 ms.
  bool wait_for(std::chrono::milliseconds ms) {
    const auto until = std::chrono::steady_clock::now() + ms;
    for (;;) {
      if (!alive()) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return true;
      if (sb_has_callback(cb_, wait)) {
        const auto slice = static_cast<std::uint32_t>(std::min<std::int64_t>(left.count(), 60000));
        if (cb_->wait(cb_->ctx, slice) == 0) stopped_ = true;
      } else {
        std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(5)));
      }
    }
  }
  bool stopped() const noexcept { return stopped_; }
  bool finished() const noexcept { return finished_; }

 private:
  bool text_event(std::uint32_t kind, std::string_view text) {
    if (stopped_) return false;
    if (cb_->emit(cb_->ctx, kind, text.data(), text.size()) == 0) stopped_ = true;
    return !stopped_;
  }

  const sb_host_callbacks* cb_;
  bool stopped_ = false;
  bool finished_ = false;
};

struct ProviderInfo {
  std::string name;
  std::string version;
  std::string description;
};

// What a provider handles (since 1.1); see SB_CAP_* in provider.h.
struct Capabilities {
  bool tools = false;        // tools, tool_choice, tool calls and tool results
  bool vision = false;       // image_url content parts
  bool json_output = false;  // response_format json_object / json_schema
  bool embeddings = false;   // embed()
  bool passthrough = false;  // request.extra is forwarded verbatim

  Json names() const {
    Json out = Json::array();
    if (tools) out.push_back(SB_CAP_TOOLS);
    if (vision) out.push_back(SB_CAP_VISION);
    if (json_output) out.push_back(SB_CAP_JSON_OUTPUT);
    if (embeddings) out.push_back(SB_CAP_EMBEDDINGS);
    if (passthrough) out.push_back(SB_CAP_PASSTHROUGH);
    return out;
  }
};

// embed() in and out (since 1.1).
struct EmbedRequest {
  std::string model;
  std::vector<std::string> input;
  Json config = Json::object();
  Json extra = Json::object();  // "dimensions", "encoding_format", "user", ...
};
struct EmbedResult {
  std::vector<std::vector<double>> vectors;  // one per input, in order
  std::int64_t prompt_tokens = 0;
};

// The base class of every provider. One instance serves many threads at once.
class Provider {
 public:
  virtual ~Provider() = default;

  // Required.
  virtual ProviderInfo info() const = 0;
  // Optional (since 1.1): what this provider handles beyond plain text chat.
  virtual Capabilities capabilities() const { return {}; }
  // Optional. {field: {"type": "string"|"number"|"integer"|"boolean"|"object"|"array"
  // (or a list of them), "description": "...", "minimum"?: N, "maximum"?: N}}. The host
  // refuses options, stored or per request, that break it.
  virtual Json config_schema() const { return Json::object(); }
  // Optional. The largest max_tokens this provider takes (0: no limit of its own);
  // the host refuses larger requests with a 400 naming it.
  virtual std::int64_t max_tokens_limit() const { return 0; }
  // The config a stored one is merged over, field by field.
  virtual Json default_config() const { return Json::object(); }
  virtual std::vector<std::string> list_models(const Json& config) const {
    (void)config;
    return {};
  }
  // Required. Streams one reply into `sink`: deltas (and tool-call pieces),
  // then usage, then done. Throw sdk::Error for failures; check sink.alive()
  // while waiting.
  virtual void chat(const ChatRequest& request, Sink& sink) = 0;
  // Optional (since 1.1), with capabilities().embeddings.
  virtual EmbedResult embed(const EmbedRequest& request) {
    (void)request;
    throw Error("unsupported", "this provider does not compute embeddings");
  }
};

namespace detail {

inline void report_error(const sb_host_callbacks* cb, const std::string& code,
                         const std::string& message) {
  if (cb == nullptr || cb->error == nullptr) return;
  const std::string json = Json{{"code", code}, {"message", message}}.dump(
      -1, ' ', false, Json::error_handler_t::replace);
  cb->error(cb->ctx, json.data(), json.size());
}

inline void report_result(const sb_host_callbacks* cb, const Json& value) {
  const std::string json = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  cb->result(cb->ctx, json.data(), json.size());
}

inline std::string string_or_empty(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

inline Message parse_message(const Json& m) {
  Message out;
  out.role = m.at("role").get<std::string>();
  const Json content = m.contains("content") ? m["content"] : Json(nullptr);
  if (content.is_string()) {
    out.content = content.get<std::string>();
  } else if (content.is_array()) {
    for (const auto& p : content) {
      ContentPart part;
      part.type = p.at("type").get<std::string>();
      if (part.type == "text") {
        part.text = p.at("text").get<std::string>();
        out.content += part.text;
      } else if (part.type == "image_url") {
        const Json& image = p.at("image_url");
        part.image_url = image.is_string() ? image.get<std::string>() : image.at("url").get<std::string>();
        if (image.is_object()) part.detail = string_or_empty(image, "detail");
      }
      out.parts.push_back(std::move(part));
    }
  } else {
    out.content_null = true;
  }
  out.name = string_or_empty(m, "name");
  out.tool_call_id = string_or_empty(m, "tool_call_id");
  if (m.contains("tool_calls") && m["tool_calls"].is_array())
    for (const auto& c : m["tool_calls"])
      out.tool_calls.push_back({string_or_empty(c, "id"), c.at("function").at("name").get<std::string>(),
                                string_or_empty(c.at("function"), "arguments")});
  return out;
}

inline ChatRequest parse_request(const char* data, std::size_t size) {
  const Json j = Json::parse(data, data + size);
  ChatRequest r;
  r.model = j.value("model", std::string());
  if (j.contains("messages"))
    for (const auto& m : j.at("messages")) r.messages.push_back(parse_message(m));
  if (j.contains("temperature") && j["temperature"].is_number()) r.temperature = j["temperature"].get<double>();
  if (j.contains("max_tokens") && j["max_tokens"].is_number_integer())
    r.max_tokens = j["max_tokens"].get<std::int64_t>();
  r.max_tokens_is_completion = j.contains("max_completion_tokens");
  if (j.contains("config") && j["config"].is_object()) r.config = j["config"];
  if (j.contains("options") && j["options"].is_object()) r.options = j["options"];
  for (auto [key, field] : {std::pair{"tools", &r.tools}, std::pair{"tool_choice", &r.tool_choice},
                            std::pair{"parallel_tool_calls", &r.parallel_tool_calls},
                            std::pair{"response_format", &r.response_format},
                            std::pair{"stream_options", &r.stream_options}})
    if (j.contains(key)) *field = j[key];
  if (j.contains("stream") && j["stream"].is_boolean()) r.stream = j["stream"].get<bool>();
  if (j.contains("extra") && j["extra"].is_object()) r.extra = j["extra"];
  return r;
}

// Runs `body`, turning any exception into an error report. Returns the status.
template <typename F>
sb_status guarded(const sb_host_callbacks* cb, F&& body) noexcept {
  try {
    return body();
  } catch (const Error& e) {
    report_error(cb, e.code(), e.what());
  } catch (const Json::exception& e) {
    report_error(cb, "invalid_argument", e.what());
  } catch (const std::exception& e) {
    report_error(cb, "provider_exception", e.what());
  } catch (...) {
    report_error(cb, "provider_exception", "unknown exception in provider");
  }
  return SB_STATUS_ERROR;
}

template <typename P>
struct Glue {
  static sb_status create(const char*, std::size_t, sb_instance** out,
                          const sb_host_callbacks* cb) noexcept {
    return guarded(cb, [&] {
      *out = reinterpret_cast<sb_instance*>(static_cast<Provider*>(new P()));
      return SB_STATUS_OK;
    });
  }
  static void destroy(sb_instance* instance) noexcept {
    delete reinterpret_cast<Provider*>(instance);
  }
  static sb_status describe(sb_instance* instance, const sb_host_callbacks* cb) noexcept {
    return guarded(cb, [&] {
      const auto* p = reinterpret_cast<const Provider*>(instance);
      const ProviderInfo info = p->info();
      Json description{{"name", info.name},
                       {"version", info.version},
                       {"description", info.description},
                       {"config_schema", p->config_schema()},
                       {"default_config", p->default_config()},
                       {"capabilities", p->capabilities().names()}};
      if (p->max_tokens_limit() > 0) description["max_tokens_limit"] = p->max_tokens_limit();
      report_result(cb, description);
      return SB_STATUS_OK;
    });
  }
  static sb_status list_models(sb_instance* instance, const char* config, std::size_t size,
                               const sb_host_callbacks* cb) noexcept {
    return guarded(cb, [&] {
      const auto* p = reinterpret_cast<const Provider*>(instance);
      const Json cfg = size == 0 ? Json::object() : Json::parse(config, config + size);
      report_result(cb, Json{{"models", p->list_models(cfg)}});
      return SB_STATUS_OK;
    });
  }
  static sb_status chat(sb_instance* instance, const char* request, std::size_t size,
                        const sb_host_callbacks* cb) noexcept {
    Sink sink(cb);
    try {
      auto* p = reinterpret_cast<Provider*>(instance);
      const ChatRequest r = parse_request(request, size);
      p->chat(r, sink);
      if (sink.stopped()) return SB_STATUS_CANCELLED;
      if (!sink.finished()) sink.emit(ChatEvent::done("stop"));
      return SB_STATUS_OK;
    } catch (const Error& e) {
      if (sink.stopped()) return SB_STATUS_CANCELLED;
      sink.emit(ChatEvent::error(e.code(), e.what()));
    } catch (const Json::exception& e) {
      sink.emit(ChatEvent::error("invalid_argument", e.what()));
    } catch (const std::exception& e) {
      sink.emit(ChatEvent::error("provider_exception", e.what()));
    } catch (...) {
      sink.emit(ChatEvent::error("provider_exception", "unknown exception in provider"));
    }
    return SB_STATUS_ERROR;
  }

  static sb_status embed(sb_instance* instance, const char* request, std::size_t size,
                         const sb_host_callbacks* cb) noexcept {
    return guarded(cb, [&] {
      auto* p = reinterpret_cast<Provider*>(instance);
      const Json j = Json::parse(request, request + size);
      EmbedRequest r;
      r.model = j.value("model", std::string());
      r.input = j.at("input").get<std::vector<std::string>>();
      if (j.contains("config") && j["config"].is_object()) r.config = j["config"];
      if (j.contains("extra") && j["extra"].is_object()) r.extra = j["extra"];
      const EmbedResult result = p->embed(r);
      if (result.vectors.size() != r.input.size())
        throw Error("provider_protocol", "embed() returned " + std::to_string(result.vectors.size()) +
                                             " vectors for " + std::to_string(r.input.size()) + " inputs");
      report_result(cb, Json{{"data", result.vectors},
                             {"usage", {{"prompt_tokens", result.prompt_tokens},
                                        {"total_tokens", result.prompt_tokens}}}});
      return SB_STATUS_OK;
    });
  }

  static const sb_provider_api* table() noexcept {
    static const sb_provider_api api = {sizeof(sb_provider_api), SB_ABI_MAJOR, SB_ABI_MINOR,
                                        &create, &destroy, &describe, &list_models, &chat, &embed};
    return &api;
  }
};

}  // namespace detail
}  // namespace v1
}  // namespace switchboard::sdk

// Exports the entry point for provider class `Class` (default-constructible,
// derived from switchboard::sdk::Provider). Use once per plugin library.
#define SB_EXPORT_PROVIDER(Class)                                                   \
  extern "C" __attribute__((visibility("default"))) const sb_provider_api*          \
  sb_provider_entry(void) {                                                         \
    return ::switchboard::sdk::detail::Glue<Class>::table();                        \
  }
