// File: host/http/client_watch.h
//
// Notices a client that left while its request is being served, without
// writing to it: the socket turns readable and a 1-byte MSG_PEEK reads 0 (see
// shared/PITFALLS.md). SseWriter checks it between events; the whole-reply
// routes (/api/chat, /v1 with stream:false) poll it to stop the provider.
#pragma once

#include <chrono>

namespace switchboard::http {

struct Exchange;

// True once the client's side of the connection is closed or broken.
bool client_closed(Exchange& ex);

// client_closed() at most every 20 ms, and false for good once it was seen:
// cheap enough for a provider that polls every few milliseconds, and a
// disconnect is still seen well within a second.
// Sleeps on the client's socket for up to `ms`: true as soon as the client
// has left (it wakes the sleeper), false once the time is up. A client that
// sent more bytes (a pipelined request) cannot wake it: that one sleeps in
// 20 ms steps, as alive() would have polled.
bool client_gone_within(Exchange& ex, std::chrono::milliseconds ms);

// The longest a provider's wait() sleeps on the client in one go: the
// host's own reasons to stop a stream (shutdown, the reply budget) are looked
// at in between.
inline constexpr std::chrono::milliseconds kMaxClientWait{250};

// Gives back to the kernel the pages of this thread's stack below the
// current frame. A stream's worker touches its deepest pages once, while it
// sets the stream up (parsing, the plugin call); before its first long pause
// they are released, so each of thousands of open streams keeps only the few
// pages its waiting frames use resident.
void release_stack_below_here();

class ClientWatch {
 public:
  explicit ClientWatch(Exchange& ex) : ex_(ex) {}
  bool alive();
  // Blocks up to `ms` (at most kMaxClientWait) or until the client leaves; returns alive().
  bool wait(std::chrono::milliseconds ms);

 private:
  Exchange& ex_;
  bool gone_ = false;
  bool stack_released_ = false;
  std::chrono::steady_clock::time_point last_check_{};
};

}  // namespace switchboard::http
