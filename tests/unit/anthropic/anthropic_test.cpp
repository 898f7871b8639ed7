// File: tests/unit/anthropic/anthropic_test.cpp
//
// The anthropic plugin, loaded as a real library, against the fake upstream's
// Messages API (written from Anthropic's documentation): the request mapped
// field by field (system lifted, content blocks, images, tool_use and
// tool_result, merged turns, tools and tool_choice, headers), and its stream
// mapped onto the SDK's events (text, tool calls, stop reasons, usage, errors).
#include "collecting_sink.h"
#include "fake_upstream.h"

#include "host/plugins/loaded_provider.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;

class AnthropicPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    provider_ = LoadedProvider::load(SB_PLUGIN_DIR "/libswitchboard_anthropic.so", error);
    ASSERT_NE(provider_, nullptr) << error;
  }

  std::string config() const {
    Json c = Json::parse(provider_->description().default_config_json);
    c["base_url"] = fake_.ollama_url();  // the server's root: the plugin adds /v1/messages
    c["api_key"] = "sk-ant-test-key";
    c["api_key_env"] = "";
    return c.dump();
  }

  ProviderRequest request(const std::string& model) const {
    ProviderRequest req;
    req.model = model;
    req.messages = {{"system", "be brief"}, {"user", "Paris"}};
    req.config_json = config();
    return req;
  }

  std::shared_ptr<LoadedProvider> provider_;
  FakeUpstream fake_;
};

const char* kTools = R"([{"type":"function","function":{"name":"get_weather","description":"Weather of a city",
  "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])";

TEST_F(AnthropicPlugin, DeclaresToolsAndVisionAndTheDocumentedDefaults) {
  const auto& d = provider_->description();
  EXPECT_EQ(d.name, "anthropic");
  EXPECT_TRUE(d.capabilities.tools);
  EXPECT_TRUE(d.capabilities.vision);
  EXPECT_FALSE(d.capabilities.passthrough);
  EXPECT_FALSE(d.capabilities.json_output);
  const Json c = Json::parse(d.default_config_json);
  EXPECT_EQ(c["base_url"], "https://api.anthropic.com");
  EXPECT_EQ(c["anthropic_version"], "2023-06-01");
}

TEST_F(AnthropicPlugin, StreamsTextWithUsageAndSendsAnthropicsHeaders) {
  Collect sink;
  ProviderRequest req = request("claude-test");
  req.temperature = 0.4;
  req.max_tokens = 99;
  req.options_json = R"({"stop": "END"})";
  const ChatOutcome out = provider_->chat(req, sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
  EXPECT_EQ(sink.text, "Hello from fake");
  EXPECT_EQ(out.finish_reason, "stop");
  EXPECT_EQ(out.prompt_tokens, 11);  // 7 + 4 read from the cache
  EXPECT_EQ(out.completion_tokens, 5);
  EXPECT_EQ(Json::parse(out.usage_details_json)["prompt_tokens_details"]["cached_tokens"], 4);
  EXPECT_EQ(fake_.last_path(), "/v1/messages");
  EXPECT_EQ(fake_.last_header("x-api-key"), "sk-ant-test-key");
  EXPECT_EQ(fake_.last_header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(fake_.last_header("Authorization"), "");
  EXPECT_EQ(Json::parse(fake_.last_body()),
            Json({{"model", "claude-test"},
                  {"system", "be brief"},
                  {"messages", {{{"role", "user"}, {"content", {{{"type", "text"}, {"text", "Paris"}}}}}}},
                  {"max_tokens", 99},
                  {"temperature", 0.4},
                  {"stop_sequences", {"END"}},
                  {"stream", true}}));
}

TEST_F(AnthropicPlugin, WithoutMaxTokensItSendsTheConfigsDefaultBecauseAnthropicRequiresOne) {
  Collect sink;
  ASSERT_EQ(provider_->chat(request("claude-test"), sink).status, ChatStatus::Complete);
  const Json sent = Json::parse(fake_.last_body());
  EXPECT_EQ(sent["max_tokens"], 4096);
  EXPECT_FALSE(sent.contains("temperature"));
}

TEST_F(AnthropicPlugin, AToolUseBlockBecomesToolCallEvents) {
  Collect sink;
  ProviderRequest req = request("claude-test");
  req.tools_json = kTools;
  req.tool_choice_json = R"("required")";
  req.parallel_tool_calls_json = "false";
  const ChatOutcome out = provider_->chat(req, sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
  EXPECT_EQ(out.finish_reason, "tool_calls");
  EXPECT_EQ(sink.text, "Let me check.");
  ASSERT_EQ(sink.reply.tool_calls.size(), 1u);
  EXPECT_EQ(sink.reply.tool_calls[0].id, "toolu_fake_1");
  EXPECT_EQ(sink.reply.tool_calls[0].name, "get_weather");
  EXPECT_EQ(Json::parse(sink.reply.tool_calls[0].arguments), Json({{"city", "Paris"}}));
  EXPECT_GT(sink.tool_pieces.size(), 2u) << "input_json_delta pieces pass as they come";
  const Json sent = Json::parse(fake_.last_body());
  EXPECT_EQ(sent["tools"], Json::parse(R"([{"name":"get_weather","description":"Weather of a city",
    "input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}])"));
  EXPECT_EQ(sent["tool_choice"], Json({{"type", "any"}, {"disable_parallel_tool_use", true}}));
}

TEST_F(AnthropicPlugin, ToolCallsToolResultsAndImagesBecomeContentBlocks) {
  ProviderRequest req = request("claude-test");
  ChatMessage user("user", "look");
  user.parts = {{ContentPart::Type::Text, "look", "", ""},
                {ContentPart::Type::ImageUrl, "", "data:image/png;base64,iVBORw0KGgo=", ""},
                {ContentPart::Type::ImageUrl, "", "https://example.com/cat.jpg", ""}};
  ChatMessage assistant("assistant", "");
  assistant.content_null = true;
  assistant.tool_calls = {{"toolu_1", "get_weather", R"({"city":"Paris"})"}, {"toolu_2", "get_weather", R"({"city":"Oslo"})"}};
  ChatMessage r1("tool", "18 C");
  r1.tool_call_id = "toolu_1";
  ChatMessage r2("tool", "9 C");
  r2.tool_call_id = "toolu_2";
  req.messages = {{"system", "one"}, user, assistant, r1, r2, {"system", "two"}};
  req.tools_json = kTools;
  Collect sink;
  const ChatOutcome out = provider_->chat(req, sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
  EXPECT_EQ(sink.text, "The answer is 9 C");
  const Json sent = Json::parse(fake_.last_body());
  EXPECT_EQ(sent["system"], "one\n\ntwo");
  EXPECT_EQ(sent["messages"], Json::parse(R"([
    {"role":"user","content":[{"type":"text","text":"look"},
      {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
      {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
                                   {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Oslo"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18 C"},
                              {"type":"tool_result","tool_use_id":"toolu_2","content":"9 C"}]}])"));
}

TEST_F(AnthropicPlugin, AnErrorEventMidStreamIsAnErrorWithItsMessage) {
  Collect sink;
  const ChatOutcome out = provider_->chat(request("error-mid"), sink);
  EXPECT_EQ(out.status, ChatStatus::Error);
  EXPECT_EQ(out.error_code, "upstream_unavailable");
  EXPECT_NE(out.error_message.find("Overloaded"), std::string::npos) << out.error_message;
  EXPECT_EQ(sink.text, "one ");
}

TEST_F(AnthropicPlugin, AnAuthFailureIsUpstreamAuthAndNeverShowsTheKey) {
  Collect sink;
  const ChatOutcome out = provider_->chat(request("fault-401"), sink);
  EXPECT_EQ(out.status, ChatStatus::Error);
  EXPECT_EQ(out.error_code, "upstream_auth");
  EXPECT_EQ(out.error_message.find("sk-ant-test-key"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::testing
