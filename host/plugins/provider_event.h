// File: host/plugins/provider_event.h
//
// The one typed event a provider's reply travels as, from the plugin boundary
// (LoadedProvider's emit callback) through the services to the writers: the
// SSE of /api/chat/stream, the /v1 chunks, and the saved or whole reply. A new
// kind of streamed piece is a new Kind here (with its size() and its place in
// ReplyText), one case where the ABI payload is parsed (LoadedProvider), and
// one in each writer that shows it; the services pass it on unchanged.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace switchboard {

// A piece of a tool call as OpenAI streams it: the first piece of call `index`
// carries id and name, later pieces append to its arguments.
struct ToolCallDelta {
  int index = 0;
  std::string id;
  std::string name;
  std::string arguments;
};

struct ProviderEvent {
  enum class Kind { Text, ToolCall };
  Kind kind = Kind::Text;
  std::string_view text;    // Text: a piece of the reply (valid for the call only)
  // Text: more follows at once (SDK 1.2 TEXT_HELD); a writer may hold it until
  // the next event without it, or the provider's next alive() or wait().
  bool held = false;
  ToolCallDelta tool_call;  // ToolCall

  // Bytes of reply it carries, for the reply budget.
  std::size_t size() const {
    return kind == Kind::Text ? text.size() : tool_call.name.size() + tool_call.arguments.size();
  }

  static ProviderEvent of_text(std::string_view t) {
    ProviderEvent e;
    e.text = t;
    return e;
  }
};

// Receives a reply as it streams. Both calls happen on the calling thread.
class ChatSink {
 public:
  virtual ~ChatSink() = default;
  // A piece of the reply; return false to stop the stream.
  virtual bool on_event(const ProviderEvent& event) = 0;
  // Polled while the provider waits; return false to stop the stream.
  virtual bool alive() { return true; }
  // A provider's pause (SDK 1.2 wait()): blocks up to `ms`, or less, and
  // returns alive(). Sinks that see the client override it to sleep on the
  // client's socket instead of polling; this one polls every 5 ms.
  virtual bool wait(std::chrono::milliseconds ms) {
    std::this_thread::sleep_for(std::min(ms, std::chrono::milliseconds(5)));
    return alive();
  }
};

// A whole tool call, as an assistant message carries it.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text
};

// A reply put together from its events: the text, and each tool call's
// pieces joined by index.
struct ReplyText {
  std::string text;
  std::vector<ToolCall> tool_calls;

  void add(const ProviderEvent& e) {
    if (e.kind == ProviderEvent::Kind::Text) {
      text.append(e.text);
      return;
    }
    const auto& d = e.tool_call;
    if (d.index < 0 || d.index > 127) return;  // a plugin's bug; never a huge allocation
    if (static_cast<std::size_t>(d.index) >= tool_calls.size()) tool_calls.resize(static_cast<std::size_t>(d.index) + 1);
    ToolCall& call = tool_calls[static_cast<std::size_t>(d.index)];
    if (!d.id.empty()) call.id = d.id;
    if (!d.name.empty()) call.name = d.name;
    call.arguments += d.arguments;
  }
};

}  // namespace switchboard
