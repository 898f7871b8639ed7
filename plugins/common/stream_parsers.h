// File: plugins/common/stream_parsers.h
//
// Push parsers for the two streaming formats upstreams use: Server-Sent
// Events (OpenAI) and newline-delimited JSON (Ollama). Bytes arrive in
// arbitrary pieces: a line, a CRLF or a UTF-8 character may be split across
// reads, and the last line may lack its newline. Plus a holdback that never
// lets a delta end in the middle of a UTF-8 character.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace switchboard::plugins {

// Splits a byte stream into lines ending in LF or CRLF.
class LineSplitter {
 public:
  // Calls on_line for every complete line (without its end); stops early when it returns false.
  bool feed(std::string_view bytes, const std::function<bool(std::string_view)>& on_line);
  // The unterminated last line, if any (and forgets it).
  bool finish(const std::function<bool(std::string_view)>& on_line);

 private:
  std::string partial_;
};

// Server-Sent Events: "data:" lines accumulate (joined by "\n") until a blank
// line dispatches them; ":" lines are comments; other fields are ignored.
class SseParser {
 public:
  using OnEvent = std::function<bool(const std::string& data)>;
  bool feed(std::string_view bytes, const OnEvent& on_event);
  // Dispatches a last event that was not followed by a blank line.
  bool finish(const OnEvent& on_event);

 private:
  bool line(std::string_view line, const OnEvent& on_event);
  LineSplitter lines_;
  std::string data_;
  bool has_data_ = false;
};

// Newline-delimited JSON: one value per non-blank line.
class NdjsonParser {
 public:
  using OnLine = std::function<bool(std::string_view json)>;
  bool feed(std::string_view bytes, const OnLine& on_line);
  bool finish(const OnLine& on_line);

 private:
  LineSplitter lines_;
};

// Holds back an incomplete UTF-8 sequence at the end of a piece of text
// until the rest of it arrives.
class Utf8Holdback {
 public:
  // The longest prefix of (held + text) that ends on a character boundary.
  std::string push(std::string_view text);
  // Whatever is still held (an incomplete character at the very end).
  std::string flush();

 private:
  std::string held_;
};

}  // namespace switchboard::plugins
