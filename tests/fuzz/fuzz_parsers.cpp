// File: tests/fuzz/fuzz_parsers.cpp
//
// Fuzz targets for the stream parsers (one binary per parser, chosen with
// -DFUZZ_SSE or -DFUZZ_NDJSON). The input's first byte picks where to cut it
// in two, so split-across-reads paths are fuzzed too. Properties checked: no
// crash, the same events as an uncut feed, and no dispatched text that the
// input did not contain.
#include "fuzz_driver.h"
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

namespace switchboard::fuzz {

std::vector<std::string> seeds() {
  return {
      "\x05" "data: {\"a\":1}\n\ndata: [DONE]\n\n",
      "\x09" ": c\r\ndata: x\r\ndata: y\r\n\r\n",
      "\x02" "{\"message\":{\"content\":\"\xe4\xbd\xa0\"}}\n{\"done\":true}",
      "\x03" "data:\n\n\n\ndata",
      "\x07" "\r\r\n\n:\n\xe5\xa5",
  };
}

std::vector<std::string> alphabet() {
  return {"data:", " ", "\n", "\r\n", ":", "{", "}", "\"", "[DONE]", "\xe4", "\xbd", "\xa0", "x", "event: e\n"};
}

}  // namespace switchboard::fuzz
