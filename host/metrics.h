// File: host/metrics.h
//
// Lock-free counters and fixed-bucket histograms, rendered as Prometheus
// text by GET /metrics. Recording is a few relaxed atomic adds, cheap enough
// for every request and every streamed token.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

namespace switchboard::metrics {

class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Seconds, with buckets from 10 µs to 10 s.
class Histogram {
 public:
  static constexpr std::array<double, 13> kBounds = {1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
                                                     5e-3, 1e-2, 5e-2, 1e-1, 1.0, 10.0};
  void observe(double seconds);
  // Appends the Prometheus text of this histogram.
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// The host's metrics, one instance per process.
struct Registry {
  Counter requests;
  Counter chat_turns;
  Counter streamed_tokens;
  Counter upstream_errors;
  // Plugin reloads and what they did (host/plugins/plugin_registry.cpp).
  Counter plugin_reloads;
  Counter plugin_added;
  Counter plugin_replaced;
  Counter plugin_removed;
  Counter plugin_refused;
  Histogram openai_overhead_seconds;  // /v1: time outside the provider
  Histogram request_seconds;          // every request, whole
};

Registry& global();
std::string render_prometheus();

}  // namespace switchboard::metrics
