// File: tests/integration/hostile_input_test.cpp
//
// What a hostile client sends, against the real host on a loopback port:
// bodies nested 20,000 deep on every route that takes JSON, numbers beyond
// double, integers beyond int64, non-positive ids, NULs and control
// characters in names and titles, bad query escapes, control characters in a
// path. Each case asserts the answer, that nothing was written, and that the
// host still serves a normal chat afterwards.
#include "host_fixture.h"
#include "raw_client.h"

#include "host/log.h"

#include <Poco/Channel.h>
#include <Poco/Message.h>

#include <mutex>
#include <thread>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string nested_objects(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += R"({"a":)";
  return s + "1" + std::string(depth, '}');
}

std::string code_of(const HttpReply& r) {
  try {
    return Json::parse(r.body)["error"]["code"].get<std::string>();
  } catch (const std::exception&) {
    return "(not a JSON error: " + r.body.substr(0, 200) + ")";
  }
}

class HostileInput : public HostFixture {
 protected:
  HttpReply send(const std::string& method, const std::string& path, const std::string& body) {
    return http(host_->port(), method, path, body);
  }

  std::int64_t new_session() {
    const HttpReply r = post("/api/sessions", R"({"title": "ok"})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json::parse(r.body)["id"].get<std::int64_t>();
  }

  // The host still answers, and a whole turn still completes.
  void still_serves_a_chat() {
    ASSERT_EQ(get("/healthz").status, 200);
    const std::int64_t id = new_session();
    const HttpReply r = post("/api/chat", R"({"session_id": )" + std::to_string(id) + R"(, "user_message": "still here"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json::parse(r.body)["assistant_message"]["content"], "still here");
  }

  std::size_t count(const std::string& list_path, const std::string& key) {
    const HttpReply r = get(list_path);
    EXPECT_EQ(r.status, 200) << r.body;
    return Json::parse(r.body)[key].size();
  }
};

TEST_F(HostileInput, BodiesNestedTwentyThousandDeepAreRefusedNamingTheLimitOnEveryJsonRoute) {
  const std::int64_t session = new_session();
  const std::string s = std::to_string(session);
  const std::string arrays = nested_arrays(20000);
  const std::string objects = nested_objects(20000);
  struct Case {
    std::string method, path, body;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/chat/completions", R"({"model":"mock-echo","messages":[{"role":"user","content":)" + arrays + "}]}"},
      {"POST", "/v1/chat/completions", R"({"model":"mock-echo","messages":[{"role":"user","content":"x"}],"stop":)" + arrays + "}"},
      {"POST", "/api/configs", R"({"name":"deep","provider":"mock","model_name":"mock-echo","options":{"x":)" + objects + "}}"},
      {"PUT", "/api/configs/1", R"({"options":{"x":)" + arrays + "}}"},
      {"POST", "/api/chat", R"({"session_id":)" + s + R"(,"user_message":"hi","options":{"x":)" + arrays + "}}"},
      {"POST", "/api/chat/stream", R"({"session_id":)" + s + R"(,"user_message":"hi","options":{"x":)" + objects + "}}"},
      {"POST", "/api/sessions", arrays},
      {"PATCH", "/api/sessions/" + s, objects},
      {"PUT", "/api/preferences", arrays},
      {"POST", "/api/users", objects},
      {"POST", "/api/keys", arrays},
  };
  for (const auto& c : cases) {
    const HttpReply r = send(c.method, c.path, c.body);
    EXPECT_EQ(r.status, 400) << c.method << " " << c.path << ": " << r.body.substr(0, 300);
    EXPECT_NE(r.body.find("64"), std::string::npos) << c.method << " " << c.path << " does not name the limit: " << r.body;
  }
  // Refused means unchanged: no message, no config, the config's options as they were.
  EXPECT_EQ(count("/api/sessions/" + s + "/messages", "messages"), 0u);
  EXPECT_EQ(count("/api/configs", "configs"), 1u);
  EXPECT_EQ(Json::parse(get("/api/configs/1").body)["options"], Json::object());
  still_serves_a_chat();
}

TEST_F(HostileInput, SixtyFourLevelsAreAcceptedAndSixtyFiveAreNot) {
  const std::int64_t session = new_session();
  auto turn = [&](int depth) {
    // The body itself is one level, options a second: the value fills the rest.
    return post("/api/chat", R"({"session_id": )" + std::to_string(session) +
                                 R"(, "user_message": "hi", "options": {"extra": )" + nested_arrays(depth - 2) + "}}");
  };
  const HttpReply ok = turn(64);
  EXPECT_NE(code_of(ok), "invalid_json") << ok.body;  // within the limit: the mock's schema judges the option
  const HttpReply deep = turn(65);
  EXPECT_EQ(deep.status, 400);
  EXPECT_EQ(code_of(deep), "invalid_json");
}

TEST_F(HostileInput, NumbersAndIntegersOutOfRangeAre400NamingTheField) {
  const std::int64_t session = new_session();
  const std::string s = std::to_string(session);
  const HttpReply huge = post("/api/chat", R"({"session_id": )" + s + R"(, "user_message": "hi", "temperature": 1e400})");
  EXPECT_EQ(huge.status, 400) << huge.body;
  EXPECT_EQ(code_of(huge), "invalid_json");

  const HttpReply wrap = post("/api/chat", R"({"session_id": 18446744073709551615, "user_message": "hi"})");
  EXPECT_EQ(wrap.status, 400) << wrap.body;
  EXPECT_EQ(code_of(wrap), "invalid_session_id");

  for (const std::string id : {"0", "-1", "-9223372036854775808"}) {
    const HttpReply r = post("/api/chat", R"({"session_id": )" + id + R"(, "user_message": "hi"})");
    EXPECT_EQ(r.status, 400) << id << ": " << r.body;
    EXPECT_EQ(code_of(r), "invalid_session_id") << id;
  }
  const HttpReply config_zero = post("/api/sessions", R"({"config_id": 0})");
  EXPECT_EQ(config_zero.status, 400);
  EXPECT_EQ(code_of(config_zero), "invalid_config_id");
  const HttpReply pref = http(host_->port(), "PUT", "/api/preferences", R"({"default_config_id": -5})");
  EXPECT_EQ(pref.status, 400);
  EXPECT_EQ(code_of(pref), "invalid_default_config_id");
  const HttpReply key_owner = post("/api/keys", R"({"user_id": 9223372036854775808})");
  EXPECT_EQ(key_owner.status, 400);
  EXPECT_EQ(code_of(key_owner), "invalid_user_id");

  const HttpReply v1 = post("/v1/chat/completions",
                            R"({"model": "mock-echo", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 18446744073709551615})");
  EXPECT_EQ(v1.status, 400) << v1.body;
  EXPECT_EQ(Json::parse(v1.body)["error"]["param"], "max_tokens");
  const HttpReply v1_number = post("/v1/chat/completions", R"({"model": "mock-echo", "messages": [], "temperature": -1e999})");
  EXPECT_EQ(v1_number.status, 400) << v1_number.body;

  const HttpReply port = post("/api/configs", R"({"name": "p", "provider": "mock", "model_name": "mock-echo",
                                                  "base_url": "http://127.0.0.1:99999"})");
  EXPECT_EQ(port.status, 400) << port.body;
  EXPECT_EQ(code_of(port), "invalid_base_url");

  EXPECT_EQ(count("/api/sessions/" + s + "/messages", "messages"), 0u);
  still_serves_a_chat();
}

TEST_F(HostileInput, NulAndControlCharactersInNamesAndTitlesAre400AndStoreNothing) {
  // A NUL was stored whole and read back cut, which let two configs share a name.
  const HttpReply nul_name = post("/api/configs", R"({"name": "mock-echo\u0000x", "provider": "mock", "model_name": "mock-echo"})");
  EXPECT_EQ(nul_name.status, 400) << nul_name.body;
  EXPECT_EQ(code_of(nul_name), "invalid_name");
  const HttpReply newline = post("/api/configs", R"({"name": "x\n2026-12-07 00:00:00.000 Information forged", "provider": "mock", "model_name": "mock-echo"})");
  EXPECT_EQ(newline.status, 400) << newline.body;
  EXPECT_EQ(code_of(newline), "invalid_name");
  const HttpReply esc_model = post("/api/configs", R"({"name": "ok-name", "provider": "mock", "model_name": "mock\u001b[31m"})");
  EXPECT_EQ(esc_model.status, 400) << esc_model.body;
  EXPECT_EQ(code_of(esc_model), "invalid_model_name");
  EXPECT_EQ(count("/api/configs", "configs"), 1u);

  const HttpReply title = post("/api/sessions", R"({"title": "a\u0000b"})");
  EXPECT_EQ(title.status, 400) << title.body;
  EXPECT_EQ(code_of(title), "invalid_title");
  const HttpReply title_cr = post("/api/sessions", R"({"title": "a\rb"})");
  EXPECT_EQ(title_cr.status, 400) << title_cr.body;
  const std::int64_t session = new_session();
  const HttpReply rename = http(host_->port(), "PATCH", "/api/sessions/" + std::to_string(session), R"({"title": "t\u0007"})");
  EXPECT_EQ(rename.status, 400) << rename.body;
  EXPECT_EQ(Json::parse(get("/api/sessions/" + std::to_string(session)).body)["title"], "ok");

  const HttpReply key_name = post("/api/keys", R"({"name": "laptop\nkey"})");
  EXPECT_EQ(key_name.status, 400) << key_name.body;
  EXPECT_EQ(code_of(key_name), "invalid_name");
  const HttpReply user_name = post("/api/users", R"({"name": "eve\u0000"})");
  EXPECT_EQ(user_name.status, 400) << user_name.body;

  const HttpReply message = post("/api/chat", R"({"session_id": )" + std::to_string(session) + R"(, "user_message": "a\u0000b"})");
  EXPECT_EQ(message.status, 400) << message.body;
  EXPECT_EQ(code_of(message), "invalid_user_message");
  EXPECT_EQ(count("/api/sessions/" + std::to_string(session) + "/messages", "messages"), 0u);
  // Line breaks and tabs are text in a message, not in a name.
  const HttpReply multiline = post("/api/chat", R"({"session_id": )" + std::to_string(session) + R"(, "user_message": "a\nb\tc"})");
  EXPECT_EQ(multiline.status, 200) << multiline.body;
  still_serves_a_chat();
}

TEST_F(HostileInput, BadQueryStringsAre400NotInternalErrors) {
  for (const std::string query : {"limit=%zz", "limit=%4", "offset=1%", "x=%G0&limit=1", "limit=-1", "limit=1e3"}) {
    const HttpReply sessions = get("/api/sessions?" + query);
    EXPECT_EQ(sessions.status, 400) << query << ": " << sessions.body;
    const HttpReply audit = get("/api/audit?" + query);
    EXPECT_EQ(audit.status, 400) << query << ": " << audit.body;
  }
  const HttpReply escaped = get("/api/sessions?limit=%31%30");  // "10"
  EXPECT_EQ(escaped.status, 200) << escaped.body;
  EXPECT_EQ(Json::parse(escaped.body)["limit"], 10);
  still_serves_a_chat();
}

// Collects formatted lines, as the console would show them.
class LineCapture final : public Poco::Channel {
 public:
  void log(const Poco::Message& message) override {
    std::lock_guard lock(mutex_);
    text_ += message.getText();
    text_ += '\n';
  }
  std::string text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  std::mutex mutex_;
  std::string text_;
};

TEST_F(HostileInput, ControlCharactersFromAClientAreEscapedInTheLog) {
  Poco::AutoPtr<LineCapture> capture(new LineCapture);
  Poco::Logger::root().setChannel(log::line_channel(capture));
  Poco::Logger::setChannel("", log::line_channel(capture));
  RawClient client(host_->port());
  ASSERT_TRUE(client.send("GET /nothing\x1b[2J\x07here HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto reply = client.read_response(std::chrono::seconds(5));
  // The access line is written just after the answer goes out.
  for (int i = 0; i < 200 && capture->text().find("/nothing") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  Poco::Logger::setChannel("", nullptr);
  Poco::Logger::root().setChannel(nullptr);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 404);
  const std::string log = capture->text();
  EXPECT_NE(log.find("/nothing\\x1b[2J\\x07here"), std::string::npos) << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos);
  EXPECT_EQ(log.find('\x07'), std::string::npos);
  // The access line keeps the path and the status on one line.
  const std::size_t at = log.find("/nothing");
  const std::size_t begin = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
  const std::string line = log.substr(begin, log.find('\n', at) - begin);
  EXPECT_NE(line.find("GET /nothing"), std::string::npos) << line;
  EXPECT_NE(line.find(" 404 "), std::string::npos) << line;
  EXPECT_EQ(log::one_line("a\r\nb\tc\x7f"), "a\\r\\nb\\tc\\x7f");
}

}  // namespace
}  // namespace switchboard::testing
