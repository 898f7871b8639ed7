// File: host/services/chat_service.h
//
// One chat turn, whole or streamed, through the same steps: validate, load
// the session, resolve the config (override → session's → default), build
// the history (each stored turn once + the new message once), save the user
// message with its model snapshot, stream from the provider, save the reply
// with snapshot, usage and status, and move the session's update time.
#pragma once

#include "host/json_text.h"  // utf8_length, for the checks of user text
#include "host/plugins/provider_event.h"
#include "host/services/caller.h"
#include "host/services/request_limits.h"
#include "host/services/result.h"
#include "storage/records.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

class ConfigService;
class PluginRegistry;
struct ChatMessage;
namespace storage {
class Database;
}

inline constexpr std::size_t kMaxUserMessageChars = 4000;

struct TurnRequest {
  Caller caller;
  std::int64_t session_id = 0;
  std::string user_message;
  std::optional<double> temperature;  // none: the session's, else 0.7
  std::int64_t max_tokens = 2048;
  std::optional<std::int64_t> config_id;  // this turn only
  std::string options_json = "{}";        // provider options for this turn
  // At most one of these. regenerate_of: the session's last reply, answered
  // anew to the same user message (user_message stays empty; the old reply
  // is kept, superseded). edit_of: a user message of the session, replaced
  // by user_message together with everything after it.
  std::optional<std::int64_t> regenerate_of;
  std::optional<std::int64_t> edit_of;
};

struct TurnStart {
  std::int64_t session_id = 0;
  std::int64_t user_message_id = 0;
  std::int64_t assistant_message_id = 0;
  std::string provider;  // of the config that answers: the session's, or one of its fallbacks
  std::string model;
  std::int64_t config_id = 0;
};

// Sees a turn as it happens; every call is on the turn's thread. The reply's
// events come as the provider's (ChatSink): on_event returning false stops
// the stream (the reply is saved "cancelled"), and so does alive().
class TurnObserver : public ChatSink {
 public:
  // The user message is saved and the provider is about to be called.
  virtual void on_start(const TurnStart&) {}
  bool on_event(const ProviderEvent&) override { return true; }
};

struct TurnResult {
  storage::Message user;
  storage::Message assistant;   // status: complete, cancelled, error or interrupted
  std::optional<Error> error;   // set when the assistant status is error or interrupted
};

// The validated request fields; a failure names the field and changes nothing.
Result<Unit> validate_turn(const TurnRequest& request);
// A user message: valid UTF-8, 1 to kMaxUserMessageChars characters.
Result<Unit> validate_user_message(const std::string& text);

class ReplyCheckpoints;

class ChatService {
 public:
  ChatService(storage::Database& db, const PluginRegistry& registry, ConfigService& configs);
  ~ChatService();

  // A failure before the turn starts (invalid input, unknown session or
  // config, provider not loaded) is an Error and nothing is written. Once
  // started, the result always carries both saved messages.
  Result<TurnResult> chat_turn(const TurnRequest& request);
  Result<TurnResult> stream_turn(const TurnRequest& request, TurnObserver& observer);

  // The stored turns of a session, oldest first, each once, then `user_message`.
  Result<std::vector<ChatMessage>> build_history(std::int64_t session_id, const std::string& user_message);

  // Shutdown, in two steps: refuse new turns (they get ShuttingDown), then,
  // after a grace period, ask in-flight turns to stop; their partial replies
  // are saved "interrupted" with code shutting_down.
  // The caps every turn is held to (request_limits.h). Set once, before serving.
  void set_limits(const RequestLimits& limits) { limits_ = limits; }
  // How long a turn waits for the one before it in its session (then 409
  // session_busy), and the hosts' lease (a turn lock of a host silent for a
  // whole lease is taken over). Set once, before serving.
  void set_turn_wait(std::chrono::milliseconds wait, std::chrono::milliseconds host_lease) {
    turn_wait_ = wait;
    host_lease_ = host_lease;
  }

  void refuse_new_turns() { refusing_.store(true); }
  void stop_in_flight() { stopping_.store(true); }
  int in_flight() const { return in_flight_.load(); }

 private:
  struct SessionLock;
  class SharedTurnLock;
  std::shared_ptr<SessionLock> lock_for(std::int64_t session_id);

  storage::Database& db_;
  const PluginRegistry& registry_;
  ConfigService& configs_;
  RequestLimits limits_;
  std::chrono::milliseconds turn_wait_{120'000};
  std::chrono::milliseconds host_lease_{10'000};
  std::atomic<bool> refusing_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
  std::mutex locks_mutex_;
  std::map<std::int64_t, std::weak_ptr<SessionLock>> locks_;
  std::unique_ptr<ReplyCheckpoints> checkpoints_;  // the replies' batched checkpoints
};

}  // namespace switchboard
