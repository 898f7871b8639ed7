// File: host/services/request_limits.cpp
//
// The max_tokens cap and the reply byte budget.
#include "host/services/request_limits.h"

namespace switchboard {

Result<Unit> check_max_tokens(std::int64_t max_tokens, const ProviderDescription& provider,
                              const RequestLimits& limits) {
  const bool provider_lower = provider.max_tokens_limit > 0 && provider.max_tokens_limit < limits.max_tokens_cap;
  const std::int64_t cap = provider_lower ? provider.max_tokens_limit : limits.max_tokens_cap;
  if (max_tokens <= cap) return Unit{};
  return invalid("max_tokens", "max_tokens must be at most " + std::to_string(cap) +
                                   (provider_lower ? " (the limit provider " + provider.name + " declares)"
                                                   : " (this host's --max-tokens-cap)") +
                                   "; got " + std::to_string(max_tokens));
}

bool ReplyBudget::on_delta(std::string_view text) {
  if (exhausted_) return false;
  if (text.size() <= max_bytes_ - used_) {
    used_ += text.size();
    ++deltas_;
    return inner_.on_delta(text);
  }
  // Over budget: pass what fits, never half a UTF-8 character.
  std::size_t room = max_bytes_ - used_;
  while (room > 0 && (static_cast<unsigned char>(text[room]) & 0xC0) == 0x80) --room;
  exhausted_ = true;
  if (room > 0) {
    used_ += room;
    ++deltas_;
    inner_.on_delta(text.substr(0, room));
  }
  return false;
}

void ReplyBudget::settle(ChatOutcome& outcome) const {
  if (!exhausted_ || outcome.status != ChatStatus::Cancelled) return;
  outcome.status = ChatStatus::Complete;
  outcome.finish_reason = "length";
  // The provider stopped before it could count: one delta is about one token.
  if (outcome.completion_tokens == 0) outcome.completion_tokens = deltas_;
}

}  // namespace switchboard
