// File: tests/integration/openai_fidelity_test.cpp
//
// The /v1 door forwards faithfully or refuses loudly: the real host on a
// loopback port, the openai_compatible plugin pointed at the fake upstream
// (a real server on 127.0.0.1 that records each request), the mock plugin,
// and the mock as SDK 1.0 built it. Requests the upstream received are
// compared field by field with what the client sent.
#include "host_fixture.h"

#include "fake_upstream.h"

#include <regex>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;

const Json kWeatherTool = {{"type", "function"},
                           {"function",
                            {{"name", "get_weather"},
                             {"description", "Weather of a city"},
                             {"parameters",
                              {{"type", "object"},
                               {"properties", {{"city", {{"type", "string"}}}}},
                               {"required", {"city"}}}}}}};

class Fidelity : public HostFixture {
 protected:
  std::string manifest() const override {
    return Json{{"plugins",
                 {{{"name", "mock"}, {"library", "libswitchboard_mock.so"}},
                  {{"name", "openai_compatible"}, {"library", "libswitchboard_openai_compatible.so"}}}},
                {"default_config", {{"name", "mock-echo"}, {"provider", "mock"}, {"model_name", "mock-echo"}}}}
        .dump();
  }

  void SetUp() override {
    HostFixture::SetUp();
    for (const auto& [name, model] : {std::pair{"fake", "gpt-fake"}, std::pair{"fake-tools", "tool-call"}}) {
      const HttpReply r = post("/api/configs", Json{{"name", name}, {"provider", "openai_compatible"}, {"model_name", model},
                                                    {"base_url", upstream_.openai_url()}, {"options", {{"api_key_env", ""}}}}
                                                   .dump());
      ASSERT_EQ(r.status, 201) << r.body;
    }
    for (const auto& [name, provider, model] :
         {std::tuple{"tools", "mock", "mock-tools"},
          std::tuple{"vision", "mock", "mock-vision"}, std::tuple{"inspect", "mock", "mock-inspect"}}) {
      const HttpReply r =
          post("/api/configs", Json{{"name", name}, {"provider", provider}, {"model_name", model}}.dump());
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }

  HttpReply v1(const Json& body, const std::string& path = "/v1/chat/completions") {
    return http(host_->port(), "POST", path, body.dump());
  }
  Json upstream_body() const { return Json::parse(upstream_.last_body()); }

  // The chunks of a streamed answer, "[DONE]" as a string.
  static std::vector<Json> chunks(const std::string& body) {
    std::vector<Json> out;
    std::size_t at = 0;
    while ((at = body.find("data: ", at)) != std::string::npos) {
      const std::size_t end = body.find("\n\n", at);
      const std::string data = body.substr(at + 6, end - at - 6);
      out.push_back(data == "[DONE]" ? Json("[DONE]") : Json::parse(data));
      at = end;
    }
    return out;
  }

  FakeUpstream upstream_;
};

TEST_F(Fidelity, EveryFieldTheClientSentReachesTheUpstreamUnchangedAndNothingIsAdded) {
  Json request = {
      {"model", "fake"},
      {"messages",
       {{{"role", "system"}, {"content", "be brief"}},
        {{"role", "user"}, {"content", "weather in Paris?"}, {"name", "erin"}},
        {{"role", "assistant"},
         {"content", nullptr},
         {"tool_calls", {{{"id", "call_1"}, {"type", "function"},
                          {"function", {{"name", "get_weather"}, {"arguments", R"({"city":"Paris"})"}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "18 C, sunny"}},
        {{"role", "user"},
         {"content", {{{"type", "text"}, {"text", "and this picture?"}},
                      {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,iVBORw0KGgo="}, {"detail", "low"}}}}}}}}},
      {"tools", {kWeatherTool}},
      {"tool_choice", "auto"},
      {"parallel_tool_calls", false},
      {"response_format", {{"type", "json_schema"},
                           {"json_schema", {{"name", "answer"}, {"strict", true},
                                            {"schema", {{"type", "object"}, {"properties", {{"answer", {{"type", "string"}}}}}}}}}}},
      {"temperature", 0.3},
      {"top_p", 0.9},
      {"stop", "END"},
      {"max_completion_tokens", 77},
      {"seed", 42},
      {"presence_penalty", 0.5},
      {"frequency_penalty", -0.5},
      {"logit_bias", {{"50256", -100}}},
      {"user", "user-1234"},
      {"metadata", {{"trace", "abc"}}},
      {"store", false},
      {"logprobs", true},
      {"top_logprobs", 2},
      {"service_tier", "default"}};
  const HttpReply r = v1(request);
  ASSERT_EQ(r.status, 200) << r.body;
  Json expected = request;
  expected["model"] = "gpt-fake";
  const Json seen = upstream_body();
  for (const auto& [key, value] : expected.items()) EXPECT_EQ(seen.value(key, Json()), value) << key;
  for (const auto& [key, value] : seen.items()) EXPECT_TRUE(expected.contains(key)) << "added: " << key << " = " << value;
  EXPECT_EQ(upstream_.last_path(), "/v1/chat/completions");
}

TEST_F(Fidelity, NoDefaultIsInventedAndAWholeAnswerIsAskedForWhole) {
  const HttpReply r = v1({{"model", "fake"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(upstream_body(), Json({{"model", "gpt-fake"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}));
  const Json j = Json::parse(r.body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello from fake");
  // The upstream's usage detail is kept.
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
  EXPECT_EQ(j["usage"]["completion_tokens_details"]["reasoning_tokens"], 2);
  EXPECT_EQ(j["usage"]["total_tokens"], 16);
}

TEST_F(Fidelity, AStreamedRequestIsStreamedUpstreamWithMaxTokensUnderItsOwnName) {
  const HttpReply r = v1({{"model", "fake"}, {"stream", true}, {"max_tokens", 5},
                          {"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const Json seen = upstream_body();
  EXPECT_EQ(seen["stream"], true);
  EXPECT_EQ(seen["max_tokens"], 5);
  EXPECT_FALSE(seen.contains("max_completion_tokens"));
  EXPECT_FALSE(seen.contains("temperature"));
}

TEST_F(Fidelity, AnUpstreamToolCallComesBackWholeWithFinishReasonToolCalls) {
  const HttpReply r = v1({{"model", "fake-tools"}, {"tools", {kWeatherTool}},
                          {"messages", {{{"role", "user"}, {"content", "Paris"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const Json choice = Json::parse(r.body)["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_TRUE(choice["message"]["content"].is_null());
  ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u);
  const Json call = choice["message"]["tool_calls"][0];
  EXPECT_EQ(call["id"], "call_fake_1");
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(Json::parse(call["function"]["arguments"].get<std::string>()), Json({{"city", "Paris"}}));
}

TEST_F(Fidelity, UpstreamToolCallDeltasStreamThroughAsOpenAiChunks) {
  const HttpReply r = v1({{"model", "fake-tools"}, {"stream", true}, {"stream_options", {{"include_usage", true}}},
                          {"tools", {kWeatherTool}}, {"messages", {{{"role", "user"}, {"content", "Paris"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::string arguments, finish;
  Json usage;
  int pieces = 0;
  for (const Json& c : chunks(r.body)) {
    if (c == "[DONE]") continue;
    if (c.contains("usage") && !c["usage"].is_null()) usage = c["usage"];
    if (c["choices"].empty()) continue;
    const Json& choice = c["choices"][0];
    if (choice["finish_reason"].is_string()) finish = choice["finish_reason"];
    if (!choice["delta"].contains("tool_calls")) continue;
    const Json& call = choice["delta"]["tool_calls"][0];
    EXPECT_EQ(call["index"], 0);
    if (pieces++ == 0) {
      EXPECT_EQ(call["id"], "call_fake_1");
      EXPECT_EQ(call["type"], "function");
      EXPECT_EQ(call["function"]["name"], "get_weather");
    } else {
      EXPECT_FALSE(call.contains("id"));
      EXPECT_FALSE(call["function"].contains("name"));
    }
    arguments += call["function"]["arguments"].get<std::string>();
  }
  EXPECT_GT(pieces, 2) << "the arguments arrive in pieces, as the upstream sent them";
  EXPECT_EQ(Json::parse(arguments), Json({{"city", "Paris"}}));
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(usage["prompt_tokens_details"]["cached_tokens"], 4);
  EXPECT_EQ(r.body.substr(r.body.size() - 14), "data: [DONE]\n\n");
}

// The mock as SDK 1.0 built it, loaded as "mock": it declares no capability.
class OldPlugin : public Fidelity {
 protected:
  std::string manifest() const override {
    return Json{{"plugins", {{{"name", "mock"}, {"library", SB_TEST_PLUGIN_DIR "/libswitchboard_mock_1_0.so"}}}},
                {"default_config", {{"name", "old"}, {"provider", "mock"}, {"model_name", "mock-echo"}}}}
        .dump();
  }
  void SetUp() override { HostFixture::SetUp(); }
};

TEST_F(OldPlugin, ARequestNeedingACapabilityThePluginLacksIsRefusedNamingBoth) {
  const Json user = {{"role", "user"}, {"content", "hi"}};
  struct Case {
    Json extra;
    std::string capability;
    std::string param;
  };
  const std::vector<Case> cases = {
      {{{"tools", {kWeatherTool}}}, "tools", "tools"},
      {{{"tool_choice", "none"}}, "tools", "tool_choice"},
      {{{"messages", {user, {{"role", "tool"}, {"tool_call_id", "c"}, {"content", "x"}}}}}, "tools", "messages"},
      {{{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}, {"image_url", {{"url", "https://example.com/a.png"}}}}}}}}}},
       "vision", "messages"},
      {{{"response_format", {{"type", "json_object"}}}}, "json_output", "response_format"},
      {{{"seed", 7}}, "passthrough", "seed"},
  };
  for (const auto& c : cases) {
    Json body = {{"model", "old"}, {"messages", {user}}};
    body.update(c.extra);
    for (bool stream : {false, true}) {
      body["stream"] = stream;
      const HttpReply r = v1(body);
      SCOPED_TRACE(body.dump());
      ASSERT_EQ(r.status, 400) << r.body;
      const Json e = Json::parse(r.body)["error"];
      EXPECT_EQ(e["code"], "unsupported_capability");
      EXPECT_EQ(e["type"], "invalid_request_error");
      EXPECT_EQ(e["param"], c.param);
      EXPECT_NE(e["message"].get<std::string>().find("\"" + c.capability + "\""), std::string::npos) << e;
      EXPECT_NE(e["message"].get<std::string>().find("provider \"mock\""), std::string::npos) << e;
    }
  }
  // The same 1.0 plugin serves what it can: plain text, with the old defaults it always had.
  const HttpReply ok = v1({{"model", "old"}, {"messages", {user}}, {"response_format", {{"type", "text"}}}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Json::parse(ok.body)["choices"][0]["message"]["content"], "hi");
}

TEST_F(Fidelity, TheMockRunsAToolLoopStreamedAndWhole) {
  for (bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streamed" : "whole");
    Json messages = {{{"role", "user"}, {"content", "Paris"}}};
    Json body = {{"model", "tools"}, {"stream", stream}, {"tools", {kWeatherTool}}, {"messages", messages}};
    HttpReply r = v1(body);
    ASSERT_EQ(r.status, 200) << r.body;
    Json call;
    std::string finish;
    if (stream) {
      std::string arguments;
      for (const Json& c : chunks(r.body)) {
        if (c == "[DONE]" || c["choices"].empty()) continue;
        const Json& choice = c["choices"][0];
        if (choice["finish_reason"].is_string()) finish = choice["finish_reason"];
        if (!choice["delta"].contains("tool_calls")) continue;
        const Json& piece = choice["delta"]["tool_calls"][0];
        if (piece.contains("id")) call = piece;
        arguments += piece["function"]["arguments"].get<std::string>();
      }
      call["function"]["arguments"] = arguments;
      call.erase("index");
    } else {
      const Json choice = Json::parse(r.body)["choices"][0];
      finish = choice["finish_reason"];
      call = choice["message"]["tool_calls"][0];
    }
    EXPECT_EQ(finish, "tool_calls");
    EXPECT_EQ(call["function"]["name"], "get_weather");
    EXPECT_EQ(Json::parse(call["function"]["arguments"].get<std::string>()), Json({{"city", "Paris"}}));
    EXPECT_TRUE(std::regex_match(call["id"].get<std::string>(), std::regex("call_mock_[0-9a-f]{8}")));

    messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", {call}}});
    messages.push_back({{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", "18 C, sunny"}});
    body["messages"] = messages;
    body["stream"] = false;
    r = v1(body);
    ASSERT_EQ(r.status, 200) << r.body;
    const Json answer = Json::parse(r.body)["choices"][0];
    EXPECT_EQ(answer["finish_reason"], "stop");
    EXPECT_EQ(answer["message"]["content"], "The get_weather tool said: 18 C, sunny");
  }
}

TEST_F(Fidelity, TheMockToolCallChunksAreOpenAisBytes) {
  const HttpReply r = v1({{"model", "tools"}, {"stream", true}, {"tools", {kWeatherTool}},
                          {"messages", {{{"role", "user"}, {"content", "Oslo"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.body, m, std::regex("\"id\":\"(call_mock_[0-9a-f]{8})\"")));
  const std::string call_id = m[1];
  // As OpenAI sends them: index, id, type, function{name, arguments} first, then argument pieces.
  EXPECT_NE(r.body.find("\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"" + call_id +
                        "\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},"
                        "\"logprobs\":null,\"finish_reason\":null}]}\n\n"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                        "\"{\\\"city\\\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}]}\n\n"),
            std::string::npos);
}

TEST_F(Fidelity, TheMockDescribesImagesAndAnswersInTheSchemasShape) {
  HttpReply r = v1({{"model", "vision"},
                    {"messages", {{{"role", "user"},
                                   {"content", {{{"type", "text"}, {"text", "what is this?"}},
                                                {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}},
                                                {{"type", "image_url"}, {"image_url", {{"url", "data:image/jpeg;base64,AAAA"}}}}}}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["choices"][0]["message"]["content"], "I see 2 images: image/png, image/jpeg.");

  const Json schema = {{"type", "object"},
                       {"properties", {{"city", {{"type", "string"}}}, {"words", {{"type", "integer"}}}, {"sunny", {{"type", "boolean"}}}}},
                       {"required", {"city", "words", "sunny"}}};
  r = v1({{"model", "mock-echo"}, {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "w"}, {"schema", schema}}}}},
          {"messages", {{{"role", "user"}, {"content", "rainy Bergen"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(Json::parse(r.body)["choices"][0]["message"]["content"].get<std::string>()),
            Json({{"city", "rainy Bergen"}, {"words", 2}, {"sunny", true}}));
  r = v1({{"model", "mock-echo"}, {"response_format", {{"type", "json_object"}}}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(Json::parse(Json::parse(r.body)["choices"][0]["message"]["content"].get<std::string>()), Json({{"reply", "x"}}));
}

TEST_F(Fidelity, TheProviderSeesOpenAisMessageModelAndTheExtraFields) {
  const HttpReply r = v1({{"model", "inspect"}, {"seed", 3}, {"user", "u-1"},
                          {"messages", {{{"role", "user"}, {"content", "hi"}, {"name", "erin"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const Json seen = Json::parse(Json::parse(r.body)["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_TRUE(seen["temperature"].is_null()) << "no invented temperature";
  EXPECT_TRUE(seen["max_tokens"].is_null()) << "no invented max_tokens";
  EXPECT_EQ(seen["messages"][0]["name"], "erin");
  EXPECT_EQ(seen["extra"], Json({{"seed", 3}, {"user", "u-1"}}));
  EXPECT_EQ(seen["stream"], false);
}

TEST_F(Fidelity, EmbeddingsAreDeterministicAndPassThroughToTheUpstream) {
  HttpReply r = v1({{"model", "mock-echo"}, {"input", {"one", "two"}}, {"dimensions", 4}}, "/v1/embeddings");
  ASSERT_EQ(r.status, 200) << r.body;
  const Json a = Json::parse(r.body);
  EXPECT_EQ(a["object"], "list");
  ASSERT_EQ(a["data"].size(), 2u);
  EXPECT_EQ(a["data"][1]["index"], 1);
  EXPECT_EQ(a["data"][0]["embedding"].size(), 4u);
  EXPECT_EQ(Json::parse(v1({{"model", "mock-echo"}, {"input", {"one", "two"}}, {"dimensions", 4}}, "/v1/embeddings").body), a);

  r = v1({{"model", "fake"}, {"input", "hello"}, {"user", "u-9"}}, "/v1/embeddings");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(upstream_.last_path(), "/v1/embeddings");
  EXPECT_EQ(upstream_body(), Json({{"model", "gpt-fake"}, {"input", {"hello"}}, {"user", "u-9"}, {"encoding_format", "float"}}));
  EXPECT_EQ(Json::parse(r.body)["data"][0]["embedding"].size(), 4u);

  // base64, as the official client asks by default: float32 little-endian.
  r = v1({{"model", "fake"}, {"input", "hello"}, {"encoding_format", "base64"}}, "/v1/embeddings");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Json::parse(r.body)["data"][0]["embedding"].is_string());

}

TEST_F(OldPlugin, EmbeddingsAreRefusedWhenThePluginHasNone) {
  const HttpReply r = v1({{"model", "old"}, {"input", "x"}}, "/v1/embeddings");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "unsupported_capability");
  EXPECT_EQ(Json::parse(get("/api/providers").body)["providers"][0]["abi"], "1.0");
}

TEST_F(Fidelity, AnUnknownV1PathIsA404InOpenAisShape) {
  for (const char* path : {"/v1/completions", "/v1/responses", "/v1/chat/nope"}) {
    const HttpReply r = v1({{"model", "fake"}}, path);
    EXPECT_EQ(r.status, 404) << path;
    const Json e = Json::parse(r.body)["error"];
    EXPECT_EQ(e["type"], "invalid_request_error") << r.body;
    EXPECT_TRUE(e.contains("param"));
    EXPECT_TRUE(e.contains("message"));
  }
}

}  // namespace
}  // namespace switchboard::testing
