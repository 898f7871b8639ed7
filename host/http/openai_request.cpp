// File: host/http/openai_request.cpp
//
// Parsing of /v1 request bodies: strict about the types of what the door
// reads, and every other field kept, as it came, for the provider.
#include "host/http/openai_request.h"

#include "host/http/api_json.h"
#include "host/http/json_response.h"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace switchboard::http {

namespace {

OpenAiError bad_request(const std::string& param, const std::string& message) {
  return {400, "invalid_request_error", "invalid_" + param, message, param};
}

// Fields of a chat request the door reads itself; every other field goes to
// the provider as "extra" (passed through, or refused when it cannot be).
bool interpreted(const std::string& key) {
  static const char* const kKeys[] = {"model", "messages", "stream", "stream_options", "temperature", "max_tokens",
                                      "max_completion_tokens", "n", "top_p", "stop", "tools", "tool_choice",
                                      "parallel_tool_calls", "response_format"};
  for (const char* k : kKeys)
    if (key == k) return true;
  return false;
}

std::optional<OpenAiError> parse_content(const Json& c, ChatMessage& out) {
  if (c.is_string()) {
    out.content = c.get<std::string>();
    return std::nullopt;
  }
  if (c.is_null()) {
    out.content_null = true;
    return std::nullopt;
  }
  if (!c.is_array()) return bad_request("messages", "message content must be a string, null or an array of parts");
  for (const auto& part : c) {
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      return bad_request("messages", "each content part needs a string type");
    const std::string& type = part["type"].get_ref<const std::string&>();
    ContentPart p;
    if (type == "text") {
      if (!part.contains("text") || !part["text"].is_string()) return bad_request("messages", "a text part needs a string text");
      p.text = part["text"].get<std::string>();
      out.content += p.text;
    } else if (type == "image_url") {
      const Json image = part.contains("image_url") ? part["image_url"] : Json(nullptr);
      if (!image.is_object() || !image.contains("url") || !image["url"].is_string())
        return bad_request("messages", "an image_url part needs image_url.url");
      p.type = ContentPart::Type::ImageUrl;
      p.url = image["url"].get<std::string>();
      if (p.url.rfind("data:", 0) != 0 && p.url.rfind("https://", 0) != 0 && p.url.rfind("http://", 0) != 0)
        return bad_request("messages", "an image_url must be a data: or an https: URL");
      if (image.contains("detail")) {
        if (!image["detail"].is_string()) return bad_request("messages", "image_url.detail must be a string");
        p.detail = image["detail"].get<std::string>();
      }
    } else {
      // Refused, not dropped: audio and file parts have no provider mapping yet.
      return bad_request("messages", "content parts of type \"" + type + "\" are not supported (text and image_url are)");
    }
    out.parts.push_back(std::move(p));
  }
  return std::nullopt;
}

std::optional<OpenAiError> parse_message(const Json& m, ChatMessage& out) {
  if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
    return bad_request("messages", "each message needs a string role");
  out.role = m["role"].get<std::string>();
  if (out.role == "developer") out.role = "system";  // OpenAI's newer name for system
  if (auto e = parse_content(m.contains("content") ? m["content"] : Json(nullptr), out)) return e;
  if (m.contains("name") && !m["name"].is_null()) {
    if (!m["name"].is_string()) return bad_request("messages", "message name must be a string");
    out.name = m["name"].get<std::string>();
  }
  if (m.contains("tool_call_id") && !m["tool_call_id"].is_null()) {
    if (!m["tool_call_id"].is_string()) return bad_request("messages", "tool_call_id must be a string");
    out.tool_call_id = m["tool_call_id"].get<std::string>();
  }
  if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
    const Json& calls = m["tool_calls"];
    if (!calls.is_array()) return bad_request("messages", "tool_calls must be an array");
    for (const auto& c : calls) {
      if (!c.is_object() || !c.contains("id") || !c["id"].is_string() || !c.contains("function") ||
          !c["function"].is_object() || !c["function"].contains("name") || !c["function"]["name"].is_string())
        return bad_request("messages", "each tool call needs a string id and function.name");
      const Json& f = c["function"];
      if (f.contains("arguments") && !f["arguments"].is_string())
        return bad_request("messages", "function.arguments must be a string (JSON text)");
      out.tool_calls.push_back({c["id"].get<std::string>(), f["name"].get<std::string>(),
                                f.value("arguments", std::string())});
    }
  }
  if (out.content_null && out.tool_calls.empty() && out.role != "assistant")
    return bad_request("messages", "message content must not be null");
  return std::nullopt;
}

// Parses the body strictly about the types of what the door reads; every
// other field is kept, as it came, for the provider.
}  // namespace

namespace {

// What both /v1 bodies start with: a JSON object (bounded nesting; a bad
// number is a 400 too) naming a model.
std::optional<OpenAiError> parse_door_body(const std::string& body, Json& j, std::string& model) {
  try {
    j = parse_json_body(body);
  } catch (const HttpError& e) {
    return OpenAiError{400, "invalid_request_error", e.code, e.message, ""};
  }
  if (!j.is_object()) return OpenAiError{400, "invalid_request_error", "invalid_json", "body must be a JSON object", ""};
  if (!j.contains("model") || !j["model"].is_string()) return bad_request("model", "model must be a string naming an LLM config");
  model = j["model"].get<std::string>();
  return std::nullopt;
}

}  // namespace

std::optional<OpenAiError> parse_chat_request(const std::string& body, ParsedChatRequest& out) {
  Json j;
  if (auto error = parse_door_body(body, j, out.request.model)) return error;
  if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())
    return bad_request("messages", "messages must be a non-empty array");
  ProviderRequest& call = out.request.call;
  for (const auto& m : j["messages"]) {
    ChatMessage message;
    if (auto e = parse_message(m, message)) return e;
    call.messages.push_back(std::move(message));
  }
  auto present = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
  try {
    if (present("temperature")) {
      if (!j["temperature"].is_number()) return bad_request("temperature", "temperature must be a number");
      call.temperature = j["temperature"].get<double>();
    }
    for (const char* key : {"max_completion_tokens", "max_tokens"}) {
      if (present(key)) {
        if (!j[key].is_number_integer() || (j[key].is_number_unsigned() && j[key].get<std::uint64_t>() > INT64_MAX))
          return bad_request(key, std::string(key) + " must be an integer within range");
        call.max_tokens = j[key].get<std::int64_t>();
        call.max_tokens_is_completion = std::string_view(key) == "max_completion_tokens";
        break;
      }
    }
    if (present("n") && j["n"] != 1) return bad_request("n", "only n = 1 is supported");
    if (present("stream")) {
      if (!j["stream"].is_boolean()) return bad_request("stream", "stream must be a boolean");
      out.stream = j["stream"].get<bool>();
    }
    call.stream = out.stream;
    if (present("stream_options")) {
      const Json& o = j["stream_options"];
      if (!o.is_object() || (o.contains("include_usage") && !o["include_usage"].is_boolean()))
        return bad_request("stream_options", "stream_options must be an object; include_usage a boolean");
      out.include_usage = o.value("include_usage", false);
      call.stream_options_json = dump(o);
    }
    Json options = Json::object();
    if (present("top_p")) {
      if (!j["top_p"].is_number()) return bad_request("top_p", "top_p must be a number");
      options["top_p"] = j["top_p"];
    }
    if (present("stop")) {
      if (!j["stop"].is_string() && !j["stop"].is_array()) return bad_request("stop", "stop must be a string or an array");
      options["stop"] = j["stop"];
    }
    call.options_json = options.dump();
    if (present("tools")) {
      if (!j["tools"].is_array()) return bad_request("tools", "tools must be an array");
      for (const auto& t : j["tools"])
        if (!t.is_object() || !t.contains("function") || !t["function"].is_object() || !t["function"].contains("name") ||
            !t["function"]["name"].is_string())
          return bad_request("tools", "each tool needs function.name");
      call.tools_json = dump(j["tools"]);
    }
    if (present("tool_choice")) {
      if (!j["tool_choice"].is_string() && !j["tool_choice"].is_object())
        return bad_request("tool_choice", "tool_choice must be a string or an object");
      call.tool_choice_json = dump(j["tool_choice"]);
    }
    if (present("parallel_tool_calls")) {
      if (!j["parallel_tool_calls"].is_boolean())
        return bad_request("parallel_tool_calls", "parallel_tool_calls must be a boolean");
      call.parallel_tool_calls_json = dump(j["parallel_tool_calls"]);
    }
    if (present("response_format")) {
      const Json& f = j["response_format"];
      if (!f.is_object() || !f.contains("type") || !f["type"].is_string())
        return bad_request("response_format", "response_format must be an object with a string type");
      call.response_format_type = f["type"].get<std::string>();
      if (call.response_format_type == "json_schema" &&
          (!f.contains("json_schema") || !f["json_schema"].is_object()))
        return bad_request("response_format", "response_format json_schema needs a json_schema object");
      call.response_format_json = dump(f);
    }
    for (const auto& [key, value] : j.items())
      if (!interpreted(key)) call.extra.emplace_back(key, dump(value));
  } catch (const Json::exception& e) {
    return OpenAiError{400, "invalid_request_error", "invalid_request", e.what(), ""};
  }
  return std::nullopt;
}

std::optional<OpenAiError> parse_embedding_request(const std::string& body, ParsedEmbeddingRequest& out) {
  Json j;
  if (auto error = parse_door_body(body, j, out.request.model)) return error;
  const Json input = j.contains("input") ? j["input"] : Json(nullptr);
  if (input.is_string()) {
    out.request.call.input.push_back(input.get<std::string>());
  } else if (input.is_array() && !input.empty()) {
    for (const auto& t : input) {
      if (!t.is_string()) return bad_request("input", "input must be a string or an array of strings (token arrays are not supported)");
      out.request.call.input.push_back(t.get<std::string>());
    }
  } else {
    return bad_request("input", "input must be a string or a non-empty array of strings");
  }
  if (out.request.call.input.size() > 2048) return bad_request("input", "input may hold at most 2048 texts");
  if (j.contains("encoding_format") && !j["encoding_format"].is_null()) {
    const Json& f = j["encoding_format"];
    if (f != "float" && f != "base64") return bad_request("encoding_format", "encoding_format must be float or base64");
    out.base64 = f == "base64";
  }
  for (const auto& [key, value] : j.items())
    if (key != "model" && key != "input" && key != "encoding_format") out.request.call.extra.emplace_back(key, dump(value));
  return std::nullopt;
}

}  // namespace switchboard::http
