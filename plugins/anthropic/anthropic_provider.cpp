// File: plugins/anthropic/anthropic_provider.cpp
//
// The provider for Anthropic's Messages API: POST {base_url}/v1/messages with
// x-api-key and anthropic-version, streamed as SSE; GET {base_url}/v1/models.
// A different wire protocol behind the same SDK: OpenAI's message model is
// mapped onto Anthropic's — system messages lifted into "system", content
// blocks (text, image with a base64 or URL source), tool calls as tool_use
// blocks, tool results as tool_result blocks in a user turn, consecutive turns
// of one role merged — and its stream (message_start, content_block_start,
// content_block_delta with text_delta and input_json_delta, message_delta,
// message_stop, error) onto the SDK's events.
#include "bounded_json.h"
#include "http_client.h"
#include "plugin_settings.h"
#include "stream_parsers.h"
#include "upstream_errors.h"

#include <switchboard/provider.hpp>

#include <cstdlib>
#include <map>

namespace sdk = switchboard::sdk;
namespace sp = switchboard::plugins;

namespace {

constexpr const char* kDefaultVersion = "2023-06-01";

// A content part as an Anthropic content block.
sdk::Json image_block(const std::string& url) {
  if (url.rfind("data:", 0) == 0) {
    const auto comma = url.find(',');
    const auto semi = url.find(';');
    if (comma == std::string::npos || semi == std::string::npos || semi > comma ||
        url.substr(semi, comma - semi) != ";base64")
      throw sdk::Error("invalid_argument", "an image data: URL must be base64");
    return {{"type", "image"},
            {"source", {{"type", "base64"}, {"media_type", url.substr(5, semi - 5)}, {"data", url.substr(comma + 1)}}}};
  }
  return {{"type", "image"}, {"source", {{"type", "url"}, {"url", url}}}};
}

sdk::Json blocks_of(const sdk::Message& m) {
  sdk::Json blocks = sdk::Json::array();
  if (m.role == "tool") {
    blocks.push_back({{"type", "tool_result"}, {"tool_use_id", m.tool_call_id}, {"content", m.content}});
    return blocks;
  }
  if (!m.parts.empty()) {
    for (const auto& p : m.parts) {
      if (p.type == "image_url") blocks.push_back(image_block(p.image_url));
      else if (!p.text.empty()) blocks.push_back({{"type", "text"}, {"text", p.text}});
    }
  } else if (!m.content.empty()) {
    blocks.push_back({{"type", "text"}, {"text", m.content}});
  }
  for (const auto& c : m.tool_calls) {
    sdk::Json input = sdk::Json::object();
    try {
      if (!c.arguments.empty()) input = sdk::Json::parse(c.arguments);
    } catch (const sdk::Json::exception&) {
      throw sdk::Error("invalid_argument", "the arguments of tool call " + c.id + " are not JSON");
    }
    blocks.push_back({{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", input}});
  }
  return blocks;
}

std::string finish_reason_of(const std::string& stop_reason) {
  if (stop_reason == "max_tokens") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

class AnthropicProvider final : public sdk::Provider {
 public:
  sdk::ProviderInfo info() const override {
    return {"anthropic", "1.1.0", "Anthropic's Messages API (Claude)"};
  }

  sdk::Capabilities capabilities() const override {
    sdk::Capabilities c;
    c.tools = c.vision = true;
    return c;
  }

  sdk::Json default_config() const override {
    sdk::Json d = {{"base_url", "https://api.anthropic.com"}, {"model_name", "claude-sonnet-4-5"}, {"api_key", ""},
                   {"api_key_env", "ANTHROPIC_API_KEY"}, {"anthropic_version", kDefaultVersion},
                   {"default_max_tokens", 4096}};
    d.update(sp::http_settings_defaults());
    return d;
  }

  sdk::Json config_schema() const override {
    auto field = [](const char* type, const char* description) {
      return sdk::Json{{"type", type}, {"description", description}};
    };
    sdk::Json api_key = field("string", "x-api-key (write-only)");
    api_key["secret"] = true;
    sdk::Json key_env = field("string", "environment variable holding the key, used when api_key is empty; the host "
                                        "allows only variables its operator named");
    key_env["env"] = true;
    sdk::Json max_tokens = field("integer", "max_tokens when the client sent none: Anthropic requires one");
    max_tokens["minimum"] = 1;
    max_tokens["maximum"] = 1000000;
    sdk::Json s = {{"base_url", field("string", "API root, e.g. https://api.anthropic.com")},
                   {"model_name", field("string", "the model to ask for, e.g. claude-sonnet-4-5")},
                   {"api_key", api_key},
                   {"api_key_env", key_env},
                   {"anthropic_version", field("string", "the anthropic-version header")},
                   {"default_max_tokens", max_tokens},
                   {"top_p", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"description", "nucleus sampling"}}},
                   {"stop", {{"type", sdk::Json::array({"string", "array"})}, {"description", "stop sequence(s)"}}}};
    s.update(sp::http_settings_schema());
    return s;
  }

  std::vector<std::string> list_models(const sdk::Json& config) const override {
    return sp::fetch_names(client_, base_request(config, "GET", "/v1/models"), sp::http_settings_from(config), "data",
                           "id", api_key(config));
  }

  void chat(const sdk::ChatRequest& request, sdk::Sink& sink) override {
    const std::string model =
        request.model.empty() ? sp::config_value<std::string>(request.config, "model_name", "") : request.model;
    if (model.empty()) throw sdk::Error("invalid_config", "no model: set model_name in the config");

    // System messages are lifted out; the rest alternate user/assistant, so
    // consecutive turns of one role (tool results after a call) are merged.
    std::string system;
    sdk::Json messages = sdk::Json::array();
    for (const auto& m : request.messages) {
      if (m.role == "system") {
        system += (system.empty() ? "" : "\n\n") + m.content;
        continue;
      }
      const std::string role = m.role == "assistant" ? "assistant" : "user";
      sdk::Json blocks = blocks_of(m);
      if (blocks.empty()) continue;
      if (!messages.empty() && messages.back()["role"] == role) {
        for (auto& b : blocks) messages.back()["content"].push_back(std::move(b));
      } else {
        messages.push_back({{"role", role}, {"content", std::move(blocks)}});
      }
    }
    sdk::Json body = {{"model", model},
                      {"messages", std::move(messages)},
                      {"max_tokens", request.max_tokens.value_or(
                                         sp::config_value<std::int64_t>(request.config, "default_max_tokens", 4096))},
                      {"stream", true}};
    if (!system.empty()) body["system"] = system;
    if (request.temperature) body["temperature"] = *request.temperature;
    const sdk::Json top_p = request.option<sdk::Json>("top_p", nullptr);
    if (!top_p.is_null()) body["top_p"] = top_p;
    const sdk::Json stop = request.option<sdk::Json>("stop", nullptr);
    if (!stop.is_null()) body["stop_sequences"] = stop.is_string() ? sdk::Json::array({stop}) : stop;
    add_tools(request, body);

    sp::HttpRequest req = base_request(request.config, "POST", "/v1/messages");
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Accept", "text/event-stream");
    req.body = body.dump(-1, ' ', false, sdk::Json::error_handler_t::replace);

    sp::SseParser parser;
    sp::Utf8Holdback utf8;
    bool done = false;
    std::string stop_reason;
    std::int64_t input_tokens = 0, output_tokens = 0, deltas = 0;
    sdk::Json details = sdk::Json::object();
    std::map<std::int64_t, int> tool_index_of_block;  // content block index → tool call index
    const std::string secret = api_key(request.config);

    auto on_event = [&](const std::string& data) {
      if (done) return true;
      sdk::Json e;
      try {
        e = sp::parse_bounded(data, "an Anthropic stream event");
      } catch (const sdk::Json::exception&) {
        throw sdk::Error("upstream_protocol", "Anthropic sent a malformed stream event (not JSON)");
      }
      const std::string type = e.value("type", "");
      if (type == "error") {
        const std::string message = sp::redact(sp::upstream_message(data), secret);
        const std::string kind = e.contains("error") && e["error"].is_object() ? e["error"].value("type", "") : "";
        throw sdk::Error(kind == "overloaded_error" ? "upstream_unavailable" : "upstream_error",
                         "Anthropic failed mid-stream: " + (message.empty() ? "(no message)" : message));
      }
      if (type == "message_start" && e.contains("message") && e["message"].contains("usage")) {
        const sdk::Json& u = e["message"]["usage"];
        input_tokens = u.value("input_tokens", std::int64_t{0});
        if (u.contains("cache_read_input_tokens") && u["cache_read_input_tokens"].is_number_integer()) {
          input_tokens += u["cache_read_input_tokens"].get<std::int64_t>();
          details["prompt_tokens_details"] = {{"cached_tokens", u["cache_read_input_tokens"]}};
        }
      } else if (type == "content_block_start" && e.contains("content_block")) {
        const sdk::Json& block = e["content_block"];
        if (block.value("type", "") == "tool_use") {
          const int index = static_cast<int>(tool_index_of_block.size());
          tool_index_of_block[e.value("index", std::int64_t{0})] = index;
          ++deltas;
          if (!sink.emit(sdk::ChatEvent::tool_call_of(index, block.value("id", ""), block.value("name", ""), "")))
            return false;
        }
      } else if (type == "content_block_delta" && e.contains("delta")) {
        const sdk::Json& d = e["delta"];
        const std::string kind = d.value("type", "");
        if (kind == "text_delta") {
          const std::string text = utf8.push(d.value("text", ""));
          if (!text.empty()) {
            ++deltas;
            if (!sink.delta(text)) return false;
          }
        } else if (kind == "input_json_delta") {
          const auto it = tool_index_of_block.find(e.value("index", std::int64_t{0}));
          if (it == tool_index_of_block.end())
            throw sdk::Error("upstream_protocol", "Anthropic sent input_json_delta for a block that is not a tool_use");
          if (!sink.emit(sdk::ChatEvent::tool_call_of(it->second, "", "", d.value("partial_json", "")))) return false;
        }
      } else if (type == "message_delta") {
        if (e.contains("delta") && e["delta"].contains("stop_reason") && e["delta"]["stop_reason"].is_string())
          stop_reason = e["delta"]["stop_reason"].get<std::string>();
        if (e.contains("usage") && e["usage"].is_object())
          output_tokens = e["usage"].value("output_tokens", output_tokens);
      } else if (type == "message_stop") {
        done = true;
      }
      return true;
    };

    const sp::HttpResult result = client_.perform(
        req, sp::http_settings_from(request.config), [&](std::string_view bytes) { return parser.feed(bytes, on_event); },
        [&] { return sink.alive(); });
    if (result.cancelled || sink.stopped()) return;
    if (result.status < 200 || result.status >= 300) sp::throw_for_status(result, model, secret);
    if (!done && result.body_complete) parser.finish(on_event);
    if (sink.stopped()) return;
    // Complete only on Anthropic's own end marker.
    if (!done) {
      if (result.idle_timeout)
        throw sdk::Error("upstream_timeout", "Anthropic stalled mid-stream for longer than idle_timeout_ms");
      throw sdk::Error("upstream_protocol", "Anthropic's stream ended without message_stop");
    }
    const std::string rest = utf8.flush();
    if (!rest.empty() && !sink.delta(rest)) return;
    sink.emit(sdk::ChatEvent::usage_of(input_tokens, output_tokens > 0 ? output_tokens : deltas, details));
    sink.emit(sdk::ChatEvent::done(finish_reason_of(stop_reason)));
  }

 private:
  // OpenAI's tools and tool_choice as Anthropic's.
  static void add_tools(const sdk::ChatRequest& request, sdk::Json& body) {
    if (!request.tools.is_array() || request.tools.empty()) return;
    sdk::Json tools = sdk::Json::array();
    for (const auto& t : request.tools) {
      const sdk::Json& f = t.at("function");
      sdk::Json tool = {{"name", f.at("name")},
                        {"input_schema", f.contains("parameters") ? f["parameters"] : sdk::Json{{"type", "object"}}}};
      if (f.contains("description")) tool["description"] = f["description"];
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
    sdk::Json choice;
    if (request.tool_choice == "none") choice = {{"type", "none"}};
    else if (request.tool_choice == "required") choice = {{"type", "any"}};
    else if (request.tool_choice.is_object() && request.tool_choice.contains("function"))
      choice = {{"type", "tool"}, {"name", request.tool_choice["function"].value("name", "")}};
    else if (request.parallel_tool_calls == false) choice = {{"type", "auto"}};
    if (request.parallel_tool_calls == false && choice.is_object()) choice["disable_parallel_tool_use"] = true;
    if (!choice.is_null()) body["tool_choice"] = std::move(choice);
  }

  static std::string api_key(const sdk::Json& config) {
    std::string key = sp::config_value<std::string>(config, "api_key", "");
    if (key.empty()) {
      const std::string env = sp::config_value<std::string>(config, "api_key_env", "");
      if (!env.empty())
        if (const char* v = std::getenv(env.c_str())) key = v;
    }
    return key;
  }

  static sp::HttpRequest base_request(const sdk::Json& config, const char* method, const char* path) {
    sp::HttpRequest req;
    req.method = method;
    req.url = sp::Url::parse(sp::config_value<std::string>(config, "base_url", ""));
    req.path = path;
    const std::string key = api_key(config);
    const std::string version = sp::config_value<std::string>(config, "anthropic_version", kDefaultVersion);
    // A line break would let a value write headers of its own; the message names the field only.
    if (key.find_first_of("\r\n") != std::string::npos) throw sdk::Error("invalid_config", "api_key contains a line break");
    if (version.find_first_of("\r\n") != std::string::npos)
      throw sdk::Error("invalid_config", "anthropic_version contains a line break");
    if (!key.empty()) req.headers.emplace_back("x-api-key", key);
    req.headers.emplace_back("anthropic-version", version.empty() ? kDefaultVersion : version);
    return req;
  }

  mutable sp::HttpClient client_;
};

}  // namespace

SB_EXPORT_PROVIDER(AnthropicProvider)
