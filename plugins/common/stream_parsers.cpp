// File: plugins/common/stream_parsers.cpp
//
// Line splitting, SSE and NDJSON framing, UTF-8 holdback.
#include "stream_parsers.h"

namespace switchboard::plugins {

bool LineSplitter::feed(std::string_view bytes, const std::function<bool(std::string_view)>& on_line) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    std::string_view piece = bytes.substr(start, i - start);
    start = i + 1;
    bool keep_going;
    if (!partial_.empty()) {
      partial_.append(piece);
      std::string_view whole(partial_);
      if (!whole.empty() && whole.back() == '\r') whole.remove_suffix(1);
      keep_going = on_line(whole);
      partial_.clear();
    } else {
      if (!piece.empty() && piece.back() == '\r') piece.remove_suffix(1);
      keep_going = on_line(piece);
    }
    if (!keep_going) return false;
  }
  partial_.append(bytes.substr(start));
  return true;
}

bool LineSplitter::finish(const std::function<bool(std::string_view)>& on_line) {
  if (partial_.empty()) return true;
  std::string last;
  last.swap(partial_);
  std::string_view view(last);
  if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
  return on_line(view);
}

bool SseParser::line(std::string_view line, const OnEvent& on_event) {
  if (line.empty()) {
    if (!has_data_) return true;
    std::string data;
    data.swap(data_);
    has_data_ = false;
    return on_event(data);
  }
  if (line.front() == ':') return true;  // a comment, e.g. ": keep-alive"
  const auto colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  if (field != "data") return true;  // event, id, retry: not needed here
  std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
  return true;
}

bool SseParser::feed(std::string_view bytes, const OnEvent& on_event) {
  return lines_.feed(bytes, [&](std::string_view l) { return line(l, on_event); });
}

bool SseParser::finish(const OnEvent& on_event) {
  if (!lines_.finish([&](std::string_view l) { return line(l, on_event); })) return false;
  return line("", on_event);
}

bool NdjsonParser::feed(std::string_view bytes, const OnLine& on_line) {
  return lines_.feed(bytes, [&](std::string_view l) {
    if (l.find_first_not_of(" \t") == std::string_view::npos) return true;
    return on_line(l);
  });
}

bool NdjsonParser::finish(const OnLine& on_line) {
  return lines_.finish([&](std::string_view l) {
    if (l.find_first_not_of(" \t") == std::string_view::npos) return true;
    return on_line(l);
  });
}

std::string Utf8Holdback::push(std::string_view text) {
  std::string all = held_;
  all.append(text);
  held_.clear();
  // Walk back over at most 3 continuation bytes to the last lead byte.
  std::size_t i = all.size();
  std::size_t back = 0;
  while (i > 0 && back < 4) {
    const auto c = static_cast<unsigned char>(all[i - 1]);
    if ((c & 0xC0) != 0x80) {
      const std::size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
      if (back + 1 < need) {
        held_ = all.substr(i - 1);
        all.resize(i - 1);
      }
      break;
    }
    --i;
    ++back;
  }
  return all;
}

std::string Utf8Holdback::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace switchboard::plugins
