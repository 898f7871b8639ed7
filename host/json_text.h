// File: host/json_text.h
//
// The text helpers of the stream path (and of input checks): UTF-8 validation and JSON
// string quoting into a caller's buffer, with no allocation of their own and
// no JSON document built. Both agree byte for byte with nlohmann's
// dump(-1, ' ', false, error_handler_t::replace), which they replace.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

// The number of code points of well-formed UTF-8 (no overlong forms,
// surrogates or code points beyond U+10FFFF), or nullopt for anything else.
std::optional<std::size_t> utf8_length(std::string_view text) noexcept;
// True for well-formed UTF-8.
inline bool valid_utf8(std::string_view text) noexcept { return utf8_length(text).has_value(); }

// `text` with every ill-formed sequence replaced by U+FFFD, as nlohmann's
// error_handler_t::replace does it. Only for text that failed valid_utf8().
std::string utf8_repaired(std::string_view text);

// Appends `text` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view text);

}  // namespace switchboard
