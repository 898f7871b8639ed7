// File: host/plugins/plugin_watcher.cpp
//
// The watcher's thread: one poll(2) over inotify, a wake-up eventfd and an
// optional SIGHUP signalfd, with the rescan period as its timeout.
#include "host/plugins/plugin_watcher.h"

#include "host/log.h"
#include "host/plugins/plugin_registry.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace switchboard {

namespace {

using Clock = std::chrono::steady_clock;

// Events after which a file is complete, or gone.
constexpr std::uint32_t kSettled = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB;
// Events while a file is being written.
constexpr std::uint32_t kWriting = IN_CREATE | IN_MODIFY;
constexpr std::uint32_t kLost = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT;

// How long a burst of events may gather before the reload: one reload for a burst.
constexpr auto kDebounce = std::chrono::milliseconds(50);

}  // namespace

PluginWatcher::PluginWatcher(PluginRegistry& registry, PluginWatcherOptions options)
    : registry_(registry), options_(options) {}

PluginWatcher::~PluginWatcher() { stop(); }

void PluginWatcher::start() {
  if (thread_.joinable()) return;
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (options_.watch) {
    inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (inotify_fd_ < 0)
      log::plugins().warning(std::string("inotify unavailable (") + std::strerror(errno) +
                             "); the plugin directory is rescanned every " + std::to_string(options_.rescan_ms) +
                             " ms instead");
  }
  if (options_.on_sighup) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd_ < 0) log::plugins().warning(std::string("no SIGHUP reload: ") + std::strerror(errno));
  }
  // The baseline the first rescan compares with.
  std::error_code ec;
  for (std::filesystem::directory_iterator it(registry_.source().plugin_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    struct stat st {};
    if (::stat(it->path().c_str(), &st) == 0)
      seen_[it->path().filename().string()] = {st.st_size, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
  }
  thread_ = std::thread([this] { run(); });
}

void PluginWatcher::stop() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof one) < 0) log::plugins().warning("cannot wake the plugin watcher");
    thread_.join();
  }
  for (int* fd : {&inotify_fd_, &wake_fd_, &signal_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  watch_ = -1;
}

std::set<std::string> PluginWatcher::busy() const {
  std::lock_guard guard(mutex_);
  return writing_;
}

void PluginWatcher::reload(ReloadTrigger trigger, std::set<std::string> extra_busy) {
  std::set<std::string> busy_now = busy();
  busy_now.insert(extra_busy.begin(), extra_busy.end());
  try {
    registry_.reload(trigger, busy_now);
  } catch (const std::exception& e) {
    log::plugins().error(std::string("plugin reload failed: ") + e.what());
  }
}

void PluginWatcher::run() {
  const std::filesystem::path dir = registry_.source().plugin_dir;
  const auto period = std::chrono::milliseconds(options_.rescan_ms > 0 ? options_.rescan_ms : 3600 * 1000);
  auto next_rescan = Clock::now() + period;
  constexpr auto kNever = Clock::time_point::max();
  auto reload_at = kNever;  // a finished write was seen: reload then

  for (;;) {
    if (inotify_fd_ >= 0 && watch_ < 0) {
      watch_ = ::inotify_add_watch(inotify_fd_, dir.c_str(), kSettled | kWriting | kLost | IN_ONLYDIR);
      // (Again) watched: whatever happened meanwhile is looked at.
      if (watch_ >= 0 && reload_at == kNever) reload_at = Clock::now();
    }
    const auto wake_at = std::min(reload_at, next_rescan);
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - Clock::now()).count();
    pollfd fds[3] = {{wake_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 3, static_cast<int>(std::max<long long>(0, timeout)));
    if (ready < 0 && errno != EINTR) {
      log::plugins().error(std::string("plugin watcher stops: poll: ") + std::strerror(errno));
      return;
    }
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) return;
    // At most kDebounce after the first finished write of a burst, however
    // busy the directory stays with other writes.
    if (ready > 0 && (fds[1].revents & POLLIN) != 0 && read_events() && reload_at == kNever)
      reload_at = Clock::now() + kDebounce;
    if (ready > 0 && signal_fd_ >= 0 && (fds[2].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      }
      log::plugins().information("SIGHUP: reloading plugins");
      reload(ReloadTrigger::Signal);
      reload_at = kNever;
    }
    if (Clock::now() >= reload_at) {
      reload_at = kNever;
      reload(ReloadTrigger::Watch);
    }
    if (Clock::now() >= next_rescan) {
      next_rescan = Clock::now() + period;
      if (options_.rescan_ms > 0) rescan(dir);
    }
  }
}

// Drains inotify; true when a candidate library finished a write, was
// renamed or removed, or changed mode (or events were lost).
bool PluginWatcher::read_events() {
  alignas(inotify_event) char buffer[16 * 1024];
  bool settled = false;
  for (;;) {
    const ssize_t got = ::read(inotify_fd_, buffer, sizeof buffer);
    if (got <= 0) return settled;
    for (ssize_t at = 0; at < got;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      std::lock_guard guard(mutex_);
      if ((e->mask & IN_Q_OVERFLOW) != 0) {
        // Events were lost: what is being written is unknown, so only the
        // rescan's rule (a size and time that held still) is left.
        writing_.clear();
        settled = true;
      }
      if ((e->mask & kLost) != 0 && e->wd == watch_) {
        watch_ = -1;
        settled = true;
      }
      if (e->len == 0) continue;
      const std::string name(e->name);
      if ((e->mask & kWriting) != 0 && (e->mask & IN_ISDIR) == 0) writing_.insert(name);
      if ((e->mask & kSettled) != 0) {
        if ((e->mask & IN_ATTRIB) == 0) writing_.erase(name);
        settled = settled || is_plugin_file_name(name);
      }
    }
  }
}

// Without inotify's word that a write ended, a file is taken only once its
// size and time held still for a whole period.
void PluginWatcher::rescan(const std::filesystem::path& dir) {
  std::map<std::string, std::pair<long long, long long>> seen;
  std::set<std::string> unsettled;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    struct stat st {};
    if (!is_plugin_file_name(name) || ::stat(it->path().c_str(), &st) != 0) continue;
    seen[name] = {st.st_size, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
    const auto before = seen_.find(name);
    if (before == seen_.end() || before->second != seen[name]) unsettled.insert(name);
  }
  seen_ = std::move(seen);
  reload(ReloadTrigger::Rescan, std::move(unsettled));
}

}  // namespace switchboard
