// File: plugins/common/plugin_settings.h
//
// Reading the network settings every HTTP plugin shares from its effective
// config: timeouts and TLS options, with their defaults, and the host's
// upstream policy and CA directory (SB_HOST_SETTINGS_KEY).
#pragma once

#include "http_client.h"

#include <switchboard/provider.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace switchboard::plugins {

inline sdk::Json http_settings_defaults() {
  return {{"connect_timeout_ms", 5000}, {"first_byte_timeout_ms", 60000}, {"idle_timeout_ms", 30000},
          {"ca_file", ""}, {"insecure_skip_verify", false}};
}

inline sdk::Json http_settings_schema() {
  auto field = [](const char* type, const char* d) { return sdk::Json{{"type", type}, {"description", d}}; };
  // A timeout of 0 or less would fail every call; over 10 minutes holds a worker for nothing.
  auto timeout = [](const char* d) {
    return sdk::Json{{"type", "integer"}, {"description", d}, {"minimum", 1}, {"maximum", 600000}};
  };
  return {{"connect_timeout_ms", timeout("TCP/TLS connect timeout")},
          {"first_byte_timeout_ms", timeout("how long to wait for the answer to start")},
          {"idle_timeout_ms", timeout("longest silence between two chunks of a stream")},
          {"ca_file", field("string", "an extra CA certificate (PEM) to trust for https: a file in the host's --ca-dir")},
          {"insecure_skip_verify", field("boolean", "turn TLS certificate checks off (loudly logged; never in production)")}};
}

// A field of the effective config only: where to connect and with which
// credentials is the config's business, never a chat request's option.
template <typename T>
T config_value(const sdk::Json& config, const char* key, T fallback) {
  if (!config.is_object() || !config.contains(key) || config[key].is_null()) return fallback;
  try {
    return config[key].get<T>();
  } catch (const sdk::Json::exception&) {
    throw sdk::Error("invalid_config", std::string("config field ") + key + " has the wrong type");
  }
}

// A ca_file under the host's rule: a name relative to ca_dir, or a path
// inside it. The host checks this when a config is stored; this holds rows
// stored before it did. When the host names no ca_dir setting at all (a
// plugin driven directly) the path is taken as given.
inline std::string resolve_ca_file(const std::string& ca_file, const sdk::Json& host) {
  if (ca_file.empty() || !host.is_object() || !host.contains("ca_dir")) return ca_file;
  const std::string ca_dir = host.value("ca_dir", std::string());
  if (ca_dir.empty()) throw sdk::Error("invalid_config", "ca_file is set, but the host names no CA directory (--ca-dir)");
  std::filesystem::path dir = std::filesystem::path(ca_dir).lexically_normal();
  if (!dir.has_filename() && dir.has_relative_path()) dir = dir.parent_path();  // "/etc/ca/" → "/etc/ca"
  const std::filesystem::path file = (dir / ca_file).lexically_normal();  // an absolute ca_file replaces dir
  const std::filesystem::path inside = file.lexically_relative(dir);
  if (inside.empty() || *inside.begin() == ".." || *inside.begin() == ".")
    throw sdk::Error("invalid_config", "ca_file must name a file inside the host's CA directory (--ca-dir)");
  return file.string();
}

inline std::vector<std::string> string_list(const sdk::Json& host, const char* key, std::vector<std::string> fallback) {
  if (!host.contains(key)) return fallback;
  try {
    return host[key].get<std::vector<std::string>>();
  } catch (const sdk::Json::exception&) {
    throw sdk::Error("invalid_config", std::string("host setting ") + key + " must be a list of strings");
  }
}

inline HttpSettings http_settings_from(const sdk::Json& config) {
  HttpSettings s;
  s.connect_timeout_ms = static_cast<int>(config_value<std::int64_t>(config, "connect_timeout_ms", s.connect_timeout_ms));
  s.first_byte_timeout_ms = static_cast<int>(config_value<std::int64_t>(config, "first_byte_timeout_ms", s.first_byte_timeout_ms));
  s.idle_timeout_ms = static_cast<int>(config_value<std::int64_t>(config, "idle_timeout_ms", s.idle_timeout_ms));
  s.insecure_skip_verify = config_value<bool>(config, "insecure_skip_verify", false);
  // The host's own settings (SB_HOST_SETTINGS_KEY): never from a stored config or a request.
  const sdk::Json host = config_value<sdk::Json>(config, SB_HOST_SETTINGS_KEY, sdk::Json());
  s.ca_file = resolve_ca_file(config_value<std::string>(config, "ca_file", ""), host);
  if (host.is_object()) {
    try {
      s.policy = UpstreamPolicy(string_list(host, "upstream_deny", UpstreamPolicy::default_deny()),
                                string_list(host, "upstream_allow", {}));
    } catch (const std::invalid_argument& e) {
      throw sdk::Error("invalid_config", std::string("the host's upstream policy: ") + e.what());
    }
  }
  return s;
}

}  // namespace switchboard::plugins
