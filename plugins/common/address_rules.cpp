// File: plugins/common/address_rules.cpp
//
// Parsing and matching of host names and CIDR ranges, and the deny/allow decision.
#include "address_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace switchboard::plugins {

namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr std::array<std::uint8_t, 12> kNat64Prefix = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

std::string lower_name(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool is_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

// The IPv4 address an IPv6 one stands for, in mapped form, when it embeds one.
bool embedded_ipv4(const Address16& a, Address16& mapped) {
  const bool nat64 = std::equal(kNat64Prefix.begin(), kNat64Prefix.end(), a.begin());
  bool compatible = std::all_of(a.begin(), a.begin() + 12, [](std::uint8_t b) { return b == 0; });
  // :: and ::1 are IPv6's own unspecified and loopback addresses, not IPv4 ones.
  if (compatible && a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1) compatible = false;
  if (!nat64 && !compatible) return false;
  std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), mapped.begin());
  std::copy(a.begin() + 12, a.end(), mapped.begin() + 12);
  return true;
}

bool in_range(const Address16& a, const Address16& network, int prefix) {
  const int whole = prefix / 8;
  if (!std::equal(a.begin(), a.begin() + whole, network.begin())) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (network[whole] & mask);
}

}  // namespace

Address16 address_of(const void* bytes, std::size_t size) {
  Address16 a{};
  if (size == 4) {
    std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), a.begin());
    std::memcpy(a.data() + 12, bytes, 4);
  } else if (size == 16) {
    std::memcpy(a.data(), bytes, 16);
  }
  return a;
}

AddressRules AddressRules::parse(const std::vector<std::string>& entries) {
  AddressRules rules;
  for (const auto& raw : entries) {
    std::string_view entry = raw;
    const auto bad = [&] { return std::invalid_argument("not a host name, IP address or CIDR range: \"" + raw + "\""); };
    if (entry.empty()) throw bad();
    std::string_view address = entry, prefix_text;
    bool has_prefix = false;
    if (const auto slash = entry.find('/'); slash != std::string_view::npos) {
      address = entry.substr(0, slash);
      prefix_text = entry.substr(slash + 1);
      has_prefix = true;
    }
    if (address.size() > 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
    const std::string text(address);
    in_addr v4{};
    in6_addr v6{};
    Range range;
    int max_prefix = 0;
    if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
      range.network = address_of(&v4, 4);
      max_prefix = 32;
    } else if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
      range.network = address_of(&v6, 16);
      max_prefix = 128;
    } else if (!has_prefix && is_name(entry)) {
      rules.names_.push_back(lower_name(entry));
      continue;
    } else {
      throw bad();
    }
    int prefix = max_prefix;
    if (has_prefix) {
      if (prefix_text.empty() || prefix_text.size() > 3 ||
          prefix_text.find_first_not_of("0123456789") != std::string_view::npos)
        throw bad();
      prefix = std::stoi(std::string(prefix_text));
      if (prefix > max_prefix) throw bad();
    }
    range.prefix = prefix + (max_prefix == 32 ? 96 : 0);
    rules.ranges_.push_back(range);
  }
  return rules;
}

bool AddressRules::matches(std::string_view host, const Address16& address) const {
  if (!names_.empty()) {
    const std::string name = lower_name(host);
    if (std::find(names_.begin(), names_.end(), name) != names_.end()) return true;
  }
  Address16 mapped{};
  const bool has_v4 = embedded_ipv4(address, mapped);
  for (const auto& r : ranges_) {
    if (in_range(address, r.network, r.prefix)) return true;
    if (has_v4 && in_range(mapped, r.network, r.prefix)) return true;
  }
  return false;
}

const std::vector<std::string>& UpstreamPolicy::default_deny() {
  static const std::vector<std::string> deny = {"169.254.0.0/16", "fe80::/10"};
  return deny;
}

UpstreamPolicy::UpstreamPolicy() : UpstreamPolicy(default_deny(), {}) {}

UpstreamPolicy::UpstreamPolicy(const std::vector<std::string>& deny, const std::vector<std::string>& allow)
    : deny_(AddressRules::parse(deny)), allow_(AddressRules::parse(allow)) {
  for (const auto& d : deny) fingerprint_ += "-" + d;
  fingerprint_ += "|";
  for (const auto& a : allow) fingerprint_ += "+" + a;
}

std::string UpstreamPolicy::refusal(std::string_view host, const Address16& address) const {
  if (deny_.matches(host, address))
    return "the host's upstream policy denies " + std::string(host) + " (see --upstream-deny)";
  if (!allow_.empty() && !allow_.matches(host, address))
    return "the host's upstream policy does not allow " + std::string(host) + " (see --upstream-allow)";
  return "";
}

}  // namespace switchboard::plugins
