// File: host/services/config_service.cpp
//
// LLM configs, the effective-config merge, and the default-config lookup.
#include "host/services/config_service.h"

#include "host/plugins/plugin_registry.h"
#include "host/services/option_schema.h"
#include "host/services/upstream_url.h"
#include "storage/database.h"
#include "storage/repositories.h"

#include <nlohmann/json.hpp>

namespace switchboard {

namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxNameLength = 100;
constexpr std::size_t kMaxFieldLength = 2000;

const char* kNoDefaultMessage =
    "no default LLM config: create one with POST /api/configs (config 1 is the default), "
    "or choose one with PUT /api/preferences {\"default_config_id\": N}";

Error not_found(std::int64_t id) {
  return {ErrorKind::NotFound, "config_not_found", "no LLM config with id " + std::to_string(id), ""};
}

Error storage_failure(const std::exception& e) {
  // The cause goes to the log via the HTTP wrapper's caller; clients get a generic message.
  return {ErrorKind::Internal, "storage_error", std::string("storage failure: ") + e.what(), ""};
}

// Runs `body`, turning storage exceptions into an Error value.
template <typename T, typename F>
Result<T> guarded(F&& body) {
  try {
    return body();
  } catch (const storage::Conflict& e) {
    return Error{ErrorKind::Conflict, "conflict", e.what(), ""};
  } catch (const std::exception& e) {
    return storage_failure(e);
  }
}

}  // namespace

ConfigInfo to_info(const storage::LlmConfig& c) {
  ConfigInfo info;
  info.id = c.id;
  info.name = c.name;
  info.provider = c.provider;
  info.model_name = c.model_name;
  info.base_url = c.base_url;
  info.options_json = c.options_json.empty() ? "{}" : c.options_json;
  info.has_api_key = c.api_key.has_value() && !c.api_key->empty();
  info.created_at_ms = c.created_at_ms;
  info.updated_at_ms = c.updated_at_ms;
  return info;
}

ConfigService::ConfigService(storage::Database& db, const PluginRegistry& registry)
    : db_(db), registry_(registry) {}

Result<Unit> ConfigService::validate(const storage::LlmConfig& c) const {
  if (c.name.empty()) return invalid("name", "name must not be empty");
  if (c.name.size() > kMaxNameLength)
    return invalid("name", "name must be at most " + std::to_string(kMaxNameLength) + " bytes");
  if (c.model_name.size() > kMaxFieldLength) return invalid("model_name", "model_name is too long");
  if (c.base_url.size() > kMaxFieldLength) return invalid("base_url", "base_url is too long");
  const auto provider = registry_.provider(c.provider);
  if (!provider) {
    std::string loaded;
    for (const auto& n : registry_.loaded_names()) loaded += (loaded.empty() ? "" : ", ") + n;
    return invalid("provider", "provider \"" + c.provider + "\" is not a loaded plugin (loaded: " +
                                   (loaded.empty() ? "none" : loaded) + ")");
  }
  return check_options(provider->description().config_schema_json, c.options_json, "options",
                       "provider " + c.provider);
}

Result<std::vector<ConfigInfo>> ConfigService::list() {
  return guarded<std::vector<ConfigInfo>>([&] {
    std::vector<ConfigInfo> out;
    for (const auto& c : db_.read([](storage::Conn& conn) { return storage::configs::list(conn); }))
      out.push_back(to_info(c));
    return out;
  });
}

Result<ConfigInfo> ConfigService::get(std::int64_t id) {
  return guarded<ConfigInfo>([&]() -> Result<ConfigInfo> {
    const auto c = db_.read([&](storage::Conn& conn) { return storage::configs::find(conn, id); });
    if (!c) return not_found(id);
    return to_info(*c);
  });
}

Result<ConfigInfo> ConfigService::create(const ConfigInput& input) {
  storage::LlmConfig c;
  if (!input.name) return invalid("name", "name is required");
  if (!input.provider) return invalid("provider", "provider is required");
  c.name = *input.name;
  c.provider = *input.provider;
  c.model_name = input.model_name.value_or("");
  c.base_url = input.base_url.value_or("");
  c.options_json = input.options_json.value_or("{}");
  if (input.api_key) c.api_key = *input.api_key;
  if (auto ok = check_upstream_fields(c, ca_dir_); !ok) return ok.error();
  if (auto ok = validate(c); !ok) return ok.error();
  forget_cached();
  return guarded<ConfigInfo>([&]() -> Result<ConfigInfo> {
    return db_.write([&](storage::Conn& conn) -> Result<ConfigInfo> {
      if (storage::configs::find_by_name(conn, c.name))
        return Error{ErrorKind::Conflict, "config_name_taken",
                     "an LLM config named \"" + c.name + "\" already exists", "name"};
      const std::int64_t id = storage::configs::insert(conn, c);
      return to_info(*storage::configs::find(conn, id));
    });
  });
}

Result<ConfigInfo> ConfigService::update(std::int64_t id, const ConfigInput& input) {
  forget_cached();
  return guarded<ConfigInfo>([&]() -> Result<ConfigInfo> {
    return db_.write([&](storage::Conn& conn) -> Result<ConfigInfo> {
      auto current = storage::configs::find(conn, id);
      if (!current) return not_found(id);
      storage::LlmConfig c = *current;
      if (input.name) c.name = *input.name;
      if (input.provider) c.provider = *input.provider;
      if (input.model_name) c.model_name = *input.model_name;
      if (input.base_url) c.base_url = *input.base_url;
      if (input.options_json) c.options_json = *input.options_json;
      if (input.api_key) c.api_key = *input.api_key;
      if (auto ok = check_upstream_fields(c, ca_dir_); !ok) return ok.error();
      if (auto ok = validate(c); !ok) return ok.error();
      if (c.name != current->name) {
        const auto other = storage::configs::find_by_name(conn, c.name);
        if (other && other->id != id)
          return Error{ErrorKind::Conflict, "config_name_taken",
                       "an LLM config named \"" + c.name + "\" already exists", "name"};
      }
      storage::configs::update(conn, c);
      return to_info(*storage::configs::find(conn, id));
    });
  });
}

Result<Unit> ConfigService::remove(std::int64_t id) {
  forget_cached();
  return guarded<Unit>([&]() -> Result<Unit> {
    return db_.write([&](storage::Conn& conn) -> Result<Unit> {
      if (!storage::configs::find(conn, id)) return not_found(id);
      const std::int64_t users = storage::configs::count_sessions_using(conn, id);
      if (users > 0)
        return Error{ErrorKind::Conflict, "config_in_use",
                     "LLM config " + std::to_string(id) + " is used by " + std::to_string(users) +
                         (users == 1 ? " session" : " sessions") +
                         "; switch or delete those sessions first",
                     ""};
      storage::configs::remove(conn, id);
      return Unit{};
    });
  });
}

Result<storage::LlmConfig> ConfigService::default_config_record(const std::string& owner) {
  return guarded<storage::LlmConfig>([&]() -> Result<storage::LlmConfig> {
    return db_.read([&](storage::Conn& conn) -> Result<storage::LlmConfig> {
      if (const auto preferred = storage::preferences::default_config(conn, owner)) {
        if (auto c = storage::configs::find(conn, *preferred)) return *c;
      }
      if (auto first = storage::configs::find(conn, 1)) return *first;
      return Error{ErrorKind::Conflict, "no_default_config", kNoDefaultMessage, ""};
    });
  });
}

Result<storage::LlmConfig> ConfigService::record_by_name(const std::string& name) {
  return guarded<storage::LlmConfig>([&]() -> Result<storage::LlmConfig> {
    auto c = db_.read([&](storage::Conn& conn) { return storage::configs::find_by_name(conn, name); });
    if (!c)
      return Error{ErrorKind::NotFound, "model_not_found",
                   "no LLM config named \"" + name + "\" (GET /v1/models lists them)", "model"};
    return *c;
  });
}

void ConfigService::forget_cached() {
  std::lock_guard guard(cache_mutex_);
  by_id_.clear();
  by_name_.clear();
}

std::shared_ptr<const ResolvedConfig> ConfigService::resolve(const storage::LlmConfig& config) {
  {
    std::lock_guard guard(cache_mutex_);
    const auto it = by_id_.find(config.id);
    if (it != by_id_.end() && it->second->record.updated_at_ms == config.updated_at_ms &&
        it->second->record.name == config.name)
      return it->second;
  }
  auto resolved = std::make_shared<ResolvedConfig>(ResolvedConfig{config, effective_config_json(config), effective_model(config)});
  std::lock_guard guard(cache_mutex_);
  if (by_id_.size() > 4096) by_id_.clear();
  by_id_[config.id] = resolved;
  return resolved;
}

Result<std::shared_ptr<const ResolvedConfig>> ConfigService::resolve_by_name(const std::string& name) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard guard(cache_mutex_);
    const auto it = by_name_.find(name);
    if (it != by_name_.end() && it->second.expires > now) return it->second.config;
  }
  auto record = record_by_name(name);
  if (!record) return record.error();
  auto resolved = resolve(record.value());
  std::lock_guard guard(cache_mutex_);
  if (by_name_.size() > 4096) by_name_.clear();
  by_name_[name] = {resolved, now + std::chrono::seconds(1)};
  return resolved;
}

Result<ConfigInfo> ConfigService::default_config(const std::string& owner) {
  auto record = default_config_record(owner);
  if (!record) return record.error();
  return to_info(record.value());
}

Result<std::optional<std::int64_t>> ConfigService::preferred(const std::string& owner) {
  return guarded<std::optional<std::int64_t>>([&] {
    return db_.read([&](storage::Conn& conn) {
      auto id = storage::preferences::default_config(conn, owner);
      // A preference whose config is gone reads as none.
      if (id && !storage::configs::find(conn, *id)) id.reset();
      return id;
    });
  });
}

Result<ConfigInfo> ConfigService::set_preferred(const std::string& owner, std::int64_t config_id) {
  return guarded<ConfigInfo>([&]() -> Result<ConfigInfo> {
    return db_.write([&](storage::Conn& conn) -> Result<ConfigInfo> {
      const auto c = storage::configs::find(conn, config_id);
      if (!c) return not_found(config_id);
      storage::preferences::set_default_config(conn, owner, config_id);
      return to_info(*c);
    });
  });
}

Result<Unit> ConfigService::clear_preferred(const std::string& owner) {
  return guarded<Unit>([&] {
    db_.write([&](storage::Conn& conn) { storage::preferences::clear_default_config(conn, owner); });
    return Unit{};
  });
}

Result<bool> ConfigService::ensure_first_config(const std::string& default_config_json) {
  if (default_config_json.empty()) return false;
  storage::LlmConfig c;
  try {
    const Json d = Json::parse(default_config_json);
    c.provider = d.at("provider").get<std::string>();
    c.name = d.value("name", c.provider);
    c.model_name = d.value("model_name", std::string());
    c.base_url = d.value("base_url", std::string());
    c.options_json = d.value("options", Json::object()).dump();
  } catch (const Json::exception& e) {
    return invalid("default_config", std::string("plugins.json default_config: ") + e.what());
  }
  return guarded<bool>([&]() -> Result<bool> {
    return db_.write([&](storage::Conn& conn) -> Result<bool> {
      if (storage::configs::any(conn)) return false;
      storage::configs::insert(conn, c);
      return true;
    });
  });
}

std::string ConfigService::effective_config_json(const storage::LlmConfig& c) const {
  Json effective = Json::object();
  if (const auto provider = registry_.provider(c.provider))
    effective = Json::parse(provider->description().default_config_json);
  if (!effective.is_object()) effective = Json::object();
  if (!c.model_name.empty()) effective["model_name"] = c.model_name;
  if (!c.base_url.empty()) effective["base_url"] = c.base_url;
  if (c.api_key && !c.api_key->empty()) effective["api_key"] = *c.api_key;
  try {
    const Json options = Json::parse(c.options_json.empty() ? "{}" : c.options_json);
    if (options.is_object())
      for (const auto& [key, value] : options.items()) effective[key] = value;
  } catch (const Json::exception&) {
    // validate() refuses malformed options on write; an old row keeps the defaults.
  }
  return effective.dump();
}

std::string ConfigService::effective_model(const storage::LlmConfig& c) const {
  if (!c.model_name.empty()) return c.model_name;
  if (const auto provider = registry_.provider(c.provider)) {
    const Json d = Json::parse(provider->description().default_config_json);
    if (d.is_object() && d.contains("model_name") && d["model_name"].is_string())
      return d["model_name"].get<std::string>();
  }
  return "";
}

}  // namespace switchboard
