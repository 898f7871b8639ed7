// File: tests/integration/several_hosts_test.cpp
//
// Two hosts on one PostgreSQL database (the test server of
// tests/support/postgres.sh; these tests run in the PostgreSQL pass only):
// - turns of one session sent alternately to both hosts are serialized, each
//   seeing every turn before it, and a turn that waits too long is a 409;
// - a config change and a key revocation through host A are used by host B
//   within a second;
// - kill -9 of host A mid-stream, then A's restart, leave host B's open stream
//   untouched and mark A's reply interrupted with its checkpointed text; a
//   host that never comes back has its replies marked by the other after its lease.
// - `switchboard --migrate-to` moves a populated SQLite file into PostgreSQL,
//   and a host on it serves the same sessions, keys and sealed provider keys.
// The in-process hosts share nothing but the database; the crash and move
// tests run the real binary as child processes.
#include "fake_upstream.h"
#include "host_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Net/ServerSocket.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <sstream>
#include <map>
#include <set>
#include <thread>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

class SeveralHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.postgresql()) << "runs against the PostgreSQL test server only";
    manifest_ = dir_.write("plugins.json", kMockOnlyManifest);
    admin_key_file_ = dir_.write("admin.key", kAdminKey + "\n");
    default_key() = kAdminKey;
  }
  void TearDown() override { hosts_.clear(); }

  HostOptions options_for(const std::string& id) {
    HostOptions o;
    o.port = 0;
    o.db_path = store_.where();
    o.manifest_path = manifest_;
    o.plugin_dir = SB_PLUGIN_DIR;
    o.admin_key_file = admin_key_file_;
    o.secret_key_file = dir_.file("secret.key");  // one master key for all hosts
    o.host_id = id;
    return o;
  }
  Host& start(const std::string& id, std::function<void(HostOptions&)> tune = {}) {
    HostOptions o = options_for(id);
    if (tune) tune(o);
    hosts_.push_back(std::make_unique<Host>(o));
    hosts_.back()->start();
    return *hosts_.back();
  }

  // A mock config (the options make its replies slow or long) and a session on it, made through the host at `port`.
  static std::int64_t session_on(std::uint16_t port, const std::string& name, const std::string& model,
                                 const Json& options) {
    const HttpReply c = http(port, "POST", "/api/configs",
                             Json{{"name", name}, {"provider", "mock"}, {"model_name", model}, {"options", options}}.dump());
    EXPECT_EQ(c.status, 201) << c.body;
    const HttpReply s = http(port, "POST", "/api/sessions", Json{{"config_id", Json::parse(c.body)["id"]}}.dump());
    EXPECT_EQ(s.status, 201) << s.body;
    return Json::parse(s.body)["id"].get<std::int64_t>();
  }
  static Json messages(std::uint16_t port, std::int64_t session) {
    return Json::parse(http(port, "GET", "/api/sessions/" + std::to_string(session) + "/messages").body)["messages"];
  }

  TempDir dir_;
  TestDatabase store_{dir_.file("unused.db")};
  std::string manifest_, admin_key_file_;
  std::vector<std::unique_ptr<Host>> hosts_;
};

TEST_F(SeveralHosts, TurnsOfOneSessionOnTwoHostsTakeTurnsAndEachSeesAllBefore) {
  Host& a = start("host-a");
  Host& b = start("host-b");
  // mock-inspect answers with the history it was sent, slowly (a delta every 40 ms).
  const std::int64_t s = session_on(a.port(), "inspect", "mock-inspect", {{"delay_ms", 40}});
  constexpr int kTurns = 6;
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (int i = 0; i < kTurns; ++i) {
    const std::uint16_t port = (i % 2 == 0 ? a : b).port();
    clients.emplace_back([&, i, port] {
      const HttpReply r = http(port, "POST", "/api/chat",
                               Json{{"session_id", s}, {"user_message", "turn " + std::to_string(i)}}.dump());
      if (r.status != 200) ++failures;
    });
    std::this_thread::sleep_for(5ms);  // all sent while the first is still answering
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);

  const Json stored = messages(b.port(), s);
  ASSERT_EQ(stored.size(), 2u * kTurns);
  std::set<std::string> asked;
  for (int k = 0; k < kTurns; ++k) {
    const Json& user = stored[2 * k];
    const Json& reply = stored[2 * k + 1];
    ASSERT_EQ(user["role"], "user");
    ASSERT_EQ(reply["role"], "assistant");
    EXPECT_EQ(reply["status"], "complete");
    asked.insert(user["content"].get<std::string>());
    // What the model saw: every earlier turn, each once and in order, then this user message.
    const Json seen = Json::parse(reply["content"].get<std::string>())["messages"];
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(2 * k + 1)) << "turn " << k << " ran beside another";
    for (int j = 0; j <= 2 * k; ++j) EXPECT_EQ(seen[j]["content"], stored[j]["content"]) << "turn " << k << ", message " << j;
  }
  EXPECT_EQ(asked.size(), static_cast<std::size_t>(kTurns)) << "every message once";
}

TEST_F(SeveralHosts, ATurnThatWaitsPastTheBoundIsABusyConflictAndWritesNothing) {
  Host& a = start("host-a");
  Host& b = start("host-b", [](HostOptions& o) { o.turn_wait_ms = 300; });
  const std::int64_t s = session_on(a.port(), "slow", "mock-tokens", {{"tokens", 20}, {"delay_ms", 100}});
  SseClient long_turn(a.port(), Json{{"session_id", s}, {"user_message", "a long one"}}.dump());
  ASSERT_EQ(long_turn.next()->name, "start");
  const HttpReply busy = http(b.port(), "POST", "/api/chat", Json{{"session_id", s}, {"user_message", "me too"}}.dump());
  EXPECT_EQ(busy.status, 409) << busy.body;
  EXPECT_EQ(Json::parse(busy.body)["error"]["code"], "session_busy") << busy.body;
  const auto events = long_turn.all();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "done");
  const Json stored = messages(a.port(), s);
  ASSERT_EQ(stored.size(), 2u) << "the refused message was not saved";
  EXPECT_EQ(stored[0]["content"], "a long one");
  // Once the first turn is over, B takes the session's turn at once.
  EXPECT_EQ(http(b.port(), "POST", "/api/chat", Json{{"session_id", s}, {"user_message", "now"}}.dump()).status, 200);
}

TEST_F(SeveralHosts, AConfigChangeAndAKeyRevocationThroughOneHostHoldOnTheOtherWithinASecond) {
  Host& a = start("host-a");
  Host& b = start("host-b");
  const HttpReply made = http(a.port(), "POST", "/api/configs",
                              Json{{"name", "door"}, {"provider", "mock"}, {"model_name", "mock-echo"}}.dump());
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string id = Json::parse(made.body)["id"].dump();
  // The /v1 door resolves a config by name from a cache; mock-echo answers
  // "hi" with "hi", mock-tokens with "tok1 tok2 ...".
  const auto answer_on_b = [&] {
    const HttpReply r = http(b.port(), "POST", "/v1/chat/completions",
                             R"({"model": "door", "messages": [{"role": "user", "content": "hi"}]})");
    EXPECT_EQ(r.status, 200) << r.body;
    return Json::parse(r.body)["choices"][0]["message"]["content"].get<std::string>();
  };
  ASSERT_EQ(answer_on_b(), "hi");  // B has the config cached now
  ASSERT_EQ(http(a.port(), "PUT", "/api/configs/" + id, Json{{"model_name", "mock-tokens"}}.dump()).status, 200);
  auto changed_at = std::chrono::steady_clock::now();
  while (answer_on_b().rfind("tok1", 0) != 0) {
    ASSERT_LT(std::chrono::steady_clock::now() - changed_at, 1s) << "B still used the old model a second later";
    std::this_thread::sleep_for(20ms);
  }

  // A user's key, checked (and cached) by B, revoked through A.
  const HttpReply user = http(a.port(), "POST", "/api/users", R"({"name": "carol", "role": "user"})");
  ASSERT_EQ(user.status, 201) << user.body;
  const HttpReply key = http(a.port(), "POST", "/api/keys", R"({"user_id": )" + Json::parse(user.body)["id"].dump() + "}");
  ASSERT_EQ(key.status, 201) << key.body;
  const std::string carol = Json::parse(key.body)["key"];
  ASSERT_EQ(http_as(carol, b.port(), "GET", "/api/me").status, 200);
  ASSERT_EQ(http(a.port(), "DELETE", "/api/keys/" + Json::parse(key.body)["id"].dump()).status, 200);
  changed_at = std::chrono::steady_clock::now();
  while (http_as(carol, b.port(), "GET", "/api/me").status != 401) {
    ASSERT_LT(std::chrono::steady_clock::now() - changed_at, 1s) << "B still took a key revoked a second ago";
    std::this_thread::sleep_for(20ms);
  }
}

TEST_F(SeveralHosts, AHostWithAnotherMasterKeyIsRefusedAtStartNamingTheFix) {
  start("host-a");
  try {
    start("host-b", [&](HostOptions& o) { o.secret_key_file = dir_.file("another.key"); });
    FAIL() << "a host whose master key opens none of the stored provider keys started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--secret-key-file"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(start("host-c")) << "the shared key starts";
}

// --- crashes: the real binary as child processes ---------------------------------------

struct Child {
  pid_t pid = -1;
  std::uint16_t port = 0;
};

std::uint16_t free_port() {
  Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
  return probe.address().port();
}

class SeveralHostProcesses : public SeveralHosts {
 protected:
  void TearDown() override {
    for (auto& [id, child] : children_) stop(child, SIGTERM);
    SeveralHosts::TearDown();
  }

  Child& spawn(const std::string& id, int lease_ms) {
    Child& child = children_[id];
    child.port = free_port();
    const std::vector<std::string> args = {SB_HOST_BIN,
                                           "--port=" + std::to_string(child.port),
                                           "--db=" + (without_password_.empty() ? store_.where() : without_password_),
                                           "--plugins=" + manifest_,
                                           "--plugin-dir=" + std::string(SB_PLUGIN_DIR),
                                           "--admin-key-file=" + admin_key_file_,
                                           "--secret-key-file=" + dir_.file("secret.key"),
                                           "--host-id=" + id,
                                           "--host-lease-ms=" + std::to_string(lease_ms),
                                           "--log-level=warning"};
    child.pid = ::fork();
    if (child.pid == 0) {
      std::vector<char*> argv;
      for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
    for (int i = 0; i < 400; ++i) {
      try {
        if (http(child.port, "GET", "/healthz").status == 200) return child;
      } catch (const Poco::Exception&) {
      }
      std::this_thread::sleep_for(25ms);
    }
    ADD_FAILURE() << "host " << id << " did not start";
    return child;
  }
  static void stop(Child& child, int signal) {
    if (child.pid <= 0) return;
    ::kill(child.pid, signal);
    ::waitpid(child.pid, nullptr, 0);
    child.pid = -1;
  }
  // Reads `n` deltas, and lets a checkpoint (every 500 ms) land.
  static void stream_a_while(SseClient& sse, int n) {
    ASSERT_EQ(sse.next()->name, "start");
    for (int i = 0; i < n; ++i) ASSERT_EQ(sse.next()->name, "delta");
    std::this_thread::sleep_for(700ms);
  }
  static Json reply_of(std::uint16_t port, std::int64_t session) { return messages(port, session).back(); }

  std::map<std::string, Child> children_;
  std::string without_password_;  // when set, the --db the children get
};

TEST_F(SeveralHostProcesses, KillingOneHostMidStreamLeavesTheOthersStreamsAndItsRestartMarksOnlyItsOwn) {
  Child& a = spawn("host-a", 10'000);
  Child& b = spawn("host-b", 10'000);
  // 30 tokens, 100 ms apart: three seconds of streaming on each host.
  const std::int64_t on_a = session_on(a.port, "slow", "mock-tokens", {{"tokens", 30}, {"delay_ms", 100}});
  const Json config_id = Json::parse(http(a.port, "GET", "/api/sessions/" + std::to_string(on_a)).body)["config_id"];
  const std::int64_t session_b =
      Json::parse(http(b.port, "POST", "/api/sessions", Json{{"config_id", config_id}}.dump()).body)["id"].get<std::int64_t>();

  SseClient stream_a(a.port, Json{{"session_id", on_a}, {"user_message", "on a"}}.dump());
  SseClient stream_b(b.port, Json{{"session_id", session_b}, {"user_message", "on b"}}.dump());
  stream_a_while(stream_a, 3);
  stream_a_while(stream_b, 0);

  stop(a, SIGKILL);
  spawn("host-a", 10'000);  // the same id: its start recovers its own replies at once
  const Json left_by_a = reply_of(b.port, on_a);
  EXPECT_EQ(left_by_a["status"], "interrupted");
  EXPECT_EQ(left_by_a["content"].get<std::string>().rfind("tok1 tok2 tok3", 0), 0u)
      << "the checkpointed text is kept: " << left_by_a["content"];
  EXPECT_EQ(reply_of(b.port, session_b)["status"], "streaming") << "B's reply is still being written";
  // The restarted A takes turns in its session again at once (the turn lock of its earlier life went).
  const Json quick = {{"session_id", on_a}, {"user_message", "after the crash"}, {"options", {{"tokens", 2}, {"delay_ms", 0}}}};
  const auto asked_at = std::chrono::steady_clock::now();
  EXPECT_EQ(http(a.port, "POST", "/api/chat", quick.dump()).status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - asked_at, 5s);

  // B's stream goes on to its end, whole, and is saved complete.
  const auto rest = stream_b.all();
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().name, "done");
  const Json b_reply = reply_of(b.port, session_b);
  EXPECT_EQ(b_reply["status"], "complete");
  EXPECT_EQ(b_reply["content"].get<std::string>().find("tok30"), b_reply["content"].get<std::string>().size() - 5);
}

TEST_F(SeveralHostProcesses, ThePasswordMayComeFromPgpasswordInsteadOfTheUri) {
  // postgresql://user:password@host:port/db → postgresql://user@host:port/db, and the password in PGPASSWORD.
  const std::string uri = store_.where();
  const auto colon = uri.find(':', std::string("postgresql://").size());
  const auto at = uri.find('@');
  ASSERT_LT(colon, at) << uri;
  const std::string password = uri.substr(colon + 1, at - colon - 1);
  without_password_ = uri.substr(0, colon) + uri.substr(at);
  ::setenv("PGPASSWORD", password.c_str(), 1);
  Child& a = spawn("host-a", 10'000);
  ::unsetenv("PGPASSWORD");
  EXPECT_EQ(http(a.port, "GET", "/api/me").status, 200) << "started and serving from the database";
}

TEST_F(SeveralHostProcesses, AHostThatNeverComesBackHasItsRepliesMarkedByTheOtherAfterItsLease) {
  Child& a = spawn("host-a", 1'000);
  Child& b = spawn("host-b", 1'000);
  const std::int64_t s = session_on(a.port, "slow", "mock-tokens", {{"tokens", 50}, {"delay_ms", 100}});
  SseClient stream(a.port, Json{{"session_id", s}, {"user_message", "on a"}}.dump());
  stream_a_while(stream, 2);
  stop(a, SIGKILL);
  EXPECT_EQ(reply_of(b.port, s)["status"], "streaming") << "not before the lease runs out";
  const auto killed_at = std::chrono::steady_clock::now();
  while (reply_of(b.port, s)["status"] == "streaming") {
    // The lease (1 s), then B's next heartbeat (every lease/5).
    ASSERT_LT(std::chrono::steady_clock::now() - killed_at, 3s) << "B never marked the dead host's reply";
    std::this_thread::sleep_for(50ms);
  }
  const Json reply = reply_of(b.port, s);
  EXPECT_EQ(reply["status"], "interrupted");
  EXPECT_EQ(reply["content"].get<std::string>().rfind("tok1 tok2", 0), 0u) << reply["content"];
  // The session takes turns again at once: the dead host's turn lock went with it.
  const Json quick = {{"session_id", s}, {"user_message", "again"}, {"options", {{"tokens", 2}, {"delay_ms", 0}}}};
  EXPECT_EQ(http(b.port, "POST", "/api/chat", quick.dump()).status, 200);
}

// --- two hosts behind nginx: the README's server block, run ----------------------------

// The ```nginx block of the README, with its three ports replaced.
std::string readme_nginx_block(std::uint16_t listen, std::uint16_t a, std::uint16_t b) {
  std::ifstream in(std::string(SB_SOURCE_DIR) + "/README.md");
  const std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto start = readme.find("```nginx\n");
  const auto end = readme.find("```", start + 9);
  if (start == std::string::npos || end == std::string::npos) return "";
  std::string block = readme.substr(start + 9, end - start - 9);
  for (const auto& [from, to] : {std::pair{std::string("127.0.0.1:8081;"), "127.0.0.1:" + std::to_string(a) + ";"},
                                 std::pair{std::string("127.0.0.1:8082;"), "127.0.0.1:" + std::to_string(b) + ";"},
                                 std::pair{std::string("127.0.0.1:8080;"), "127.0.0.1:" + std::to_string(listen) + ";"}}) {
    const auto at = block.find(from);
    if (at == std::string::npos) return "";
    block.replace(at, from.size(), to);
  }
  return block;
}

// switchboard_chat_turns_total of one host, from its own /metrics.
long turns_served(std::uint16_t port) {
  const std::string text = http(port, "GET", "/metrics").body;
  long total = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("switchboard_chat_turns_total", 0) == 0) total += std::stol(line.substr(line.rfind(' ') + 1));
  return total;
}

TEST_F(SeveralHostProcesses, TwoHostsBehindNginxShareTheLoadAndStreamThroughIt) {
  Child& a = spawn("app-1", 10'000);
  Child& b = spawn("app-2", 10'000);
  const std::uint16_t front = free_port();
  const std::string block = readme_nginx_block(front, a.port, b.port);
  ASSERT_FALSE(block.empty()) << "README.md has no ```nginx block with the ports 8080, 8081 and 8082";
  // The README's block inside a minimal nginx.conf of the test's own.
  const std::string conf = dir_.write(
      "nginx.conf", "daemon off;\nmaster_process off;\npid " + dir_.file("nginx.pid") + ";\nerror_log " +
                        dir_.file("nginx-error.log") + " warn;\nevents { worker_connections 256; }\nhttp {\n" +
                        "access_log off;\nclient_body_temp_path " + dir_.file("body") + ";\nproxy_temp_path " +
                        dir_.file("proxy") + ";\n" + block + "}\n");
  const pid_t nginx = ::fork();
  if (nginx == 0) {
    ::execlp("nginx", "nginx", "-c", conf.c_str(), "-p", dir_.path().c_str(), static_cast<char*>(nullptr));
    ::execl("/usr/sbin/nginx", "nginx", "-c", conf.c_str(), "-p", dir_.path().c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{nginx};
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    try {
      up = http(front, "GET", "/healthz").status == 200;
    } catch (const Poco::Exception&) {
      std::this_thread::sleep_for(25ms);
    }
  }
  ASSERT_TRUE(up) << "nginx did not start (apt-get install nginx)";

  // A streamed turn through nginx: each event arrives as the host writes it.
  const std::int64_t s = session_on(front, "paced", "mock-tokens", {{"tokens", 6}, {"delay_ms", 150}});
  SseClient stream(front, Json{{"session_id", s}, {"user_message", "through the proxy"}}.dump());
  ASSERT_EQ(stream.status(), 200);
  const auto events = stream.all();
  ASSERT_GE(events.size(), 8u);
  EXPECT_EQ(events.back().name, "done");
  std::vector<std::chrono::steady_clock::time_point> deltas;
  for (const auto& e : events)
    if (e.name == "delta") deltas.push_back(e.at);
  ASSERT_EQ(deltas.size(), 6u);
  EXPECT_GE(deltas.back() - deltas.front(), 500ms) << "the deltas came in one lump: nginx buffered the stream";

  // Turns spread over both hosts, and each host sees the others' turns.
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(http(front, "POST", "/api/chat", Json{{"session_id", s}, {"user_message", "turn " + std::to_string(i)},
                                                    {"options", {{"tokens", 2}, {"delay_ms", 0}}}}.dump())
                  .status,
              200);
  EXPECT_GT(turns_served(a.port), 0) << "app-1 served no turn";
  EXPECT_GT(turns_served(b.port), 0) << "app-2 served no turn";
  EXPECT_EQ(messages(a.port, s).size(), 14u);
  EXPECT_EQ(messages(b.port, s).size(), 14u);
}

// --- moving an SQLite database into PostgreSQL ------------------------------------------

// The binary's output and exit code for `args`.
std::pair<int, std::string> run_binary(const std::string& args) {
  std::string out;
  FILE* pipe = ::popen((std::string(SB_HOST_BIN) + " " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(SeveralHosts, AFileMovedToPostgreSQLServesTheSameSessionsKeysAndSealedSecrets) {
  FakeUpstream upstream;
  const std::string sqlite = dir_.file("switchboard.db");
  HostOptions o = options_for("mover");
  o.db_path = sqlite;
  std::string dana, session_title;
  std::int64_t session = 0;
  Json before;
  {
    Host host(o);
    host.start();
    const auto call = [&](const std::string& method, const std::string& path, const Json& body = nullptr,
                          const std::optional<std::string>& key = std::nullopt) {
      return http(host.port(), method, path, body.is_null() ? "" : body.dump(), "application/json", key);
    };
    const HttpReply user = call("POST", "/api/users", {{"name", "dana"}, {"role", "user"}});
    ASSERT_EQ(user.status, 201) << user.body;
    dana = Json::parse(call("POST", "/api/keys", {{"user_id", Json::parse(user.body)["id"]}}).body)["key"];
    ASSERT_EQ(call("POST", "/api/configs",
                   {{"name", "remote"}, {"provider", "openai_compatible"}, {"model_name", "gpt-moved"},
                    {"base_url", upstream.openai_url()}, {"api_key", "sk-moved-sealed-5e1f"}})
                  .status,
              201);
    // Dana's chat on the first-start mock config, renamed, with two turns; her default config set.
    session = Json::parse(call("POST", "/api/sessions", {{"title", "moving day"}}, dana).body)["id"].get<std::int64_t>();
    for (const char* text : {"first words", "second words"})
      ASSERT_EQ(call("POST", "/api/chat", {{"session_id", session}, {"user_message", text}}, dana).status, 200);
    ASSERT_EQ(call("PUT", "/api/preferences", {{"default_config_id", 1}}, dana).status, 200);
    before = Json::parse(call("GET", "/api/sessions/" + std::to_string(session) + "/messages", nullptr, dana).body);
    host.stop();
  }

  const auto [code, out] = run_binary("--db=" + sqlite + " --migrate-to=" + store_.where());
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("messages: 4 rows"), std::string::npos) << out;
  EXPECT_NE(out.find("done:"), std::string::npos) << out;
  const std::string password = store_.where().substr(store_.where().find(':', 13) + 1);
  EXPECT_EQ(out.find(password.substr(0, password.find('@'))), std::string::npos) << "the URI's password was printed";
  const auto [again, refused] = run_binary("--db=" + sqlite + " --migrate-to=" + store_.where());
  EXPECT_NE(again, 0) << "a second move into the same database";
  EXPECT_NE(refused.find("not empty"), std::string::npos) << refused;

  // A host on PostgreSQL, with the same master key, serves what the file held.
  Host& moved = start("moved");
  const Json after = Json::parse(
      http_as(dana, moved.port(), "GET", "/api/sessions/" + std::to_string(session) + "/messages").body);
  EXPECT_EQ(after, before) << "the same messages, ids, snapshots and times";
  EXPECT_EQ(Json::parse(http_as(dana, moved.port(), "GET", "/api/me").body)["name"], "dana");
  EXPECT_EQ(Json::parse(http_as(dana, moved.port(), "GET", "/api/preferences").body)["default_config_id"], 1);
  const HttpReply v1 = http(moved.port(), "POST", "/v1/chat/completions",
                            R"({"model": "remote", "messages": [{"role": "user", "content": "hi"}]})");
  EXPECT_EQ(upstream.last_header("Authorization"), "Bearer sk-moved-sealed-5e1f") << v1.body;
  // New rows take ids after the moved ones.
  const HttpReply fresh = http_as(dana, moved.port(), "POST", "/api/sessions", R"({"title": "after the move"})");
  ASSERT_EQ(fresh.status, 201) << fresh.body;
  EXPECT_GT(Json::parse(fresh.body)["id"].get<std::int64_t>(), session);
  ASSERT_EQ(http_as(dana, moved.port(), "POST", "/api/chat",
                    Json{{"session_id", session}, {"user_message", "third words"}}.dump())
                .status,
            200);
}

}  // namespace
}  // namespace switchboard::testing
