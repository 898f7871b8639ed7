// File: storage/database.h
//
// A database handle: a pool of connections (SQLite in WAL mode with foreign
// keys on), schema migrations at open, and read/write scopes. Writes run in
// BEGIN IMMEDIATE transactions so concurrent read-then-write transactions
// wait for each other instead of failing with "database is locked".
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

class Database {
 public:
  // Opens (creating when missing) an SQLite file and migrates it. Throws
  // StorageError, e.g. for a schema newer than this binary knows.
  static std::unique_ptr<Database> open_sqlite(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  int schema_version() const;
  static int latest_schema_version();

  // Runs f(Conn&) on a pooled connection and returns what it returns.
  template <typename F>
  auto read(F&& f) {
    return scoped(false, std::forward<F>(f));
  }
  // Runs f(Conn&) in a write transaction: committed when f returns, rolled
  // back when it throws (and the exception goes on).
  template <typename F>
  auto write(F&& f) {
    return scoped(true, std::forward<F>(f));
  }

 private:
  struct Impl;
  explicit Database(std::unique_ptr<Impl> impl);
  void run(bool write, const std::function<void(Conn&)>& body);

  template <typename F>
  auto scoped(bool write, F&& f) {
    using R = std::invoke_result_t<F&, Conn&>;
    if constexpr (std::is_void_v<R>) {
      run(write, [&](Conn& c) { f(c); });
    } else {
      std::optional<R> out;
      run(write, [&](Conn& c) { out.emplace(f(c)); });
      return std::move(*out);
    }
  }

  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::storage
