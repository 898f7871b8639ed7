// File: host/http/sse_writer.h
//
// Writes a text/event-stream response, flushing each event, and watches the
// client: Poco notices a dead peer only on the second write after it left,
// and not at all while nothing is written, so alive() peeks at the socket
// (readable with nothing to read means closed) and fills long silences with
// ": keep-alive" comments.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <string_view>

namespace switchboard::http {

struct Exchange;

class SseWriter {
 public:
  SseWriter(Exchange& ex, int keepalive_ms);

  // Sends the 200 and the event-stream headers. Call once, before writing.
  void begin();
  // Adds a response header; only before begin().
  void set_header(const std::string& name, const std::string& value);
  bool started() const { return out_ != nullptr; }
  // Writes `text` as is and flushes (unless `flush` is false: then it goes
  // out with the next flushed write, alive() or wait()); false once the client is gone.
  bool write(std::string_view text, bool flush = true);
  // "event: <name>\ndata: <json>\n\n"
  bool event(std::string_view name, std::string_view json, bool flush = true);
  // "data: <json>\n\n"
  bool data(std::string_view json);
  // False once the client has gone; cheap enough to poll every few milliseconds.
  bool alive();
  // A provider's pause: sleeps on the client's socket up to `ms` (at most
  // kMaxClientWait, and never past the next keep-alive), then as alive().
  bool wait(std::chrono::milliseconds ms);
  bool gone() const { return gone_; }

 private:
  bool peer_closed();

  Exchange& ex_;
  std::chrono::milliseconds keepalive_;
  std::ostream* out_ = nullptr;
  std::string buffer_;  // an event's bytes, reused: no allocation per event
  bool gone_ = false;
  bool stack_released_ = false;
  bool unflushed_ = false;  // written but held in the stream's buffer
  bool flush_held();
  std::chrono::steady_clock::time_point last_check_{};
  std::chrono::steady_clock::time_point last_write_;
};

}  // namespace switchboard::http
