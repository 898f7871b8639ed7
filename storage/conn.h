// File: storage/conn.h
//
// What a Conn is inside storage/: a Poco Data session and the SQL dialect.
// Private to storage/*.cpp; nothing outside includes Poco Data.
#pragma once

#include "storage/database.h"

#include <Poco/Data/Session.h>

#include <string>
#include <string_view>

namespace switchboard::storage {

enum class Dialect { SQLite, PostgreSQL };

class Conn {
 public:
  Conn(Poco::Data::Session& session, Dialect dialect) : session_(session), dialect_(dialect) {}
  Poco::Data::Session& session() { return session_; }
  Dialect dialect() const { return dialect_; }
  // SQL written with '?' placeholders, in this connection's dialect: the one
  // placeholder helper, so the same repositories run on PostgreSQL ($1..$n).
  std::string sql(std::string_view text) const;

 private:
  Poco::Data::Session& session_;
  Dialect dialect_;
};

}  // namespace switchboard::storage
