// File: host/plugins/conformance.cpp
//
// The conformance checks: load, negotiate, describe with defaults, stream,
// stop within 100 ms when asked (on a refused delta, and while silent),
// failures as data, and many threads at once.
#include "host/plugins/conformance.h"

#include <switchboard/provider.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <thread>

namespace switchboard::conformance {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr auto kPrompt = std::chrono::milliseconds(100);

// Collects a reply; can stop after N deltas or once `stop` is set.
class RecordingSink final : public ChatSink {
 public:
  bool on_event(const ProviderEvent& e) override {
    if (e.kind != ProviderEvent::Kind::Text) {
      tools.add(e);  // tool-call pieces, put together
      return !stop.load();
    }
    ++deltas;
    reply.append(e.text);
    if (stop_after_deltas > 0 && deltas >= stop_after_deltas) {
      stop_requested_at = Clock::now();
      return false;
    }
    return !stop.load();
  }
  bool alive() override { return !stop.load(); }

  std::atomic<bool> stop{false};
  int stop_after_deltas = 0;
  std::atomic<int> deltas{0};
  std::string reply;
  ReplyText tools;
  Clock::time_point stop_requested_at{};
};

ProviderRequest request_of(const std::string& config, const Request& r, const std::string& text = "hello conformance") {
  ProviderRequest req;
  req.model = r.model;
  req.messages = {{"system", "be brief"}, {"user", text}};
  req.temperature = 0.5;
  req.max_tokens = 256;
  req.config_json = config;
  req.options_json = r.options_json;
  return req;
}

const char* status_name(ChatStatus s) {
  switch (s) {
    case ChatStatus::Complete: return "complete";
    case ChatStatus::Error: return "error";
    case ChatStatus::Cancelled: return "cancelled";
  }
  return "?";
}

std::string outcome_text(const ChatOutcome& out) {
  std::string s = status_name(out.status);
  if (out.status == ChatStatus::Error) s += " (" + out.error_code + ": " + out.error_message + ")";
  return s;
}

std::string ms(Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

Check result(std::string name, bool passed, std::string detail) { return {std::move(name), passed, std::move(detail)}; }

bool is_object_json(const std::string& text) {
  try {
    return Json::parse(text).is_object();
  } catch (const Json::exception&) {
    return false;
  }
}

}  // namespace

std::string config_of(const LoadedProvider& provider, const Plan& plan) {
  return plan.config_json.empty() ? provider.description().default_config_json : plan.config_json;
}

Check negotiates_the_host_abi(const LoadedProvider& provider) {
  const std::string abi = std::to_string(provider.abi_major()) + "." + std::to_string(provider.abi_minor());
  const bool ok = provider.abi_major() == static_cast<std::uint32_t>(SB_ABI_MAJOR) &&
                  provider.abi_minor() <= static_cast<std::uint32_t>(SB_ABI_MINOR);
  return result("negotiates the host ABI", ok,
                "plugin ABI " + abi + ", host ABI " + std::to_string(SB_ABI_MAJOR) + "." + std::to_string(SB_ABI_MINOR));
}

Check describes_itself_with_object_defaults(const LoadedProvider& provider) {
  const auto& d = provider.description();
  std::string missing;
  if (d.name.empty()) missing += " no name;";
  if (d.version.empty()) missing += " no version;";
  if (!is_object_json(d.default_config_json)) missing += " default_config is not an object;";
  if (!is_object_json(d.config_schema_json)) missing += " config_schema is not an object;";
  return result("describes itself: name, version, object default_config and config_schema", missing.empty(),
                missing.empty() ? "\"" + d.name + "\" " + d.version : missing.substr(1));
}

Check streams_a_reply_and_completes(const LoadedProvider& provider, const Plan& plan) {
  RecordingSink sink;
  const ChatOutcome out = provider.chat(request_of(config_of(provider, plan), plan.normal), sink);
  const bool ok = out.status == ChatStatus::Complete && sink.deltas >= 1 && !sink.reply.empty() &&
                  !out.finish_reason.empty();
  std::string detail = outcome_text(out) + ", " + std::to_string(sink.deltas.load()) + " deltas";
  if (out.status == ChatStatus::Complete) detail += ", finish_reason \"" + out.finish_reason + "\"";
  return result("streams a reply (model \"" + plan.normal.model + "\") and completes", ok, detail);
}

Check stops_promptly_when_the_sink_refuses(const LoadedProvider& provider, const Plan& plan) {
  RecordingSink sink;
  sink.stop_after_deltas = 1;
  const ChatOutcome out = provider.chat(request_of(config_of(provider, plan), plan.slow), sink);
  const auto returned = Clock::now();
  const auto took = returned - sink.stop_requested_at;
  const bool ok = out.status == ChatStatus::Cancelled && sink.deltas == 1 && took < kPrompt;
  std::string detail = outcome_text(out) + " after " + std::to_string(sink.deltas.load()) + " deltas";
  if (sink.deltas >= 1) detail += ", returned " + ms(took) + " after the refused delta";
  if (!ok && out.status == ChatStatus::Complete)
    detail += " (the slow request must stream for 2 s; name one with --slow-model/--slow-options)";
  return result("stops within 100 ms when the host refuses a delta (slow model \"" + plan.slow.model + "\")", ok,
                detail);
}

Check stops_promptly_while_silent(const LoadedProvider& provider, const Plan& plan) {
  RecordingSink sink;
  std::atomic<bool> done{false};
  Clock::time_point stop_at{};
  std::thread stopper([&] {
    // Wait for the first delta so the provider is mid-stream, then stop it
    // while it is waiting for the next one.
    while (!done.load() && sink.deltas == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    stop_at = Clock::now();
    sink.stop.store(true);
  });
  const ChatOutcome out = provider.chat(request_of(config_of(provider, plan), plan.slow), sink);
  const auto returned = Clock::now();
  done.store(true);
  stopper.join();
  // Asked to stop while it was still running (the stopper may fire after a quick reply).
  const bool asked = sink.stop.load() && stop_at <= returned;
  const auto took = returned - stop_at;
  const bool ok = out.status == ChatStatus::Cancelled && asked && took < kPrompt;
  std::string detail = outcome_text(out);
  if (asked) detail += ", returned " + ms(took) + " after alive() turned false";
  else detail += " before the host asked it to stop (the slow request must stream for 2 s; name one with "
                 "--slow-model/--slow-options)";
  return result("stops within 100 ms while silent, once alive() turns false (slow model \"" + plan.slow.model + "\")",
                ok, detail);
}

Check reports_failures_as_data(const LoadedProvider& provider, const Plan& plan) {
  RecordingSink sink;
  const ChatOutcome out = provider.chat(request_of(config_of(provider, plan), plan.failing), sink);
  const bool ok = out.status == ChatStatus::Error && !out.error_code.empty() && !out.error_message.empty();
  std::string detail = outcome_text(out);
  if (!ok && out.status == ChatStatus::Error) detail += ": an error needs both a code and a message";
  if (!ok && out.status != ChatStatus::Error)
    detail += " (name a request that fails with --failing-model/--failing-options)";
  return result("reports a failure as data with a code and a message (model \"" + plan.failing.model + "\")", ok,
                detail);
}

Check serves_many_threads_at_once(const LoadedProvider& provider, const Plan& plan) {
  constexpr int kThreads = 8;
  std::atomic<int> complete{0};
  const std::string config = config_of(provider, plan);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      RecordingSink sink;
      const auto out = provider.chat(request_of(config, plan.normal, "thread " + std::to_string(i)), sink);
      if (out.status == ChatStatus::Complete && !sink.reply.empty()) ++complete;
    });
  }
  for (auto& t : threads) t.join();
  return result("serves 8 threads at once", complete.load() == kThreads,
                std::to_string(complete.load()) + " of " + std::to_string(kThreads) + " replies complete");
}

Check declares_capabilities_only_from_abi_1_1(const LoadedProvider& provider) {
  const Capabilities& c = provider.description().capabilities;
  const bool any = c.tools || c.vision || c.json_output || c.embeddings || c.passthrough;
  const bool ok = provider.abi_minor() >= 1 || !any;
  return result("declares capabilities only from ABI 1.1 on", ok,
                "ABI " + std::to_string(provider.abi_major()) + "." + std::to_string(provider.abi_minor()) +
                    (any ? ", declares capabilities" : ", declares none"));
}

Check calls_an_offered_tool(const LoadedProvider& provider, const Plan& plan) {
  const std::string name = "offered a tool, calls it as tool-call events with finish_reason tool_calls";
  if (!provider.description().capabilities.tools) return result(name, true, "skipped: the plugin does not declare \"tools\"");
  const Request& r = plan.tools.model.empty() ? plan.normal : plan.tools;
  ProviderRequest req = request_of(config_of(provider, plan), r, "Paris");
  req.tools_json = Json::array({{{"type", "function"},
                                 {"function", {{"name", "get_weather"},
                                               {"parameters", {{"type", "object"},
                                                               {"properties", {{"city", {{"type", "string"}}}}}}}}}}})
                       .dump();
  RecordingSink sink;
  const ChatOutcome out = provider.chat(req, sink);
  bool ok = out.status == ChatStatus::Complete && out.finish_reason == "tool_calls" && sink.tools.tool_calls.size() == 1;
  std::string detail = outcome_text(out) + ", " + std::to_string(sink.tools.tool_calls.size()) + " tool call(s)";
  if (ok) {
    const ToolCall& call = sink.tools.tool_calls[0];
    try {
      ok = !call.id.empty() && call.name == "get_weather" && Json::parse(call.arguments).is_object();
    } catch (const std::exception&) {
      ok = false;
    }
    detail += ": " + call.name + "(" + call.arguments + ")";
  }
  return result(name, ok, detail);
}

Check embeds_when_it_declares_embeddings(const LoadedProvider& provider, const Plan& plan) {
  EmbedRequest req;
  req.model = plan.normal.model;
  req.input = {"one", "two words"};
  req.config_json = config_of(provider, plan);
  EmbedResult out;
  ProviderError error;
  const bool done = provider.embed(req, out, error);
  if (!provider.description().capabilities.embeddings)
    return result("without \"embeddings\", embed() is refused as data", !done && !error.code.empty(), error.code);
  const bool ok = done && out.vectors.size() == 2 && !out.vectors[0].empty() && out.vectors[0].size() == out.vectors[1].size();
  return result("embeds one vector per input", ok, done ? std::to_string(out.vectors.size()) + " vectors" : error.code + ": " + error.message);
}

std::vector<Check> run_all(const LoadedProvider& provider, const Plan& plan) {
  return {negotiates_the_host_abi(provider),
          describes_itself_with_object_defaults(provider),
          streams_a_reply_and_completes(provider, plan),
          stops_promptly_when_the_sink_refuses(provider, plan),
          stops_promptly_while_silent(provider, plan),
          reports_failures_as_data(provider, plan),
          serves_many_threads_at_once(provider, plan),
          declares_capabilities_only_from_abi_1_1(provider),
          calls_an_offered_tool(provider, plan),
          embeds_when_it_declares_embeddings(provider, plan)};
}

}  // namespace switchboard::conformance
