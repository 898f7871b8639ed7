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

Result<Unit> check_capabilities(const ProviderRequest& r, const ProviderDescription& provider,
                                const std::string& provider_name) {
  const Capabilities& caps = provider.capabilities;
  auto refuse = [&](const char* capability, const std::string& field, const std::string& what) {
    return Error{ErrorKind::InvalidArgument, "unsupported_capability",
                 what + " needs capability \"" + capability + "\", which provider \"" + provider_name +
                     "\" does not declare",
                 field};
  };
  if (!caps.tools) {
    if (!r.tools_json.empty()) return refuse("tools", "tools", "\"tools\"");
    if (!r.tool_choice_json.empty()) return refuse("tools", "tool_choice", "\"tool_choice\"");
    if (!r.parallel_tool_calls_json.empty()) return refuse("tools", "parallel_tool_calls", "\"parallel_tool_calls\"");
    for (const auto& m : r.messages) {
      if (!m.tool_calls.empty()) return refuse("tools", "messages", "an assistant message with tool_calls");
      if (m.role == "tool") return refuse("tools", "messages", "a tool message");
    }
  }
  if (!caps.vision)
    for (const auto& m : r.messages)
      for (const auto& p : m.parts)
        if (p.type == ContentPart::Type::ImageUrl) return refuse("vision", "messages", "an image_url content part");
  if (!caps.json_output && !r.response_format_json.empty() && r.response_format_type != "text")
    return refuse("json_output", "response_format", "response_format \"" + r.response_format_type + "\"");
  if (!caps.passthrough && !r.extra.empty()) {
    std::string names;
    for (const auto& [name, value] : r.extra) names += (names.empty() ? "" : ", ") + name;
    return refuse("passthrough", r.extra.front().first, "the field(s) " + names);
  }
  return Unit{};
}

bool ReplySink::on_event(const ProviderEvent& event) {
  if (exhausted_) return false;
  if (stopping_.load()) {
    reply.add(event);  // the partial reply is saved as it was
    return false;
  }
  return pass(event);
}

bool ReplySink::pass(const ProviderEvent& event) {
  const std::size_t size = event.size();
  if (size <= max_bytes_ - used_) {
    used_ += size;
    ++deltas_;
    reply.add(event);
    return writer_.on_event(event);
  }
  exhausted_ = true;
  // Over budget: pass what fits of a text, never half a UTF-8 character; a
  // tool call is never cut (its arguments would not parse).
  if (event.kind != ProviderEvent::Kind::Text) return false;
  const std::string_view text = event.text;
  std::size_t room = max_bytes_ - used_;
  while (room > 0 && (static_cast<unsigned char>(text[room]) & 0xC0) == 0x80) --room;
  if (room > 0) {
    used_ += room;
    ++deltas_;
    const ProviderEvent cut = ProviderEvent::of_text(text.substr(0, room));
    reply.add(cut);
    writer_.on_event(cut);
  }
  return false;
}

void ReplySink::settle(ChatOutcome& outcome) const {
  if (!exhausted_ || outcome.status != ChatStatus::Cancelled) return;
  outcome.status = ChatStatus::Complete;
  outcome.finish_reason = "length";
  // The provider stopped before it could count: one delta is about one token.
  if (outcome.completion_tokens == 0) outcome.completion_tokens = deltas_;
}

}  // namespace switchboard
