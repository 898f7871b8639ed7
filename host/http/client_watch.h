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
class ClientWatch {
 public:
  explicit ClientWatch(Exchange& ex) : ex_(ex) {}
  bool alive();

 private:
  Exchange& ex_;
  bool gone_ = false;
  std::chrono::steady_clock::time_point last_check_{};
};

}  // namespace switchboard::http
