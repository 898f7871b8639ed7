// File: plugins/openai_compatible/openai_provider.cpp
//
// The provider for OpenAI and every server that speaks its API (vLLM,
// llama.cpp server, LM Studio, DeepSeek, Groq, OpenRouter...):
// POST {base_url}/chat/completions (streamed as SSE, or whole when the client
// asked for the reply whole), POST {base_url}/embeddings, GET {base_url}/models.
// It sends what the client sent and nothing more: the OpenAI message model,
// tools, response_format, and every field it does not map, verbatim.
#include "bounded_json.h"
#include "http_client.h"
#include "openai_chunk.h"
#include "plugin_settings.h"
#include "stream_parsers.h"
#include "upstream_errors.h"

#include <switchboard/provider.hpp>

#include <cstdlib>
#include <functional>

namespace sdk = switchboard::sdk;
namespace sp = switchboard::plugins;

namespace {

// A message as OpenAI's API takes it.
sdk::Json message_json(const sdk::Message& m) {
  sdk::Json j = {{"role", m.role}};
  if (!m.parts.empty()) {
    sdk::Json parts = sdk::Json::array();
    for (const auto& p : m.parts) {
      if (p.type == "image_url") {
        sdk::Json image = {{"url", p.image_url}};
        if (!p.detail.empty()) image["detail"] = p.detail;
        parts.push_back({{"type", "image_url"}, {"image_url", std::move(image)}});
      } else {
        parts.push_back({{"type", "text"}, {"text", p.text}});
      }
    }
    j["content"] = std::move(parts);
  } else {
    j["content"] = m.content_null ? sdk::Json(nullptr) : sdk::Json(m.content);
  }
  if (!m.name.empty()) j["name"] = m.name;
  if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
  if (!m.tool_calls.empty()) {
    j["tool_calls"] = sdk::Json::array();
    for (const auto& c : m.tool_calls)
      j["tool_calls"].push_back(
          {{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  }
  return j;
}

// The usage fields beyond the two counts (cached, reasoning tokens...).
sdk::Json usage_details(const sdk::Json& usage) {
  sdk::Json details = usage;
  for (const char* counted : {"prompt_tokens", "completion_tokens", "total_tokens"}) details.erase(counted);
  return details;
}

class OpenAiProvider final : public sdk::Provider {
 public:
  sdk::ProviderInfo info() const override {
    return {"openai_compatible", "1.1.0", "OpenAI and every server that speaks the OpenAI chat completions API"};
  }

  // The upstream decides what it supports; this plugin forwards it all.
  sdk::Capabilities capabilities() const override { return {true, true, true, true, true}; }

  sdk::EmbedResult embed(const sdk::EmbedRequest& request) override {
    const std::string model =
        request.model.empty() ? sp::config_value<std::string>(request.config, "model_name", "") : request.model;
    sdk::Json body = request.extra.is_object() ? request.extra : sdk::Json::object();
    body["model"] = model;
    body["input"] = request.input;
    body["encoding_format"] = "float";
    sdk::ChatRequest r;
    r.config = request.config;
    sp::HttpRequest req = base_request(r, "POST", "/embeddings");
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body.dump(-1, ' ', false, sdk::Json::error_handler_t::replace);
    const sdk::Json answer = whole_json(req, r, model, [] { return true; });
    sdk::EmbedResult result;
    try {
      for (const auto& item : answer.at("data")) result.vectors.push_back(item.at("embedding").get<std::vector<double>>());
      if (answer.contains("usage") && answer["usage"].is_object())
        result.prompt_tokens = answer["usage"].value("prompt_tokens", std::int64_t{0});
    } catch (const sdk::Json::exception&) {
      throw sdk::Error("upstream_protocol", "the upstream's embeddings answer has no data[].embedding lists");
    }
    return result;
  }

  sdk::Json default_config() const override {
    sdk::Json d = {{"base_url", "https://api.openai.com/v1"},
                   {"model_name", "gpt-4o-mini"},
                   {"api_key", ""},
                   {"api_key_env", "OPENAI_API_KEY"},
                   {"headers", sdk::Json::object()},
                   {"extra_body", sdk::Json::object()}};
    d.update(sp::http_settings_defaults());
    return d;
  }

  sdk::Json config_schema() const override {
    auto field = [](const char* type, const char* description) {
      return sdk::Json{{"type", type}, {"description", description}};
    };
    // Marks the host reads: a secret is sealed at rest, never shown, and
    // sent only to the origin it was entered for; an env field names a host
    // variable, allowed only by the operator.
    auto secret = [](sdk::Json f) { f["secret"] = true; return f; };
    auto env = [](sdk::Json f) { f["env"] = true; return f; };
    auto with_secret_keys = [](sdk::Json f, std::initializer_list<const char*> keys) {
      f["secret_keys"] = sdk::Json::array();
      for (const char* k : keys) f["secret_keys"].push_back(k);
      return f;
    };
    auto bounded = [&](const char* type, const char* description, int minimum, int maximum) {
      sdk::Json f = field(type, description);
      f["minimum"] = minimum;
      f["maximum"] = maximum;
      return f;
    };
    sdk::Json s = {{"base_url", field("string", "API root, e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1")},
                   {"model_name", field("string", "the model to ask for")},
                   {"api_key", secret(field("string", "bearer token (write-only)"))},
                   {"api_key_env", env(field("string", "environment variable holding the bearer token, used when api_key "
                                                       "is empty; the host allows only variables its operator named"))},
                   {"headers", with_secret_keys(field("object", "extra request headers, e.g. HTTP-Referer for OpenRouter, "
                                                                "OpenAI-Organization; credentials among them are write-only"),
                                                {"Authorization", "Proxy-Authorization", "X-Api-Key", "Api-Key"})},
                   {"extra_body", field("object", "extra fields merged into every request body (top_p, seed, ...)")},
                   {"top_p", bounded("number", "nucleus sampling", 0, 1)},
                   {"stop", {{"type", sdk::Json::array({"string", "array"})}, {"description", "stop sequence(s)"}}},
                   {"seed", field("integer", "sampling seed")},
                   {"presence_penalty", bounded("number", "penalty for tokens already present", -2, 2)},
                   {"frequency_penalty", bounded("number", "penalty by token frequency", -2, 2)}};
    s.update(sp::http_settings_schema());
    return s;
  }

  std::vector<std::string> list_models(const sdk::Json& config) const override {
    sdk::ChatRequest r;
    r.config = config;
    return sp::fetch_names(client_, base_request(r, "GET", "/models"), sp::http_settings_from(r.config), "data", "id",
                           api_key(r));
  }

  void chat(const sdk::ChatRequest& request, sdk::Sink& sink) override {
    const std::string model =
        request.model.empty() ? sp::config_value<std::string>(request.config, "model_name", "") : request.model;
    if (model.empty()) throw sdk::Error("invalid_config", "no model: set model_name in the config");

    // Only what the client sent: an absent temperature or limit is the upstream's default.
    sdk::Json body = {{"model", model}};
    sdk::Json messages = sdk::Json::array();
    for (const auto& m : request.messages) messages.push_back(message_json(m));
    body["messages"] = std::move(messages);
    if (request.temperature) body["temperature"] = *request.temperature;
    if (request.max_tokens) body[request.max_tokens_is_completion ? "max_completion_tokens" : "max_tokens"] = *request.max_tokens;
    for (const auto& [key, value] : {std::pair{"tools", &request.tools}, std::pair{"tool_choice", &request.tool_choice},
                                     std::pair{"parallel_tool_calls", &request.parallel_tool_calls},
                                     std::pair{"response_format", &request.response_format}})
      if (!value->is_null()) body[key] = *value;
    // The host flattens a stored config's options to the top level; another host
    // may hand them over nested, so both places are read (top level wins).
    const sdk::Json options = sp::config_value<sdk::Json>(request.config, "options", sdk::Json::object());
    if (options.is_object() && options.contains("extra_body") && options["extra_body"].is_object())
      for (const auto& [k, v] : options["extra_body"].items()) body[k] = v;
    const sdk::Json extra = sp::config_value<sdk::Json>(request.config, "extra_body", sdk::Json::object());
    if (extra.is_object())
      for (const auto& [k, v] : extra.items()) body[k] = v;
    // From the request, else the config's options.
    for (const char* passthrough : {"top_p", "stop", "seed", "presence_penalty", "frequency_penalty"}) {
      const sdk::Json value = request.option<sdk::Json>(passthrough, nullptr);
      if (!value.is_null()) body[passthrough] = value;
    }
    // Streamed only when the client streams (OpenAI's default is a whole
    // answer), with the client's stream_options; without any, usage is asked
    // for, so the host can count the reply.
    body.erase("stream");
    body.erase("stream_options");
    if (request.stream) {
      body["stream"] = true;
      body["stream_options"] = request.stream_options.is_object() ? request.stream_options
                                                                   : sdk::Json{{"include_usage", true}};
    }
    // Every field of the client's request that nothing above maps, as it came.
    if (request.extra.is_object())
      for (const auto& [k, v] : request.extra.items()) body[k] = v;
    if (!request.stream) return chat_whole(request, std::move(body), model, sink);

    sp::HttpRequest req = base_request(request, "POST", "/chat/completions");
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Accept", "text/event-stream");
    req.body = body.dump(-1, ' ', false, sdk::Json::error_handler_t::replace);

    sp::SseParser parser;
    sp::ChunkFields fields;
    sp::Utf8Holdback utf8;
    bool done = false;
    std::string finish_reason;
    std::int64_t prompt_tokens = 0, completion_tokens = 0, deltas = 0;
    sdk::Json details = sdk::Json::object();
    const std::string secret = api_key(request);

    auto on_event = [&](const std::string& data) {
      if (done) return true;  // read on to the end so the connection can be reused
      if (data == "[DONE]") {
        done = true;
        return true;
      }
      // The common chunk (a piece of text, a finish_reason) is read without a JSON document.
      switch (sp::read_chunk(data, fields)) {
        case sp::ChunkRead::NotJson:
          throw sdk::Error("upstream_protocol", "the upstream sent a malformed stream event (not JSON)");
        case sp::ChunkRead::TooDeep:
          throw sdk::Error("upstream_protocol", "the upstream sent a stream event nested deeper than " +
                                                    std::to_string(sp::kMaxUpstreamDepth) + " levels");
        case sp::ChunkRead::Ok: break;
      }
      if (!fields.object) return true;
      if (!fields.needs_dom) {
        if (fields.has_content) {
          const std::string text = utf8.push(fields.content);
          if (!text.empty()) {
            ++deltas;
            if (!sink.delta_held(text)) return false;  // the client's write waits for the end of this read
          }
        }
        if (fields.has_finish_reason) finish_reason = fields.finish_reason;
        return true;
      }
      const sdk::Json chunk = sdk::Json::parse(data);  // valid and at most kMaxUpstreamDepth deep: read above
      if (chunk.contains("error")) {
        const std::string message = sp::redact(sp::upstream_message(data), secret);
        throw sdk::Error("upstream_error", "the upstream failed mid-stream: " + (message.empty() ? "(no message)" : message));
      }
      if (chunk.contains("usage") && chunk["usage"].is_object()) {
        prompt_tokens = chunk["usage"].value("prompt_tokens", prompt_tokens);
        completion_tokens = chunk["usage"].value("completion_tokens", completion_tokens);
        details = usage_details(chunk["usage"]);
      }
      if (chunk.contains("choices") && chunk["choices"].is_array() && !chunk["choices"].empty()) {
        const auto& choice = chunk["choices"][0];
        if (choice.contains("delta") && choice["delta"].is_object()) {
          const auto& delta = choice["delta"];
          if (delta.contains("content") && delta["content"].is_string()) {
            const std::string text = utf8.push(delta["content"].get<std::string>());
            if (!text.empty()) {
              ++deltas;
              if (!sink.delta_held(text)) return false;
            }
          }
          // Tool calls go through piece by piece, as the upstream streamed them.
          if (delta.contains("tool_calls") && delta["tool_calls"].is_array()) {
            for (const auto& call : delta["tool_calls"]) {
              if (!call.is_object()) continue;
              const sdk::Json f = call.contains("function") && call["function"].is_object() ? call["function"] : sdk::Json::object();
              const auto str = [](const sdk::Json& j, const char* k) {
                return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
              };
              ++deltas;
              if (!sink.emit(sdk::ChatEvent::tool_call_of(call.value("index", 0), str(call, "id"), str(f, "name"),
                                                          str(f, "arguments"))))
                return false;
            }
          }
        }
        if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
          finish_reason = choice["finish_reason"].get<std::string>();
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
    // Complete only on the upstream's own end marker; a cut or stalled stream is an error.
    if (!done && finish_reason.empty()) {
      if (result.idle_timeout)
        throw sdk::Error("upstream_timeout", "the upstream stalled mid-stream for longer than idle_timeout_ms");
      throw sdk::Error("upstream_protocol", "the upstream stream ended without [DONE] or a finish_reason");
    }
    const std::string rest = utf8.flush();
    if (!rest.empty() && !sink.delta(rest)) return;
    sink.emit(sdk::ChatEvent::usage_of(prompt_tokens, completion_tokens > 0 ? completion_tokens : deltas, details));
    sink.emit(sdk::ChatEvent::done(finish_reason.empty() ? "stop" : finish_reason));
  }

  std::uint64_t connections_opened() const { return client_.connections_opened(); }

 private:
  // Caps a whole (non-streamed) answer: larger than any reply the host keeps.
  static constexpr std::size_t kMaxWholeBody = std::size_t{16} << 20;

  // Sends `req` and returns its whole 2xx body as JSON; an error status
  // becomes the matching sdk::Error.
  sdk::Json whole_json(const sp::HttpRequest& req, const sdk::ChatRequest& request, const std::string& model,
                       const std::function<bool()>& alive) const {
    std::string answer;
    bool too_large = false;
    const sp::HttpResult result = client_.perform(
        req, sp::http_settings_from(request.config),
        [&](std::string_view bytes) {
          if (answer.size() + bytes.size() > kMaxWholeBody) {
            too_large = true;
            return false;
          }
          answer.append(bytes);
          return true;
        },
        alive);
    if (result.cancelled) return nullptr;
    if (result.status < 200 || result.status >= 300) sp::throw_for_status(result, model, api_key(request));
    if (too_large) throw sdk::Error("upstream_protocol", "the upstream's answer is larger than 16 MiB");
    if (!result.body_complete) {
      if (result.idle_timeout) throw sdk::Error("upstream_timeout", "the upstream stalled for longer than idle_timeout_ms");
      throw sdk::Error("upstream_protocol", "the upstream's answer was cut off");
    }
    try {
      // Copied and destroyed recursively below, on a worker's small stack: nesting is bounded first.
      return sp::parse_bounded(answer, "the upstream's answer");
    } catch (const sdk::Json::exception&) {
      throw sdk::Error("upstream_protocol", "the upstream's answer is not JSON");
    }
  }

  // stream: false — one call, one whole answer, replayed as events.
  void chat_whole(const sdk::ChatRequest& request, sdk::Json body, const std::string& model, sdk::Sink& sink) const {
    sp::HttpRequest req = base_request(request, "POST", "/chat/completions");
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body.dump(-1, ' ', false, sdk::Json::error_handler_t::replace);
    const sdk::Json answer = whole_json(req, request, model, [&] { return sink.alive(); });
    if (sink.stopped() || answer.is_null()) return;
    if (!answer.is_object() || !answer.contains("choices") || !answer["choices"].is_array() || answer["choices"].empty())
      throw sdk::Error("upstream_protocol", "the upstream's answer has no choices");
    const sdk::Json& choice = answer["choices"][0];
    const sdk::Json message = choice.contains("message") && choice["message"].is_object() ? choice["message"] : sdk::Json::object();
    if (message.contains("content") && message["content"].is_string() && !message["content"].get<std::string>().empty())
      if (!sink.delta(message["content"].get<std::string>())) return;
    if (message.contains("tool_calls") && message["tool_calls"].is_array()) {
      int index = 0;
      for (const auto& call : message["tool_calls"]) {
        const sdk::Json f = call.contains("function") && call["function"].is_object() ? call["function"] : sdk::Json::object();
        if (!sink.emit(sdk::ChatEvent::tool_call_of(index++, call.value("id", std::string()), f.value("name", std::string()),
                                                    f.value("arguments", std::string()))))
          return;
      }
    }
    std::int64_t prompt = 0, completion = 0;
    sdk::Json details = sdk::Json::object();
    if (answer.contains("usage") && answer["usage"].is_object()) {
      prompt = answer["usage"].value("prompt_tokens", std::int64_t{0});
      completion = answer["usage"].value("completion_tokens", std::int64_t{0});
      details = usage_details(answer["usage"]);
    }
    sink.emit(sdk::ChatEvent::usage_of(prompt, completion, details));
    const std::string reason = choice.contains("finish_reason") && choice["finish_reason"].is_string()
                                   ? choice["finish_reason"].get<std::string>()
                                   : "stop";
    sink.emit(sdk::ChatEvent::done(reason));
  }

  static std::string api_key(const sdk::ChatRequest& r) {
    std::string key = sp::config_value<std::string>(r.config, "api_key", "");
    if (key.empty()) {
      const std::string env = sp::config_value<std::string>(r.config, "api_key_env", "");
      if (!env.empty())
        if (const char* v = std::getenv(env.c_str())) key = v;
    }
    return key;
  }

  static sp::HttpRequest base_request(const sdk::ChatRequest& r, const char* method, const char* path) {
    sp::HttpRequest req;
    req.method = method;
    req.url = sp::Url::parse(sp::config_value<std::string>(r.config, "base_url", ""));
    req.path = path;
    const std::string key = api_key(r);
    // A line break in the key would let it write headers of its own; the
    // message names the field only, never the value.
    if (key.find_first_of("\r\n") != std::string::npos)
      throw sdk::Error("invalid_config", "api_key contains a line break");
    if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
    const sdk::Json headers = sp::config_value<sdk::Json>(r.config, "headers", sdk::Json::object());
    if (headers.is_object())
      for (const auto& [name, value] : headers.items())
        if (value.is_string() && name.find_first_of("\r\n:") == std::string::npos &&
            value.get<std::string>().find_first_of("\r\n") == std::string::npos)
          req.headers.emplace_back(name, value.get<std::string>());
    return req;
  }

  mutable sp::HttpClient client_;
};

}  // namespace

SB_EXPORT_PROVIDER(OpenAiProvider)
