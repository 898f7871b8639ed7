// File: plugins/ollama/ollama_provider.cpp
//
// The provider for Ollama's native API: POST {base_url}/api/chat streamed as
// NDJSON, GET {base_url}/api/tags for the model list. temperature and
// max_tokens become options.temperature and options.num_predict.
#include "http_client.h"
#include "plugin_settings.h"
#include "stream_parsers.h"
#include "upstream_errors.h"

#include <switchboard/provider.hpp>

namespace sdk = switchboard::sdk;
namespace sp = switchboard::plugins;

namespace {

class OllamaProvider final : public sdk::Provider {
 public:
  sdk::ProviderInfo info() const override { return {"ollama", "1.0.0", "Ollama's native chat API"}; }

  sdk::Json default_config() const override {
    sdk::Json d = {{"base_url", "http://127.0.0.1:11434"}, {"model_name", "llama3.2"}, {"keep_alive", ""}};
    d.update(sp::http_settings_defaults());
    return d;
  }

  sdk::Json config_schema() const override {
    auto field = [](const char* type, const char* description) {
      return sdk::Json{{"type", type}, {"description", description}};
    };
    sdk::Json s = {{"base_url", field("string", "Ollama's address, e.g. http://127.0.0.1:11434")},
                   {"model_name", field("string", "a pulled model, e.g. llama3.2")},
                   {"keep_alive", field("string", "how long Ollama keeps the model loaded, e.g. 5m (empty: its default)")},
                   {"top_p", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"description", "nucleus sampling"}}},
                   {"stop", {{"type", sdk::Json::array({"string", "array"})}, {"description", "stop sequence(s)"}}}};
    s.update(sp::http_settings_schema());
    return s;
  }

  std::vector<std::string> list_models(const sdk::Json& config) const override {
    sp::HttpRequest req;
    req.method = "GET";
    req.url = sp::Url::parse(sp::config_value<std::string>(config, "base_url", ""));
    req.path = "/api/tags";
    return sp::fetch_names(client_, req, sp::http_settings_from(config), "models", "name", "");
  }

  void chat(const sdk::ChatRequest& request, sdk::Sink& sink) override {
    const std::string model =
        request.model.empty() ? sp::config_value<std::string>(request.config, "model_name", "") : request.model;
    if (model.empty()) throw sdk::Error("invalid_config", "no model: set model_name in the config");

    sdk::Json options = sdk::Json::object();
    if (request.temperature) options["temperature"] = *request.temperature;
    if (request.max_tokens) options["num_predict"] = *request.max_tokens;
    // From the request, else the config's options.
    const sdk::Json top_p = request.option<sdk::Json>("top_p", nullptr);
    if (!top_p.is_null()) options["top_p"] = top_p;
    const sdk::Json stop = request.option<sdk::Json>("stop", nullptr);
    if (!stop.is_null()) options["stop"] = stop.is_string() ? sdk::Json::array({stop}) : stop;
    sdk::Json messages = sdk::Json::array();
    for (const auto& m : request.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
    sdk::Json body = {{"model", model}, {"messages", std::move(messages)}, {"stream", true}, {"options", options}};
    const std::string keep_alive = sp::config_value<std::string>(request.config, "keep_alive", "");
    if (!keep_alive.empty()) body["keep_alive"] = keep_alive;

    sp::HttpRequest req;
    req.method = "POST";
    req.url = sp::Url::parse(sp::config_value<std::string>(request.config, "base_url", ""));
    req.path = "/api/chat";
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body.dump(-1, ' ', false, sdk::Json::error_handler_t::replace);

    sp::NdjsonParser parser;
    sp::Utf8Holdback utf8;
    bool done = false;
    std::string done_reason = "stop";
    std::int64_t prompt_tokens = 0, completion_tokens = 0, deltas = 0;

    auto on_line = [&](std::string_view line) {
      if (done) return true;
      sdk::Json j;
      try {
        j = sdk::Json::parse(line);
      } catch (const sdk::Json::exception&) {
        throw sdk::Error("upstream_protocol", "Ollama sent a malformed line (not JSON)");
      }
      if (j.contains("error")) {
        const std::string message = sp::upstream_message(std::string(line));
        throw sdk::Error("upstream_error", "Ollama failed mid-stream: " + (message.empty() ? "(no message)" : message));
      }
      if (j.contains("message") && j["message"].is_object() && j["message"].contains("content") &&
          j["message"]["content"].is_string()) {
        const std::string text = utf8.push(j["message"]["content"].get<std::string>());
        if (!text.empty()) {
          ++deltas;
          if (!sink.delta(text)) return false;
        }
      }
      if (j.value("done", false)) {
        done = true;
        done_reason = j.value("done_reason", std::string("stop"));
        prompt_tokens = j.value("prompt_eval_count", std::int64_t{0});
        completion_tokens = j.value("eval_count", std::int64_t{0});
      }
      return true;
    };

    const sp::HttpResult result = client_.perform(
        req, sp::http_settings_from(request.config), [&](std::string_view bytes) { return parser.feed(bytes, on_line); },
        [&] { return sink.alive(); });
    if (result.cancelled || sink.stopped()) return;
    if (result.status < 200 || result.status >= 300) sp::throw_for_status(result, model, "");
    if (!done && result.body_complete) parser.finish(on_line);
    if (sink.stopped()) return;
    if (!done) {
      if (result.idle_timeout) throw sdk::Error("upstream_timeout", "Ollama stalled mid-stream for longer than idle_timeout_ms");
      throw sdk::Error("upstream_protocol", "Ollama's stream ended without \"done\": true");
    }
    const std::string rest = utf8.flush();
    if (!rest.empty() && !sink.delta(rest)) return;
    sink.emit(sdk::ChatEvent::usage_of(prompt_tokens, completion_tokens > 0 ? completion_tokens : deltas));
    sink.emit(sdk::ChatEvent::done(done_reason == "length" ? "length" : "stop"));
  }

 private:
  mutable sp::HttpClient client_;
};

}  // namespace

SB_EXPORT_PROVIDER(OllamaProvider)
