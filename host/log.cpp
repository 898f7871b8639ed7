// File: host/log.cpp
//
// The log's one line per message (see log.h).
#include "host/log.h"

#include <Poco/FormattingChannel.h>
#include <Poco/PatternFormatter.h>

namespace switchboard::log {

namespace {

class OneLineFormatter final : public Poco::PatternFormatter {
 public:
  OneLineFormatter() : Poco::PatternFormatter("%Y-%m-%d %H:%M:%S.%i %p %s: %t") {}
  void format(const Poco::Message& message, std::string& text) override {
    std::string line;
    Poco::PatternFormatter::format(message, line);
    text += one_line(line);
  }
};

}  // namespace

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

Poco::AutoPtr<Poco::Channel> line_channel(Poco::AutoPtr<Poco::Channel> sink) {
  return new Poco::FormattingChannel(new OneLineFormatter, sink);
}

}  // namespace switchboard::log
