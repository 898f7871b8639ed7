// File: host/services/completion_service.h
//
// Stateless completions for the OpenAI-compatible door (/v1): the caller
// sends the whole conversation and names an LLM config as the model; nothing
// is written to sessions.
#pragma once

#include "host/plugins/loaded_provider.h"
#include "host/services/caller.h"
#include "host/services/request_limits.h"
#include "host/services/result.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace switchboard {

class ConfigService;
class PluginRegistry;

struct CompletionRequest {
  Caller caller;
  std::string model;                  // an LLM config's name
  std::vector<ChatMessage> messages;  // roles: system, user, assistant
  double temperature = 0.7;
  std::int64_t max_tokens = 2048;
  std::string options_json = "{}";    // top_p, stop, ... passed to the provider
};

struct CompletionResult {
  ChatOutcome outcome;
  std::string provider;
  std::string provider_model;         // the model the provider was asked for
  std::string config_name;            // the config that answered: the one named, or a fallback
  std::chrono::nanoseconds provider_time{0};
};

class CompletionService {
 public:
  CompletionService(const PluginRegistry& registry, ConfigService& configs);

  // Deltas go to `sink`. A failure before the provider is called (unknown
  // model, bad input, provider not loaded) is an Error; a provider failure is
  // in the outcome.
  // `before_call`, when set, runs just before the provider is called;
  // `on_answer` with the name of the config that answers (it may be a
  // fallback), before its first delta reaches `sink`.
  Result<CompletionResult> complete(const CompletionRequest& request, ChatSink& sink,
                                    const std::function<void()>& before_call = {},
                                    const std::function<void(const std::string&)>& on_answer = {});

  // Shutdown, as for chat turns: refuse new completions, then, after the
  // grace period, stop running ones; they end with code shutting_down.
  // The caps every completion is held to (request_limits.h). Set once, before serving.
  void set_limits(const RequestLimits& limits) { limits_ = limits; }

  void refuse_new() { refusing_.store(true); }
  void stop_in_flight() { stopping_.store(true); }
  int in_flight() const { return in_flight_.load(); }

 private:
  const PluginRegistry& registry_;
  ConfigService& configs_;
  RequestLimits limits_;
  std::atomic<bool> refusing_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
};

}  // namespace switchboard
