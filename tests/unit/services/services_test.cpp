// File: tests/unit/services/services_test.cpp
//
// The service layer on a real SQLite file with the real mock plugin: configs
// and the default-config lookup, sessions, and the chat turn with its
// snapshot, history, statuses and per-session serialization. Pins the
// original plan's bugs as regressions.
#include "host/plugins/plugin_registry.h"
#include "host/services/chat_service.h"
#include "host/services/config_service.h"
#include "host/services/crypto.h"
#include "host/services/host_presence.h"
#include "host/services/session_service.h"
#include "storage/database.h"
#include "storage/repositories.h"
#include "test_database.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

namespace switchboard {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

// Callers as the router would hand them over: two users and an admin.
const Caller kAlice{1, "alice", Role::User, 1};
const Caller kBob{2, "bob", Role::User, 2};
const Caller kAdmin{3, "root", Role::Admin, 3};

class Services : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("sb_services_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
    registry_ = PluginRegistry::load(
        Manifest::parse(R"({"plugins": [{"name": "mock", "library": "libswitchboard_mock.so"}]})"), SB_PLUGIN_DIR);
    open();
  }
  void TearDown() override {
    close();
    store_.reset();
    fs::remove_all(dir_);
  }
  void open() {
    if (!store_) store_ = std::make_unique<testing::TestDatabase>((dir_ / "test.db").string());
    db_ = storage::Database::open(store_->where());
    configs_ = std::make_unique<ConfigService>(*db_, *registry_, box_);
    sessions_ = std::make_unique<SessionService>(*db_, *configs_);
    chat_ = std::make_unique<ChatService>(*db_, *registry_, *configs_);
  }
  void close() {
    chat_.reset();
    sessions_.reset();
    configs_.reset();
    db_.reset();
  }

  ConfigInfo make_config(const std::string& name, const std::string& model = "mock-echo",
                         const std::string& options = "{}") {
    ConfigInput in;
    in.name = name;
    in.provider = "mock";
    in.model_name = model;
    in.options_json = options;
    auto r = configs_->create(kAdmin, in);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.value();
  }

  SessionInfo make_session(std::optional<std::int64_t> config_id = std::nullopt) {
    auto r = sessions_->create(kAlice, "chat", config_id);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.value();
  }

  TurnResult turn(std::int64_t session_id, const std::string& text, bool streaming = false,
                  std::optional<std::int64_t> config_id = std::nullopt) {
    TurnRequest req;
    req.caller = kAlice;
    req.session_id = session_id;
    req.user_message = text;
    req.config_id = config_id;
    TurnObserver observer;
    auto r = streaming ? chat_->stream_turn(req, observer) : chat_->chat_turn(req);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.value();
  }

  std::vector<storage::Message> stored(std::int64_t session_id) {
    return sessions_->messages(kAlice, session_id).value();
  }

  fs::path dir_;
  crypto::SecretBox box_ = crypto::SecretBox::from_text(std::string(64, 'a'));
  std::shared_ptr<PluginRegistry> registry_;
  std::unique_ptr<testing::TestDatabase> store_;  // a file in dir_, or on the PostgreSQL test server
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<ConfigService> configs_;
  std::unique_ptr<SessionService> sessions_;
  std::unique_ptr<ChatService> chat_;
};

// --- default-config lookup (seed step 1) ----------------------------------------

TEST_F(Services, NoConfigAtAllIsATypedErrorSayingHowToFixIt) {
  const auto r = configs_->default_config(kAlice);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(r.error().code, "no_default_config");
  EXPECT_NE(r.error().message.find("POST /api/configs"), std::string::npos) << r.error().message;
}

TEST_F(Services, DefaultIsConfigOneWithoutAPreference) {
  const auto first = make_config("first");
  make_config("second");
  const auto r = configs_->default_config(kAlice);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id, first.id);
  EXPECT_EQ(r->id, 1);
}

TEST_F(Services, PreferredConfigWinsAndFallsBackToOneWhenDeleted) {
  make_config("first");
  const auto second = make_config("second");
  ASSERT_TRUE(configs_->set_preferred(kAlice, second.id).ok());
  EXPECT_EQ(configs_->default_config(kAlice)->id, second.id);
  EXPECT_EQ(configs_->default_config(kBob)->id, 1) << "a preference belongs to its owner only";

  ASSERT_TRUE(configs_->remove(kAdmin, second.id).ok());
  EXPECT_EQ(configs_->default_config(kAlice)->id, 1);
  EXPECT_FALSE(configs_->preferred(kAlice)->has_value());
}

TEST_F(Services, WithoutConfigOneThePreferredIsUsedElseTheTypedError) {
  const auto first = make_config("first");
  const auto second = make_config("second");
  ASSERT_TRUE(configs_->remove(kAdmin, first.id).ok());
  EXPECT_EQ(configs_->default_config(kAlice).error().code, "no_default_config");
  ASSERT_TRUE(configs_->set_preferred(kAlice, second.id).ok());
  EXPECT_EQ(configs_->default_config(kAlice)->id, second.id);
  ASSERT_TRUE(configs_->clear_preferred(kAlice).ok());
  EXPECT_EQ(configs_->default_config(kAlice).error().code, "no_default_config");
}

TEST_F(Services, FirstStartCreatesConfigOneFromTheManifestOnce) {
  const std::string seed = R"({"name": "mock-echo", "provider": "mock", "model_name": "mock-echo"})";
  EXPECT_TRUE(configs_->ensure_first_config(seed).value());
  EXPECT_FALSE(configs_->ensure_first_config(seed).value());
  const auto def = configs_->default_config(kBob);
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->id, 1);
  EXPECT_EQ(def->provider, "mock");
  EXPECT_EQ(configs_->list(kAdmin)->size(), 1u);
}

// --- configs -------------------------------------------------------------------

TEST_F(Services, ConfigNamesAreUnique) {
  make_config("same");
  ConfigInput in;
  in.name = "same";
  in.provider = "mock";
  const auto r = configs_->create(kAdmin, in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(r.error().code, "config_name_taken");
}

TEST_F(Services, ConfigProviderMustBeLoadedAndOptionsMatchItsSchema) {
  ConfigInput in;
  in.name = "x";
  in.provider = "nope";
  auto r = configs_->create(kAdmin, in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "provider");
  EXPECT_NE(r.error().message.find("loaded: mock"), std::string::npos);

  in.provider = "mock";
  in.options_json = R"({"delay_ms": "slow"})";
  r = configs_->create(kAdmin, in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "options");
  EXPECT_NE(r.error().message.find("options.delay_ms must be of type integer"), std::string::npos);

  in.options_json = R"({"colour": 1})";
  r = configs_->create(kAdmin, in);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("options.colour is not a setting of provider mock"), std::string::npos);
  EXPECT_TRUE(configs_->list(kAdmin)->empty()) << "refused configs change nothing";
}

TEST_F(Services, ApiKeyIsWriteOnlyAndReachesTheEffectiveConfig) {
  ConfigInput in;
  in.name = "keyed";
  in.provider = "mock";
  in.api_key = std::optional<std::string>("sk-test-secret");
  const auto created = configs_->create(kAdmin, in);
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->has_api_key);

  const auto record = db_->read([&](storage::Conn& c) { return storage::configs::find(c, created->id); });
  const Json effective = Json::parse(configs_->effective_config_json(*record));
  EXPECT_EQ(effective["api_key"], "sk-test-secret");
  EXPECT_EQ(effective["model_name"], "mock-echo") << "the plugin's default fills an unset field";

  ConfigInput clear;
  clear.api_key = std::optional<std::string>();
  EXPECT_FALSE(configs_->update(kAdmin, created->id, clear)->has_api_key);
}

TEST_F(Services, EffectiveConfigIsPluginDefaultsOverriddenFieldByField) {
  const auto c = make_config("tuned", "mock-tokens", R"({"delay_ms": 5})");
  const auto record = db_->read([&](storage::Conn& conn) { return storage::configs::find(conn, c.id); });
  const Json effective = Json::parse(configs_->effective_config_json(*record));
  EXPECT_EQ(effective["model_name"], "mock-tokens");
  EXPECT_EQ(effective["delay_ms"], 5);
  EXPECT_EQ(effective["base_url"], "") << "kept from the plugin's defaults";
}

TEST_F(Services, DeletingAConfigInUseIsRefusedNamingTheCount) {
  const auto c = make_config("busy");
  make_session(c.id);
  make_session(c.id);
  const auto r = configs_->remove(kAdmin, c.id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "config_in_use");
  EXPECT_NE(r.error().message.find("used by 2 sessions"), std::string::npos) << r.error().message;
  EXPECT_TRUE(configs_->get(kAdmin, c.id).ok());
}

// --- sessions (seed step 2) -------------------------------------------------------

TEST_F(Services, SessionExposesItsConfigAsAnObject) {
  make_config("first");
  const auto second = make_config("second", "mock-inspect");
  const auto s = make_session(second.id);
  const auto got = sessions_->get(kAlice, s.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->config.id, second.id);
  EXPECT_EQ(got->config.name, "second");
  EXPECT_EQ(got->config.model_name, "mock-inspect");
  EXPECT_EQ(got->config.provider, "mock");
}

TEST_F(Services, SessionWithoutConfigTakesTheDefault) {
  make_config("first");
  EXPECT_EQ(make_session().config_id, 1);
  const auto none = sessions_->create(kAlice, "", 99);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "config_not_found");
}

TEST_F(Services, SessionsListMostRecentlyUpdatedFirstAndPage) {
  make_config("first");
  const auto a = make_session();
  const auto b = make_session();
  const auto c = make_session();
  turn(a.id, "bump a");
  const auto page = sessions_->list(kAlice, 2, 0);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 3);
  ASSERT_EQ(page->sessions.size(), 2u);
  EXPECT_EQ(page->sessions[0].id, a.id);
  EXPECT_EQ(page->sessions[1].id, c.id);
  const auto rest = sessions_->list(kAlice, 2, 2);
  ASSERT_EQ(rest->sessions.size(), 1u);
  EXPECT_EQ(rest->sessions[0].id, b.id);
  EXPECT_EQ(sessions_->list(kBob, 10, 0)->total, 0) << "sessions are per owner";
}

TEST_F(Services, RenameSwitchAndDeleteWithItsMessages) {
  make_config("first");
  const auto other = make_config("other");
  const auto s = make_session();
  EXPECT_EQ(sessions_->rename(kAlice, s.id, "Renamed")->title, "Renamed");
  EXPECT_EQ(sessions_->switch_config(kAlice, s.id, other.id)->config.name, "other");
  EXPECT_EQ(sessions_->rename(kBob, s.id, "stolen").error().code, "session_not_found");
  turn(s.id, "hello");
  ASSERT_TRUE(sessions_->remove(kAlice, s.id).ok());
  EXPECT_EQ(sessions_->get(kAlice, s.id).error().code, "session_not_found");
  const auto left = db_->read([&](storage::Conn& c) { return storage::messages::list(c, s.id); });
  EXPECT_TRUE(left.empty()) << "a deleted session's messages go with it";
}

// --- the chat turn ---------------------------------------------------------------

TEST_F(Services, ThreeTurnHistoryHoldsEachTurnOnceAndTheNewMessageOnce) {
  make_config("inspect", "mock-inspect");
  const auto s = make_session();
  turn(s.id, "first question");
  turn(s.id, "second question", true);
  const TurnResult third = turn(s.id, "third question");

  const Json seen = Json::parse(third.assistant.content);
  const Json& messages = seen["messages"];
  ASSERT_EQ(messages.size(), 5u) << seen.dump(2);
  EXPECT_EQ(messages[0]["role"], "user");
  EXPECT_EQ(messages[0]["content"], "first question");
  EXPECT_EQ(messages[1]["role"], "assistant");
  EXPECT_EQ(messages[2]["content"], "second question");
  EXPECT_EQ(messages[3]["role"], "assistant");
  EXPECT_EQ(messages[4]["role"], "user");
  EXPECT_EQ(messages[4]["content"], "third question");
  int third_count = 0;
  for (const auto& m : messages) third_count += m["content"] == "third question";
  EXPECT_EQ(third_count, 1) << "the new user message is sent exactly once";
  EXPECT_DOUBLE_EQ(seen["temperature"].get<double>(), 0.7);
  EXPECT_EQ(seen["max_tokens"], 2048);
}

TEST_F(Services, BothMessagesOfATurnCarryTheSnapshotStreamingOrNot) {
  make_config("echo", "mock-echo");
  const auto s = make_session();
  turn(s.id, "not streamed");
  turn(s.id, "streamed", true);
  const auto messages = stored(s.id);
  ASSERT_EQ(messages.size(), 4u);
  for (const auto& m : messages) {
    EXPECT_EQ(m.llm_provider, "mock") << m.role << " " << m.id;
    EXPECT_EQ(m.llm_model_name, "mock-echo") << m.role << " " << m.id;
    EXPECT_EQ(m.status, storage::MessageStatus::Complete);
  }
  EXPECT_EQ(messages[1].content, "not streamed");
  EXPECT_EQ(messages[3].content, "streamed");
  EXPECT_GT(messages[3].completion_tokens, 0);
  EXPECT_EQ(messages[3].finish_reason, "stop");
}

TEST_F(Services, ATurnOverrideRecordsWhatWasReallyUsed) {
  make_config("echo", "mock-echo");
  const auto tokens = make_config("tokens", "mock-tokens");
  const auto s = make_session();
  const TurnResult r = turn(s.id, "override please", false, tokens.id);
  EXPECT_EQ(r.user.llm_model_name, "mock-tokens");
  EXPECT_EQ(r.assistant.llm_model_name, "mock-tokens");
  EXPECT_EQ(r.assistant.config_id, tokens.id);
  EXPECT_EQ(r.assistant.content.rfind("tok1 tok2", 0), 0u);
  EXPECT_EQ(sessions_->get(kAlice, s.id)->config_id, 1) << "the override is for one turn only";
}

TEST_F(Services, ATurnMovesTheSessionUpdateTime) {
  make_config("echo");
  const auto s = make_session();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  turn(s.id, "tick");
  EXPECT_GT(sessions_->get(kAlice, s.id)->updated_at_ms, s.updated_at_ms);
}

TEST_F(Services, InvalidTurnsAreRefusedAndWriteNothing) {
  make_config("echo");
  const auto s = make_session();
  auto refuse = [&](TurnRequest req, const std::string& field) {
    req.caller = kAlice;
    const auto r = chat_->chat_turn(req);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument);
    EXPECT_EQ(r.error().field, field);
  };
  TurnRequest ok;
  ok.session_id = s.id;
  ok.user_message = "x";
  TurnRequest r = ok; r.user_message = ""; refuse(r, "user_message");
  r = ok; r.user_message = std::string(4001, 'a'); refuse(r, "user_message");
  r = ok; r.user_message = "\xff\xfe"; refuse(r, "user_message");
  r = ok; r.temperature = 2.01; refuse(r, "temperature");
  r = ok; r.temperature = -0.1; refuse(r, "temperature");
  r = ok; r.max_tokens = 0; refuse(r, "max_tokens");
  r = ok; r.session_id = 0; refuse(r, "session_id");
  EXPECT_TRUE(stored(s.id).empty());

  TurnRequest unknown = ok;
  unknown.caller = kAlice;
  unknown.session_id = 999;
  EXPECT_EQ(chat_->chat_turn(unknown).error().code, "session_not_found");
  unknown.session_id = s.id;
  unknown.caller = kBob;
  EXPECT_EQ(chat_->chat_turn(unknown).error().code, "session_not_found") << "another owner's session";
  unknown.caller = kAlice;
  unknown.config_id = 42;
  EXPECT_EQ(chat_->chat_turn(unknown).error().code, "config_not_found");
  EXPECT_TRUE(stored(s.id).empty());
}

TEST_F(Services, FourThousandCharactersCountAsCharactersNotBytes) {
  EXPECT_EQ(utf8_length("\xe4\xbd\xa0\xe5\xa5\xbd").value(), 2u);  // 你好
  std::string chinese;
  for (int i = 0; i < 4000; ++i) chinese += "\xe4\xbd\xa0";
  TurnRequest r;
  r.session_id = 1;
  r.user_message = chinese;
  EXPECT_TRUE(validate_turn(r).ok());
  r.user_message += "\xe4\xbd\xa0";
  EXPECT_FALSE(validate_turn(r).ok());
}

TEST_F(Services, MidStreamFailureKeepsThePartialReplyAsError) {
  make_config("failing", "mock-tokens", R"({"tokens": 10, "fail_after": 3})");
  const auto s = make_session();
  const TurnResult r = turn(s.id, "go", true);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->code, "mock_failure");
  EXPECT_EQ(r.error->kind, ErrorKind::Upstream);
  const auto messages = stored(s.id);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].status, storage::MessageStatus::Complete) << "the user message was accepted";
  EXPECT_EQ(messages[1].status, storage::MessageStatus::Error);
  EXPECT_EQ(messages[1].content, "tok1 tok2 tok3 ");
  EXPECT_EQ(messages[1].error_code, "mock_failure");
}

TEST_F(Services, CancelKeepsThePartialReplyAsCancelled) {
  make_config("tokens", "mock-tokens", R"({"tokens": 20})");
  const auto s = make_session();
  struct StopAfterTwo : TurnObserver {
    int seen = 0;
    bool on_event(const ProviderEvent&) override { return ++seen < 2; }
  } observer;
  TurnRequest req;
  req.caller = kAlice;
  req.session_id = s.id;
  req.user_message = "go";
  const auto r = chat_->stream_turn(req, observer);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->error.has_value());
  const auto messages = stored(s.id);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].status, storage::MessageStatus::Cancelled);
  EXPECT_EQ(messages[1].content, "tok1 tok2 ");
}

TEST_F(Services, RepliesLeftStreamingByACrashAreMarkedInterrupted) {
  make_config("echo");
  const auto s = make_session();
  // What a crash leaves behind: a reply saved as streaming and never finished.
  db_->write([&](storage::Conn& c) {
    storage::Message m;
    m.session_id = s.id;
    m.role = "assistant";
    m.content = "half a rep";
    m.status = storage::MessageStatus::Streaming;
    m.llm_provider = "mock";
    m.llm_model_name = "mock-echo";
    m.created_at_ms = storage::now_ms();
    storage::messages::insert(c, m);
  });
  close();
  open();
  EXPECT_EQ(HostPresence(*db_, {}).arrive().value(), 1);
  const auto messages = stored(s.id);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].status, storage::MessageStatus::Interrupted);
  EXPECT_EQ(messages[0].content, "half a rep");
  EXPECT_EQ(HostPresence(*db_, {}).arrive().value(), 0);
}

TEST_F(Services, ProviderNotLoadedIsUnavailableAndWritesNothing) {
  make_config("echo");
  const auto s = make_session();
  db_->write([&](storage::Conn& c) {
    storage::LlmConfig ghost;
    ghost.name = "ghost";
    ghost.provider = "ghost";
    ghost.options_json = "{}";
    const auto id = storage::configs::insert(c, ghost);
    storage::sessions::set_config(c, s.id, id);
  });
  TurnRequest req;
  req.caller = kAlice;
  req.session_id = s.id;
  req.user_message = "anyone?";
  const auto r = chat_->chat_turn(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "provider_unavailable");
  EXPECT_TRUE(stored(s.id).empty());
}

TEST_F(Services, ShutdownInterruptsInFlightTurnsAndRefusesNewOnes) {
  make_config("slow", "mock-tokens", R"({"tokens": 200, "delay_ms": 20})");
  const auto s = make_session();
  std::optional<Result<TurnResult>> result;
  std::thread t([&] {
    TurnRequest req;
    req.caller = kAlice;
    req.session_id = s.id;
    req.user_message = "long one";
    TurnObserver observer;
    result.emplace(chat_->stream_turn(req, observer));
  });
  while (chat_->in_flight() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  chat_->refuse_new_turns();
  chat_->stop_in_flight();
  t.join();
  ASSERT_TRUE(result->ok());
  ASSERT_TRUE(result->value().error.has_value());
  EXPECT_EQ(result->value().error->code, "shutting_down");
  const auto messages = stored(s.id);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].status, storage::MessageStatus::Interrupted);
  EXPECT_FALSE(messages[1].content.empty());

  TurnRequest late;
  late.caller = kAlice;
  late.session_id = s.id;
  late.user_message = "too late";
  EXPECT_EQ(chat_->chat_turn(late).error().code, "shutting_down");
}

TEST_F(Services, EightThreadsFiftyTurnsEightSessionsLoseNothing) {
  make_config("echo", "mock-echo");
  constexpr int kThreads = 8, kTurns = 50, kSessions = 8;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kSessions; ++i) ids.push_back(make_session().id);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kTurns; ++n) {
        TurnRequest req;
        req.caller = kAlice;
        // Threads share sessions, so turns of one session really race.
        req.session_id = ids[static_cast<std::size_t>((t + n) % kSessions)];
        req.user_message = "t" + std::to_string(t) + "n" + std::to_string(n);
        const auto r = chat_->chat_turn(req);
        if (!r.ok() || r->error || r->assistant.status != storage::MessageStatus::Complete) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  int total = 0;
  std::set<std::string> said;
  for (const auto id : ids) {
    const auto messages = stored(id);
    total += static_cast<int>(messages.size());
    ASSERT_EQ(messages.size() % 2, 0u);
    for (std::size_t i = 0; i < messages.size(); i += 2) {
      // Each turn is a user message directly followed by its own reply: turns
      // of one session never interleave.
      ASSERT_EQ(messages[i].role, "user");
      ASSERT_EQ(messages[i + 1].role, "assistant");
      EXPECT_EQ(messages[i + 1].content, messages[i].content);
      said.insert(messages[i].content);
    }
  }
  EXPECT_EQ(total, kThreads * kTurns * 2);
  EXPECT_EQ(said.size(), static_cast<std::size_t>(kThreads * kTurns)) << "every message is there once";
}

TEST_F(Services, ConcurrentTurnsOfOneSessionSeeEachOthersHistory) {
  make_config("inspect", "mock-inspect", R"({"delay_ms": 2})");
  const auto s = make_session();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] { turn(s.id, "racer " + std::to_string(t)); });
  for (auto& th : threads) th.join();
  const auto messages = stored(s.id);
  ASSERT_EQ(messages.size(), 8u);
  for (std::size_t i = 0; i < messages.size(); i += 2) {
    const Json seen = Json::parse(messages[i + 1].content);
    // Serialized: the k-th turn saw the 2k messages before it plus its own.
    EXPECT_EQ(seen["messages"].size(), i + 1);
    EXPECT_EQ(seen["messages"].back()["content"], messages[i].content);
  }
}

}  // namespace
}  // namespace switchboard
