// File: tests/fuzz/fuzz_chunk_scanner.cpp
//
// Fuzz target for the front end's chunked-body scanner (host/http). The first
// byte picks where to cut the input in two. Properties: no crash; the same
// verdict and end whether the body came in one read or two; a body found whole
// ends with the last chunk's empty line, inside the input.
#include "host/http/chunk_scanner.h"

#include "fuzz_driver.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using switchboard::http::ChunkScanner;

constexpr std::uint64_t kLimit = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);
  ChunkScanner whole;
  const auto verdict = whole.feed(input, kLimit);
  ChunkScanner split;
  split.feed(std::string_view(input).substr(0, cut), kLimit);
  if (split.feed(input, kLimit) != verdict) std::abort();
  if (verdict == ChunkScanner::Result::Done) {
    if (split.wire_size() != whole.wire_size() || whole.wire_size() > input.size()) std::abort();
    if (std::string_view(input).substr(0, whole.wire_size()).substr(whole.wire_size() - 4) != "\r\n\r\n") std::abort();
  }
  return 0;
}

namespace switchboard::fuzz {

std::vector<std::string> seeds() { return {"\x03" "3\r\nabc\r\n0\r\n\r\n", "\x00" "0\r\n\r\n"}; }

// The grammar's pieces, valid and not.
std::vector<std::string> alphabet() {
  return {"0", "1", "5", "a", "F", "10", "fff", "\r\n", "\r", "\n", ";", " ", "x=y",
          "hello", "{}", "0\r\n\r\n", "3\r\nabc\r\n", "zz", "-", "000000001"};
}

}  // namespace switchboard::fuzz
