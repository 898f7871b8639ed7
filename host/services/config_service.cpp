// File: host/services/config_service.cpp
//
// LLM configs, the effective-config merge, and the default-config lookup.
#include "host/services/config_service.h"

#include "host/log.h"
#include "host/plugins/plugin_registry.h"
#include "host/services/labels.h"
#include "host/services/option_schema.h"
#include "host/services/resilience.h"
#include "host/services/upstream_url.h"
#include "storage/database.h"
#include "storage/repositories.h"

#include "host/services/auth_service.h"
#include "host/services/crypto.h"

#include <Poco/Exception.h>
#include <Poco/String.h>
#include <Poco/URI.h>

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

// --- secrets ---------------------------------------------------------------------
//
// A plugin marks its secret config fields in its config_schema: "secret": true
// for a whole field (an api_key), "secret_keys": [...] for the entries of an
// object field that are (the credentials among "headers", matched without
// regard to case), and "env": true for a field that names an environment
// variable of the host. The host keeps no list of names of its own.

bool schema_flag(const Json& schema, const std::string& key, const char* flag) {
  return schema.is_object() && schema.contains(key) && schema[key].is_object() && schema[key].value(flag, false);
}

bool is_secret_entry(const Json& schema, const std::string& key, const std::string& entry) {
  if (!schema.is_object() || !schema.contains(key) || !schema[key].is_object()) return false;
  const Json& keys = schema[key].value("secret_keys", Json::array());
  if (!keys.is_array()) return false;
  for (const auto& k : keys)
    if (k.is_string() && Poco::icompare(k.get<std::string>(), entry) == 0) return true;
  return false;
}

// options → (readable options, secret fields with their plain values).
std::pair<Json, Json> split_secrets(const Json& options, const Json& schema) {
  Json visible = Json::object(), secret = Json::object();
  for (const auto& [key, value] : options.items()) {
    if (schema_flag(schema, key, "secret")) {
      secret[key] = value;
    } else if (value.is_object()) {
      Json kept = Json::object();
      for (const auto& [entry, v] : value.items()) {
        if (is_secret_entry(schema, key, entry))
          secret[key][entry] = v;
        else
          kept[entry] = v;
      }
      visible[key] = std::move(kept);
    } else {
      visible[key] = value;
    }
  }
  return {visible, secret};
}

bool empty_secret(const Json& v) { return v.is_null() || (v.is_string() && v.get<std::string>().empty()); }

// Seals each plain leaf of `plain` into `into` (one or two levels, as
// split_secrets makes them); an empty value removes the stored one.
void seal_into(Json& into, const Json& plain, const crypto::SecretBox& box) {
  for (const auto& [key, value] : plain.items()) {
    if (value.is_object()) {
      if (!into.contains(key) || !into[key].is_object()) into[key] = Json::object();
      for (const auto& [entry, v] : value.items()) {
        if (empty_secret(v))
          into[key].erase(entry);
        else
          into[key][entry] = box.seal(v.is_string() ? v.get<std::string>() : v.dump());
      }
      if (into[key].empty()) into.erase(key);
    } else if (empty_secret(value)) {
      into.erase(key);
    } else {
      into[key] = box.seal(value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
}

Json parse_or_empty(const std::optional<std::string>& text) {
  if (!text || text->empty()) return Json::object();
  try {
    Json j = Json::parse(*text);
    return j.is_object() ? j : Json::object();
  } catch (const Json::exception&) {
    return Json::object();
  }
}

// scheme://host:port of a URL (lower case, default ports written out), or "".
std::string origin_of(const std::string& url) {
  if (url.empty()) return "";
  try {
    const Poco::URI uri(url);
    std::string scheme = Poco::toLower(uri.getScheme()), host = Poco::toLower(uri.getHost());
    if (scheme.empty() || host.empty()) return "";
    return scheme + "://" + host + ":" + std::to_string(uri.getPort());
  } catch (const Poco::Exception&) {
    return "";
  }
}

std::string describe(const storage::LlmConfig& c) { return "config " + std::to_string(c.id) + " (" + c.name + ")"; }

}  // namespace

ConfigInfo to_info(const storage::LlmConfig& c) {
  ConfigInfo info;
  info.id = c.id;
  info.name = c.name;
  info.provider = c.provider;
  info.model_name = c.model_name;
  info.base_url = c.base_url;
  info.options_json = c.options_json.empty() ? "{}" : c.options_json;
  if (c.api_key && !c.api_key->empty()) info.secret_fields.push_back("api_key");
  const Json secret = parse_or_empty(c.secret_options);  // kept alive: items() refers to it
  for (const auto& [key, value] : secret.items()) {
    if (value.is_object())
      for (const auto& [entry, v] : value.items()) info.secret_fields.push_back("options." + key + "." + entry);
    else
      info.secret_fields.push_back("options." + key);
  }
  info.has_api_key = !info.secret_fields.empty();
  info.shared = !c.owner_user_id.has_value();
  info.created_at_ms = c.created_at_ms;
  info.updated_at_ms = c.updated_at_ms;
  return info;
}

ConfigService::ConfigService(storage::Database& db, const PluginRegistry& registry, const crypto::SecretBox& secrets,
                             ConfigPolicy policy)
    : db_(db), registry_(registry), secrets_(secrets), policy_(std::move(policy)) {}

bool ConfigService::visible(const storage::LlmConfig& c, const Caller& caller) {
  return !c.owner_user_id || *c.owner_user_id == caller.user_id;
}

// `options_json`: the options as the client sent them, secrets included.
Result<Unit> ConfigService::validate(const storage::LlmConfig& c, const std::string& options_json) const {
  if (c.name.empty()) return invalid("name", "name must not be empty");
  if (c.name.size() > kMaxNameLength)
    return invalid("name", "name must be at most " + std::to_string(kMaxNameLength) + " bytes");
  if (auto ok = check_label("name", c.name); !ok) return ok;
  if (c.model_name.size() > kMaxFieldLength) return invalid("model_name", "model_name is too long");
  if (auto ok = check_label("model_name", c.model_name); !ok) return ok;
  if (c.base_url.size() > kMaxFieldLength) return invalid("base_url", "base_url is too long");
  const auto provider = registry_.provider(c.provider);
  if (!provider) {
    std::string loaded;
    for (const auto& n : registry_.loaded_names()) loaded += (loaded.empty() ? "" : ", ") + n;
    return invalid("provider", "provider \"" + c.provider + "\" is not a loaded plugin (loaded: " +
                                   (loaded.empty() ? "none" : loaded) + ")");
  }
  const std::string schema_json = provider->description().config_schema_json;
  // The host's own keys (retries, fallbacks, the breaker) first; the plugin's schema judges the rest.
  if (auto policy = read_resilience(options_json); !policy) return policy.error();
  if (auto ok = check_options(schema_json, without_resilience(options_json), "options", "provider " + c.provider); !ok)
    return ok;
  // Which environment variables a config may name is the operator's call.
  const Json options = Json::parse(options_json.empty() ? "{}" : options_json);
  const Json schema = Json::parse(schema_json);
  for (const auto& [key, value] : options.items()) {
    if (!schema_flag(schema, key, "env") || !value.is_string() || value.get<std::string>().empty()) continue;
    if (c.owner_user_id)
      return invalid("options", "options." + key + ": a private config may not read the host's environment");
    if (!policy_.allowed_key_env.count(value.get<std::string>())) {
      std::string names;
      for (const auto& n : policy_.allowed_key_env) names += (names.empty() ? "" : ", ") + n;
      return invalid("options", "options." + key + " may name only a variable the operator allowed with "
                                "--allow-key-env (allowed: " + (names.empty() ? "none" : names) + ")");
    }
  }
  return Unit{};
}

Result<std::vector<ConfigInfo>> ConfigService::list(const Caller& caller) {
  return guarded<std::vector<ConfigInfo>>([&] {
    std::vector<ConfigInfo> out;
    for (const auto& c :
         db_.read([&](storage::Conn& conn) { return storage::configs::list_visible(conn, caller.user_id); }))
      out.push_back(with_breaker(to_info(c)));
    return out;
  });
}

Result<ConfigInfo> ConfigService::get(const Caller& caller, std::int64_t id) {
  return guarded<ConfigInfo>([&]() -> Result<ConfigInfo> {
    const auto c = db_.read([&](storage::Conn& conn) { return storage::configs::find(conn, id); });
    if (!c || !visible(*c, caller)) return not_found(id);
    return with_breaker(to_info(*c));
  });
}

ConfigInfo ConfigService::with_breaker(ConfigInfo info) const {
  info.breaker = breakers_.view(info.id);
  return info;
}

namespace {

// A config's fallbacks name other configs that everyone who may use it may
// use too: a shared config falls back to shared ones only.
Result<Unit> check_fallbacks(storage::Conn& conn, const storage::LlmConfig& c) {
  const auto policy = read_resilience(c.options_json);
  if (!policy) return policy.error();
  for (const std::int64_t id : policy->fallbacks) {
    if (id == c.id) return invalid("options", "options.fallbacks may not name the config itself");
    const auto other = storage::configs::find(conn, id);
    if (!other || (other->owner_user_id && other->owner_user_id != c.owner_user_id))
      return invalid("options", "options.fallbacks names no config " + std::to_string(id) +
                                    (c.owner_user_id ? " of yours or shared" : " that is shared"));
  }
  return Unit{};
}

// Applies `input` over `c` (the stored config, or a new one): readable
// options replace the old ones; secrets supplied are sealed and replace
// theirs, others are kept — unless the provider or the base_url's origin
// changes, which drops every secret the request did not supply, so that a
// stored key is never sent to a host it was not entered for.
Result<Unit> apply_input(storage::LlmConfig& c, const ConfigInput& input, const Json& schema,
                         const std::string& effective_base_url_after, const crypto::SecretBox& box) {
  const std::string old_origin = c.secret_origin;
  const std::string old_provider = c.provider;
  if (input.name) c.name = *input.name;
  if (input.provider) c.provider = *input.provider;
  if (input.model_name) c.model_name = *input.model_name;
  if (input.base_url) c.base_url = *input.base_url;

  Json secret_plain = Json::object();
  if (input.options_json) {
    auto [readable, secret] = split_secrets(Json::parse(*input.options_json), schema);
    c.options_json = readable.dump();
    secret_plain = std::move(secret);
  }
  Json sealed = parse_or_empty(c.secret_options);
  std::optional<std::string> key = c.api_key;
  const std::string new_origin = origin_of(effective_base_url_after);
  const bool had_secrets = c.api_key.has_value() || c.secret_options.has_value();
  if ((c.id != 0 && old_provider != c.provider) || (had_secrets && old_origin != new_origin)) {
    sealed = Json::object();
    key.reset();
  }
  seal_into(sealed, secret_plain, box);
  if (input.api_key) {
    if (*input.api_key && !(*input.api_key)->empty())
      key = box.seal(**input.api_key);
    else
      key.reset();
  }
  c.api_key = key;
  c.secret_options = sealed.empty() ? std::nullopt : std::optional(sealed.dump());
  c.secret_origin = (key || !sealed.empty()) ? new_origin : "";
  return Unit{};
}

}  // namespace

Result<ConfigInfo> ConfigService::create(const Caller& caller, const ConfigInput& input) {
  if (!caller.admin() && !policy_.allow_user_configs)
    return permission_denied("only admins create LLM configs (a host started with --allow-user-configs lets "
                             "users create private ones)");
  storage::LlmConfig c;
  if (!input.name) return invalid("name", "name is required");
  if (!input.provider) return invalid("provider", "provider is required");
  if (!caller.admin()) c.owner_user_id = caller.user_id;
  c.name = *input.name;
  c.provider = *input.provider;
  storage::LlmConfig probe = c;
  probe.model_name = input.model_name.value_or("");
  probe.base_url = input.base_url.value_or("");
  probe.options_json = input.options_json.value_or("{}");
  if (auto ok = check_upstream_fields(probe, ca_dir_); !ok) return ok.error();
  if (auto ok = validate(probe, probe.options_json); !ok) return ok.error();
  ConfigInput normalised = input;
  if (input.base_url) normalised.base_url = probe.base_url;
  // validate() found the provider; a reload may have taken it since.
  const auto provider = registry_.provider(c.provider);
  if (!provider) return invalid("provider", "provider \"" + c.provider + "\" was unloaded; try again");
  const Json schema = Json::parse(provider->description().config_schema_json);
  if (auto ok = apply_input(c, normalised, schema, effective_base_url(probe), secrets_); !ok) return ok.error();
  forget_cached();
  return guarded<ConfigInfo>([&]() -> Result<ConfigInfo> {
    return db_.write([&](storage::Conn& conn) -> Result<ConfigInfo> {
      if (storage::configs::find_by_name(conn, c.name))
        return Error{ErrorKind::Conflict, "config_name_taken",
                     "an LLM config named \"" + c.name + "\" already exists", "name"};
      if (auto ok = check_fallbacks(conn, c); !ok) return ok.error();
      c.id = storage::configs::insert(conn, c);
      AuthService::record(conn, caller, "config.create", describe(c),
                          std::string(c.owner_user_id ? "private" : "shared") + ", provider " + c.provider);
      return to_info(*storage::configs::find(conn, c.id));
    });
  });
}

Result<ConfigInfo> ConfigService::update(const Caller& caller, std::int64_t id, const ConfigInput& input) {
  forget_cached();
  return guarded<ConfigInfo>([&]() -> Result<ConfigInfo> {
    return db_.write([&](storage::Conn& conn) -> Result<ConfigInfo> {
      auto current = storage::configs::find(conn, id);
      if (!current || !visible(*current, caller)) return not_found(id);
      if (!current->owner_user_id && !caller.admin()) return permission_denied("only admins change shared LLM configs");
      storage::LlmConfig c = *current;
      storage::LlmConfig probe = c;
      if (input.name) probe.name = *input.name;
      if (input.provider) probe.provider = *input.provider;
      if (input.model_name) probe.model_name = *input.model_name;
      if (input.base_url) probe.base_url = *input.base_url;
      if (input.options_json) probe.options_json = *input.options_json;
      if (auto ok = check_upstream_fields(probe, ca_dir_); !ok) return ok.error();
      if (auto ok = validate(probe, probe.options_json); !ok) return ok.error();
      ConfigInput normalised = input;
      if (input.base_url) normalised.base_url = probe.base_url;
      const auto provider = registry_.provider(probe.provider);
      if (!provider) return invalid("provider", "provider \"" + probe.provider + "\" was unloaded; try again");
      const Json schema = Json::parse(provider->description().config_schema_json);
      if (auto ok = apply_input(c, normalised, schema, effective_base_url(probe), secrets_); !ok) return ok.error();
      if (c.name != current->name) {
        const auto other = storage::configs::find_by_name(conn, c.name);
        if (other && other->id != id)
          return Error{ErrorKind::Conflict, "config_name_taken",
                       "an LLM config named \"" + c.name + "\" already exists", "name"};
      }
      if (auto ok = check_fallbacks(conn, c); !ok) return ok.error();
      storage::configs::update(conn, c);
      std::string changed;
      for (const auto& [field, given] : {std::pair{"name", input.name.has_value()},
                                         {"provider", input.provider.has_value()},
                                         {"model_name", input.model_name.has_value()},
                                         {"base_url", input.base_url.has_value()},
                                         {"options", input.options_json.has_value()},
                                         {"api_key", input.api_key.has_value()}})
        if (given) changed += (changed.empty() ? "" : ", ") + std::string(field);
      if (current->secret_origin != c.secret_origin && (current->api_key || current->secret_options))
        changed += "; stored secrets dropped (origin changed)";
      AuthService::record(conn, caller, "config.update", describe(c), "changed " + changed);
      return to_info(*storage::configs::find(conn, id));
    });
  });
}

Result<Unit> ConfigService::remove(const Caller& caller, std::int64_t id) {
  forget_cached();
  return guarded<Unit>([&]() -> Result<Unit> {
    return db_.write([&](storage::Conn& conn) -> Result<Unit> {
      const auto c = storage::configs::find(conn, id);
      if (!c || !visible(*c, caller)) return not_found(id);
      if (!c->owner_user_id && !caller.admin()) return permission_denied("only admins delete shared LLM configs");
      const std::int64_t users = storage::configs::count_sessions_using(conn, id);
      if (users > 0)
        return Error{ErrorKind::Conflict, "config_in_use",
                     "LLM config " + std::to_string(id) + " is used by " + std::to_string(users) +
                         (users == 1 ? " session" : " sessions") +
                         "; switch or delete those sessions first",
                     ""};
      storage::configs::remove(conn, id);
      AuthService::record(conn, caller, "config.delete", describe(*c));
      return Unit{};
    });
  });
}

Result<storage::LlmConfig> ConfigService::default_config_record(const Caller& caller) {
  return guarded<storage::LlmConfig>([&]() -> Result<storage::LlmConfig> {
    return db_.read([&](storage::Conn& conn) -> Result<storage::LlmConfig> {
      if (const auto preferred = storage::preferences::default_config(conn, caller.owner())) {
        if (auto c = storage::configs::find(conn, *preferred); c && visible(*c, caller)) return *c;
      }
      if (auto first = storage::configs::find(conn, 1); first && visible(*first, caller)) return *first;
      return Error{ErrorKind::Conflict, "no_default_config", kNoDefaultMessage, ""};
    });
  });
}

// A resolved config holds its plugin's defaults: a plugin reload voids them.
// Called with cache_mutex_ held.
void ConfigService::forget_if_plugins_changed() {
  if (const auto generation = registry_.generation(); generation != cache_generation_) {
    by_id_.clear();
    by_name_.clear();
    cache_generation_ = generation;
  }
}

void ConfigService::forget_cached() {
  std::lock_guard guard(cache_mutex_);
  by_id_.clear();
  by_name_.clear();
}

std::shared_ptr<const ResolvedConfig> ConfigService::resolve(const storage::LlmConfig& config) {
  {
    std::lock_guard guard(cache_mutex_);
    forget_if_plugins_changed();
    const auto it = by_id_.find(config.id);
    if (it != by_id_.end() && it->second->record.updated_at_ms == config.updated_at_ms &&
        it->second->record.name == config.name)
      return it->second;
  }
  auto resolved = std::make_shared<ResolvedConfig>();
  resolved->record = config;
  resolved->effective_json = effective_config_json(config, &resolved->secrets);
  resolved->model = effective_model(config);
  if (auto policy = read_resilience(config.options_json)) resolved->resilience = policy.value();
  std::lock_guard guard(cache_mutex_);
  if (by_id_.size() > 4096) by_id_.clear();
  by_id_[config.id] = resolved;
  return resolved;
}

// The cached value with the provider handle of this moment. The handle is
// never cached: a replaced or removed plugin must be free to unload.
std::shared_ptr<const ResolvedConfig> ConfigService::with_provider(std::shared_ptr<const ResolvedConfig> cached) const {
  auto call = std::make_shared<ResolvedConfig>(*cached);
  call->provider = registry_.provider(cached->record.provider);
  return call;
}

Result<std::shared_ptr<const ResolvedConfig>> ConfigService::resolve_for_call(const storage::LlmConfig& config) {
  auto resolved = with_provider(resolve(config));
  if (!resolved->provider)
    return Error{ErrorKind::Unavailable, "provider_unavailable",
                 "provider \"" + config.provider + "\" of LLM config \"" + config.name + "\" (" +
                     std::to_string(config.id) + ") is not loaded; see GET /api/providers",
                 ""};
  return resolved;
}

std::vector<std::shared_ptr<const ResolvedConfig>> ConfigService::fallbacks_of(const Caller& caller,
                                                                                const ResolvedConfig& primary) {
  std::vector<std::shared_ptr<const ResolvedConfig>> out;
  if (primary.resilience.fallbacks.empty()) return out;
  try {
    const auto records = db_.read([&](storage::Conn& conn) {
      std::vector<storage::LlmConfig> found;
      for (const std::int64_t id : primary.resilience.fallbacks)
        if (auto c = storage::configs::find(conn, id); c && visible(*c, caller)) found.push_back(*c);
      return found;
    });
    for (const auto& c : records) out.push_back(resolve(c));
  } catch (const std::exception& e) {
    log::chat().error("cannot read the fallbacks of config " + std::to_string(primary.record.id) + ": " + e.what());
  }
  return out;
}

std::vector<Candidate> ConfigService::candidates(const Caller& caller, const ResolvedConfig& primary,
                                                std::shared_ptr<LoadedProvider> provider, const ProviderRequest& base,
                                                const std::function<bool(const LoadedProvider&)>& accepts) {
  std::vector<Candidate> out;
  auto add = [&](const ResolvedConfig& rc, std::shared_ptr<LoadedProvider> p) {
    Candidate c;
    c.config_id = rc.record.id;
    c.config_name = rc.record.name;
    c.provider_name = rc.record.provider;
    c.model = rc.model;
    c.provider = std::move(p);
    c.request = base;
    c.request.model = rc.model;
    c.request.config_json = rc.effective_json;
    c.policy = rc.resilience;
    c.secrets = rc.secrets;
    out.push_back(std::move(c));
  };
  add(primary, std::move(provider));
  for (const auto& fallback : fallbacks_of(caller, primary))
    if (auto p = registry_.provider(fallback->record.provider); p && accepts(*p)) add(*fallback, std::move(p));
  return out;
}

Result<std::shared_ptr<const ResolvedConfig>> ConfigService::resolve_by_name(const Caller& caller,
                                                                             const std::string& name) {
  auto missing = [&] {
    return Error{ErrorKind::NotFound, "model_not_found",
                 "no LLM config named \"" + name + "\" (GET /v1/models lists them)", "model"};
  };
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard guard(cache_mutex_);
    forget_if_plugins_changed();
    const auto it = by_name_.find(name);
    if (it != by_name_.end() && it->second.expires > now) {
      if (!visible(it->second.config->record, caller)) return missing();
      return with_provider(it->second.config);
    }
  }
  std::optional<storage::LlmConfig> record;
  try {
    record = db_.read([&](storage::Conn& conn) { return storage::configs::find_by_name(conn, name); });
  } catch (const std::exception& e) {
    return storage_failure(e);
  }
  if (!record) return missing();
  auto resolved = resolve(*record);
  {
    std::lock_guard guard(cache_mutex_);
    if (by_name_.size() > 4096) by_name_.clear();
    by_name_[name] = {resolved, now + std::chrono::seconds(1)};
  }
  if (!visible(*record, caller)) return missing();
  return with_provider(resolved);
}

Result<ConfigInfo> ConfigService::default_config(const Caller& caller) {
  auto record = default_config_record(caller);
  if (!record) return record.error();
  return to_info(record.value());
}

Result<std::optional<std::int64_t>> ConfigService::preferred(const Caller& caller) {
  return guarded<std::optional<std::int64_t>>([&] {
    return db_.read([&](storage::Conn& conn) {
      auto id = storage::preferences::default_config(conn, caller.owner());
      // A preference whose config is gone (or no longer visible) reads as none.
      if (id) {
        const auto c = storage::configs::find(conn, *id);
        if (!c || !visible(*c, caller)) id.reset();
      }
      return id;
    });
  });
}

Result<ConfigInfo> ConfigService::set_preferred(const Caller& caller, std::int64_t config_id) {
  return guarded<ConfigInfo>([&]() -> Result<ConfigInfo> {
    return db_.write([&](storage::Conn& conn) -> Result<ConfigInfo> {
      const auto c = storage::configs::find(conn, config_id);
      if (!c || !visible(*c, caller)) return not_found(config_id);
      storage::preferences::set_default_config(conn, caller.owner(), config_id);
      return to_info(*c);
    });
  });
}

Result<Unit> ConfigService::clear_preferred(const Caller& caller) {
  return guarded<Unit>([&] {
    db_.write([&](storage::Conn& conn) { storage::preferences::clear_default_config(conn, caller.owner()); });
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

std::string ConfigService::effective_base_url(const storage::LlmConfig& c) const {
  if (!c.base_url.empty()) return c.base_url;
  if (const auto provider = registry_.provider(c.provider)) {
    const Json d = Json::parse(provider->description().default_config_json);
    if (d.is_object() && d.contains("base_url") && d["base_url"].is_string()) return d["base_url"].get<std::string>();
  }
  return "";
}

std::string redact_secrets(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.size() < 4) continue;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
      text.replace(at, secret.size(), "[redacted]");
  }
  return text;
}

std::string ConfigService::effective_config_json(const storage::LlmConfig& c) const {
  return effective_config_json(c, nullptr);
}

std::string ConfigService::effective_config_json(const storage::LlmConfig& c, std::vector<std::string>* opened) const {
  // Each opened secret, and the token of a "Bearer <token>" value on its own.
  auto keep = [&](const std::string& value) {
    if (!opened) return;
    opened->push_back(value);
    if (value.rfind("Bearer ", 0) == 0) opened->push_back(value.substr(7));
  };
  Json effective = Json::object();
  Json schema = Json::object();
  if (const auto provider = registry_.provider(c.provider)) {
    effective = Json::parse(provider->description().default_config_json);
    schema = Json::parse(provider->description().config_schema_json);
  }
  if (!effective.is_object()) effective = Json::object();
  if (!c.model_name.empty()) effective["model_name"] = c.model_name;
  if (!c.base_url.empty()) effective["base_url"] = c.base_url;
  try {
    const Json options = Json::parse(c.options_json.empty() ? "{}" : c.options_json);
    if (options.is_object())
      for (const auto& [key, value] : options.items())
        if (!is_resilience_option(key)) effective[key] = value;
  } catch (const Json::exception&) {
    // validate() refuses malformed options on write; an old row keeps the defaults.
  }
  // An environment variable only where the operator allowed it, and never
  // for a private config: a plugin default like OPENAI_API_KEY is no exception.
  if (schema.is_object())
    for (const auto& [key, field] : schema.items()) {
      if (!schema_flag(schema, key, "env") || !effective.contains(key)) continue;
      const Json& v = effective[key];
      if (c.owner_user_id || !v.is_string() || !policy_.allowed_key_env.count(v.get<std::string>()))
        effective[key] = "";
    }
  // Secrets go only toward the origin they were entered for.
  if (c.secret_origin == origin_of(effective_base_url(c))) {
    if (c.api_key)
      if (auto key = secrets_.open(*c.api_key)) {
        keep(*key);
        effective["api_key"] = *key;
      }
    const Json sealed = parse_or_empty(c.secret_options);  // kept alive: items() refers to it
    for (const auto& [key, value] : sealed.items()) {
      if (value.is_object()) {
        if (!effective.contains(key) || !effective[key].is_object()) effective[key] = Json::object();
        for (const auto& [entry, v] : value.items())
          if (v.is_string())
            if (auto plain = secrets_.open(v.get<std::string>())) {
              keep(*plain);
              effective[key][entry] = *plain;
            }
      } else if (value.is_string()) {
        if (auto plain = secrets_.open(value.get<std::string>())) {
          keep(*plain);
          effective[key] = *plain;
        }
      }
    }
  }
  return effective.dump();
}

Result<bool> ConfigService::check_master_key() {
  constexpr std::string_view kKnown = "switchboard master key check";
  auto checked = guarded<std::optional<bool>>([&] {
    return db_.write([&](storage::Conn& conn) -> std::optional<bool> {
      if (const auto sealed = storage::store::master_key_check(conn))
        return secrets_.open(*sealed) == std::optional<std::string>(kKnown) ? std::optional<bool>(false) : std::nullopt;
      storage::store::set_master_key_check(conn, secrets_.seal(kKnown));
      return true;
    });
  });
  if (!checked) return checked.error();
  if (!checked.value())
    return Error{ErrorKind::Conflict, "master_key_mismatch",
                 "the provider keys of this database are sealed under another master key: give this host the key "
                 "the others use (--secret-key-file or SWITCHBOARD_SECRET_KEY)",
                 ""};
  return *checked.value();
}

Result<int> ConfigService::seal_plaintext_secrets() {
  return guarded<int>([&] {
    return db_.write([&](storage::Conn& conn) {
      int changed = 0;
      for (auto c : storage::configs::list_unsealed(conn, std::string(crypto::SecretBox::kPrefix))) {
        Json schema = Json::object();
        if (const auto provider = registry_.provider(c.provider))
          schema = Json::parse(provider->description().config_schema_json);
        auto [readable, secret] = split_secrets(parse_or_empty(c.options_json), schema);
        const bool plain_key = c.api_key && !c.api_key->empty() && !crypto::SecretBox::is_sealed(*c.api_key);
        if (!plain_key && secret.empty()) continue;  // sealed already, or nothing secret
        Json sealed = parse_or_empty(c.secret_options);
        seal_into(sealed, secret, secrets_);
        if (plain_key) c.api_key = secrets_.seal(*c.api_key);
        if (c.api_key && c.api_key->empty()) c.api_key.reset();
        c.options_json = readable.dump();
        c.secret_options = sealed.empty() ? std::nullopt : std::optional(sealed.dump());
        c.secret_origin = (c.api_key || c.secret_options) ? origin_of(effective_base_url(c)) : "";
        storage::configs::update(conn, c);
        ++changed;
      }
      return changed;
    });
  });
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
