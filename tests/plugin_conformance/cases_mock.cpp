// File: tests/plugin_conformance/cases_mock.cpp
//
// The mock plugin under the conformance suite: echo for a normal reply, a
// delayed token stream for cancellation, fail_before_first for errors.
#include "conformance_case.h"

namespace switchboard::conformance {
namespace {

const CaseRegistrar kMock({
    "mock",
    SB_PLUGIN_DIR "/libswitchboard_mock.so",
    [] { return std::string(R"({"model_name":"mock-echo","options":{}})"); },
    {"mock-echo", "{}"},
    {"mock-tokens", R"({"tokens":60,"delay_ms":50})"},
    {"mock-echo", R"({"fail_before_first":true})"},
    {"mock-tools", "{}"},
});

// The mock as SDK 1.0 built it: a 1.0 plugin keeps loading and passing its 1.0 cases.
const CaseRegistrar kMockAbi10({
    "mock_1_0",
    SB_TEST_PLUGIN_DIR "/libswitchboard_mock_1_0.so",
    [] { return std::string(R"({"model_name":"mock-echo","options":{}})"); },
    {"mock-echo", "{}"},
    {"mock-tokens", R"({"tokens":60,"delay_ms":50})"},
    {"mock-echo", R"({"fail_before_first":true})"},
    {"", "{}"},  // declares no tools
});

// The mock as SDK 1.1 built it (JSON deltas, pauses polled): a 1.1 plugin keeps loading and passing.
const CaseRegistrar kMockAbi11({
    "mock_1_1",
    SB_TEST_PLUGIN_DIR "/libswitchboard_mock_1_1.so",
    [] { return std::string(R"({"model_name":"mock-echo","options":{}})"); },
    {"mock-echo", "{}"},
    {"mock-tokens", R"({"tokens":60,"delay_ms":50})"},
    {"mock-echo", R"({"fail_before_first":true})"},
    {"mock-tools", "{}"},
});

}  // namespace
}  // namespace switchboard::conformance
