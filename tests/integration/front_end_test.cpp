// File: tests/integration/front_end_test.cpp
//
// The HTTP front end against hostile and careless clients, over real sockets:
// idle kept-alive connections hold no worker, deadlines are totals, limits
// answer 503 with Retry-After (never a reset), broken framing is a 400 that
// closes the connection, every status has its reason, HEAD works wherever GET
// does, and a graceful stop answers new clients 503. Each test then chats.
#include "host_fixture.h"
#include "raw_client.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class FrontEndTest : public HostFixture {
 protected:
  // Fields every raw request to /api carries (the one place to add credentials).
  static std::string api_fields() { return "Host: 127.0.0.1\r\nAuthorization: Bearer " + kAdminKey + "\r\n"; }

  std::unique_ptr<RawClient> connect() { return std::make_unique<RawClient>(host_->port()); }

  // Sends `request` on a new connection and reads one response (an empty
  // one, and a failure, when none comes).
  RawResponse exchange(const std::string& request, std::chrono::milliseconds timeout = 5s) {
    RawClient c(host_->port());
    c.send(request);
    const auto r = c.read_response(timeout, request.rfind("HEAD ", 0) == 0);
    if (!r) ADD_FAILURE() << "no response to " << request.substr(0, request.find('\r'));
    return r.value_or(RawResponse{});
  }

  // The next response on `c` (an empty one, and a failure, when none comes).
  static RawResponse next(RawClient& c) {
    const auto r = c.read_response(5s);
    if (!r) ADD_FAILURE() << "no response";
    return r.value_or(RawResponse{});
  }

  std::size_t session_count() {
    const HttpReply r = get("/api/sessions?limit=200");
    EXPECT_EQ(r.status, 200) << r.body;
    return Json::parse(r.body)["total"].get<std::size_t>();
  }

  // The host still does its job: a session and a whole chat turn on the mock.
  void expect_chat_works() {
    const HttpReply s = post("/api/sessions", R"({"title": "after"})");
    ASSERT_EQ(s.status, 201) << s.body;
    const auto id = Json::parse(s.body)["id"].get<std::int64_t>();
    const HttpReply r = post("/api/chat", Json{{"session_id", id}, {"user_message", "still serving"}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json::parse(r.body)["assistant_message"]["content"], "still serving");
  }

  static std::string error_code(const RawResponse& r) {
    const Json j = Json::parse(r.body);
    return j["error"]["code"].get<std::string>();
  }
};

// --- idle connections ----------------------------------------------------------

class FourWorkers : public FrontEndTest {
 protected:
  void tune(HostOptions& o) const override { o.max_threads = 4; }
};

TEST_F(FourWorkers, FiftyIdleKeptAliveConnectionsHoldNoWorker) {
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 50; ++i) {
    idle.push_back(connect());
    ASSERT_TRUE(idle.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto r = idle.back()->read_response(5s);
    ASSERT_TRUE(r.has_value()) << "connection " << i;
    ASSERT_EQ(r->status, 200);
    EXPECT_NE(r->header("Connection"), "close");
  }
  // With a thread per connection, 4 workers would all be held by the first
  // four idle connections and this request would wait for a keep-alive timeout.
  const auto started = Clock::now();
  const HttpReply configs = get("/api/configs");
  EXPECT_EQ(configs.status, 200);
  EXPECT_LT(Clock::now() - started, 1s);
  expect_chat_works();
  // All fifty were kept open, and each serves its next request.
  for (auto& c : idle) {
    ASSERT_TRUE(c->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto r = c->read_response(5s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
}

// --- workers after a burst --------------------------------------------------------

class QuickIdleWorkers : public FrontEndTest {
 protected:
  void tune(HostOptions& o) const override { o.worker_idle_ms = 300; }
};

// Threads of this process (the host runs in it) named by the front end as workers.
int worker_threads() {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    n += name == "sb-worker";
  }
  return n;
}

TEST_F(QuickIdleWorkers, TheWorkersABurstNeededEndWhenNoTrafficFollows) {
  std::vector<std::future<HttpReply>> burst;
  for (int i = 0; i < 12; ++i) {
    const HttpReply s = post("/api/sessions", "{}");
    ASSERT_EQ(s.status, 201);
    const std::string body = R"({"session_id": )" + Json::parse(s.body)["id"].dump() +
                             R"(, "user_message": "x", "options": {"tokens": 3, "delay_ms": 300}})";
    burst.push_back(std::async(std::launch::async, [this, body] { return post("/api/chat", body); }));
  }
  std::this_thread::sleep_for(400ms);
  EXPECT_GE(worker_threads(), 10) << "a worker per concurrent turn";
  for (auto& b : burst) EXPECT_EQ(b.get().status, 200);
  // No new connection, no request: the idle ones still go.
  const auto deadline = Clock::now() + 10s;
  while (worker_threads() > 1 && Clock::now() < deadline) std::this_thread::sleep_for(100ms);
  EXPECT_LE(worker_threads(), 1);
  expect_chat_works();
}

// --- deadlines -------------------------------------------------------------------

class ShortDeadlines : public FrontEndTest {
 protected:
  void tune(HostOptions& o) const override {
    o.head_timeout_ms = 1000;
    o.body_timeout_ms = 1000;
    o.keep_alive_timeout_ms = 500;
  }
};

TEST_F(ShortDeadlines, AHeadThatNeverEndsIs408AtTheDeadlineHoweverItTrickles) {
  RawClient c(host_->port());
  const auto started = Clock::now();
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  // A byte every 100 ms: a per-read timeout would never fire.
  std::optional<RawResponse> r;
  while (!r && Clock::now() - started < 4s) {
    c.send("a");
    r = c.read_response(100ms);
  }
  const auto elapsed = Clock::now() - started;
  ASSERT_TRUE(r.has_value()) << "no answer within 4 s";
  EXPECT_EQ(r->status_line, "HTTP/1.1 408 Request Timeout");
  EXPECT_EQ(error_code(*r), "request_timeout");
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 2500ms);
  EXPECT_EQ(c.wait_end(3s), RawClient::End::Closed);
  expect_chat_works();
}

TEST_F(ShortDeadlines, ASilentConnectionIsClosedAtTheDeadlineWithoutAnAnswer) {
  RawClient c(host_->port());
  const auto started = Clock::now();
  EXPECT_EQ(c.wait_end(4s), RawClient::End::Closed);
  EXPECT_GE(Clock::now() - started, 900ms);
  EXPECT_EQ(c.leftover(), "");
  expect_chat_works();
}

TEST_F(ShortDeadlines, AnIdleKeptAliveConnectionIsClosedAfterTheKeepAliveTimeout) {
  RawClient c(host_->port());
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(next(c).status, 200);
  const auto answered = Clock::now();
  EXPECT_EQ(c.wait_end(4s), RawClient::End::Closed);
  EXPECT_GE(Clock::now() - answered, 400ms);
  EXPECT_EQ(c.leftover(), "");
  expect_chat_works();
}

TEST_F(ShortDeadlines, ABodyThatStopsHalfWayIs408AtTheBodyDeadline) {
  const std::size_t before = session_count();
  RawClient c(host_->port());
  ASSERT_TRUE(c.send("POST /api/sessions HTTP/1.1\r\n" + api_fields() +
                     "Content-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"title\""));
  const auto r = c.read_response(4s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 408 Request Timeout");
  EXPECT_EQ(c.wait_end(3s), RawClient::End::Closed);
  EXPECT_EQ(session_count(), before);
  expect_chat_works();
}

// --- limits ------------------------------------------------------------------------

class TwentyConnections : public FrontEndTest {
 protected:
  void tune(HostOptions& o) const override { o.max_connections = 20; }
};

TEST_F(TwentyConnections, OneMoreIsAnswered503WithRetryAfterNotReset) {
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 20; ++i) {
    held.push_back(connect());
    ASSERT_TRUE(held.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(next(*held.back()).status, 200);  // admitted and kept
  }
  RawClient extra(host_->port());
  extra.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto r = extra.read_response(5s);
  ASSERT_TRUE(r.has_value()) << "no answer: the connection was dropped";
  EXPECT_EQ(r->status_line, "HTTP/1.1 503 Service Unavailable");
  EXPECT_EQ(r->header("Retry-After"), "1");
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_EQ(error_code(*r), "over_capacity");
  EXPECT_EQ(extra.wait_end(3s), RawClient::End::Closed);

  // Room again once one leaves (the host notices the close on its own time).
  held.clear();
  const auto end = Clock::now() + 5s;
  int status = 0;
  while (status != 200 && Clock::now() < end) {
    status = get("/healthz").status;
    if (status != 200) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200);
  expect_chat_works();
}

class OneWorkerOneQueued : public FrontEndTest {
 protected:
  void tune(HostOptions& o) const override {
    o.max_threads = 1;
    o.max_queued = 1;
  }
};

TEST_F(OneWorkerOneQueued, BusyWorkersAndAFullQueueAnswer503AndHealthzStillAnswers) {
  const HttpReply cfg = post("/api/configs", R"({"name": "slow", "provider": "mock", "model_name": "mock-tokens",
                                                 "options": {"tokens": 1000, "delay_ms": 20}})");
  ASSERT_EQ(cfg.status, 201) << cfg.body;
  const HttpReply s = post("/api/sessions", Json{{"config_id", Json::parse(cfg.body)["id"]}}.dump());
  ASSERT_EQ(s.status, 201);
  const auto session = Json::parse(s.body)["id"].get<std::int64_t>();

  // The only worker streams.
  SseClient stream(host_->port(), Json{{"session_id", session}, {"user_message", "go"}}.dump());
  ASSERT_EQ(stream.next()->name, "start");

  // Two more whole requests: one waits in the queue, the other is refused.
  const std::string request = "GET /api/configs HTTP/1.1\r\n" + api_fields() + "\r\n";
  RawClient a(host_->port());
  RawClient b(host_->port());
  a.send(request);
  b.send(request);
  std::optional<RawResponse> refused;
  RawClient* queued = nullptr;
  const auto end = Clock::now() + 5s;
  while (!refused && Clock::now() < end) {
    if ((refused = a.read_response(20ms))) queued = &b;
    else if ((refused = b.read_response(20ms))) queued = &a;
  }
  ASSERT_TRUE(refused.has_value()) << "neither was answered: connections beyond the queue must get a 503";
  EXPECT_EQ(refused->status_line, "HTTP/1.1 503 Service Unavailable");
  EXPECT_EQ(refused->header("Retry-After"), "1");
  EXPECT_EQ(error_code(*refused), "over_capacity");

  // Liveness does not wait for a worker.
  const auto started = Clock::now();
  const HttpReply health = get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Json::parse(health.body)["status"], "ok");
  EXPECT_LT(Clock::now() - started, 1s);

  // The stream leaves; the queued request is served.
  stream.disconnect();
  const auto served = queued->read_response(5s);
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(served->status, 200);
  expect_chat_works();
}

class OneWorkerQuickSendTimeout : public FrontEndTest {
 protected:
  void tune(HostOptions& o) const override {
    o.max_threads = 1;
    o.send_timeout_ms = 500;
    o.max_tokens_cap = 100000;  // the mock's own limit: a reply larger than the socket buffers
  }
};

TEST_F(OneWorkerQuickSendTimeout, AClientThatStopsReadingFreesItsWorkerAfterTheSendTimeout) {
  const HttpReply cfg = post("/api/configs", R"({"name": "endless", "provider": "mock", "model_name": "mock-tokens",
                                                 "options": {"tokens": 100000}})");
  ASSERT_EQ(cfg.status, 201) << cfg.body;
  const HttpReply s = post("/api/sessions", Json{{"config_id", Json::parse(cfg.body)["id"]}}.dump());
  const std::string body =
      Json{{"session_id", Json::parse(s.body)["id"]}, {"user_message", "go"}, {"max_tokens", 100000}}.dump();
  // A stream nobody reads: once the socket buffers fill, the worker's write waits.
  RawClient reader(host_->port());
  reader.send("POST /api/chat/stream HTTP/1.1\r\n" + api_fields() + "Content-Type: application/json\r\n" +
              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  // The only worker is taken by that stream until its write gives up.
  const auto started = Clock::now();
  const HttpReply configs = get("/api/configs");
  EXPECT_EQ(configs.status, 200);
  EXPECT_LT(Clock::now() - started, 10s);
  expect_chat_works();
}

// --- framing -------------------------------------------------------------------

TEST_F(FrontEndTest, AMalformedChunkSizeIs400AndClosesWithoutRunningTheRoute) {
  const std::size_t before = session_count();
  RawClient c(host_->port());
  // Read as an empty body, this would create a session.
  c.send("POST /api/sessions HTTP/1.1\r\n" + api_fields() +
         "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
  const auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_EQ(error_code(*r), "bad_request");
  EXPECT_EQ(c.wait_end(3s), RawClient::End::Closed);
  EXPECT_EQ(session_count(), before);
  expect_chat_works();
}

TEST_F(FrontEndTest, AWellFormedChunkedBodyIsServed) {
  RawClient c(host_->port());
  c.send("POST /api/sessions HTTP/1.1\r\n" + api_fields() +
         "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;ext=1\r\n{\"tit\r\nf\r\nle\": \"chunked\"}\r\n0\r\n\r\n");
  const auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(Json::parse(r->body)["title"], "chunked");
  expect_chat_works();
}

TEST_F(FrontEndTest, ABodyShorterThanItsContentLengthIs400) {
  const std::size_t before = session_count();
  RawClient c(host_->port());
  c.send("POST /api/sessions HTTP/1.1\r\n" + api_fields() +
         "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{}");
  c.shutdown_write();
  const auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(c.wait_end(3s), RawClient::End::Closed);
  EXPECT_EQ(session_count(), before);
  expect_chat_works();
}

TEST_F(FrontEndTest, ContentLengthWithTransferEncodingIs400) {
  const std::size_t before = session_count();
  RawClient c(host_->port());
  c.send("POST /api/sessions HTTP/1.1\r\n" + api_fields() +
         "Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
         "2\r\n{}\r\n0\r\n\r\n");
  const auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 400 Bad Request");
  EXPECT_NE(error_code(*r).find("bad_request"), std::string::npos);
  EXPECT_EQ(c.wait_end(3s), RawClient::End::Closed);
  EXPECT_EQ(session_count(), before);
  expect_chat_works();
}

TEST_F(FrontEndTest, OtherBrokenFramingIsRefusedWithItsOwnStatus) {
  struct Case {
    std::string request;
    std::string status_line;
  };
  std::string many_fields;  // Poco's limit is 100 fields, well inside 16 KiB
  for (int i = 0; i < 150; ++i) many_fields += "X-F" + std::to_string(i) + ": v\r\n";
  const std::vector<Case> cases = {
      {"POST /api/sessions HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"POST /api/sessions HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "HTTP/1.1 400 Bad Request"},
      {"POST /api/sessions HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "HTTP/1.1 501 Not Implemented"},
      {"POST /api/sessions HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", "HTTP/1.1 413 Content Too Large"},
      {"GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n",
       "HTTP/1.1 431 Request Header Fields Too Large"},
      {"GET /healthz HTTP/1.1\r\n" + many_fields + "\r\n", "HTTP/1.1 431 Request Header Fields Too Large"},
  };
  for (const auto& k : cases) {
    RawClient c(host_->port());
    c.send(k.request);
    const auto r = c.read_response(5s);
    ASSERT_TRUE(r.has_value()) << k.request.substr(0, 60);
    EXPECT_EQ(r->status_line, k.status_line) << k.request.substr(0, 60);
    EXPECT_EQ(c.wait_end(3s), RawClient::End::Closed) << k.request.substr(0, 60);
  }
  expect_chat_works();
}

TEST_F(FrontEndTest, PipelinedRequestsAreAnsweredInOrder) {
  RawClient c(host_->port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(next(c).status, 200);
  EXPECT_EQ(next(c).status, 404);
  const auto head = c.read_response(5s, /*head_only=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  expect_chat_works();
}

TEST_F(FrontEndTest, EveryStatusLineCarriesItsOwnReason) {
  EXPECT_EQ(exchange("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").status_line, "HTTP/1.1 404 Not Found");
  EXPECT_EQ(exchange("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").status_line,
            "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(exchange("POST /api/sessions HTTP/1.1\r\n" + api_fields() +
                     "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi").status_line,
            "HTTP/1.1 415 Unsupported Media Type");
  EXPECT_EQ(exchange("GET /api/sessions/999999 HTTP/1.1\r\n" + api_fields() + "\r\n").status_line,
            "HTTP/1.1 404 Not Found");
  // The page's 304 (set by its handler with setStatus alone).
  const auto page = exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(page.status_line, "HTTP/1.1 200 OK");
  const std::string etag = page.header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(exchange("GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag + "\r\n\r\n").status_line,
            "HTTP/1.1 304 Not Modified");
  expect_chat_works();
}

TEST_F(FrontEndTest, HeadIsAnsweredWhereverGetIsWithHeadersAndNoBody) {
  RawClient c(host_->port());
  for (const std::string path : {"/", "/healthz"}) {
    c.send("HEAD " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto r = c.read_response(5s, /*head_only=*/true);
    ASSERT_TRUE(r.has_value()) << path;
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK") << path;
    const std::string get_body = get(path).body;
    EXPECT_EQ(r->header("Content-Length"), std::to_string(get_body.size())) << path;
  }
  // No body bytes followed either head: the next answer on the connection is whole.
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto next = c.read_response(5s);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(next->body, R"({"status":"ok"})");
  EXPECT_EQ(exchange("HEAD /api/chat HTTP/1.1\r\n" + api_fields() + "\r\n").status_line,
            "HTTP/1.1 405 Method Not Allowed");
  expect_chat_works();
}

// --- graceful stop -----------------------------------------------------------------

class StopWithGrace : public FrontEndTest {
 protected:
  void tune(HostOptions& o) const override { o.shutdown_grace_ms = 1500; }
};

TEST_F(StopWithGrace, ANewConnectionDuringTheGracePeriodGets503NotAReset) {
  const HttpReply cfg = post("/api/configs", R"({"name": "slow", "provider": "mock", "model_name": "mock-tokens",
                                                 "options": {"tokens": 1000, "delay_ms": 20}})");
  ASSERT_EQ(cfg.status, 201);
  const HttpReply s = post("/api/sessions", Json{{"config_id", Json::parse(cfg.body)["id"]}}.dump());
  const auto session = Json::parse(s.body)["id"].get<std::int64_t>();
  SseClient stream(host_->port(), Json{{"session_id", session}, {"user_message", "go"}}.dump());
  ASSERT_EQ(stream.next()->name, "start");

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    host_->stop();
    stopped = true;
  });
  std::optional<RawResponse> refused;
  int resets = 0;
  while (!refused && !stopped) {
    std::unique_ptr<RawClient> client;
    try {
      client = connect();
    } catch (const std::runtime_error&) {
      break;  // the stop finished and the listener is gone
    }
    RawClient& c = *client;
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto r = c.read_response(2s);
    if (!r) {
      ++resets;
    } else if (r->status == 503) {
      refused = r;
      EXPECT_EQ(c.wait_end(3s), RawClient::End::Closed);
    } else {
      std::this_thread::sleep_for(5ms);  // still before the stop began
    }
  }
  // The stream ends on its own terms, with the shutting_down event.
  std::optional<SseClient::Event> last;
  while (auto e = stream.next()) last = e;
  stopper.join();
  ASSERT_TRUE(refused.has_value()) << "no 503 during the grace period";
  EXPECT_EQ(refused->status_line, "HTTP/1.1 503 Service Unavailable");
  EXPECT_EQ(refused->header("Retry-After"), "1");
  EXPECT_EQ(error_code(*refused), "shutting_down");
  EXPECT_EQ(resets, 0);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->data["code"], "shutting_down");
}

}  // namespace
}  // namespace switchboard::testing
