// File: plugins/common/address_rules.h
//
// Which upstream a plugin may connect to: lists of host names and address
// ranges ("169.254.0.0/16", "fe80::/10", "10.1.2.3", "api.example.com"), and
// the deny/allow policy the HTTP client applies to the address it resolved,
// just before it connects. Standard C++ and POSIX only, so the host checks an
// operator's lists at start with this same code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::plugins {

// An IP address as 16 bytes; IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d).
using Address16 = std::array<std::uint8_t, 16>;

// `bytes` of `size` 4 (IPv4) or 16 (IPv6), as in_addr / in6_addr hold them.
Address16 address_of(const void* bytes, std::size_t size);

class AddressRules {
 public:
  // Entries: an IPv4 or IPv6 address, either with "/prefix", or a host name
  // (matched exactly, case-insensitively, against the URL's host). Throws
  // std::invalid_argument naming the first bad entry.
  static AddressRules parse(const std::vector<std::string>& entries);

  bool empty() const { return ranges_.empty() && names_.empty(); }
  // True when `host` (as written in the URL) or `address` is listed. An IPv4
  // rule also covers the same address reached as IPv4-mapped, IPv4-compatible
  // or NAT64 (64:ff9b::/96) IPv6.
  bool matches(std::string_view host, const Address16& address) const;

 private:
  struct Range {
    Address16 network{};
    int prefix = 0;  // bits, of the 16-byte form
  };
  std::vector<Range> ranges_;
  std::vector<std::string> names_;
};

// The operator's policy. Deny wins; a non-empty allow list admits only what it lists.
class UpstreamPolicy {
 public:
  // The default when the host sends none: the link-local ranges, where cloud
  // metadata services answer (169.254.169.254, fd00:ec2::254 aside).
  static const std::vector<std::string>& default_deny();

  UpstreamPolicy();
  // Throws std::invalid_argument naming a bad entry.
  UpstreamPolicy(const std::vector<std::string>& deny, const std::vector<std::string>& allow);

  // "" when `host`, resolved to `address`, may be connected to; else why not
  // (without the address, which the caller may not be entitled to learn).
  std::string refusal(std::string_view host, const Address16& address) const;
  // Tells policies apart, so a pooled connection opened under one is never reused under another.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  AddressRules deny_;
  AddressRules allow_;
  std::string fingerprint_;
};

}  // namespace switchboard::plugins
