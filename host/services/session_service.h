// File: host/services/session_service.h
//
// Chat sessions: each bound to an LLM config that it exposes as an object.
// Every call is scoped to an owner: another owner's session is "not found".
#pragma once

#include "host/services/config_service.h"
#include "host/services/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace switchboard {

namespace storage {
class Database;
}

struct SessionInfo {
  std::int64_t id = 0;
  std::string title;
  std::string system_prompt;  // "" : none
  std::optional<double> temperature;  // for turns that give none; none: 0.7
  std::string owner;
  std::int64_t config_id = 0;
  ConfigInfo config;  // the bound config, as an object
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::int64_t message_count = 0;  // every stored message, superseded replies included
};

struct SessionPage {
  std::vector<SessionInfo> sessions;
  std::int64_t total = 0;
  std::int64_t limit = 0;
  std::int64_t offset = 0;
};

class SessionService {
 public:
  SessionService(storage::Database& db, ConfigService& configs);

  // With config_id (a config the caller can see), or the caller's default config when absent.
  Result<SessionInfo> create(const Caller& caller, const std::string& title,
                             std::optional<std::int64_t> config_id);
  // Most recently updated first.
  Result<SessionPage> list(const Caller& caller, std::int64_t limit, std::int64_t offset);
  // The caller's sessions whose title or any message contains `text` (1 to
  // 200 characters, case-insensitive for ASCII), most recently updated first.
  Result<SessionPage> search(const Caller& caller, const std::string& text, std::int64_t limit,
                             std::int64_t offset);
  Result<SessionInfo> get(const Caller& caller, std::int64_t id);
  Result<SessionInfo> rename(const Caller& caller, std::int64_t id, const std::string& title);
  Result<SessionInfo> switch_config(const Caller& caller, std::int64_t id, std::int64_t config_id);
  // Sent first in every turn's history; "" removes it. At most kMaxSystemPromptChars.
  Result<SessionInfo> set_system_prompt(const Caller& caller, std::int64_t id, const std::string& prompt);
  // The temperature of turns that give none (0..2); none clears it (0.7).
  Result<SessionInfo> set_temperature(const Caller& caller, std::int64_t id, std::optional<double> temperature);
  // Deletes the session and its messages.
  Result<Unit> remove(const Caller& caller, std::int64_t id);
  Result<std::vector<storage::Message>> messages(const Caller& caller, std::int64_t id);

 private:
  storage::Database& db_;
  ConfigService& configs_;
};

SessionInfo to_info(const storage::Session& session);
// A session as a Markdown document: its title, then each message of the
// conversation (superseded replies left out) under a heading naming its author.
std::string session_markdown(const SessionInfo& session, const std::vector<storage::Message>& messages);
Result<Unit> validate_title(const std::string& title);
inline constexpr std::size_t kMaxSystemPromptChars = 20000;
Result<Unit> validate_system_prompt(const std::string& prompt);
Result<Unit> validate_temperature(double temperature);

}  // namespace switchboard
