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

CompletionService::CompletionService(const PluginRegistry& registry, ConfigService& configs)
    : registry_(registry), configs_(configs) {}

Result<CompletionResult> CompletionService::complete(const CompletionRequest& request, ChatSink& sink,
                                                    const std::function<void()>& before_call,
                                                    const std::function<void(const std::string&)>& on_answer) {
  if (refusing_.load())
    return Error{ErrorKind::ShuttingDown, "shutting_down", "the host is shutting down; retry shortly", ""};
  const ProviderRequest& asked = request.call;
  if (asked.messages.empty()) return invalid("messages", "messages must not be empty");
  for (const auto& m : asked.messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool")
      return invalid("messages", "message role must be system, user, assistant or tool (got \"" + m.role + "\")");
    if (!utf8_length(m.content)) return invalid("messages", "message content must be valid UTF-8");
    if (m.role == "tool" && m.tool_call_id.empty())
      return invalid("messages", "a tool message needs the tool_call_id it answers");
  }
  if (asked.temperature &&
      (!std::isfinite(*asked.temperature) || *asked.temperature < 0.0 || *asked.temperature > 2.0))
    return invalid("temperature", "temperature must be between 0 and 2");
  if (asked.max_tokens && *asked.max_tokens <= 0) return invalid("max_tokens", "max_tokens must be greater than 0");

  // Resolved once: the record, its provider, the effective config and the model.
  auto resolved = configs_.resolve_by_name(request.caller, request.model);
  if (!resolved) return resolved.error();
  const ResolvedConfig& config = *resolved.value();
  const auto& provider = config.provider;
  if (!provider)
    return Error{ErrorKind::Unavailable, "provider_unavailable",
                 "provider \"" + config.record.provider + "\" of model \"" + request.model + "\" is not loaded", ""};
  if (asked.max_tokens)
    if (auto ok = check_max_tokens(*asked.max_tokens, provider->description(), limits_); !ok) return ok.error();
  if (auto ok = check_capabilities(asked, provider->description(), config.record.provider); !ok) return ok.error();

  // This config, then its fallbacks that take the request (its size and what it needs).
  const std::vector<Candidate> candidates =
      configs_.candidates(request.caller, config, provider, asked, [&](const LoadedProvider& p) {
        const auto& d = p.description();
        return (!asked.max_tokens || static_cast<bool>(check_max_tokens(*asked.max_tokens, d, limits_))) &&
               static_cast<bool>(check_capabilities(asked, d, d.name));
      });

  CompletionResult result;
  ++in_flight_;
  if (before_call) before_call();
  const auto started = std::chrono::steady_clock::now();
  ReplySink reply(sink, limits_.max_reply_bytes, stopping_);
  auto answered = [&](std::size_t i) {
    result.provider = candidates[i].provider_name;
    result.provider_model = candidates[i].model;
    result.config_name = candidates[i].config_name;
    if (on_answer) on_answer(candidates[i].config_name);
  };
  const ResilientOutcome called = call_resilient(candidates, reply, configs_.breakers(), answered, stopping_);
  result.outcome = called.outcome;
  reply.settle(result.outcome);
  result.reply = std::move(reply.reply);
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

Result<EmbedResult> CompletionService::embed(const EmbeddingRequest& request) {
  if (refusing_.load())
    return Error{ErrorKind::ShuttingDown, "shutting_down", "the host is shutting down; retry shortly", ""};
  if (request.call.input.empty()) return invalid("input", "input must not be empty");
  for (const auto& text : request.call.input)
    if (!utf8_length(text)) return invalid("input", "input must be valid UTF-8");
  // Resolved once: the record, its provider, the effective config and the model.
  auto resolved = configs_.resolve_by_name(request.caller, request.model);
  if (!resolved) return resolved.error();
  const ResolvedConfig& config = *resolved.value();
  const auto& provider = config.provider;
  if (!provider)
    return Error{ErrorKind::Unavailable, "provider_unavailable",
                 "provider \"" + config.record.provider + "\" of model \"" + request.model + "\" is not loaded", ""};
  if (!provider->description().capabilities.embeddings)
    return Error{ErrorKind::InvalidArgument, "unsupported_capability",
                 "embeddings need capability \"embeddings\", which provider \"" + config.record.provider +
                     "\" does not declare",
                 "model"};
  if (!provider->description().capabilities.passthrough && !request.call.extra.empty())
    return Error{ErrorKind::InvalidArgument, "unsupported_capability",
                 "the field(s) " + request.call.extra.front().first + "... need capability \"passthrough\", which provider \"" +
                     config.record.provider + "\" does not declare",
                 request.call.extra.front().first};
  EmbedRequest call = request.call;
  call.model = config.model;
  call.config_json = config.effective_json;
  ++in_flight_;
  EmbedResult result;
  ProviderError error;
  const bool ok = provider->embed(call, result, error);
  --in_flight_;
  if (!ok) {
    const ErrorKind kind = error.code == "upstream_timeout" ? ErrorKind::UpstreamTimeout : ErrorKind::Upstream;
    return Error{kind, error.code, redact_secrets(error.message, config.secrets), ""};
  }
  return result;
}

}  // namespace switchboard
