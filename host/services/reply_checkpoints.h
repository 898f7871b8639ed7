// File: host/services/reply_checkpoints.h
//
// Checkpoints of replies still streaming, written in batches: every stream
// hands its new text here, and one thread appends all that arrived within a
// short window in one transaction. SQLite has one writer at a time, so a
// write of its own per checkpoint would cost a busy host a third more writes
// per turn; a batch costs it one per window, shared by every stream.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace switchboard {

namespace storage {
class Database;
}

class ReplyCheckpoints {
 public:
  // How long the first checkpoint of a batch waits for others to join it.
  static constexpr std::chrono::milliseconds kWindow{50};

  explicit ReplyCheckpoints(storage::Database& db);
  // Writes what is pending, then stops.
  ~ReplyCheckpoints();
  ReplyCheckpoints(const ReplyCheckpoints&) = delete;
  ReplyCheckpoints& operator=(const ReplyCheckpoints&) = delete;

  // Appends `more` to the content of message `message_id` soon, while it is
  // still "streaming" (a reply that has ended meanwhile is left alone).
  void append(std::int64_t message_id, std::string_view more);

 private:
  void run();

  storage::Database& db_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<std::pair<std::int64_t, std::string>> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace switchboard
