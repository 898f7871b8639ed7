// File: tests/integration/resilience_test.cpp
//
// Turns that survive an upstream's bad moment (issue #14), over real HTTP
// against a real fake upstream on 127.0.0.1: retries that span a 2-second
// outage, fallbacks when the primary is dead, the circuit breaker opening,
// probing and closing (seen through GET /api/configs/{id} and /metrics), and
// what is never retried.
#include "fake_upstream.h"
#include "host_fixture.h"

#include <Poco/Net/ServerSocket.h>

#include <future>
#include <thread>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const char* kManifest = R"({
  "plugins": [{"name": "mock", "library": "libswitchboard_mock.so"},
              {"name": "openai_compatible", "library": "libswitchboard_openai_compatible.so"}],
  "default_config": {"name": "mock-echo", "provider": "mock", "model_name": "mock-echo"}
})";

// A loopback port where nothing listens: every connection is refused.
std::uint16_t dead_port() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  const std::uint16_t port = socket.address().port();
  socket.close();
  return port;
}

class Resilience : public HostFixture {
 protected:
  std::string manifest() const override { return kManifest; }

  std::int64_t config(const Json& body) {
    const HttpReply r = post("/api/configs", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? Json::parse(r.body)["id"].get<std::int64_t>() : 0;
  }
  std::int64_t upstream_config(const std::string& name, std::uint16_t port, const Json& options,
                               const std::string& model = "shape-5-0-0") {
    return config({{"name", name},
                   {"provider", "openai_compatible"},
                   {"model_name", model},
                   {"base_url", "http://127.0.0.1:" + std::to_string(port) + "/v1"},
                   {"options", options}});
  }
  std::int64_t session(std::int64_t config_id) {
    const HttpReply r = post("/api/sessions", Json{{"config_id", config_id}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return Json::parse(r.body)["id"].get<std::int64_t>();
  }
  HttpReply chat(std::int64_t session_id) {
    return post("/api/chat", Json{{"session_id", session_id}, {"user_message", "go"}}.dump());
  }
  Json config_of(std::int64_t id) { return Json::parse(get("/api/configs/" + std::to_string(id)).body); }
};

TEST_F(Resilience, EveryTurnStartedDuringATwoSecondOutageCompletesWithinItsRetryBudget) {
  auto upstream = std::make_unique<FakeUpstream>();
  const std::uint16_t port = upstream->port();
  const std::int64_t id = upstream_config("flaky", port, {{"retry_attempts", 10}, {"retry_max_wait_ms", 10000}});
  // Load before the outage.
  std::vector<std::int64_t> sessions;
  for (int i = 0; i < 30; ++i) sessions.push_back(session(id));
  for (int i = 0; i < 10; ++i) ASSERT_EQ(chat(sessions[i]).status, 200);

  upstream.reset();  // refused from now on
  const auto down_at = Clock::now();
  std::vector<std::future<HttpReply>> turns;
  for (int i = 10; i < 30; ++i) {
    turns.push_back(std::async(std::launch::async, [this, s = sessions[i]] { return chat(s); }));
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_until(down_at + 2s);
  upstream = std::make_unique<FakeUpstream>(nullptr, port);  // back

  int completed = 0;
  for (auto& t : turns) {
    const HttpReply r = t.get();
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status == 200) {
      ++completed;
      EXPECT_EQ(Json::parse(r.body)["assistant_message"]["content"], "t1 t2 t3 t4 t5 ");
    }
  }
  EXPECT_EQ(completed, 20) << "turns completed across the outage";
  EXPECT_EQ(config_of(id)["breaker"]["state"], "closed");
}

TEST_F(Resilience, WithoutARetryBudgetAnOutageFailsAtOnceAndIsNotRetried) {
  const std::int64_t id = upstream_config("no-retries", dead_port(), {{"retry_attempts", 0}});
  const auto started = Clock::now();
  const HttpReply r = chat(session(id));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "upstream_unavailable");
  EXPECT_LT(Clock::now() - started, 2s);
}

TEST_F(Resilience, FourHundredsAreNeverRetriedAndA429AskingForMoreThanTheBudgetIsNot) {
  FakeUpstream upstream;
  const std::int64_t missing = upstream_config("missing", upstream.port(), {{"retry_attempts", 5}}, "fault-400");
  const int before = upstream.requests();
  EXPECT_EQ(chat(session(missing)).status, 502);
  EXPECT_EQ(upstream.requests() - before, 1) << "a 400 is the request's fault: one call";

  // 429 with Retry-After: 7 against a 4-second budget: the upstream's wish is honoured, so no retry fits.
  const std::int64_t limited = upstream_config("limited", upstream.port(), {{"retry_attempts", 5}, {"retry_max_wait_ms", 4000}},
                                               "fault-429");
  const int before_429 = upstream.requests();
  const auto started = Clock::now();
  const HttpReply r = chat(session(limited));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "upstream_rate_limited");
  EXPECT_EQ(upstream.requests() - before_429, 1);
  EXPECT_LT(Clock::now() - started, 3s);

  // 5xx is retried, up to the attempts given.
  const std::int64_t broken = upstream_config("broken", upstream.port(), {{"retry_attempts", 2}}, "fault-500");
  const int before_500 = upstream.requests();
  EXPECT_EQ(chat(session(broken)).status, 502);
  EXPECT_EQ(upstream.requests() - before_500, 3) << "the first try and two retries";
}

TEST_F(Resilience, ADeadPrimaryFallsBackAndEveryTurnIsLabelledWithTheConfigThatAnswered) {
  const std::int64_t fallback = config({{"name", "backup"}, {"provider", "mock"}, {"model_name", "mock-echo"}});
  const std::int64_t primary =
      upstream_config("primary", dead_port(), {{"retry_attempts", 1}, {"retry_max_wait_ms", 200}, {"fallbacks", {fallback}}});
  const std::int64_t s = session(primary);
  for (int i = 0; i < 5; ++i) {
    const HttpReply r = chat(s);
    ASSERT_EQ(r.status, 200) << r.body;
    const Json reply = Json::parse(r.body)["assistant_message"];
    EXPECT_EQ(reply["content"], "go");
    EXPECT_EQ(reply["llm_provider"], "mock");
    EXPECT_EQ(reply["llm_model_name"], "mock-echo");
    EXPECT_EQ(reply["config_id"], fallback);
  }
  // The stream's start event names the fallback too.
  SseClient sse(host_->port(), Json{{"session_id", s}, {"user_message", "streamed"}}.dump());
  const auto start = sse.next();
  ASSERT_TRUE(start);
  EXPECT_EQ(start->name, "start");
  EXPECT_EQ(start->data["config_id"], fallback);
  EXPECT_EQ(start->data["provider"], "mock");
  sse.all();
  // And /v1 says so in X-Switchboard-Config, whole and streamed.
  Poco::Net::HTTPClientSession client("127.0.0.1", host_->port());
  for (const bool stream : {false, true}) {
    Poco::Net::HTTPRequest request("POST", "/v1/chat/completions", Poco::Net::HTTPMessage::HTTP_1_1);
    authorize(request, kAdminKey);
    const std::string body =
        Json{{"model", "primary"}, {"stream", stream}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}.dump();
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    client.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::string text;
    Poco::StreamCopier::copyToString(client.receiveResponse(response), text);
    EXPECT_EQ(response.getStatus(), 200) << text;
    EXPECT_EQ(response.get("X-Switchboard-Config", ""), "backup") << (stream ? "streamed" : "whole");
    EXPECT_NE(text.find("hi"), std::string::npos);
  }
}

TEST_F(Resilience, TheBreakerOpensSkipsTheConfigProbesAfterTheCoolDownAndClosesWhenItAnswers) {
  const std::uint16_t port = dead_port();
  const std::int64_t fallback = config({{"name", "backup"}, {"provider", "mock"}, {"model_name", "mock-echo"}});
  const std::int64_t primary = upstream_config(
      "primary", port,
      {{"retry_attempts", 0}, {"breaker_failures", 2}, {"breaker_cooldown_ms", 1000}, {"fallbacks", {fallback}}});
  const std::int64_t s = session(primary);
  EXPECT_EQ(config_of(primary)["breaker"]["state"], "closed");
  ASSERT_EQ(chat(s).status, 200);
  EXPECT_EQ(config_of(primary)["breaker"]["consecutive_failures"], 1);
  ASSERT_EQ(chat(s).status, 200);
  const Json open = config_of(primary)["breaker"];
  EXPECT_EQ(open["state"], "open");
  EXPECT_TRUE(open["open_until_ms"].is_number());
  const std::string metrics = get("/metrics").body;
  EXPECT_NE(metrics.find("switchboard_config_breaker_state{config_id=\"" + std::to_string(primary) + "\"} 1"),
            std::string::npos) << metrics;

  // While open, the primary is not even tried: the upstream, now back, sees nothing.
  FakeUpstream upstream(nullptr, port);
  ASSERT_EQ(chat(s).status, 200);
  EXPECT_EQ(upstream.requests(), 0);
  EXPECT_EQ(Json::parse(get("/api/sessions/" + std::to_string(s) + "/messages").body)["messages"].back()["config_id"],
            fallback);

  // After the cool-down, one probe goes to the primary; it answers and the breaker closes.
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(config_of(primary)["breaker"]["state"], "half_open");
  const HttpReply probe = chat(s);
  ASSERT_EQ(probe.status, 200) << probe.body;
  EXPECT_EQ(Json::parse(probe.body)["assistant_message"]["config_id"], primary);
  EXPECT_EQ(upstream.requests(), 1);
  EXPECT_EQ(config_of(primary)["breaker"]["state"], "closed");
  EXPECT_NE(get("/metrics").body.find("switchboard_config_breaker_state{config_id=\"" + std::to_string(primary) + "\"} 0"),
            std::string::npos);
}

TEST_F(Resilience, ResilienceOptionsAreCheckedAndNeverReachThePlugin) {
  FakeUpstream upstream;
  auto refused = [&](const Json& options) {
    const HttpReply r = post("/api/configs", Json{{"name", "bad"}, {"provider", "mock"}, {"options", options}}.dump());
    EXPECT_EQ(r.status, 400) << options.dump() << ": " << r.body;
    return r.body;
  };
  EXPECT_NE(refused({{"retry_attempts", 11}}).find("retry_attempts"), std::string::npos);
  EXPECT_NE(refused({{"retry_max_wait_ms", -1}}).find("retry_max_wait_ms"), std::string::npos);
  EXPECT_NE(refused({{"fallbacks", "2"}}).find("fallbacks"), std::string::npos);
  EXPECT_NE(refused({{"fallbacks", {999}}}).find("999"), std::string::npos);
  EXPECT_NE(refused({{"breaker_failures", 0}}).find("breaker_failures"), std::string::npos);
  // Per request they are not options at all.
  const std::int64_t s = session(1);
  const HttpReply per_request =
      post("/api/chat", Json{{"session_id", s}, {"user_message", "x"}, {"options", {{"retry_attempts", 1}}}}.dump());
  EXPECT_EQ(per_request.status, 400) << per_request.body;
  // A config may not fall back to itself.
  const std::int64_t id = upstream_config("self", upstream.port(), {{"retry_attempts", 1}});
  const HttpReply self = http(host_->port(), "PUT", "/api/configs/" + std::to_string(id),
                              Json{{"options", {{"fallbacks", {id}}}}}.dump());
  EXPECT_EQ(self.status, 400) << self.body;
  // The plugin sees none of them.
  ASSERT_EQ(chat(session(id)).status, 200);
  EXPECT_EQ(upstream.last_body().find("retry_attempts"), std::string::npos) << upstream.last_body();
}

}  // namespace
}  // namespace switchboard::testing
