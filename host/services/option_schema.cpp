// File: host/services/option_schema.cpp
//
// Provider options against the plugin's config_schema: declared keys, types
// (one or a list, as JSON Schema writes them) and numeric bounds.
#include "host/services/option_schema.h"

#include <switchboard/provider.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

namespace switchboard {

namespace {

using Json = nlohmann::json;

bool type_matches(const std::string& type, const Json& value) {
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "null") return value.is_null();
  return true;  // a type this host does not know: the plugin checks it
}

// The declared type(s) as "integer" or "string or array"; empty when none is declared.
std::string type_names(const Json& type) {
  if (type.is_string()) return type.get<std::string>();
  std::string names;
  if (type.is_array())
    for (const auto& t : type)
      if (t.is_string()) names += (names.empty() ? "" : " or ") + t.get<std::string>();
  return names;
}

bool any_type_matches(const Json& type, const Json& value) {
  if (type.is_string()) return type_matches(type.get<std::string>(), value);
  if (!type.is_array() || type.empty()) return true;
  for (const auto& t : type)
    if (!t.is_string() || type_matches(t.get<std::string>(), value)) return true;
  return false;
}

std::string number_text(const Json& n) {
  if (n.is_number_integer()) return n.dump();
  std::ostringstream out;
  out << n.get<double>();
  return out.str();
}

// value < bound (below = true) or value > bound, exactly for integers.
bool beyond(const Json& value, const Json& bound, bool below) {
  if (value.is_number_integer() && bound.is_number_integer()) {
    // Both as signed 64-bit unless one is an unsigned beyond int64's range.
    if (value.is_number_unsigned() || bound.is_number_unsigned()) {
      const auto v = value.get<double>(), b = bound.get<double>();
      return below ? v < b : v > b;
    }
    const auto v = value.get<std::int64_t>(), b = bound.get<std::int64_t>();
    return below ? v < b : v > b;
  }
  const double v = value.get<double>(), b = bound.get<double>();
  return below ? v < b : v > b;
}

}  // namespace

Result<Unit> check_options(const std::string& schema_json, const std::string& options_json,
                           const std::string& field_prefix, const std::string& owner) {
  Json options;
  try {
    options = Json::parse(options_json.empty() ? "{}" : options_json);
  } catch (const Json::exception&) {
    return invalid(field_prefix, field_prefix + " must be a JSON object");
  }
  if (!options.is_object()) return invalid(field_prefix, field_prefix + " must be a JSON object");
  if (options.contains(SB_HOST_SETTINGS_KEY))
    return invalid(field_prefix, field_prefix + "." SB_HOST_SETTINGS_KEY " is reserved for the host's own settings");

  Json schema;
  try {
    schema = Json::parse(schema_json.empty() ? "{}" : schema_json);
  } catch (const Json::exception&) {
    schema = Json::object();  // a plugin's malformed schema declares nothing
  }
  if (!schema.is_object() || schema.empty()) return Unit{};

  for (const auto& [key, value] : options.items()) {
    const std::string name = field_prefix + "." + key;
    if (!schema.contains(key)) return invalid(field_prefix, name + " is not a setting of " + owner);
    const Json& field = schema[key];
    if (!field.is_object()) continue;
    if (field.contains("type") && !any_type_matches(field["type"], value))
      return invalid(field_prefix, name + " must be of type " + type_names(field["type"]));
    if (!value.is_number()) continue;
    if (field.contains("minimum") && field["minimum"].is_number() && beyond(value, field["minimum"], true))
      return invalid(field_prefix, name + " must be at least " + number_text(field["minimum"]));
    if (field.contains("maximum") && field["maximum"].is_number() && beyond(value, field["maximum"], false))
      return invalid(field_prefix, name + " must be at most " + number_text(field["maximum"]));
  }
  return Unit{};
}

}  // namespace switchboard
