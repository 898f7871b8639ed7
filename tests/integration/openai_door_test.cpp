// File: tests/integration/openai_door_test.cpp
//
// The OpenAI-compatible door over real HTTP: /v1/models, whole and streamed
// completions with the chunk format checked byte for byte, errors in
// OpenAI's shape, the overhead header, and statelessness.
#include "host_fixture.h"

#include <regex>
#include <thread>
#include <sstream>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;

class OpenAiDoor : public HostFixture {
 protected:
  void SetUp() override {
    HostFixture::SetUp();
    ASSERT_EQ(post("/api/configs", R"({"name": "tokens", "provider": "mock", "model_name": "mock-tokens", "options": {"tokens": 3}})").status, 201);
    ASSERT_EQ(post("/api/configs", R"({"name": "inspect", "provider": "mock", "model_name": "mock-inspect"})").status, 201);
    ASSERT_EQ(post("/api/configs", R"({"name": "broken", "provider": "mock", "model_name": "mock-tokens", "options": {"tokens": 5, "fail_after": 2}})").status, 201);
    ASSERT_EQ(post("/api/configs", R"({"name": "refusing", "provider": "mock", "options": {"fail_before_first": true}})").status, 201);
  }

  struct Raw {
    int status = 0;
    std::string body;
    std::string overhead;
    std::string content_type;
  };
  Raw completions(const std::string& body) {
    Poco::Net::HTTPClientSession session("127.0.0.1", host_->port());
    Poco::Net::HTTPRequest request("POST", "/v1/chat/completions", Poco::Net::HTTPMessage::HTTP_1_1);
    authorize(request, kAdminKey);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    Raw raw;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), raw.body);
    raw.status = static_cast<int>(response.getStatus());
    raw.overhead = response.get("X-Switchboard-Overhead-Us", "");
    raw.content_type = response.getContentType();
    return raw;
  }
};

TEST_F(OpenAiDoor, ModelsAreTheConfigsByName) {
  const HttpReply r = get("/v1/models");
  ASSERT_EQ(r.status, 200);
  const Json j = Json::parse(r.body);
  EXPECT_EQ(j["object"], "list");
  std::vector<std::string> ids;
  for (const auto& m : j["data"]) {
    ids.push_back(m["id"]);
    EXPECT_EQ(m["object"], "model");
    EXPECT_EQ(m["owned_by"], "mock");
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"mock-echo", "tokens", "inspect", "broken", "refusing"}));
}

TEST_F(OpenAiDoor, WholeCompletionHasTheOpenAiShapeAndTheOverheadHeader) {
  const Raw r = completions(R"({"model": "mock-echo", "messages": [{"role": "user", "content": "hello door"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const Json j = Json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "mock-echo");
  EXPECT_TRUE(std::regex_match(j["id"].get<std::string>(), std::regex("chatcmpl-[0-9a-f]+")));
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "hello door");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["completion_tokens"], 2);
  EXPECT_EQ(j["usage"]["total_tokens"], j["usage"]["prompt_tokens"].get<int>() + 2);
  ASSERT_FALSE(r.overhead.empty());
  EXPECT_GE(std::stoll(r.overhead), 0);
}

TEST_F(OpenAiDoor, PassesRolesArrayContentAndSamplingToTheProvider) {
  const Raw r = completions(R"({"model": "inspect", "temperature": 0.2, "max_completion_tokens": 99,
    "messages": [{"role": "system", "content": "be terse"},
                 {"role": "user", "content": [{"type": "text", "text": "part one, "}, {"type": "text", "text": "part two"}]},
                 {"role": "assistant", "content": "ok"},
                 {"role": "user", "content": "again"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const Json seen = Json::parse(Json::parse(r.body)["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_EQ(seen["messages"].size(), 4u);
  EXPECT_EQ(seen["messages"][0]["role"], "system");
  EXPECT_EQ(seen["messages"][1]["content"], "part one, part two");
  EXPECT_EQ(seen["messages"][3]["content"], "again");
  EXPECT_DOUBLE_EQ(seen["temperature"].get<double>(), 0.2);
  EXPECT_EQ(seen["max_tokens"], 99);
}

TEST_F(OpenAiDoor, StreamedChunksMatchOpenAisFormatByteForByte) {
  const Raw r = completions(R"({"model": "tokens", "stream": true, "stream_options": {"include_usage": true},
                                "messages": [{"role": "user", "content": "count"}]})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream");
  const std::string id = [&] {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.body, m, std::regex("\"id\":\"(chatcmpl-[0-9a-f]+)\"")));
    return m[1].str();
  }();
  const std::string created = [&] {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.body, m, std::regex("\"created\":([0-9]+),")));
    return m[1].str();
  }();
  const std::string head = "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":" + created +
                           ",\"model\":\"tokens\",\"system_fingerprint\":null,\"choices\":";
  auto delta = [&](const std::string& content) {
    return head + "[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
  };
  const std::string expected =
      head + "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n" +
      delta("tok1 ") + delta("tok2 ") + delta("tok3") +
      head + "[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n" +
      head + "[],\"usage\":{\"completion_tokens\":3,\"prompt_tokens\":1,\"total_tokens\":4}}\n\n" +
      "data: [DONE]\n\n";
  EXPECT_EQ(r.body, expected);
}

TEST_F(OpenAiDoor, WithoutIncludeUsageThereIsNoUsageChunk) {
  const Raw r = completions(R"({"model": "tokens", "stream": true, "messages": [{"role": "user", "content": "x"}]})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("\"usage\""), std::string::npos);
  EXPECT_NE(r.body.find("\"finish_reason\":\"stop\""), std::string::npos);
  EXPECT_EQ(r.body.substr(r.body.size() - 14), "data: [DONE]\n\n");
}

TEST_F(OpenAiDoor, AFailureMidStreamEndsWithAnErrorAndNoDone) {
  const Raw r = completions(R"({"model": "broken", "stream": true, "messages": [{"role": "user", "content": "x"}]})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
  EXPECT_EQ(r.body.find("finish_reason\":\"stop"), std::string::npos);
  const std::string last = r.body.substr(r.body.rfind("data: ") + 6);
  const Json error = Json::parse(last)["error"];
  EXPECT_EQ(error["code"], "mock_failure");
  EXPECT_EQ(error["type"], "upstream_error");
}

TEST_F(OpenAiDoor, AFailureBeforeTheFirstByteIsA502InOpenAisShape) {
  for (const char* stream : {"false", "true"}) {
    const Raw r = completions(std::string(R"({"model": "refusing", "stream": )") + stream +
                              R"(, "messages": [{"role": "user", "content": "x"}]})");
    EXPECT_EQ(r.status, 502) << stream;
    const Json e = Json::parse(r.body)["error"];
    EXPECT_EQ(e["code"], "mock_failure");
    EXPECT_TRUE(e.contains("param"));
    EXPECT_TRUE(e.contains("message"));
  }
}

TEST_F(OpenAiDoor, ErrorsUseOpenAisShapeAndStatus) {
  Raw r = completions(R"({"model": "gpt-nope", "messages": [{"role": "user", "content": "x"}]})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "model_not_found");
  EXPECT_EQ(Json::parse(r.body)["error"]["param"], "model");
  r = completions(R"({"model": "tokens", "messages": []})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json::parse(r.body)["error"]["type"], "invalid_request_error");
  r = completions(R"({"model": "tokens", "messages": [{"role": "user", "content": "x"}], "temperature": 3})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json::parse(r.body)["error"]["param"], "temperature");
  r = completions(R"({"model": "tokens", "messages": [{"role": "wizard", "content": "x"}]})");
  EXPECT_EQ(r.status, 400);
  r = completions("{oops");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "invalid_json");
  // A number too large for a double is a 400 too, not a 500 (found by fuzz_openai_request).
  r = completions(R"({"model": "tokens", "messages": [{"role": "user", "content": "x"}], "seed": 1e400})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "invalid_json");
  r = completions(R"({"model": "tokens", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]})");
  EXPECT_EQ(r.status, 400) << "a part it cannot map is refused, not dropped";
  EXPECT_EQ(Json::parse(r.body)["error"]["param"], "messages");
}

TEST_F(OpenAiDoor, IsStatelessAndFeedsTheOverheadHistogram) {
  ASSERT_EQ(completions(R"({"model": "mock-echo", "messages": [{"role": "user", "content": "x"}]})").status, 200);
  EXPECT_EQ(Json::parse(get("/api/sessions").body)["total"], 0);
  const HttpReply m = get("/metrics");
  ASSERT_EQ(m.status, 200);
  std::smatch count;
  ASSERT_TRUE(std::regex_search(m.body, count, std::regex("switchboard_openai_overhead_seconds_count ([0-9]+)")));
  EXPECT_GE(std::stoll(count[1].str()), 1);
}

class OpenAiDoorShortGrace : public OpenAiDoor {
 protected:
  void tune(HostOptions& o) const override { o.shutdown_grace_ms = 200; }
};

TEST_F(OpenAiDoorShortGrace, AStopEndsARunningStreamWithShuttingDownAndNoDone) {
  ASSERT_EQ(post("/api/configs", R"({"name": "endless", "provider": "mock", "model_name": "mock-tokens", "options": {"tokens": 1000, "delay_ms": 20}})").status, 201);
  SseClient sse(host_->port(), R"({"model": "endless", "stream": true, "messages": [{"role": "user", "content": "go"}]})",
                "/v1/chat/completions");
  ASSERT_EQ(sse.status(), 200);
  ASSERT_TRUE(sse.next().has_value());  // the role chunk
  ASSERT_TRUE(sse.next().has_value());  // a first delta
  std::thread stopper([&] { host_->stop(); });
  std::optional<SseClient::Event> last;
  while (auto e = sse.next()) last = e;  // "[DONE]" would not parse as JSON and fail here
  stopper.join();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->data["error"]["code"], "shutting_down");
}

}  // namespace
}  // namespace switchboard::testing
