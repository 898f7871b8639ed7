// File: host/plugins/plugin_registry.h
//
// Reads plugins.json and loads every listed provider plugin. One bad plugin
// never stops the others: each gets a report saying what loaded and what
// failed, and why.
#pragma once

#include "host/plugins/loaded_provider.h"

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

class ManifestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ManifestPlugin {
  std::string name;
  std::string library;  // file name in the plugin directory, or a path
  bool enabled = true;
};

// plugins.json, checked strictly: a wrong type or an unknown key is an error naming it.
struct Manifest {
  std::string plugin_dir;             // empty: the host's default plugin directory
  std::vector<ManifestPlugin> plugins;
  std::string default_config_json;    // first-start default config; "" when absent

  static Manifest parse(std::string_view text);                  // throws ManifestError
  static Manifest load(const std::filesystem::path& file);       // throws ManifestError
};

struct PluginReport {
  std::string name;
  std::string file;
  bool loaded = false;
  std::string error;                          // why it failed, when !loaded
  std::shared_ptr<LoadedProvider> provider;   // when loaded
};

class PluginRegistry {
 public:
  // Loads every enabled plugin of `manifest` from `plugin_dir`; each gets
  // `host_settings_json` in every call's config (LoadedProvider::load).
  static std::shared_ptr<PluginRegistry> load(const Manifest& manifest,
                                              const std::filesystem::path& plugin_dir,
                                              const std::string& host_settings_json = "{}");

  // The loaded provider called `name`, or nullptr.
  std::shared_ptr<LoadedProvider> provider(std::string_view name) const;
  const std::vector<PluginReport>& reports() const { return reports_; }
  std::vector<std::string> loaded_names() const;

 private:
  std::vector<PluginReport> reports_;
};

}  // namespace switchboard
