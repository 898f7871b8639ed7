// File: host/services/session_service.cpp
//
// Session management: create, list, get, rename, switch config, settings (system prompt,
// temperature), delete.
#include "host/services/session_service.h"

#include "host/services/chat_service.h"
#include "host/services/labels.h"
#include "storage/database.h"
#include "storage/repositories.h"

#include <cmath>

namespace switchboard {

namespace {

constexpr std::size_t kMaxTitleChars = 200;
constexpr std::int64_t kMaxPageSize = 200;

Result<Unit> check_page(std::int64_t limit, std::int64_t offset) {
  if (limit < 1 || limit > kMaxPageSize)
    return invalid("limit", "limit must be between 1 and " + std::to_string(kMaxPageSize));
  if (offset < 0) return invalid("offset", "offset must not be negative");
  return Unit{};
}
constexpr std::size_t kMaxSearchChars = 200;

Error session_not_found(std::int64_t id) {
  return {ErrorKind::NotFound, "session_not_found", "no session with id " + std::to_string(id), ""};
}

template <typename T, typename F>
Result<T> guarded(F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Error{ErrorKind::Internal, "storage_error", std::string("storage failure: ") + e.what(), ""};
  }
}

// The owner's session, or nothing: another owner's session does not exist for this caller.
std::optional<storage::Session> owned(storage::Conn& conn, const std::string& owner, std::int64_t id) {
  auto s = storage::sessions::find(conn, id);
  if (!s || s->owner != owner) return std::nullopt;
  return s;
}

}  // namespace

SessionInfo to_info(const storage::Session& s) {
  SessionInfo info;
  info.id = s.id;
  info.title = s.title;
  info.system_prompt = s.system_prompt;
  info.temperature = s.temperature;
  info.owner = s.owner;
  info.config_id = s.config_id;
  if (s.config) info.config = to_info(*s.config);
  info.created_at_ms = s.created_at_ms;
  info.updated_at_ms = s.updated_at_ms;
  info.message_count = s.message_count;
  return info;
}

std::string session_markdown(const SessionInfo& session, const std::vector<storage::Message>& messages) {
  std::string out = "# " + session.title + "\n";
  for (const auto& m : messages) {
    if (m.superseded) continue;
    if (m.role == "user") {
      out += "\n## User\n\n";
    } else {
      out += "\n## Assistant (" + m.llm_provider + " · " + m.llm_model_name + ")";
      if (m.status != storage::MessageStatus::Complete) out += std::string(" — ") + storage::status_name(m.status);
      out += "\n\n";
    }
    out += m.content;
    if (!m.error_message.empty() && m.status != storage::MessageStatus::Cancelled) out += "\n\n> Error: " + m.error_message;
    out += "\n";
  }
  return out;
}

Result<Unit> validate_title(const std::string& title) {
  const auto length = utf8_length(title);
  if (!length) return invalid("title", "title must be valid UTF-8");
  if (auto ok = check_label("title", title); !ok) return ok;
  if (*length > kMaxTitleChars)
    return invalid("title", "title must be at most " + std::to_string(kMaxTitleChars) + " characters");
  return Unit{};
}

SessionService::SessionService(storage::Database& db, ConfigService& configs) : db_(db), configs_(configs) {}

Result<SessionInfo> SessionService::create(const Caller& caller, const std::string& title,
                                           std::optional<std::int64_t> config_id) {
  if (auto ok = validate_title(title); !ok) return ok.error();
  std::int64_t bound = 0;
  if (config_id) {
    bound = *config_id;
  } else {
    auto def = configs_.default_config_record(caller);
    if (!def) return def.error();
    bound = def->id;
  }
  // A new row of the caller's own: it need not queue behind every other
  // writer (a config deleted meanwhile fails the foreign key, not silently).
  return guarded<SessionInfo>([&]() -> Result<SessionInfo> {
    return db_.write_own([&](storage::Conn& conn) -> Result<SessionInfo> {
      if (const auto c = storage::configs::find(conn, bound); !c || !ConfigService::visible(*c, caller))
        return Error{ErrorKind::NotFound, "config_not_found",
                     "no LLM config with id " + std::to_string(bound), "config_id"};
      storage::Session s;
      s.title = title.empty() ? "New chat" : title;
      s.owner = caller.owner();
      s.config_id = bound;
      const std::int64_t id = storage::sessions::insert(conn, s);
      return to_info(*storage::sessions::find(conn, id));
    });
  });
}

Result<SessionPage> SessionService::list(const Caller& caller, std::int64_t limit, std::int64_t offset) {
  if (auto ok = check_page(limit, offset); !ok) return ok.error();
  return guarded<SessionPage>([&] {
    return db_.read([&](storage::Conn& conn) {
      SessionPage page;
      page.limit = limit;
      page.offset = offset;
      page.total = storage::sessions::count(conn, caller.owner());
      for (const auto& s : storage::sessions::list(conn, caller.owner(), limit, offset))
        page.sessions.push_back(to_info(s));
      return page;
    });
  });
}

Result<SessionPage> SessionService::search(const Caller& caller, const std::string& text, std::int64_t limit,
                                           std::int64_t offset) {
  const auto length = utf8_length(text);
  if (!length) return invalid("q", "q must be valid UTF-8");
  if (*length < 1 || *length > kMaxSearchChars)
    return invalid("q", "q must be 1 to " + std::to_string(kMaxSearchChars) + " characters");
  if (text.find('\0') != std::string::npos) return invalid("q", "q must not contain NUL");
  if (auto ok = check_page(limit, offset); !ok) return ok.error();
  return guarded<SessionPage>([&] {
    return db_.read([&](storage::Conn& conn) {
      SessionPage page;
      page.limit = limit;
      page.offset = offset;
      page.total = storage::sessions::search_count(conn, caller.owner(), text);
      for (const auto& s : storage::sessions::search(conn, caller.owner(), text, limit, offset))
        page.sessions.push_back(to_info(s));
      return page;
    });
  });
}

Result<SessionInfo> SessionService::get(const Caller& caller, std::int64_t id) {
  return guarded<SessionInfo>([&]() -> Result<SessionInfo> {
    const auto s = db_.read([&](storage::Conn& conn) { return owned(conn, caller.owner(), id); });
    if (!s) return session_not_found(id);
    return to_info(*s);
  });
}

Result<SessionInfo> SessionService::rename(const Caller& caller, std::int64_t id, const std::string& title) {
  if (auto ok = validate_title(title); !ok) return ok.error();
  if (title.empty()) return invalid("title", "title must not be empty");
  return guarded<SessionInfo>([&]() -> Result<SessionInfo> {
    return db_.write([&](storage::Conn& conn) -> Result<SessionInfo> {
      if (!owned(conn, caller.owner(), id)) return session_not_found(id);
      storage::sessions::rename(conn, id, title);
      return to_info(*storage::sessions::find(conn, id));
    });
  });
}

Result<Unit> validate_system_prompt(const std::string& prompt) {
  const auto length = utf8_length(prompt);
  if (!length) return invalid("system_prompt", "system_prompt must be valid UTF-8");
  if (*length > kMaxSystemPromptChars)
    return invalid("system_prompt", "system_prompt must be at most " + std::to_string(kMaxSystemPromptChars) +
                                         " characters (got " + std::to_string(*length) + ")");
  return Unit{};
}

Result<SessionInfo> SessionService::set_system_prompt(const Caller& caller, std::int64_t id, const std::string& prompt) {
  if (auto ok = validate_system_prompt(prompt); !ok) return ok.error();
  return guarded<SessionInfo>([&]() -> Result<SessionInfo> {
    return db_.write([&](storage::Conn& conn) -> Result<SessionInfo> {
      if (!owned(conn, caller.owner(), id)) return session_not_found(id);
      storage::sessions::set_system_prompt(conn, id, prompt);
      return to_info(*storage::sessions::find(conn, id));
    });
  });
}

Result<Unit> validate_temperature(double temperature) {
  if (!std::isfinite(temperature) || temperature < 0.0 || temperature > 2.0)
    return invalid("temperature", "temperature must be between 0 and 2");
  return Unit{};
}

Result<SessionInfo> SessionService::set_temperature(const Caller& caller, std::int64_t id,
                                                    std::optional<double> temperature) {
  if (temperature)
    if (auto ok = validate_temperature(*temperature); !ok) return ok.error();
  return guarded<SessionInfo>([&]() -> Result<SessionInfo> {
    return db_.write([&](storage::Conn& conn) -> Result<SessionInfo> {
      if (!owned(conn, caller.owner(), id)) return session_not_found(id);
      storage::sessions::set_temperature(conn, id, temperature);
      return to_info(*storage::sessions::find(conn, id));
    });
  });
}

Result<SessionInfo> SessionService::switch_config(const Caller& caller, std::int64_t id,
                                                  std::int64_t config_id) {
  return guarded<SessionInfo>([&]() -> Result<SessionInfo> {
    return db_.write([&](storage::Conn& conn) -> Result<SessionInfo> {
      if (!owned(conn, caller.owner(), id)) return session_not_found(id);
      if (const auto c = storage::configs::find(conn, config_id); !c || !ConfigService::visible(*c, caller))
        return Error{ErrorKind::NotFound, "config_not_found",
                     "no LLM config with id " + std::to_string(config_id), "config_id"};
      storage::sessions::set_config(conn, id, config_id);
      return to_info(*storage::sessions::find(conn, id));
    });
  });
}

Result<Unit> SessionService::remove(const Caller& caller, std::int64_t id) {
  return guarded<Unit>([&]() -> Result<Unit> {
    return db_.write([&](storage::Conn& conn) -> Result<Unit> {
      if (!owned(conn, caller.owner(), id)) return session_not_found(id);
      storage::sessions::remove(conn, id);
      return Unit{};
    });
  });
}

Result<std::vector<storage::Message>> SessionService::messages(const Caller& caller, std::int64_t id) {
  return guarded<std::vector<storage::Message>>([&]() -> Result<std::vector<storage::Message>> {
    return db_.read([&](storage::Conn& conn) -> Result<std::vector<storage::Message>> {
      if (!owned(conn, caller.owner(), id)) return session_not_found(id);
      return storage::messages::list(conn, id);
    });
  });
}

}  // namespace switchboard
