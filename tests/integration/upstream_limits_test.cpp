// File: tests/integration/upstream_limits_test.cpp
//
// No input can crash or starve the host (issue #12), over real HTTP: cost
// caps (max_tokens, provider options, reply size), where a config may point
// (base_url, ca_file, the connect-time address policy, upstream error bodies),
// and whole-reply calls whose client left being stopped.
#include "fake_upstream.h"
#include "host_fixture.h"

#include <thread>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const char* kMockAndOpenAiManifest = R"({
  "plugins": [{"name": "mock", "library": "libswitchboard_mock.so"},
              {"name": "openai_compatible", "library": "libswitchboard_openai_compatible.so"}],
  "default_config": {"name": "mock-echo", "provider": "mock", "model_name": "mock-echo"}
})";

std::string code_of(const HttpReply& r) {
  try {
    const Json j = Json::parse(r.body);
    return j["error"]["code"].get<std::string>();
  } catch (const std::exception&) {
    return "(no error code in: " + r.body + ")";
  }
}

std::string message_of(const HttpReply& r) {
  try {
    return Json::parse(r.body)["error"]["message"].get<std::string>();
  } catch (const std::exception&) {
    return "";
  }
}

class Limits : public HostFixture {
 protected:
  std::string manifest() const override { return kMockAndOpenAiManifest; }

  HttpReply put(const std::string& path, const std::string& body) { return http(host_->port(), "PUT", path, body); }

  std::int64_t config(const Json& body) {
    const HttpReply r = post("/api/configs", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? Json::parse(r.body)["id"].get<std::int64_t>() : 0;
  }
  std::int64_t mock_config(const std::string& name, const Json& options, const std::string& model = "mock-tokens") {
    return config({{"name", name}, {"provider", "mock"}, {"model_name", model}, {"options", options}});
  }
  std::int64_t session(std::int64_t config_id = 1) {
    const HttpReply r = post("/api/sessions", Json{{"config_id", config_id}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return Json::parse(r.body)["id"].get<std::int64_t>();
  }
  Json messages(std::int64_t session_id) {
    return Json::parse(get("/api/sessions/" + std::to_string(session_id) + "/messages").body)["messages"];
  }
  HttpReply chat(std::int64_t session_id, const Json& extra = Json::object(), const std::string& path = "/api/chat") {
    Json body = {{"session_id", session_id}, {"user_message", "go"}};
    body.update(extra);
    return post(path, body.dump());
  }
  HttpReply completion(const Json& extra) {
    Json body = {{"model", "mock-echo"}, {"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})}};
    body.update(extra);
    return post("/v1/chat/completions", body.dump());
  }

  int made_ = 0;
};

// --- cost caps ---------------------------------------------------------------------

TEST_F(Limits, MaxTokensAboveTheCapIsRefusedNamingTheCapAndWritesNothing) {
  const auto s = session();
  HttpReply r = chat(s, {{"max_tokens", 32769}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(code_of(r), "invalid_max_tokens");
  EXPECT_NE(message_of(r).find("at most 32768"), std::string::npos) << r.body;
  EXPECT_NE(message_of(r).find("--max-tokens-cap"), std::string::npos) << r.body;

  r = chat(s, {{"max_tokens", 10000000}}, "/api/chat/stream");
  EXPECT_EQ(r.status, 400) << "refused before the stream starts";
  EXPECT_EQ(code_of(r), "invalid_max_tokens");
  EXPECT_TRUE(messages(s).empty());

  r = chat(s, {{"max_tokens", 32768}});
  EXPECT_EQ(r.status, 200) << r.body;

  r = completion({{"max_tokens", 40000}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(code_of(r), "invalid_max_tokens");
  EXPECT_EQ(Json::parse(r.body)["error"]["param"], "max_tokens");
}

TEST_F(Limits, TheOneSmallRequestThatCostGigabytesIsRefused) {
  const auto s = session(mock_config("tokens", {{"tokens", 3}}));
  const HttpReply r = chat(s, {{"max_tokens", 10000000}, {"options", {{"tokens", 10000000}}}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_LT(r.body.size(), 1000u);
  EXPECT_TRUE(messages(s).empty());
}

TEST_F(Limits, RequestOptionsAreHeldToTheProvidersSchema) {
  const auto s = session();
  struct Case {
    Json options;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{{"tokens", 200000}}, "options.tokens must be at most 100000"},
      {{{"delay_ms", 20000}}, "options.delay_ms must be at most 10000"},
      {{{"delay_ms", -5}}, "options.delay_ms must be at least 0"},
      {{{"delay_ms", "soon"}}, "options.delay_ms must be of type integer"},
      {{{"colour", "red"}}, "options.colour is not a setting of provider mock"},
      {{{"_switchboard", {{"upstream_deny", Json::array()}}}}, "reserved"},
  };
  for (const auto& c : cases) {
    const HttpReply r = chat(s, {{"options", c.options}});
    EXPECT_EQ(r.status, 400) << c.options.dump() << ": " << r.body;
    EXPECT_EQ(code_of(r), "invalid_options") << c.options.dump();
    EXPECT_NE(message_of(r).find(c.says), std::string::npos) << r.body;
  }
  EXPECT_TRUE(messages(s).empty()) << "a refused request writes nothing";
  const HttpReply ok = chat(s, {{"options", {{"tokens", 3}, {"delay_ms", 0}}}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Json::parse(ok.body)["assistant_message"]["content"], "tok1 tok2 tok3");
}

TEST_F(Limits, StoredOptionsAreHeldToTheSameBounds) {
  for (const Json& options : {Json{{"delay_ms", 20000}}, Json{{"tokens", 200000}}, Json{{"_switchboard", Json::object()}}}) {
    const HttpReply r = post("/api/configs", Json{{"name", "x"}, {"provider", "mock"}, {"options", options}}.dump());
    EXPECT_EQ(r.status, 400) << options.dump() << ": " << r.body;
    EXPECT_EQ(code_of(r), "invalid_options");
  }
  EXPECT_EQ(Json::parse(get("/api/configs").body)["configs"].size(), 1u);
}

class HighTokenCap : public Limits {
 protected:
  void tune(HostOptions& o) const override { o.max_tokens_cap = 1000000; }
};

TEST_F(HighTokenCap, TheProvidersOwnLimitAppliesWhenItIsLower) {
  const HttpReply r = chat(session(), {{"max_tokens", 200000}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(code_of(r), "invalid_max_tokens");
  EXPECT_NE(message_of(r).find("at most 100000"), std::string::npos) << r.body;
  EXPECT_NE(message_of(r).find("provider mock"), std::string::npos) << r.body;
}

class SmallReplies : public Limits {
 protected:
  void tune(HostOptions& o) const override { o.max_reply_bytes = 100; }
};

TEST_F(SmallReplies, AWholeReplyStopsAtTheLimitAndEndsWithLength) {
  const auto s = session(mock_config("long", {{"tokens", 1000}}));
  const HttpReply r = chat(s);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json reply = Json::parse(r.body)["assistant_message"];
  EXPECT_EQ(reply["status"], "complete");
  EXPECT_EQ(reply["finish_reason"], "length");
  const std::string content = reply["content"];
  EXPECT_LE(content.size(), 100u);
  EXPECT_GT(content.size(), 80u);
  EXPECT_EQ(content.rfind("tok1 tok2 tok3 ", 0), 0u);
  EXPECT_EQ(messages(s)[1]["content"], content) << "saved as answered";
}

TEST_F(SmallReplies, AStreamStopsAtTheLimitAndEndsWithLength) {
  const auto s = session(mock_config("long", {{"tokens", 1000}}));
  SseClient sse(host_->port(), Json{{"session_id", s}, {"user_message", "go"}}.dump());
  std::string text;
  std::optional<SseClient::Event> last;
  for (auto e = sse.next(); e; e = sse.next()) {
    if (e->name == "delta") text += e->data["content"].get<std::string>();
    last = e;
  }
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->name, "done");
  EXPECT_EQ(last->data["finish_reason"], "length");
  EXPECT_LE(text.size(), 100u);
  EXPECT_EQ(messages(s)[1]["finish_reason"], "length");
}

TEST_F(SmallReplies, OpenAiCompletionsStopAtTheLimitWithLengthWholeOrStreamed) {
  mock_config("long", {{"tokens", 1000}});
  HttpReply r = completion({{"model", "long"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const Json whole = Json::parse(r.body);
  EXPECT_EQ(whole["choices"][0]["finish_reason"], "length");
  EXPECT_LE(whole["choices"][0]["message"]["content"].get<std::string>().size(), 100u);

  r = completion({{"model", "long"}, {"stream", true}});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("finish_reason":"length")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
}

// --- where a config may point ------------------------------------------------------

TEST_F(Limits, ABaseUrlThatIsNotAPlainHttpUrlIsRefused) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"http://user:secret@example.com/v1", "user-info"},
      {"http://example.com/v1\r\nX-Injected: 1", "control"},
      {"http://example.com:99999/v1", "port"},
      {"ftp://example.com/v1", "http:// or https://"},
      {"http://example.com/v1#x", "fragment"},
  };
  for (const auto& [url, says] : bad) {
    const HttpReply r =
        post("/api/configs", Json{{"name", "bad"}, {"provider", "openai_compatible"}, {"base_url", url}}.dump());
    EXPECT_EQ(r.status, 400) << url << ": " << r.body;
    EXPECT_EQ(code_of(r), "invalid_base_url") << url;
    EXPECT_NE(message_of(r).find(says), std::string::npos) << r.body;
  }
  const HttpReply in_options = post("/api/configs", Json{{"name", "bad"}, {"provider", "openai_compatible"},
                                                         {"options", {{"base_url", "http://169.254.169.254/"}}}}.dump());
  EXPECT_EQ(in_options.status, 400) << in_options.body;
  EXPECT_EQ(Json::parse(get("/api/configs").body)["configs"].size(), 1u);
}

TEST_F(Limits, ABaseUrlIsStoredInItsNormalForm) {
  const auto id = config({{"name", "n"}, {"provider", "openai_compatible"}, {"base_url", "HTTPS://API.Example.COM:443/v1/"}});
  const std::string path = "/api/configs/" + std::to_string(id);
  EXPECT_EQ(Json::parse(get(path).body)["base_url"], "https://api.example.com/v1");
  const HttpReply bad = put(path, R"({"base_url": "http://example.com:0/"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Json::parse(get(path).body)["base_url"], "https://api.example.com/v1") << "unchanged";
}

TEST_F(Limits, ACaFileIsRefusedWithoutACaDirWithoutSayingWhetherItExists) {
  const std::string real = dir_.write("real.pem", "not a certificate");
  const HttpReply a = post("/api/configs", Json{{"name", "a"}, {"provider", "openai_compatible"},
                                                {"options", {{"ca_file", real}}}}.dump());
  const HttpReply b = post("/api/configs", Json{{"name", "a"}, {"provider", "openai_compatible"},
                                                {"options", {{"ca_file", dir_.file("missing.pem")}}}}.dump());
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(code_of(a), "invalid_options");
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.body.find("real.pem"), std::string::npos);
}

class WithCaDir : public Limits {
 protected:
  void tune(HostOptions& o) const override {
    std::filesystem::create_directories(dir_.path() / "ca");
    o.ca_dir = (dir_.path() / "ca").string();
  }
};

TEST_F(WithCaDir, ACaFileMustBeInsideTheOperatorsDirectory) {
  dir_.write("ca/corp.pem", "x");
  const std::string outside_real = dir_.write("elsewhere.pem", "x");
  auto create = [&](const std::string& ca_file) {
    return post("/api/configs", Json{{"name", "c" + std::to_string(++made_)}, {"provider", "openai_compatible"},
                                     {"options", {{"ca_file", ca_file}}}}.dump());
  };
  EXPECT_EQ(create("corp.pem").status, 201);
  EXPECT_EQ(create((dir_.path() / "ca" / "corp.pem").string()).status, 201);
  const HttpReply real = create(outside_real);
  const HttpReply missing = create(dir_.file("missing.pem"));
  const HttpReply climbing = create("../elsewhere.pem");
  EXPECT_EQ(real.status, 400);
  EXPECT_EQ(real.body, missing.body) << "the answer does not depend on the file";
  EXPECT_EQ(real.body, climbing.body);
}

class Upstream : public Limits {
 protected:
  std::int64_t openai_session(const std::string& base_url, const std::string& model = "fake-model") {
    return session(config({{"name", "up" + std::to_string(++made_)},
                           {"provider", "openai_compatible"},
                           {"model_name", model},
                           {"base_url", base_url},
                           {"options", {{"api_key_env", ""}}}}));
  }
  FakeUpstream fake_;
};

TEST_F(Upstream, LoopbackUpstreamsWorkByDefault) {
  const HttpReply r = chat(openai_session(fake_.openai_url()));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["assistant_message"]["content"], "Hello from fake");
}

// openai_compatible hands the host the tokens of one upstream read together
// (SDK 1.2 TEXT_HELD); they must still reach the client before the plugin
// waits for more, not when the upstream next speaks.
TEST_F(Upstream, TokensReachTheClientWhileTheUpstreamIsStillSilent) {
  // "stall": two tokens, then 10 s of silence and a cut without the end marker.
  const auto s = openai_session(fake_.openai_url(), "stall");
  SseClient sse(host_->port(), Json{{"session_id", s}, {"user_message", "go"}}.dump());
  ASSERT_EQ(sse.status(), 200);
  ASSERT_EQ(sse.next()->name, "start");
  std::string seen;
  while (seen != "one two ") {
    const auto e = sse.next();
    ASSERT_TRUE(e && e->name == "delta") << "the stream ended before its tokens arrived";
    seen += e->data["content"].get<std::string>();
  }
  sse.disconnect();
  // Seen while the upstream was silent: the client's leaving ended the turn, not the upstream's cut.
  Json reply;
  for (int i = 0; i < 1500; ++i) {
    reply = messages(s).back();
    if (reply["status"] != "streaming") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(reply["status"], "cancelled");
  EXPECT_EQ(reply["content"], "one two ");
}

TEST_F(Upstream, TheMetadataAddressIsDeniedByDefault) {
  const auto s = openai_session("http://169.254.169.254/latest");
  const HttpReply r = chat(s);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(code_of(r), "upstream_denied");
  EXPECT_EQ(messages(s)[1]["error"]["code"], "upstream_denied");
}

TEST_F(Upstream, AnUpstreamsHtmlErrorPageNeverReachesTheCaller) {
  const HttpReply r = chat(openai_session(fake_.openai_url(), "html-error"));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(code_of(r), "upstream_error");
  EXPECT_NE(message_of(r).find("HTTP 502 Bad Gateway"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("<html"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("internal.corp"), std::string::npos) << r.body;
}

class DenyLoopback : public Upstream {
 protected:
  void tune(HostOptions& o) const override { o.upstream_deny = {"127.0.0.0/8"}; }
};

TEST_F(DenyLoopback, TheOperatorsDenyListIsAppliedToTheResolvedAddress) {
  const HttpReply r = chat(openai_session(fake_.openai_url()));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(code_of(r), "upstream_denied");
  const HttpReply v1 = completion({{"model", "up1"}});
  EXPECT_EQ(v1.status, 502) << v1.body;
  EXPECT_EQ(Json::parse(v1.body)["error"]["code"], "upstream_denied");
  EXPECT_EQ(fake_.requests(), 0) << "nothing reached the upstream";
}

TEST(HostStart, ABadUpstreamListStopsTheHostNamingTheEntry) {
  TempDir dir;
  HostOptions o;
  o.port = 0;
  o.db_path = dir.file("switchboard.db");
  o.manifest_path = dir.write("plugins.json", kMockOnlyManifest);
  o.plugin_dir = SB_PLUGIN_DIR;
  o.upstream_allow = {"10.0.0.0/8", "10.0.0.0/99"};
  try {
    Host host(o);
    ADD_FAILURE() << "started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--upstream-allow"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("10.0.0.0/99"), std::string::npos) << e.what();
  }
}

// --- abandoned whole-reply calls ---------------------------------------------------

// Sends a request and leaves without reading the answer, as a closed tab does.
class Abandoning {
 public:
  Abandoning(std::uint16_t port, const std::string& path, const std::string& body) : session_("127.0.0.1", port) {
    Poco::Net::HTTPRequest request("POST", path, Poco::Net::HTTPMessage::HTTP_1_1);
    authorize(request, kAdminKey);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session_.sendRequest(request) << body << std::flush;
  }
  void leave() { session_.abort(); }

 private:
  Poco::Net::HTTPClientSession session_;
};

TEST_F(Limits, AnAbandonedWholeChatIsCancelledWithinASecondAndFreesTheSession) {
  const auto slow = mock_config("slow", {{"tokens", 5}, {"delay_ms", 10000}});
  const auto s = session(slow);
  Abandoning client(host_->port(), "/api/chat", Json{{"session_id", s}, {"user_message", "go"}}.dump());
  for (auto until = Clock::now() + 3s; messages(s).size() < 2 && Clock::now() < until;)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(messages(s).size(), 2u) << "the turn started";
  std::this_thread::sleep_for(200ms);
  client.leave();
  const auto left = Clock::now();

  Json reply;
  for (auto until = left + 3s; Clock::now() < until; std::this_thread::sleep_for(10ms)) {
    reply = messages(s)[1];
    if (reply["status"] != "streaming") break;
  }
  EXPECT_LT(Clock::now() - left, 1500ms);
  EXPECT_EQ(reply["status"], "cancelled");

  // The session's lock and the worker are free: the next turn runs at once.
  const auto started = Clock::now();
  const HttpReply next = chat(s, {{"config_id", 1}});
  EXPECT_EQ(next.status, 200) << next.body;
  EXPECT_LT(Clock::now() - started, 1s);
}

TEST_F(Limits, AnAbandonedWholeCompletionStopsItsProvider) {
  mock_config("slow", {{"tokens", 5}, {"delay_ms", 10000}});
  Abandoning client(host_->port(), "/v1/chat/completions",
                    Json{{"model", "slow"}, {"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})}}.dump());
  std::this_thread::sleep_for(300ms);
  client.leave();
  std::this_thread::sleep_for(1s);
  // Stopping waits up to the 3 s grace for running completions: a quick stop
  // means none was left running.
  const auto stopping = Clock::now();
  host_->stop();
  EXPECT_LT(Clock::now() - stopping, 1500ms);
}

}  // namespace
}  // namespace switchboard::testing
