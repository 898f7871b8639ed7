// File: host/plugins/plugin_registry.cpp
//
// plugins.json parsing (strict) and loading of each listed plugin.
#include "host/plugins/plugin_registry.h"

#include "host/json_depth.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace switchboard {

namespace {

using Json = nlohmann::json;

const Json& require(const Json& object, const std::string& key, Json::value_t type,
                    const std::string& where) {
  if (!object.contains(key)) throw ManifestError(where + ": missing key \"" + key + "\"");
  const Json& v = object.at(key);
  if (v.type() != type)
    throw ManifestError(where + ": \"" + key + "\" must be a " +
                        Json(type).type_name() + ", not a " + v.type_name());
  return v;
}

void reject_unknown(const Json& object, std::initializer_list<std::string_view> known,
                    const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    bool ok = false;
    for (auto k : known) ok = ok || key == k;
    if (!ok) throw ManifestError(where + ": unknown key \"" + key + "\"");
  }
}

}  // namespace

Manifest Manifest::parse(std::string_view text) {
  if (json_nests_deeper_than(text, kMaxJsonDepth))
    throw ManifestError("plugins.json nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::exception& e) {
    throw ManifestError(std::string("plugins.json is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw ManifestError("plugins.json: the top level must be an object");
  reject_unknown(root, {"plugin_dir", "plugins", "default_config"}, "plugins.json");

  Manifest m;
  if (root.contains("plugin_dir"))
    m.plugin_dir = require(root, "plugin_dir", Json::value_t::string, "plugins.json").get<std::string>();
  const Json& plugins = require(root, "plugins", Json::value_t::array, "plugins.json");
  for (std::size_t i = 0; i < plugins.size(); ++i) {
    const std::string where = "plugins.json: plugins[" + std::to_string(i) + "]";
    const Json& p = plugins[i];
    if (!p.is_object()) throw ManifestError(where + " must be an object");
    reject_unknown(p, {"name", "library", "enabled"}, where);
    ManifestPlugin plugin;
    plugin.name = require(p, "name", Json::value_t::string, where).get<std::string>();
    plugin.library = require(p, "library", Json::value_t::string, where).get<std::string>();
    if (p.contains("enabled"))
      plugin.enabled = require(p, "enabled", Json::value_t::boolean, where).get<bool>();
    if (plugin.name.empty()) throw ManifestError(where + ": \"name\" must not be empty");
    for (const auto& other : m.plugins)
      if (other.name == plugin.name)
        throw ManifestError(where + ": plugin \"" + plugin.name + "\" is listed twice");
    m.plugins.push_back(std::move(plugin));
  }
  if (root.contains("default_config")) {
    const Json& d = require(root, "default_config", Json::value_t::object, "plugins.json");
    require(d, "provider", Json::value_t::string, "plugins.json: default_config");
    m.default_config_json = d.dump();
  }
  return m;
}

Manifest Manifest::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ManifestError("cannot read plugin manifest " + file.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return parse(buffer.str());
  } catch (const ManifestError& e) {
    throw ManifestError(file.string() + ": " + e.what());
  }
}

std::shared_ptr<PluginRegistry> PluginRegistry::load(const Manifest& manifest,
                                                     const std::filesystem::path& plugin_dir,
                                                     const std::string& host_settings_json) {
  auto registry = std::make_shared<PluginRegistry>();
  for (const auto& entry : manifest.plugins) {
    if (!entry.enabled) continue;
    PluginReport report;
    report.name = entry.name;
    const std::filesystem::path library(entry.library);
    const std::filesystem::path file = library.is_absolute() ? library : plugin_dir / library;
    report.file = file.string();
    std::string error;
    auto provider = LoadedProvider::load(file, error, host_settings_json);
    if (provider && provider->description().name != entry.name) {
      error = "plugin " + report.file + " calls itself \"" + provider->description().name +
              "\" but plugins.json names it \"" + entry.name + "\"";
      provider.reset();
    }
    if (provider) {
      report.loaded = true;
      report.provider = std::move(provider);
    } else {
      report.error = error;
    }
    registry->reports_.push_back(std::move(report));
  }
  return registry;
}

std::shared_ptr<LoadedProvider> PluginRegistry::provider(std::string_view name) const {
  for (const auto& r : reports_)
    if (r.loaded && r.name == name) return r.provider;
  return nullptr;
}

std::vector<std::string> PluginRegistry::loaded_names() const {
  std::vector<std::string> names;
  for (const auto& r : reports_)
    if (r.loaded) names.push_back(r.name);
  return names;
}

}  // namespace switchboard
