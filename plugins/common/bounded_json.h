// File: plugins/common/bounded_json.h
//
// Parses JSON that an upstream sent, refusing nesting deeper than
// kMaxUpstreamDepth: a parsed value is copied, dumped and compared
// recursively, on a host worker's small stack (HostOptions::worker_stack_kb).
#pragma once

#include "openai_chunk.h"

#include <switchboard/provider.hpp>

#include <string>
#include <string_view>

namespace switchboard::plugins {

// Throws sdk::Error("upstream_protocol") past the depth limit, and
// nlohmann's parse_error for text that is not JSON.
inline sdk::Json parse_bounded(std::string_view text, const char* what) {
  return sdk::Json::parse(text, [what](int depth, sdk::Json::parse_event_t, sdk::Json&) {
    if (depth > kMaxUpstreamDepth)
      throw sdk::Error("upstream_protocol",
                       std::string(what) + " nests deeper than " + std::to_string(kMaxUpstreamDepth) + " levels");
    return true;
  });
}

}  // namespace switchboard::plugins
