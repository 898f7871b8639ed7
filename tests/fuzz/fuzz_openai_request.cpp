// File: tests/fuzz/fuzz_openai_request.cpp
//
// Fuzz target for the /v1 request parsers (host/http/openai_request.cpp).
// The first byte picks the parser. Properties: no crash and no exception
// escapes; parsing is deterministic; a parsed chat request has messages, each
// tool message its call id, and never an interpreted field among its extras;
// a refusal is a 4xx naming a code.
#include "fuzz_driver.h"

#include "host/http/openai_request.h"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using namespace switchboard::http;

void check_chat(const std::string& body) {
  ParsedChatRequest a, b;
  const auto ea = parse_chat_request(body, a);
  const auto eb = parse_chat_request(body, b);
  if (ea.has_value() != eb.has_value()) std::abort();
  if (ea) {
    if (ea->status < 400 || ea->status > 499 || ea->code.empty() || ea->message != eb->message) std::abort();
    return;
  }
  const auto& call = a.request.call;
  if (call.messages.empty() || call.messages.size() != b.request.call.messages.size()) std::abort();
  for (const auto& [name, value] : call.extra)
    if (name == "model" || name == "messages" || name == "tools" || name == "stream" || value.empty()) std::abort();
  if (call.stream != a.stream) std::abort();
}

void check_embedding(const std::string& body) {
  ParsedEmbeddingRequest a;
  const auto e = parse_embedding_request(body, a);
  if (e) {
    if (e->status < 400 || e->status > 499 || e->code.empty()) std::abort();
    return;
  }
  if (a.request.call.input.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] & 1) check_embedding(body);
    else check_chat(body);
  } catch (...) {
    std::abort();  // a parser answers with an error value, never an exception
  }
  return 0;
}

namespace switchboard::fuzz {

// Whole requests, valid and not, for both parsers (the first byte picks one).
std::vector<std::string> seeds() {
  return {
      std::string("\x00") + R"({"model":"m","messages":[{"role":"user","content":"hi"}]})",
      std::string("\x00") + R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},)"
                             R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AA","detail":"low"}}]}],)"
                             R"("tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto","seed":1})",
      std::string("\x00") + R"({"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c",)"
                             R"("type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool",)"
                             R"("tool_call_id":"c","content":"x"}],"response_format":{"type":"json_schema","json_schema":{}}})",
      std::string("\x00") + R"({"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}],"max_tokens":1e400})",
      std::string("\x01") + R"({"model":"m","input":["a","b"],"encoding_format":"base64","dimensions":4})",
      std::string("\x01") + R"({"model":"m","input":[[1,2]]})",
      // 20,000 levels where content and stop go: refused at the nesting limit, before parsing.
      std::string("\x00") + R"({"model":"m","messages":[{"role":"user","content":)" + std::string(20000, '[') +
          std::string(20000, ']') + "}]}",
      std::string("\x00") + R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":)" +
          std::string(20000, '[') + std::string(20000, ']') + "}",
      // Found by libFuzzer in the parser this one replaced: a content part whose type is a number.
      std::string("\x00") + R"({"model":"m]","messages":[{"role":"user","content":[{"type":4673,"mxt":"a"}]}],"modestop":["x"]})",
  };
}

std::vector<std::string> alphabet() {
  return {"{", "}", "[", "]", ",", ":", "\"model\"", "\"messages\"", "\"role\"", "\"content\"", "\"user\"",
          "\"tool\"", "\"assistant\"", "\"tool_calls\"", "\"tool_call_id\"", "\"tools\"", "\"function\"",
          "\"name\"", "\"type\"", "\"text\"", "\"image_url\"", "\"url\"", "\"data:x;base64,AA\"",
          "\"response_format\"", "\"json_schema\"", "\"stream\"", "\"stream_options\"", "\"include_usage\"",
          "\"input\"", "\"encoding_format\"", "\"max_completion_tokens\"", "\"temperature\"", "\"seed\"", "null",
          "true", "1", "-1", "0.5", "1e400", "18446744073709551615", "\"\\u0000\"", "\"\xff\""};
}

}  // namespace switchboard::fuzz
