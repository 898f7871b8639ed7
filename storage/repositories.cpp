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

#include <algorithm>

namespace switchboard::storage {

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace {

constexpr const char* kConfigColumns =
    "c.id, c.name, c.provider, c.model_name, c.base_url, c.api_key, c.options_json, c.created_at, c.updated_at, "
    "c.secret_options, c.secret_origin, c.owner_user_id";
constexpr std::size_t kConfigColumnCount = 12;
constexpr const char* kSessionColumns =
    "s.id, s.title, s.config_id, s.owner, s.created_at, s.updated_at, s.system_prompt, s.temperature";
constexpr const char* kMessageColumns =
    "id, session_id, role, content, status, llm_provider, llm_model_name, config_id, prompt_tokens, "
    "completion_tokens, finish_reason, error_code, error_message, created_at, reply_to, superseded";

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
  if (!rs.isNull(first + 9, row)) c.secret_options = str_at(rs, first + 9, row);
  c.secret_origin = str_at(rs, first + 10, row);
  if (!rs.isNull(first + 11, row)) c.owner_user_id = int_at(rs, first + 11, row);
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
  s.system_prompt = str_at(rs, 6, row);
  if (!rs.isNull(7, row)) s.temperature = rs.value(7, row).convert<double>();
  if (!rs.isNull(8, row)) s.config = config_at(rs, row, 8);
  static_assert(kConfigColumnCount == 12, "session_at reads the config columns after the session's eight");
  s.message_count = int_at(rs, 20, row);
  return s;
}

Message message_at(const RecordSet& rs, std::size_t row) {
  Message m;
  m.id = int_at(rs, 0, row);
  m.session_id = int_at(rs, 1, row);
  m.role = str_at(rs, 2, row);
  m.content = str_at(rs, 3, row);
  m.status = parse_status(str_at(rs, 4, row)).value_or(MessageStatus::Error);
  m.llm_provider = str_at(rs, 5, row);
  m.llm_model_name = str_at(rs, 6, row);
  if (!rs.isNull(7, row)) m.config_id = int_at(rs, 7, row);
  m.prompt_tokens = int_at(rs, 8, row);
  m.completion_tokens = int_at(rs, 9, row);
  m.finish_reason = str_at(rs, 10, row);
  m.error_code = str_at(rs, 11, row);
  m.error_message = str_at(rs, 12, row);
  m.created_at_ms = int_at(rs, 13, row);
  if (!rs.isNull(14, row)) m.reply_to = int_at(rs, 14, row);
  m.superseded = int_at(rs, 15, row) != 0;
  return m;
}

// The id the last INSERT of this connection made.
std::int64_t last_id(Conn& c) {
  auto& st = c.prepared(c.dialect() == Dialect::SQLite ? "SELECT last_insert_rowid()" : "SELECT lastval()", {});
  st.execute();
  RecordSet rs(st);
  return int_at(rs, 0, 0);
}

// Configs, users and keys changed: other hosts drop what they cached (store::version).
void changed(Conn& c) { c.prepared("UPDATE store_version SET version = version + 1 WHERE id = 1", {}).execute(); }

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
  Poco::Nullable<std::string> secrets;
  if (v.secret_options) secrets = *v.secret_options;
  Poco::Nullable<Poco::Int64> owner;
  if (v.owner_user_id) owner = *v.owner_user_id;
  Poco::Int64 created = v.created_at_ms, updated = v.updated_at_ms;
  c.session() << c.sql("INSERT INTO llm_configs (name, provider, model_name, base_url, api_key, options_json, created_at, "
                       "updated_at, secret_options, secret_origin, owner_user_id) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      use(v.name), use(v.provider), use(v.model_name), use(v.base_url), use(key), use(v.options_json), use(created),
      use(updated), use(secrets), use(v.secret_origin), use(owner), now;
  const std::int64_t id = last_id(c);
  changed(c);
  return id;
}

bool update(Conn& c, const LlmConfig& config) {
  LlmConfig v = config;
  Poco::Nullable<std::string> key;
  if (v.api_key) key = *v.api_key;
  Poco::Nullable<std::string> secrets;
  if (v.secret_options) secrets = *v.secret_options;
  // Never backwards, and always forwards: the resolved-config cache keys on it.
  Poco::Int64 updated = std::max(now_ms(), v.updated_at_ms + 1), id = v.id;
  Statement st(c.session());
  st << c.sql("UPDATE llm_configs SET name = ?, provider = ?, model_name = ?, base_url = ?, api_key = ?, "
              "options_json = ?, updated_at = ?, secret_options = ?, secret_origin = ? WHERE id = ?"),
      use(v.name), use(v.provider), use(v.model_name), use(v.base_url), use(key), use(v.options_json), use(updated),
      use(secrets), use(v.secret_origin), use(id);
  const bool done = st.execute() > 0;
  if (done) changed(c);
  return done;
}

bool remove(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql("DELETE FROM llm_configs WHERE id = ?"), use(key);
  const bool done = st.execute() > 0;
  if (done) changed(c);
  return done;
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

std::vector<LlmConfig> list_visible(Conn& c, std::int64_t user_id) {
  Poco::Int64 who = user_id;
  Statement st(c.session());
  st << c.sql(std::string("SELECT ") + kConfigColumns +
              " FROM llm_configs c WHERE c.owner_user_id IS NULL OR c.owner_user_id = ? ORDER BY c.id"),
      use(who);
  st.execute();
  RecordSet rs(st);
  std::vector<LlmConfig> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(config_at(rs, r));
  return out;
}

std::vector<LlmConfig> list_unsealed(Conn& c, const std::string& sealed_prefix) {
  std::string like = sealed_prefix + "%";
  Statement st(c.session());
  st << c.sql(std::string("SELECT ") + kConfigColumns +
              " FROM llm_configs c WHERE (c.api_key IS NOT NULL AND c.api_key <> '' AND c.api_key NOT LIKE ?)"
              " OR c.secret_origin = '' ORDER BY c.id"),
      use(like);
  st.execute();
  RecordSet rs(st);
  std::vector<LlmConfig> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(config_at(rs, r));
  return out;
}

}  // namespace configs

// --- sessions ------------------------------------------------------------------

namespace sessions {

namespace {
std::string select_sessions(const std::string& where) {
  return std::string("SELECT ") + kSessionColumns + ", " + kConfigColumns +
         ", (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id)"
         " FROM sessions s LEFT JOIN llm_configs c ON c.id = s.config_id " + where;
}

// A LIKE pattern that finds `text` anywhere, its own % _ and \ taken literally.
std::string contains_pattern(const std::string& text) {
  std::string out = "%";
  for (const char ch : text) {
    if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
    out += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  }
  return out + "%";
}

constexpr const char* kSearchWhere =
    "WHERE s.owner = ? AND (LOWER(s.title) LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m "
    "WHERE m.session_id = s.id AND LOWER(m.content) LIKE ? ESCAPE '\\'))";
}  // namespace

std::int64_t insert(Conn& c, const Session& session) {
  Session v = session;
  Poco::Int64 at = now_ms(), config_id = v.config_id;
  c.session() << c.sql("INSERT INTO sessions (title, config_id, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"),
      use(v.title), use(config_id), use(v.owner), use(at), use(at), now;
  return last_id(c);
}

std::optional<Session> find(Conn& c, std::int64_t id) {
  static const std::string by_id = select_sessions("WHERE s.id = ?");
  auto& st = c.prepared(by_id.c_str(), {Poco::Int64{id}});
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

std::vector<Session> search(Conn& c, const std::string& owner, const std::string& text, std::int64_t limit,
                            std::int64_t offset) {
  std::string who = owner, pattern = contains_pattern(text), again = pattern;
  Poco::Int64 lim = limit, off = offset;
  Statement st(c.session());
  st << c.sql(select_sessions(std::string(kSearchWhere) + " ORDER BY s.updated_at DESC, s.id DESC LIMIT ? OFFSET ?")),
      use(who), use(pattern), use(again), use(lim), use(off);
  st.execute();
  RecordSet rs(st);
  std::vector<Session> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(session_at(rs, r));
  return out;
}

std::int64_t search_count(Conn& c, const std::string& owner, const std::string& text) {
  std::string who = owner, pattern = contains_pattern(text), again = pattern;
  Statement st(c.session());
  st << c.sql(std::string("SELECT COUNT(*) FROM sessions s ") + kSearchWhere), use(who), use(pattern), use(again);
  return scalar(st);
}

bool rename(Conn& c, std::int64_t id, const std::string& title) {
  std::string t = title;
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql("UPDATE sessions SET title = ? WHERE id = ?"), use(t), use(key);
  return st.execute() > 0;
}

bool set_system_prompt(Conn& c, std::int64_t id, const std::string& prompt) {
  std::string p = prompt;
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql("UPDATE sessions SET system_prompt = ? WHERE id = ?"), use(p), use(key);
  return st.execute() > 0;
}

bool set_temperature(Conn& c, std::int64_t id, std::optional<double> temperature) {
  Poco::Nullable<double> t;
  if (temperature) t = *temperature;
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql("UPDATE sessions SET temperature = ? WHERE id = ?"), use(t), use(key);
  return st.execute() > 0;
}

bool set_config(Conn& c, std::int64_t id, std::int64_t config_id) {
  Poco::Int64 key = id, cfg = config_id;
  Statement st(c.session());
  st << c.sql("UPDATE sessions SET config_id = ? WHERE id = ?"), use(cfg), use(key);
  return st.execute() > 0;
}

bool exists(Conn& c, std::int64_t id) {
  return scalar(c.prepared("SELECT COUNT(*) FROM sessions WHERE id = ?", {Poco::Int64{id}})) > 0;
}

bool touch(Conn& c, std::int64_t id, std::int64_t at_ms) {
  // Never backwards, and always forwards: two turns in the same millisecond still order.
  return c.prepared("UPDATE sessions SET updated_at = CASE WHEN ? > updated_at THEN ? ELSE updated_at + 1 END WHERE id = ?",
                    {Poco::Int64{at_ms}, Poco::Int64{at_ms}, Poco::Int64{id}})
             .execute() > 0;
}

bool remove(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql("DELETE FROM sessions WHERE id = ?"), use(key);
  return st.execute() > 0;
}

}  // namespace sessions

// --- messages ------------------------------------------------------------------

const char* status_name(MessageStatus status) {
  switch (status) {
    case MessageStatus::Complete: return "complete";
    case MessageStatus::Streaming: return "streaming";
    case MessageStatus::Cancelled: return "cancelled";
    case MessageStatus::Error: return "error";
    case MessageStatus::Interrupted: return "interrupted";
  }
  return "error";
}

std::optional<MessageStatus> parse_status(std::string_view name) {
  for (const auto s : {MessageStatus::Complete, MessageStatus::Streaming, MessageStatus::Cancelled,
                       MessageStatus::Error, MessageStatus::Interrupted})
    if (name == status_name(s)) return s;
  return std::nullopt;
}

namespace messages {

std::int64_t insert(Conn& c, const Message& message) {
  const Message& m = message;
  Poco::Nullable<Poco::Int64> config_id, reply_to;
  if (m.config_id) config_id = *m.config_id;
  if (m.reply_to) reply_to = *m.reply_to;
  // RETURNING: the id comes back with the insert, one statement instead of two.
  auto& st = c.prepared(
      "INSERT INTO messages (session_id, role, content, status, llm_provider, llm_model_name, config_id, "
      "prompt_tokens, completion_tokens, finish_reason, error_code, error_message, created_at, "
      "reply_to, superseded, host_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
             {Poco::Int64{m.session_id}, m.role, m.content, std::string(status_name(m.status)), m.llm_provider,
              m.llm_model_name, config_id, Poco::Int64{m.prompt_tokens}, Poco::Int64{m.completion_tokens},
              m.finish_reason, m.error_code, m.error_message, Poco::Int64{m.created_at_ms == 0 ? now_ms() : m.created_at_ms},
              reply_to, Poco::Int64{m.superseded ? 1 : 0}, c.host_id()});
  return scalar(st);
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
  static const std::string of_session =
      std::string("SELECT ") + kMessageColumns + " FROM messages WHERE session_id = ? ORDER BY id";
  auto& st = c.prepared(of_session.c_str(), {Poco::Int64{session_id}});
  st.execute();
  RecordSet rs(st);
  std::vector<Message> out;
  out.reserve(rs.rowCount());
  for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(message_at(rs, r));
  return out;
}

bool finish(Conn& c, const Message& m) {
  Poco::Nullable<Poco::Int64> config_id;
  if (m.config_id) config_id = *m.config_id;
  return c.prepared("UPDATE messages SET content = ?, status = ?, prompt_tokens = ?, completion_tokens = ?, "
                    "finish_reason = ?, error_code = ?, error_message = ?, llm_provider = ?, llm_model_name = ?, "
                    "config_id = ? WHERE id = ?",
                    {m.content, std::string(status_name(m.status)), Poco::Int64{m.prompt_tokens},
                     Poco::Int64{m.completion_tokens}, m.finish_reason, m.error_code, m.error_message, m.llm_provider,
                     m.llm_model_name, config_id, Poco::Int64{m.id}})
             .execute() > 0;
}

bool append_content(Conn& c, std::int64_t id, std::string_view more) {
  return c.prepared("UPDATE messages SET content = content || ? WHERE id = ? AND status = ?",
                    {std::string(more), Poco::Int64{id}, std::string(status_name(MessageStatus::Streaming))})
             .execute() > 0;
}

bool supersede(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql("UPDATE messages SET superseded = 1 WHERE id = ?"), use(key);
  return st.execute() > 0;
}

std::int64_t remove_from(Conn& c, std::int64_t session_id, std::int64_t first_id) {
  Poco::Int64 session = session_id, first = first_id;
  Statement st(c.session());
  st << c.sql("DELETE FROM messages WHERE session_id = ? AND id >= ?"), use(session), use(first);
  return static_cast<std::int64_t>(st.execute());
}

namespace {
constexpr const char* kMarkInterrupted =
    "UPDATE messages SET status = 'interrupted', error_code = 'interrupted', "
    "error_message = 'the host stopped while this reply was streaming' WHERE status = 'streaming'";
}  // namespace

std::int64_t mark_interrupted(Conn& c) {
  Statement st(c.session());
  st << kMarkInterrupted;
  return static_cast<std::int64_t>(st.execute());
}

std::int64_t mark_interrupted_of_host(Conn& c) {
  std::string host = c.host_id();
  Statement st(c.session());
  st << c.sql(std::string(kMarkInterrupted) + " AND (host_id = ? OR host_id IS NULL)"), use(host);
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
  changed(c);
}

void clear_default_config(Conn& c, const std::string& owner) {
  std::string who = owner;
  c.session() << c.sql("UPDATE preferences SET default_config_id = NULL WHERE owner = ?"), use(who), now;
  changed(c);
}

}  // namespace preferences

// --- users ---------------------------------------------------------------------

namespace users {

namespace {
User user_at(const RecordSet& rs, std::size_t row) {
  return {int_at(rs, 0, row), str_at(rs, 1, row), str_at(rs, 2, row), int_at(rs, 3, row)};
}
std::vector<User> select_users(Statement& st) {
  st.execute();
  RecordSet rs(st);
  std::vector<User> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(user_at(rs, r));
  return out;
}
constexpr const char* kUserColumns = "id, name, role, created_at";
}  // namespace

std::int64_t insert(Conn& c, const User& user) {
  User v = user;
  Poco::Int64 at = now_ms();
  c.session() << c.sql("INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)"), use(v.name), use(v.role),
      use(at), now;
  const std::int64_t id = last_id(c);
  changed(c);
  return id;
}

std::optional<User> find(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql(std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?"), use(key);
  auto found = select_users(st);
  if (found.empty()) return std::nullopt;
  return found.front();
}

std::optional<User> find_by_name(Conn& c, const std::string& name) {
  std::string key = name;
  Statement st(c.session());
  st << c.sql(std::string("SELECT ") + kUserColumns + " FROM users WHERE name = ?"), use(key);
  auto found = select_users(st);
  if (found.empty()) return std::nullopt;
  return found.front();
}

std::vector<User> list(Conn& c) {
  Statement st(c.session());
  st << std::string("SELECT ") + kUserColumns + " FROM users ORDER BY id";
  return select_users(st);
}

std::int64_t count(Conn& c) {
  Statement st(c.session());
  st << "SELECT COUNT(*) FROM users";
  return scalar(st);
}

bool remove(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  std::string owner = std::to_string(id);
  // Sessions first (their messages cascade): they may use the user's private
  // configs, which go with the user row, as do the keys.
  c.session() << c.sql("DELETE FROM sessions WHERE owner = ?"), use(owner), now;
  c.session() << c.sql("DELETE FROM preferences WHERE owner = ?"), use(owner), now;
  Statement st(c.session());
  st << c.sql("DELETE FROM users WHERE id = ?"), use(key);
  const bool done = st.execute() > 0;
  if (done) changed(c);
  return done;
}

std::int64_t adopt_ownerless(Conn& c, std::int64_t user_id) {
  std::string owner = std::to_string(user_id);
  const std::string not_a_user = " NOT IN (SELECT CAST(id AS TEXT) FROM users)";
  Statement st(c.session());
  st << c.sql("UPDATE sessions SET owner = ? WHERE owner" + not_a_user), use(owner);
  const std::int64_t moved = static_cast<std::int64_t>(st.execute());
  // One preference per owner: the adopting user keeps the one of "default"
  // (the owner every request had before identities), the others go.
  c.session() << c.sql("DELETE FROM preferences WHERE owner <> 'default' AND owner" + not_a_user), now;
  c.session() << c.sql("UPDATE preferences SET owner = ? WHERE owner = 'default' AND NOT EXISTS "
                       "(SELECT 1 FROM preferences p WHERE p.owner = ?)"),
      use(owner), use(owner), now;
  c.session() << c.sql("DELETE FROM preferences WHERE owner" + not_a_user), now;
  return moved;
}

}  // namespace users

// --- api keys ------------------------------------------------------------------

namespace api_keys {

namespace {
constexpr const char* kKeyColumns =
    "id, user_id, name, prefix, hash, created_at, expires_at, last_used_at, revoked_at";

std::optional<std::int64_t> opt_int_at(const RecordSet& rs, std::size_t col, std::size_t row) {
  if (rs.isNull(col, row)) return std::nullopt;
  return int_at(rs, col, row);
}

std::vector<ApiKey> select_keys(Statement& st) {
  st.execute();
  RecordSet rs(st);
  std::vector<ApiKey> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) {
    ApiKey k;
    k.id = int_at(rs, 0, r);
    k.user_id = int_at(rs, 1, r);
    k.name = str_at(rs, 2, r);
    k.prefix = str_at(rs, 3, r);
    k.hash = str_at(rs, 4, r);
    k.created_at_ms = int_at(rs, 5, r);
    k.expires_at_ms = opt_int_at(rs, 6, r);
    k.last_used_at_ms = opt_int_at(rs, 7, r);
    k.revoked_at_ms = opt_int_at(rs, 8, r);
    out.push_back(std::move(k));
  }
  return out;
}
}  // namespace

std::int64_t insert(Conn& c, const ApiKey& key) {
  ApiKey v = key;
  Poco::Int64 user = v.user_id, at = now_ms();
  Poco::Nullable<Poco::Int64> expires;
  if (v.expires_at_ms) expires = *v.expires_at_ms;
  c.session() << c.sql("INSERT INTO api_keys (user_id, name, prefix, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)"),
      use(user), use(v.name), use(v.prefix), use(v.hash), use(at), use(expires), now;
  const std::int64_t id = last_id(c);
  changed(c);
  return id;
}

std::optional<ApiKey> find(Conn& c, std::int64_t id) {
  Poco::Int64 key = id;
  Statement st(c.session());
  st << c.sql(std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE id = ?"), use(key);
  auto found = select_keys(st);
  if (found.empty()) return std::nullopt;
  return found.front();
}

std::vector<ApiKey> find_by_prefix(Conn& c, const std::string& prefix) {
  std::string key = prefix;
  Statement st(c.session());
  st << c.sql(std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE prefix = ?"), use(key);
  return select_keys(st);
}

std::vector<ApiKey> list(Conn& c, std::optional<std::int64_t> user_id) {
  Statement st(c.session());
  Poco::Int64 who = user_id.value_or(0);
  if (user_id)
    st << c.sql(std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE user_id = ? ORDER BY id"), use(who);
  else
    st << std::string("SELECT ") + kKeyColumns + " FROM api_keys ORDER BY id";
  return select_keys(st);
}

bool revoke(Conn& c, std::int64_t id, std::int64_t at_ms) {
  Poco::Int64 key = id, at = at_ms;
  Statement st(c.session());
  st << c.sql("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"), use(at), use(key);
  const bool done = st.execute() > 0;
  if (done) changed(c);
  return done;
}

void touch(Conn& c, std::int64_t id, std::int64_t at_ms) {
  Poco::Int64 key = id, at = at_ms;
  c.session() << c.sql("UPDATE api_keys SET last_used_at = ? WHERE id = ?"), use(at), use(key), now;
}

}  // namespace api_keys

// --- audit ---------------------------------------------------------------------

namespace audit {

void record(Conn& c, const AuditEntry& entry) {
  AuditEntry v = entry;
  Poco::Int64 at = v.at_ms != 0 ? v.at_ms : now_ms();
  Poco::Nullable<Poco::Int64> actor;
  if (v.actor_user_id) actor = *v.actor_user_id;
  c.session() << c.sql("INSERT INTO audit_log (at, actor_user_id, actor_name, action, target, detail) "
                       "VALUES (?, ?, ?, ?, ?, ?)"),
      use(at), use(actor), use(v.actor_name), use(v.action), use(v.target), use(v.detail), now;
}

std::vector<AuditEntry> list(Conn& c, std::int64_t limit, std::int64_t offset) {
  Poco::Int64 lim = limit, off = offset;
  Statement st(c.session());
  st << c.sql("SELECT id, at, actor_user_id, actor_name, action, target, detail FROM audit_log "
              "ORDER BY id DESC LIMIT ? OFFSET ?"),
      use(lim), use(off);
  st.execute();
  RecordSet rs(st);
  std::vector<AuditEntry> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) {
    AuditEntry e;
    e.id = int_at(rs, 0, r);
    e.at_ms = int_at(rs, 1, r);
    if (!rs.isNull(2, r)) e.actor_user_id = int_at(rs, 2, r);
    e.actor_name = str_at(rs, 3, r);
    e.action = str_at(rs, 4, r);
    e.target = str_at(rs, 5, r);
    e.detail = str_at(rs, 6, r);
    out.push_back(std::move(e));
  }
  return out;
}

std::int64_t count(Conn& c) {
  Statement st(c.session());
  st << "SELECT COUNT(*) FROM audit_log";
  return scalar(st);
}

}  // namespace audit

// --- hosts, turn locks, store version -------------------------------------------

namespace hosts {

void beat(Conn& c, std::int64_t at_ms, bool starting) {
  std::string id = c.host_id();
  Poco::Int64 at = at_ms;
  if (starting) {
    c.session() << c.sql("INSERT INTO hosts (id, started_at, heartbeat_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE "
                         "SET started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at"),
        use(id), use(at), use(at), now;
    // Turns this host held in an earlier life are over.
    c.session() << c.sql("DELETE FROM turn_locks WHERE host_id = ?"), use(id), now;
  } else {
    c.session() << c.sql("INSERT INTO hosts (id, started_at, heartbeat_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE "
                         "SET heartbeat_at = excluded.heartbeat_at"),
        use(id), use(at), use(at), now;
  }
}

std::int64_t recover_dead(Conn& c, std::int64_t stale_before_ms) {
  std::string me = c.host_id();
  Poco::Int64 stale = stale_before_ms;
  const std::string dead = "SELECT id FROM hosts WHERE heartbeat_at < ? AND id <> ?";
  Statement mark(c.session());
  mark << c.sql(std::string(messages::kMarkInterrupted) + " AND host_id IN (" + dead + ")"), use(stale), use(me);
  const auto marked = static_cast<std::int64_t>(mark.execute());
  c.session() << c.sql("DELETE FROM turn_locks WHERE host_id IN (" + dead + ")"), use(stale), use(me), now;
  c.session() << c.sql("DELETE FROM hosts WHERE heartbeat_at < ? AND id <> ?"), use(stale), use(me), now;
  return marked;
}

void leave(Conn& c) {
  std::string id = c.host_id();
  c.session() << c.sql("DELETE FROM turn_locks WHERE host_id = ?"), use(id), now;
  c.session() << c.sql("DELETE FROM hosts WHERE id = ?"), use(id), now;
}

std::int64_t count_alive(Conn& c, std::int64_t alive_since_ms) {
  Poco::Int64 since = alive_since_ms;
  Statement st(c.session());
  st << c.sql("SELECT COUNT(*) FROM hosts WHERE heartbeat_at >= ?"), use(since);
  return scalar(st);
}

}  // namespace hosts

namespace turn_locks {

bool take(Conn& c, std::int64_t session_id, std::int64_t at_ms, std::int64_t alive_since_ms,
          std::int64_t taken_before_ms) {
  return c.prepared("INSERT INTO turn_locks (session_id, host_id, taken_at) VALUES (?, ?, ?) ON CONFLICT (session_id) "
                    "DO UPDATE SET host_id = excluded.host_id, taken_at = excluded.taken_at "
                    "WHERE turn_locks.taken_at < ? OR NOT EXISTS (SELECT 1 FROM hosts h "
                    "WHERE h.id = turn_locks.host_id AND h.heartbeat_at >= ?)",
                    {Poco::Int64{session_id}, c.host_id(), Poco::Int64{at_ms}, Poco::Int64{taken_before_ms},
                     Poco::Int64{alive_since_ms}})
             .execute() > 0;
}

void release(Conn& c, std::int64_t session_id) {
  c.prepared("DELETE FROM turn_locks WHERE session_id = ? AND host_id = ?", {Poco::Int64{session_id}, c.host_id()})
      .execute();
}

}  // namespace turn_locks

namespace store {

std::int64_t version(Conn& c) { return scalar(c.prepared("SELECT version FROM store_version WHERE id = 1", {})); }

std::optional<std::string> master_key_check(Conn& c) {
  Statement st(c.session());
  st << "SELECT sealed FROM master_key_check WHERE id = 1";
  st.execute();
  RecordSet rs(st);
  if (rs.rowCount() == 0) return std::nullopt;
  return str_at(rs, 0, 0);
}

void set_master_key_check(Conn& c, const std::string& sealed) {
  std::string value = sealed;
  c.session() << c.sql("INSERT INTO master_key_check (id, sealed) VALUES (1, ?) ON CONFLICT (id) DO NOTHING"),
      use(value), now;
}

}  // namespace store

}  // namespace switchboard::storage
