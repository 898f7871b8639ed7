// File: plugins/common/openai_chunk.cpp
//
// A SAX handler that follows the one path a token takes through a chunk:
// {"choices": [{"delta": {"content": "..."}, "finish_reason": ...}]}.
#include "openai_chunk.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>

namespace switchboard::plugins {

namespace {

using Json = nlohmann::json;

// Length of the well-formed UTF-8 sequence at `p` (Unicode table 3-7), or 0.
std::size_t utf8_sequence(const unsigned char* p, std::size_t left) {
  const unsigned char c = p[0];
  auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < left && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

enum class Role : std::uint8_t { Other, Root, Choices, Choice0, Delta };
enum class Key : std::uint8_t { Other, Choices, Usage, Error, Delta, FinishReason, Content, ToolCalls };

struct Frame {
  Role role = Role::Other;
  bool array = false;
  std::size_t next_index = 0;
  Key key = Key::Other;  // objects: the key whose value comes next
};

class ChunkSax {
 public:
  explicit ChunkSax(ChunkFields& out) : out_(out) {}

  bool too_deep = false;
  bool failed = false;

  bool null() { return value(Kind::Null); }
  bool boolean(bool) { return value(Kind::Scalar); }
  bool number_integer(Json::number_integer_t) { return value(Kind::Scalar); }
  bool number_unsigned(Json::number_unsigned_t) { return value(Kind::Scalar); }
  bool number_float(Json::number_float_t, const Json::string_t&) { return value(Kind::Scalar); }
  bool binary(Json::binary_t&) { return value(Kind::Scalar); }
  bool string(Json::string_t& s) {
    const Slot slot = place(Kind::String);
    if (slot == Slot::Content) {
      out_.has_content = true;
      out_.content.assign(s);
    } else if (slot == Slot::FinishReason) {
      out_.has_finish_reason = true;
      out_.finish_reason.assign(s);
    }
    return true;
  }
  bool start_object(std::size_t) { return open(Kind::Object); }
  bool start_array(std::size_t) { return open(Kind::Array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(Json::string_t& k) {
    Frame& f = frames_[static_cast<std::size_t>(depth_ - 1)];
    f.key = Key::Other;
    switch (f.role) {
      case Role::Root:
        if (k == "choices") f.key = Key::Choices;
        else if (k == "usage") f.key = Key::Usage;
        else if (k == "error") out_.needs_dom = true;  // an error, whatever its value
        break;
      case Role::Choice0:
        if (k == "delta") f.key = Key::Delta;
        else if (k == "finish_reason") f.key = Key::FinishReason;
        break;
      case Role::Delta:
        if (k == "content") f.key = Key::Content;
        else if (k == "tool_calls") out_.needs_dom = true;
        break;
      default: break;
    }
    // A repeated key on the path: the whole parse decides which one counts.
    if (f.key != Key::Other && f.key != Key::Usage) {
      const auto bit = 1u << static_cast<unsigned>(f.key);
      if (seen_keys_ & bit) out_.needs_dom = true;
      seen_keys_ |= bit;
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    failed = true;
    return false;
  }

 private:
  enum class Kind { Null, Scalar, String, Object, Array };
  enum class Slot { Other, Content, FinishReason };

  // Where a value of `kind` lands; opens nothing.
  Slot place(Kind kind, Role* role = nullptr) {
    if (role) *role = Role::Other;
    if (depth_ == 0) {
      if (kind == Kind::Object) {
        out_.object = true;
        if (role) *role = Role::Root;
      }
      return Slot::Other;
    }
    Frame& parent = frames_[static_cast<std::size_t>(depth_ - 1)];
    const std::size_t index = parent.array ? parent.next_index++ : 0;
    const Key key = parent.array ? Key::Other : parent.key;
    switch (parent.role) {
      case Role::Root:
        if (key == Key::Choices && kind == Kind::Array && role) *role = Role::Choices;
        if (key == Key::Usage && kind == Kind::Object) out_.needs_dom = true;
        break;
      case Role::Choices:
        if (index == 0 && kind == Kind::Object && role) *role = Role::Choice0;
        break;
      case Role::Choice0:
        if (key == Key::Delta && kind == Kind::Object && role) *role = Role::Delta;
        if (key == Key::FinishReason && kind == Kind::String) return Slot::FinishReason;
        break;
      case Role::Delta:
        if (key == Key::Content && kind == Kind::String) return Slot::Content;
        break;
      default: break;
    }
    return Slot::Other;
  }
  bool value(Kind kind) {
    place(kind);
    return true;
  }
  bool open(Kind kind) {
    Role role = Role::Other;
    place(kind, &role);
    if (depth_ >= kMaxUpstreamDepth) {
      too_deep = true;
      return false;
    }
    frames_[static_cast<std::size_t>(depth_)] = Frame{role, kind == Kind::Array, 0, Key::Other};
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }

  ChunkFields& out_;
  std::array<Frame, kMaxUpstreamDepth> frames_{};
  int depth_ = 0;
  unsigned seen_keys_ = 0;
};

// The first tier: a scanner for the strict subset of JSON that token chunks
// are written in. It answers only when it is sure (the text is valid JSON and
// it read the path's fields); anything unusual (an escape it does not decode,
// deep nesting, usage, tool calls, an error, a repeated key, invalid input)
// is left to the SAX reader, so it never has to judge bad input itself.
class FastScanner {
 public:
  FastScanner(std::string_view text, ChunkFields& out) : p_(text.data()), end_(text.data() + text.size()), out_(out) {}

  // True when the chunk was read completely and exactly.
  bool run() {
    ws();
    if (p_ == end_ || *p_ != '{') return false;
    out_.object = true;
    if (!object(Role::Root, 1)) return false;
    ws();
    return p_ == end_;
  }

 private:
  static constexpr int kDepth = 16;

  void ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool lit(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }
  // A string after its opening quote, decoded into `into` when given. Escapes
  // beyond the two-character ones (\u...) send the chunk to the SAX reader.
  bool string(std::string* into) {
    const char* run = p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        if (into) into->append(run, p_);
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (into) into->append(run, p_);
        if (++p_ == end_) return false;
        char decoded;
        switch (*p_) {
          case '"': decoded = '"'; break;
          case '\\': decoded = '\\'; break;
          case '/': decoded = '/'; break;
          case 'b': decoded = '\b'; break;
          case 'f': decoded = '\f'; break;
          case 'n': decoded = '\n'; break;
          case 'r': decoded = '\r'; break;
          case 't': decoded = '\t'; break;
          default: return false;
        }
        if (into) into->push_back(decoded);
        run = ++p_;
        continue;
      }
      if (c < 0x80) {
        ++p_;
        continue;
      }
      const std::size_t len = utf8_sequence(reinterpret_cast<const unsigned char*>(p_), static_cast<std::size_t>(end_ - p_));
      if (len == 0) return false;
      p_ += len;
    }
    return false;
  }
  // A number as JSON writes it. An exponent, or more digits than a double can
  // hold without overflowing, goes to the SAX reader: nlohmann refuses numbers
  // that overflow to infinity, and this scanner does not convert.
  bool number() {
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) return false;
    return p_ - start <= 300;
  }
  // Any value, with `role` deciding what is read from it.
  bool value(Role role, Key key, int depth) {
    ws();
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': {
        Role inner = Role::Other;
        if (role == Role::Root && key == Key::Usage) return false;  // usage: the SAX reader takes it
        if (role == Role::Choice0 && key == Key::Delta) inner = Role::Delta;
        if (role == Role::Choices && key == Key::Other && first_element_) inner = Role::Choice0;
        return object(inner, depth + 1);
      }
      case '[': {
        Role inner = role == Role::Root && key == Key::Choices ? Role::Choices : Role::Other;
        return array(inner, depth + 1);
      }
      case '"': {
        ++p_;
        std::string* into = nullptr;
        if (role == Role::Delta && key == Key::Content) {
          out_.has_content = true;
          into = &out_.content;
        } else if (role == Role::Choice0 && key == Key::FinishReason) {
          out_.has_finish_reason = true;
          into = &out_.finish_reason;
        }
        return string(into);
      }
      case 't': return lit("true");
      case 'f': return lit("false");
      case 'n': return lit("null");
      default: return number();
    }
  }
  bool object(Role role, int depth) {
    if (depth > kDepth) return false;
    ++p_;  // {
    ws();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      ws();
      if (p_ == end_ || *p_ != '"') return false;
      ++p_;
      const char* start = p_;
      if (!string(nullptr)) return false;
      const std::string_view name(start, static_cast<std::size_t>(p_ - 1 - start));
      if (name.find('\\') != std::string_view::npos) return false;  // an escaped key: the SAX reader
      Key key = Key::Other;
      if (role == Role::Root) {
        if (name == "choices") key = Key::Choices;
        else if (name == "usage") key = Key::Usage;
        else if (name == "error") return false;
      } else if (role == Role::Choice0) {
        if (name == "delta") key = Key::Delta;
        else if (name == "finish_reason") key = Key::FinishReason;
      } else if (role == Role::Delta) {
        if (name == "content") key = Key::Content;
        else if (name == "tool_calls") return false;
      }
      if (key != Key::Other && key != Key::Usage) {
        const auto bit = 1u << static_cast<unsigned>(key);
        if (seen_keys_ & bit) return false;  // a repeated key: the SAX reader and the whole parse
        seen_keys_ |= bit;
      }
      ws();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      if (!value(role, key, depth)) return false;
      ws();
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != '}') return false;
      ++p_;
      return true;
    }
  }
  bool array(Role role, int depth) {
    if (depth > kDepth) return false;
    ++p_;  // [
    ws();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    bool first = true;
    for (;;) {
      const bool outer_first = first_element_;
      first_element_ = first;
      const bool ok = value(role, Key::Other, depth);
      first_element_ = outer_first;
      if (!ok) return false;
      first = false;
      ws();
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != ']') return false;
      ++p_;
      return true;
    }
  }

  const char* p_;
  const char* end_;
  ChunkFields& out_;
  unsigned seen_keys_ = 0;
  bool first_element_ = false;
};

void reset(ChunkFields& out) {
  out.object = false;
  out.needs_dom = false;
  out.has_content = false;
  out.content.clear();
  out.has_finish_reason = false;
  out.finish_reason.clear();
}

}  // namespace

ChunkRead read_chunk(std::string_view data, ChunkFields& out) {
  reset(out);
  if (FastScanner(data, out).run()) return ChunkRead::Ok;
  reset(out);
  ChunkSax sax(out);
  const bool ok = Json::sax_parse(data.begin(), data.end(), &sax);
  if (sax.too_deep) return ChunkRead::TooDeep;
  if (!ok || sax.failed) return ChunkRead::NotJson;
  return ChunkRead::Ok;
}

}  // namespace switchboard::plugins
