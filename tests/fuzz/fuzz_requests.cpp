// File: tests/fuzz/fuzz_requests.cpp
//
// Fuzz targets for the parsers of what a client (or an operator) sends, one
// binary each, chosen with -D:
//   FUZZ_NATIVE_BODY   the native API's bodies: a chat turn, a config, a session
//                      (the first byte picks which reader)
//   FUZZ_QUERY         query strings (limit=&offset=)
//   FUZZ_MANIFEST      plugins.json
// Property: only the project's own refusal (HttpError, ManifestError) comes
// out; anything else — another exception, a crash, a stack overflow on the
// worker-sized stack the driver runs each input on — is a finding. What a
// reader accepts stays within its limits.
#include "fuzz_driver.h"

#include "host/http/api_json.h"
#include "host/http/json_response.h"
#include "host/json_depth.h"
#include "host/plugins/plugin_registry.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace switchboard;
using namespace switchboard::http;

[[noreturn, maybe_unused]] void broken(const char* what) {
  std::fprintf(stderr, "property broken: %s\n", what);
  std::abort();
}

#if defined(FUZZ_NATIVE_BODY)
// Accepted options are a JSON object within the depth limit: what the
// services and the plugins go on to walk.
void check_options(const std::string& options_json) {
  if (json_nests_deeper_than(options_json, kMaxJsonDepth)) broken("accepted options nest too deep");
  if (!Json::parse(options_json).is_object()) broken("accepted options are not an object");
}

void native_body(unsigned char which, const std::string& body) {
  try {
    switch (which % 5) {
      case 0: {
        const TurnRequest r = turn_request(body);
        if (r.session_id <= 0 || (r.config_id && *r.config_id <= 0)) broken("accepted a non-positive id");
        if (r.user_message.find('\0') != std::string::npos) broken("accepted a NUL in user_message");
        check_options(r.options_json);
        break;
      }
      case 1: {
        const ConfigInput in = config_input(body);
        if (in.options_json) check_options(*in.options_json);
        if (in.name && in.name->find('\0') != std::string::npos) broken("accepted a NUL in name");
        break;
      }
      case 2:
      case 3: {
        // The bodies of regenerate (2) and edit-and-resend (3).
        const TurnRequest r = message_turn_request(body, 1, 2, which % 5 == 3);
        if (r.config_id && *r.config_id <= 0) broken("accepted a non-positive config_id");
        if (r.user_message.find('\0') != std::string::npos) broken("accepted a NUL in user_message");
        if ((which % 5 == 3) != r.edit_of.has_value()) broken("an edit that is not one");
        check_options(r.options_json);
        break;
      }
      default: {
        const Json j = parse_object(body, {"title", "config_id"});
        opt_string(j, "title");
        const auto id = opt_id(j, "config_id");
        if (id && *id <= 0) broken("accepted a non-positive config_id");
      }
    }
  } catch (const HttpError& e) {
    if (e.status != 400) broken("a refusal that is not a 400");
  }
}
#endif

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
#if defined(FUZZ_NATIVE_BODY)
  if (size == 0) return 0;
  native_body(data[0], std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
#elif defined(FUZZ_QUERY)
  const std::string query(reinterpret_cast<const char*>(data), size);
  try {
    const std::int64_t limit = query_int(query, "limit", 50);
    if (limit < 0) broken("a negative limit accepted");
    query_param(query, "offset");
  } catch (const HttpError& e) {
    if (e.status != 400) broken("a refusal that is not a 400");
  }
#elif defined(FUZZ_MANIFEST)
  try {
    const Manifest m = Manifest::parse(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!m.default_config_json.empty() && json_nests_deeper_than(m.default_config_json, kMaxJsonDepth))
      broken("a default_config deeper than the limit accepted");
  } catch (const ManifestError&) {
  }
#else
#error "define one of FUZZ_NATIVE_BODY, FUZZ_QUERY, FUZZ_MANIFEST"
#endif
  return 0;
}

namespace switchboard::fuzz {

std::vector<std::string> seeds() {
  const std::string deep_array = std::string(20000, '[') + std::string(20000, ']');
  const std::string deep_object = [] {
    std::string s;
    for (int i = 0; i < 20000; ++i) s += "{\"a\":";
    s += "1";
    s += std::string(20000, '}');
    return s;
  }();
#if defined(FUZZ_NATIVE_BODY)
  // The first byte picks the reader: 0 a chat turn, 1 a config, 2 a session.
  auto to = [](char reader, const std::string& body) { return std::string(1, reader) + body; };
  return {
      to(0, R"({"session_id": 1, "user_message": "hi", "temperature": 0.5, "max_tokens": 10, "options": {"delay_ms": 1}})"),
      to(0, R"({"session_id": 18446744073709551615, "user_message": "hi"})"),
      to(0, R"({"session_id": 1, "user_message": "a\u0000b"})"),
      to(0, R"({"session_id": 1, "user_message": "hi", "temperature": 1e400})"),
      to(0, R"({"session_id": 1, "user_message": "x", "options": {"a": )" + deep_array + "}}"),
      to(1, R"({"name": "n", "provider": "mock", "model_name": "m", "base_url": "http://127.0.0.1:1", "api_key": null, "options": {}})"),
      to(1, R"({"name": "a\nb", "api_key": 7})"),
      to(1, R"({"options": )" + deep_object + "}"),
      to(2, R"({"title": "t", "config_id": -1})"),
      to(2, R"({"title": "t", "config_id": 1.5})"),
  };
#elif defined(FUZZ_QUERY)
  return {"limit=10&offset=5", "limit=%zz", "limit=%3", "limit=1%30", "a=b&&=&limit", "limit=99999999999999999999"};
#else
  return {
      R"({"plugin_dir": "x", "plugins": [{"name": "mock", "library": "libm.so", "enabled": true}], "default_config": {"provider": "mock"}})",
      R"({"plugins": [{"name": "a", "library": "b"}, {"name": "a", "library": "c"}]})",
      R"({"plugins": [], "default_config": )" + deep_object + "}",
      R"({"plugins": [1e400]})",
  };
#endif
}

std::vector<std::string> alphabet() {
#if defined(FUZZ_QUERY)
  return {"limit", "offset", "=", "&", "%", "%2", "%41", "%zz", "+", "1", "0", "99999999999", "-", "x"};
#else
  return {"{", "}", "[", "]", "\"", ":", ",", " ", "1", "-1", "0", "1e400", "2.5", "18446744073709551616", "null",
          "true", "\"a\"", "\\u0000", "\\n", "\\\"", "\"session_id\":", "\"user_message\":", "\"options\":",
          "\"config_id\":", "\"name\":", "\"title\":", "\"api_key\":", "\"model\":", "\"messages\":", "\"role\":",
          "\"user\"", "\"content\":", "\"type\":\"text\"", "\"text\":", "\"stop\":", "\"max_tokens\":",
          "\"stream\":", "\"plugins\":", "\"library\":", "\"default_config\":", "\"provider\":",
          std::string(100, '['), std::string(100, '{')};
#endif
}

}  // namespace switchboard::fuzz
