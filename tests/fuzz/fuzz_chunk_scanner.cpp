// File: tests/fuzz/fuzz_chunk_scanner.cpp
//
// Fuzz target for the front end's chunked-body scanner (host/http). The first
// byte picks where to cut the input in two. Properties: no crash; the same
// verdict and end whether the body came in one read or two; a body found whole
// ends with the last chunk's empty line, inside the input.
#include "host/http/chunk_scanner.h"

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

#ifndef SB_LIBFUZZER
// Without libFuzzer (g++): a fixed number of deterministic inputs built from
// the grammar's pieces, valid and not.
#include <cstdio>

int main() {
  std::uint64_t state = 0x2545f4914f6cdd1dULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char* alphabet[] = {"0", "1", "5", "a", "F", "10", "fff", "\r\n", "\r", "\n", ";", " ", "x=y",
                            "hello", "{}", "0\r\n\r\n", "3\r\nabc\r\n", "zz", "-", "000000001"};
  std::size_t runs = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input(1, static_cast<char>(next() & 0xff));
    const int pieces = static_cast<int>(next() % 24);
    for (int k = 0; k < pieces; ++k) input += alphabet[next() % (sizeof alphabet / sizeof *alphabet)];
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    ++runs;
  }
  std::printf("%zu inputs, no property broken\n", runs);
  return 0;
}
#endif
