// File: tests/support/collecting_sink.h
//
// A ChatSink for plugin tests: collects the reply, counts deltas, and stops
// the stream (through on_delta and alive) once `stop` is set.
#pragma once

#include "host/plugins/loaded_provider.h"

#include <atomic>
#include <string>
#include <string_view>

namespace switchboard::testing {

struct Collect final : ChatSink {
  std::string text;
  int deltas = 0;
  std::atomic<bool> stop{false};
  bool on_delta(std::string_view t) override {
    text.append(t);
    ++deltas;
    return !stop.load();
  }
  bool alive() override { return !stop.load(); }
};

}  // namespace switchboard::testing
