// File: host/json_depth.h
//
// The nesting limit for JSON that comes from outside the process (request
// bodies, plugins.json). The JSON library parses iteratively but copies,
// compares and serializes recursively, on 1 MiB worker stacks: a body of
// 20,000 nested arrays (40 KB) was enough to crash the host. Every such text
// is measured first, by a linear scan that recurses on nothing.
#pragma once

#include <string_view>

namespace switchboard {

// Deep enough for every body the API accepts (an OpenAI message with content
// parts and a JSON-schema response format nests about 10 deep), shallow enough
// that anything recursive over a parsed value stays far inside a worker stack.
inline constexpr int kMaxJsonDepth = 64;

// True when `text` nests arrays and objects deeper than `limit`, counting
// brackets outside strings. Says nothing about validity: the parser judges
// that afterwards.
bool json_nests_deeper_than(std::string_view text, int limit);

}  // namespace switchboard
