// File: host/services/completion_service.cpp
//
// One stateless completion: resolve the config by name, call its provider.
#include "host/services/completion_service.h"

#include "host/plugins/plugin_registry.h"
#include "host/services/chat_service.h"
#include "host/services/config_service.h"
#include "host/services/resilience.h"

#include <cmath>

namespace switchboard {

namespace {

// Passes a reply through, and stops it once the host is shutting down.
class StoppableSink final : public ChatSink {
 public:
  StoppableSink(ChatSink& inner, const std::atomic<bool>& stopping) : inner_(inner), stopping_(stopping) {}
  bool on_delta(std::string_view text) override { return !stopping_.load() && inner_.on_delta(text); }
  bool alive() override { return !stopping_.load() && inner_.alive(); }

 private:
  ChatSink& inner_;
  const std::atomic<bool>& stopping_;
};

}  // namespace

CompletionService::CompletionService(const PluginRegistry& registry, ConfigService& configs)
    : registry_(registry), configs_(configs) {}

Result<CompletionResult> CompletionService::complete(const CompletionRequest& request, ChatSink& sink,
                                                    const std::function<void()>& before_call,
                                                    const std::function<void(const std::string&)>& on_answer) {
  if (refusing_.load())
    return Error{ErrorKind::ShuttingDown, "shutting_down", "the host is shutting down; retry shortly", ""};
  if (request.messages.empty()) return invalid("messages", "messages must not be empty");
  for (const auto& m : request.messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      return invalid("messages", "message role must be system, user or assistant (got \"" + m.role + "\")");
    if (!utf8_length(m.content)) return invalid("messages", "message content must be valid UTF-8");
  }
  if (!std::isfinite(request.temperature) || request.temperature < 0.0 || request.temperature > 2.0)
    return invalid("temperature", "temperature must be between 0 and 2");
  if (request.max_tokens <= 0) return invalid("max_tokens", "max_tokens must be greater than 0");

  auto resolved = configs_.resolve_by_name(request.caller, request.model);
  if (!resolved) return resolved.error();
  const ResolvedConfig& config = *resolved.value();
  const auto provider = registry_.provider(config.record.provider);
  if (!provider)
    return Error{ErrorKind::Unavailable, "provider_unavailable",
                 "provider \"" + config.record.provider + "\" of model \"" + request.model + "\" is not loaded", ""};
  if (auto ok = check_max_tokens(request.max_tokens, provider->description(), limits_); !ok) return ok.error();

  // This config, then its fallbacks that take the request.
  ProviderRequest base;
  base.messages = request.messages;
  base.temperature = request.temperature;
  base.max_tokens = request.max_tokens;
  base.options_json = request.options_json;
  const std::vector<Candidate> candidates =
      configs_.candidates(request.caller, config, provider, base, [&](const LoadedProvider& p) {
        return static_cast<bool>(check_max_tokens(request.max_tokens, p.description(), limits_));
      });

  CompletionResult result;
  ++in_flight_;
  if (before_call) before_call();
  const auto started = std::chrono::steady_clock::now();
  StoppableSink stoppable(sink, stopping_);
  ReplyBudget budget(stoppable, limits_.max_reply_bytes);
  auto answered = [&](std::size_t i) {
    result.provider = candidates[i].provider_name;
    result.provider_model = candidates[i].model;
    result.config_name = candidates[i].config_name;
    if (on_answer) on_answer(candidates[i].config_name);
  };
  const ResilientOutcome called = call_resilient(candidates, budget, configs_.breakers(), answered, stopping_);
  result.outcome = called.outcome;
  budget.settle(result.outcome);
  result.provider_time = std::chrono::steady_clock::now() - started;
  result.outcome.error_message =
      redact_secrets(std::move(result.outcome.error_message), candidates[called.answered_by].secrets);
  if (result.outcome.status == ChatStatus::Cancelled && stopping_.load()) {
    result.outcome.status = ChatStatus::Error;
    result.outcome.error_code = "shutting_down";
    result.outcome.error_message = "the host shut down during the completion";
  }
  --in_flight_;
  return result;
}

}  // namespace switchboard
