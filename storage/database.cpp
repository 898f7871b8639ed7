// File: storage/database.cpp
//
// Connection pool, pragmas, transactions and numbered migrations.
#include "storage/database.h"

#include "storage/conn.h"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include <fcntl.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::storage {

using namespace Poco::Data::Keywords;

namespace {

// 6: several hosts on one database. Each host has a row and a heartbeat (a
// lease); a reply records the host streaming it, so crash recovery marks only
// a dead host's; a turn holds its session's row in turn_locks across hosts;
// store_version counts changes of configs, users and keys, which hosts poll
// to drop their caches; master_key_check tells a host its master key is not
// the one the database's secrets are sealed under.
const std::vector<const char*> kSeveralHosts = {
    "CREATE TABLE hosts ("
    " id TEXT PRIMARY KEY,"
    " started_at BIGINT NOT NULL,"
    " heartbeat_at BIGINT NOT NULL)",
    "ALTER TABLE messages ADD COLUMN host_id TEXT NULL",
    "CREATE TABLE turn_locks ("
    " session_id BIGINT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,"
    " host_id TEXT NOT NULL,"
    " taken_at BIGINT NOT NULL)",
    "CREATE TABLE store_version (id INTEGER PRIMARY KEY, version BIGINT NOT NULL)",
    "INSERT INTO store_version (id, version) VALUES (1, 0)",
    // A known text sealed under the master key of the first host: a host
    // with another key is told at start, not by a provider's 401 later.
    "CREATE TABLE master_key_check (id INTEGER PRIMARY KEY, sealed TEXT NOT NULL)",
};

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
    kSeveralHosts,
};

// The one place the two dialects' DDL differ: SQLite's integer keys become
// PostgreSQL identity columns (which also take explicit ids, as a move does).
std::string ddl_for(Dialect dialect, std::string step) {
  if (dialect == Dialect::SQLite) return step;
  static const std::pair<std::string_view, std::string_view> kKeys[] = {
      {"INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
      {"id INTEGER PRIMARY KEY,", "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"},
  };
  for (const auto& [from, to] : kKeys)
    for (auto at = step.find(from); at != std::string::npos; at = step.find(from, at + to.size()))
      step.replace(at, from.size(), to);
  return step;
}

// The advisory lock every PostgreSQL write transaction takes first (any
// constant; "SWBD").
constexpr const char* kWriteLock = "SELECT pg_advisory_xact_lock(1398227524)";

void register_connectors_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::PostgreSQL::Connector::registerConnector();
  });
}

void exec(Poco::Data::Session& s, const std::string& sql) { s << sql, now; }

// BEGIN, COMMIT and ROLLBACK on SQLite, straight to the library: through a
// Poco statement each is parsed anew (Poco prepares SQLite statements at every
// execution), which was a tenth of a turn.
void control(Poco::Data::Session& s, const char* sql) {
  sqlite3* db = Poco::Data::SQLite::Utility::dbHandle(s);
  if (const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr); rc != SQLITE_OK)
    Poco::Data::SQLite::Utility::throwException(db, rc, sql);
}

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

bool Database::is_postgresql(const std::string& where) {
  return where.rfind("postgresql://", 0) == 0 || where.rfind("postgres://", 0) == 0;
}

std::string Database::redacted(const std::string& where) {
  if (!is_postgresql(where)) return where;
  std::string out = where.substr(0, where.find('?'));
  const auto scheme_end = out.find("://") + 3;
  const auto at = out.find('@', scheme_end);
  if (at == std::string::npos) return out;
  const auto colon = out.find(':', scheme_end);
  if (colon != std::string::npos && colon < at) out.replace(colon, at - colon, ":***");
  return out;
}

std::string Database::postgresql_conninfo(const std::string& uri) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
  if (options == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    throw StorageError("cannot read the PostgreSQL URI " + redacted(uri) + ": " + why);
  }
  // Poco's connector splits its connection string at spaces and knows no
  // quoting: a value holding a space, quote or backslash cannot pass.
  std::string out, refused;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    const std::string_view value(o->val);
    if (value.find_first_of(" \t\n\r'\\") != std::string_view::npos) {
      refused = o->keyword;
      break;
    }
    out += std::string(out.empty() ? "" : " ") + o->keyword + "=" + o->val;
  }
  PQconninfoFree(options);
  if (!refused.empty())
    throw StorageError("the " + refused + " of the PostgreSQL URI " + redacted(uri) +
                       " holds a space, quote or backslash, which the connector cannot pass on" +
                       (refused == "password" ? "; give the password in PGPASSWORD or ~/.pgpass instead" : ""));
  return out;
}

Poco::Data::Statement& Conn::prepared(const char* text, std::vector<Param> params) {
  BoundStatement* entry = nullptr;
  if (cache_ != nullptr) {
    auto [it, made] = cache_->try_emplace(text);
    entry = &it->second;
    if (!made) {
      if (entry->values.size() != params.size()) throw StorageError(std::string("parameters changed for: ") + text);
      for (std::size_t i = 0; i < params.size(); ++i) {
        if (entry->values[i].index() != params[i].index())
          throw StorageError(std::string("parameter types changed for: ") + text);
        entry->values[i] = std::move(params[i]);  // the same alternative: assigned in place
      }
      return *entry->statement;
    }
  } else {
    entry = &scratch_.emplace_front();
  }
  entry->values = std::move(params);
  entry->statement = std::make_unique<Poco::Data::Statement>(session_);
  Poco::Data::Statement& st = *entry->statement;
  st << sql(text);
  for (auto& value : entry->values) std::visit([&](auto& v) { st, use(v); }, value);
  return st;
}

// A pooled connection and the statements it keeps (destroyed first).
struct Connection {
  std::unique_ptr<Poco::Data::Session> session;
  StatementCache statements;
  Poco::Data::Session& operator*() { return *session; }
};

struct Database::Impl {
  std::string where;     // a file path or a postgresql:// URI
  std::string conninfo;  // PostgreSQL: the URI as key=value pairs
  Dialect dialect = Dialect::SQLite;
  DatabaseOptions options;
  // Connections: `idle` ones wait here; `open_count` counts those lent out too.
  std::mutex mutex;
  std::condition_variable freed;
  std::vector<std::unique_ptr<Connection>> idle;
  int open_count = 0;
  // One writer at a time. On SQLite, queuing our own writers on a mutex
  // replaces SQLite's busy handler (sleeps of up to 100 ms between retries)
  // with a direct hand-over, which keeps tail latency low under load; other
  // processes on the same file still meet the busy timeout. On PostgreSQL the
  // advisory lock does the same across hosts, and this mutex keeps one host's
  // writers from each holding a connection while they queue for it.
  std::mutex write_mutex;

  std::unique_ptr<Connection> connect() const {
    auto c = std::make_unique<Connection>();
    if (dialect == Dialect::PostgreSQL) {
      c->session = std::make_unique<Poco::Data::Session>("PostgreSQL", conninfo);
      return c;
    }
    c->session = std::make_unique<Poco::Data::Session>("SQLite", where);
    Poco::Data::Session* s = c->session.get();
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
    return c;
  }

  std::unique_ptr<Connection> acquire() {
    {
      std::unique_lock guard(mutex);
      const auto has_room = [&] { return !idle.empty() || open_count < options.pool_size; };
      freed.wait_for(guard, std::chrono::seconds(1), has_room);
      if (!idle.empty()) {
        auto s = std::move(idle.back());
        idle.pop_back();
        return s;
      }
      ++open_count;  // within the pool, or the one extra of a long wait
    }
    try {
      return connect();
    } catch (...) {
      std::lock_guard guard(mutex);
      --open_count;
      freed.notify_one();
      throw;
    }
  }

  // A connection back to the pool; nullptr when it was dropped (an unknown state).
  void release(std::unique_ptr<Connection> s) {
    std::lock_guard guard(mutex);
    if (s && open_count <= options.pool_size) {
      idle.push_back(std::move(s));
    } else {
      --open_count;
    }
    freed.notify_one();
  }

  void begin(Poco::Data::Session& s) const {
    if (dialect == Dialect::SQLite) {
      control(s, "BEGIN IMMEDIATE");
    } else {
      exec(s, "BEGIN");
      exec(s, kWriteLock);
    }
  }
  // COMMIT or ROLLBACK.
  void end(Poco::Data::Session& s, const char* sql) const {
    if (dialect == Dialect::SQLite) {
      control(s, sql);
    } else {
      exec(s, sql);
    }
  }
};

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::~Database() = default;

int Database::latest_schema_version() { return static_cast<int>(kMigrations.size()); }
bool Database::shared() const { return impl_->dialect == Dialect::PostgreSQL; }
const std::string& Database::host_id() const { return impl_->options.host_id; }
std::string Database::describe() const {
  return (shared() ? "PostgreSQL database " : "SQLite database ") + redacted(impl_->where);
}

std::unique_ptr<Database> Database::open(const std::string& where, const DatabaseOptions& options) {
  register_connectors_once();
  auto impl = std::make_unique<Impl>();
  impl->where = where;
  impl->dialect = is_postgresql(where) ? Dialect::PostgreSQL : Dialect::SQLite;
  impl->options = options;
  if (impl->dialect == Dialect::PostgreSQL) impl->conninfo = postgresql_conninfo(where);
  if (impl->options.pool_size < 1) throw StorageError("the database pool needs at least 1 connection");
  if (impl->dialect == Dialect::SQLite) restrict_file_mode(where);
  std::unique_ptr<Database> db(new Database(std::move(impl)));
  Impl& d = *db->impl_;
  try {
    auto held = d.acquire();
    Poco::Data::Session* s = held->session.get();
    // Under the write lock: hosts starting together on an empty database
    // would otherwise race to create it. Asked first: PostgreSQL answers IF
    // NOT EXISTS on an existing table with a notice on stderr.
    d.begin(*s);
    int has_versions = 0;
    *s << (d.dialect == Dialect::SQLite
               ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
               : "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                 "AND table_name = 'schema_version'"),
        into(has_versions), now;
    if (has_versions == 0)
      exec(*s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at BIGINT NOT NULL)");
    d.end(*s, "COMMIT");
    int version = 0;
    *s << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(version), now;
    if (version > latest_schema_version())
      throw StorageError("database " + redacted(where) + " has schema version " + std::to_string(version) +
                         ", newer than this binary supports (" + std::to_string(latest_schema_version()) +
                         "); upgrade switchboard");
    for (int v = version; v < latest_schema_version(); ++v) {
      d.begin(*s);
      try {
        // Another process may have migrated since we looked.
        int current = 0;
        *s << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(current), now;
        if (current <= v) {
          for (const char* step : kMigrations[static_cast<std::size_t>(v)]) exec(*s, ddl_for(d.dialect, step));
          int next = v + 1;
          std::int64_t at = now_ms();
          Conn conn(*s, d.dialect, d.options.host_id);
          *s << conn.sql("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)"), use(next), use(at), now;
        }
        exec(*s, "COMMIT");
      } catch (...) {
        exec(*s, "ROLLBACK");
        throw;
      }
    }
    d.release(std::move(held));
    // A PostgreSQL connection costs the server a process and a few
    // milliseconds: the pool is filled now, not by the first burst of turns.
    if (d.dialect == Dialect::PostgreSQL) {
      std::vector<std::unique_ptr<Connection>> warm;
      for (int i = 1; i < d.options.pool_size; ++i) warm.push_back(d.acquire());
      for (auto& c : warm) d.release(std::move(c));
    }
  } catch (const StorageError&) {
    throw;
  } catch (const Poco::Exception& e) {
    throw StorageError("cannot open " + db->describe() + ": " + e.displayText());
  }
  return db;
}

int Database::schema_version() const {
  return const_cast<Database*>(this)->read([](Conn& c) {
    int version = 0;
    c.session() << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(version), now;
    return version;
  });
}

namespace {

// A uniqueness violation, in either dialect's words.
bool is_unique_violation(const std::string& text) {
  return text.find("UNIQUE constraint") != std::string::npos || text.find("duplicate key value") != std::string::npos;
}

}  // namespace

void Database::run(Scope scope, const std::function<void(Conn&)>& body) {
  Impl& d = *impl_;
  const bool write = scope != Scope::Read;
  // One writer at a time: every write on SQLite; on PostgreSQL, all but write_own().
  const bool one_writer = scope == Scope::Write || (write && d.dialect == Dialect::SQLite);
  std::unique_lock<std::mutex> writer(d.write_mutex, std::defer_lock);
  if (one_writer) writer.lock();
  auto s = d.acquire();
  Conn conn(**s, d.dialect, d.options.host_id, d.dialect == Dialect::PostgreSQL ? &s->statements : nullptr);
  try {
    if (one_writer) {
      d.begin(**s);
    } else if (write) {
      exec(**s, "BEGIN");
    }
    try {
      body(conn);
      if (write) d.end(**s, "COMMIT");
    } catch (...) {
      if (write) {
        try {
          d.end(**s, "ROLLBACK");
        } catch (...) {
          s.reset();  // a connection in an unknown state is not reused
        }
      }
      throw;
    }
  } catch (const Poco::Exception& e) {
    // A PostgreSQL connection that failed outside a transaction may be broken
    // (a restarted server): it is not reused. Kept statements of a failed
    // scope are made anew.
    if (s && !write && d.dialect == Dialect::PostgreSQL) s.reset();
    if (s) s->statements.clear();
    d.release(std::move(s));
    const std::string text = e.displayText();
    if (is_unique_violation(text)) throw Conflict(text);
    throw StorageError(text);
  } catch (...) {
    if (s) s->statements.clear();
    d.release(std::move(s));
    throw;
  }
  d.release(std::move(s));
}

}  // namespace switchboard::storage
