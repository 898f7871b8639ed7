// File: tests/plugin_conformance/conformance_case.h
//
// One plugin under the conformance suite: where its library is, an effective
// config to chat with, and requests that reply normally, slowly, and fail.
// Built-in plugins register cases in cases_*.cpp; a third-party plugin is run
// with SB_CONFORMANCE_PLUGIN=/path/lib.so (see conformance_test.cpp).
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace switchboard::conformance {

struct CaseRequest {
  std::string model;
  std::string options_json = "{}";
};

struct ConformanceCase {
  std::string name;     // test-name-safe: [A-Za-z0-9_]
  std::string library;  // path of the plugin library
  // Returns the effective config JSON to chat with. May start a fake upstream
  // that lives until the process exits.
  std::function<std::string()> config;
  CaseRequest normal;   // replies with at least one delta, then done
  CaseRequest slow;     // streams for at least 2 seconds unless cancelled
  CaseRequest failing;  // fails: an ERROR event with a code, as data
  // SDK 1.1, for a plugin that declares "tools": a model that, offered one
  // tool, calls it (finish_reason "tool_calls"). Empty model: the normal one.
  CaseRequest tools;
};

// gtest prints a case by its name, not its bytes.
inline void PrintTo(const ConformanceCase& c, std::ostream* os) { *os << c.name; }

// Cases of the built-in plugins; each cases_*.cpp appends its own.
std::vector<ConformanceCase>& registered_cases();

struct CaseRegistrar {
  explicit CaseRegistrar(ConformanceCase c) { registered_cases().push_back(std::move(c)); }
};

}  // namespace switchboard::conformance
