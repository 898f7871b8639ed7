// File: tests/unit/storage/database_test.cpp
//
// Storage on real SQLite files: migrations (idempotent, refusing a newer
// schema untouched), the repositories' rules (unique names, foreign keys,
// cascades, SET NULL), and concurrent write transactions without "database
// is locked".
#include "storage/conn.h"
#include "storage/database.h"
#include "storage/repositories.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace switchboard::storage {
namespace {

namespace fs = std::filesystem;

class Storage : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("sb_storage_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
    path_ = (dir_ / "test.db").string();
    db_ = Database::open_sqlite(path_);
  }
  void TearDown() override {
    db_.reset();
    fs::remove_all(dir_);
  }

  // Raw SQL through the sqlite3 C API, to see the file as another program would.
  std::int64_t raw_int(const std::string& sql) {
    sqlite3* handle = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &handle), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(handle, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(handle);
    std::int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(handle);
    return v;
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

  fs::path dir_;
  std::string path_;
  std::unique_ptr<Database> db_;
};

TEST_F(Storage, MigrationsCreateTheSchemaOnceAndAreIdempotent) {
  EXPECT_EQ(db_->schema_version(), Database::latest_schema_version());
  add_config("kept");
  db_.reset();
  db_ = Database::open_sqlite(path_);
  db_.reset();
  db_ = Database::open_sqlite(path_);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM schema_version"), Database::latest_schema_version());
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM llm_configs"), 1);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                    "('llm_configs', 'sessions', 'messages', 'preferences', 'schema_version')"), 5);
}

TEST_F(Storage, UsesWriteAheadLogging) {
  db_->read([](Conn&) {});
  EXPECT_TRUE(fs::exists(path_ + "-wal") || raw_int("SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);
}

TEST_F(Storage, ADatabaseNewerThanTheBinaryIsRefusedAndLeftUntouched) {
  db_.reset();
  const int newer = Database::latest_schema_version() + 1;
  {
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &handle), SQLITE_OK);
    const std::string sql = "INSERT INTO schema_version (version, applied_at) VALUES (" + std::to_string(newer) + ", 0)";
    ASSERT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(handle);
  }
  try {
    Database::open_sqlite(path_);
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
  // The file as version 2 left it: no reply_to, no superseded, turns interleaved across sessions.
  {
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &handle), SQLITE_OK);
    for (const char* sql : {"DROP INDEX messages_reply_to", "ALTER TABLE messages DROP COLUMN reply_to",
                            "ALTER TABLE messages DROP COLUMN superseded", "ALTER TABLE sessions DROP COLUMN system_prompt",
                            "ALTER TABLE sessions DROP COLUMN temperature",
                            "DELETE FROM schema_version WHERE version >= 3"})
      ASSERT_EQ(sqlite3_exec(handle, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql << ": " << sqlite3_errmsg(handle);
    const std::string insert =
        "INSERT INTO messages (session_id, role, content, status, llm_provider, llm_model_name, created_at) VALUES ";
    for (const auto& [session, role] : std::vector<std::pair<std::int64_t, std::string>>{
             {a, "user"}, {b, "user"}, {a, "assistant"}, {b, "assistant"}, {a, "user"}, {a, "assistant"}}) {
      const std::string sql = insert + "(" + std::to_string(session) + ", '" + role + "', 'x', 'complete', 'mock', 'm', 0)";
      ASSERT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(handle);
    }
    sqlite3_close(handle);
  }
  db_ = Database::open_sqlite(path_);
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
    EXPECT_EQ(c.sql("SELECT a FROM t WHERE b = ? AND c = ?"), "SELECT a FROM t WHERE b = ? AND c = ?");
    Conn postgres(c.session(), Dialect::PostgreSQL);
    EXPECT_EQ(postgres.sql("SELECT a FROM t WHERE b = ? AND c = ? AND d = '?'"),
              "SELECT a FROM t WHERE b = $1 AND c = $2 AND d = '?'");
  });
}

}  // namespace
}  // namespace switchboard::storage
