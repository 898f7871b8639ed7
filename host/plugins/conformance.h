// File: host/plugins/conformance.h
//
// The checks every provider plugin passes, as plain functions: the GoogleTest
// suite (tests/plugin_conformance) asserts each of them for every plugin, and
// switchboard-plugin-check runs them on any library and prints a report. One
// implementation, so the tool an author runs is the suite CI runs.
#pragma once

#include "host/plugins/loaded_provider.h"

#include <string>
#include <vector>

namespace switchboard::conformance {

// One request of a check: which model, with which per-request options.
struct Request {
  std::string model;
  std::string options_json = "{}";
};

// What to chat with. config_json "" means the plugin's own default config.
struct Plan {
  std::string config_json;
  Request normal;   // replies with at least one delta, then done
  Request slow;     // streams for at least 2 seconds unless cancelled
  Request failing;  // fails: an ERROR event with a code, as data
  Request tools;    // SDK 1.1, for a plugin that declares "tools": calls an offered tool ("" model: normal's)
};

struct Check {
  std::string name;     // what it checks, as a sentence
  bool passed = false;
  std::string detail;   // what was seen; why it failed
};

// The effective config a plan chats with.
std::string config_of(const LoadedProvider& provider, const Plan& plan);

Check negotiates_the_host_abi(const LoadedProvider& provider);
Check describes_itself_with_object_defaults(const LoadedProvider& provider);
Check streams_a_reply_and_completes(const LoadedProvider& provider, const Plan& plan);
Check stops_promptly_when_the_sink_refuses(const LoadedProvider& provider, const Plan& plan);
Check stops_promptly_while_silent(const LoadedProvider& provider, const Plan& plan);
Check reports_failures_as_data(const LoadedProvider& provider, const Plan& plan);
Check serves_many_threads_at_once(const LoadedProvider& provider, const Plan& plan);
// SDK 1.1.
Check declares_capabilities_only_from_abi_1_1(const LoadedProvider& provider);
Check calls_an_offered_tool(const LoadedProvider& provider, const Plan& plan);
Check embeds_when_it_declares_embeddings(const LoadedProvider& provider, const Plan& plan);

// Every check above, in that order.
std::vector<Check> run_all(const LoadedProvider& provider, const Plan& plan);

}  // namespace switchboard::conformance
