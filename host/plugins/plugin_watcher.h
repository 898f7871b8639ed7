// File: host/plugins/plugin_watcher.h
//
// Keeps the plugin registry in step with its directory without a restart: a
// thread reloads it when inotify(7) reports a finished write (IN_CLOSE_WRITE,
// IN_MOVED_TO) or a removal, on a periodic rescan as a fallback (file systems
// without inotify, a directory that appears later), and on SIGHUP when asked.
// A file still being written is never loaded half-way: see busy().
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace switchboard {

class PluginRegistry;
enum class ReloadTrigger;

struct PluginWatcherOptions {
  bool watch = true;        // inotify on the plugin directory
  int rescan_ms = 2000;     // periodic rescan; 0: none
  // Reload on SIGHUP. The caller blocks SIGHUP in every thread first (main()
  // does, before any thread starts); the watcher then takes it through a signalfd.
  bool on_sighup = false;
};

class PluginWatcher {
 public:
  PluginWatcher(PluginRegistry& registry, PluginWatcherOptions options);
  ~PluginWatcher();
  PluginWatcher(const PluginWatcher&) = delete;
  PluginWatcher& operator=(const PluginWatcher&) = delete;

  void start();
  void stop();

  // Names of the directory's files being written: created or modified and
  // not yet closed (inotify), or whose size or time moved since the last
  // rescan. A reload leaves them as they were.
  std::set<std::string> busy() const;

 private:
  void run();
  bool read_events();
  void rescan(const std::filesystem::path& dir);
  void reload(ReloadTrigger trigger, std::set<std::string> extra_busy = {});

  PluginRegistry& registry_;
  PluginWatcherOptions options_;
  int inotify_fd_ = -1;
  int watch_ = -1;
  int wake_fd_ = -1;
  int signal_fd_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::set<std::string> writing_;                                   // under mutex_
  std::map<std::string, std::pair<long long, long long>> seen_;    // rescan: name → (size, mtime ns)
};

}  // namespace switchboard
