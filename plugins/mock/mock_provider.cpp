// File: plugins/mock/mock_provider.cpp
//
// The offline, deterministic provider: what a new user chats with on first
// start and what every test drives. Models:
//   mock-echo     echoes the last user message back, a word per delta
//   mock-inspect  replies with a JSON summary of exactly what it received
//   mock-tokens   replies "tok1 tok2 ... tokN" (N from the `tokens` option, default 16)
//   mock-tools    the tool-calling model: with tools declared it calls one (the
//                 tool_choice's, else the first) with arguments derived from the
//                 last user message; after a tool result it answers from it
//   mock-vision   describes the images it was sent: their count and media types
// Any model answers with JSON when response_format asks for it (an instance
// of the json_schema, or {"reply": ...}); embeddings are deterministic unit
// vectors of a hash of each text (8 dimensions, or the request's "dimensions").
// Options (request `options`, else config `options`, else config field):
//   delay_ms            pause before each delta (cancellation is honoured during it)
//   fail_before_first   fail with `mock_failure` before any delta
//   fail_after          fail with `mock_failure` after N deltas
//   tokens              reply with N tokens (any model)
#include <switchboard/provider.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace sdk = switchboard::sdk;

namespace {

constexpr std::int64_t kMaxDelayMs = 10000;
constexpr std::int64_t kMaxTokens = 100000;

// Splits text into words, each keeping its following whitespace, so that the
// concatenated deltas reproduce the text exactly.
std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (std::size_t i = 0; i < text.size(); ++i) {
    current += text[i];
    const bool space = text[i] == ' ' || text[i] == '\n' || text[i] == '\t';
    const bool next_is_word = i + 1 < text.size() && text[i + 1] != ' ' && text[i + 1] != '\n' &&
                              text[i + 1] != '\t';
    if (space && next_is_word) {
      out.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

std::int64_t count_words(const std::string& text) {
  std::int64_t n = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

// Sleeps `ms`, or less once the host gives up (SDK 1.2: the host sleeps on
// its client, so a pause costs no polling).
bool wait(sdk::Sink& sink, std::int64_t ms) { return sink.wait_for(std::chrono::milliseconds(ms)); }

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string last_user_text(const sdk::ChatRequest& request) {
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it)
    if (it->role == "user") return it->content;
  return "";
}

// A value of `schema`'s type made from the prompt: strings are the prompt,
// numbers its word count, booleans true; objects and arrays recurse.
sdk::Json instance_of(const sdk::Json& schema, const std::string& prompt, int depth = 0) {
  if (!schema.is_object() || depth > 8) return prompt;
  if (schema.contains("enum") && schema["enum"].is_array() && !schema["enum"].empty()) return schema["enum"][0];
  std::string type = schema.contains("type") && schema["type"].is_string() ? schema["type"].get<std::string>() : "";
  if (type.empty() && schema.contains("type") && schema["type"].is_array() && !schema["type"].empty() &&
      schema["type"][0].is_string())
    type = schema["type"][0].get<std::string>();
  if (type.empty() && schema.contains("properties")) type = "object";
  if (type == "object") {
    sdk::Json out = sdk::Json::object();
    if (schema.contains("properties") && schema["properties"].is_object())
      for (const auto& [name, sub] : schema["properties"].items()) out[name] = instance_of(sub, prompt, depth + 1);
    return out;
  }
  if (type == "array") {
    sdk::Json items = schema.contains("items") ? schema["items"] : sdk::Json::object();
    return sdk::Json::array({instance_of(items, prompt, depth + 1)});
  }
  if (type == "integer" || type == "number") return count_words(prompt);
  if (type == "boolean") return true;
  if (type == "null") return nullptr;
  return prompt;
}

class MockProvider final : public sdk::Provider {
 public:
  sdk::ProviderInfo info() const override {
    return {"mock", "1.0.0", "Offline, deterministic provider for first start and tests"};
  }

  // Everything, offline: the mock is what every case runs against.
  sdk::Capabilities capabilities() const override { return {true, true, true, true, true}; }

  sdk::EmbedResult embed(const sdk::EmbedRequest& request) override {
    std::int64_t dimensions = 8;
    if (request.extra.contains("dimensions")) {
      if (!request.extra["dimensions"].is_number_integer() || request.extra["dimensions"].get<std::int64_t>() < 1 ||
          request.extra["dimensions"].get<std::int64_t>() > 4096)
        throw sdk::Error("invalid_argument", "dimensions must be an integer from 1 to 4096");
      dimensions = request.extra["dimensions"].get<std::int64_t>();
    }
    sdk::EmbedResult result;
    for (const auto& text : request.input) {
      std::vector<double> v;
      double norm = 0;
      for (std::int64_t k = 0; k < dimensions; ++k) {
        const double x = static_cast<double>(fnv1a(text + "#" + std::to_string(k)) % 2001) / 1000.0 - 1.0;
        v.push_back(x);
        norm += x * x;
      }
      norm = std::sqrt(norm);
      for (double& x : v) x = norm > 0 ? x / norm : 0;
      result.vectors.push_back(std::move(v));
      result.prompt_tokens += std::max<std::int64_t>(1, count_words(text));
    }
    return result;
  }

  // Bounds keep one cheap request from holding a worker for long or building a
  // huge reply: 10 s per delta, 100,000 tokens (about 700 KB of text).
  sdk::Json config_schema() const override {
    auto field = [](const char* type, const char* description) {
      return sdk::Json{{"type", type}, {"description", description}};
    };
    auto bounded = [&](const char* description, std::int64_t maximum) {
      sdk::Json f = field("integer", description);
      f["minimum"] = 0;
      f["maximum"] = maximum;
      return f;
    };
    return {{"model_name", field("string", "mock-echo, mock-inspect or mock-tokens")},
            {"base_url", field("string", "ignored: the mock makes no network calls")},
            {"delay_ms", bounded("pause before each delta, in milliseconds", kMaxDelayMs)},
            {"fail_before_first", field("boolean", "fail with mock_failure before any delta")},
            {"fail_after", bounded("fail with mock_failure after this many deltas", kMaxTokens)},
            {"tokens", bounded("reply with this many tokens: tok1 tok2 ...", kMaxTokens)}};
  }

  std::int64_t max_tokens_limit() const override { return kMaxTokens; }

  sdk::Json default_config() const override {
    return {{"model_name", "mock-echo"}, {"base_url", ""}};
  }

  std::vector<std::string> list_models(const sdk::Json&) const override {
    return {"mock-echo", "mock-inspect", "mock-tokens", "mock-tools", "mock-vision"};
  }

  void chat(const sdk::ChatRequest& request, sdk::Sink& sink) override {
    // The host refuses options beyond the schema's bounds; a config stored
    // before they existed is held to them here.
    const auto delay_ms = std::min(request.option<std::int64_t>("delay_ms", 0), kMaxDelayMs);
    const auto fail_after = request.option<std::int64_t>("fail_after", -1);
    const auto tokens = std::min(request.option<std::int64_t>("tokens", -1), kMaxTokens);
    if (request.option<bool>("fail_before_first", false))
      throw sdk::Error("mock_failure", "mock failure before the first delta (fail_before_first)");

    std::int64_t prompt_tokens = 0;
    for (const auto& m : request.messages) prompt_tokens += count_words(m.content);
    if (model_of(request) == "mock-tools" && tokens < 0 && call_tool(request, sink, prompt_tokens)) return;

    std::vector<std::string> pieces = split_words(reply_for(request, tokens));
    const std::int64_t limit = request.max_tokens.value_or(0);
    const bool truncated = limit > 0 && static_cast<std::int64_t>(pieces.size()) > limit;
    if (truncated) pieces.resize(static_cast<std::size_t>(limit));

    std::int64_t sent = 0;
    for (const auto& piece : pieces) {
      if (fail_after >= 0 && sent >= fail_after)
        throw sdk::Error("mock_failure", "mock failure after " + std::to_string(sent) + " deltas");
      if (delay_ms > 0 && !wait(sink, delay_ms)) return;
      if (!sink.delta(piece)) return;
      ++sent;
    }
    if (fail_after >= 0 && sent >= fail_after)
      throw sdk::Error("mock_failure", "mock failure after " + std::to_string(sent) + " deltas");
    sink.emit(sdk::ChatEvent::usage_of(prompt_tokens, sent));
    sink.emit(sdk::ChatEvent::done(truncated ? "length" : "stop"));
  }

 private:
  static std::string model_of(const sdk::ChatRequest& request) {
    return request.model.empty() ? request.config.value("model_name", std::string("mock-echo")) : request.model;
  }

  // mock-tools: a call of a declared tool when the last message is not a tool
  // result (true: the reply was sent). Its arguments fill the tool's string
  // parameters with the last user message and its numbers with its word count.
  static bool call_tool(const sdk::ChatRequest& request, sdk::Sink& sink, std::int64_t prompt_tokens) {
    if (!request.tools.is_array() || request.tools.empty()) return false;
    if (!request.messages.empty() && request.messages.back().role == "tool") return false;
    if (request.tool_choice.is_string() && request.tool_choice == "none") return false;
    const sdk::Json* tool = &request.tools[0];
    if (request.tool_choice.is_object() && request.tool_choice.contains("function")) {
      const auto wanted = request.tool_choice["function"].value("name", std::string());
      for (const auto& t : request.tools)
        if (t.contains("function") && t["function"].value("name", std::string()) == wanted) tool = &t;
    }
    const sdk::Json& function = tool->at("function");
    const std::string name = function.at("name").get<std::string>();
    const sdk::Json parameters = function.contains("parameters") ? function["parameters"] : sdk::Json::object();
    sdk::Json arguments = instance_of(parameters, last_user_text(request));
    if (!arguments.is_object()) arguments = sdk::Json::object();
    const std::string text = arguments.dump();
    char id[32];
    std::snprintf(id, sizeof id, "call_mock_%08llx", static_cast<unsigned long long>(fnv1a(name + text) & 0xffffffffULL));
    // In three pieces, as an upstream streams them: id and name first, then the arguments in two.
    const std::size_t half = text.size() / 2;
    if (!sink.emit(sdk::ChatEvent::tool_call_of(0, id, name, ""))) return true;
    if (!sink.emit(sdk::ChatEvent::tool_call_of(0, "", "", text.substr(0, half)))) return true;
    if (!sink.emit(sdk::ChatEvent::tool_call_of(0, "", "", text.substr(half)))) return true;
    sink.emit(sdk::ChatEvent::usage_of(prompt_tokens, count_words(text)));
    sink.emit(sdk::ChatEvent::done("tool_calls"));
    return true;
  }

  // mock-tools after a tool result: the answer, from the result.
  static std::string answer_from_tool(const sdk::ChatRequest& request) {
    const sdk::Message& result = request.messages.back();
    std::string name = "tool";
    for (const auto& m : request.messages)
      for (const auto& c : m.tool_calls)
        if (c.id == result.tool_call_id) name = c.name;
    return "The " + name + " tool said: " + result.content;
  }

  // mock-vision: how many images, of which media types.
  static std::string describe_images(const sdk::ChatRequest& request) {
    std::size_t count = 0;
    std::string types;
    for (const auto& m : request.messages) {
      for (const auto& p : m.parts) {
        if (p.type != "image_url") continue;
        ++count;
        std::string type = "remote image";
        if (p.image_url.rfind("data:", 0) == 0) type = p.image_url.substr(5, p.image_url.find_first_of(";,") - 5);
        types += (types.empty() ? "" : ", ") + type;
      }
    }
    if (count == 0) return "I see no image.";
    return "I see " + std::to_string(count) + (count == 1 ? " image: " : " images: ") + types + ".";
  }

  static std::string reply_for(const sdk::ChatRequest& request, std::int64_t tokens) {
    const std::string model = model_of(request);
    if (tokens < 0 && model == "mock-tokens") tokens = 16;
    if (tokens >= 0) {
      std::string out;
      const std::int64_t n = request.max_tokens ? std::min(tokens, *request.max_tokens) : tokens;
      for (std::int64_t i = 1; i <= n; ++i) out += (i > 1 ? " tok" : "tok") + std::to_string(i);
      return out;
    }
    if (model == "mock-inspect") return inspect(request, model);
    std::string text;
    if (model == "mock-echo") {
      text = last_user_text(request);
      if (text.empty()) text = "(no user message)";
    } else if (model == "mock-tools") {
      text = !request.messages.empty() && request.messages.back().role == "tool" ? answer_from_tool(request)
                                                                                   : last_user_text(request);
    } else if (model == "mock-vision") {
      text = describe_images(request);
    } else {
      throw sdk::Error("model_not_found", "mock provider has no model '" + model +
                                              "' (use mock-echo, mock-inspect, mock-tokens, mock-tools or mock-vision)");
    }
    const std::string format = request.response_format.is_object() ? request.response_format.value("type", "") : "";
    if (format == "json_object") return sdk::Json{{"reply", text}}.dump(-1, ' ', false, sdk::Json::error_handler_t::replace);
    if (format == "json_schema") {
      const sdk::Json& spec = request.response_format["json_schema"];
      const sdk::Json schema = spec.is_object() && spec.contains("schema") ? spec["schema"] : sdk::Json::object();
      return instance_of(schema, text).dump(-1, ' ', false, sdk::Json::error_handler_t::replace);
    }
    return text;
  }

  // mock-inspect: exactly what the host sent, as JSON.
  static std::string inspect(const sdk::ChatRequest& request, const std::string& model) {
    sdk::Json messages = sdk::Json::array();
    for (const auto& m : request.messages) {
      sdk::Json j = {{"role", m.role}, {"content", m.content}};
      if (!m.name.empty()) j["name"] = m.name;
      if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
      if (!m.parts.empty()) {
        j["parts"] = sdk::Json::array();
        for (const auto& p : m.parts)
          j["parts"].push_back({{"type", p.type}, {"text", p.text}, {"image_url", p.image_url}, {"detail", p.detail}});
      }
      for (const auto& c : m.tool_calls)
        j["tool_calls"].push_back({{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}});
      messages.push_back(std::move(j));
    }
    sdk::Json seen = {{"model", model},
                      {"temperature", request.temperature ? sdk::Json(*request.temperature) : sdk::Json(nullptr)},
                      {"max_tokens", request.max_tokens ? sdk::Json(*request.max_tokens) : sdk::Json(nullptr)},
                      {"messages", messages}};
    if (request.max_tokens_is_completion) seen["max_completion_tokens"] = true;
    if (!request.stream) seen["stream"] = false;
    for (const auto& [key, value] : {std::pair{"tools", &request.tools}, std::pair{"tool_choice", &request.tool_choice},
                                     std::pair{"parallel_tool_calls", &request.parallel_tool_calls},
                                     std::pair{"response_format", &request.response_format}})
      if (!value->is_null()) seen[key] = *value;
    if (!request.extra.empty()) seen["extra"] = request.extra;
    return seen.dump(-1, ' ', false, sdk::Json::error_handler_t::replace);
  }
};

}  // namespace

SB_EXPORT_PROVIDER(MockProvider)
