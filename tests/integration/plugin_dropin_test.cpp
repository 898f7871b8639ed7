// File: tests/integration/plugin_dropin_test.cpp
//
// Plugins dropped into a running host's plugin directory, over real HTTP on a
// loopback port: a copied-in library is live within two seconds, a replaced
// one lets open streams finish on the old version, a removed one takes no new
// turns, each broken kind is reported and changes nothing else, 100 reloads
// under a stream load fail no turn and leave no library mapped, a file being
// written is never loaded half-way, and SIGHUP and POST /api/providers/reload
// (admins only) reload.
#include "host_fixture.h"

#include "host/plugins/plugin_registry.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

namespace switchboard::testing {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string test_plugin(const std::string& name) { return std::string(SB_TEST_PLUGIN_DIR) + "/lib" + name + ".so"; }
std::string versioned(int v) { return test_plugin("versioned_v" + std::to_string(v)); }

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

// Lines of /proc/self/maps that map an in-memory copy of `file_name` (the
// host maps a private copy of each plugin version; see LoadedProvider::load_copy).
int mapped_copies(const std::string& file_name) {
  std::ifstream maps("/proc/self/maps");
  int n = 0;
  for (std::string line; std::getline(maps, line);)
    if (line.find("sb-plugin:" + file_name) != std::string::npos) ++n;
  return n;
}

std::uint64_t metric(const std::string& body, const std::string& series) {
  const auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(body.substr(at + series.size() + 2));
}

class DropIn : public HostFixture {
 protected:
  DropIn() {
    plugin_dir_ = plugins_.path() / "plugins";
    fs::create_directories(plugin_dir_);
    fs::permissions(plugin_dir_, fs::perms(0755));
  }

  std::string manifest() const override {
    return R"({"plugins": [{"name": "mock", "library": ")" SB_PLUGIN_DIR R"(/libswitchboard_mock.so"}],
               "default_config": {"name": "mock-echo", "provider": "mock", "model_name": "mock-echo"}})";
  }
  void tune(HostOptions& o) const override { o.plugin_dir = plugin_dir_.string(); }

  // As the README tells authors: copy under a hidden name, then rename into place.
  fs::path drop(const std::string& from, const std::string& name = "libversioned.so") const {
    const fs::path temp = plugin_dir_ / ("." + name + ".part");
    fs::copy_file(from, temp, fs::copy_options::overwrite_existing);
    fs::rename(temp, plugin_dir_ / name);
    return plugin_dir_ / name;
  }

  Json providers() { return Json::parse(get("/api/providers").body)["providers"]; }
  // The version of the loaded provider `name`, "" when none is.
  std::string version_of(const std::string& name) {
    for (const auto& p : providers())
      if (p["name"] == name && p["loaded"].get<bool>()) return p["version"].get<std::string>();
    return "";
  }
  std::optional<Json> report_for(const fs::path& file) {
    for (const auto& p : providers())
      if (p["file"] == file.string()) return p;
    return std::nullopt;
  }

  // A config of the versioned plugin and a session bound to it.
  std::int64_t versioned_session(const std::string& config_name = "versioned") {
    if (config_id_ == 0) {
      const HttpReply c = post("/api/configs", R"({"name": ")" + config_name +
                                                   R"(", "provider": "versioned", "model_name": "versioned-model"})");
      EXPECT_EQ(c.status, 201) << c.body;
      config_id_ = Json::parse(c.body)["id"].get<std::int64_t>();
    }
    const HttpReply s = post("/api/sessions", R"({"config_id": )" + std::to_string(config_id_) + "}");
    EXPECT_EQ(s.status, 201) << s.body;
    return Json::parse(s.body)["id"].get<std::int64_t>();
  }
  static std::string turn(std::int64_t session, int tokens, int delay_ms) {
    return R"({"session_id": )" + std::to_string(session) + R"(, "user_message": "hi", "options": {"tokens": )" +
           std::to_string(tokens) + R"(, "delay_ms": )" + std::to_string(delay_ms) + "}}";
  }
  // The whole reply of one streamed turn, or "error: ..." when it did not end with done.
  std::string stream_reply(std::int64_t session, int tokens = 2, int delay_ms = 0) {
    SseClient sse(host_->port(), turn(session, tokens, delay_ms));
    if (sse.status() != 200) return "error: HTTP " + std::to_string(sse.status()) + " " + sse.rest();
    std::string reply;
    for (const auto& e : sse.all()) {
      if (e.name == "delta") reply += e.data["content"].get<std::string>();
      if (e.name == "error") return "error: " + e.data.dump();
      if (e.name == "done") return reply;
    }
    return "error: the stream ended without done";
  }

  TempDir plugins_;
  fs::path plugin_dir_;
  std::int64_t config_id_ = 0;
};

TEST_F(DropIn, ALibraryCopiedInIsListedAndServesAChatWithinTwoSeconds) {
  EXPECT_EQ(version_of("versioned"), "");
  const auto dropped = Clock::now();
  drop(versioned(1));
  ASSERT_TRUE(wait_until([&] { return version_of("versioned") == "1.0.0"; }, 2s));
  const std::int64_t session = versioned_session();
  const HttpReply chat = post("/api/chat", turn(session, 2, 0));
  const auto served = Clock::now();
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(Json::parse(chat.body)["assistant_message"]["content"], "v1.0.0 tok1 v1.0.0 tok2 ");
  EXPECT_LT(served - dropped, 2s);
  const auto report = report_for(plugin_dir_ / "libversioned.so");
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ((*report)["source"], "discovered");
}

TEST_F(DropIn, AReplacedLibraryLetsAnOpenStreamFinishOnTheOldVersionAndTheNextTurnGetsTheNew) {
  drop(versioned(1));
  ASSERT_TRUE(wait_until([&] { return version_of("versioned") == "1.0.0"; }, 2s));
  const int one_version = mapped_copies("libversioned.so");
  ASSERT_GT(one_version, 0);
  const std::int64_t session = versioned_session();

  SseClient open(host_->port(), turn(session, 8, 150));  // about 1.2 s
  ASSERT_EQ(open.status(), 200);
  std::string reply;
  for (auto e = open.next(); e && e->name != "delta"; e = open.next()) {
  }
  drop(versioned(2));
  ASSERT_TRUE(wait_until([&] { return version_of("versioned") == "2.0.0"; }, 2s));
  bool done = false;
  while (auto e = open.next()) {
    if (e->name == "delta") reply += e->data["content"].get<std::string>();
    if (e->name == "done") done = true;
    ASSERT_NE(e->name, "error") << e->data.dump();
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(reply.find("v2.0.0"), std::string::npos) << reply;
  EXPECT_NE(reply.find("v1.0.0 tok8 "), std::string::npos) << reply;

  EXPECT_EQ(stream_reply(session), "v2.0.0 tok1 v2.0.0 tok2 ");
  // The old version was unmapped once its last turn ended; removed, the new one is too.
  EXPECT_TRUE(wait_until([&] { return mapped_copies("libversioned.so") == one_version; }, 2s))
      << mapped_copies("libversioned.so");
  fs::remove(plugin_dir_ / "libversioned.so");
  ASSERT_TRUE(wait_until([&] { return version_of("versioned").empty(); }, 2s));
  EXPECT_TRUE(wait_until([&] { return mapped_copies("libversioned.so") == 0; }, 2s));
}

TEST_F(DropIn, ARemovedLibraryTakesNoNewTurnsLetsOpenOnesFinishAndWorksAgainWhenItReturns) {
  const fs::path lib = drop(versioned(1));
  ASSERT_TRUE(wait_until([&] { return version_of("versioned") == "1.0.0"; }, 2s));
  const std::int64_t session = versioned_session();
  SseClient open(host_->port(), turn(session, 6, 150));
  ASSERT_EQ(open.status(), 200);
  for (auto e = open.next(); e && e->name != "delta"; e = open.next()) {
  }
  fs::remove(lib);
  ASSERT_TRUE(wait_until([&] { return version_of("versioned").empty(); }, 2s));

  const HttpReply refused = post("/api/chat", turn(versioned_session(), 1, 0));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(Json::parse(refused.body)["error"]["code"], "provider_unavailable");

  std::string last;
  while (auto e = open.next()) last = e->name;
  EXPECT_EQ(last, "done");

  drop(versioned(2));
  ASSERT_TRUE(wait_until([&] { return version_of("versioned") == "2.0.0"; }, 2s));
  EXPECT_EQ(stream_reply(versioned_session()), "v2.0.0 tok1 v2.0.0 tok2 ");
}

TEST_F(DropIn, EachBrokenKindDroppedInAtRunTimeIsReportedWithItsReasonAndChangesNothingElse) {
  drop(versioned(1));
  ASSERT_TRUE(wait_until([&] { return version_of("versioned") == "1.0.0"; }, 2s));
  const std::int64_t session = versioned_session();
  // A stream that stays open across every broken drop.
  SseClient open(host_->port(), turn(session, 100, 40));
  ASSERT_EQ(open.status(), 200);

  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"bad_major", "major versions differ"},
      {"newer_minor", "newer than this host's ABI"},
      {"no_entry", "no entry point [sb_provider_entry]"},
      {"short_table", "short function table"},
      {"create_fails", "constructor exploded"}};
  for (const auto& [kind, reason] : kinds) {
    const fs::path lib = drop(test_plugin("broken_" + kind), "libbroken.so");
    ASSERT_TRUE(wait_until([&] { return report_for(lib).has_value(); }, 2s)) << kind;
    const Json report = *report_for(lib);
    EXPECT_FALSE(report["loaded"].get<bool>()) << kind;
    EXPECT_NE(report["error"].get<std::string>().find(reason), std::string::npos) << kind << ": " << report.dump();
    EXPECT_EQ(version_of("versioned"), "1.0.0") << kind;
    EXPECT_EQ(version_of("mock"), "1.0.0") << kind;
    fs::remove(lib);
    ASSERT_TRUE(wait_until([&] { return !report_for(lib).has_value(); }, 2s)) << kind;
  }
  // The sixth kind describes itself fine: it loads, and each of its calls fails as data.
  const fs::path lib = drop(test_plugin("broken_throws"), "libbroken.so");
  ASSERT_TRUE(wait_until([&] { return version_of("broken") == "0.0.1"; }, 2s));
  const HttpReply c = post("/api/configs", R"({"name": "throws", "provider": "broken", "model_name": "only"})");
  ASSERT_EQ(c.status, 201) << c.body;
  const HttpReply s = post("/api/sessions", R"({"config_id": )" + Json::parse(c.body)["id"].dump() + "}");
  const HttpReply chat = post("/api/chat", R"({"session_id": )" + Json::parse(s.body)["id"].dump() +
                                               R"(, "user_message": "hi"})");
  EXPECT_EQ(chat.status, 502) << chat.body;
  EXPECT_EQ(Json::parse(chat.body)["error"]["code"], "provider_exception");
  fs::remove(lib);

  std::string last;
  int deltas = 0;
  while (auto e = open.next()) {
    last = e->name;
    deltas += e->name == "delta" ? 1 : 0;
  }
  EXPECT_EQ(last, "done");
  EXPECT_EQ(deltas, 100);
  EXPECT_EQ(stream_reply(session), "v1.0.0 tok1 v1.0.0 tok2 ");

  const std::string metrics = get("/metrics").body;
  EXPECT_GE(metric(metrics, R"(switchboard_plugin_events_total{event="refused"})"), 5u) << metrics;
}

TEST_F(DropIn, AHundredReloadsUnderAStreamLoadFailNoTurnAndLeaveNoLibraryMapped) {
  drop(versioned(1));
  ASSERT_TRUE(wait_until([&] { return version_of("versioned") == "1.0.0"; }, 2s));
  const int one_version = mapped_copies("libversioned.so");
  ASSERT_GT(one_version, 0);
  const std::uint64_t replaced_before =
      metric(get("/metrics").body, R"(switchboard_plugin_events_total{event="replaced"})");

  constexpr int kClients = 4;
  std::vector<std::int64_t> sessions;
  for (int i = 0; i < kClients; ++i) sessions.push_back(versioned_session());
  std::atomic<bool> stop{false};
  std::atomic<int> turns{0};
  std::vector<std::string> failures;
  std::mutex failures_mutex;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      while (!stop.load()) {
        const std::string reply = stream_reply(sessions[i], 4, 15);
        ++turns;
        // Whole, and from one version only: a turn never moves to another library.
        const bool mixed = reply.find("v1.0.0") != std::string::npos && reply.find("v2.0.0") != std::string::npos;
        if (reply.rfind("error", 0) == 0 || reply.size() != 4 * 12 || mixed) {
          std::lock_guard guard(failures_mutex);
          failures.push_back(reply);
        }
      }
    });
  }
  for (int cycle = 0; cycle < 100; ++cycle) {
    drop(versioned(cycle % 2 == 0 ? 2 : 1));
    const HttpReply r = post("/api/providers/reload", "");
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_TRUE(Json::parse(r.body)["refused"].empty()) << r.body;
  }
  stop.store(true);
  for (auto& t : clients) t.join();

  EXPECT_TRUE(failures.empty()) << failures.size() << " failed turns, first: " << failures.front();
  EXPECT_GT(turns.load(), 2 * kClients);
  EXPECT_EQ(version_of("versioned"), "1.0.0");  // the last drop (cycle 99) was v1
  EXPECT_EQ(metric(get("/metrics").body, R"(switchboard_plugin_events_total{event="replaced"})") - replaced_before,
            100u);
  // Every old version was unmapped once its last turn ended: one version is left.
  EXPECT_TRUE(wait_until([&] { return mapped_copies("libversioned.so") == one_version; }, 2s))
      << mapped_copies("libversioned.so") << " lines mapped, one version maps " << one_version;
}

TEST_F(DropIn, AFileBeingWrittenInPlaceIsNotLoadedUntilItsWriterClosesIt) {
  const std::string bytes = [] {
    std::ifstream in(versioned(1), std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }();
  const fs::path lib = plugin_dir_ / "libversioned.so";
  const int fd = ::open(lib.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  ASSERT_GE(fd, 0);
  const std::size_t half = bytes.size() / 2;
  ASSERT_EQ(::write(fd, bytes.data(), half), static_cast<ssize_t>(half));
  std::this_thread::sleep_for(600ms);
  EXPECT_FALSE(report_for(lib).has_value());
  const HttpReply reload = post("/api/providers/reload", "");  // an explicit reload waits for the writer too
  ASSERT_EQ(reload.status, 200);
  EXPECT_FALSE(report_for(lib).has_value()) << reload.body;
  ASSERT_EQ(::write(fd, bytes.data() + half, bytes.size() - half), static_cast<ssize_t>(bytes.size() - half));
  ::close(fd);
  EXPECT_TRUE(wait_until([&] { return version_of("versioned") == "1.0.0"; }, 2s));
  const auto report = report_for(lib);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE((*report)["loaded"].get<bool>()) << report->dump();
}

TEST_F(DropIn, OnlyAnAdminMayReload) {
  const Account user = make_user("not-an-admin");
  const HttpReply anonymous = http_as("", host_->port(), "POST", "/api/providers/reload", "{}");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  const HttpReply as_user = http_as(user.key, host_->port(), "POST", "/api/providers/reload", "{}");
  EXPECT_EQ(as_user.status, 403) << as_user.body;
  EXPECT_EQ(Json::parse(as_user.body)["error"]["code"], "permission_denied");
  drop(versioned(1));
  const HttpReply admin = post("/api/providers/reload", "");
  ASSERT_EQ(admin.status, 200) << admin.body;
  const Json body = Json::parse(admin.body);
  // The watcher may have been first; either way the answer lists it loaded.
  bool listed = false;
  for (const auto& p : body["providers"]) listed = listed || (p["name"] == "versioned" && p["loaded"].get<bool>());
  EXPECT_TRUE(listed) << admin.body;
}

TEST_F(DropIn, ADirectoryOthersMayWriteToIsRefusedAndSaysWhy) {
  drop(versioned(1));
  ASSERT_TRUE(wait_until([&] { return version_of("versioned") == "1.0.0"; }, 2s));
  fs::permissions(plugin_dir_, fs::perms(0777));
  const HttpReply r = post("/api/providers/reload", "");
  fs::permissions(plugin_dir_, fs::perms(0755));
  ASSERT_EQ(r.status, 200);
  const Json body = Json::parse(r.body);
  EXPECT_EQ(body["removed"], Json::array({"versioned"})) << r.body;
  ASSERT_EQ(body["refused"].size(), 1u) << r.body;
  EXPECT_NE(body["refused"][0]["error"].get<std::string>().find("is writable by anyone (mode 0777)"),
            std::string::npos) << r.body;
  EXPECT_EQ(version_of("mock"), "1.0.0");  // listed elsewhere: unaffected
}

// SIGHUP, with the watcher and the rescan off so that nothing else reloads.
class DropInSighup : public DropIn {
 protected:
  void tune(HostOptions& o) const override {
    DropIn::tune(o);
    o.watch_plugins = false;
    o.plugin_rescan_ms = 0;
    o.reload_on_sighup = true;
    // As main() does, before the host starts a thread.
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, nullptr);
  }
};

TEST_F(DropInSighup, SighupReloadsThePluginDirectory) {
  drop(versioned(1));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(version_of("versioned"), "");  // nothing watches: not yet
  ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
  EXPECT_TRUE(wait_until([&] { return version_of("versioned") == "1.0.0"; }, 2s));
}

// Without inotify, the periodic rescan finds a library once its size and
// time held still for a whole period.
class DropInRescan : public DropIn {
 protected:
  void tune(HostOptions& o) const override {
    DropIn::tune(o);
    o.watch_plugins = false;
    o.plugin_rescan_ms = 200;
  }
};

TEST_F(DropInRescan, TheRescanFindsANewLibraryWithoutInotify) {
  drop(versioned(1));
  EXPECT_TRUE(wait_until([&] { return version_of("versioned") == "1.0.0"; }, 2s));
}

}  // namespace
}  // namespace switchboard::testing
