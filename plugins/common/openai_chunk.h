// File: plugins/common/openai_chunk.h
//
// Reads the common case of an OpenAI chat.completion.chunk (a piece of text,
// a finish_reason) straight from its SSE data, with nlohmann's SAX parser: no
// JSON document is built per token. Anything more (usage, an error, tool
// calls, a repeated key) is left to a whole parse, which the read has already
// checked for validity and depth.
#pragma once

#include <string>
#include <string_view>

namespace switchboard::plugins {

// The deepest nesting read from an upstream: deeper values would be copied
// and destroyed recursively on a worker's small stack.
inline constexpr int kMaxUpstreamDepth = 64;

struct ChunkFields {
  bool object = false;     // the data is a JSON object (anything else carries nothing)
  bool needs_dom = false;  // more than the fields below: parse it whole
  bool has_content = false;  // choices[0].delta.content is a string
  std::string content;
  bool has_finish_reason = false;  // choices[0].finish_reason is a string
  std::string finish_reason;
};

enum class ChunkRead { Ok, NotJson, TooDeep };

// Fills `out` (its strings keep their capacity from one chunk to the next).
ChunkRead read_chunk(std::string_view data, ChunkFields& out);

}  // namespace switchboard::plugins
