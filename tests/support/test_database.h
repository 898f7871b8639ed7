// File: tests/support/test_database.h
//
// Where a test keeps its data. By default an SQLite file in the test's
// directory; when the suite runs a second time against PostgreSQL (CTest sets
// SWITCHBOARD_TEST_POSTGRES to the file holding the test server's URL, see
// tests/support/postgres.sh), a fresh database of the test's own on that
// server, dropped with this object. No mock database either way.
#pragma once

#include <string>

namespace switchboard::testing {

class TestDatabase {
 public:
  // `sqlite_path`: the file used when the suite runs on SQLite.
  explicit TestDatabase(std::string sqlite_path);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // An SQLite file path or a postgresql:// URI, for Database::open or --db.
  const std::string& where() const { return where_; }
  bool postgresql() const { return !name_.empty(); }
  // Everything the database holds at rest, to search for what must not be
  // there: the SQLite file with its WAL, byte for byte; on PostgreSQL every
  // row of every table as text.
  std::string dump() const;

  // True when this run of the suite is the PostgreSQL one.
  static bool on_postgresql();
  // A fresh, empty database on the test server (dropped by the caller with drop()).
  static std::string create_postgresql(std::string& name_out);
  static void drop_postgresql(const std::string& name);

 private:
  std::string where_;
  std::string name_;  // the PostgreSQL database's name; empty on SQLite
};

}  // namespace switchboard::testing
