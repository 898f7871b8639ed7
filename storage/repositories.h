// File: storage/repositories.h
//
// Row <-> struct mappings for each table, as functions over a connection
// lent by Database::read/write. The SQL lives in repositories.cpp only.
#pragma once

#include "storage/database.h"
#include "storage/records.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::storage {

namespace configs {
std::vector<LlmConfig> list(Conn& c);
std::optional<LlmConfig> find(Conn& c, std::int64_t id);
std::optional<LlmConfig> find_by_name(Conn& c, const std::string& name);
std::int64_t insert(Conn& c, const LlmConfig& config);  // sets timestamps; returns the id
bool update(Conn& c, const LlmConfig& config);
bool remove(Conn& c, std::int64_t id);
std::int64_t count_sessions_using(Conn& c, std::int64_t id);
bool any(Conn& c);
// Shared configs plus those private to `user_id`.
std::vector<LlmConfig> list_visible(Conn& c, std::int64_t user_id);
// Configs whose secrets are still stored in plain text (from before sealing).
std::vector<LlmConfig> list_unsealed(Conn& c, const std::string& sealed_prefix);
}  // namespace configs

namespace sessions {
std::int64_t insert(Conn& c, const Session& session);  // sets timestamps; returns the id
std::optional<Session> find(Conn& c, std::int64_t id);   // with .config
bool exists(Conn& c, std::int64_t id);
// Most recently updated first (ties: newest id first).
std::vector<Session> list(Conn& c, const std::string& owner, std::int64_t limit, std::int64_t offset);
std::int64_t count(Conn& c, const std::string& owner);
// The owner's sessions whose title or any message contains `text` (case-
// insensitive for ASCII; matched literally, % and _ included), in list order.
std::vector<Session> search(Conn& c, const std::string& owner, const std::string& text, std::int64_t limit,
                            std::int64_t offset);
std::int64_t search_count(Conn& c, const std::string& owner, const std::string& text);
bool rename(Conn& c, std::int64_t id, const std::string& title);
bool set_config(Conn& c, std::int64_t id, std::int64_t config_id);
bool set_system_prompt(Conn& c, std::int64_t id, const std::string& prompt);
bool set_temperature(Conn& c, std::int64_t id, std::optional<double> temperature);  // none: clear
bool touch(Conn& c, std::int64_t id, std::int64_t at_ms);
bool remove(Conn& c, std::int64_t id);  // its messages go with it
}  // namespace sessions

namespace messages {
std::int64_t insert(Conn& c, const Message& message);  // returns the id
std::optional<Message> find(Conn& c, std::int64_t id);
std::vector<Message> list(Conn& c, std::int64_t session_id);  // oldest first
// Saves the outcome of a reply: content, status, tokens, finish reason, error,
// and the snapshot of the config that answered (a fallback, perhaps).
bool finish(Conn& c, const Message& message);
// Takes a reply out of the conversation (a regenerated one); it stays readable.
bool supersede(Conn& c, std::int64_t id);
// Deletes the messages of a session from `first_id` on (an edited message and what followed it).
std::int64_t remove_from(Conn& c, std::int64_t session_id, std::int64_t first_id);
// A checkpoint of a reply still streaming: `more` is appended to its content
// (only while it is "streaming"; a finished reply is left alone).
bool append_content(Conn& c, std::int64_t id, std::string_view more);
// Replies left "streaming" (by a crash) become "interrupted"; returns how many.
std::int64_t mark_interrupted(Conn& c);
// The same for the replies this connection's host (Conn::host_id) streamed
// in an earlier life, and those of unknown hosts (from before hosts had ids).
std::int64_t mark_interrupted_of_host(Conn& c);
}  // namespace messages

namespace preferences {
std::optional<std::int64_t> default_config(Conn& c, const std::string& owner);
void set_default_config(Conn& c, const std::string& owner, std::int64_t config_id);
void clear_default_config(Conn& c, const std::string& owner);
}  // namespace preferences

namespace users {
std::int64_t insert(Conn& c, const User& user);  // sets created_at; returns the id
std::optional<User> find(Conn& c, std::int64_t id);
std::optional<User> find_by_name(Conn& c, const std::string& name);
std::vector<User> list(Conn& c);
std::int64_t count(Conn& c);
// Removes the user with everything that is theirs: keys, sessions (and their
// messages), preferences and private configs.
bool remove(Conn& c, std::int64_t id);
// Sessions of owners that are no user (from before users existed) are given
// to `user_id`, with the preference of the old "default" owner; returns how
// many sessions moved.
std::int64_t adopt_ownerless(Conn& c, std::int64_t user_id);
}  // namespace users

namespace api_keys {
std::int64_t insert(Conn& c, const ApiKey& key);  // sets created_at; returns the id
std::optional<ApiKey> find(Conn& c, std::int64_t id);
// Keys whose prefix matches (usually one), revoked ones included.
std::vector<ApiKey> find_by_prefix(Conn& c, const std::string& prefix);
std::vector<ApiKey> list(Conn& c, std::optional<std::int64_t> user_id);  // all when none
bool revoke(Conn& c, std::int64_t id, std::int64_t at_ms);
void touch(Conn& c, std::int64_t id, std::int64_t at_ms);
}  // namespace api_keys

namespace audit {
void record(Conn& c, const AuditEntry& entry);  // sets at_ms when 0
std::vector<AuditEntry> list(Conn& c, std::int64_t limit, std::int64_t offset);  // newest first
std::int64_t count(Conn& c);
}  // namespace audit

// Hosts sharing the database: each has a row with a heartbeat (its lease).
// These act for the connection's host (Conn::host_id).
namespace hosts {
// Renews this host's heartbeat; `starting` also resets its start time and
// frees the turn locks of its earlier life.
void beat(Conn& c, std::int64_t at_ms, bool starting = false);
// Hosts silent since before `stale_before_ms` are dead: their streaming
// replies become "interrupted", their turn locks and rows go. Returns how many replies.
std::int64_t recover_dead(Conn& c, std::int64_t stale_before_ms);
// This host's row and turn locks go (a clean stop).
void leave(Conn& c);
std::int64_t count_alive(Conn& c, std::int64_t alive_since_ms);
}  // namespace hosts

// The turn of a session, held across hosts: a row per session being answered.
namespace turn_locks {
// Takes the session's lock for this host; true when taken. A lock held by a
// host silent since before `alive_since_ms`, or taken before `taken_before_ms`,
// is taken over.
bool take(Conn& c, std::int64_t session_id, std::int64_t at_ms, std::int64_t alive_since_ms,
          std::int64_t taken_before_ms);
void release(Conn& c, std::int64_t session_id);
}  // namespace turn_locks

// A counter of changes to configs, users, keys and preferences: a host that
// sees it move drops its caches.
namespace store {
std::int64_t version(Conn& c);
// A known text sealed under the master key of the host that first opened
// this database (none yet: nullopt); set once, never replaced.
std::optional<std::string> master_key_check(Conn& c);
void set_master_key_check(Conn& c, const std::string& sealed);
}  // namespace store

}  // namespace switchboard::storage
