// File: tests/fuzz/fuzz_openai_request.cpp
//
// Fuzz target for the /v1 request parsers (host/http/openai_request.cpp).
// The first byte picks the parser. Properties: no crash and no exception
// escapes; parsing is deterministic; a parsed chat request has messages, each
// tool message its call id, and never an interpreted field among its extras;
// a refusal is a 4xx naming a code.
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

#ifndef SB_LIBFUZZER
// Without libFuzzer (g++): requests built from pieces of the grammar, mostly
// well-formed JSON with fields of the wrong and right types.
#include <cstdio>

int main() {
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char* values[] = {"1", "-1", "0.5", "true", "null", "\"x\"", "\"\"", "[]", "{}", "[1]", "\"auto\"",
                          "{\"type\":\"text\",\"text\":\"hi\"}",
                          "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AA\"}}]",
                          "[{\"type\":\"input_audio\"}]", "{\"type\":\"json_schema\",\"json_schema\":{}}",
                          "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]",
                          "[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", "\"\xff\xfe\"", "1e400"};
  const char* keys[] = {"model", "messages", "stream", "stream_options", "temperature", "max_tokens",
                        "max_completion_tokens", "n", "top_p", "stop", "tools", "tool_choice", "parallel_tool_calls",
                        "response_format", "seed", "user", "input", "encoding_format", "dimensions"};
  const char* message_keys[] = {"role", "content", "name", "tool_calls", "tool_call_id"};
  const char* roles[] = {"\"user\"", "\"system\"", "\"assistant\"", "\"tool\"", "\"developer\"", "\"wizard\"", "1"};
  auto value = [&] { return std::string(values[next() % (sizeof values / sizeof *values)]); };
  std::size_t runs = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string body = "{\"model\":\"m\"";
    if (next() % 4 != 0) {
      body += ",\"messages\":[";
      const int n = static_cast<int>(next() % 4);
      for (int m = 0; m < n; ++m) {
        body += m ? ",{" : "{";
        body += std::string("\"role\":") + roles[next() % (sizeof roles / sizeof *roles)];
        const int fields = static_cast<int>(next() % 4);
        for (int f = 0; f < fields; ++f)
          body += std::string(",\"") + message_keys[1 + next() % 4] + "\":" + value();
        body += "}";
      }
      body += "]";
    }
    const int fields = static_cast<int>(next() % 6);
    for (int f = 0; f < fields; ++f) body += std::string(",\"") + keys[next() % (sizeof keys / sizeof *keys)] + "\":" + value();
    body += "}";
    if (next() % 10 == 0) body.resize(next() % (body.size() + 1));  // cut short
    const std::string input = std::string(1, static_cast<char>(next() & 0xff)) + body;
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    ++runs;
  }
  std::printf("fuzz_openai_request: %zu inputs, no failure\n", runs);
  return 0;
}
#endif
