// File: host/services/host_presence.h
//
// This host among the others sharing its database (PostgreSQL; on an SQLite
// file the host is alone and none of this runs). What crosses hosts, and how:
// - liveness: each host has a row with a heartbeat, renewed every lease/5;
//   a host silent for a whole lease is dead;
// - crash recovery: at start a host marks "interrupted" the replies it left
//   streaming in an earlier life (same --host-id), and any live host sweeps
//   those of dead hosts; a live host's streams are never touched;
// - changes: configs, users, keys and preferences bump a store version in the
//   same transaction; every host reads it every poll interval (a version
//   check, not LISTEN/NOTIFY: it needs no connection held open and works the
//   same through a pooler) and drops its caches when it moved;
// - turns: a session's turn holds its row in turn_locks (ChatService).
#pragma once

#include "host/services/result.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace switchboard {

namespace storage {
class Database;
}

struct PresenceOptions {
  std::chrono::milliseconds lease{10'000};  // a host silent this long is dead
  std::chrono::milliseconds poll{250};      // how often the store version is read
};

class HostPresence {
 public:
  HostPresence(storage::Database& db, PresenceOptions options);
  ~HostPresence();
  HostPresence(const HostPresence&) = delete;
  HostPresence& operator=(const HostPresence&) = delete;

  // Before serving: this host's row, and the replies left streaming by its
  // earlier life and by dead hosts marked interrupted (on SQLite: every reply
  // left streaming). Returns how many replies were marked.
  Result<std::int64_t> arrive();
  // Called (on the presence thread) when another host changed configs,
  // users, keys or preferences. Register before start().
  void on_store_change(std::function<void()> f) { listeners_.push_back(std::move(f)); }
  // The heartbeat and the version watch (a thread; nothing on SQLite).
  void start();
  // Stops the thread and takes this host's row and turn locks away.
  void stop();

  // The earliest heartbeat of a host counted alive now (epoch ms).
  std::int64_t alive_since_ms() const;
  const PresenceOptions& options() const { return options_; }
  // Hosts alive now, this one included (for /metrics); -1 when the database cannot tell.
  std::int64_t hosts_alive() const;

 private:
  void run();
  void tick(bool beat);

  storage::Database& db_;
  PresenceOptions options_;
  std::vector<std::function<void()>> listeners_;
  std::int64_t version_ = -1;
  bool away_ = false;  // the database did not answer the last tick
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace switchboard
