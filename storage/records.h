// File: storage/records.h
//
// The rows Switchboard keeps, as plain structs: what the repositories read
// and write. No database types leak out of storage/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::storage {

struct LlmConfig {
  std::int64_t id = 0;
  std::string name;
  std::string provider;
  std::string model_name;
  std::string base_url;
  // Secrets are sealed (encrypted) by the host before they reach storage:
  // api_key and secret_options hold ciphertext, never a plain key.
  std::optional<std::string> api_key;         // sealed; never returned by the API
  std::string options_json = "{}";            // the non-secret options only
  // The secret option fields as JSON, each value sealed on its own (the
  // names are not secret): {"api_key": "sb1:…", "headers": {"Authorization": "sb1:…"}}.
  std::optional<std::string> secret_options;
  std::string secret_origin;                  // scheme://host:port the secrets were entered for
  std::optional<std::int64_t> owner_user_id;  // set: a user's private config; none: shared
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct Session {
  std::int64_t id = 0;
  std::string title;
  std::string system_prompt;  // "" : none
  std::optional<double> temperature;  // for turns that give none; none: 0.7
  std::int64_t config_id = 0;
  std::string owner;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<LlmConfig> config;  // loaded by the repository with the session
  std::int64_t message_count = 0;   // counted by the repository with the session
};

// Where a message stands. One enum for the services, the routes and the SQL;
// stored, and shown by the API and the page, by its name (status_name).
enum class MessageStatus {
  Complete,     // a user message accepted; a reply whole
  Streaming,    // a reply being written (checkpointed as it goes)
  Cancelled,    // the client stopped it; the partial reply is kept
  Error,        // the provider failed; the partial reply is kept with the code
  Interrupted,  // the host stopped or crashed under it; the checkpointed text is kept
};
const char* status_name(MessageStatus status);
// nullopt for a name this version does not know.
std::optional<MessageStatus> parse_status(std::string_view name);

struct Message {
  std::int64_t id = 0;
  std::int64_t session_id = 0;
  std::string role;     // "user" or "assistant"
  std::string content;
  MessageStatus status = MessageStatus::Complete;
  std::string llm_provider;    // snapshot of what made (or was asked for) this turn
  std::string llm_model_name;
  std::optional<std::int64_t> config_id;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::string finish_reason;
  std::string error_code;
  std::string error_message;
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> reply_to;  // assistant: the user message it answers
  bool superseded = false;  // a reply regenerated since: kept, but out of the model's history
};

struct User {
  std::int64_t id = 0;
  std::string name;
  std::string role;  // "admin" or "user"
  std::int64_t created_at_ms = 0;
};

// An API key as stored: its SHA-256, never the key itself.
struct ApiKey {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string name;
  std::string prefix;  // the key's first characters: identifies it, reveals nothing
  std::string hash;    // hex SHA-256 of the whole key
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> expires_at_ms;
  std::optional<std::int64_t> last_used_at_ms;
  std::optional<std::int64_t> revoked_at_ms;
};

struct AuditEntry {
  std::int64_t id = 0;
  std::int64_t at_ms = 0;
  std::optional<std::int64_t> actor_user_id;
  std::string actor_name;
  std::string action;  // e.g. "user.create", "key.revoke", "config.update"
  std::string target;  // e.g. "user 3 (alice)"
  std::string detail;  // what changed, never a secret
};

}  // namespace switchboard::storage
