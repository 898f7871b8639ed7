// File: tests/fuzz/fuzz_parsers.cpp
//
// Fuzz targets for the stream parsers (one binary per parser, chosen with
// -DFUZZ_SSE or -DFUZZ_NDJSON). The input's first byte picks where to cut it
// in two, so split-across-reads paths are fuzzed too. Properties checked: no
// crash, the same events as an uncut feed, and no dispatched text that the
// input did not contain.
#include "stream_parsers.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using switchboard::plugins::NdjsonParser;
using switchboard::plugins::SseParser;
using switchboard::plugins::Utf8Holdback;

std::vector<std::string> run(const std::string& input, std::size_t cut) {
  std::vector<std::string> out;
#ifdef FUZZ_SSE
  SseParser p;
  auto on = [&](const std::string& d) {
    out.push_back(d);
    return true;
  };
#else
  NdjsonParser p;
  auto on = [&](std::string_view d) {
    out.emplace_back(d);
    return true;
  };
#endif
  p.feed(std::string_view(input).substr(0, cut), on);
  p.feed(std::string_view(input).substr(cut), on);
  p.finish(on);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);
  const auto split = run(input, cut);
  const auto whole = run(input, input.size());
  if (split != whole) std::abort();
  std::size_t total = 0;
  for (const auto& e : whole) total += e.size();
  if (total > input.size()) std::abort();
  // The holdback must hand back exactly the bytes it was given.
  Utf8Holdback h;
  std::string back = h.push(std::string_view(input).substr(0, cut));
  back += h.push(std::string_view(input).substr(cut));
  back += h.flush();
  if (back != input) std::abort();
  return 0;
}

#ifndef SB_LIBFUZZER
// Without libFuzzer (g++): replay the seeds, then a fixed number of
// deterministic pseudo-random inputs built from their pieces. Files or
// directories given as arguments (a libFuzzer corpus, a crash-* file) are
// replayed instead, so a clang finding reproduces in a g++ build.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace {

int replay(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path)) {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(path))
      if (entry.is_regular_file()) n += replay(entry.path());
    return n;
  }
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    int runs = 0;
    for (int i = 1; i < argc; ++i) runs += replay(argv[i]);
    std::printf("%d inputs replayed, no property broken\n", runs);
    return 0;
  }
  const std::vector<std::string> seeds = {
      "\x05" "data: {\"a\":1}\n\ndata: [DONE]\n\n",
      "\x09" ": c\r\ndata: x\r\ndata: y\r\n\r\n",
      "\x02" "{\"message\":{\"content\":\"\xe4\xbd\xa0\"}}\n{\"done\":true}",
      "\x03" "data:\n\n\n\ndata",
      "\x07" "\r\r\n\n:\n\xe5\xa5",
  };
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  std::size_t runs = 0;
  for (const auto& s : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    ++runs;
  }
  const char* alphabet[] = {"data:", " ", "\n", "\r\n", ":", "{", "}", "\"", "[DONE]", "\xe4", "\xbd", "\xa0", "x", "event: e\n"};
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
