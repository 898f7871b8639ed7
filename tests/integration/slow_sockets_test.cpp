// File: tests/integration/slow_sockets_test.cpp
//
// The attack that took the host offline: 2,000 connections trickling a request
// head a byte a second for 20 s. Throughout, a normal client's /healthz and a
// streamed chat turn are each answered within a second, and at the end every
// hostile socket is still open: held by the epoll thread, not by 16 workers.
#include "host_fixture.h"
#include "raw_client.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <thread>
#include <vector>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class SlowSockets : public HostFixture {
 protected:
  void tune(HostOptions& o) const override {
    // With a thread per connection, 16 slow sockets would hold every worker.
    o.max_threads = 16;
    // Longer than the attack, so that all 2,000 stay open for its 20 s (the
    // default 10 s would answer them 408 half-way, which tests less).
    o.head_timeout_ms = 60000;
  }
};

TEST_F(SlowSockets, TwoThousandTricklingConnectionsStarveNeitherHealthNorStreams) {
  constexpr int kSockets = 2000;
  // This process holds both ends of every connection. The soft open-file
  // limit is raised towards the hard one if it is too low for that.
  const rlim_t need = 2 * kSockets + 256;
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < need) {
    limit.rlim_cur = std::min(need, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < need)
    GTEST_SKIP() << "needs " << need << " open files; the hard limit here is " << limit.rlim_max;

  const HttpReply cfg = post("/api/configs", R"({"name": "five", "provider": "mock", "model_name": "mock-tokens",
                                                 "options": {"tokens": 5}})");
  ASSERT_EQ(cfg.status, 201) << cfg.body;
  const HttpReply s = post("/api/sessions", Json{{"config_id", Json::parse(cfg.body)["id"]}}.dump());
  ASSERT_EQ(s.status, 201) << s.body;
  const std::string turn = Json{{"session_id", Json::parse(s.body)["id"]}, {"user_message", "go"}}.dump();

  std::vector<std::unique_ptr<RawClient>> slow;
  slow.reserve(kSockets);
  for (int i = 0; i < kSockets; ++i) slow.push_back(std::make_unique<RawClient>(host_->port()));

  // Twenty bytes in twenty seconds: the head never ends.
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: " + std::string(100, 'a');
  std::atomic<bool> done{false};
  std::atomic<int> refused_bytes{0};
  std::thread trickler([&] {
    const auto start = Clock::now();
    for (std::size_t second = 0; second < 20 && !done; ++second) {
      for (auto& c : slow)
        if (!c->send(std::string_view(head).substr(second, 1))) ++refused_bytes;
      std::this_thread::sleep_until(start + std::chrono::seconds(second + 1));  // the attack's pace
    }
  });

  int health_checks = 0;
  int streams = 0;
  Clock::duration worst_health{};
  Clock::duration worst_stream{};
  const auto end = Clock::now() + 20s;
  while (Clock::now() < end) {
    auto started = Clock::now();
    const HttpReply health = get("/healthz");
    worst_health = std::max(worst_health, Clock::now() - started);
    EXPECT_EQ(health.status, 200);
    ++health_checks;

    started = Clock::now();
    SseClient sse(host_->port(), turn);
    const auto events = sse.all();
    worst_stream = std::max(worst_stream, Clock::now() - started);
    ASSERT_EQ(events.size(), 7u);  // start, 5 deltas, done
    EXPECT_EQ(events.back().name, "done");
    ++streams;
    std::this_thread::sleep_for(200ms);  // a normal client's pace, not a wait for anything
  }
  done = true;
  trickler.join();

  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  std::printf("%d /healthz (worst %lld ms) and %d streamed turns (worst %lld ms) beside %d trickling sockets\n",
              health_checks, static_cast<long long>(duration_cast<milliseconds>(worst_health).count()), streams,
              static_cast<long long>(duration_cast<milliseconds>(worst_stream).count()), kSockets);
  EXPECT_LT(worst_health, 1s) << duration_cast<milliseconds>(worst_health).count() << " ms";
  EXPECT_LT(worst_stream, 1s) << duration_cast<milliseconds>(worst_stream).count() << " ms";
  EXPECT_GE(health_checks, 20);
  EXPECT_GE(streams, 20);
  EXPECT_EQ(refused_bytes.load(), 0);
  const auto still_open = std::count_if(slow.begin(), slow.end(), [](const auto& c) { return c->open_now(); });
  EXPECT_EQ(still_open, kSockets);

  slow.clear();
  const HttpReply chat = post("/api/chat", turn);
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(Json::parse(chat.body)["assistant_message"]["content"], "tok1 tok2 tok3 tok4 tok5");
}

}  // namespace
}  // namespace switchboard::testing
