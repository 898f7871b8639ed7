// File: host/metrics.cpp
//
// Histogram recording and Prometheus text rendering.
#include "host/metrics.h"

namespace switchboard::metrics {

void Histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", kBounds[i]);
    out += name + "_bucket{le=\"" + bound + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += buckets_[kBounds.size()].load(std::memory_order_relaxed);
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  char sum[32];
  std::snprintf(sum, sizeof sum, "%.9f", static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  out += name + "_sum " + sum + "\n";
  out += name + "_count " + std::to_string(count_.load(std::memory_order_relaxed)) + "\n";
}

Registry& global() {
  static Registry registry;
  return registry;
}

std::string render_prometheus() {
  const Registry& r = global();
  std::string out;
  auto counter = [&](const std::string& name, const std::string& help, const Counter& c) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
           std::to_string(c.value()) + "\n";
  };
  counter("switchboard_http_requests_total", "HTTP requests served", r.requests);
  counter("switchboard_chat_turns_total", "chat turns run (native and /v1)", r.chat_turns);
  counter("switchboard_streamed_tokens_total", "deltas streamed to clients", r.streamed_tokens);
  counter("switchboard_upstream_errors_total", "turns that ended with a provider error", r.upstream_errors);
  counter("switchboard_plugin_reloads_total", "plugin directory reloads (start, watch, rescan, request, SIGHUP)",
          r.plugin_reloads);
  out += "# HELP switchboard_plugin_events_total plugin libraries added, replaced, removed or refused by reloads\n"
         "# TYPE switchboard_plugin_events_total counter\n";
  for (const auto& [event, c] : {std::pair<const char*, const Counter*>{"added", &r.plugin_added},
                                 {"replaced", &r.plugin_replaced},
                                 {"removed", &r.plugin_removed},
                                 {"refused", &r.plugin_refused}})
    out += std::string("switchboard_plugin_events_total{event=\"") + event + "\"} " + std::to_string(c->value()) + "\n";
  r.openai_overhead_seconds.render(out, "switchboard_openai_overhead_seconds",
                                   "time /v1/chat/completions spends outside the provider");
  r.request_seconds.render(out, "switchboard_http_request_seconds", "whole HTTP request time");
  return out;
}

}  // namespace switchboard::metrics
