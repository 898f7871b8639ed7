// File: host/services/upstream_url.h
//
// Where a config may send the host: base_url parsed strictly and stored in one
// normal form, and ca_file held to the operator's CA directory. Checked when a
// config is created or changed; the connect-time address policy lives in the
// plugins' HTTP client (plugins/common/address_rules.h).
#pragma once

#include "host/services/result.h"

#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

namespace storage {
struct LlmConfig;
}

// An absolute http/https URL without user-info, query, fragment, whitespace,
// control or non-ASCII characters, with a port in 1..65535, in its normal
// form: scheme and host lower-case, an IPv6 literal in its canonical form, the
// scheme's default port dropped, trailing slashes dropped
// ("HTTPS://API.Example.com:443/v1/" → "https://api.example.com/v1").
// "" stays "" (the plugin's default). A failure is 400 invalid_base_url.
Result<std::string> normalise_base_url(std::string_view url);

// A ca_file may only name a file inside `ca_dir` (a name relative to it, or an
// absolute path under it), judged on the text alone: the answer never depends
// on whether a file exists. "" is always fine; anything else without a ca_dir
// is refused. A failure is 400 invalid_options.
Result<Unit> check_ca_file(std::string_view ca_file, const std::string& ca_dir);

// The upstream fields of a config about to be stored: base_url normalised in
// place; options may not carry base_url (it would override the checked field),
// and their ca_file must pass check_ca_file.
Result<Unit> check_upstream_fields(storage::LlmConfig& config, const std::string& ca_dir);

// The host settings every plugin call carries under SB_HOST_SETTINGS_KEY:
// {"upstream_deny": [...], "upstream_allow": [...], "ca_dir": "..."}. Each
// entry is checked with the plugins' own parser (plugins/common/address_rules.h);
// throws std::invalid_argument naming the first bad one.
std::string plugin_host_settings(const std::vector<std::string>& upstream_deny,
                                 const std::vector<std::string>& upstream_allow, const std::string& ca_dir);

}  // namespace switchboard
