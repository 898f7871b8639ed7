// File: host/plugins/plugin_registry.h
//
// Which provider plugins are live. Every shared library in the plugin
// directory that exports sb_provider_entry is a plugin, named by its own
// describe(); plugins.json may name libraries explicitly (an explicit entry
// wins). reload() brings the set up to date with the directory while turns go
// on: a turn holds its LoadedProvider, so a replaced or removed library stays
// mapped until its last turn ends. One bad plugin never stops the others:
// each library gets a report saying what loaded and what failed, and why.
#pragma once

#include "host/plugins/loaded_provider.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
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
  std::string library;                 // file name in the plugin directory, or a path
  bool enabled = true;
  std::string settings_json = "{}";    // handed to the plugin's create()
};

// plugins.json, checked strictly: a wrong type or an unknown key is an error naming it.
struct Manifest {
  std::string plugin_dir;             // empty: the host's default plugin directory
  std::vector<ManifestPlugin> plugins;
  std::string default_config_json;    // first-start default config; "" when absent

  static Manifest parse(std::string_view text);                  // throws ManifestError
  static Manifest load(const std::filesystem::path& file);       // throws ManifestError
  // As load(), but a file that does not exist is an empty manifest.
  static Manifest load_optional(const std::filesystem::path& file);
};

struct PluginReport {
  std::string name;                           // the plugin's name ("" when it never said)
  std::string file;
  bool loaded = false;
  bool listed = false;                        // named in plugins.json (else discovered)
  // Why it failed, when !loaded; when loaded, why the file's newer content
  // was refused while the version loaded before goes on serving.
  std::string error;
  std::shared_ptr<LoadedProvider> provider;   // when loaded
};

// What one reload changed, by plugin name (refused: file and reason).
struct ReloadSummary {
  std::vector<std::string> added;
  std::vector<std::string> replaced;
  std::vector<std::string> removed;
  std::vector<std::pair<std::string, std::string>> refused;
  std::string manifest_error;  // plugins.json could not be read again; the last good one stays
  bool changed() const { return !added.empty() || !replaced.empty() || !removed.empty(); }
};

// Why a reload runs; logged with it.
enum class ReloadTrigger { Start, Watch, Rescan, Request, Signal };

// Where plugins come from.
struct PluginSource {
  std::filesystem::path plugin_dir;
  std::filesystem::path manifest_path;  // "": no plugins.json
  bool discover = true;                 // load every library of plugin_dir, not only listed ones
  std::string host_settings_json = "{}";
};

// A plugin library's name in the directory: "*.so", not hidden. Copies being
// written under a hidden or other name (".libfoo.so.tmp", "libfoo.so.part") are not.
bool is_plugin_file_name(const std::string& name);

// Loading a library runs its code, so, as sshd's StrictModes, a file or
// directory that anyone but its owner or root may write to, or that belongs
// to someone else than the host's user or root, is refused. "" when `st_*`
// pass; else the reason, naming `what`.
std::string untrusted_reason(const std::string& what, unsigned mode, unsigned uid);

class PluginRegistry {
 public:
  PluginRegistry(PluginSource source, Manifest manifest);
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  // Loads every enabled plugin of `manifest` from `plugin_dir` (explicit
  // entries only: no discovery); each gets `host_settings_json` in every
  // call's config (LoadedProvider::load).
  static std::shared_ptr<PluginRegistry> load(const Manifest& manifest,
                                              const std::filesystem::path& plugin_dir,
                                              const std::string& host_settings_json = "{}");

  // Brings the live set up to date with the directory (and, for Request and
  // Signal, plugins.json read again). Libraries whose file (device, inode,
  // size, time, mode) did not change are kept as they are. `busy` names files
  // of the plugin directory that are still being written: they are left as
  // they were. Reloads run one at a time; turns never wait for one.
  ReloadSummary reload(ReloadTrigger trigger, const std::set<std::string>& busy = {});

  // The loaded provider called `name`, or nullptr. Hold it for the whole turn.
  std::shared_ptr<LoadedProvider> provider(std::string_view name) const;
  // A copy: safe while a reload runs.
  std::vector<PluginReport> reports() const;
  std::vector<std::string> loaded_names() const;
  // Moves on each reload that changed what providers answer (caches key on it).
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  const PluginSource& source() const { return source_; }

 private:
  struct Wanted;    // a file to consider, and what plugins.json says of it
  struct Library;   // one library file and what loading it gave
  struct Snapshot;  // what readers see, swapped whole

  // The steps of reload(), in order.
  std::map<std::string, Wanted> wanted_files(const std::filesystem::path& dir, std::set<std::string>& reserved) const;
  std::shared_ptr<Library> look_at(const std::string& file, const Wanted& want, const std::shared_ptr<Library>& known,
                                   const std::string& dir_reason) const;
  std::shared_ptr<const Snapshot> name_libraries(const std::map<std::string, std::shared_ptr<Library>>& libraries,
                                                 const std::set<std::string>& reserved,
                                                 const std::set<std::string>& fresh, ReloadSummary& summary) const;
  static void record_changes(const Snapshot& before, const Snapshot& after, ReloadTrigger trigger,
                             ReloadSummary& summary);
  void publish(std::shared_ptr<const Snapshot> next);
  std::shared_ptr<const Snapshot> current() const;

  PluginSource source_;
  Manifest manifest_;
  std::mutex reload_mutex_;                      // one reload at a time
  std::map<std::string, std::shared_ptr<Library>> libraries_;  // by file; under reload_mutex_
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace switchboard
