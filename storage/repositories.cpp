// File: storage/repositories.cpp
//
// The SQL of every table and its row <-> struct mapping. Values are always
// bound, never spliced; placeholders go through Conn::sql so PostgreSQL can
// run the same statements.
#include "storage/repositories.h"

#include "storage/conn.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

namespace switchboard::storage {

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace {

constexpr const char* kConfigColumns =
    "c.id, c.name, c.provider, c.model_name, c.base_url, c.api_key, c.options_json, c.created_at, c.updated_at";
constexpr const char* kSessionColumns = "s.id, s.title, s.config_id, s.owner, s.created_at, s.updated_at";
constexpr const char* kMessageColumns =
    "id, session_id, role, content, status, llm_provider, llm_model_name, config_id, prompt_tokens, "
    "completion_tokens, finish_reason, error_code, error_message, created_at";

std::int64_t int_at(const RecordSet& rs, std::size_t col, std::size_t row) {
  return rs.isNull(col, row) ? 0 : rs.value(col, row).convert<Poco::Int64>();
}
std::string str_at(const RecordSet& rs, std::size_t col, std::size_t row) {
  return rs.isNull(col, row) ? std::string() : rs.value(col, row).convert<std::string>();
}

LlmConfig config_at(const RecordSet& rs, std::size_t row, std::size_t first = 0) {
  LlmConfig c;
  c.id = int_at(rs, first + 0, row);
  c.name = str_at(rs, first + 1, row);
  c.provider = str_at(rs, first + 2, row);
  c.model_name = str_at(rs, first + 3, row);
  c.base_url = str_at(rs, first + 4, row);
  if (!rs.isNull(first + 5, row)) c.api_key = str_at(rs, first + 5, row);
  c.options_json = str_at(rs, first + 6, row);
  if (c.options_json.empty()) c.options_json = "{}";
  c.created_at_ms = int_at(rs, first + 7, row);
  c.updated_at_ms = int_at(rs, first + 8, row);
  return c;
}

// Sessions are read joined with their config: session.config is always loaded here.
Session session_at(const RecordSet& rs, std::size_t row) {
  Session s;
  s.id = int_at(rs, 0, row);
  s.title = str_at(rs, 1, row);
  s.config_id = int_at(rs, 2, row);
  s.owner = str_at(rs, 3, row);
  s.created_at_ms = int_at(rs, 4, row);
  s.updated_at_ms = int_at(rs, 5, row);
  if (!rs.isNull(6, row)) s.config = config_at(rs, row, 6);
  return s;
}

Message message_at(const RecordSet& rs, std::size_t row) {
  Message m;
  m.id = int_at(rs, 0, row);
  m.session_id = int_at(rs, 1, row);
  m.role = str_at(rs, 2, row);
  m.content = str_at(rs, 3, row);
  m.status = str_at(rs, 4, row);
  m.llm_provider = str_at(rs, 5, row);
  m.llm_model_name = str_at(rs, 6, row);
  if (!rs.isNull(7, row)) m.config_id = int_at(rs, 7, row);
  m.prompt_tokens = int_at(rs, 8, row);
  m.completion_tokens = int_at(rs, 9, row);
  m.finish_reason = str_at(rs, 10, row);
  m.error_code = str_at(rs, 11, row);
  m.error_message = str_at(rs, 12, row);
  m.created_at_ms = int_at(rs, 13, row);
  return m;
}

std::int64_t last_id(Conn& c) {
  Poco::Int64 id = 0;
  c.session() << "SELECT last_insert_rowid()", into(id), now;
  return id;
}

std::int64_t scalar(Statement& st) {
  st.execute();
  RecordSet rs(st);
  return rs.rowCount() == 0 ? 0 : int_at(rs, 0, 0);
}

}  // namespace

// --- configs -------------------------------------------------------------------

namespace configs {

std::vector<LlmConfig> list(Conn& c) {
  Statement st(c.session());
  st << c.sql(std::string("SELECT ") + kConfigColumns + " FROM llm_configs c ORDER BY c.id");
  st.execute();
  RecordSet rs(st);
  std::vector<LlmConfig> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(config_at(rs, r));
  return out;
}

std::optional<LlmConfig> find(Conn& c, std::int64_t id) {
  Statement st(c.session());
  Poco::Int64 key = id;
  st << c.sql(std::string("SELECT ") + kConfigColumns + " FROM llm_configs c WHERE c.id = ?"), use(key);
  st.execute();
  RecordSet rs(st);
  if (rs.rowCount() == 0) return std::nullopt;
  return config_at(rs, 0);
}

std::optional<LlmConfig> find_by_name(Conn& c, const std::string& name) {
  Statement st(c.session());
  std::string key = name;
  st << c.sql(std::string("SELECT ") + kConfigColumns + " FROM llm_configs c WHERE c.name = ?"), use(key);
  st.execute();
  RecordSet rs(st);
  if (rs.rowCount() == 0) return std::nullopt;
  return config_at(rs, 0);
}

std::int64_t insert(Conn& c, const LlmConfig& config) {
  LlmConfig v = config;
  v.created_at_ms = v.updated_at_ms = now_ms();
  Poco::Nullable<std::string> key;
  if (v.api_key) key = *v.api_key;
  Poco::Int64 created = v.created_at_ms, updated = v.updated_at_ms;
  c.session() << c.sql("INSERT INTO llm_configs (name, provider, model_name, base_url, api_key, options_json, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
      use(v.name), use(v.provider), use(v.model_name), use(v.base_url), use(key), use(v.options_json), use(created),
      use(updated), now;
  return last_id(c);
}

bool update(Conn& c, const LlmConfig& config) {
  LlmConfig v = config;
  Poco::Nullable<std::string> key;
  if (v.api_key) key = *v.api_key;
  Poco::Int64 updated = now_ms(), id = v.id;
  Statement st(c.session());
  st << c.sql("UPDATE llm_configs SET name = ?, provider = ?, model_name = ?, base_url = ?, api_key = ?, "
              "options_json = ?, updated_at = ? WHERE id = ?"),
      use(v.name), use(v.provider), use(v.model_name), use(v.base_url), use(key), use(v.options_json), use(updated),
      use(id);
  return st.execute() > 0;
}

bool remove(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql("DELETE FROM llm_configs WHERE id = ?"), use(key);
  return st.execute() > 0;
}

std::int64_t count_sessions_using(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql("SELECT COUNT(*) FROM sessions WHERE config_id = ?"), use(key);
  return scalar(st);
}

bool any(Conn& c) {
  Statement st(c.session());
  st << "SELECT COUNT(*) FROM llm_configs";
  return scalar(st) > 0;
}

}  // namespace configs

// --- sessions ------------------------------------------------------------------

namespace sessions {

namespace {
std::string select_sessions(const std::string& where) {
  return std::string("SELECT ") + kSessionColumns + ", " + kConfigColumns +
         " FROM sessions s LEFT JOIN llm_configs c ON c.id = s.config_id " + where;
}
}  // namespace

std::int64_t insert(Conn& c, const Session& session) {
  Session v = session;
  Poco::Int64 at = now_ms(), config_id = v.config_id;
  c.session() << c.sql("INSERT INTO sessions (title, config_id, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"),
      use(v.title), use(config_id), use(v.owner), use(at), use(at), now;
  return last_id(c);
}

std::optional<Session> find(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql(select_sessions("WHERE s.id = ?")), use(key);
  st.execute();
  RecordSet rs(st);
  if (rs.rowCount() == 0) return std::nullopt;
  return session_at(rs, 0);
}

std::vector<Session> list(Conn& c, const std::string& owner, std::int64_t limit, std::int64_t offset) {
  std::string who = owner;
  Poco::Int64 lim = limit, off = offset;
  Statement st(c.session());
  st << c.sql(select_sessions("WHERE s.owner = ? ORDER BY s.updated_at DESC, s.id DESC LIMIT ? OFFSET ?")), use(who),
      use(lim), use(off);
  st.execute();
  RecordSet rs(st);
  std::vector<Session> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(session_at(rs, r));
  return out;
}

std::int64_t count(Conn& c, const std::string& owner) {
  std::string who = owner;
  Statement st(c.session());
  st << c.sql("SELECT COUNT(*) FROM sessions WHERE owner = ?"), use(who);
  return scalar(st);
}

bool rename(Conn& c, std::int64_t id, const std::string& title) {
  std::string t = title;
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql("UPDATE sessions SET title = ? WHERE id = ?"), use(t), use(key);
  return st.execute() > 0;
}

bool set_config(Conn& c, std::int64_t id, std::int64_t config_id) {
  Poco::Int64 key = id, cfg = config_id;
  Statement st(c.session());
  st << c.sql("UPDATE sessions SET config_id = ? WHERE id = ?"), use(cfg), use(key);
  return st.execute() > 0;
}

bool touch(Conn& c, std::int64_t id, std::int64_t at_ms) {
  Poco::Int64 key = id, at = at_ms;
  Statement st(c.session());
  // Never backwards, and always forwards: two turns in the same millisecond still order.
  st << c.sql("UPDATE sessions SET updated_at = CASE WHEN ? > updated_at THEN ? ELSE updated_at + 1 END WHERE id = ?"),
      use(at), use(at), use(key);
  return st.execute() > 0;
}

bool remove(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql("DELETE FROM sessions WHERE id = ?"), use(key);
  return st.execute() > 0;
}

}  // namespace sessions

// --- messages ------------------------------------------------------------------

namespace messages {

std::int64_t insert(Conn& c, const Message& message) {
  Message m = message;
  if (m.created_at_ms == 0) m.created_at_ms = now_ms();
  Poco::Int64 session_id = m.session_id, prompt = m.prompt_tokens, completion = m.completion_tokens,
              created = m.created_at_ms;
  Poco::Nullable<Poco::Int64> config_id;
  if (m.config_id) config_id = *m.config_id;
  c.session() << c.sql("INSERT INTO messages (session_id, role, content, status, llm_provider, llm_model_name, config_id, "
                       "prompt_tokens, completion_tokens, finish_reason, error_code, error_message, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      use(session_id), use(m.role), use(m.content), use(m.status), use(m.llm_provider), use(m.llm_model_name),
      use(config_id), use(prompt), use(completion), use(m.finish_reason), use(m.error_code), use(m.error_message),
      use(created), now;
  return last_id(c);
}

std::optional<Message> find(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql(std::string("SELECT ") + kMessageColumns + " FROM messages WHERE id = ?"), use(key);
  st.execute();
  RecordSet rs(st);
  if (rs.rowCount() == 0) return std::nullopt;
  return message_at(rs, 0);
}

std::vector<Message> list(Conn& c, std::int64_t session_id) {
  Poco::Int64 key = session_id;
  Statement st(c.session());
  st << c.sql(std::string("SELECT ") + kMessageColumns + " FROM messages WHERE session_id = ? ORDER BY id"), use(key);
  st.execute();
  RecordSet rs(st);
  std::vector<Message> out;
  out.reserve(rs.rowCount());
  for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(message_at(rs, r));
  return out;
}

bool finish(Conn& c, const Message& message) {
  Message m = message;
  Poco::Int64 id = m.id, prompt = m.prompt_tokens, completion = m.completion_tokens;
  Statement st(c.session());
  st << c.sql("UPDATE messages SET content = ?, status = ?, prompt_tokens = ?, completion_tokens = ?, "
              "finish_reason = ?, error_code = ?, error_message = ? WHERE id = ?"),
      use(m.content), use(m.status), use(prompt), use(completion), use(m.finish_reason), use(m.error_code),
      use(m.error_message), use(id);
  return st.execute() > 0;
}

std::int64_t mark_interrupted(Conn& c) {
  Statement st(c.session());
  st << c.sql("UPDATE messages SET status = 'interrupted', error_code = 'interrupted', "
              "error_message = 'the host stopped while this reply was streaming' WHERE status = 'streaming'");
  return static_cast<std::int64_t>(st.execute());
}

}  // namespace messages

// --- preferences ---------------------------------------------------------------

namespace preferences {

std::optional<std::int64_t> default_config(Conn& c, const std::string& owner) {
  std::string who = owner;
  Statement st(c.session());
  st << c.sql("SELECT default_config_id FROM preferences WHERE owner = ?"), use(who);
  st.execute();
  RecordSet rs(st);
  if (rs.rowCount() == 0 || rs.isNull(0, 0)) return std::nullopt;
  return int_at(rs, 0, 0);
}

void set_default_config(Conn& c, const std::string& owner, std::int64_t config_id) {
  std::string who = owner;
  Poco::Int64 cfg = config_id;
  c.session() << c.sql("INSERT INTO preferences (owner, default_config_id) VALUES (?, ?) "
                       "ON CONFLICT (owner) DO UPDATE SET default_config_id = excluded.default_config_id"),
      use(who), use(cfg), now;
}

void clear_default_config(Conn& c, const std::string& owner) {
  std::string who = owner;
  c.session() << c.sql("UPDATE preferences SET default_config_id = NULL WHERE owner = ?"), use(who), now;
}

}  // namespace preferences

}  // namespace switchboard::storage
