// File: tests/unit/storage/database_test.cpp
//
// Storage on real SQLite files, and again on a real PostgreSQL server (the
// "pg." run, see tests/support/test_database.h): migrations (idempotent,
// refusing a newer schema untouched, each step from an older schema), the
// repositories' rules (unique names, foreign keys, cascades, SET NULL),
// concurrent write transactions without "database is locked", and what
// several hosts share: leases, crash recovery per host, turn locks.
#include "storage/conn.h"
#include "storage/database.h"
#include "storage/repositories.h"
#include "test_database.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace switchboard::storage {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir() {
  std::random_device rd;
  auto dir = fs::temp_directory_path() / ("sb_storage_" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(dir);
  return dir;
}

class Storage : public ::testing::Test {
 protected:
  void SetUp() override { db_ = Database::open(path_); }
  void TearDown() override {
    db_.reset();
    fs::remove_all(dir_);
  }

  // Raw SQL on a connection of its own, to see the data as another program would.
  Poco::Data::Session raw_session() {
    if (store_.postgresql()) return Poco::Data::Session("PostgreSQL", Database::postgresql_conninfo(path_));
    return Poco::Data::Session("SQLite", path_);
  }
  std::int64_t raw_int(const std::string& sql) {
    auto session = raw_session();
    Poco::Data::Statement st(session);
    st << sql;
    st.execute();
    Poco::Data::RecordSet rs(st);
    return rs.rowCount() == 0 || rs.isNull(0, 0) ? -1 : rs.value(0, 0).convert<Poco::Int64>();
  }
  // Another handle on the same database, writing as host `host_id`.
  std::unique_ptr<Database> open_as(const std::string& host_id) {
    DatabaseOptions options;
    options.host_id = host_id;
    return Database::open(path_, options);
  }
  void raw_exec(const std::string& sql) {
    auto session = raw_session();
    session << sql, Poco::Data::Keywords::now;
  }

  std::int64_t add_config(const std::string& name) {
    return db_->write([&](Conn& c) {
      LlmConfig cfg;
      cfg.name = name;
      cfg.provider = "mock";
      return configs::insert(c, cfg);
    });
  }
  std::int64_t add_session(std::int64_t config_id, const std::string& owner = "alice") {
    return db_->write([&](Conn& c) {
      Session s;
      s.title = "t";
      s.owner = owner;
      s.config_id = config_id;
      return sessions::insert(c, s);
    });
  }
  std::int64_t add_message(std::int64_t session_id, MessageStatus status = MessageStatus::Complete) {
    return db_->write([&](Conn& c) {
      Message m;
      m.session_id = session_id;
      m.role = "user";
      m.content = "hi";
      m.status = status;
      m.llm_provider = "mock";
      m.llm_model_name = "mock-echo";
      return messages::insert(c, m);
    });
  }

  fs::path dir_ = fresh_dir();
  testing::TestDatabase store_{(dir_ / "test.db").string()};
  std::string path_ = store_.where();  // the file, or the PostgreSQL URI
  std::unique_ptr<Database> db_;
};

TEST_F(Storage, MigrationsCreateTheSchemaOnceAndAreIdempotent) {
  EXPECT_EQ(db_->schema_version(), Database::latest_schema_version());
  add_config("kept");
  db_.reset();
  db_ = Database::open(path_);
  db_.reset();
  db_ = Database::open(path_);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM schema_version"), Database::latest_schema_version());
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM llm_configs"), 1);
  const std::string tables = store_.postgresql()
                                 ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN "
                                 : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ";
  EXPECT_EQ(raw_int(tables + "('llm_configs', 'sessions', 'messages', 'preferences', 'schema_version', 'users', "
                             "'api_keys', 'audit_log', 'hosts', 'turn_locks', 'store_version', 'master_key_check')"),
            12);
}

TEST(StorageFirstOpen, HostsStartingTogetherOnAnEmptyDatabaseMigrateItOnce) {
  const fs::path dir = fresh_dir();
  {
    testing::TestDatabase store((dir / "fresh.db").string());
    std::vector<std::thread> hosts;
    std::atomic<int> failures{0};
    for (int i = 0; i < 4; ++i)
      hosts.emplace_back([&, i] {
        try {
          DatabaseOptions options;
          options.host_id = "host-" + std::to_string(i);
          Database::open(store.where(), options);
        } catch (const std::exception& e) {
          ++failures;
          ADD_FAILURE() << e.what();
        }
      });
    for (auto& t : hosts) t.join();
    EXPECT_EQ(failures.load(), 0);
    const auto db = Database::open(store.where());
    EXPECT_EQ(db->schema_version(), Database::latest_schema_version());
    EXPECT_EQ(db->read([](Conn& c) { return store::version(c); }), 0) << "store_version seeded once";
  }
  fs::remove_all(dir);
}

TEST_F(Storage, SqliteFileUsesWriteAheadLogging) {
  db_->read([](Conn&) {});
  EXPECT_TRUE(fs::exists(path_ + "-wal") || raw_int("SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);
}

TEST_F(Storage, ADatabaseNewerThanTheBinaryIsRefusedAndLeftUntouched) {
  db_.reset();
  const int newer = Database::latest_schema_version() + 1;
  raw_exec("INSERT INTO schema_version (version, applied_at) VALUES (" + std::to_string(newer) + ", 0)");
  try {
    Database::open(path_);
    FAIL() << "opened a newer database";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version " + std::to_string(newer) + ", newer than this binary supports"),
              std::string::npos) << e.what();
  }
  EXPECT_EQ(raw_int("SELECT MAX(version) FROM schema_version"), newer);
}

TEST_F(Storage, MigrationThreeLinksEachStoredReplyToTheUserMessageBeforeIt) {
  const std::int64_t cfg = add_config("c");
  const std::int64_t a = add_session(cfg), b = add_session(cfg);
  db_.reset();
  // The database as version 2 left it: no reply_to, no superseded, turns
  // interleaved across sessions; migrations 3 to the latest then run on it.
  for (const char* sql : {"DROP TABLE hosts", "DROP TABLE turn_locks", "DROP TABLE store_version", "DROP TABLE master_key_check",
                          "ALTER TABLE messages DROP COLUMN host_id", "DROP INDEX messages_reply_to",
                          "ALTER TABLE messages DROP COLUMN reply_to", "ALTER TABLE messages DROP COLUMN superseded",
                          "ALTER TABLE sessions DROP COLUMN system_prompt", "ALTER TABLE sessions DROP COLUMN temperature",
                          "DELETE FROM schema_version WHERE version >= 3"})
    ASSERT_NO_THROW(raw_exec(sql)) << sql;
  const std::string insert =
      "INSERT INTO messages (session_id, role, content, status, llm_provider, llm_model_name, created_at) VALUES ";
  for (const auto& [session, role] : std::vector<std::pair<std::int64_t, std::string>>{
           {a, "user"}, {b, "user"}, {a, "assistant"}, {b, "assistant"}, {a, "user"}, {a, "assistant"}})
    raw_exec(insert + "(" + std::to_string(session) + ", '" + role + "', 'x', 'complete', 'mock', 'm', 0)");
  db_ = Database::open(path_);
  EXPECT_EQ(db_->schema_version(), Database::latest_schema_version());
  const auto in_a = db_->read([&](Conn& c) { return messages::list(c, a); });
  const auto in_b = db_->read([&](Conn& c) { return messages::list(c, b); });
  ASSERT_EQ(in_a.size(), 4u);
  ASSERT_EQ(in_b.size(), 2u);
  EXPECT_FALSE(in_a[0].reply_to);
  EXPECT_EQ(in_a[1].reply_to, in_a[0].id) << "the user message of its own session, not the newer one of b";
  EXPECT_EQ(in_a[3].reply_to, in_a[2].id);
  EXPECT_EQ(in_b[1].reply_to, in_b[0].id);
  for (const auto& m : in_a) EXPECT_FALSE(m.superseded);
}

TEST_F(Storage, SearchMatchesTitlesAndContentOfTheOwnerLiterally) {
  const std::int64_t cfg = add_config("c");
  const std::int64_t mine = add_session(cfg, "alice"), theirs = add_session(cfg, "bob");
  add_message(mine);  // "hi"
  add_message(theirs);
  db_->write([&](Conn& c) { sessions::rename(c, mine, "Plans for 50% OFF"); });
  const auto find = [&](const std::string& text) {
    return db_->read([&](Conn& c) { return sessions::search_count(c, "alice", text); });
  };
  EXPECT_EQ(find("HI"), 1);
  EXPECT_EQ(find("50% off"), 1);
  EXPECT_EQ(find("50%"), 1);
  EXPECT_EQ(find("5_%"), 0) << "_ and % are not wildcards";
  EXPECT_EQ(find("plans for 50"), 1);
  EXPECT_EQ(find("nothing"), 0);
  const auto page = db_->read([&](Conn& c) { return sessions::search(c, "alice", "hi", 10, 0); });
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, mine);
  EXPECT_EQ(page[0].message_count, 1);
  EXPECT_EQ(db_->read([&](Conn& c) { return sessions::search_count(c, "bob", "plans"); }), 0);
}

TEST_F(Storage, ConfigNamesAreUniqueAsAConflict) {
  add_config("same");
  EXPECT_THROW(add_config("same"), Conflict);
}

TEST_F(Storage, ApiKeyNullAndSetRoundTrip) {
  const auto id = add_config("k");
  auto c = db_->read([&](Conn& conn) { return configs::find(conn, id); });
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->api_key.has_value());
  c->api_key = "secret";
  db_->write([&](Conn& conn) { configs::update(conn, *c); });
  EXPECT_EQ(db_->read([&](Conn& conn) { return configs::find(conn, id); })->api_key, "secret");
}

TEST_F(Storage, ASessionIsReadWithItsConfigObject) {
  const auto cfg = add_config("bound");
  const auto s = add_session(cfg);
  const auto session = db_->read([&](Conn& c) { return sessions::find(c, s); });
  ASSERT_TRUE(session && session->config);
  EXPECT_EQ(session->config->name, "bound");
  EXPECT_EQ(session->config->id, cfg);
}

TEST_F(Storage, ForeignKeysHoldAndDeletesCascade) {
  const auto cfg = add_config("used");
  const auto s = add_session(cfg);
  add_message(s);
  add_message(s);
  EXPECT_THROW(db_->write([&](Conn& c) { configs::remove(c, cfg); }), StorageError) << "a config in use stays";
  EXPECT_THROW(add_session(999), StorageError) << "a session needs a real config";
  db_->write([&](Conn& c) { sessions::remove(c, s); });
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM messages"), 0);
  db_->write([&](Conn& c) { configs::remove(c, cfg); });
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM llm_configs"), 0);
}

TEST_F(Storage, DeletingThePreferredConfigClearsThePreference) {
  const auto cfg = add_config("pref");
  db_->write([&](Conn& c) { preferences::set_default_config(c, "alice", cfg); });
  EXPECT_EQ(db_->read([&](Conn& c) { return preferences::default_config(c, "alice"); }), cfg);
  db_->write([&](Conn& c) { configs::remove(c, cfg); });
  EXPECT_FALSE(db_->read([&](Conn& c) { return preferences::default_config(c, "alice"); }).has_value());
}

TEST_F(Storage, TouchAlwaysMovesForward) {
  const auto s = add_session(add_config("c"));
  const auto before = db_->read([&](Conn& c) { return sessions::find(c, s); })->updated_at_ms;
  db_->write([&](Conn& c) { sessions::touch(c, s, before); });  // same millisecond
  EXPECT_GT(db_->read([&](Conn& c) { return sessions::find(c, s); })->updated_at_ms, before);
}

TEST_F(Storage, MessagesListOldestFirstAndFinishAndInterrupt) {
  const auto s = add_session(add_config("c"));
  const auto a = add_message(s);
  const auto b = add_message(s, MessageStatus::Streaming);
  const auto list = db_->read([&](Conn& c) { return messages::list(c, s); });
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, a);
  EXPECT_FALSE(list[0].config_id.has_value());
  EXPECT_EQ(db_->write([](Conn& c) { return messages::mark_interrupted(c); }), 1);
  auto m = *db_->read([&](Conn& c) { return messages::find(c, b); });
  EXPECT_EQ(m.status, MessageStatus::Interrupted);
  m.status = MessageStatus::Complete;
  m.content = "done";
  m.completion_tokens = 3;
  db_->write([&](Conn& c) { messages::finish(c, m); });
  const auto again = *db_->read([&](Conn& c) { return messages::find(c, b); });
  EXPECT_EQ(again.content, "done");
  EXPECT_EQ(again.completion_tokens, 3);
}

TEST_F(Storage, AWriteThatThrowsIsRolledBack) {
  EXPECT_THROW(db_->write([&](Conn& c) {
                 LlmConfig cfg;
                 cfg.name = "ghost";
                 cfg.provider = "mock";
                 configs::insert(c, cfg);
                 throw std::runtime_error("changed my mind");
               }),
               std::runtime_error);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM llm_configs"), 0);
}

TEST_F(Storage, EightThreadsOfWriteTransactionsNeverLockEachOutOrLoseARow) {
  const auto s = add_session(add_config("c"));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        try {
          // Read-then-write, as a chat turn does.
          db_->write([&](Conn& c) {
            const auto session = sessions::find(c, s);
            Message m;
            m.session_id = session->id;
            m.role = "user";
            m.content = "x";
            m.status = MessageStatus::Complete;
            m.llm_provider = "mock";
            m.llm_model_name = "m";
            messages::insert(c, m);
            sessions::touch(c, s, now_ms());
          });
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM messages"), 1600);
}

TEST_F(Storage, OnePlaceholderHelperServesBothDialects) {
  db_->read([](Conn& c) {
    const std::string host = "h";
    Conn sqlite(c.session(), Dialect::SQLite, host), postgres(c.session(), Dialect::PostgreSQL, host);
    EXPECT_EQ(sqlite.sql("SELECT a FROM t WHERE b = ? AND c = ?"), "SELECT a FROM t WHERE b = ? AND c = ?");
    EXPECT_EQ(postgres.sql("SELECT a FROM t WHERE b = ? AND c = ? AND d = '?'"),
              "SELECT a FROM t WHERE b = $1 AND c = $2 AND d = '?'");
  });
}

// Two hosts on one database: each handle writes as its own host.
TEST_F(Storage, CrashRecoveryMarksOnlyTheRepliesOfItsOwnHostAndOfDeadOnes) {
  const auto s = add_session(add_config("c"));
  auto a = open_as("host-a");
  auto b = open_as("host-b");
  const auto stream_on = [&](Database& host) {
    return host.write([&](Conn& c) {
      hosts::beat(c, now_ms(), true);
      Message m;
      m.session_id = s;
      m.role = "assistant";
      m.status = MessageStatus::Streaming;
      m.llm_provider = "mock";
      m.llm_model_name = "m";
      return messages::insert(c, m);
    });
  };
  const auto of_a = stream_on(*a), of_b = stream_on(*b);
  const auto status = [&](std::int64_t id) { return db_->read([&](Conn& c) { return messages::find(c, id)->status; }); };

  // A restarts: its own reply is interrupted, B's streams on.
  EXPECT_EQ(a->write([](Conn& c) { return messages::mark_interrupted_of_host(c); }), 1);
  EXPECT_EQ(status(of_a), MessageStatus::Interrupted);
  EXPECT_EQ(status(of_b), MessageStatus::Streaming);

  // B alive (its heartbeat fresh): nobody's sweep touches it; once silent past the lease, A's does.
  const auto again_a = stream_on(*a);
  EXPECT_EQ(a->write([](Conn& c) { return hosts::recover_dead(c, now_ms() - 10'000); }), 0);
  EXPECT_EQ(status(of_b), MessageStatus::Streaming);
  EXPECT_EQ(a->read([](Conn& c) { return hosts::count_alive(c, now_ms() - 10'000); }), 2);
  EXPECT_EQ(a->write([](Conn& c) { return hosts::recover_dead(c, now_ms() + 1); }), 1) << "B silent: its reply";
  EXPECT_EQ(status(of_b), MessageStatus::Interrupted);
  EXPECT_EQ(status(again_a), MessageStatus::Streaming) << "the sweeping host's own reply is left alone";
  EXPECT_EQ(a->read([](Conn& c) { return hosts::count_alive(c, 0); }), 1) << "B's row went";
}

TEST_F(Storage, ATurnLockIsHeldAcrossHostsUntilReleasedOrItsHolderDies) {
  const auto s = add_session(add_config("c"));
  auto a = open_as("host-a");
  auto b = open_as("host-b");
  const auto take = [&](Database& host, std::int64_t alive_since, std::int64_t taken_before = 0) {
    return host.write([&](Conn& c) {
      hosts::beat(c, now_ms());
      return turn_locks::take(c, s, now_ms(), alive_since, taken_before);
    });
  };
  const auto alive_since = now_ms() - 10'000;
  EXPECT_TRUE(take(*a, alive_since));
  EXPECT_FALSE(take(*b, alive_since)) << "held by A, alive";
  EXPECT_FALSE(take(*a, alive_since)) << "not re-entrant: a second turn of A waits too";
  a->write([&](Conn& c) { turn_locks::release(c, s); });
  EXPECT_TRUE(take(*b, alive_since));
  b->write([&](Conn& c) { turn_locks::release(c, s); });
  EXPECT_TRUE(take(*a, alive_since));
  EXPECT_TRUE(take(*b, now_ms() + 1)) << "A silent since: B takes the lock over";
  EXPECT_TRUE(take(*a, alive_since, now_ms() + 1)) << "a lock older than a turn may last is taken over";
  b->write([&](Conn& c) { turn_locks::release(c, s); });
  EXPECT_FALSE(take(*b, alive_since)) << "B's release does not free A's lock";
  db_->write([&](Conn& c) { sessions::remove(c, s); });
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM turn_locks"), 0) << "a deleted session takes its lock along";
}

TEST_F(Storage, ChangesToConfigsUsersKeysAndPreferencesMoveTheStoreVersion) {
  const auto version = [&] { return db_->read([](Conn& c) { return store::version(c); }); };
  auto last = version();
  const auto moved = [&] {
    const auto now = version();
    const bool did = now > last;
    last = now;
    return did;
  };
  const auto cfg = add_config("c");
  EXPECT_TRUE(moved()) << "config added";
  auto config = *db_->read([&](Conn& c) { return configs::find(c, cfg); });
  config.model_name = "other";
  db_->write([&](Conn& c) { configs::update(c, config); });
  EXPECT_TRUE(moved()) << "config changed";
  const auto user = db_->write([](Conn& c) { return users::insert(c, User{0, "u", "user", 0}); });
  EXPECT_TRUE(moved()) << "user added";
  ApiKey key;
  key.user_id = user;
  key.prefix = "sbk_x";
  key.hash = "h";
  const auto key_id = db_->write([&](Conn& c) { return api_keys::insert(c, key); });
  EXPECT_TRUE(moved()) << "key added";
  db_->write([&](Conn& c) { api_keys::touch(c, key_id, now_ms()); });
  EXPECT_FALSE(moved()) << "a key's last use is no change to its rights";
  db_->write([&](Conn& c) { api_keys::revoke(c, key_id, now_ms()); });
  EXPECT_TRUE(moved()) << "key revoked";
  db_->write([&](Conn& c) { preferences::set_default_config(c, "u", cfg); });
  EXPECT_TRUE(moved()) << "preference set";
  add_session(cfg);
  EXPECT_FALSE(moved()) << "sessions are not cached";
  db_->write([&](Conn& c) { users::remove(c, user); });
  EXPECT_TRUE(moved()) << "user removed";
}

TEST_F(Storage, APoolOfOneConnectionServesNestedScopesWithoutDeadlock) {
  db_.reset();
  DatabaseOptions options;
  options.pool_size = 1;
  db_ = Database::open(path_, options);
  const auto cfg = add_config("c");
  // A read inside a write: the only pooled connection is lent out, so the
  // inner scope waits its second, then gets a connection of its own.
  const auto found = db_->write([&](Conn&) { return db_->read([&](Conn& c) { return configs::find(c, cfg); }); });
  EXPECT_TRUE(found.has_value());
}

TEST(StorageUri, APasswordNeverReachesALogLine) {
  EXPECT_EQ(Database::redacted("postgresql://sb:s3cret@db.example:5432/switchboard?sslmode=require&password=x"),
            "postgresql://sb:***@db.example:5432/switchboard");
  EXPECT_EQ(Database::redacted("postgres://sb@db/switchboard"), "postgres://sb@db/switchboard");
  EXPECT_EQ(Database::redacted("data/switchboard.db"), "data/switchboard.db");
  EXPECT_TRUE(Database::is_postgresql("postgresql://h/d"));
  EXPECT_TRUE(Database::is_postgresql("postgres://h/d"));
  EXPECT_FALSE(Database::is_postgresql("postgresql.db"));
}

}  // namespace
}  // namespace switchboard::storage
