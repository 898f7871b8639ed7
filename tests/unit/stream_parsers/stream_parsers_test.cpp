// File: tests/unit/stream_parsers/stream_parsers_test.cpp
//
// The SSE and NDJSON push parsers and the UTF-8 holdback, fed the way a
// network feeds them: lines split across reads, CRLF, comments, multi-line
// data, a last event without its newline, characters split mid-sequence.
#include "stream_parsers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchboard::plugins {
namespace {

std::vector<std::string> sse(const std::vector<std::string>& pieces, bool finish = true) {
  SseParser p;
  std::vector<std::string> events;
  auto on = [&](const std::string& d) {
    events.push_back(d);
    return true;
  };
  for (const auto& piece : pieces) p.feed(piece, on);
  if (finish) p.finish(on);
  return events;
}

std::vector<std::string> ndjson(const std::vector<std::string>& pieces) {
  NdjsonParser p;
  std::vector<std::string> lines;
  auto on = [&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  };
  for (const auto& piece : pieces) p.feed(piece, on);
  p.finish(on);
  return lines;
}

// Every way of cutting `text` in two must give the same events as the whole.
template <typename F>
void every_split_matches(const std::string& text, F parse) {
  const auto whole = parse({text});
  for (std::size_t i = 0; i <= text.size(); ++i)
    EXPECT_EQ(parse({text.substr(0, i), text.substr(i)}), whole) << "split at " << i;
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  EXPECT_EQ(parse(bytes), whole) << "one byte at a time";
}

TEST(SseParser, DispatchesOnBlankLines) {
  EXPECT_EQ(sse({"data: {\"a\":1}\n\ndata: [DONE]\n\n"}), (std::vector<std::string>{"{\"a\":1}", "[DONE]"}));
}

TEST(SseParser, HandlesCrlfCommentsAndOtherFields) {
  EXPECT_EQ(sse({": keep-alive\r\nevent: message\r\nid: 7\r\ndata: x\r\n\r\n: bye\r\n\r\n"}),
            (std::vector<std::string>{"x"}));
}

TEST(SseParser, JoinsMultiLineData) {
  EXPECT_EQ(sse({"data: first\ndata: second\ndata:third\n\n"}), (std::vector<std::string>{"first\nsecond\nthird"}));
}

TEST(SseParser, KeepsALastEventWithoutTrailingNewline) {
  EXPECT_EQ(sse({"data: a\n\ndata: [DONE]"}), (std::vector<std::string>{"a", "[DONE]"}));
  EXPECT_EQ(sse({"data: a\n\ndata: [DONE]"}, false), (std::vector<std::string>{"a"}));
}

TEST(SseParser, GivesTheSameEventsHoweverTheBytesAreSplit) {
  every_split_matches("data: {\"c\":\"你好\"}\r\n\r\n: c\r\ndata: two\ndata: lines\n\ndata: [DONE]\n\n",
                      [](const std::vector<std::string>& p) { return sse(p); });
}

TEST(SseParser, StopsWhenTheCallbackSaysSo) {
  SseParser p;
  int seen = 0;
  EXPECT_FALSE(p.feed("data: 1\n\ndata: 2\n\n", [&](const std::string&) { return ++seen < 1; }));
  EXPECT_EQ(seen, 1);
}

TEST(NdjsonParser, SplitsLinesSkipsBlanksAndKeepsTheLastOne) {
  EXPECT_EQ(ndjson({"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"done\":true}"}),
            (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"done\":true}"}));
}

TEST(NdjsonParser, GivesTheSameLinesHoweverTheBytesAreSplit) {
  every_split_matches("{\"message\":{\"content\":\"世界\"}}\r\n{\"done\":true}\n",
                      [](const std::vector<std::string>& p) { return ndjson(p); });
}

TEST(Utf8Holdback, NeverEndsAPieceMidCharacter) {
  Utf8Holdback h;
  const std::string hao = "\xe5\xa5\xbd";  // 好
  EXPECT_EQ(h.push("ni " + hao.substr(0, 1)), "ni ");
  EXPECT_EQ(h.push(hao.substr(1, 1)), "");
  EXPECT_EQ(h.push(hao.substr(2) + "!"), hao + "!");
  EXPECT_EQ(h.flush(), "");
}

TEST(Utf8Holdback, PassesWholeTextAndFourByteCharacters) {
  Utf8Holdback h;
  const std::string emoji = "\xf0\x9f\x98\x80";
  EXPECT_EQ(h.push("plain"), "plain");
  EXPECT_EQ(h.push(emoji.substr(0, 3)), "");
  EXPECT_EQ(h.push(emoji.substr(3)), emoji);
  EXPECT_EQ(h.push("\xe5\xa5"), "");
  EXPECT_EQ(h.flush(), "\xe5\xa5") << "an unfinished character at the very end is handed over, not lost";
}

}  // namespace
}  // namespace switchboard::plugins
