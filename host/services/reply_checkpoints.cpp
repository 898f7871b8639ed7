// File: host/services/reply_checkpoints.cpp
//
// The batching checkpoint writer (see reply_checkpoints.h).
#include "host/services/reply_checkpoints.h"

#include "host/log.h"
#include "storage/database.h"
#include "storage/repositories.h"

#include <pthread.h>

namespace switchboard {

ReplyCheckpoints::ReplyCheckpoints(storage::Database& db) : db_(db), thread_([this] { run(); }) {}

ReplyCheckpoints::~ReplyCheckpoints() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_one();
  thread_.join();
}

void ReplyCheckpoints::append(std::int64_t message_id, std::string_view more) {
  {
    std::lock_guard lock(mutex_);
    pending_.emplace_back(message_id, std::string(more));
  }
  ready_.notify_one();
}

void ReplyCheckpoints::run() {
  ::pthread_setname_np(::pthread_self(), "sb-checkpoints");
  std::vector<std::pair<std::int64_t, std::string>> batch;
  std::unique_lock lock(mutex_);
  for (;;) {
    ready_.wait(lock, [&] { return !pending_.empty() || stopping_; });
    if (pending_.empty()) return;  // stopping, nothing left
    // Let the other streams' checkpoints of this moment join the batch.
    if (!stopping_) ready_.wait_for(lock, kWindow, [&] { return stopping_; });
    batch.swap(pending_);
    lock.unlock();
    try {
      // In arrival order: pieces of one reply are appended as they came.
      db_.write_own([&](storage::Conn& conn) {
        for (const auto& [id, text] : batch) storage::messages::append_content(conn, id, text);
      });
    } catch (const std::exception& e) {
      // Each reply is still saved whole when it ends; a crash before then loses this batch.
      log::chat().warning("a batch of " + std::to_string(batch.size()) + " reply checkpoints failed: " + e.what());
    }
    batch.clear();
    lock.lock();
  }
}

}  // namespace switchboard
