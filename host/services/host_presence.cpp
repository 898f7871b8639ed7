// File: host/services/host_presence.cpp
#include "host/services/host_presence.h"

#include "host/log.h"
#include "storage/database.h"
#include "storage/repositories.h"

namespace switchboard {

HostPresence::HostPresence(storage::Database& db, PresenceOptions options) : db_(db), options_(options) {}

HostPresence::~HostPresence() { stop(); }

std::int64_t HostPresence::alive_since_ms() const { return storage::now_ms() - options_.lease.count(); }

Result<std::int64_t> HostPresence::arrive() {
  try {
    if (!db_.shared()) return db_.write([](storage::Conn& c) { return storage::messages::mark_interrupted(c); });
    return db_.write([&](storage::Conn& c) {
      storage::hosts::beat(c, storage::now_ms(), true);
      version_ = storage::store::version(c);
      return storage::messages::mark_interrupted_of_host(c) +
             storage::hosts::recover_dead(c, alive_since_ms());
    });
  } catch (const std::exception& e) {
    return Error{ErrorKind::Internal, "storage_error", std::string("storage failure: ") + e.what(), ""};
  }
}

void HostPresence::start() {
  if (!db_.shared() || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void HostPresence::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard guard(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  try {
    db_.write([](storage::Conn& c) { storage::hosts::leave(c); });
  } catch (const std::exception& e) {
    log::app().warning(std::string("could not remove this host's row at stop (its lease runs out instead): ") + e.what());
  }
}

std::int64_t HostPresence::hosts_alive() const {
  if (!db_.shared()) return 1;
  try {
    return db_.read([&](storage::Conn& c) { return storage::hosts::count_alive(c, alive_since_ms()); });
  } catch (const std::exception&) {
    return -1;
  }
}

void HostPresence::run() {
  const auto beat_every = std::max(options_.lease / 5, std::chrono::milliseconds(1));
  auto next_beat = std::chrono::steady_clock::now() + beat_every;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, options_.poll, [&] { return stopping_; })) {
    lock.unlock();
    const auto now = std::chrono::steady_clock::now();
    const bool beat = now >= next_beat;
    if (beat) next_beat = now + beat_every;
    tick(beat);
    lock.lock();
  }
}

void HostPresence::tick(bool beat) {
  try {
    const auto version = db_.read([](storage::Conn& c) { return storage::store::version(c); });
    if (version != version_) {
      version_ = version;
      for (const auto& f : listeners_) f();
    }
    if (beat) {
      const auto recovered = db_.write([&](storage::Conn& c) {
        storage::hosts::beat(c, storage::now_ms());
        return storage::hosts::recover_dead(c, alive_since_ms());
      });
      if (recovered > 0)
        log::app().warning("marked " + std::to_string(recovered) +
                           " replies of hosts silent for a whole lease as interrupted");
    }
    if (away_) {
      away_ = false;
      log::app().information("host presence: the database answers again");
    }
  } catch (const std::exception& e) {
    // The database is away: caches are dropped (what they hold may be stale
    // by the time it is back) and the next tick tries again. Said once.
    for (const auto& f : listeners_) f();
    version_ = -1;
    if (!away_) log::app().warning(std::string("host presence: the database did not answer: ") + e.what());
    away_ = true;
  }
}

}  // namespace switchboard
