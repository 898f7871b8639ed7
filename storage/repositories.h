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
}  // namespace configs

namespace sessions {
std::int64_t insert(Conn& c, const Session& session);  // sets timestamps; returns the id
std::optional<Session> find(Conn& c, std::int64_t id);   // with .config
// Most recently updated first (ties: newest id first).
std::vector<Session> list(Conn& c, const std::string& owner, std::int64_t limit, std::int64_t offset);
std::int64_t count(Conn& c, const std::string& owner);
bool rename(Conn& c, std::int64_t id, const std::string& title);
bool set_config(Conn& c, std::int64_t id, std::int64_t config_id);
bool touch(Conn& c, std::int64_t id, std::int64_t at_ms);
bool remove(Conn& c, std::int64_t id);  // its messages go with it
}  // namespace sessions

namespace messages {
std::int64_t insert(Conn& c, const Message& message);  // returns the id
std::optional<Message> find(Conn& c, std::int64_t id);
std::vector<Message> list(Conn& c, std::int64_t session_id);  // oldest first
// Saves the outcome of a reply: content, status, tokens, finish reason, error.
bool finish(Conn& c, const Message& message);
// Replies left "streaming" (by a crash) become "interrupted"; returns how many.
std::int64_t mark_interrupted(Conn& c);
}  // namespace messages

namespace preferences {
std::optional<std::int64_t> default_config(Conn& c, const std::string& owner);
void set_default_config(Conn& c, const std::string& owner, std::int64_t config_id);
void clear_default_config(Conn& c, const std::string& owner);
}  // namespace preferences

}  // namespace switchboard::storage
