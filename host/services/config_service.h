// File: host/services/config_service.h
//
// LLM configs: CRUD with validation against the provider plugin's schema, the
// effective config (plugin defaults overridden field by field), the default
// config lookup and each user's preferred config. api_key is write-only: it is
// stored and passed to the provider, never returned.
#pragma once

#include "host/services/caller.h"
#include "host/services/resilience.h"
#include "host/services/result.h"
#include "storage/records.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace switchboard {

class LoadedProvider;
class PluginRegistry;
namespace storage {
class Database;
}
namespace crypto {
class SecretBox;
}

// A config as callers may see it: no api_key, only whether one is set.
struct ConfigInfo {
  std::int64_t id = 0;
  std::string name;
  std::string provider;
  std::string model_name;
  std::string base_url;
  std::string options_json = "{}";
  bool has_api_key = false;                // any secret is stored (api_key or a secret option)
  std::vector<std::string> secret_fields;  // which ones, e.g. "api_key", "options.headers.Authorization"
  bool shared = true;                      // false: private to the user who made it
  BreakerView breaker;                     // its circuit breaker in this host
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

// What the operator allows configs to do (HostOptions carries the same).
struct ConfigPolicy {
  bool allow_user_configs = false;         // users may make private configs
  std::set<std::string> allowed_key_env;   // variables an env-name option may name
};

// A stored config with what a provider call needs, computed once: the one
// value a turn or a completion uses after it picked its config (the record,
// the provider handle, the effective config, the model).
struct ResolvedConfig {
  storage::LlmConfig record;
  std::shared_ptr<LoadedProvider> provider;  // the loaded plugin, set per call (never cached); nullptr: not loaded
  std::string effective_json;  // plugin defaults overridden field by field
  std::string model;           // the model really used
  std::vector<std::string> secrets;  // the opened secret values, to scrub from what comes back
  ResiliencePolicy resilience;       // retries, fallbacks, breaker: the host's keys of its options
};

// `text` with every occurrence of each secret (of 4 characters or more)
// replaced by "[redacted]": a provider's error message may quote what it was
// sent, and the host knows what it sent even when a third-party plugin forgets.
std::string redact_secrets(std::string text, const std::vector<std::string>& secrets);

class ConfigService {
 public:
  ConfigService(storage::Database& db, const PluginRegistry& registry, const crypto::SecretBox& secrets,
                ConfigPolicy policy = {});

  // Shared configs are made, changed and deleted by admins and used by all;
  // a private config (ConfigPolicy::allow_user_configs) is seen and used by
  // its maker only. A config the caller cannot see does not exist for them.
  Result<std::vector<ConfigInfo>> list(const Caller& caller);
  Result<ConfigInfo> get(const Caller& caller, std::int64_t id);
  Result<ConfigInfo> create(const Caller& caller, const ConfigInput& input);
  Result<ConfigInfo> update(const Caller& caller, std::int64_t id, const ConfigInput& input);
  // Refused with 409 config_in_use (naming how many sessions use it) while sessions use it.
  Result<Unit> remove(const Caller& caller, std::int64_t id);
  static bool visible(const storage::LlmConfig& config, const Caller& caller);

  // The caller's preferred config if set and still visible, else config 1,
  // else a Conflict "no_default_config" saying how to create one.
  Result<ConfigInfo> default_config(const Caller& caller);
  // The config named `name`, resolved for a provider call, from a cache: a
  // name is looked up again after a second (another host may have changed
  // it) and at once after any change made through this service.
  Result<std::shared_ptr<const ResolvedConfig>> resolve_by_name(const Caller& caller, const std::string& name);
  // `config` resolved, cached while its updated_at stays the same.
  std::shared_ptr<const ResolvedConfig> resolve(const storage::LlmConfig& config);
  // `config` resolved for a call: 503 provider_unavailable when its plugin is not loaded.
  Result<std::shared_ptr<const ResolvedConfig>> resolve_for_call(const storage::LlmConfig& config);
  Result<storage::LlmConfig> default_config_record(const Caller& caller);
  // The configs `primary` falls back to, in order, resolved: those the caller
  // may use and that still exist.
  std::vector<std::shared_ptr<const ResolvedConfig>> fallbacks_of(const Caller& caller, const ResolvedConfig& primary);
  // The calls that may answer a turn (host/services/resilience.h): `base` —
  // messages, temperature, max_tokens, per-request options — sent to
  // `primary` through `provider`, then to each fallback whose provider is
  // loaded and `accepts` the request as it is.
  std::vector<Candidate> candidates(const Caller& caller, const ResolvedConfig& primary,
                                    std::shared_ptr<LoadedProvider> provider, const ProviderRequest& base,
                                    const std::function<bool(const LoadedProvider&)>& accepts);
  Result<std::optional<std::int64_t>> preferred(const Caller& caller);
  Result<ConfigInfo> set_preferred(const Caller& caller, std::int64_t config_id);
  Result<Unit> clear_preferred(const Caller& caller);

  // On first start with no config at all, creates one from plugins.json's
  // default_config (so it gets id 1). Returns whether it created one.
  Result<bool> ensure_first_config(const std::string& default_config_json);
  // Seals secrets stored in plain text by an older version (api_key, secret
  // option fields) and binds them to their origin. Returns how many configs changed.
  Result<int> seal_plaintext_secrets();
  // Whether this host's master key is the one the database's secrets are
  // sealed under (the first host to open the database records a check).
  // Another key: a Conflict naming the fix; true when the check was made now.
  Result<bool> check_master_key();

  // The provider's default config overridden by the stored one, as JSON:
  // model_name, base_url (when set), the options, and the secrets opened —
  // only while the base_url's origin is the one they were entered for.
  std::string effective_config_json(const storage::LlmConfig& config) const;
  // The same, also collecting the opened secret values into `secrets`.
  std::string effective_config_json(const storage::LlmConfig& config, std::vector<std::string>* secrets) const;
  // The model a turn with this config really uses (stored, else the plugin's default).
  std::string effective_model(const storage::LlmConfig& config) const;
  // Where a turn with this config connects (stored, else the plugin's default).
  std::string effective_base_url(const storage::LlmConfig& config) const;

  // The only directory a config's options.ca_file may name ("": none may be
  // set). Set once before serving (host/services/upstream_url.h).
  void set_ca_dir(std::string dir) { ca_dir_ = std::move(dir); }

  // Each config's circuit breaker (host/services/resilience.h), shared by both doors.
  CircuitBreakers& breakers() { return breakers_; }

  // Drops every cached resolution: configs changed through another host
  // (host/services/host_presence.h). Changes through this one drop it themselves.
  void forget_cached();

 private:
  std::shared_ptr<const ResolvedConfig> with_provider(std::shared_ptr<const ResolvedConfig> cached) const;
  Result<Unit> validate(const storage::LlmConfig& config, const std::string& options_json) const;
  ConfigInfo with_breaker(ConfigInfo info) const;
  void forget_if_plugins_changed();

  storage::Database& db_;
  const PluginRegistry& registry_;
  const crypto::SecretBox& secrets_;
  ConfigPolicy policy_;
  std::string ca_dir_;
  CircuitBreakers breakers_;

  struct Named {
    std::shared_ptr<const ResolvedConfig> config;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex cache_mutex_;
  std::uint64_t cache_generation_ = 0;  // registry_.generation() the cache was filled under
  std::unordered_map<std::int64_t, std::shared_ptr<const ResolvedConfig>> by_id_;
  std::unordered_map<std::string, Named> by_name_;
};

}  // namespace switchboard
