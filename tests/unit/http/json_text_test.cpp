// File: tests/unit/http/json_text_test.cpp
//
// The stream path's text helpers (host/json_text.h) give the bytes the JSON
// library gave before they replaced it: clients see the same events.
#include "host/json_text.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace switchboard {
namespace {

std::string library_quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const std::vector<std::string> kTexts = {
    "", "tok ", "say \"hi\"\\", "line\nbreak\r\ttab\b\f", std::string("nul\0byte", 8), "\x01\x1f\x7f",
    "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80", "cut \xe4\xbd", "lone \x80 byte", "overlong \xc0\xaf",
    "surrogate \xed\xa0\x80", "beyond \xf4\x90\x80\x80"};

TEST(JsonText, QuotesEveryTextAsTheJsonLibraryDoes) {
  for (const auto& text : kTexts) {
    std::string out = "x";
    append_json_string(out, text);
    EXPECT_EQ(out, "x" + library_quoted(text)) << text;
  }
}

TEST(JsonText, TellsWellFormedUtf8AndRepairsTheRestAsTheJsonLibraryDoes) {
  for (const auto& text : kTexts) {
    bool library_valid = true;
    try {
      (void)nlohmann::json(text).dump();  // strict: throws on ill-formed UTF-8
    } catch (const nlohmann::json::exception&) {
      library_valid = false;
    }
    EXPECT_EQ(valid_utf8(text), library_valid) << text;
    if (!valid_utf8(text)) {
      const std::string repaired = utf8_repaired(text);
      EXPECT_TRUE(valid_utf8(repaired));
      EXPECT_NE(repaired.find("\xef\xbf\xbd"), std::string::npos) << "a U+FFFD where the bad bytes were";
    }
  }
}

}  // namespace
}  // namespace switchboard
