// File: tests/unit/ollama/ollama_test.cpp
//
// The ollama plugin, loaded as a real library, against the fake upstream:
// what the shared HTTP suite (tests/unit/http_plugins) does not pin down —
// documented defaults, Ollama's own "not found" wording, done_reason and
// counts, option mapping, a wrong base_url, cancellation before the first byte.
#include "collecting_sink.h"
#include "fake_upstream.h"

#include "host/plugins/loaded_provider.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <thread>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class OllamaPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    provider_ = LoadedProvider::load(SB_PLUGIN_DIR "/libswitchboard_ollama.so", error);
    ASSERT_NE(provider_, nullptr) << error;
  }

  Json config(Json extra = Json::object()) const {
    Json c = Json::parse(provider_->description().default_config_json);
    c["base_url"] = fake_.ollama_url();
    for (const auto& [k, v] : extra.items()) c[k] = v;
    return c;
  }

  ChatOutcome chat(const Json& cfg, const std::string& model, Collect& sink, const std::string& options = "{}") {
    ProviderRequest req;
    req.model = model;
    req.messages = {{"user", "hello"}};
    req.temperature = 1.25;
    req.max_tokens = 64;
    req.config_json = cfg.dump();
    req.options_json = options;
    return provider_->chat(req, sink);
  }

  std::shared_ptr<LoadedProvider> provider_;
  FakeUpstream fake_;
};

TEST_F(OllamaPlugin, DefaultConfigHasTheDocumentedFields) {
  const Json d = Json::parse(provider_->description().default_config_json);
  EXPECT_EQ(d["base_url"], "http://127.0.0.1:11434");
  EXPECT_EQ(d["model_name"], "llama3.2");
  EXPECT_EQ(d["connect_timeout_ms"], 5000);
  EXPECT_EQ(d["first_byte_timeout_ms"], 60000);
  EXPECT_EQ(d["idle_timeout_ms"], 30000);
  EXPECT_EQ(d["ca_file"], "");
  EXPECT_EQ(d["insecure_skip_verify"], false);
  EXPECT_EQ(provider_->description().name, "ollama");
}

TEST_F(OllamaPlugin, UsesOllamasPathsAndOptions) {
  Collect sink;
  const auto out = chat(config(), "fake-model", sink, R"({"stop": ["User:"], "top_p": 0.8})");
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  EXPECT_EQ(fake_.last_path(), "/api/chat");
  const Json sent = Json::parse(fake_.last_body());
  EXPECT_EQ(sent["stream"], true);
  EXPECT_DOUBLE_EQ(sent["options"]["temperature"].get<double>(), 1.25);
  EXPECT_EQ(sent["options"]["num_predict"], 64);
  EXPECT_EQ(sent["options"]["stop"], Json::array({"User:"}));
  EXPECT_DOUBLE_EQ(sent["options"]["top_p"].get<double>(), 0.8);
  EXPECT_FALSE(sent.contains("temperature")) << "Ollama reads sampling settings from options only";

  std::vector<std::string> models;
  ProviderError error;
  ASSERT_TRUE(provider_->list_models(config().dump(), models, error)) << error.message;
  EXPECT_EQ(fake_.last_path(), "/api/tags");
  EXPECT_EQ(models, (std::vector<std::string>{"llama3.2:latest", "qwen2.5:0.5b"}));
}

TEST_F(OllamaPlugin, ReportsDoneReasonAndCounts) {
  Collect sink;
  const auto out = chat(config(), "length", sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  EXPECT_EQ(out.finish_reason, "length");
  EXPECT_EQ(out.prompt_tokens, 7);
  EXPECT_EQ(out.completion_tokens, 3);
}

TEST_F(OllamaPlugin, OllamasOwnNotFoundWordingIsModelNotFound) {
  Collect sink;
  const auto out = chat(config(), "missing-model", sink);
  EXPECT_EQ(out.error_code, "model_not_found");
  EXPECT_NE(out.error_message.find("try pulling it first"), std::string::npos) << out.error_message;
}

TEST_F(OllamaPlugin, AWrongBaseUrlIsRejectedNotAMissingModel) {
  Collect sink;
  const auto out = chat(config({{"base_url", fake_.ollama_url() + "/v1"}}), "fake-model", sink);
  EXPECT_EQ(out.error_code, "upstream_rejected") << out.error_message;
  // The plain-text body is not JSON: only the status line reaches the caller.
  EXPECT_NE(out.error_message.find("HTTP 404 Not Found"), std::string::npos) << out.error_message;
  EXPECT_EQ(out.error_message.find("404 page not found"), std::string::npos) << out.error_message;
}

TEST_F(OllamaPlugin, StreamsEveryTokenAsItsOwnDelta) {
  Collect sink;
  const auto out = chat(config(), "shape-25-0-2", sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  EXPECT_EQ(sink.deltas, 25);
}

TEST_F(OllamaPlugin, TheIdleTimeoutIsMeasuredBetweenChunksNotOverTheWholeStream) {
  // 14 tokens 100 ms apart take 1.3 s in all, twice the timeout, yet no gap
  // comes near 650 ms (a loaded machine's stall of half a second included).
  Collect sink;
  const auto out = chat(config({{"idle_timeout_ms", 650}}), "shape-14-0-100", sink);
  EXPECT_EQ(out.status, ChatStatus::Complete) << out.error_code << ": " << out.error_message;
  EXPECT_EQ(sink.deltas, 14);
}

TEST_F(OllamaPlugin, StopsWithinOneHundredMillisecondsBeforeTheFirstByte) {
  Collect sink;
  Clock::time_point stop_at;
  std::thread stopper([&] {
    std::this_thread::sleep_for(250ms);
    stop_at = Clock::now();
    sink.stop.store(true);
  });
  const auto out = chat(config(), "slow-first", sink);
  const auto returned = Clock::now();
  stopper.join();
  EXPECT_EQ(out.status, ChatStatus::Cancelled);
  EXPECT_LT(returned - stop_at, 100ms);

  Collect next;
  EXPECT_EQ(chat(config(), "fake-model", next).status, ChatStatus::Complete);
  EXPECT_EQ(next.text, "Hello from fake");
}

TEST_F(OllamaPlugin, CancellingOneStreamLeavesTheOthersRunning) {
  Collect cancelled;
  std::thread victim([&] {
    std::thread stopper([&] {
      std::this_thread::sleep_for(200ms);
      cancelled.stop.store(true);
    });
    EXPECT_EQ(chat(config(), "slow", cancelled).status, ChatStatus::Cancelled);
    stopper.join();
  });
  Collect survivor;
  const auto out = chat(config(), "shape-8-0-60", survivor);
  victim.join();
  EXPECT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  EXPECT_EQ(survivor.deltas, 8);
}

// --- SDK 1.1: OpenAI's message model onto Ollama's --------------------------------------

TEST_F(OllamaPlugin, MapsToolsImagesToolResultsAndSchemasOntoOllamasApi) {
  ProviderRequest req;
  req.model = "fake-model";
  ChatMessage user("user", "what is in this picture?");
  user.parts = {{ContentPart::Type::Text, "what is in this picture?", "", ""},
                {ContentPart::Type::ImageUrl, "", "data:image/png;base64,iVBORw0KGgo=", "low"}};
  ChatMessage assistant("assistant", "");
  assistant.content_null = true;
  assistant.tool_calls = {{"call_1", "get_weather", R"({"city":"Paris"})"}};
  ChatMessage tool("tool", "18 C");
  tool.tool_call_id = "call_1";
  req.messages = {user, assistant, tool};
  req.tools_json = R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},
                       {"type":"function","function":{"name":"other"}}])";
  req.tool_choice_json = R"({"type":"function","function":{"name":"get_weather"}})";
  req.response_format_json = R"({"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object"}}})";
  req.response_format_type = "json_schema";
  req.config_json = config().dump();
  Collect sink;
  const auto out = provider_->chat(req, sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  const Json sent = Json::parse(fake_.last_body());
  EXPECT_EQ(sent["messages"][0], Json({{"role", "user"}, {"content", "what is in this picture?"}, {"images", {"iVBORw0KGgo="}}}));
  EXPECT_EQ(sent["messages"][1],
            Json({{"role", "assistant"}, {"content", ""},
                  {"tool_calls", {{{"function", {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}}}}}));
  EXPECT_EQ(sent["messages"][2], Json({{"role", "tool"}, {"content", "18 C"}, {"tool_name", "get_weather"}}));
  ASSERT_EQ(sent["tools"].size(), 1u) << "a named tool_choice offers only that tool";
  EXPECT_EQ(sent["tools"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(sent["format"], Json({{"type", "object"}}));
  EXPECT_FALSE(sent["options"].contains("temperature")) << "none was given";
  EXPECT_FALSE(sent["options"].contains("num_predict"));
}

TEST_F(OllamaPlugin, AnOllamaToolCallBecomesToolCallEventsAndFinishReasonToolCalls) {
  ProviderRequest req;
  req.model = "tool-call";
  req.messages = {{"user", "Oslo"}};
  req.tools_json = R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])";
  req.response_format_json = R"({"type":"json_object"})";
  req.response_format_type = "json_object";
  req.config_json = config().dump();
  Collect sink;
  const auto out = provider_->chat(req, sink);
  ASSERT_EQ(out.status, ChatStatus::Complete) << out.error_message;
  EXPECT_EQ(Json::parse(fake_.last_body())["format"], "json");
  EXPECT_EQ(out.finish_reason, "tool_calls");
  ASSERT_EQ(sink.reply.tool_calls.size(), 1u);
  EXPECT_EQ(sink.reply.tool_calls[0].id, "call_1");
  EXPECT_EQ(sink.reply.tool_calls[0].name, "get_weather");
  EXPECT_EQ(Json::parse(sink.reply.tool_calls[0].arguments), Json({{"city", "Oslo"}}));
}

TEST_F(OllamaPlugin, ARemoteImageIsRefusedNotDropped) {
  ProviderRequest req;
  req.model = "fake-model";
  ChatMessage user("user", "look");
  user.parts = {{ContentPart::Type::ImageUrl, "", "https://example.com/cat.png", ""}};
  req.messages = {user};
  req.config_json = config().dump();
  Collect sink;
  const auto out = provider_->chat(req, sink);
  EXPECT_EQ(out.status, ChatStatus::Error);
  EXPECT_EQ(out.error_code, "invalid_argument");
}

TEST_F(OllamaPlugin, EmbedsThroughApiEmbed) {
  EmbedRequest req;
  req.model = "nomic-embed-text";
  req.input = {"one", "two"};
  req.config_json = config().dump();
  EmbedResult result;
  ProviderError error;
  ASSERT_TRUE(provider_->embed(req, result, error)) << error.code << ": " << error.message;
  EXPECT_EQ(fake_.last_path(), "/api/embed");
  EXPECT_EQ(Json::parse(fake_.last_body()), Json({{"model", "nomic-embed-text"}, {"input", {"one", "two"}}}));
  ASSERT_EQ(result.vectors.size(), 2u);
  EXPECT_EQ(result.vectors[0].size(), 4u);
  EXPECT_EQ(result.prompt_tokens, 6);
}

}  // namespace
}  // namespace switchboard::testing
