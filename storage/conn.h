// File: storage/conn.h
//
// What a Conn is inside storage/: a Poco Data session and the SQL dialect.
// Private to storage/*.cpp; nothing outside includes Poco Data.
#pragma once

#include "storage/database.h"

#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <forward_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace switchboard::storage {

enum class Dialect { SQLite, PostgreSQL };

// A parameter of a prepared statement.
using Param = std::variant<Poco::Int64, std::string, Poco::Nullable<Poco::Int64>, Poco::Nullable<std::string>,
                           Poco::Nullable<double>>;

// A statement with the values it is bound to (by reference: `values` is
// sized once and its elements are assigned in place).
struct BoundStatement {
  std::vector<Param> values;
  std::unique_ptr<Poco::Data::Statement> statement;
};

// The statements a connection keeps prepared, by SQL text. On PostgreSQL a
// statement made anew costs four round trips (Poco prepares, describes,
// executes and deallocates it); kept, one. Poco's SQLite connector prepares
// a statement again at every execution (SQLiteStatementImpl::compileImpl),
// so SQLite connections keep none. A scope that fails drops its connection's
// statements. Destroyed before its connection.
using StatementCache = std::unordered_map<std::string, BoundStatement>;

class Conn {
 public:
  // `cache`: where this connection's statements are kept; nullptr: none are (SQLite).
  Conn(Poco::Data::Session& session, Dialect dialect, const std::string& host_id, StatementCache* cache = nullptr)
      : session_(session), dialect_(dialect), host_id_(host_id), cache_(cache) {}
  Poco::Data::Session& session() { return session_; }
  Dialect dialect() const { return dialect_; }
  // The host this connection writes for (DatabaseOptions::host_id).
  const std::string& host_id() const { return host_id_; }
  // SQL written with '?' placeholders, in this connection's dialect: the one
  // placeholder helper, so the same repositories run on PostgreSQL ($1..$n).
  std::string sql(std::string_view text) const;
  // The statement `text` (with '?' placeholders) bound to `params`, ready to
  // execute: prepared at its first use on this connection and kept where the
  // connection keeps statements. The same text takes parameters of the same
  // types every time. Valid until the next call with the same text.
  Poco::Data::Statement& prepared(const char* text, std::vector<Param> params);

 private:
  Poco::Data::Session& session_;
  Dialect dialect_;
  const std::string& host_id_;
  StatementCache* cache_;
  // This scope's statements, when none are kept (a forward_list: stable
  // addresses, and nothing allocated for a scope that makes none).
  std::forward_list<BoundStatement> scratch_;
};

}  // namespace switchboard::storage
