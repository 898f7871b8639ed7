// File: host/services/chat_service.cpp
//
// The chat turn. Turns of one session are serialized: a second turn waits
// for the first, so histories never interleave. Within a host a mutex per
// session does it; on a database shared by several hosts the turn also holds
// the session's row in turn_locks. The wait is bounded (409 session_busy).
#include "host/services/chat_service.h"

#include "host/log.h"
#include "host/plugins/plugin_registry.h"
#include "host/services/config_service.h"
#include "host/services/option_schema.h"
#include "host/services/reply_checkpoints.h"
#include "host/services/resilience.h"
#include "storage/database.h"
#include "storage/repositories.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

namespace switchboard {

struct ChatService::SessionLock {
  std::timed_mutex mutex;
};

// The session's turn across hosts, held from construction (when taken()) to
// destruction. On an SQLite file the host is alone and it is always taken.
class ChatService::SharedTurnLock {
 public:
  // Waits until `give_up`, or until the host stops.
  SharedTurnLock(storage::Database& db, std::int64_t session_id, std::chrono::milliseconds lease,
                 std::chrono::steady_clock::time_point give_up, const std::atomic<bool>& stopping)
      : db_(db), session_id_(session_id) {
    if (!db_.shared()) {
      held_ = true;
      return;
    }
    // The longest a turn may hold a lock its host still renews: beyond it the
    // lock is taken to be leaked (a failed release) and is taken over.
    constexpr std::int64_t kLongestTurnMs = 30 * 60 * 1000;
    auto pause = std::chrono::milliseconds(2);
    for (;;) {
      const std::int64_t now = storage::now_ms();
      held_ = db_.write_own([&](storage::Conn& c) {
        return storage::turn_locks::take(c, session_id_, now, now - lease.count(), now - kLongestTurnMs);
      });
      if (held_ || stopping.load() || std::chrono::steady_clock::now() + pause > give_up) return;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  }
  ~SharedTurnLock() {
    if (!held_ || !db_.shared()) return;
    try {
      db_.write_own([&](storage::Conn& c) { storage::turn_locks::release(c, session_id_); });
    } catch (const std::exception& e) {
      log::chat().warning("could not release the turn lock of session " + std::to_string(session_id_) +
                          " (it is taken over once stale): " + e.what());
    }
  }
  SharedTurnLock(const SharedTurnLock&) = delete;
  SharedTurnLock& operator=(const SharedTurnLock&) = delete;
  bool taken() const { return held_; }

 private:
  storage::Database& db_;
  std::int64_t session_id_;
  bool held_ = false;
};

namespace {

using storage::MessageStatus;

Error storage_failure(const std::exception& e) {
  return {ErrorKind::Internal, "storage_error", std::string("storage failure: ") + e.what(), ""};
}

ErrorKind kind_of_upstream(const std::string& code) {
  if (code == "upstream_timeout") return ErrorKind::UpstreamTimeout;
  return ErrorKind::Upstream;
}

// Hands the reply's events to the observer and checkpoints its text while it
// streams (ReplySink, before it, keeps the budget, the shutdown stop and the
// reply to save), so that a crash keeps what the client saw: the stored text
// is at most kCheckpointEvery behind what was sent (plus the batch window and
// the time a write waits for the database: half a second leaves room for both
// within the promised second), or kCheckpointBytes (a quarter of what is
// stored, for long replies: a reply of n bytes costs O(log n) appends plus two
// a second, not one per token).
class TurnSink final : public ChatSink {
 public:
  TurnSink(TurnObserver& observer, ReplyCheckpoints& checkpoints, std::int64_t message_id)
      : observer_(observer), checkpoints_(checkpoints), message_id_(message_id), saved_at_(Clock::now()) {}
  bool on_event(const ProviderEvent& event) override {
    if (event.kind == ProviderEvent::Kind::Text) reply.append(event.text);
    const bool more = observer_.on_event(event);
    checkpoint();
    return more;
  }
  bool alive() override {
    checkpoint();
    return observer_.alive();
  }
  bool wait(std::chrono::milliseconds ms) override {
    checkpoint();
    return observer_.wait(ms);
  }

  std::string reply;

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kCheckpointBytes = 256;
  static constexpr Clock::duration kCheckpointEvery = std::chrono::milliseconds(500);

  void checkpoint() {
    const std::size_t unsaved = reply.size() - saved_;
    if (unsaved == 0) return;
    const auto now = Clock::now();
    if (unsaved < std::max(kCheckpointBytes, saved_ / 4) && now - saved_at_ < kCheckpointEvery) return;
    checkpoints_.append(message_id_, std::string_view(reply).substr(saved_));
    saved_ = reply.size();
    saved_at_ = now;
  }

  TurnObserver& observer_;
  ReplyCheckpoints& checkpoints_;
  std::int64_t message_id_;
  std::size_t saved_ = 0;
  Clock::time_point saved_at_;
};

class InFlight {
 public:
  explicit InFlight(std::atomic<int>& n) : n_(n) { ++n_; }
  ~InFlight() { --n_; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<int>& n_;
};

// What the model sees of the first `count` stored messages. Superseded
// replies (regenerated since) are out of the conversation. Of the rest, the
// turns that got an answer, each once: a user message with its reply (whole,
// or the part kept when it was stopped, failed or cut by a crash). A user
// message whose reply has no text at all is left out with it, so the model
// never sees two user messages in a row. The session's system prompt, when it
// has one, comes first.
std::vector<ChatMessage> history_of(const std::vector<storage::Message>& stored, std::size_t count,
                                    const std::string& system_prompt) {
  std::vector<const storage::Message*> line;
  for (std::size_t i = 0; i < count && i < stored.size(); ++i)
    if (!stored[i].superseded) line.push_back(&stored[i]);
  std::vector<ChatMessage> history;
  history.reserve(line.size() + 2);
  if (!system_prompt.empty()) history.push_back({"system", system_prompt});
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i]->role != "user") continue;
    const bool answered = i + 1 < line.size() && line[i + 1]->role == "assistant" && !line[i + 1]->content.empty();
    if (!answered) continue;
    history.push_back({line[i]->role, line[i]->content});
    history.push_back({line[i + 1]->role, line[i + 1]->content});
    ++i;
  }
  return history;
}

Error message_not_found(std::int64_t id) {
  return {ErrorKind::NotFound, "message_not_found", "no message with id " + std::to_string(id) + " in this session",
          "message_id"};
}

// Where a turn starts in the stored conversation (superseded replies left
// out): `keep` messages stay before it; a regenerated turn answers `answered`.
struct TurnPlace {
  std::vector<storage::Message> line;
  std::size_t keep = 0;
  std::optional<storage::Message> answered;
};

Result<TurnPlace> place_turn(std::vector<storage::Message> stored, const TurnRequest& request) {
  TurnPlace place;
  const auto target = request.regenerate_of ? request.regenerate_of : request.edit_of;
  if (target && std::none_of(stored.begin(), stored.end(), [&](const auto& m) { return m.id == *target; }))
    return message_not_found(*target);
  for (auto& m : stored)
    if (!m.superseded) place.line.push_back(std::move(m));
  place.keep = place.line.size();
  if (request.regenerate_of) {
    const std::int64_t id = *request.regenerate_of;
    const auto& line = place.line;
    if (line.empty() || line.back().id != id || line.back().role != "assistant" || line.size() < 2 ||
        line[line.size() - 2].role != "user")
      return Error{ErrorKind::Conflict, "not_last_reply",
                   "only the last reply of a session can be regenerated; message " + std::to_string(id) +
                       " is not it",
                   "message_id"};
    place.keep = line.size() - 2;  // the history stops before the message answered again
    place.answered = line[line.size() - 2];
  } else if (request.edit_of) {
    const std::int64_t id = *request.edit_of;
    const auto it = std::find_if(place.line.begin(), place.line.end(), [&](const auto& m) { return m.id == id; });
    if (it == place.line.end() || it->role != "user")
      return Error{ErrorKind::Conflict, "not_a_user_message",
                   "message " + std::to_string(id) + " is a reply; only a user message can be edited", "message_id"};
    place.keep = static_cast<std::size_t>(it - place.line.begin());
  }
  return place;
}

}  // namespace

Result<Unit> validate_turn(const TurnRequest& r) {
  if (r.session_id <= 0) return invalid("session_id", "session_id must be a positive integer");
  if (r.regenerate_of && r.edit_of) return invalid("message_id", "a turn either regenerates or edits, not both");
  if (r.regenerate_of) {
    if (!r.user_message.empty()) return invalid("user_message", "a regenerated reply answers the stored message");
  } else if (auto ok = validate_user_message(r.user_message); !ok) {
    return ok;
  }
  if (r.temperature && (!std::isfinite(*r.temperature) || *r.temperature < 0.0 || *r.temperature > 2.0))
    return invalid("temperature", "temperature must be between 0 and 2");
  if (r.max_tokens <= 0) return invalid("max_tokens", "max_tokens must be greater than 0");
  if (r.config_id && *r.config_id <= 0) return invalid("config_id", "config_id must be a positive integer");
  return Unit{};
}

Result<Unit> validate_user_message(const std::string& text) {
  const auto length = utf8_length(text);
  if (!length) return invalid("user_message", "user_message must be valid UTF-8");
  if (*length < 1) return invalid("user_message", "user_message must not be empty");
  if (*length > kMaxUserMessageChars)
    return invalid("user_message", "user_message must be at most " + std::to_string(kMaxUserMessageChars) +
                                       " characters (got " + std::to_string(*length) + ")");
  return Unit{};
}

ChatService::ChatService(storage::Database& db, const PluginRegistry& registry, ConfigService& configs)
    : db_(db), registry_(registry), configs_(configs), checkpoints_(std::make_unique<ReplyCheckpoints>(db)) {}

ChatService::~ChatService() = default;

std::shared_ptr<ChatService::SessionLock> ChatService::lock_for(std::int64_t session_id) {
  std::lock_guard guard(locks_mutex_);
  auto& slot = locks_[session_id];
  auto lock = slot.lock();
  if (!lock) {
    lock = std::make_shared<SessionLock>();
    slot = lock;
  }
  // Drop entries of sessions nobody is chatting in, so the map stays small.
  if (locks_.size() > 1024) {
    for (auto it = locks_.begin(); it != locks_.end();)
      it = it->second.expired() ? locks_.erase(it) : std::next(it);
  }
  return lock;
}

Result<std::vector<ChatMessage>> ChatService::build_history(std::int64_t session_id,
                                                            const std::string& user_message) {
  try {
    std::string system_prompt;
    const auto stored = db_.read([&](storage::Conn& conn) {
      if (const auto session = storage::sessions::find(conn, session_id)) system_prompt = session->system_prompt;
      return storage::messages::list(conn, session_id);
    });
    std::vector<ChatMessage> history = history_of(stored, stored.size(), system_prompt);
    history.push_back({"user", user_message});
    return history;
  } catch (const std::exception& e) {
    return storage_failure(e);
  }
}

Result<TurnResult> ChatService::chat_turn(const TurnRequest& request) {
  TurnObserver whole;  // collects nothing: the saved message carries the reply
  return stream_turn(request, whole);
}

Result<TurnResult> ChatService::stream_turn(const TurnRequest& request, TurnObserver& observer) {
  if (refusing_.load())
    return Error{ErrorKind::ShuttingDown, "shutting_down", "the host is shutting down; retry shortly", ""};
  if (auto ok = validate_turn(request); !ok) return ok.error();

  // Session and config first: a turn that cannot run writes nothing.
  struct Loaded {
    std::optional<storage::Session> session;
    std::optional<storage::LlmConfig> override_config;
  };
  Loaded loaded;
  try {
    loaded = db_.read([&](storage::Conn& conn) {
      Loaded l;
      l.session = storage::sessions::find(conn, request.session_id);
      if (l.session && l.session->owner != request.caller.owner()) l.session.reset();
      if (request.config_id) l.override_config = storage::configs::find(conn, *request.config_id);
      if (l.override_config && !ConfigService::visible(*l.override_config, request.caller)) l.override_config.reset();
      return l;
    });
  } catch (const std::exception& e) {
    return storage_failure(e);
  }
  if (!loaded.session)
    return Error{ErrorKind::NotFound, "session_not_found",
                 "no session with id " + std::to_string(request.session_id), "session_id"};
  if (request.config_id && !loaded.override_config)
    return Error{ErrorKind::NotFound, "config_not_found",
                 "no LLM config with id " + std::to_string(*request.config_id), "config_id"};
  storage::LlmConfig config;
  if (loaded.override_config) {
    config = *loaded.override_config;
  } else if (loaded.session->config) {
    config = *loaded.session->config;
  } else {
    auto def = configs_.default_config_record(request.caller);
    if (!def) return def.error();
    config = def.value();
  }
  // Resolved once: the record, its provider, the effective config and the model.
  auto found = configs_.resolve_for_call(config);
  if (!found) return found.error();
  const std::shared_ptr<const ResolvedConfig> resolved = found.value();
  const auto& provider = resolved->provider;
  // What this turn may cost, checked before anything is written.
  if (auto ok = check_max_tokens(request.max_tokens, provider->description(), limits_); !ok) return ok.error();
  if (auto ok = check_options(provider->description().config_schema_json, request.options_json, "options",
                              "provider " + config.provider);
      !ok)
    return ok.error();

  // The configs that may answer: this one, then its fallbacks that take this request as it is.
  ProviderRequest base;
  // The native API documents its defaults (0.7, 2048): they are the client's values.
  // The turn's own temperature, else the session's, else 0.7.
  base.temperature = request.temperature ? request.temperature : loaded.session->temperature.value_or(0.7);
  base.max_tokens = request.max_tokens;
  base.options_json = request.options_json.empty() ? "{}" : request.options_json;
  std::vector<Candidate> candidates =
      configs_.candidates(request.caller, *resolved, provider, base, [&](const LoadedProvider& p) {
        return check_max_tokens(request.max_tokens, p.description(), limits_) &&
               check_options(p.description().config_schema_json, base.options_json, "options", p.description().name);
      });
  ProviderRequest& call = candidates.front().request;

  // This session's turn: first on this host, then across hosts, within turn_wait_.
  const auto busy = [&] {
    const auto waited = turn_wait_.count();
    return Error{ErrorKind::Conflict, "session_busy",
                 "session " + std::to_string(request.session_id) + " is still answering an earlier message (waited " +
                     (waited >= 1000 ? std::to_string(waited / 1000) + " s" : std::to_string(waited) + " ms") +
                     "); send this one again when it is done",
                 "session_id"};
  };
  const auto lock = lock_for(request.session_id);
  const auto give_up = std::chrono::steady_clock::now() + turn_wait_;
  std::unique_lock session_guard(lock->mutex, std::defer_lock);
  if (!session_guard.try_lock_until(give_up)) return busy();
  std::optional<SharedTurnLock> across_hosts;
  try {
    across_hosts.emplace(db_, request.session_id, host_lease_, give_up, stopping_);
  } catch (const std::exception& e) {
    return storage_failure(e);
  }
  if (!across_hosts->taken())
    return stopping_.load() ? Error{ErrorKind::ShuttingDown, "shutting_down", "the host is shutting down; retry shortly", ""}
                            : busy();
  InFlight in_flight(in_flight_);

  Result<TurnPlace> place = Error{};
  try {
    place = place_turn(
        db_.read([&](storage::Conn& conn) { return storage::messages::list(conn, request.session_id); }), request);
  } catch (const std::exception& e) {
    return storage_failure(e);
  }
  if (!place) return place.error();
  call.messages = history_of(place->line, place->keep, loaded.session->system_prompt);
  call.messages.push_back({"user", place->answered ? place->answered->content : request.user_message});

  TurnResult result;
  result.user.session_id = request.session_id;
  result.user.role = "user";
  result.user.content = request.user_message;
  result.user.status = MessageStatus::Complete;
  result.user.llm_provider = config.provider;
  result.user.llm_model_name = call.model;
  result.user.config_id = config.id;
  result.assistant = result.user;
  result.assistant.role = "assistant";
  result.assistant.content.clear();
  result.assistant.status = MessageStatus::Streaming;
  if (place->answered) result.user = *place->answered;
  try {
    db_.write_own([&](storage::Conn& conn) {
      // The session may have been deleted while we waited for its lock.
      if (!storage::sessions::exists(conn, request.session_id)) return;
      const std::int64_t now = storage::now_ms();
      if (request.regenerate_of) {
        storage::messages::supersede(conn, *request.regenerate_of);
      } else {
        if (request.edit_of) storage::messages::remove_from(conn, request.session_id, *request.edit_of);
        result.user.created_at_ms = now;
        result.user.id = storage::messages::insert(conn, result.user);
      }
      result.assistant.created_at_ms = now;
      result.assistant.reply_to = result.user.id;
      result.assistant.id = storage::messages::insert(conn, result.assistant);
      storage::sessions::touch(conn, request.session_id, now);
    });
  } catch (const std::exception& e) {
    return storage_failure(e);
  }
  if (result.assistant.id == 0)
    return Error{ErrorKind::NotFound, "session_not_found",
                 "session " + std::to_string(request.session_id) + " was deleted", "session_id"};

  for (auto& c : candidates) c.request.messages = call.messages;
  storage::Message& reply = result.assistant;
  TurnSink checkpointed(observer, *checkpoints_, result.assistant.id);
  ReplySink sink(checkpointed, limits_.max_reply_bytes, stopping_);
  // The start event names the config that answers. Without fallbacks that
  // is known now, and the client hears at once; with fallbacks, at the first
  // byte, once retries and fallbacks are behind.
  const Candidate* answering = &candidates.front();
  bool announced = false;
  auto on_answer = [&](std::size_t i) {
    if (announced) return;
    announced = true;
    answering = &candidates[i];
    reply.llm_provider = answering->provider_name;
    reply.llm_model_name = answering->model;
    reply.config_id = answering->config_id;
    observer.on_start({request.session_id, result.user.id, result.assistant.id, answering->provider_name,
                       answering->model, answering->config_id});
  };
  if (candidates.size() == 1) on_answer(0);
  ChatOutcome outcome = call_resilient(candidates, sink, configs_.breakers(), on_answer, stopping_).outcome;
  sink.settle(outcome);

  reply.content = std::move(sink.reply.text);
  reply.prompt_tokens = outcome.prompt_tokens;
  reply.completion_tokens = outcome.completion_tokens;
  switch (outcome.status) {
    case ChatStatus::Complete:
      reply.status = MessageStatus::Complete;
      reply.finish_reason = outcome.finish_reason;
      break;
    case ChatStatus::Cancelled:
      if (stopping_.load()) {
        reply.status = MessageStatus::Interrupted;
        reply.error_code = "shutting_down";
        reply.error_message = "the host shut down during the reply";
        result.error = Error{ErrorKind::ShuttingDown, reply.error_code, reply.error_message, ""};
      } else {
        reply.status = MessageStatus::Cancelled;
        reply.finish_reason = "cancelled";
      }
      break;
    case ChatStatus::Error:
      reply.status = MessageStatus::Error;
      reply.error_code = outcome.error_code;
      reply.error_message = redact_secrets(outcome.error_message, answering->secrets);
      result.error = Error{kind_of_upstream(outcome.error_code), outcome.error_code, reply.error_message, ""};
      log::chat().error("session " + std::to_string(request.session_id) + " message " +
                        std::to_string(reply.id) + ": provider " + answering->provider_name + " model " + answering->model +
                        " failed: " + outcome.error_code + ": " + reply.error_message);
      break;
  }
  try {
    db_.write_own([&](storage::Conn& conn) {
      storage::messages::finish(conn, reply);
      storage::sessions::touch(conn, request.session_id, storage::now_ms());
    });
  } catch (const std::exception& e) {
    // The reply stays "streaming" in the database and is marked interrupted at the next start.
    log::chat().error("cannot save reply " + std::to_string(reply.id) + ": " + e.what());
    return storage_failure(e);
  }
  return result;
}

}  // namespace switchboard
