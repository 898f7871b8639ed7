// File: host/services/request_limits.h
//
// What one provider call may cost: max_tokens under a cap (the host's, or the
// provider's own when lower), and a reply stopped at a byte budget, ending as
// a complete reply with finish_reason "length". Chat turns and /v1
// completions both apply them.
#pragma once

#include "host/plugins/loaded_provider.h"
#include "host/services/result.h"

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

// Passes a reply on until it reaches `max_bytes`, cutting the last piece on a
// character boundary, then asks the provider to stop.
class ReplyBudget final : public ChatSink {
 public:
  ReplyBudget(ChatSink& inner, std::size_t max_bytes) : inner_(inner), max_bytes_(max_bytes) {}
  bool on_delta(std::string_view text) override;
  bool alive() override { return !exhausted_ && inner_.alive(); }

  // A reply stopped here is complete, with finish_reason "length" (the
  // provider saw a cancel, which is not what happened to the caller).
  void settle(ChatOutcome& outcome) const;
  bool exhausted() const { return exhausted_; }

 private:
  ChatSink& inner_;
  std::size_t max_bytes_;
  std::size_t used_ = 0;
  std::int64_t deltas_ = 0;
  bool exhausted_ = false;
};

}  // namespace switchboard
