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

// --- search, export, regenerate, edit (the chat page's tools) ----------------------

TEST_F(HttpApi, SearchFindsSessionsByTitleAndContentPagedAndLiterally) {
  const std::int64_t by_title = new_session();
  ASSERT_EQ(patch("/api/sessions/" + std::to_string(by_title), R"({"title": "Walrus facts"})").status, 200);
  const std::int64_t by_content = new_session();
  ASSERT_EQ(post("/api/chat", "{\"session_id\": " + std::to_string(by_content) +
                                  R"(, "user_message": "Tell me about the WALRUS and 100% of its_teeth"})").status, 200);
  const std::int64_t neither = new_session();
  ASSERT_EQ(post("/api/chat", "{\"session_id\": " + std::to_string(neither) + R"(, "user_message": "penguins"})").status, 200);

  Json found = Json::parse(get("/api/sessions/search?q=walrus").body);
  EXPECT_EQ(found["total"], 2) << found.dump();
  ASSERT_EQ(found["sessions"].size(), 2u);
  EXPECT_EQ(found["sessions"][0]["id"], by_content) << "most recently updated first";
  EXPECT_EQ(found["sessions"][1]["id"], by_title);
  EXPECT_EQ(found["sessions"][0]["message_count"], 2);
  EXPECT_EQ(found["q"], "walrus");

  found = Json::parse(get("/api/sessions/search?q=walrus&limit=1&offset=1").body);
  EXPECT_EQ(found["total"], 2);
  ASSERT_EQ(found["sessions"].size(), 1u);
  EXPECT_EQ(found["sessions"][0]["id"], by_title);

  // % and _ are matched as themselves, not as patterns.
  EXPECT_EQ(Json::parse(get("/api/sessions/search?q=100%25%20of").body)["total"], 1);
  EXPECT_EQ(Json::parse(get("/api/sessions/search?q=its_teeth").body)["total"], 1);
  EXPECT_EQ(Json::parse(get("/api/sessions/search?q=its%25teeth").body)["total"], 0);
  EXPECT_EQ(Json::parse(get("/api/sessions/search?q=a_b").body)["total"], 0);

  EXPECT_EQ(error_code(get("/api/sessions/search")), "invalid_q");
  EXPECT_EQ(error_code(get("/api/sessions/search?q=")), "invalid_q");
  EXPECT_EQ(error_code(get("/api/sessions/search?q=" + std::string(201, 'x'))), "invalid_q");
  EXPECT_EQ(error_code(get("/api/sessions/search?q=%zz")), "invalid_query");
  EXPECT_EQ(error_code(get("/api/sessions/search?q=%00")), "invalid_q");
  EXPECT_EQ(error_code(get("/api/sessions/search?q=a&limit=0")), "invalid_limit");
  EXPECT_EQ(error_code(get("/api/sessions/search?q=a&offset=-1")), "invalid_offset");

  const Account eve = make_user("eve");
  const Json theirs = Json::parse(http_as(eve.key, host_->port(), "GET", "/api/sessions/search?q=walrus").body);
  EXPECT_EQ(theirs["total"], 0) << "another user's sessions are never found";
}

TEST_F(HttpApi, ExportGivesTheConversationAsMarkdownOrJson) {
  const std::int64_t s = new_session();
  const std::string path = "/api/sessions/" + std::to_string(s);
  ASSERT_EQ(patch(path, R"({"title": "Export me"})").status, 200);
  ASSERT_EQ(post("/api/chat", "{\"session_id\": " + std::to_string(s) + R"(, "user_message": "A *table*:\n\n| a | b |\n|---|---|\n| 1 | 2 |"})").status, 200);

  const HttpReply md = get(path + "/export");
  ASSERT_EQ(md.status, 200) << md.body;
  EXPECT_EQ(md.content_type, "text/markdown; charset=utf-8");
  EXPECT_EQ(md.content_disposition, "attachment; filename=\"session-" + std::to_string(s) + ".md\"");
  EXPECT_EQ(md.body, "# Export me\n\n## User\n\nA *table*:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                     "## Assistant (mock · mock-echo)\n\nA *table*:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");

  const HttpReply json = get(path + "/export?format=json");
  ASSERT_EQ(json.status, 200);
  EXPECT_EQ(json.content_type, "application/json");
  EXPECT_EQ(json.content_disposition, "attachment; filename=\"session-" + std::to_string(s) + ".json\"");
  const Json j = Json::parse(json.body);
  EXPECT_EQ(j["session"]["title"], "Export me");
  ASSERT_EQ(j["messages"].size(), 2u);
  EXPECT_EQ(j["messages"][1]["role"], "assistant");
  EXPECT_EQ(j["messages"][1]["reply_to"], j["messages"][0]["id"]);

  EXPECT_EQ(error_code(get(path + "/export?format=pdf")), "invalid_format");
  EXPECT_EQ(get("/api/sessions/999999/export").status, 404);
}

TEST_F(HttpApi, RegenerateKeepsTheOldReplyAndAnswersTheSameMessageAgain) {
  const auto inspect = Json::parse(post("/api/configs", R"({"name": "inspect", "provider": "mock", "model_name": "mock-inspect"})").body)["id"].get<int>();
  const std::int64_t s = new_session(", \"config_id\": " + std::to_string(inspect));
  const std::string path = "/api/sessions/" + std::to_string(s);
  ASSERT_EQ(post("/api/chat", "{\"session_id\": " + std::to_string(s) + R"(, "user_message": "first"})").status, 200);
  ASSERT_EQ(post("/api/chat", "{\"session_id\": " + std::to_string(s) + R"(, "user_message": "second"})").status, 200);
  Json stored = Json::parse(get(path + "/messages").body)["messages"];
  ASSERT_EQ(stored.size(), 4u);
  const std::int64_t first_reply = stored[1]["id"], last_user = stored[2]["id"], last_reply = stored[3]["id"];

  // Only the last reply can be regenerated; a user message or an unknown id cannot.
  HttpReply r = post(path + "/messages/" + std::to_string(first_reply) + "/regenerate", "{}");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(error_code(r), "not_last_reply");
  EXPECT_EQ(post(path + "/messages/" + std::to_string(last_user) + "/regenerate", "{}").status, 409);
  EXPECT_EQ(error_code(post(path + "/messages/999999/regenerate", "{}")), "message_not_found");
  EXPECT_EQ(error_code(post(path + "/messages/" + std::to_string(last_reply) + "/regenerate", R"({"user_message": "x"})")),
            "unknown_field");
  EXPECT_EQ(message_count(s), 4u) << "a refused regenerate writes nothing";

  SseClient stream(host_->port(), R"({"temperature": 0.2})", path + "/messages/" + std::to_string(last_reply) + "/regenerate");
  ASSERT_EQ(stream.status(), 200);
  const auto events = stream.all();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().name, "start");
  EXPECT_EQ(events.front().data["user_message_id"], last_user) << "the same user message is answered again";
  EXPECT_EQ(events.back().name, "done");
  std::string text;
  for (const auto& e : events)
    if (e.name == "delta") text += e.data["content"].get<std::string>();
  const Json seen = Json::parse(text);
  EXPECT_EQ(seen["temperature"], 0.2);
  ASSERT_EQ(seen["messages"].size(), 3u) << "the model sees the history up to the answered message, once: " << text;
  EXPECT_EQ(seen["messages"][2]["content"], "second");

  stored = Json::parse(get(path + "/messages").body)["messages"];
  ASSERT_EQ(stored.size(), 5u) << "the old reply is kept";
  EXPECT_EQ(stored[3]["id"], last_reply);
  EXPECT_TRUE(stored[3]["superseded"].get<bool>());
  EXPECT_FALSE(stored[4]["superseded"].get<bool>());
  EXPECT_EQ(stored[4]["reply_to"], last_user);
  EXPECT_EQ(stored[3]["reply_to"], last_user);
  EXPECT_EQ(error_code(post(path + "/messages/" + std::to_string(last_reply) + "/regenerate", "{}")), "not_last_reply")
      << "a superseded reply is no longer the last";

  // The next turn's model sees only the reply that replaced the old one.
  const HttpReply next = post("/api/chat", "{\"session_id\": " + std::to_string(s) + R"(, "user_message": "third"})");
  ASSERT_EQ(next.status, 200);
  const Json history = Json::parse(Json::parse(next.body)["assistant_message"]["content"].get<std::string>())["messages"];
  ASSERT_EQ(history.size(), 5u) << history.dump();
  EXPECT_EQ(history[3]["content"], stored[4]["content"]);
  EXPECT_EQ(Json::parse(get(path + "/export?format=json").body)["messages"].size(), 7u) << "the export keeps every reply";
}

TEST_F(HttpApi, EditReplacesTheMessageAndEverythingAfterIt) {
  const auto inspect = Json::parse(post("/api/configs", R"({"name": "inspect", "provider": "mock", "model_name": "mock-inspect"})").body)["id"].get<int>();
  const std::int64_t s = new_session(", \"config_id\": " + std::to_string(inspect));
  const std::string path = "/api/sessions/" + std::to_string(s);
  for (const char* text : {"one", "two", "three"})
    ASSERT_EQ(post("/api/chat", "{\"session_id\": " + std::to_string(s) + ", \"user_message\": \"" + text + "\"}").status, 200);
  Json stored = Json::parse(get(path + "/messages").body)["messages"];
  ASSERT_EQ(stored.size(), 6u);
  const std::int64_t two = stored[2]["id"], two_reply = stored[3]["id"];

  EXPECT_EQ(error_code(post(path + "/messages/" + std::to_string(two_reply) + "/edit", R"({"user_message": "x"})")),
            "not_a_user_message");
  EXPECT_EQ(error_code(post(path + "/messages/" + std::to_string(two) + "/edit", "{}")), "invalid_user_message");
  EXPECT_EQ(error_code(post(path + "/messages/" + std::to_string(two) + "/edit", R"({"user_message": ""})")),
            "invalid_user_message");
  EXPECT_EQ(error_code(post(path + "/messages/999999/edit", R"({"user_message": "x"})")), "message_not_found");
  EXPECT_EQ(post(path + "/messages/0/edit", R"({"user_message": "x"})").status, 400);
  EXPECT_EQ(message_count(s), 6u) << "a refused edit writes nothing";

  SseClient stream(host_->port(), R"({"user_message": "TWO, edited"})", path + "/messages/" + std::to_string(two) + "/edit");
  ASSERT_EQ(stream.status(), 200);
  const auto events = stream.all();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "done");

  stored = Json::parse(get(path + "/messages").body)["messages"];
  ASSERT_EQ(stored.size(), 4u) << stored.dump();
  EXPECT_EQ(stored[0]["content"], "one");
  EXPECT_EQ(stored[2]["content"], "TWO, edited");
  EXPECT_GT(stored[2]["id"].get<std::int64_t>(), stored[1]["id"].get<std::int64_t>());
  const Json seen = Json::parse(stored[3]["content"].get<std::string>())["messages"];
  ASSERT_EQ(seen.size(), 3u) << "the model saw the kept turn and the edited message only";
  EXPECT_EQ(seen[2]["content"], "TWO, edited");
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

TEST_F(HttpApi, ASessionsTemperatureIsUsedByTurnsThatGiveNoneAndCanBeCleared) {
  ASSERT_EQ(post("/api/configs", R"({"name": "inspect", "provider": "mock", "model_name": "mock-inspect"})").status, 201);
  const HttpReply s = post("/api/sessions", R"({"config_id": 2})");
  ASSERT_EQ(s.status, 201) << s.body;
  const std::string id = std::to_string(nlohmann::json::parse(s.body)["id"].get<std::int64_t>());
  EXPECT_TRUE(nlohmann::json::parse(s.body)["temperature"].is_null());
  auto sent_temperature = [&](const std::string& extra) {
    const HttpReply turn = post("/api/chat", R"({"session_id": )" + id + R"(, "user_message": "t")" + extra + "}");
    EXPECT_EQ(turn.status, 200) << turn.body;
    return nlohmann::json::parse(nlohmann::json::parse(turn.body)["assistant_message"]["content"].get<std::string>())["temperature"]
        .get<double>();
  };
  EXPECT_DOUBLE_EQ(sent_temperature(""), 0.7) << "no session temperature: the default";

  HttpReply r = http(host_->port(), "PATCH", "/api/sessions/" + id, R"({"temperature": 1.3})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(get("/api/sessions/" + id).body)["temperature"].get<double>(), 1.3);
  EXPECT_DOUBLE_EQ(sent_temperature(""), 1.3) << "a turn that gives none takes the session's";
  EXPECT_DOUBLE_EQ(sent_temperature(R"(, "temperature": 0.2)"), 0.2) << "a turn's own wins";

  for (const std::string bad : {R"({"temperature": 2.5})", R"({"temperature": -0.1})", R"({"temperature": "hot"})"}) {
    r = http(host_->port(), "PATCH", "/api/sessions/" + id, bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "invalid_temperature") << bad;
  }
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(get("/api/sessions/" + id).body)["temperature"].get<double>(), 1.3)
      << "a refused change changes nothing";

  r = http(host_->port(), "PATCH", "/api/sessions/" + id, R"({"temperature": null})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(nlohmann::json::parse(r.body)["temperature"].is_null());
  EXPECT_DOUBLE_EQ(sent_temperature(""), 0.7);
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
