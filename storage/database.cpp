// File: storage/database.cpp
//
// Connection pool, pragmas, transactions and numbered migrations.
#include "storage/database.h"

#include "storage/conn.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <vector>

namespace switchboard::storage {

using namespace Poco::Data::Keywords;

namespace {

// Each step is one schema version; append only. Applied in order, each in its
// own transaction, and recorded in schema_version.
const std::vector<std::vector<const char*>> kMigrations = {
    // 1: the first schema.
    {
        "CREATE TABLE llm_configs ("
        " id INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " provider TEXT NOT NULL,"
        " model_name TEXT NOT NULL DEFAULT '',"
        " base_url TEXT NOT NULL DEFAULT '',"
        " api_key TEXT NULL,"
        " options_json TEXT NOT NULL DEFAULT '{}',"
        " created_at BIGINT NOT NULL,"
        " updated_at BIGINT NOT NULL)",
        "CREATE TABLE sessions ("
        " id INTEGER PRIMARY KEY,"
        " title TEXT NOT NULL,"
        " config_id BIGINT NOT NULL REFERENCES llm_configs(id),"
        " owner TEXT NOT NULL,"
        " created_at BIGINT NOT NULL,"
        " updated_at BIGINT NOT NULL)",
        "CREATE INDEX sessions_owner_updated ON sessions(owner, updated_at)",
        "CREATE INDEX sessions_config ON sessions(config_id)",
        "CREATE TABLE messages ("
        " id INTEGER PRIMARY KEY,"
        " session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
        " role TEXT NOT NULL,"
        " content TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " llm_provider TEXT NOT NULL,"
        " llm_model_name TEXT NOT NULL,"
        " config_id BIGINT NULL REFERENCES llm_configs(id) ON DELETE SET NULL,"
        " prompt_tokens BIGINT NOT NULL DEFAULT 0,"
        " completion_tokens BIGINT NOT NULL DEFAULT 0,"
        " finish_reason TEXT NOT NULL DEFAULT '',"
        " error_code TEXT NOT NULL DEFAULT '',"
        " error_message TEXT NOT NULL DEFAULT '',"
        " created_at BIGINT NOT NULL)",
        "CREATE INDEX messages_session ON messages(session_id, id)",
        "CREATE INDEX messages_status ON messages(status)",
        "CREATE TABLE preferences ("
        " owner TEXT PRIMARY KEY,"
        " default_config_id BIGINT NULL REFERENCES llm_configs(id) ON DELETE SET NULL)",
    },
    // 2: identity and secrets. Users and their API keys (stored as hashes),
    // the audit trail, configs private to a user, and secret option fields
    // kept apart from the readable options, bound to the origin they were
    // entered for. Plain-text keys of version 1 are sealed by the host at start.
    {
        "CREATE TABLE users ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " name TEXT NOT NULL UNIQUE,"
        " role TEXT NOT NULL,"
        " created_at BIGINT NOT NULL)",
        "CREATE TABLE api_keys ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        " name TEXT NOT NULL DEFAULT '',"
        " prefix TEXT NOT NULL,"
        " hash TEXT NOT NULL UNIQUE,"
        " created_at BIGINT NOT NULL,"
        " expires_at BIGINT NULL,"
        " last_used_at BIGINT NULL,"
        " revoked_at BIGINT NULL)",
        "CREATE INDEX api_keys_prefix ON api_keys(prefix)",
        "CREATE INDEX api_keys_user ON api_keys(user_id)",
        "CREATE TABLE audit_log ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " at BIGINT NOT NULL,"
        " actor_user_id BIGINT NULL,"
        " actor_name TEXT NOT NULL,"
        " action TEXT NOT NULL,"
        " target TEXT NOT NULL,"
        " detail TEXT NOT NULL DEFAULT '')",
        "ALTER TABLE llm_configs ADD COLUMN owner_user_id BIGINT NULL REFERENCES users(id) ON DELETE CASCADE",
        "ALTER TABLE llm_configs ADD COLUMN secret_options TEXT NULL",
        "ALTER TABLE llm_configs ADD COLUMN secret_origin TEXT NOT NULL DEFAULT ''",
    },
    // 3: replies kept side by side. reply_to names the user message an
    // assistant reply answers (several replies after a regenerate); a
    // superseded reply stays readable but leaves the conversation the model
    // sees. Replies stored before this version answer the user message
    // before them.
    {
        "ALTER TABLE messages ADD COLUMN reply_to BIGINT NULL",
        "ALTER TABLE messages ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0",
        "UPDATE messages SET reply_to = (SELECT MAX(u.id) FROM messages u WHERE u.session_id = messages.session_id"
        " AND u.role = 'user' AND u.id < messages.id) WHERE role = 'assistant'",
        "CREATE INDEX messages_reply_to ON messages(reply_to)",
    },
    // 4: a session's system prompt, sent first in every turn's history.
    {
        "ALTER TABLE sessions ADD COLUMN system_prompt TEXT NOT NULL DEFAULT ''",
    },
    // 5: a session's temperature, for turns that give none (NULL: 0.7).
    {
        "ALTER TABLE sessions ADD COLUMN temperature DOUBLE PRECISION NULL",
    },
};

void register_sqlite_once() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Data::SQLite::Connector::registerConnector(); });
}

void exec(Poco::Data::Session& s, const std::string& sql) { s << sql, now; }

// The database holds conversations and sealed keys: only its owner may read
// it. The file is created 0600 before SQLite opens it (SQLite gives its -wal
// and -shm files the mode of the database), and an older, wider file is narrowed.
void restrict_file_mode(const std::string& path) {
  if (path.empty() || path == ":memory:") return;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;  // SQLite reports the real problem when it opens the file
  ::fchmod(fd, 0600);
  ::close(fd);
  for (const char* suffix : {"-wal", "-shm"}) ::chmod((path + suffix).c_str(), 0600);
}

}  // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Conn::sql(std::string_view text) const {
  if (dialect_ == Dialect::SQLite) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  int n = 0;
  bool quoted = false;
  for (char ch : text) {
    if (ch == '\'') quoted = !quoted;
    if (ch == '?' && !quoted) {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += ch;
    }
  }
  return out;
}

struct Database::Impl {
  std::string path;
  std::mutex mutex;
  // SQLite admits one writer at a time. Queuing our own writers on a mutex
  // replaces SQLite's busy handler (sleeps of up to 100 ms between retries)
  // with a direct hand-over, which keeps tail latency low under load. Other
  // processes on the same file still meet the busy timeout.
  std::mutex write_mutex;
  std::vector<std::unique_ptr<Poco::Data::Session>> idle;

  std::unique_ptr<Poco::Data::Session> open() {
    auto s = std::make_unique<Poco::Data::Session>("SQLite", path);
    // Per connection: foreign keys are off by default in SQLite; WAL lets
    // readers run beside the writer; NORMAL sync is durable across crashes of
    // the process (not of the machine) and avoids an fsync per commit.
    exec(*s, "PRAGMA foreign_keys = ON");
    exec(*s, "PRAGMA journal_mode = WAL");
    exec(*s, "PRAGMA synchronous = NORMAL");
    exec(*s, "PRAGMA busy_timeout = 10000");
    // Overwritten and deleted content (a key before it was sealed, a revoked
    // key's row) is zeroed on disk rather than left in free pages.
    exec(*s, "PRAGMA secure_delete = ON");
    return s;
  }

  std::unique_ptr<Poco::Data::Session> acquire() {
    {
      std::lock_guard guard(mutex);
      if (!idle.empty()) {
        auto s = std::move(idle.back());
        idle.pop_back();
        return s;
      }
    }
    return open();
  }

  void release(std::unique_ptr<Poco::Data::Session> s) {
    std::lock_guard guard(mutex);
    if (idle.size() < 64) idle.push_back(std::move(s));
  }
};

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::~Database() = default;

int Database::latest_schema_version() { return static_cast<int>(kMigrations.size()); }

std::unique_ptr<Database> Database::open_sqlite(const std::string& path) {
  register_sqlite_once();
  restrict_file_mode(path);
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  std::unique_ptr<Database> db(new Database(std::move(impl)));
  try {
    auto s = db->impl_->open();
    exec(*s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at BIGINT NOT NULL)");
    int version = 0;
    *s << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(version), now;
    if (version > latest_schema_version())
      throw StorageError("database " + path + " has schema version " + std::to_string(version) +
                         ", newer than this binary supports (" + std::to_string(latest_schema_version()) +
                         "); upgrade switchboard");
    for (int v = version; v < latest_schema_version(); ++v) {
      exec(*s, "BEGIN IMMEDIATE");
      try {
        // Another process may have migrated since we looked.
        int current = 0;
        *s << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(current), now;
        if (current <= v) {
          for (const char* step : kMigrations[static_cast<std::size_t>(v)]) exec(*s, step);
          int next = v + 1;
          std::int64_t at = now_ms();
          *s << "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", use(next), use(at), now;
        }
        exec(*s, "COMMIT");
      } catch (...) {
        exec(*s, "ROLLBACK");
        throw;
      }
    }
    db->impl_->release(std::move(s));
  } catch (const StorageError&) {
    throw;
  } catch (const Poco::Exception& e) {
    throw StorageError("cannot open database " + path + ": " + e.displayText());
  }
  return db;
}

int Database::schema_version() const {
  auto s = impl_->acquire();
  int version = 0;
  *s << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(version), now;
  impl_->release(std::move(s));
  return version;
}

void Database::run(bool write, const std::function<void(Conn&)>& body) {
  std::unique_lock<std::mutex> writer(impl_->write_mutex, std::defer_lock);
  if (write) writer.lock();
  auto s = impl_->acquire();
  Conn conn(*s, Dialect::SQLite);
  try {
    if (write) exec(*s, "BEGIN IMMEDIATE");
    try {
      body(conn);
      if (write) exec(*s, "COMMIT");
    } catch (...) {
      if (write) {
        try {
          exec(*s, "ROLLBACK");
        } catch (...) {
          s.reset();  // a connection in an unknown state is not reused
        }
      }
      throw;
    }
  } catch (const Poco::Data::SQLite::ConstraintViolationException& e) {
    if (s) impl_->release(std::move(s));
    const std::string text = e.displayText();
    if (text.find("UNIQUE") != std::string::npos) throw Conflict(text);
    throw StorageError(text);
  } catch (const Poco::Exception& e) {
    if (s) impl_->release(std::move(s));
    throw StorageError(e.displayText());
  } catch (...) {
    if (s) impl_->release(std::move(s));
    throw;
  }
  impl_->release(std::move(s));
}

}  // namespace switchboard::storage
