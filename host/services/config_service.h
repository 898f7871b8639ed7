// File: host/services/config_service.h
//
// LLM configs: CRUD with validation against the provider plugin's schema, the
// effective config (plugin defaults overridden field by field), the default
// config lookup and each user's preferred config. api_key is write-only: it is
// stored and passed to the provider, never returned.
#pragma once

#include "host/services/result.h"
#include "storage/records.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace switchboard {

class PluginRegistry;
namespace storage {
class Database;
}

// A config as callers may see it: no api_key, only whether one is set.
struct ConfigInfo {
  std::int64_t id = 0;
  std::string name;
  std::string provider;
  std::string model_name;
  std::string base_url;
  std::string options_json = "{}";
  bool has_api_key = false;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// Fields to create or change; an absent field is left as it is (or defaulted on create).
struct ConfigInput {
  std::optional<std::string> name;
  std::optional<std::string> provider;
  std::optional<std::string> model_name;
  std::optional<std::string> base_url;
  std::optional<std::string> options_json;           // a JSON object
  std::optional<std::optional<std::string>> api_key;  // set, or clear with an inner nullopt
};

ConfigInfo to_info(const storage::LlmConfig& config);

// A stored config with what a provider call needs, computed once.
struct ResolvedConfig {
  storage::LlmConfig record;
  std::string effective_json;  // plugin defaults overridden field by field
  std::string model;           // the model really used
};

class ConfigService {
 public:
  ConfigService(storage::Database& db, const PluginRegistry& registry);

  Result<std::vector<ConfigInfo>> list();
  Result<ConfigInfo> get(std::int64_t id);
  Result<ConfigInfo> create(const ConfigInput& input);
  Result<ConfigInfo> update(std::int64_t id, const ConfigInput& input);
  // Refused with 409 config_in_use (naming how many sessions use it) while sessions use it.
  Result<Unit> remove(std::int64_t id);

  // The owner's preferred config if set and still present, else config 1,
  // else a Conflict "no_default_config" saying how to create one.
  Result<ConfigInfo> default_config(const std::string& owner);
  // The stored config named `name` (with its api_key), for the provider call only.
  Result<storage::LlmConfig> record_by_name(const std::string& name);
  // The same, resolved for a provider call, from a cache: a name is looked
  // up again after a second (another host may have changed it) and at once
  // after any change made through this service.
  Result<std::shared_ptr<const ResolvedConfig>> resolve_by_name(const std::string& name);
  // `config` resolved, cached while its updated_at stays the same.
  std::shared_ptr<const ResolvedConfig> resolve(const storage::LlmConfig& config);
  Result<storage::LlmConfig> default_config_record(const std::string& owner);
  Result<std::optional<std::int64_t>> preferred(const std::string& owner);
  Result<ConfigInfo> set_preferred(const std::string& owner, std::int64_t config_id);
  Result<Unit> clear_preferred(const std::string& owner);

  // On first start with no config at all, creates one from plugins.json's
  // default_config (so it gets id 1). Returns whether it created one.
  Result<bool> ensure_first_config(const std::string& default_config_json);

  // The provider's default config overridden by the stored one, as JSON:
  // model_name, base_url (when set), api_key (when set), then each options field.
  std::string effective_config_json(const storage::LlmConfig& config) const;
  // The model a turn with this config really uses (stored, else the plugin's default).
  std::string effective_model(const storage::LlmConfig& config) const;

  // The only directory a config's options.ca_file may name ("": none may be
  // set). Set once before serving (host/services/upstream_url.h).
  void set_ca_dir(std::string dir) { ca_dir_ = std::move(dir); }

 private:
  Result<Unit> validate(const storage::LlmConfig& config) const;
  void forget_cached();

  storage::Database& db_;
  const PluginRegistry& registry_;
  std::string ca_dir_;

  struct Named {
    std::shared_ptr<const ResolvedConfig> config;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex cache_mutex_;
  std::unordered_map<std::int64_t, std::shared_ptr<const ResolvedConfig>> by_id_;
  std::unordered_map<std::string, Named> by_name_;
};

}  // namespace switchboard
