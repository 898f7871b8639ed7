// File: tests/integration/http_api_test.cpp
//
// The native HTTP API of the real host on 127.0.0.1:0 with a temporary SQLite
// file and the mock plugin: every endpoint's success and failure paths,
// validation that writes nothing, and the API key never shown back.
#include "host_fixture.h"

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;

class HttpApi : public HostFixture {
 protected:
  HttpReply put(const std::string& path, const std::string& body) { return http(host_->port(), "PUT", path, body); }
  HttpReply patch(const std::string& path, const std::string& body) { return http(host_->port(), "PATCH", path, body); }
  HttpReply del(const std::string& path) { return http(host_->port(), "DELETE", path); }

  static std::string error_code(const HttpReply& r) {
    const Json j = Json::parse(r.body);
    return j.contains("error") ? j["error"]["code"].get<std::string>() : "";
  }

  std::int64_t new_session(const std::string& extra = "") {
    const HttpReply r = post("/api/sessions", "{\"title\": \"t\"" + extra + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json::parse(r.body)["id"].get<std::int64_t>();
  }

  // A counter's value from GET /metrics.
  long long metric(const std::string& name) {
    const std::string text = get("/metrics").body;
    const auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(text.substr(at + name.size() + 2));
  }

  std::size_t message_count(std::int64_t session) {
    return Json::parse(get("/api/sessions/" + std::to_string(session) + "/messages").body)["messages"].size();
  }
};

TEST_F(HttpApi, FirstStartHasTheMockConfigAsDefault) {
  const HttpReply list = get("/api/configs");
  ASSERT_EQ(list.status, 200);
  const Json configs = Json::parse(list.body)["configs"];
  ASSERT_EQ(configs.size(), 1u);
  EXPECT_EQ(configs[0]["id"], 1);
  EXPECT_EQ(configs[0]["provider"], "mock");
  const HttpReply def = get("/api/configs/default");
  ASSERT_EQ(def.status, 200);
  EXPECT_EQ(Json::parse(def.body)["id"], 1);
}

TEST_F(HttpApi, ConfigsCrudWithAWriteOnlyApiKey) {
  const HttpReply created = post("/api/configs",
      R"({"name": "tokens", "provider": "mock", "model_name": "mock-tokens", "api_key": "sk-write-only", "options": {"tokens": 3}})");
  ASSERT_EQ(created.status, 201) << created.body;
  const Json c = Json::parse(created.body);
  EXPECT_TRUE(c["has_api_key"].get<bool>());
  EXPECT_FALSE(c.contains("api_key"));
  EXPECT_EQ(created.body.find("sk-write-only"), std::string::npos);
  const std::string path = "/api/configs/" + std::to_string(c["id"].get<int>());

  const HttpReply got = get(path);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body.find("sk-write-only"), std::string::npos);
  EXPECT_EQ(Json::parse(got.body)["options"]["tokens"], 3);

  const HttpReply updated = put(path, R"({"model_name": "mock-echo", "api_key": null})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(Json::parse(updated.body)["model_name"], "mock-echo");
  EXPECT_FALSE(Json::parse(updated.body)["has_api_key"].get<bool>());

  EXPECT_EQ(del(path).status, 200);
  EXPECT_EQ(get(path).status, 404);
  EXPECT_EQ(error_code(get(path)), "config_not_found");
}

TEST_F(HttpApi, ConfigErrorsNameTheirCause) {
  HttpReply r = post("/api/configs", R"({"name": "mock-echo", "provider": "mock"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_code(r), "config_name_taken");
  r = post("/api/configs", R"({"name": "x", "provider": "martian"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_provider");
  r = post("/api/configs", R"({"name": 5, "provider": "mock"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_name");
  r = post("/api/configs", R"({"name": "x", "provider": "mock", "options": {"delay_ms": "soon"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_options");
  EXPECT_EQ(get("/api/configs/abc").status, 400);

  new_session();  // uses config 1
  r = del("/api/configs/1");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_code(r), "config_in_use");
  EXPECT_EQ(Json::parse(get("/api/configs").body)["configs"].size(), 1u);
}

TEST_F(HttpApi, PreferencesChooseTheDefaultConfig) {
  const auto id = Json::parse(post("/api/configs", R"({"name": "pref", "provider": "mock"})").body)["id"].get<int>();
  EXPECT_TRUE(Json::parse(get("/api/preferences").body)["default_config_id"].is_null());
  HttpReply r = put("/api/preferences", "{\"default_config_id\": " + std::to_string(id) + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(get("/api/configs/default").body)["id"], id);
  EXPECT_EQ(Json::parse(get("/api/preferences").body)["default_config_id"], id);
  EXPECT_EQ(put("/api/preferences", R"({"default_config_id": 999})").status, 404);
  EXPECT_EQ(put("/api/preferences", R"({"default_config_id": null})").status, 200);
  EXPECT_EQ(Json::parse(get("/api/configs/default").body)["id"], 1);
}

TEST_F(HttpApi, NoDefaultConfigIsAConflictThatSaysHowToFixIt) {
  // Config 1 is gone and no preference is set.
  ASSERT_EQ(post("/api/configs", R"({"name": "other", "provider": "mock"})").status, 201);
  ASSERT_EQ(del("/api/configs/1").status, 200);
  const HttpReply r = get("/api/configs/default");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_code(r), "no_default_config");
  EXPECT_NE(r.body.find("POST /api/configs"), std::string::npos);
  EXPECT_EQ(post("/api/sessions", "{}").status, 409);
}

TEST_F(HttpApi, SessionsCreateListRenameSwitchDelete) {
  const HttpReply created = post("/api/sessions", R"({"title": "First"})");
  ASSERT_EQ(created.status, 201);
  const Json s = Json::parse(created.body);
  EXPECT_EQ(s["config"]["id"], 1);
  EXPECT_EQ(s["config"]["provider"], "mock");
  const std::string path = "/api/sessions/" + std::to_string(s["id"].get<int>());
  const std::int64_t second = new_session();

  Json list = Json::parse(get("/api/sessions").body);
  EXPECT_EQ(list["total"], 2);
  EXPECT_EQ(list["sessions"][0]["id"], second) << "most recent first";

  HttpReply r = patch(path, R"({"title": "Renamed"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["title"], "Renamed");
  const auto other = Json::parse(post("/api/configs", R"({"name": "inspect", "provider": "mock", "model_name": "mock-inspect"})").body)["id"].get<int>();
  r = patch(path, "{\"config_id\": " + std::to_string(other) + "}");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["config"]["model_name"], "mock-inspect");
  EXPECT_EQ(patch(path, R"({"config_id": 999})").status, 404);
  EXPECT_EQ(patch(path, R"({})").status, 400);

  list = Json::parse(get("/api/sessions?limit=1&offset=1").body);
  EXPECT_EQ(list["sessions"].size(), 1u);
  EXPECT_EQ(get("/api/sessions?limit=0").status, 400);
  EXPECT_EQ(get("/api/sessions?limit=x").status, 400);

  EXPECT_EQ(del(path).status, 200);
  EXPECT_EQ(get(path).status, 404);
  EXPECT_EQ(get(path + "/messages").status, 404);
  EXPECT_EQ(del(path).status, 404);
}

TEST_F(HttpApi, APostWithoutABodyIsAnsweredAtOnce) {
  // curl -X POST without -d sends neither Content-Length nor a body.
  Poco::Net::HTTPClientSession session("127.0.0.1", host_->port());
  session.setTimeout(Poco::Timespan(3, 0));
  Poco::Net::HTTPRequest request("POST", "/api/sessions", Poco::Net::HTTPMessage::HTTP_1_1);
  authorize(request, kAdminKey);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  EXPECT_EQ(response.getStatus(), 201) << body;
  EXPECT_EQ(Json::parse(body)["title"], "New chat");
}

TEST_F(HttpApi, SessionsBelongToTheirOwner) {
  const std::int64_t id = new_session();
  const Account mallory = make_user("mallory");
  EXPECT_EQ(http_as(mallory.key, host_->port(), "GET", "/api/sessions/" + std::to_string(id)).status, 404);
}

TEST_F(HttpApi, WholeChatReturnsBothMessagesWithTheirSnapshot) {
  const std::int64_t s = new_session();
  const auto turns_before = metric("switchboard_chat_turns_total");
  const HttpReply r = post("/api/chat", "{\"session_id\": " + std::to_string(s) + ", \"user_message\": \"hello there\"}");
  ASSERT_EQ(r.status, 200) << r.body;
  const Json j = Json::parse(r.body);
  EXPECT_EQ(j["assistant_message"]["content"], "hello there");
  EXPECT_EQ(j["assistant_message"]["status"], "complete");
  for (const auto* key : {"user_message", "assistant_message"}) {
    EXPECT_EQ(j[key]["llm_provider"], "mock");
    EXPECT_EQ(j[key]["llm_model_name"], "mock-echo");
  }
  const Json stored = Json::parse(get("/api/sessions/" + std::to_string(s) + "/messages").body)["messages"];
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0]["role"], "user");
  EXPECT_EQ(stored[1]["llm_model_name"], "mock-echo");
  EXPECT_EQ(metric("switchboard_chat_turns_total"), turns_before + 1) << "/metrics counts the turn";
}

TEST_F(HttpApi, WholeChatUpstreamFailureIsA502WithTheSavedMessageId) {
  const auto cfg = Json::parse(post("/api/configs", R"({"name": "boom", "provider": "mock", "options": {"fail_before_first": true}})").body)["id"].get<int>();
  const std::int64_t s = new_session(", \"config_id\": " + std::to_string(cfg));
  const HttpReply r = post("/api/chat", "{\"session_id\": " + std::to_string(s) + ", \"user_message\": \"hi\"}");
  EXPECT_EQ(r.status, 502);
  const Json e = Json::parse(r.body)["error"];
  EXPECT_EQ(e["code"], "mock_failure");
  EXPECT_GT(e["message_id"].get<int>(), 0);
}

TEST_F(HttpApi, BadChatRequestsGetAClearErrorAndWriteNothing) {
  const std::int64_t s = new_session();
  const std::string sid = std::to_string(s);
  struct Case {
    std::string body;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"{", 400, "invalid_json"},
      {"[]", 400, "invalid_json"},
      {R"({"user_message": "hi"})", 400, "invalid_session_id"},
      {"{\"session_id\": " + sid + "}", 400, "invalid_user_message"},
      {"{\"session_id\": \"" + sid + "\", \"user_message\": \"hi\"}", 400, "invalid_session_id"},
      {"{\"session_id\": " + sid + ", \"user_message\": 7}", 400, "invalid_user_message"},
      {"{\"session_id\": " + sid + ", \"user_message\": \"\"}", 400, "invalid_user_message"},
      {"{\"session_id\": " + sid + ", \"user_message\": \"hi\", \"temperature\": 2.5}", 400, "invalid_temperature"},
      {"{\"session_id\": " + sid + ", \"user_message\": \"hi\", \"temperature\": \"hot\"}", 400, "invalid_temperature"},
      {"{\"session_id\": " + sid + ", \"user_message\": \"hi\", \"max_tokens\": 0}", 400, "invalid_max_tokens"},
      {"{\"session_id\": " + sid + ", \"user_message\": \"hi\", \"max_tokens\": 1.5}", 400, "invalid_max_tokens"},
      {"{\"session_id\": " + sid + ", \"user_message\": \"hi\", \"stream\": true}", 400, "unknown_field"},
      {R"({"session_id": 424242, "user_message": "hi"})", 404, "session_not_found"},
      {"{\"session_id\": " + sid + ", \"user_message\": \"hi\", \"config_id\": 4242}", 404, "config_not_found"},
  };
  for (const auto* path : {"/api/chat", "/api/chat/stream"}) {
    for (const auto& c : cases) {
      const HttpReply r = post(path, c.body);
      EXPECT_EQ(r.status, c.status) << path << " " << c.body << " -> " << r.body;
      EXPECT_EQ(r.content_type, "application/json") << path << " " << c.body;
      EXPECT_EQ(error_code(r), c.code) << path << " " << c.body;
    }
    const HttpReply text = http(host_->port(), "POST", path, "{\"session_id\": " + sid + ", \"user_message\": \"hi\"}", "text/plain");
    EXPECT_EQ(text.status, 415);
    EXPECT_EQ(error_code(text), "unsupported_media_type");
  }
  EXPECT_EQ(message_count(s), 0u);
}

TEST_F(HttpApi, FourThousandChineseCharactersPassAndOneMoreIsRefused) {
  const std::int64_t s = new_session();
  std::string chinese;
  for (int i = 0; i < 4000; ++i) chinese += "\xe4\xb8\xad";  // 中: 3 bytes, 1 character
  HttpReply r = post("/api/chat", Json{{"session_id", s}, {"user_message", chinese}}.dump());
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_EQ(Json::parse(r.body)["assistant_message"]["content"], chinese);
  r = post("/api/chat", Json{{"session_id", s}, {"user_message", chinese + "\xe4\xb8\xad"}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_user_message");
  EXPECT_NE(r.body.find("4001"), std::string::npos);
  EXPECT_EQ(message_count(s), 2u);
}

class SmallBodyLimit : public HttpApi {
 protected:
  void tune(HostOptions& o) const override { o.max_body_bytes = 1000; }
};

TEST_F(SmallBodyLimit, ABodyOverTheLimitIs413) {
  const std::int64_t s = new_session();
  const HttpReply r = post("/api/chat", Json{{"session_id", s}, {"user_message", std::string(2000, 'a')}}.dump());
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(error_code(r), "payload_too_large");
  EXPECT_EQ(message_count(s), 0u);
}

}  // namespace
}  // namespace switchboard::testing

namespace switchboard::testing {
namespace {

TEST_F(HttpApi, ASessionsSystemPromptIsSentFirstInEveryTurnAndCanBeChangedOrRemoved) {
  ASSERT_EQ(post("/api/configs", R"({"name": "inspect", "provider": "mock", "model_name": "mock-inspect"})").status, 201);
  const HttpReply s = post("/api/sessions", R"({"title": "with a persona"})");
  ASSERT_EQ(s.status, 201) << s.body;
  const std::string id = std::to_string(nlohmann::json::parse(s.body)["id"].get<std::int64_t>());
  EXPECT_EQ(nlohmann::json::parse(s.body)["system_prompt"], "");

  HttpReply r = http(host_->port(), "PATCH", "/api/sessions/" + id, R"({"system_prompt": "You are a pirate."})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["system_prompt"], "You are a pirate.");
  EXPECT_EQ(nlohmann::json::parse(get("/api/sessions/" + id).body)["system_prompt"], "You are a pirate.");

  auto seen_messages = [&](const std::string& text) {
    const HttpReply turn = post("/api/chat", R"({"session_id": )" + id + R"(, "config_id": 2, "user_message": ")" + text + R"("})");
    EXPECT_EQ(turn.status, 200) << turn.body;
    const auto reply = nlohmann::json::parse(turn.body)["assistant_message"]["content"].get<std::string>();
    return nlohmann::json::parse(reply)["messages"];
  };
  nlohmann::json seen = seen_messages("ahoy");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], nlohmann::json({{"role", "system"}, {"content", "You are a pirate."}}));
  seen = seen_messages("again");
  ASSERT_EQ(seen.size(), 4u) << "the prompt once, then the stored turn once, then the new message";
  EXPECT_EQ(seen[0]["role"], "system");
  EXPECT_EQ(seen[1]["content"], "ahoy");

  r = http(host_->port(), "PATCH", "/api/sessions/" + id, R"({"system_prompt": 7})");
  EXPECT_EQ(r.status, 400);
  r = http(host_->port(), "PATCH", "/api/sessions/" + id, nlohmann::json{{"system_prompt", std::string(20001, 'x')}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "invalid_system_prompt");

  r = http(host_->port(), "PATCH", "/api/sessions/" + id, R"({"system_prompt": ""})");
  ASSERT_EQ(r.status, 200);
  seen = seen_messages("bye");
  EXPECT_EQ(seen[0]["role"], "user") << "an empty prompt sends nothing";
}

}  // namespace
}  // namespace switchboard::testing
