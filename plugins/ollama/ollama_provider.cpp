// File: plugins/ollama/ollama_provider.cpp
//
// The provider for Ollama's native API: POST {base_url}/api/chat streamed as
// NDJSON, POST {base_url}/api/embed, GET {base_url}/api/tags for the model
// list. temperature and max_tokens become options.temperature and
// options.num_predict; OpenAI's message model maps onto Ollama's: image parts
// (data: URLs) become the message's base64 "images", tool calls carry their
// arguments as objects, tool results their "tool_name", and response_format
// becomes "format" ("json" or the schema).
#include "bounded_json.h"
#include "http_client.h"
#include "plugin_settings.h"
#include "stream_parsers.h"
#include "upstream_errors.h"

#include <switchboard/provider.hpp>

namespace sdk = switchboard::sdk;
namespace sp = switchboard::plugins;

namespace {

// One OpenAI message as Ollama's /api/chat takes it.
sdk::Json ollama_message(const sdk::Message& m, const std::vector<sdk::Message>& all) {
  sdk::Json j = {{"role", m.role}, {"content", m.content}};
  sdk::Json images = sdk::Json::array();
  for (const auto& p : m.parts) {
    if (p.type != "image_url") continue;
    // Ollama takes the bytes, base64, not a URL: a remote image cannot be passed on.
    const auto comma = p.image_url.find(',');
    if (p.image_url.rfind("data:", 0) != 0 || comma == std::string::npos ||
        p.image_url.substr(0, comma).find(";base64") == std::string::npos)
      throw sdk::Error("invalid_argument", "Ollama takes images as base64 data: URLs only, not links");
    images.push_back(p.image_url.substr(comma + 1));
  }
  if (!images.empty()) j["images"] = std::move(images);
  if (!m.tool_calls.empty()) {
    j["tool_calls"] = sdk::Json::array();
    for (const auto& c : m.tool_calls) {
      sdk::Json arguments = sdk::Json::object();
      try {
        if (!c.arguments.empty()) arguments = sdk::Json::parse(c.arguments);
      } catch (const sdk::Json::exception&) {
        throw sdk::Error("invalid_argument", "the arguments of tool call " + c.id + " are not JSON");
      }
      j["tool_calls"].push_back({{"function", {{"name", c.name}, {"arguments", arguments}}}});
    }
  }
  if (m.role == "tool") {
    for (const auto& other : all)
      for (const auto& c : other.tool_calls)
        if (c.id == m.tool_call_id) j["tool_name"] = c.name;
  }
  return j;
}

class OllamaProvider final : public sdk::Provider {
 public:
  sdk::ProviderInfo info() const override { return {"ollama", "1.1.0", "Ollama's native chat API"}; }

  // Ollama has tools, images, JSON output and embeddings natively; fields it
  // has no place for are refused by the host (no passthrough).
  sdk::Capabilities capabilities() const override {
    sdk::Capabilities c;
    c.tools = c.vision = c.json_output = c.embeddings = true;
    return c;
  }

  sdk::EmbedResult embed(const sdk::EmbedRequest& request) override {
    const std::string model =
        request.model.empty() ? sp::config_value<std::string>(request.config, "model_name", "") : request.model;
    sp::HttpRequest req;
    req.method = "POST";
    req.url = sp::Url::parse(sp::config_value<std::string>(request.config, "base_url", ""));
    req.path = "/api/embed";
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = sdk::Json{{"model", model}, {"input", request.input}}.dump(-1, ' ', false, sdk::Json::error_handler_t::replace);
    std::string answer;
    const sp::HttpResult result = client_.perform(
        req, sp::http_settings_from(request.config),
        [&](std::string_view bytes) {
          if (answer.size() + bytes.size() > (std::size_t{16} << 20))
            throw sdk::Error("upstream_protocol", "Ollama's embeddings answer is larger than 16 MiB");
          answer.append(bytes);
          return true;
        },
        [] { return true; });
    if (result.status < 200 || result.status >= 300) sp::throw_for_status(result, model, "");
    if (!result.body_complete) throw sdk::Error("upstream_protocol", "Ollama's embeddings answer was cut off");
    sdk::EmbedResult out;
    try {
      const sdk::Json j = sp::parse_bounded(answer, "Ollama's embeddings answer");
      out.vectors = j.at("embeddings").get<std::vector<std::vector<double>>>();
      out.prompt_tokens = j.value("prompt_eval_count", std::int64_t{0});
    } catch (const sdk::Json::exception&) {
      throw sdk::Error("upstream_protocol", "Ollama's embeddings answer has no \"embeddings\" lists");
    }
    return out;
  }

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
    for (const auto& m : request.messages) messages.push_back(ollama_message(m, request.messages));
    sdk::Json body = {{"model", model}, {"messages", std::move(messages)}, {"stream", true}, {"options", options}};
    // Ollama has no tool_choice: "none" offers no tools, a named function offers only it.
    if (request.tools.is_array() && !request.tools.empty() && request.tool_choice != "none") {
      sdk::Json tools = request.tools;
      if (request.tool_choice.is_object() && request.tool_choice.contains("function")) {
        const auto wanted = request.tool_choice["function"].value("name", std::string());
        tools = sdk::Json::array();
        for (const auto& t : request.tools)
          if (t.contains("function") && t["function"].value("name", std::string()) == wanted) tools.push_back(t);
      }
      body["tools"] = std::move(tools);
    }
    if (request.response_format.is_object()) {
      const std::string type = request.response_format.value("type", "");
      if (type == "json_object") body["format"] = "json";
      if (type == "json_schema") {
        const sdk::Json& spec = request.response_format.contains("json_schema") ? request.response_format["json_schema"]
                                                                                : sdk::Json::object();
        body["format"] = spec.is_object() && spec.contains("schema") ? spec["schema"] : sdk::Json("json");
      }
    }
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
    int tool_calls = 0;

    auto on_line = [&](std::string_view line) {
      if (done) return true;
      sdk::Json j;
      try {
        j = sp::parse_bounded(line, "an Ollama stream line");
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
      // Ollama sends each tool call whole, its arguments an object; it has no ids, so they are made.
      if (j.contains("message") && j["message"].is_object() && j["message"].contains("tool_calls") &&
          j["message"]["tool_calls"].is_array()) {
        for (const auto& call : j["message"]["tool_calls"]) {
          const sdk::Json f = call.contains("function") && call["function"].is_object() ? call["function"] : sdk::Json::object();
          const sdk::Json arguments = f.contains("arguments") ? f["arguments"] : sdk::Json::object();
          const int index = tool_calls++;
          ++deltas;
          if (!sink.emit(sdk::ChatEvent::tool_call_of(
                  index, "call_" + std::to_string(index + 1), f.value("name", std::string()),
                  arguments.is_string() ? arguments.get<std::string>()
                                        : arguments.dump(-1, ' ', false, sdk::Json::error_handler_t::replace))))
            return false;
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
    sink.emit(sdk::ChatEvent::done(done_reason == "length" ? "length" : tool_calls > 0 ? "tool_calls" : "stop"));
  }

 private:
  mutable sp::HttpClient client_;
};

}  // namespace

SB_EXPORT_PROVIDER(OllamaProvider)
