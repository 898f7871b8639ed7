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
  Conn(Poco::Data::Session& session, Dialect dialect, const std::string& host_id)
      : session_(session), dialect_(dialect), host_id_(host_id) {}
  Poco::Data::Session& session() { return session_; }
  Dialect dialect() const { return dialect_; }
  // The host this connection writes for (DatabaseOptions::host_id).
  const std::string& host_id() const { return host_id_; }
  // SQL written with '?' placeholders, in this connection's dialect: the one
  // placeholder helper, so the same repositories run on PostgreSQL ($1..$n).
  std::string sql(std::string_view text) const;

 private:
  Poco::Data::Session& session_;
  Dialect dialect_;
  const std::string& host_id_;
};

}  // namespace switchboard::storage
