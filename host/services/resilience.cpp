// File: host/services/resilience.cpp
//
// Retries, fallbacks and circuit breakers (see resilience.h).
#include "host/services/resilience.h"

#include "host/log.h"
#include "storage/database.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>
#include <thread>

namespace switchboard {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kKeys[] = {"retry_attempts", "retry_max_wait_ms", "fallbacks", "breaker_failures",
                                      "breaker_cooldown_ms"};
constexpr std::size_t kMaxFallbacks = 5;
constexpr auto kFirstBackoff = std::chrono::milliseconds(250);

Error bad(const std::string& key, const std::string& rule) {
  return invalid("options", "options." + key + " must be " + rule);
}

Result<int> bounded_int(const Json& options, const std::string& key, int fallback, int min, int max) {
  if (!options.contains(key)) return fallback;
  const Json& v = options[key];
  if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max)
    return bad(key, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
  return static_cast<int>(v.get<std::int64_t>());
}

// Sleeps up to `wait`, in slices, while the client is there and the host is not stopping.
bool wait_while_wanted(Clock::duration wait, ChatSink& sink, const std::atomic<bool>& stopping) {
  const auto end = Clock::now() + wait;
  while (Clock::now() < end) {
    if (stopping.load() || !sink.alive()) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(end - Clock::now(), std::chrono::milliseconds(20)));
  }
  return !stopping.load() && sink.alive();
}

// Passes a candidate's reply on, telling the caller once, before its first
// event (text or tool call), that this candidate is the one answering.
class FirstByteSink final : public ChatSink {
 public:
  FirstByteSink(ChatSink& inner, std::function<void()> on_first) : inner_(inner), on_first_(std::move(on_first)) {}
  bool on_event(const ProviderEvent& event) override {
    if (!sent_) {
      sent_ = true;
      on_first_();
    }
    return inner_.on_event(event);
  }
  bool alive() override { return inner_.alive(); }
  bool wait(std::chrono::milliseconds ms) override { return inner_.wait(ms); }
  bool sent() const { return sent_; }

 private:
  ChatSink& inner_;
  std::function<void()> on_first_;
  bool sent_ = false;
};

}  // namespace

bool is_resilience_option(std::string_view key) {
  return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
}

Result<ResiliencePolicy> read_resilience(const std::string& options_json) {
  Json options;
  try {
    options = Json::parse(options_json.empty() ? "{}" : options_json);
  } catch (const Json::exception&) {
    return invalid("options", "options must be a JSON object");
  }
  if (!options.is_object()) return invalid("options", "options must be a JSON object");
  ResiliencePolicy p;
  auto set = [&](const char* key, int& field, int min, int max) -> std::optional<Error> {
    auto v = bounded_int(options, key, field, min, max);
    if (!v) return v.error();
    field = v.value();
    return std::nullopt;
  };
  if (auto e = set("retry_attempts", p.retry_attempts, 0, 10)) return *e;
  if (auto e = set("retry_max_wait_ms", p.retry_max_wait_ms, 0, 60000)) return *e;
  if (auto e = set("breaker_failures", p.breaker_failures, 1, 1000)) return *e;
  if (auto e = set("breaker_cooldown_ms", p.breaker_cooldown_ms, 100, 3600000)) return *e;
  if (options.contains("fallbacks")) {
    const Json& list = options["fallbacks"];
    if (!list.is_array() || list.size() > kMaxFallbacks)
      return bad("fallbacks", "a list of at most " + std::to_string(kMaxFallbacks) + " config ids");
    for (const auto& id : list) {
      if (!id.is_number_integer() || id.get<std::int64_t>() <= 0)
        return bad("fallbacks", "a list of config ids (positive integers)");
      if (std::find(p.fallbacks.begin(), p.fallbacks.end(), id.get<std::int64_t>()) != p.fallbacks.end())
        return bad("fallbacks", "a list without repeats");
      p.fallbacks.push_back(id.get<std::int64_t>());
    }
  }
  return p;
}

std::string without_resilience(const std::string& options_json) {
  try {
    Json options = Json::parse(options_json.empty() ? "{}" : options_json);
    if (!options.is_object()) return options_json;
    for (const auto key : kKeys) options.erase(std::string(key));
    return options.dump();
  } catch (const Json::exception&) {
    return options_json;
  }
}

bool retryable(const std::string& code) {
  // upstream_protocol: the upstream answered, then broke off or sent what is
  // not its protocol. Before the first byte reached the client that is as
  // safe to try again as a refused connection.
  return code == "upstream_unavailable" || code == "upstream_error" || code == "upstream_rate_limited" ||
         code == "upstream_protocol";
}

std::optional<std::chrono::milliseconds> retry_after(const std::string& message) {
  static constexpr std::string_view kMarker = "retry after ";
  const auto at = message.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  std::size_t i = at + kMarker.size();
  std::int64_t seconds = 0;
  const std::size_t first = i;
  while (i < message.size() && message[i] >= '0' && message[i] <= '9' && i - first < 6)
    seconds = seconds * 10 + (message[i++] - '0');
  if (i == first) return std::nullopt;
  return std::chrono::milliseconds(seconds * 1000);
}

const char* breaker_state_name(BreakerState state) {
  switch (state) {
    case BreakerState::Closed: return "closed";
    case BreakerState::Open: return "open";
    case BreakerState::HalfOpen: return "half_open";
  }
  return "closed";
}

BreakerView CircuitBreakers::view_of(const Breaker& b) const {
  BreakerView v;
  v.consecutive_failures = b.failures;
  if (!b.open) return v;
  const auto now = Clock::now();
  if (b.probing || now >= b.until) {
    v.state = BreakerState::HalfOpen;
  } else {
    v.state = BreakerState::Open;
    v.opens_until_ms = storage::now_ms() +
                       std::chrono::duration_cast<std::chrono::milliseconds>(b.until - now).count();
  }
  return v;
}

bool CircuitBreakers::admit(std::int64_t config_id, const ResiliencePolicy&) {
  std::lock_guard lock(mutex_);
  auto it = breakers_.find(config_id);
  if (it == breakers_.end() || !it->second.open) return true;
  Breaker& b = it->second;
  if (b.probing || Clock::now() < b.until) return false;
  b.probing = true;  // the one probe; every other call waits for its verdict
  return true;
}

void CircuitBreakers::record(std::int64_t config_id, bool ok, const ResiliencePolicy& policy) {
  std::lock_guard lock(mutex_);
  Breaker& b = breakers_[config_id];
  const bool was_probing = b.probing;
  b.probing = false;
  if (ok) {
    if (b.open) log::chat().information("circuit of config " + std::to_string(config_id) + " closed");
    b = Breaker{};
    return;
  }
  ++b.failures;
  if (was_probing || b.failures >= policy.breaker_failures) {
    if (!b.open || was_probing)
      log::chat().warning("circuit of config " + std::to_string(config_id) + " open for " +
                          std::to_string(policy.breaker_cooldown_ms) + " ms after " + std::to_string(b.failures) +
                          " failures in a row");
    b.open = true;
    b.until = Clock::now() + std::chrono::milliseconds(policy.breaker_cooldown_ms);
  }
}

void CircuitBreakers::abandon(std::int64_t config_id) {
  std::lock_guard lock(mutex_);
  if (const auto it = breakers_.find(config_id); it != breakers_.end()) it->second.probing = false;
}

BreakerView CircuitBreakers::view(std::int64_t config_id) const {
  std::lock_guard lock(mutex_);
  const auto it = breakers_.find(config_id);
  return it == breakers_.end() ? BreakerView{} : view_of(it->second);
}

std::map<std::int64_t, BreakerView> CircuitBreakers::all() const {
  std::lock_guard lock(mutex_);
  std::map<std::int64_t, BreakerView> out;
  for (const auto& [id, b] : breakers_) out[id] = view_of(b);
  return out;
}

ResilientOutcome call_resilient(const std::vector<Candidate>& candidates, ChatSink& sink, CircuitBreakers& breakers,
                                const std::function<void(std::size_t)>& on_answer, const std::atomic<bool>& stopping) {
  thread_local std::minstd_rand jitter(std::random_device{}());
  ResilientOutcome result;
  bool answered = false;
  bool tried_any = false;
  std::string skipped;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (!breakers.admit(c.config_id, c.policy)) {
      skipped += (skipped.empty() ? "" : ", ") + c.config_name;
      continue;
    }
    tried_any = true;
    FirstByteSink first(sink, [&, i] {
      answered = true;
      result.answered_by = i;
      on_answer(i);
    });
    auto waited = Clock::duration::zero();
    const auto budget = std::chrono::milliseconds(c.policy.retry_max_wait_ms);
    for (int attempt = 0;; ++attempt) {
      result.outcome = c.provider->chat(c.request, first);
      result.answered_by = i;
      ++result.calls;
      const bool failed = result.outcome.status == ChatStatus::Error;
      if (!failed || first.sent()) {
        breakers.record(c.config_id, !failed, c.policy);
        if (!answered) on_answer(i);
        return result;
      }
      if (!retryable(result.outcome.error_code) || attempt >= c.policy.retry_attempts) break;
      // Exponential backoff with full jitter, cut to what is left of the
      // budget; or what the upstream asked for, which is honoured or not at all.
      const Clock::duration left = budget - waited;
      if (left <= Clock::duration::zero()) break;
      const auto cap = kFirstBackoff * (1 << std::min(attempt, 10));
      Clock::duration wait = std::min<Clock::duration>(
          left, std::chrono::milliseconds(
                    std::uniform_int_distribution<std::int64_t>(0, std::chrono::milliseconds(cap).count())(jitter)));
      if (const auto asked = retry_after(result.outcome.error_message)) {
        if (*asked > left) break;
        wait = *asked;
      }
      log::chat().information("config " + c.config_name + ": " + result.outcome.error_code + "; retry " +
                              std::to_string(attempt + 1) + " of " + std::to_string(c.policy.retry_attempts) +
                              " in " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) +
                              " ms");
      if (!wait_while_wanted(wait, sink, stopping)) {
        breakers.abandon(c.config_id);  // no verdict: a probe's slot is free again
        result.outcome.status = ChatStatus::Cancelled;
        if (!answered) on_answer(i);
        return result;
      }
      waited += wait;
    }
    // Only an outage counts against the breaker; a 4xx is the config's own fault.
    breakers.record(c.config_id, !retryable(result.outcome.error_code), c.policy);
    if (stopping.load() || !sink.alive()) break;
    if (i + 1 < candidates.size())
      log::chat().warning("config " + c.config_name + " failed before its first byte (" + result.outcome.error_code +
                          "); trying its fallback " + candidates[i + 1].config_name);
  }
  if (!tried_any) {
    result.outcome = ChatOutcome{};
    result.outcome.status = ChatStatus::Error;
    result.outcome.error_code = "upstream_unavailable";
    result.outcome.error_message = "skipped while its circuit breaker cools down after repeated failures: " + skipped;
    result.answered_by = 0;
  }
  if (!answered) on_answer(result.answered_by);
  return result;
}

}  // namespace switchboard
