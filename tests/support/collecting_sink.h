// File: tests/support/collecting_sink.h
//
// A ChatSink for plugin tests: collects the reply, counts deltas, and stops
// the stream (through on_event and alive) once `stop` is set; tool-call
// pieces are put together in `reply`.
#pragma once

#include "host/plugins/loaded_provider.h"

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::testing {

struct Collect final : ChatSink {
  std::string text;
  int deltas = 0;
  std::atomic<bool> stop{false};
  ReplyText reply;
  std::vector<ToolCallDelta> tool_pieces;
  bool on_event(const ProviderEvent& e) override {
    reply.add(e);
    if (e.kind == ProviderEvent::Kind::Text) {
      text.append(e.text);
      ++deltas;
    } else {
      tool_pieces.push_back(e.tool_call);
    }
    return !stop.load();
  }
  bool alive() override { return !stop.load(); }
};

}  // namespace switchboard::testing
