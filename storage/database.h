// File: storage/database.h
//
// A database handle: a pool of connections, schema migrations at open, and
// read/write scopes. Two backends run the same migrations and repositories:
// - an SQLite file (the default; WAL mode, foreign keys on): one host;
// - PostgreSQL (`postgresql://user:password@host:port/dbname`, libpq's URI;
//   the password may come from PGPASSWORD or ~/.pgpass): several hosts.
// Writes are serialized the same way on both: SQLite's BEGIN IMMEDIATE, and on
// PostgreSQL a transaction-scoped advisory lock taken first, so concurrent
// read-then-write transactions wait for each other instead of failing, on one
// host or many.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace switchboard::storage {

class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A uniqueness violation: the caller may answer it as a conflict.
class Conflict : public StorageError {
 public:
  using StorageError::StorageError;
};

// One connection, lent to a read or write scope. Opaque outside storage/.
class Conn;

std::int64_t now_ms();

struct DatabaseOptions {
  // Connections kept open. A scope finding none free waits up to a second
  // for one, then opens one more that is closed after use (a nested scope
  // never deadlocks on the pool).
  int pool_size = 16;
  // Who writes: this host's id, recorded on the replies it streams so that
  // crash recovery on a shared database touches only a dead host's.
  std::string host_id = "local";
};

class Database {
 public:
  // Opens `where` — an SQLite file path (created when missing) or a
  // postgresql:// URI — and migrates it. Throws StorageError, e.g. for a
  // schema newer than this binary knows or a server that cannot be reached.
  static std::unique_ptr<Database> open(const std::string& where, const DatabaseOptions& options = {});
  static std::unique_ptr<Database> open_sqlite(const std::string& path) { return open(path); }
  // True for a postgresql:// or postgres:// URI.
  static bool is_postgresql(const std::string& where);
  // `where` fit for a log line: a URI's password (and its query) left out.
  static std::string redacted(const std::string& where);
  // A postgresql:// URI as libpq's key=value pairs (what Poco's connector
  // takes); throws StorageError for a malformed URI.
  static std::string postgresql_conninfo(const std::string& uri);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  int schema_version() const;
  static int latest_schema_version();
  // PostgreSQL: several hosts may share this database.
  bool shared() const;
  const std::string& host_id() const;
  // Where the database is, fit for a log line.
  std::string describe() const;

  // Runs f(Conn&) on a pooled connection and returns what it returns.
  template <typename F>
  auto read(F&& f) {
    return scoped(Scope::Read, std::forward<F>(f));
  }
  // Runs f(Conn&) in a write transaction: committed when f returns, rolled
  // back when it throws (and the exception goes on). One writer at a time,
  // across hosts too.
  template <typename F>
  auto write(F&& f) {
    return scoped(Scope::Write, std::forward<F>(f));
  }
  // The same, for writes of rows no other writer touches meanwhile (a turn's
  // messages, under its session's turn lock; this host's own row): on
  // PostgreSQL they skip the one-writer lock and commit side by side (the
  // server groups their flushes). On SQLite the same as write().
  template <typename F>
  auto write_own(F&& f) {
    return scoped(Scope::WriteOwn, std::forward<F>(f));
  }

 private:
  struct Impl;
  enum class Scope { Read, Write, WriteOwn };
  explicit Database(std::unique_ptr<Impl> impl);
  void run(Scope scope, const std::function<void(Conn&)>& body);

  template <typename F>
  auto scoped(Scope scope, F&& f) {
    using R = std::invoke_result_t<F&, Conn&>;
    if constexpr (std::is_void_v<R>) {
      run(scope, [&](Conn& c) { f(c); });
    } else {
      std::optional<R> out;
      run(scope, [&](Conn& c) { out.emplace(f(c)); });
      return std::move(*out);
    }
  }

  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::storage
