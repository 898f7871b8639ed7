// File: host/services/upstream_url.cpp
//
// base_url parsing and normal form, and the ca_file directory rule.
#include "host/services/upstream_url.h"

#include "plugins/common/address_rules.h"
#include "storage/records.h"

#include <switchboard/provider.h>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <filesystem>
#include <stdexcept>

namespace switchboard {

namespace {

constexpr std::size_t kMaxUrlLength = 2000;

Error bad_url(const std::string& why) { return invalid("base_url", "base_url " + why); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// RFC 3986 pchar (unreserved, sub-delims, ':' and '@') and '/'; '%' is checked apart.
bool path_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '!': case '$': case '&': case '\'': case '(':
    case ')': case '*': case '+': case ',': case ';': case '=': case ':': case '@': case '/':
      return true;
    default:
      return false;
  }
}

// A registered name: letters, digits, '-', '.', '_'. A name whose last label
// is numeric is an IPv4 address in disguise ("127.1", "0x7f.1", "2130706433"),
// which resolvers read in surprising ways: only the dotted-quad form is taken.
Result<std::string> check_host(std::string_view host) {
  if (host.empty()) return bad_url("has no host");
  if (host.size() > 253) return bad_url("has a host name longer than 253 characters");
  const std::string h = lower(host);
  for (char c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
      return bad_url("has an invalid character in its host");
  std::string_view last = h;
  if (!last.empty() && last.back() == '.') last.remove_suffix(1);
  if (const auto dot = last.rfind('.'); dot != std::string_view::npos) last = last.substr(dot + 1);
  const bool numeric_label = !last.empty() && (std::isdigit(static_cast<unsigned char>(last[0])) != 0) &&
                             last.find_first_not_of("0123456789abcdefx") == std::string_view::npos;
  if (numeric_label) {
    in_addr v4{};
    if (inet_pton(AF_INET, h.c_str(), &v4) != 1)
      return bad_url("has a host that is neither a name nor a dotted-quad IPv4 address");
  }
  return h;
}

}  // namespace

Result<std::string> normalise_base_url(std::string_view url) {
  if (url.empty()) return std::string();
  if (url.size() > kMaxUrlLength) return bad_url("is too long");
  for (char ch : url) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f)
      return bad_url("must not contain whitespace, control or non-ASCII characters "
                     "(write an international host name in its xn-- form)");
  }
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return bad_url("must be an absolute http:// or https:// URL");
  const std::string scheme = lower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return bad_url("must be an absolute http:// or https:// URL");
  const std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos) return bad_url("must not have a fragment (#...)");
  if (rest.find('?') != std::string_view::npos) return bad_url("must not have a query (?...)");
  if (rest.find('\\') != std::string_view::npos) return bad_url("must not contain a backslash");

  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    return bad_url("must not contain user-info (user:password@); put a credential in api_key");

  std::string host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_url("has an unclosed IPv6 literal");
    const std::string literal(authority.substr(1, close - 1));
    in6_addr v6{};
    if (inet_pton(AF_INET6, literal.c_str(), &v6) != 1)
      return bad_url("has an invalid IPv6 literal (zone ids are not supported)");
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &v6, text, sizeof text);
    host = std::string("[") + text + "]";
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url("has text after its IPv6 literal");
      port = after.substr(1);
      if (port.empty()) return bad_url("has an empty port");
    }
  } else {
    const auto colon = authority.find(':');
    std::string_view name = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return bad_url("has an empty port");
      if (port.find(':') != std::string_view::npos)
        return bad_url("has more than one ':' in its host (write an IPv6 address in [brackets])");
    }
    auto checked = check_host(name);
    if (!checked) return checked.error();
    host = checked.value();
  }

  std::string port_part;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
      return bad_url("has an invalid port (1..65535)");
    const long number = std::stol(std::string(port));
    if (number < 1 || number > 65535) return bad_url("has an invalid port (1..65535)");
    const long default_port = scheme == "https" ? 443 : 80;
    if (number != default_port) port_part = ":" + std::to_string(number);
  }

  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%') {
      if (i + 2 >= path.size() || !is_hex(path[i + 1]) || !is_hex(path[i + 2]))
        return bad_url("has a malformed %-escape in its path");
      const int value = std::stoi(std::string(path.substr(i + 1, 2)), nullptr, 16);
      if (value < 0x20 || value == 0x7f) return bad_url("has an escaped control character in its path");
      i += 2;
    } else if (!path_char(path[i])) {
      return bad_url("has an invalid character in its path");
    }
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return scheme + "://" + host + port_part + std::string(path);
}

Result<Unit> check_ca_file(std::string_view ca_file, const std::string& ca_dir) {
  namespace fs = std::filesystem;
  if (ca_file.empty()) return Unit{};
  // One message per cause, the same whether or not any file is there.
  if (ca_dir.empty())
    return invalid("options", "options.ca_file cannot be set: the operator has named no CA directory (--ca-dir)");
  const Error outside = invalid("options",
                                "options.ca_file must name a file inside the operator's CA directory (--ca-dir), "
                                "e.g. by its name relative to it");
  for (char ch : ca_file) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return outside;
  }
  fs::path dir = fs::path(ca_dir).lexically_normal();
  if (!dir.has_filename() && dir.has_relative_path()) dir = dir.parent_path();  // "/etc/ca/" → "/etc/ca"
  const fs::path given(std::string{ca_file});
  const fs::path file = (given.is_absolute() ? given : dir / given).lexically_normal();
  const fs::path inside = file.lexically_relative(dir);
  if (inside.empty() || inside == "." || *inside.begin() == "..") return outside;
  if (file.filename().empty()) return outside;  // names the directory itself
  return Unit{};
}

Result<Unit> check_upstream_fields(storage::LlmConfig& config, const std::string& ca_dir) {
  auto url = normalise_base_url(config.base_url);
  if (!url) return url.error();
  config.base_url = url.value();

  nlohmann::json options;
  try {
    options = nlohmann::json::parse(config.options_json.empty() ? "{}" : config.options_json);
  } catch (const nlohmann::json::exception&) {
    return Unit{};  // the schema check reports malformed options
  }
  if (!options.is_object()) return Unit{};
  if (options.contains("base_url"))
    return invalid("options", "options.base_url cannot be set: use the config's own base_url field");
  if (options.contains("ca_file") && options["ca_file"].is_string())
    return check_ca_file(options["ca_file"].get<std::string>(), ca_dir);
  return Unit{};
}

std::string plugin_host_settings(const std::vector<std::string>& upstream_deny,
                                 const std::vector<std::string>& upstream_allow, const std::string& ca_dir) {
  try {
    plugins::AddressRules::parse(upstream_deny);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--upstream-deny: ") + e.what());
  }
  try {
    plugins::AddressRules::parse(upstream_allow);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--upstream-allow: ") + e.what());
  }
  return nlohmann::json{{"upstream_deny", upstream_deny}, {"upstream_allow", upstream_allow}, {"ca_dir", ca_dir}}.dump();
}

}  // namespace switchboard
