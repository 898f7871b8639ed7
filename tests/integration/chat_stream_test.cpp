// File: tests/integration/chat_stream_test.cpp
//
// POST /api/chat/stream over real HTTP: events arrive as they are produced,
// disconnects are noticed within a second (mid-stream and mid-silence),
// failures end with an `error` event and a saved partial reply, keep-alive
// comments fill silences, 200 concurrent streams complete, a graceful stop
// saves partial replies, and no API key reaches any log line.
#include "host_fixture.h"

#include "storage/database.h"
#include "storage/repositories.h"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class ChatStream : public HostFixture {
 protected:
  std::int64_t session_with(const std::string& options, const std::string& model = "mock-tokens") {
    const HttpReply c = post("/api/configs", Json{{"name", "cfg" + std::to_string(++configs_)},
                                                  {"provider", "mock"},
                                                  {"model_name", model},
                                                  {"options", Json::parse(options)}}.dump());
    EXPECT_EQ(c.status, 201) << c.body;
    const HttpReply s = post("/api/sessions", Json{{"config_id", Json::parse(c.body)["id"]}}.dump());
    EXPECT_EQ(s.status, 201) << s.body;
    return Json::parse(s.body)["id"].get<std::int64_t>();
  }

  static std::string turn(std::int64_t session, const std::string& text = "go") {
    return Json{{"session_id", session}, {"user_message", text}}.dump();
  }

  Json messages(std::int64_t session) {
    return Json::parse(get("/api/sessions/" + std::to_string(session) + "/messages").body)["messages"];
  }

  // Polls until the reply of `session` leaves "streaming"; returns it.
  Json wait_for_reply(std::int64_t session, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      const Json m = messages(session);
      if (m.size() == 2 && m[1]["status"] != "streaming") return m[1];
      std::this_thread::sleep_for(10ms);
    }
    return messages(session).back();
  }

  int configs_ = 0;
};

TEST_F(ChatStream, EventsArriveAsTheyAreProduced) {
  const auto s = session_with(R"({"tokens": 8, "delay_ms": 100})");
  SseClient sse(host_->port(), turn(s));
  ASSERT_EQ(sse.status(), 200);
  EXPECT_EQ(sse.content_type(), "text/event-stream");
  const auto events = sse.all();
  ASSERT_EQ(events.size(), 10u);  // start, 8 deltas, done

  EXPECT_EQ(events[0].name, "start");
  EXPECT_EQ(events[0].data["provider"], "mock");
  EXPECT_EQ(events[0].data["model"], "mock-tokens");
  EXPECT_EQ(events[0].data["session_id"], s);
  std::string reply;
  for (std::size_t i = 1; i <= 8; ++i) {
    EXPECT_EQ(events[i].name, "delta");
    reply += events[i].data["content"].get<std::string>();
  }
  EXPECT_EQ(reply, "tok1 tok2 tok3 tok4 tok5 tok6 tok7 tok8");
  const auto& done = events.back();
  EXPECT_EQ(done.name, "done");
  EXPECT_EQ(done.data["finish_reason"], "stop");
  EXPECT_EQ(done.data["usage"]["completion_tokens"], 8);
  EXPECT_EQ(done.data["message_id"], events[0].data["message_id"]);
  // Real streaming: the first delta came ~700 ms before the end.
  EXPECT_GT(done.at - events[1].at, 400ms);

  const Json saved = messages(s);
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[1]["content"], reply);
  EXPECT_EQ(saved[1]["llm_provider"], "mock");
  EXPECT_EQ(saved[1]["llm_model_name"], "mock-tokens");
  EXPECT_EQ(saved[0]["llm_model_name"], "mock-tokens");
}

TEST_F(ChatStream, DisconnectMidStreamSavesTheReplyCancelledWithinASecond) {
  const auto s = session_with(R"({"tokens": 500, "delay_ms": 30})");
  SseClient sse(host_->port(), turn(s));
  ASSERT_EQ(sse.next()->name, "start");
  ASSERT_EQ(sse.next()->name, "delta");
  ASSERT_EQ(sse.next()->name, "delta");
  sse.disconnect();
  const auto gone = Clock::now();
  const Json reply = wait_for_reply(s, 3s);
  EXPECT_LT(Clock::now() - gone, 1s);
  EXPECT_EQ(reply["status"], "cancelled");
  EXPECT_EQ(reply["content"].get<std::string>().rfind("tok1 tok2 ", 0), 0u);
}

TEST_F(ChatStream, DisconnectWhileTheProviderIsSilentIsNoticedWithinASecond) {
  const auto s = session_with(R"({"tokens": 2, "delay_ms": 10000})");
  SseClient sse(host_->port(), turn(s));
  ASSERT_EQ(sse.next()->name, "start");
  std::this_thread::sleep_for(200ms);
  sse.disconnect();
  const auto gone = Clock::now();
  const Json reply = wait_for_reply(s, 3s);
  EXPECT_LT(Clock::now() - gone, 1s);
  EXPECT_EQ(reply["status"], "cancelled");
  EXPECT_EQ(reply["content"], "");
}

TEST_F(ChatStream, MidStreamFailureEndsWithAnErrorEventAndKeepsThePartialReply) {
  const auto s = session_with(R"({"tokens": 10, "fail_after": 3})");
  SseClient sse(host_->port(), turn(s));
  const auto events = sse.all();
  ASSERT_EQ(events.size(), 5u);  // start, 3 deltas, error
  const auto& error = events.back();
  EXPECT_EQ(error.name, "error");
  EXPECT_EQ(error.data["code"], "mock_failure");
  EXPECT_EQ(error.data["message_id"], events[0].data["message_id"]);
  for (const auto& e : events) EXPECT_NE(e.name, "done");
  const Json saved = messages(s);
  EXPECT_EQ(saved[1]["status"], "error");
  EXPECT_EQ(saved[1]["content"], "tok1 tok2 tok3 ");
  EXPECT_EQ(saved[1]["error"]["code"], "mock_failure");
}

TEST_F(ChatStream, FailureBeforeTheFirstDeltaIsAnErrorEventToo) {
  const auto s = session_with(R"({"fail_before_first": true})", "mock-echo");
  SseClient sse(host_->port(), turn(s));
  const auto events = sse.all();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].name, "error");
  EXPECT_EQ(messages(s)[1]["status"], "error");
}

class QuickKeepAlive : public ChatStream {
 protected:
  void tune(HostOptions& o) const override { o.sse_keepalive_ms = 100; }
};

TEST_F(QuickKeepAlive, SilencesAreFilledWithKeepAliveComments) {
  const auto s = session_with(R"({"tokens": 2, "delay_ms": 500})");
  SseClient sse(host_->port(), turn(s));
  const auto events = sse.all();
  EXPECT_EQ(events.back().name, "done");
  EXPECT_GE(sse.comments, 4);
}

TEST_F(ChatStream, TwoHundredConcurrentStreamsAllComplete) {
  constexpr int kStreams = 200;
  std::vector<std::int64_t> sessions;
  const auto first = session_with(R"({"tokens": 10, "delay_ms": 50})");
  const Json config_id = Json::parse(get("/api/sessions/" + std::to_string(first)).body)["config_id"];
  sessions.push_back(first);
  for (int i = 1; i < kStreams; ++i)
    sessions.push_back(Json::parse(post("/api/sessions", Json{{"config_id", config_id}}.dump()).body)["id"].get<std::int64_t>());

  std::atomic<int> complete{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.emplace_back([&, i] {
      try {
        SseClient sse(host_->port(), turn(sessions[static_cast<std::size_t>(i)]));
        const auto events = sse.all();
        if (events.size() == 12 && events.back().name == "done") ++complete;
      } catch (const std::exception&) {
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(complete.load(), kStreams);
}

class ShortGrace : public ChatStream {
 protected:
  void tune(HostOptions& o) const override { o.shutdown_grace_ms = 300; }
};

TEST_F(ShortGrace, GracefulStopEndsStreamsWithShuttingDownAndSavesThem) {
  const auto s = session_with(R"({"tokens": 1000, "delay_ms": 20})");
  SseClient sse(host_->port(), turn(s));
  ASSERT_EQ(sse.next()->name, "start");
  ASSERT_EQ(sse.next()->name, "delta");
  std::thread stopper([&] { host_->stop(); });
  std::optional<SseClient::Event> last;
  while (auto e = sse.next()) last = e;
  stopper.join();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->name, "error");
  EXPECT_EQ(last->data["code"], "shutting_down");

  host_.reset();
  auto db = storage::Database::open(store_->where());
  const auto saved = db->read([&](storage::Conn& c) { return storage::messages::list(c, s); });
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[1].status, storage::MessageStatus::Interrupted);
  EXPECT_EQ(saved[1].error_code, "shutting_down");
  EXPECT_EQ(saved[1].content.rfind("tok1 ", 0), 0u);
}

// Collects every log line the host writes.
class CaptureChannel final : public Poco::Channel {
 public:
  void log(const Poco::Message& msg) override {
    std::lock_guard guard(mutex_);
    text_ += msg.getSource() + " " + msg.getText() + "\n";
  }
  std::string text() {
    std::lock_guard guard(mutex_);
    return text_;
  }

 private:
  std::mutex mutex_;
  std::string text_;
};

TEST(Secrets, AnApiKeyNeverReachesALogLineOrAResponse) {
  const std::string secret = "sk-live-DO-NOT-LOG-8f2c1e";
  Poco::AutoPtr<CaptureChannel> capture(new CaptureChannel);
  // The root first: loggers created later inherit its channel; then every existing one.
  Poco::Logger::root().setChannel(capture);
  Poco::Logger::root().setLevel(Poco::Message::PRIO_TRACE);
  Poco::Logger::setChannel("", capture);
  Poco::Logger::setLevel("", Poco::Message::PRIO_TRACE);

  std::string responses;
  {
    TempDir dir;
    HostOptions o;
    o.port = 0;
    o.db_path = dir.file("db.sqlite");
    o.manifest_path = dir.write("plugins.json", kMockOnlyManifest);
    o.plugin_dir = SB_PLUGIN_DIR;
    o.admin_key_file = dir.write("admin.key", kAdminKey);
    default_key() = kAdminKey;
    Host host(o);
    host.start();
    const auto port = host.port();
    auto call = [&](const std::string& method, const std::string& path, const std::string& body = "") {
      const HttpReply r = http(port, method, path, body);
      responses += r.body;
      return r;
    };
    const auto ok = Json::parse(call("POST", "/api/configs", Json{{"name", "keyed"}, {"provider", "mock"}, {"api_key", secret}}.dump()).body)["id"];
    const auto bad = Json::parse(call("POST", "/api/configs", Json{{"name", "keyed-failing"}, {"provider", "mock"}, {"api_key", secret}, {"options", {{"fail_after", 1}}}}.dump()).body)["id"];
    for (const auto& cfg : {ok, bad}) {
      const auto s = Json::parse(call("POST", "/api/sessions", Json{{"config_id", cfg}}.dump()).body)["id"];
      call("POST", "/api/chat", Json{{"session_id", s}, {"user_message", "hello"}}.dump());
      SseClient sse(port, Json{{"session_id", s}, {"user_message", "stream please"}}.dump());
      for (const auto& e : sse.all()) responses += e.data.dump();
      call("GET", "/api/sessions/" + s.dump() + "/messages");
    }
    call("GET", "/api/configs");
    call("GET", "/api/configs/" + ok.dump());
    call("GET", "/api/providers");
    host.stop();
    // At rest too: the key is sealed, so no byte sequence of it is in the
    // database file or its write-ahead log.
    for (const char* name : {"db.sqlite", "db.sqlite-wal"}) {
      std::ifstream in(dir.file(name), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_EQ(bytes.find("DO-NOT-LOG"), std::string::npos) << name;
    }
  }
  const std::string logs = capture->text();
  Poco::Logger::setChannel("", nullptr);
  Poco::Logger::root().setChannel(nullptr);
  EXPECT_NE(logs.find("POST /api/chat/stream 200"), std::string::npos) << "the access log was captured";
  EXPECT_NE(logs.find("mock_failure"), std::string::npos) << "the failure was logged";
  EXPECT_EQ(logs.find(secret), std::string::npos);
  EXPECT_EQ(logs.find("DO-NOT-LOG"), std::string::npos);
  EXPECT_EQ(responses.find(secret), std::string::npos);
}

}  // namespace
}  // namespace switchboard::testing
