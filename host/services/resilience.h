// File: host/services/resilience.h
//
// Turns that survive an upstream's bad moment. Before the first byte of a
// reply reaches the client, a failed call is retried (refused or reset
// connections, 5xx, 429 honouring the upstream's Retry-After) with
// exponential backoff and full jitter, within a per-config budget; then the
// config's fallbacks are tried in order; a config that keeps failing is
// skipped for a cool-down by its circuit breaker, then probed by one call.
// Once a byte has reached the client nothing is retried.
//
// The settings are the host's own keys of a config's `options` (the plugin
// never sees them): retry_attempts, retry_max_wait_ms, fallbacks,
// breaker_failures, breaker_cooldown_ms.
#pragma once

#include "host/plugins/loaded_provider.h"
#include "host/services/result.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

struct ResiliencePolicy {
  int retry_attempts = 2;                 // retries after the first try (0..10)
  int retry_max_wait_ms = 4000;           // total backoff per config (0..60,000)
  std::vector<std::int64_t> fallbacks;    // configs tried next, in order (at most 5)
  int breaker_failures = 5;               // consecutive failed turns that open the breaker (1..1000)
  int breaker_cooldown_ms = 30000;        // open this long, then one probe (100..3,600,000)
};

// True for the host's own option keys above.
bool is_resilience_option(std::string_view key);
// The host's keys of `options_json` (a JSON object), checked: InvalidArgument
// naming the key. Defaults for keys not given.
Result<ResiliencePolicy> read_resilience(const std::string& options_json);
// `options_json` without the host's keys: what the plugin's schema judges.
std::string without_resilience(const std::string& options_json);

// Worth another try before the first byte: the upstream was unreachable,
// failed (5xx), asked to slow down (429), or broke off before any text.
// Never another 4xx.
bool retryable(const std::string& error_code);
// The wait an upstream asked for, from a provider message "... (retry after N s) ...".
std::optional<std::chrono::milliseconds> retry_after(const std::string& error_message);

enum class BreakerState { Closed, Open, HalfOpen };
const char* breaker_state_name(BreakerState state);

struct BreakerView {
  BreakerState state = BreakerState::Closed;
  int consecutive_failures = 0;
  std::int64_t opens_until_ms = 0;  // epoch ms the cool-down ends (Open only)
};

// One breaker per config id, in this process.
class CircuitBreakers {
 public:
  // Whether a call may go to this config now: closed, or the one probe of a
  // breaker whose cool-down has ended.
  bool admit(std::int64_t config_id, const ResiliencePolicy& policy);
  // The end of a call that was admitted.
  void record(std::int64_t config_id, bool ok, const ResiliencePolicy& policy);
  // An admitted call that ended without a verdict (its client left while it
  // waited to retry): a half-open breaker's probe may go again.
  void abandon(std::int64_t config_id);
  BreakerView view(std::int64_t config_id) const;
  std::map<std::int64_t, BreakerView> all() const;

 private:
  struct Breaker {
    int failures = 0;
    bool open = false;
    bool probing = false;
    std::chrono::steady_clock::time_point until;
  };
  BreakerView view_of(const Breaker& b) const;

  mutable std::mutex mutex_;
  std::map<std::int64_t, Breaker> breakers_;
};

// One config a turn may be answered by, with the call it would get.
struct Candidate {
  std::int64_t config_id = 0;
  std::string config_name;
  std::string provider_name;
  std::string model;
  std::shared_ptr<LoadedProvider> provider;
  ProviderRequest request;
  ResiliencePolicy policy;
  std::vector<std::string> secrets;  // to scrub from its errors
};

struct ResilientOutcome {
  ChatOutcome outcome;
  std::size_t answered_by = 0;  // index into the candidates of the one whose outcome this is
  int calls = 0;                // provider calls made, retries and fallbacks included
};

// Calls the candidates in order, each with its retries, skipping those whose
// breaker is open, until one reaches its first byte or succeeds. `on_answer`
// runs once, with the index of the candidate whose reply the client gets,
// just before its first delta (or, for a reply with none, before returning).
// `stopping` and `sink.alive()` end the waits between tries.
ResilientOutcome call_resilient(const std::vector<Candidate>& candidates, ChatSink& sink, CircuitBreakers& breakers,
                                const std::function<void(std::size_t)>& on_answer, const std::atomic<bool>& stopping);

}  // namespace switchboard
