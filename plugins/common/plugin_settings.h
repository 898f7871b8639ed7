// File: plugins/common/plugin_settings.h
//
// Reading the network settings every HTTP plugin shares from its effective
// config: timeouts and TLS options, with their defaults.
#pragma once

#include "http_client.h"

#include <switchboard/provider.hpp>

namespace switchboard::plugins {

inline sdk::Json http_settings_defaults() {
  return {{"connect_timeout_ms", 5000}, {"first_byte_timeout_ms", 60000}, {"idle_timeout_ms", 30000},
          {"ca_file", ""}, {"insecure_skip_verify", false}};
}

inline sdk::Json http_settings_schema() {
  auto field = [](const char* type, const char* d) { return sdk::Json{{"type", type}, {"description", d}}; };
  return {{"connect_timeout_ms", field("integer", "TCP/TLS connect timeout")},
          {"first_byte_timeout_ms", field("integer", "how long to wait for the answer to start")},
          {"idle_timeout_ms", field("integer", "longest silence between two chunks of a stream")},
          {"ca_file", field("string", "an extra CA certificate (PEM) to trust for https")},
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

inline HttpSettings http_settings_from(const sdk::Json& config) {
  HttpSettings s;
  s.connect_timeout_ms = static_cast<int>(config_value<std::int64_t>(config, "connect_timeout_ms", s.connect_timeout_ms));
  s.first_byte_timeout_ms = static_cast<int>(config_value<std::int64_t>(config, "first_byte_timeout_ms", s.first_byte_timeout_ms));
  s.idle_timeout_ms = static_cast<int>(config_value<std::int64_t>(config, "idle_timeout_ms", s.idle_timeout_ms));
  s.ca_file = config_value<std::string>(config, "ca_file", "");
  s.insecure_skip_verify = config_value<bool>(config, "insecure_skip_verify", false);
  return s;
}

}  // namespace switchboard::plugins
