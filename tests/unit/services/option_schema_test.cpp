// File: tests/unit/services/option_schema_test.cpp
//
// check_options: the one check of provider options against a plugin's
// config_schema, as configs and chat requests both use it.
#include "host/services/option_schema.h"

#include <gtest/gtest.h>

namespace switchboard {
namespace {

const char* kSchema = R"({
  "delay_ms": {"type": "integer", "minimum": 0, "maximum": 10000, "description": "pause"},
  "top_p": {"type": "number", "minimum": 0, "maximum": 1},
  "stop": {"type": ["string", "array"]},
  "name": {"type": "string"},
  "flag": {"type": "boolean"},
  "shape": {"type": "tensor"}
})";

std::string refusal(const std::string& options, const std::string& schema = kSchema) {
  const auto r = check_options(schema, options, "options", "provider mock");
  if (r.ok()) return "";
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(r.error().code, "invalid_options");
  EXPECT_EQ(r.error().field, "options");
  return r.error().message;
}

TEST(CheckOptions, AcceptsDeclaredKeysOfTheirTypeWithinBounds) {
  EXPECT_EQ(refusal(R"({"delay_ms": 0, "top_p": 1, "stop": "User:", "name": "x", "flag": true})"), "");
  EXPECT_EQ(refusal(R"({"delay_ms": 10000, "top_p": 0.5, "stop": ["a", "b"]})"), "");
  EXPECT_EQ(refusal("{}"), "");
  EXPECT_EQ(refusal(""), "") << "no options at all";
}

TEST(CheckOptions, RefusesValuesOutsideTheDeclaredBoundsNamingTheKeyAndTheBound) {
  EXPECT_EQ(refusal(R"({"delay_ms": 10001})"), "options.delay_ms must be at most 10000");
  EXPECT_EQ(refusal(R"({"delay_ms": -1})"), "options.delay_ms must be at least 0");
  EXPECT_EQ(refusal(R"({"top_p": 1.5})"), "options.top_p must be at most 1");
  EXPECT_EQ(refusal(R"({"delay_ms": 18446744073709551615})"), "options.delay_ms must be at most 10000");
}

TEST(CheckOptions, RefusesTheWrongTypeNamingTheExpectedOne) {
  EXPECT_EQ(refusal(R"({"delay_ms": "soon"})"), "options.delay_ms must be of type integer");
  EXPECT_EQ(refusal(R"({"delay_ms": 1.5})"), "options.delay_ms must be of type integer");
  EXPECT_EQ(refusal(R"({"stop": 3})"), "options.stop must be of type string or array");
  EXPECT_EQ(refusal(R"({"flag": "yes"})"), "options.flag must be of type boolean");
}

TEST(CheckOptions, RefusesUnknownKeysNamingTheProvider) {
  EXPECT_EQ(refusal(R"({"colour": 1})"), "options.colour is not a setting of provider mock");
}

TEST(CheckOptions, LeavesATypeItDoesNotKnowToThePlugin) {
  EXPECT_EQ(refusal(R"({"shape": [1, 2]})"), "");
}

TEST(CheckOptions, AnEmptySchemaAcceptsAnyKey) {
  EXPECT_EQ(refusal(R"({"anything": [1], "else": {"x": 1}})", "{}"), "");
}

TEST(CheckOptions, OptionsMustBeAnObject) {
  EXPECT_EQ(refusal("[1, 2]"), "options must be a JSON object");
  EXPECT_EQ(refusal("{not json"), "options must be a JSON object");
}

TEST(CheckOptions, TheHostsOwnKeyIsRefusedWhateverTheSchema) {
  EXPECT_NE(refusal(R"({"_switchboard": {"upstream_deny": []}})").find("reserved"), std::string::npos);
  EXPECT_NE(refusal(R"({"_switchboard": {}})", "{}").find("reserved"), std::string::npos);
  EXPECT_NE(refusal(R"({"_switchboard": 1})", R"({"_switchboard": {"type": "integer"}})").find("reserved"),
            std::string::npos)
      << "not even a plugin can declare it";
}

TEST(CheckOptions, ThePrefixNamesTheFieldAndTheCode) {
  const auto r = check_options(kSchema, R"({"delay_ms": 20000})", "config", "provider mock");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_config");
  EXPECT_EQ(r.error().message, "config.delay_ms must be at most 10000");
}

}  // namespace
}  // namespace switchboard
