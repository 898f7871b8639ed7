// File: tests/fuzz/fuzz_openai_chunk.cpp
//
// Fuzz target for the openai_compatible plugin's chunk reader
// (plugins/common/openai_chunk.cpp: a scanner for the common case, then a SAX
// reader). Properties, against a whole parse of the same text by nlohmann:
// invalid JSON is never read as valid; valid JSON is refused only for its
// depth; and whatever the reader claims to have read whole (needs_dom false)
// is exactly what the whole parse holds at choices[0].delta.content and
// choices[0].finish_reason.
#include "fuzz_driver.h"
#include "openai_chunk.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Json = nlohmann::json;
namespace sp = switchboard::plugins;

// Parses with a depth cap, so that a deep input cannot overflow the stack here either.
bool whole_parse(const std::string& text, Json& out, bool& too_deep) {
  too_deep = false;
  try {
    out = Json::parse(text, [&](int depth, Json::parse_event_t, Json&) {
      if (depth > sp::kMaxUpstreamDepth + 1) {
        too_deep = true;
        throw std::runtime_error("deep");
      }
      return true;
    });
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  sp::ChunkFields f;
  const sp::ChunkRead read = sp::read_chunk(input, f);
  Json whole;
  bool too_deep = false;
  const bool valid = whole_parse(input, whole, too_deep);
  if (!valid && !too_deep) {
    if (read == sp::ChunkRead::Ok) std::abort();  // invalid JSON read as valid
    return 0;
  }
  if (too_deep) {
    if (read == sp::ChunkRead::Ok) std::abort();  // deeper than the cap, yet read
    return 0;
  }
  if (read == sp::ChunkRead::NotJson) std::abort();  // valid JSON refused
  if (read == sp::ChunkRead::TooDeep) return 0;      // at the cap's edge: refused, which is safe
  if (f.object != whole.is_object()) std::abort();
  if (!f.object || f.needs_dom) return 0;
  // What the DOM path of the plugin reads.
  bool has_content = false, has_reason = false;
  std::string content, reason;
  if (whole.contains("choices") && whole["choices"].is_array() && !whole["choices"].empty()) {
    const Json& choice = whole["choices"][0];
    if (choice.is_object() && choice.contains("delta") && choice["delta"].is_object()) {
      const Json& delta = choice["delta"];
      if (delta.contains("content") && delta["content"].is_string()) {
        has_content = true;
        content = delta["content"].get<std::string>();
      }
      if (delta.contains("tool_calls")) std::abort();  // tool calls must go to the whole parse
    }
    if (choice.is_object() && choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
      has_reason = true;
      reason = choice["finish_reason"].get<std::string>();
    }
  }
  if (whole.contains("error") || (whole.contains("usage") && whole["usage"].is_object())) std::abort();
  if (has_content != f.has_content || content != f.content) std::abort();
  if (has_reason != f.has_finish_reason || reason != f.finish_reason) std::abort();
  return 0;
}

namespace switchboard::fuzz {

std::vector<std::string> seeds() {
  return {
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]})",
      R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
      R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}})",
      R"({"choices":[{"delta":{"content":"a\"b\\c\n\u00e9\ud83d\ude00"}}]})",
      R"({"choices":[{"delta":{"content":"x","content":"y"}}]})",
      R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{}"}}]}}]})",
      R"({"error":{"message":"boom"}})",
      R"({"choices":[{"delta":{"role":"assistant","content":""}},{"delta":{"content":"second"}}]})",
      R"( {"choices" : [ { "delta" : { "content" : "sp" } , "finish_reason" : null } ] } )",
      R"([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])",
      "{\"choices\":[{\"delta\":{\"content\":\"\xe4\xbd\xa0\"}}]}",
      "{\"choices\":[{\"delta\":{\"content\":\"\xe4\xbd\"}}]}",
      R"({"choices":[{"delta":{"content":-0.5e+3}}]})",
      "\xef\xbb\xbf{\"choices\":[]}",
      // libFuzzer's first find: a number that overflows a double is not JSON to nlohmann.
      "{\"\":8e3333333333333333333333333333333333333333333333333333333333333333333}",
      "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"n\":" + std::string(400, '9') + "}",
  };
}

std::vector<std::string> alphabet() {
  return {"{", "}", "[", "]", ",", ":", " ", "\"", "\\", "\\u00e9", "\\ud83d", "choices", "\"choices\":", "\"delta\":",
          "\"content\":", "\"finish_reason\":", "\"usage\":", "\"error\":", "\"tool_calls\":", "\"x\"", "null", "true",
          "1", "-0.5e3", "\xe4", "\xbd", "\xa0", "\n", "\x01"};
}

}  // namespace switchboard::fuzz
