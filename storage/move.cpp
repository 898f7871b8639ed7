// File: storage/move.cpp
#include "storage/move.h"

#include "storage/conn.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <map>
#include <optional>

namespace switchboard::storage {

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace {

// What moves, parents before children; `key` orders and pages the rows.
struct TableToMove {
  const char* name;
  const char* key;
  bool identity;  // its id is an identity column whose sequence must follow
};
constexpr TableToMove kTables[] = {
    {"users", "id", true},        {"llm_configs", "id", true}, {"api_keys", "id", true},
    {"sessions", "id", true},     {"messages", "id", true},    {"preferences", "owner", false},
    {"audit_log", "id", true},    {"master_key_check", "id", true},
};
constexpr std::size_t kBatch = 1000;

std::int64_t count_rows(Conn& c, const std::string& table) {
  Poco::Int64 n = 0;
  c.session() << "SELECT COUNT(*) FROM " + table, into(n), now;
  return n;
}

// The target's columns of `table` with their SQL types (every value is sent as text and cast).
std::vector<std::pair<std::string, std::string>> target_columns(Conn& c, const std::string& table) {
  std::vector<std::string> names, types;
  std::string t = table;
  c.session() << c.sql("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"),
      use(t), into(names), into(types), now;
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < names.size(); ++i) out.emplace_back(names[i], types[i]);
  return out;
}

}  // namespace

std::vector<MovedTable> move_database(Database& from, Database& to,
                                      const std::function<void(const std::string&)>& progress) {
  if (!to.shared()) throw StorageError("--migrate-to takes a postgresql:// URI");
  std::map<std::string, std::int64_t> in_target;
  to.read([&](Conn& c) {
    for (const auto& t : kTables) in_target[t.name] = count_rows(c, t.name);
  });
  for (const auto& [table, rows] : in_target)
    if (rows > 0)
      throw StorageError("the target database is not empty (" + table + ": " + std::to_string(rows) +
                         " rows); move into a new, empty database, before any host starts on it");

  std::vector<MovedTable> moved;
  to.write([&](Conn& target) {
    for (const auto& t : kTables) {
      const auto columns = target_columns(target, t.name);
      std::string names, values;
      std::size_t key_at = 0;  // the paging key's place among the columns
      for (std::size_t i = 0; i < columns.size(); ++i) {
        const auto& [name, type] = columns[i];
        if (name == t.key) key_at = i;
        names += (names.empty() ? "" : ", ") + name;
        values += std::string(values.empty() ? "" : ", ") + "CAST(? AS " + type + ")";
      }
      const std::string insert =
          target.sql("INSERT INTO " + std::string(t.name) + " (" + names + ") VALUES (" + values + ")");
      const std::int64_t total = from.read([&](Conn& c) { return count_rows(c, t.name); });
      progress(std::string(t.name) + ": " + std::to_string(total) + " rows");
      std::int64_t copied = 0;
      std::optional<std::string> after;  // the key of the last row copied
      for (;;) {
        // A page of the source, every value as text (NULL stays NULL).
        std::vector<std::vector<Poco::Nullable<std::string>>> rows = from.read([&](Conn& c) {
          Statement st(c.session());
          const std::string key = t.identity ? std::string("CAST(") + t.key + " AS BIGINT)" : t.key;
          const std::string where = after ? " WHERE " + key + " > ?" : "";
          st << c.sql("SELECT " + names + " FROM " + t.name + where + " ORDER BY " + key + " LIMIT " +
                      std::to_string(kBatch));
          Poco::Int64 after_id = 0;
          std::string after_text;
          if (after && t.identity) {
            after_id = std::stoll(*after);
            st, use(after_id);
          } else if (after) {
            after_text = *after;
            st, use(after_text);
          }
          st.execute();
          RecordSet rs(st);
          std::vector<std::vector<Poco::Nullable<std::string>>> out(rs.rowCount());
          for (std::size_t r = 0; r < rs.rowCount(); ++r)
            for (std::size_t col = 0; col < rs.columnCount(); ++col)
              out[r].push_back(rs.isNull(col, r) ? Poco::Nullable<std::string>()
                                                 : Poco::Nullable<std::string>(rs.value(col, r).convert<std::string>()));
          return out;
        });
        for (auto& row : rows) {
          Statement st(target.session());
          st << insert;
          for (auto& value : row) st, use(value);
          st.execute();
        }
        copied += static_cast<std::int64_t>(rows.size());
        if (rows.size() < kBatch) break;
        after = rows.back()[key_at].value();
        if (copied % 10000 == 0) progress(std::string("  ") + t.name + ": " + std::to_string(copied) + " copied");
      }
      if (t.identity)
        target.session() << "SELECT setval(pg_get_serial_sequence('" + std::string(t.name) + "', 'id'), " +
                                "COALESCE((SELECT MAX(id) FROM " + t.name + "), 0) + 1, false)",
            now;
      const std::int64_t counted = count_rows(target, t.name);
      if (counted != total)
        throw StorageError(std::string(t.name) + ": " + std::to_string(total) + " rows in the source but " +
                           std::to_string(counted) + " in the target; nothing was moved");
      moved.push_back({t.name, counted});
    }
    target.session() << "UPDATE store_version SET version = version + 1 WHERE id = 1", now;
  });
  return moved;
}

}  // namespace switchboard::storage
