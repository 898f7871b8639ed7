// File: storage/records.h
//
// The rows Switchboard keeps, as plain structs: what the repositories read
// and write. No database types leak out of storage/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace switchboard::storage {

struct LlmConfig {
  std::int64_t id = 0;
  std::string name;
  std::string provider;
  std::string model_name;
  std::string base_url;
  std::optional<std::string> api_key;  // stored for the provider; never returned by the API
  std::string options_json = "{}";
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct Session {
  std::int64_t id = 0;
  std::string title;
  std::int64_t config_id = 0;
  std::string owner;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<LlmConfig> config;  // loaded by the repository with the session
};

struct Message {
  std::int64_t id = 0;
  std::int64_t session_id = 0;
  std::string role;     // "user" or "assistant"
  std::string content;
  std::string status;   // complete, streaming, cancelled, error, interrupted
  std::string llm_provider;    // snapshot of what made (or was asked for) this turn
  std::string llm_model_name;
  std::optional<std::int64_t> config_id;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::string finish_reason;
  std::string error_code;
  std::string error_message;
  std::int64_t created_at_ms = 0;
};

}  // namespace switchboard::storage
