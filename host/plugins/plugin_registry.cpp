// File: host/plugins/plugin_registry.cpp
//
// plugins.json parsing (strict), discovery of the plugin directory, and the
// reload that swaps the live set of providers while turns go on.
#include "host/plugins/plugin_registry.h"

#include "host/json_depth.h"
#include "host/log.h"
#include "host/metrics.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

const char* trigger_name(ReloadTrigger t) {
  switch (t) {
    case ReloadTrigger::Start: return "start";
    case ReloadTrigger::Watch: return "a change in the plugin directory";
    case ReloadTrigger::Rescan: return "the periodic rescan";
    case ReloadTrigger::Request: return "POST /api/providers/reload";
    case ReloadTrigger::Signal: return "SIGHUP";
  }
  return "?";
}

// What identifies one version of a file: a write-then-rename gives a new
// inode, a rewrite in place a new size or time, a chmod a new mode.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  mode_t mode = 0;
  uid_t uid = 0;
  bool missing = false;

  static FileId of(const struct stat& st) {
    FileId id;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = st.st_size;
    id.mtime_ns = std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    id.mode = st.st_mode;
    id.uid = st.st_uid;
    return id;
  }
  bool operator==(const FileId& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns && mode == o.mode &&
           uid == o.uid && missing == o.missing;
  }
};

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}


std::string directory_reason(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return "";  // a missing directory holds nothing to refuse
  return untrusted_reason("plugin directory " + dir.string(), st.st_mode, st.st_uid);
}

}  // namespace

bool is_plugin_file_name(const std::string& name) {
  return !name.empty() && name[0] != '.' && ends_with(name, ".so");
}

std::string untrusted_reason(const std::string& what, unsigned mode, unsigned uid) {
  const unsigned self = ::geteuid();
  if (uid != 0 && uid != self)
    return what + " belongs to uid " + std::to_string(uid) + ", neither root nor the host's user (uid " +
           std::to_string(self) + "); refused, as loading it would run code its owner wrote";
  if ((mode & (S_IWGRP | S_IWOTH)) != 0)
    return what + " is writable by " + ((mode & S_IWOTH) != 0 ? "anyone" : "its group") +
           " (mode " + [&] {
             char buf[8];
             std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
             return std::string(buf);
           }() + "); refused: only its owner or root may write there (chmod go-w)";
  return "";
}

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
  // Optional: every library of the plugin directory is found without it.
  const Json plugins = root.contains("plugins") ? require(root, "plugins", Json::value_t::array, "plugins.json")
                                                : Json::array();
  for (std::size_t i = 0; i < plugins.size(); ++i) {
    const std::string where = "plugins.json: plugins[" + std::to_string(i) + "]";
    const Json& p = plugins[i];
    if (!p.is_object()) throw ManifestError(where + " must be an object");
    reject_unknown(p, {"name", "library", "enabled", "settings"}, where);
    ManifestPlugin plugin;
    plugin.name = require(p, "name", Json::value_t::string, where).get<std::string>();
    plugin.library = require(p, "library", Json::value_t::string, where).get<std::string>();
    if (p.contains("enabled"))
      plugin.enabled = require(p, "enabled", Json::value_t::boolean, where).get<bool>();
    if (p.contains("settings"))
      plugin.settings_json = require(p, "settings", Json::value_t::object, where).dump();
    if (plugin.name.empty()) throw ManifestError(where + ": \"name\" must not be empty");
    if (plugin.library.empty()) throw ManifestError(where + ": \"library\" must not be empty");
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

Manifest Manifest::load_optional(const std::filesystem::path& file) {
  std::error_code ec;
  if (file.empty() || !std::filesystem::exists(file, ec)) return Manifest{};
  return load(file);
}

// --- the registry --------------------------------------------------------------------

struct PluginRegistry::Wanted {
  bool listed = false;
  std::string listed_name;  // "" for a listed entry: enabled: false
  std::string settings_json = "{}";
  std::size_t order = 0;    // listed: position in plugins.json
};

struct PluginRegistry::Library {
  std::string file;
  Wanted wanted;
  FileId id;
  std::string dir_reason;                    // why its directory is not trusted ("": it is)
  bool serving_previous = false;             // error is about a new file; provider is the last good one
  std::shared_ptr<LoadedProvider> provider;  // null when it failed
  std::string error;
};

struct PluginRegistry::Snapshot {
  std::vector<PluginReport> reports;
  std::map<std::string, std::shared_ptr<LoadedProvider>, std::less<>> by_name;
};

PluginRegistry::PluginRegistry(PluginSource source, Manifest manifest)
    : source_(std::move(source)), manifest_(std::move(manifest)), snapshot_(std::make_shared<Snapshot>()) {}

PluginRegistry::~PluginRegistry() = default;

std::shared_ptr<PluginRegistry> PluginRegistry::load(const Manifest& manifest,
                                                     const std::filesystem::path& plugin_dir,
                                                     const std::string& host_settings_json) {
  PluginSource source;
  source.plugin_dir = plugin_dir;
  source.discover = false;
  source.host_settings_json = host_settings_json;
  auto registry = std::make_shared<PluginRegistry>(std::move(source), manifest);
  registry->reload(ReloadTrigger::Start);
  return registry;
}

std::shared_ptr<const PluginRegistry::Snapshot> PluginRegistry::current() const {
  std::lock_guard guard(snapshot_mutex_);
  return snapshot_;
}

void PluginRegistry::publish(std::shared_ptr<const Snapshot> next) {
  std::lock_guard guard(snapshot_mutex_);
  snapshot_ = std::move(next);
}

ReloadSummary PluginRegistry::reload(ReloadTrigger trigger, const std::set<std::string>& busy) {
  std::lock_guard reloading(reload_mutex_);
  ReloadSummary summary;
  metrics::global().plugin_reloads.add();
  if ((trigger == ReloadTrigger::Request || trigger == ReloadTrigger::Signal) && !source_.manifest_path.empty()) {
    try {
      manifest_ = Manifest::load_optional(source_.manifest_path);
    } catch (const ManifestError& e) {
      summary.manifest_error = e.what();
      log::plugins().error(std::string("plugins.json not reloaded, the last good one stays: ") + e.what());
    }
  }

  // Normal, without a trailing separator, so that it compares with parent_path().
  const std::filesystem::path dir = (source_.plugin_dir / "x").lexically_normal().parent_path();
  std::set<std::string> reserved;  // names plugins.json decides, enabled or not
  const auto wanted = wanted_files(dir, reserved);
  const std::string dir_reason = directory_reason(dir);

  std::map<std::string, std::shared_ptr<Library>> next;
  std::set<std::string> fresh;  // files loaded (or refused) by this reload
  for (const auto& [file, want] : wanted) {
    if (want.listed && want.listed_name.empty()) continue;  // enabled: false
    const std::filesystem::path path(file);
    const bool in_dir = path.parent_path() == dir;
    const auto known_it = libraries_.find(file);
    const std::shared_ptr<Library> known = known_it == libraries_.end() ? nullptr : known_it->second;
    if (in_dir && busy.count(path.filename().string()) != 0) {
      if (known) next[file] = known;  // as it was until the write ends
      continue;
    }
    auto lib = look_at(file, want, known, in_dir ? dir_reason : directory_reason(path.parent_path()));
    if (!lib) continue;
    if (lib != known) fresh.insert(file);
    next[file] = std::move(lib);
  }

  auto snapshot = name_libraries(next, reserved, fresh, summary);
  record_changes(*current(), *snapshot, trigger, summary);
  libraries_ = std::move(next);
  publish(std::move(snapshot));
  if (summary.changed()) generation_.fetch_add(1, std::memory_order_acq_rel);
  return summary;
}

// plugins.json's entries, then every other library of the directory.
std::map<std::string, PluginRegistry::Wanted> PluginRegistry::wanted_files(const std::filesystem::path& dir,
                                                                           std::set<std::string>& reserved) const {
  std::map<std::string, Wanted> wanted;
  std::size_t order = 0;
  for (const auto& entry : manifest_.plugins) {
    const std::filesystem::path library(entry.library);
    const std::string file = (library.is_absolute() ? library : dir / library).lexically_normal().string();
    reserved.insert(entry.name);
    Wanted w;
    w.listed = true;
    if (entry.enabled) {  // disabled: claimed (so not discovered), with no name
      w.listed_name = entry.name;
      w.settings_json = entry.settings_json;
      w.order = order++;
    }
    wanted[file] = w;
  }
  if (source_.discover) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      std::error_code type_ec;
      if (!is_plugin_file_name(name) || !std::filesystem::is_regular_file(it->path(), type_ec)) continue;
      wanted.try_emplace((dir / name).lexically_normal().string(), Wanted{});
    }
  }
  return wanted;
}

// The library `file` now: `known` itself when nothing changed, else a new
// one, loaded or refused; nullptr when a discovered file is gone.
std::shared_ptr<PluginRegistry::Library> PluginRegistry::look_at(const std::string& file, const Wanted& want,
                                                                  const std::shared_ptr<Library>& known,
                                                                  const std::string& dir_reason) const {
  auto lib = std::make_shared<Library>();
  lib->file = file;
  lib->wanted = want;
  lib->dir_reason = dir_reason;  // the directory's verdict may change while the file's does not
  // O_NONBLOCK: a FIFO named like a library must not hang the reload.
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    if (!want.listed) return nullptr;  // gone between the listing and now
    lib->id.missing = true;
    lib->error = error == ENOENT ? "plugin file not found: " + file
                                 : "cannot open plugin " + file + ": " + std::strerror(error);
  } else {
    lib->id = FileId::of(st);
  }
  const bool same_entry = known && known->wanted.listed == want.listed &&
                          known->wanted.listed_name == want.listed_name &&
                          known->wanted.settings_json == want.settings_json;
  if (same_entry && known->id == lib->id && known->dir_reason == lib->dir_reason) {
    if (fd >= 0) ::close(fd);
    known->wanted.order = want.order;
    return known;
  }
  if (fd < 0) return lib;

  std::string reason = lib->dir_reason;
  if (reason.empty() && !S_ISREG(st.st_mode)) reason = "plugin " + file + " is not a regular file";
  if (reason.empty()) reason = untrusted_reason("plugin file " + file, st.st_mode, st.st_uid);
  if (!reason.empty()) {
    // Refusals for trust are not load failures: whatever was loaded from
    // here before stops serving too.
    lib->error = reason;
    ::close(fd);
    return lib;
  }
  lib->provider = LoadedProvider::load_copy(fd, file, lib->error, source_.host_settings_json, want.settings_json);
  ::close(fd);
  if (lib->provider && want.listed && lib->provider->description().name != want.listed_name) {
    lib->error = "plugin " + file + " calls itself \"" + lib->provider->description().name +
                 "\" but plugins.json names it \"" + want.listed_name + "\"";
    lib->provider.reset();
  }
  // A broken build over a good one of the same entry: the good one goes on
  // serving (it is a private copy, untouched by the write) until a good file
  // or a removal replaces it.
  if (!lib->provider && same_entry && known->provider) {
    lib->provider = known->provider;
    lib->serving_previous = true;
    lib->error += "; still serving version " + lib->provider->description().version + " loaded before";
  }
  return lib;
}

// The reports and the names served: plugins.json's entries own their names;
// a name two discovered libraries claim goes to neither. Refusals new in this
// reload (`fresh`) are logged, counted and summed up.
std::shared_ptr<const PluginRegistry::Snapshot> PluginRegistry::name_libraries(
    const std::map<std::string, std::shared_ptr<Library>>& libraries, const std::set<std::string>& reserved,
    const std::set<std::string>& fresh, ReloadSummary& summary) const {
  std::map<std::string, std::vector<std::string>> claims;  // discovered name → files
  for (const auto& [file, lib] : libraries)
    if (lib->provider && !lib->wanted.listed) claims[lib->provider->description().name].push_back(file);

  auto snapshot = std::make_shared<Snapshot>();
  std::vector<std::shared_ptr<Library>> listed, discovered;
  for (const auto& [file, lib] : libraries) (lib->wanted.listed ? listed : discovered).push_back(lib);
  std::sort(listed.begin(), listed.end(), [](const auto& a, const auto& b) { return a->wanted.order < b->wanted.order; });
  for (const auto* group : {&listed, &discovered}) {
    for (const auto& lib : *group) {
      PluginReport r;
      r.file = lib->file;
      r.listed = lib->wanted.listed;
      r.name = lib->wanted.listed ? lib->wanted.listed_name
                                  : (lib->provider ? lib->provider->description().name : std::string());
      r.error = lib->error;
      bool serves = lib->provider && (lib->error.empty() || lib->serving_previous);
      if (lib->provider && !lib->wanted.listed) {
        const auto& files = claims[r.name];
        if (reserved.count(r.name) != 0) {
          r.error = "plugins.json decides the plugin \"" + r.name + "\"; " + r.file + " is not loaded";
          serves = false;
        } else if (files.size() > 1) {
          std::string all;
          for (const auto& f : files) all += (all.empty() ? "" : " and ") + f;
          r.error = "both " + all + " call themselves \"" + r.name +
                    "\"; neither is loaded (remove one, or name one in plugins.json)";
          serves = false;
        }
      }
      if (!r.error.empty() && fresh.count(r.file) != 0) {
        summary.refused.emplace_back(r.file, r.error);
        metrics::global().plugin_refused.add();
        log::plugins().error("plugin " + r.file + " not loaded: " + r.error);
      }
      if (serves) {
        r.loaded = true;
        r.provider = lib->provider;
        snapshot->by_name[r.name] = lib->provider;
      }
      snapshot->reports.push_back(std::move(r));
    }
  }
  return snapshot;
}

// What changed, by name: logged, counted and summed up.
void PluginRegistry::record_changes(const Snapshot& before, const Snapshot& after, ReloadTrigger trigger,
                                    ReloadSummary& summary) {
  auto& counters = metrics::global();
  const std::string why = std::string(" (") + trigger_name(trigger) + ")";
  for (const auto& [name, provider] : after.by_name) {
    const auto old = before.by_name.find(name);
    if (old == before.by_name.end()) {
      summary.added.push_back(name);
      counters.plugin_added.add();
      log::plugins().information("plugin " + name + " " + provider->description().version + " loaded from " +
                                 provider->file().string() + why);
    } else if (old->second != provider) {
      summary.replaced.push_back(name);
      counters.plugin_replaced.add();
      log::plugins().information("plugin " + name + " replaced: " + old->second->description().version + " → " +
                                 provider->description().version + " from " + provider->file().string() +
                                 "; turns already running finish on the old one" + why);
    }
  }
  for (const auto& [name, provider] : before.by_name) {
    if (after.by_name.count(name) != 0) continue;
    summary.removed.push_back(name);
    counters.plugin_removed.add();
    log::plugins().information("plugin " + name + " removed; turns already running finish on it" + why);
  }
}

std::shared_ptr<LoadedProvider> PluginRegistry::provider(std::string_view name) const {
  const auto snapshot = current();
  const auto it = snapshot->by_name.find(name);
  return it == snapshot->by_name.end() ? nullptr : it->second;
}

std::vector<PluginReport> PluginRegistry::reports() const { return current()->reports; }

std::vector<std::string> PluginRegistry::loaded_names() const {
  std::vector<std::string> names;
  for (const auto& r : current()->reports)
    if (r.loaded) names.push_back(r.name);
  return names;
}

}  // namespace switchboard
