// File: tests/support/test_database.cpp
#include "test_database.h"

#include "storage/database.h"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Exception.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>
#include <mutex>
#include <random>
#include <stdexcept>

namespace switchboard::testing {
namespace {

// The server's URL (its maintenance database), from the file CTest names.
std::string server_url() {
  const char* file = std::getenv("SWITCHBOARD_TEST_POSTGRES");
  if (file == nullptr || *file == '\0') return {};
  std::ifstream in(file);
  std::string url;
  std::getline(in, url);
  if (url.empty()) throw std::runtime_error(std::string("no PostgreSQL test server: ") + file + " is empty or missing");
  return url;
}

// The same server, another database.
std::string with_database(const std::string& url, const std::string& name) {
  return url.substr(0, url.rfind('/') + 1) + name;
}

Poco::Data::Session admin_session() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Data::PostgreSQL::Connector::registerConnector(); });
  return Poco::Data::Session("PostgreSQL", storage::Database::postgresql_conninfo(server_url()));
}

}  // namespace

bool TestDatabase::on_postgresql() { return !server_url().empty(); }

std::string TestDatabase::create_postgresql(std::string& name_out) {
  std::random_device rd;
  name_out = "sbt_" + std::to_string(rd()) + "_" + std::to_string(rd());
  try {
    auto admin = admin_session();
    admin << "CREATE DATABASE " + name_out, Poco::Data::Keywords::now;
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot make a test database on the PostgreSQL test server: " + e.displayText());
  }
  return with_database(server_url(), name_out);
}

void TestDatabase::drop_postgresql(const std::string& name) {
  try {
    auto admin = admin_session();
    admin << "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", Poco::Data::Keywords::now;
  } catch (...) {
    // the server stops at the end of the run and takes it along
  }
}

std::string TestDatabase::dump() const {
  std::string out;
  if (!postgresql()) {
    for (const char* suffix : {"", "-wal"}) {
      std::ifstream in(where_ + suffix, std::ios::binary);
      out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return out;
  }
  using namespace Poco::Data::Keywords;
  Poco::Data::Session session("PostgreSQL", storage::Database::postgresql_conninfo(where_));
  std::vector<std::string> tables;
  session << "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", into(tables), now;
  for (const auto& table : tables) {
    std::vector<std::string> rows;
    session << "SELECT t::text FROM " + table + " t", into(rows), now;
    for (const auto& row : rows) out += row + "\n";
  }
  return out;
}

TestDatabase::TestDatabase(std::string sqlite_path) {
  where_ = on_postgresql() ? create_postgresql(name_) : std::move(sqlite_path);
}

TestDatabase::~TestDatabase() {
  if (!name_.empty()) drop_postgresql(name_);
}

}  // namespace switchboard::testing
