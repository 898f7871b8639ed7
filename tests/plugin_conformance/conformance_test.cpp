// File: tests/plugin_conformance/conformance_test.cpp
//
// The conformance suite every provider plugin passes, built-in or third-party:
// load, negotiate, describe with defaults, stream, stop promptly when asked,
// and report failures as data (the checks live in host/plugins/conformance.cpp;
// switchboard-plugin-check prints them as a report). Run it against any plugin with
//   SB_CONFORMANCE_PLUGIN=/path/libfoo.so [SB_CONFORMANCE_CONFIG='{...}']
//   [SB_CONFORMANCE_MODEL=m] [SB_CONFORMANCE_SLOW_MODEL=m SB_CONFORMANCE_SLOW_OPTIONS='{...}']
//   [SB_CONFORMANCE_FAILING_MODEL=m SB_CONFORMANCE_FAILING_OPTIONS='{...}']
//   [SB_CONFORMANCE_TOOLS_MODEL=m] plugin_conformance_test
#include "conformance_case.h"

#include "host/plugins/conformance.h"
#include "host/plugins/loaded_provider.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace switchboard::conformance {

std::vector<ConformanceCase>& registered_cases() {
  static std::vector<ConformanceCase> cases;
  return cases;
}

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::vector<ConformanceCase> all_cases() {
  std::vector<ConformanceCase> cases = registered_cases();
  const std::string third_party = env_or("SB_CONFORMANCE_PLUGIN", "");
  if (!third_party.empty()) {
    ConformanceCase c;
    c.name = "third_party";
    c.library = third_party;
    const std::string config = env_or("SB_CONFORMANCE_CONFIG", "");
    c.config = [config] { return config; };  // "" means: the plugin's default config
    c.normal = {env_or("SB_CONFORMANCE_MODEL", ""), "{}"};
    c.slow = {env_or("SB_CONFORMANCE_SLOW_MODEL", c.normal.model),
              env_or("SB_CONFORMANCE_SLOW_OPTIONS", "{}")};
    c.failing = {env_or("SB_CONFORMANCE_FAILING_MODEL", "no-such-model-for-conformance"),
                 env_or("SB_CONFORMANCE_FAILING_OPTIONS", "{}")};
    c.tools = {env_or("SB_CONFORMANCE_TOOLS_MODEL", ""), "{}"};
    cases.push_back(std::move(c));
  }
  return cases;
}

class Conformance : public ::testing::TestWithParam<ConformanceCase> {
 protected:
  void SetUp() override {
    std::string error;
    provider_ = LoadedProvider::load(GetParam().library, error);
    ASSERT_NE(provider_, nullptr) << error;
    plan_.config_json = GetParam().config();
    plan_.normal = {GetParam().normal.model, GetParam().normal.options_json};
    plan_.slow = {GetParam().slow.model, GetParam().slow.options_json};
    plan_.failing = {GetParam().failing.model, GetParam().failing.options_json};
    plan_.tools = {GetParam().tools.model, GetParam().tools.options_json};
  }

  static void expect(const Check& check) { EXPECT_TRUE(check.passed) << check.name << ": " << check.detail; }

  std::shared_ptr<LoadedProvider> provider_;
  Plan plan_;
};

// Each check is one function of host/plugins/conformance.cpp, which
// switchboard-plugin-check runs too.
TEST_P(Conformance, NegotiatesTheHostAbi) { expect(negotiates_the_host_abi(*provider_)); }
TEST_P(Conformance, DescribesItselfWithObjectDefaults) { expect(describes_itself_with_object_defaults(*provider_)); }
TEST_P(Conformance, StreamsAReplyAndCompletes) { expect(streams_a_reply_and_completes(*provider_, plan_)); }
TEST_P(Conformance, StopsWithinOneHundredMillisecondsWhenTheSinkRefuses) {
  expect(stops_promptly_when_the_sink_refuses(*provider_, plan_));
}
TEST_P(Conformance, StopsWithinOneHundredMillisecondsWhileSilent) { expect(stops_promptly_while_silent(*provider_, plan_)); }
TEST_P(Conformance, ReportsFailuresAsDataWithACode) { expect(reports_failures_as_data(*provider_, plan_)); }
TEST_P(Conformance, ServesManyThreadsAtOnce) { expect(serves_many_threads_at_once(*provider_, plan_)); }
// SDK 1.1.
TEST_P(Conformance, DeclaresCapabilitiesOnlyFromAbiOneOne) { expect(declares_capabilities_only_from_abi_1_1(*provider_)); }
TEST_P(Conformance, CallsAnOfferedToolAsToolCallEvents) { expect(calls_an_offered_tool(*provider_, plan_)); }
TEST_P(Conformance, EmbedsOneVectorPerInputWhenItDeclaresEmbeddings) {
  expect(embeds_when_it_declares_embeddings(*provider_, plan_));
}

INSTANTIATE_TEST_SUITE_P(Plugins, Conformance, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<ConformanceCase>& info) {
                           return info.param.name;
                         });

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Conformance);

}  // namespace
}  // namespace switchboard::conformance
