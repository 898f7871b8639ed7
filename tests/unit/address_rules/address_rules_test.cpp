// File: tests/unit/address_rules/address_rules_test.cpp
//
// The upstream address policy: host names and CIDR ranges, IPv4 reached
// through IPv6 forms, deny over allow, and the defaults that keep cloud
// metadata services out of reach.
#include "address_rules.h"

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <stdexcept>

namespace switchboard::plugins {
namespace {

Address16 ip(const std::string& text) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return address_of(&v4, 4);
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return address_of(&v6, 16);
  ADD_FAILURE() << "not an address: " << text;
  return {};
}

bool listed(const std::vector<std::string>& rules, const std::string& address, const std::string& host = "example.com") {
  return AddressRules::parse(rules).matches(host, ip(address));
}

TEST(AddressRules, Ipv4RangesMatchTheirAddressesOnly) {
  EXPECT_TRUE(listed({"169.254.0.0/16"}, "169.254.169.254"));
  EXPECT_TRUE(listed({"169.254.0.0/16"}, "169.254.0.0"));
  EXPECT_TRUE(listed({"169.254.0.0/16"}, "169.254.255.255"));
  EXPECT_FALSE(listed({"169.254.0.0/16"}, "169.255.0.1"));
  EXPECT_FALSE(listed({"169.254.0.0/16"}, "169.253.255.255"));
  EXPECT_TRUE(listed({"10.0.0.0/8"}, "10.200.3.4"));
  EXPECT_TRUE(listed({"172.16.0.0/12"}, "172.31.255.1"));
  EXPECT_FALSE(listed({"172.16.0.0/12"}, "172.32.0.1"));
  EXPECT_TRUE(listed({"10.1.2.3"}, "10.1.2.3")) << "a single address";
  EXPECT_FALSE(listed({"10.1.2.3"}, "10.1.2.4"));
  EXPECT_TRUE(listed({"0.0.0.0/0"}, "8.8.8.8"));
  EXPECT_TRUE(listed({"10.1.2.3/8"}, "10.9.9.9")) << "host bits of the network are ignored";
}

TEST(AddressRules, Ipv6RangesMatchTheirAddressesOnly) {
  EXPECT_TRUE(listed({"fe80::/10"}, "fe80::1"));
  EXPECT_TRUE(listed({"fe80::/10"}, "febf:ffff::1"));
  EXPECT_FALSE(listed({"fe80::/10"}, "fec0::1"));
  EXPECT_TRUE(listed({"fc00::/7"}, "fd00:ec2::254"));
  EXPECT_TRUE(listed({"::1"}, "::1"));
  EXPECT_TRUE(listed({"[::1]"}, "::1")) << "brackets are fine";
  EXPECT_FALSE(listed({"::1"}, "::2"));
}

TEST(AddressRules, AnIpv4RuleCoversTheSameAddressReachedOverIpv6) {
  EXPECT_TRUE(listed({"169.254.0.0/16"}, "::ffff:169.254.169.254")) << "IPv4-mapped";
  EXPECT_TRUE(listed({"169.254.0.0/16"}, "64:ff9b::a9fe:a9fe")) << "NAT64";
  EXPECT_TRUE(listed({"169.254.0.0/16"}, "::169.254.169.254")) << "IPv4-compatible";
  EXPECT_FALSE(listed({"0.0.0.0/8"}, "::1")) << "::1 is IPv6 loopback, not 0.0.0.1";
  EXPECT_FALSE(listed({"169.254.0.0/16"}, "::ffff:10.0.0.1"));
}

TEST(AddressRules, HostNamesMatchTheUrlsHostExactlyIgnoringCase) {
  EXPECT_TRUE(listed({"metadata.google.internal"}, "10.0.0.1", "Metadata.Google.Internal"));
  EXPECT_TRUE(listed({"metadata.google.internal."}, "10.0.0.1", "metadata.google.internal"));
  EXPECT_FALSE(listed({"metadata.google.internal"}, "10.0.0.1", "evil-metadata.google.internal"));
  EXPECT_FALSE(listed({"google.internal"}, "10.0.0.1", "metadata.google.internal")) << "no suffix matching";
}

TEST(AddressRules, ABadEntryIsRefusedByName) {
  for (const std::string bad : {"10.0.0.0/33", "fe80::/129", "10.0.0.0/", "10.0.0.0/x", "", "name/8", "exa mple.com",
                                "10.0.0.0/-1", "1.2.3.4.5/8"}) {
    try {
      AddressRules::parse({bad});
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("\"" + bad + "\""), std::string::npos) << e.what();
    }
  }
}

TEST(UpstreamPolicy, DeniesLinkLocalByDefaultAndAllowsLoopback) {
  const UpstreamPolicy policy;
  EXPECT_NE(policy.refusal("169.254.169.254", ip("169.254.169.254")), "");
  EXPECT_NE(policy.refusal("metadata", ip("169.254.169.254")), "") << "whatever the name";
  EXPECT_NE(policy.refusal("fe80::1", ip("fe80::1")), "");
  EXPECT_EQ(policy.refusal("127.0.0.1", ip("127.0.0.1")), "");
  EXPECT_EQ(policy.refusal("localhost", ip("::1")), "");
  EXPECT_EQ(policy.refusal("api.openai.com", ip("104.18.6.192")), "");
}

TEST(UpstreamPolicy, AnAllowListAdmitsOnlyWhatItListsAndDenyStillWins) {
  const UpstreamPolicy policy({"169.254.0.0/16", "10.9.9.9"}, {"10.0.0.0/8", "api.openai.com"});
  EXPECT_EQ(policy.refusal("model.internal", ip("10.1.1.1")), "");
  EXPECT_EQ(policy.refusal("api.openai.com", ip("104.18.6.192")), "") << "allowed by name";
  EXPECT_NE(policy.refusal("model.internal", ip("10.9.9.9")), "") << "deny wins";
  EXPECT_NE(policy.refusal("127.0.0.1", ip("127.0.0.1")), "") << "not listed";
  EXPECT_NE(policy.refusal("api.openai.com", ip("169.254.169.254")), "") << "a listed name resolving to a denied address";
}

TEST(UpstreamPolicy, PoliciesThatDifferHaveDifferentFingerprints) {
  EXPECT_NE(UpstreamPolicy({"10.0.0.0/8"}, {}).fingerprint(), UpstreamPolicy({}, {"10.0.0.0/8"}).fingerprint());
  EXPECT_EQ(UpstreamPolicy().fingerprint(), UpstreamPolicy(UpstreamPolicy::default_deny(), {}).fingerprint());
}

}  // namespace
}  // namespace switchboard::plugins
