// File: switchboard/provider.hpp
//
// The C++ face of the plugin contract (provider.h). A plugin derives from
// switchboard::sdk::Provider, implements chat(), and exports itself with
// SB_EXPORT_PROVIDER(MyProvider). The glue here parses the host's JSON into
// typed structs and catches every exception on the plugin's side of the
// boundary, turning it into an error status and {code, message} data.
//
// Plugins need only this header and nlohmann/json (header-only).
#pragma once

#include <switchboard/provider.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::sdk {
inline namespace v1 {

using Json = nlohmann::json;

struct Message {
  std::string role;     // "system", "user" or "assistant"
  std::string content;
};

struct ChatRequest {
  std::string model;
  std::vector<Message> messages;
  double temperature = 0.7;
  std::int64_t max_tokens = 2048;
  Json config = Json::object();   // effective config: plugin defaults + stored overrides
  Json options = Json::object();  // per-request options (provider specific)

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
};

struct ChatEvent {
  enum class Kind { Delta = SB_EVENT_DELTA, Usage = SB_EVENT_USAGE, Done = SB_EVENT_DONE,
                    Error = SB_EVENT_ERROR };
  Kind kind = Kind::Delta;
  std::string content;        // Delta
  Usage usage;                // Usage
  std::string finish_reason;  // Done
  std::string code;           // Error
  std::string message;        // Error

  static ChatEvent delta(std::string text) {
    ChatEvent e; e.kind = Kind::Delta; e.content = std::move(text); return e;
  }
  static ChatEvent usage_of(std::int64_t prompt, std::int64_t completion) {
    ChatEvent e; e.kind = Kind::Usage; e.usage = {prompt, completion}; return e;
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
      case Kind::Usage:
        return {{"prompt_tokens", usage.prompt_tokens},
                {"completion_tokens", usage.completion_tokens}};
      case Kind::Done: return {{"finish_reason", finish_reason}};
      case Kind::Error: return {{"code", code}, {"message", message}};
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
    const std::string json = event.payload().dump(-1, ' ', false, Json::error_handler_t::replace);
    if (cb_->emit(cb_->ctx, static_cast<std::uint32_t>(event.kind), json.data(), json.size()) == 0)
      stopped_ = true;
    if (event.kind == ChatEvent::Kind::Done || event.kind == ChatEvent::Kind::Error) finished_ = true;
    return !stopped_;
  }
  bool delta(std::string text) { return emit(ChatEvent::delta(std::move(text))); }

  // False once the host wants the stream stopped; cheap enough to poll in a wait loop.
  bool alive() {
    if (!stopped_ && cb_->alive != nullptr && cb_->alive(cb_->ctx) == 0) stopped_ = true;
    return !stopped_;
  }
  bool stopped() const noexcept { return stopped_; }
  bool finished() const noexcept { return finished_; }

 private:
  const sb_host_callbacks* cb_;
  bool stopped_ = false;
  bool finished_ = false;
};

struct ProviderInfo {
  std::string name;
  std::string version;
  std::string description;
};

// The base class of every provider. One instance serves many threads at once.
class Provider {
 public:
  virtual ~Provider() = default;

  virtual ProviderInfo info() const = 0;
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
  // Streams one reply into `sink`: deltas, then usage, then done. Throw
  // sdk::Error for failures; check sink.alive() while waiting.
  virtual void chat(const ChatRequest& request, Sink& sink) = 0;
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

inline ChatRequest parse_request(const char* data, std::size_t size) {
  const Json j = Json::parse(data, data + size);
  ChatRequest r;
  r.model = j.value("model", std::string());
  if (j.contains("messages")) {
    for (const auto& m : j.at("messages"))
      r.messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
  }
  r.temperature = j.value("temperature", 0.7);
  r.max_tokens = j.value("max_tokens", std::int64_t{2048});
  if (j.contains("config") && j["config"].is_object()) r.config = j["config"];
  if (j.contains("options") && j["options"].is_object()) r.options = j["options"];
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
                       {"default_config", p->default_config()}};
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

  static const sb_provider_api* table() noexcept {
    static const sb_provider_api api = {sizeof(sb_provider_api), SB_ABI_MAJOR, SB_ABI_MINOR,
                                        &create, &destroy, &describe, &list_models, &chat};
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
