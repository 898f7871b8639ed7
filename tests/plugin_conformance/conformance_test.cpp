// File: tests/plugin_conformance/conformance_test.cpp
//
// The conformance suite every provider plugin passes, built-in or third-party:
// load, negotiate, describe with defaults, stream, stop promptly when asked,
// and report failures as data. Run it against any plugin with
//   SB_CONFORMANCE_PLUGIN=/path/libfoo.so [SB_CONFORMANCE_CONFIG='{...}']
//   [SB_CONFORMANCE_MODEL=m] [SB_CONFORMANCE_SLOW_MODEL=m SB_CONFORMANCE_SLOW_OPTIONS='{...}']
//   [SB_CONFORMANCE_FAILING_MODEL=m SB_CONFORMANCE_FAILING_OPTIONS='{...}']
//   [SB_CONFORMANCE_TOOLS_MODEL=m] plugin_conformance_test
#include "conformance_case.h"

#include "host/plugins/loaded_provider.h"

#include <switchboard/provider.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace switchboard::conformance {

std::vector<ConformanceCase>& registered_cases() {
  static std::vector<ConformanceCase> cases;
  return cases;
}

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

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

// Collects a reply; can stop after N deltas or once `stop` is set.
class RecordingSink final : public ChatSink {
 public:
  bool on_event(const ProviderEvent& e) override {
    if (e.kind != ProviderEvent::Kind::Text) {
      tools.add(e);
      return !stop.load();
    }
    const std::string_view text = e.text;
    if (deltas == 0) first_delta_at = Clock::now();
    ++deltas;
    reply.append(text);
    if (stop_after_deltas > 0 && deltas >= stop_after_deltas) {
      stop_requested_at = Clock::now();
      return false;
    }
    return !stop.load();
  }
  bool alive() override { return !stop.load(); }

  std::atomic<bool> stop{false};
  int stop_after_deltas = 0;
  int deltas = 0;
  std::string reply;
  ReplyText tools;  // tool calls put together
  Clock::time_point first_delta_at{};
  Clock::time_point stop_requested_at{};
};

class Conformance : public ::testing::TestWithParam<ConformanceCase> {
 protected:
  void SetUp() override {
    std::string error;
    provider_ = LoadedProvider::load(GetParam().library, error);
    ASSERT_NE(provider_, nullptr) << error;
    config_ = GetParam().config();
    if (config_.empty()) config_ = provider_->description().default_config_json;
  }

  ProviderRequest request(const CaseRequest& r, const std::string& text = "hello conformance") {
    ProviderRequest req;
    req.model = r.model;
    req.messages = {{"system", "be brief"}, {"user", text}};
    req.temperature = 0.5;
    req.max_tokens = 256;
    req.config_json = config_;
    req.options_json = r.options_json;
    return req;
  }

  std::shared_ptr<LoadedProvider> provider_;
  std::string config_;
};

TEST_P(Conformance, NegotiatesTheHostAbi) {
  EXPECT_EQ(provider_->abi_major(), static_cast<std::uint32_t>(SB_ABI_MAJOR));
  EXPECT_LE(provider_->abi_minor(), static_cast<std::uint32_t>(SB_ABI_MINOR));
}

TEST_P(Conformance, DescribesItselfWithObjectDefaults) {
  const auto& d = provider_->description();
  EXPECT_FALSE(d.name.empty());
  EXPECT_FALSE(d.version.empty());
  EXPECT_TRUE(Json::parse(d.default_config_json).is_object()) << d.default_config_json;
  EXPECT_TRUE(Json::parse(d.config_schema_json).is_object()) << d.config_schema_json;
}

TEST_P(Conformance, StreamsAReplyAndCompletes) {
  RecordingSink sink;
  const ChatOutcome out = provider_->chat(request(GetParam().normal), sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
  EXPECT_GE(sink.deltas, 1);
  EXPECT_FALSE(sink.reply.empty());
  EXPECT_FALSE(out.finish_reason.empty());
}

TEST_P(Conformance, StopsWithinOneHundredMillisecondsWhenTheSinkRefuses) {
  RecordingSink sink;
  sink.stop_after_deltas = 1;
  const ChatOutcome out = provider_->chat(request(GetParam().slow), sink);
  const auto returned = Clock::now();
  EXPECT_EQ(out.status, ChatStatus::Cancelled) << out.error_code << ": " << out.error_message;
  EXPECT_EQ(sink.deltas, 1);
  EXPECT_LT(returned - sink.stop_requested_at, std::chrono::milliseconds(100));
}

TEST_P(Conformance, StopsWithinOneHundredMillisecondsWhileSilent) {
  RecordingSink sink;
  std::atomic<bool> done{false};
  Clock::time_point stop_at{};
  std::thread stopper([&] {
    // Wait for the first delta so the provider is mid-stream, then stop it
    // while it is waiting for the next one.
    while (!done.load() && sink.deltas == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    stop_at = Clock::now();
    sink.stop.store(true);
  });
  const ChatOutcome out = provider_->chat(request(GetParam().slow), sink);
  const auto returned = Clock::now();
  done.store(true);
  stopper.join();
  EXPECT_EQ(out.status, ChatStatus::Cancelled) << out.error_code << ": " << out.error_message;
  EXPECT_LT(returned - stop_at, std::chrono::milliseconds(100));
}

TEST_P(Conformance, ReportsFailuresAsDataWithACode) {
  RecordingSink sink;
  const ChatOutcome out = provider_->chat(request(GetParam().failing), sink);
  EXPECT_EQ(out.status, ChatStatus::Error);
  EXPECT_FALSE(out.error_code.empty());
  EXPECT_FALSE(out.error_message.empty());
}

// --- SDK 1.1 -------------------------------------------------------------------------

TEST_P(Conformance, DeclaresCapabilitiesOnlyFromAbiOneOne) {
  const Capabilities& caps = provider_->description().capabilities;
  if (provider_->abi_minor() == 0) {
    EXPECT_FALSE(caps.tools || caps.vision || caps.json_output || caps.embeddings || caps.passthrough)
        << "a 1.0 plugin has no way to declare capabilities";
  }
  SUCCEED();
}

TEST_P(Conformance, CallsAnOfferedToolAsToolCallEvents) {
  if (!provider_->description().capabilities.tools) GTEST_SKIP() << "the plugin does not declare \"tools\"";
  const CaseRequest& r = GetParam().tools.model.empty() ? GetParam().normal : GetParam().tools;
  ProviderRequest req = request(r, "Paris");
  req.tools_json = Json::array({{{"type", "function"},
                                 {"function", {{"name", "get_weather"},
                                               {"parameters", {{"type", "object"},
                                                               {"properties", {{"city", {{"type", "string"}}}}}}}}}}})
                       .dump();
  RecordingSink sink;
  const ChatOutcome out = provider_->chat(req, sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
  EXPECT_EQ(out.finish_reason, "tool_calls");
  ASSERT_EQ(sink.tools.tool_calls.size(), 1u);
  const ToolCall& call = sink.tools.tool_calls[0];
  EXPECT_FALSE(call.id.empty());
  EXPECT_EQ(call.name, "get_weather");
  const Json arguments = Json::parse(call.arguments);
  EXPECT_TRUE(arguments.is_object()) << call.arguments;
}

TEST_P(Conformance, EmbedsOneVectorPerInputWhenItDeclaresEmbeddings) {
  EmbedRequest req;
  req.model = GetParam().normal.model;
  req.input = {"one", "two words"};
  req.config_json = config_;
  EmbedResult result;
  ProviderError error;
  const bool ok = provider_->embed(req, result, error);
  if (!provider_->description().capabilities.embeddings) {
    EXPECT_FALSE(ok);
    EXPECT_FALSE(error.code.empty());
    return;
  }
  ASSERT_TRUE(ok) << error.code << ": " << error.message;
  ASSERT_EQ(result.vectors.size(), 2u);
  EXPECT_FALSE(result.vectors[0].empty());
  EXPECT_EQ(result.vectors[0].size(), result.vectors[1].size());
}

TEST_P(Conformance, ServesManyThreadsAtOnce) {
  constexpr int kThreads = 8;
  std::atomic<int> complete{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      RecordingSink sink;
      const auto out = provider_->chat(request(GetParam().normal, "thread " + std::to_string(i)), sink);
      if (out.status == ChatStatus::Complete && !sink.reply.empty()) ++complete;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(complete.load(), kThreads);
}

INSTANTIATE_TEST_SUITE_P(Plugins, Conformance, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<ConformanceCase>& info) {
                           return info.param.name;
                         });

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Conformance);

}  // namespace
}  // namespace switchboard::conformance
