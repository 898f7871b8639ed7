// File: host/http/chat_routes.cpp
//
// POST /api/chat (the whole reply as JSON) and POST /api/chat/stream (Server-
// Sent Events: start, delta..., then done or error).
#include "host/http/api_json.h"
#include "host/http/api_routes.h"
#include "host/http/client_watch.h"
#include "host/http/router.h"
#include "host/http/sse_writer.h"
#include "host/json_text.h"
#include "host/metrics.h"

#include <Poco/Net/HTTPServerResponse.h>

namespace switchboard::http {

namespace {

TurnRequest parse_turn(Exchange& ex, std::size_t limit) {
  TurnRequest r = turn_request(read_body(ex, limit, true));
  r.caller = caller_of(ex);
  return r;
}

Json usage_json(const storage::Message& m) {
  return {{"prompt_tokens", m.prompt_tokens},
          {"completion_tokens", m.completion_tokens},
          {"total_tokens", m.prompt_tokens + m.completion_tokens}};
}

// Writes a turn as SSE events.
class SseObserver final : public TurnObserver {
 public:
  SseObserver(Exchange& ex, int keepalive_ms) : sse_(ex, keepalive_ms) {}

  void on_start(const TurnStart& start) override {
    sse_.begin();
    event("start", {{"type", "start"},
                    {"session_id", start.session_id},
                    {"user_message_id", start.user_message_id},
                    {"message_id", start.assistant_message_id},
                    {"provider", start.provider},
                    {"model", start.model},
                    {"config_id", start.config_id}});
  }
  bool on_event(const ProviderEvent& e) override {
    metrics::global().streamed_tokens.add();
    if (e.kind == ProviderEvent::Kind::Text) {
      // Per token: the bytes Json{{"type", "delta"}, {"content", text}}.dump() gives, in a reused buffer.
      delta_.assign("{\"content\":");
      append_json_string(delta_, e.text);
      delta_.append(",\"type\":\"delta\"}");
      return sse_.event("delta", delta_, !e.held);
    }
    const ToolCallDelta& d = e.tool_call;
    return event("tool_call", {{"type", "tool_call"}, {"index", d.index}, {"id", d.id}, {"name", d.name},
                               {"arguments", d.arguments}});
  }
  bool alive() override { return sse_.alive(); }
  bool wait(std::chrono::milliseconds ms) override { return sse_.wait(ms); }

  bool started() const { return sse_.started(); }
  bool event(const char* name, const Json& data) { return sse_.event(name, dump(data)); }

 private:
  SseWriter sse_;
  std::string delta_;
};

// A whole-reply turn whose client is watched: one that leaves stops the
// provider within a second, and the reply is saved "cancelled".
class WatchedTurn final : public TurnObserver {
 public:
  explicit WatchedTurn(Exchange& ex) : watch_(ex) {}
  bool on_event(const ProviderEvent&) override { return watch_.alive(); }
  bool alive() override { return watch_.alive(); }
  bool wait(std::chrono::milliseconds ms) override { return watch_.wait(ms); }

 private:
  ClientWatch watch_;
};

void stream_sse(Exchange& ex, ApiContext& ctx, const TurnRequest& request);

void count(const TurnResult& turn) {
  metrics::global().chat_turns.add();
  if (turn.assistant.status == storage::MessageStatus::Error) metrics::global().upstream_errors.add();
}

}  // namespace

void register_chat_routes(Router& router, ApiContext& ctx) {
  const auto limit = ctx.max_body_bytes;

  router.add("POST", "/api/chat", Access::User, [&ctx, limit](Exchange& ex) {
    const TurnRequest request = parse_turn(ex, limit);
    WatchedTurn watched(ex);
    const auto result = ctx.chat.stream_turn(request, watched);
    if (!result) return send_service_error(ex, result.error());
    const TurnResult& turn = result.value();
    count(turn);
    if (turn.assistant.status == storage::MessageStatus::Cancelled) {
      ex.response.setKeepAlive(false);  // the client left: no one to answer
      return;
    }
    if (turn.error) {
      const Json body = {{"error",
                          {{"code", turn.error->code},
                           {"message", turn.error->message},
                           {"message_id", turn.assistant.id},
                           {"user_message_id", turn.user.id}}}};
      return send_json(ex, status_for(turn.error->kind), dump(body));
    }
    send_json(ex, 200, dump({{"user_message", to_json(turn.user)},
                             {"assistant_message", to_json(turn.assistant)},
                             {"usage", usage_json(turn.assistant)}}));
  });

  router.add("POST", "/api/chat/stream", Access::User, [&ctx, limit](Exchange& ex) {
    stream_sse(ex, ctx, parse_turn(ex, limit));
  });

  // The page's "regenerate" and "edit and resend", streamed like
  // /api/chat/stream. Regenerate answers the session's last user message
  // again (the last reply stays, superseded); edit replaces a user message
  // and everything after it.
  router.add("POST", "/api/sessions/{id}/messages/{message_id}/regenerate", Access::User,
             [&ctx, limit](Exchange& ex) {
               TurnRequest request = message_turn_request(read_body(ex, limit, true), path_id(ex.params[0], "session_id"),
                                                          path_id(ex.params[1], "message_id"), false);
               request.caller = caller_of(ex);
               stream_sse(ex, ctx, request);
             });
  router.add("POST", "/api/sessions/{id}/messages/{message_id}/edit", Access::User, [&ctx, limit](Exchange& ex) {
    TurnRequest request = message_turn_request(read_body(ex, limit, true), path_id(ex.params[0], "session_id"),
                                               path_id(ex.params[1], "message_id"), true);
    request.caller = caller_of(ex);
    stream_sse(ex, ctx, request);
  });
}

namespace {

void stream_sse(Exchange& ex, ApiContext& ctx, const TurnRequest& request) {
  SseObserver sse(ex, ctx.sse_keepalive_ms);
  const auto result = ctx.chat.stream_turn(request, sse);
  if (!result) {
    // Failed before the stream started: nothing was written, answer plain JSON.
    if (!sse.started()) return send_service_error(ex, result.error());
    const Error& e = result.error();
    sse.event("error", {{"type", "error"},
                        {"code", e.kind == ErrorKind::Internal ? "internal" : e.code},
                        {"message", e.kind == ErrorKind::Internal ? "internal server error" : e.message},
                        {"message_id", nullptr}});
    return;
  }
  const TurnResult& turn = result.value();
  count(turn);
  if (turn.error) {
    sse.event("error", {{"type", "error"},
                        {"code", turn.error->code},
                        {"message", turn.error->message},
                        {"message_id", turn.assistant.id}});
  } else if (turn.assistant.status == storage::MessageStatus::Complete) {
    sse.event("done", {{"type", "done"},
                       {"message_id", turn.assistant.id},
                       {"finish_reason", turn.assistant.finish_reason},
                       {"usage", usage_json(turn.assistant)}});
  }
  // Cancelled: the client is gone; there is no one to tell.
}

}  // namespace

}  // namespace switchboard::http
