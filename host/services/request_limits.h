// File: host/services/request_limits.h
//
// What one provider call may cost: max_tokens under a cap (the host's, or the
// provider's own when lower), and a reply stopped at a byte budget, ending as
// a complete reply with finish_reason "length". Chat turns and /v1
// completions both apply them.
#pragma once

#include "host/plugins/loaded_provider.h"
#include "host/services/result.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace switchboard {

struct RequestLimits {
  std::int64_t max_tokens_cap = 32768;
  std::size_t max_reply_bytes = std::size_t{4} << 20;
};

// max_tokens within the lower of the host's cap and the provider's declared
// max_tokens_limit; else 400 invalid_max_tokens naming the cap and whose it is.
// Refused, not clamped: a client asking for more than it can get should know.
Result<Unit> check_max_tokens(std::int64_t max_tokens, const ProviderDescription& provider,
                              const RequestLimits& limits);

// A request's needs against what its provider declares: 400
// unsupported_capability naming the capability, the field and the provider,
// before anything is saved or sent — a field is never dropped silently.
// `provider_name` is the name the config uses (plugins.json's).
Result<Unit> check_capabilities(const ProviderRequest& request, const ProviderDescription& provider,
                                const std::string& provider_name);

// The one path a provider's events take inside the host: held to the reply
// budget (`max_bytes`; the last text piece cut on a character boundary, then
// the provider asked to stop), stopped once `stopping` is set (shutdown),
// put together into `reply` (what is saved, or answered whole), and handed to
// the writer.
class ReplySink final : public ChatSink {
 public:
  ReplySink(ChatSink& writer, std::size_t max_bytes, const std::atomic<bool>& stopping)
      : writer_(writer), max_bytes_(max_bytes), stopping_(stopping) {}
  bool on_event(const ProviderEvent& event) override;
  bool alive() override { return !exhausted_ && !stopping_.load() && writer_.alive(); }
  bool wait(std::chrono::milliseconds ms) override { return !exhausted_ && !stopping_.load() && writer_.wait(ms) && alive(); }

  // A reply stopped by the budget is complete, with finish_reason "length"
  // (the provider saw a cancel, which is not what happened to the caller).
  void settle(ChatOutcome& outcome) const;
  bool exhausted() const { return exhausted_; }

  ReplyText reply;

 private:
  bool pass(const ProviderEvent& event);

  ChatSink& writer_;
  std::size_t max_bytes_;
  const std::atomic<bool>& stopping_;
  std::size_t used_ = 0;
  std::int64_t deltas_ = 0;
  bool exhausted_ = false;
};

}  // namespace switchboard
