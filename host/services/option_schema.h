// File: host/services/option_schema.h
//
// The one check of provider options against the plugin's config_schema, used
// for a stored config's options and for a chat request's options alike: each
// key declared, of its declared type, within its declared minimum/maximum.
#pragma once

#include "host/services/result.h"

#include <string>

namespace switchboard {

// Checks `options_json` (must be a JSON object) against `schema_json`
// ({field: {"type": T or [T...], "minimum"?: N, "maximum"?: N, "description"}}).
// An empty schema accepts any key; a type this host does not know is left to
// the plugin. The host-owned key SB_HOST_SETTINGS_KEY is always refused.
// Failures are InvalidArgument with code "invalid_<field_prefix>" and a message
// naming the key ("options.tokens must be at most 100000"); `owner` names the
// provider in the message for an unknown key ("provider mock").
Result<Unit> check_options(const std::string& schema_json, const std::string& options_json,
                           const std::string& field_prefix, const std::string& owner);

}  // namespace switchboard
