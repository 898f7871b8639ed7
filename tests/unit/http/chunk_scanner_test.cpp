// File: tests/unit/http/chunk_scanner_test.cpp
//
// ChunkScanner: where a chunked body ends, whatever the reads it arrives in,
// and every malformation refused with its reason before a handler could take
// it for an empty or shorter body.
#include "host/http/chunk_scanner.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace switchboard::http {
namespace {

using Result = ChunkScanner::Result;

constexpr std::uint64_t kNoLimit = 1 << 20;

// Feeds `wire` one byte more at a time, as the slowest client would send it.
Result feed_bytewise(ChunkScanner& s, const std::string& wire, std::uint64_t limit = kNoLimit) {
  Result r = Result::NeedMore;
  for (std::size_t n = 1; n <= wire.size() && r == Result::NeedMore; ++n) r = s.feed(std::string_view(wire).substr(0, n), limit);
  return r;
}

std::string chunked(const std::vector<std::string>& chunks) {
  std::string wire;
  char size[32];
  for (const auto& c : chunks) {
    std::snprintf(size, sizeof size, "%zx", c.size());
    wire += size + std::string("\r\n") + c + "\r\n";
  }
  return wire + "0\r\n\r\n";
}

TEST(ChunkScanner, FindsTheEndOfAWellFormedBodyAndNothingAfterIt) {
  const std::string body = chunked({"{\"title\"", ": \"x\"}"});
  ChunkScanner whole;
  EXPECT_EQ(whole.feed(body + "GET / HTTP/1.1\r\n", kNoLimit), Result::Done);
  EXPECT_EQ(whole.wire_size(), body.size());
  ChunkScanner slow;
  EXPECT_EQ(feed_bytewise(slow, body), Result::Done);
  EXPECT_EQ(slow.wire_size(), body.size());
}

TEST(ChunkScanner, AcceptsExtensionsUpperCaseHexAndLeadingZeros) {
  ChunkScanner s;
  const std::string body = "0A;name=value\r\n0123456789\r\n00000001 ; x\r\nz\r\n0\r\n\r\n";
  EXPECT_EQ(s.feed(body, kNoLimit), Result::Done);
  EXPECT_EQ(s.wire_size(), body.size());
}

TEST(ChunkScanner, WaitsForMoreUntilTheLastChunksCrlf) {
  ChunkScanner s;
  EXPECT_EQ(s.feed("5\r\nhel", kNoLimit), Result::NeedMore);
  EXPECT_EQ(s.feed("5\r\nhello\r\n0\r\n", kNoLimit), Result::NeedMore);
  EXPECT_EQ(s.feed("5\r\nhello\r\n0\r\n\r\n", kNoLimit), Result::Done);
}

TEST(ChunkScanner, RefusesEachMalformationWithItsReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"zz\r\n{}\r\n0\r\n\r\n", "not a hexadecimal number"},
      {"\r\n{}\r\n0\r\n\r\n", "not a hexadecimal number"},
      {";x\r\n", "not a hexadecimal number"},
      {"-1\r\n", "not a hexadecimal number"},
      {"2x\r\n{}\r\n", "not a hexadecimal number"},
      {"000000002\r\n{}\r\n0\r\n\r\n", "more than 8 hexadecimal digits"},
      {"2\n{}\r\n0\r\n\r\n", "not a hexadecimal number"},
      {"2\r{}\r\n", "does not end with CRLF"},
      {"2\r\n{}}\r\n0\r\n\r\n", "longer than its chunk size"},
      {"2\r\n{}\rX", "not followed by CRLF"},
      {"2;a\nb\r\n", "extension is malformed"},
      {"0\r\nX-Trailer: 1\r\n\r\n", "trailer fields"},
      {"0\r\n\rX", "last chunk does not end with CRLF"},
  };
  for (const auto& [wire, why] : cases) {
    ChunkScanner s;
    EXPECT_EQ(feed_bytewise(s, wire), Result::Bad) << wire;
    EXPECT_NE(s.error().find(why), std::string::npos) << wire << " → " << s.error();
  }
}

TEST(ChunkScanner, RefusesABodyWhoseChunksAddUpToMoreThanTheLimit) {
  ChunkScanner s;
  EXPECT_EQ(s.feed("8\r\n12345678\r\n8\r\n", 10), Result::TooLarge);
  EXPECT_EQ(s.feed("8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", 10), Result::TooLarge);  // a verdict stays
  ChunkScanner at_limit;
  EXPECT_EQ(at_limit.feed("5\r\n12345\r\n5\r\n12345\r\n0\r\n\r\n", 10), Result::Done);
}

TEST(ChunkScanner, AnyChunkingOfABodyEndsWhereItsEncodingEnds) {
  std::mt19937 random(12345);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::string> chunks;
    const int count = static_cast<int>(random() % 6);
    for (int i = 0; i < count; ++i) chunks.emplace_back(1 + random() % 300, static_cast<char>('a' + random() % 26));
    const std::string wire = chunked(chunks);
    ChunkScanner whole;
    ASSERT_EQ(whole.feed(wire, kNoLimit), Result::Done) << wire;
    ASSERT_EQ(whole.wire_size(), wire.size());
    // Split at a random point: the same answer.
    const std::size_t cut = random() % (wire.size() + 1);
    ChunkScanner split;
    const Result first = split.feed(std::string_view(wire).substr(0, cut), kNoLimit);
    ASSERT_EQ(first, cut == wire.size() ? Result::Done : Result::NeedMore);
    ASSERT_EQ(split.feed(wire, kNoLimit), Result::Done);
    ASSERT_EQ(split.wire_size(), wire.size());
  }
}

}  // namespace
}  // namespace switchboard::http
