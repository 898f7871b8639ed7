// File: tests/unit/services/upstream_url_test.cpp
//
// normalise_base_url and the ca_file rule: what a config may store as the
// address of its upstream, and which CA files it may name.
#include "host/services/upstream_url.h"

#include "storage/records.h"

#include <gtest/gtest.h>

#include <vector>

namespace switchboard {
namespace {

std::string normal(const std::string& url) {
  const auto r = normalise_base_url(url);
  EXPECT_TRUE(r.ok()) << url << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : "";
}

std::string refusal(const std::string& url) {
  const auto r = normalise_base_url(url);
  if (r.ok()) return "accepted as " + r.value();
  EXPECT_EQ(r.error().code, "invalid_base_url") << url;
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument) << url;
  return r.error().message;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(NormaliseBaseUrl, GivesOneFormPerAddress) {
  EXPECT_EQ(normal("https://api.openai.com/v1"), "https://api.openai.com/v1");
  EXPECT_EQ(normal("HTTPS://API.OpenAI.com:443/v1/"), "https://api.openai.com/v1");
  EXPECT_EQ(normal("http://127.0.0.1:11434"), "http://127.0.0.1:11434");
  EXPECT_EQ(normal("http://localhost:80/"), "http://localhost");
  EXPECT_EQ(normal("https://example.com:80/v1"), "https://example.com:80/v1") << "not https's default port";
  EXPECT_EQ(normal("http://[::1]:8000/v1"), "http://[::1]:8000/v1");
  EXPECT_EQ(normal("http://[0:0:0:0:0:0:0:1]/v1"), "http://[::1]/v1");
  EXPECT_EQ(normal("https://openrouter.ai/api/v1///"), "https://openrouter.ai/api/v1");
  EXPECT_EQ(normal("https://h.example/a%20b/~x"), "https://h.example/a%20b/~x") << "a valid escape stays";
  EXPECT_EQ(normal(""), "") << "empty: the plugin's default";
}

TEST(NormaliseBaseUrl, RefusesOtherSchemesAndRelativeUrls) {
  EXPECT_TRUE(has(refusal("ftp://example.com/v1"), "http:// or https://"));
  EXPECT_TRUE(has(refusal("file:///etc/hosts"), "http:// or https://"));
  EXPECT_TRUE(has(refusal("gopher://127.0.0.1:6379/_FLUSHALL"), "http:// or https://"));
  EXPECT_TRUE(has(refusal("example.com/v1"), "http:// or https://"));
  EXPECT_TRUE(has(refusal("//example.com/v1"), "http:// or https://"));
  EXPECT_TRUE(has(refusal("http:///v1"), "no host"));
}

TEST(NormaliseBaseUrl, RefusesUserInfo) {
  EXPECT_TRUE(has(refusal("http://user:pass@example.com/v1"), "user-info"));
  EXPECT_TRUE(has(refusal("http://example.com@169.254.169.254/"), "user-info"));
}

TEST(NormaliseBaseUrl, RefusesLineBreaksWhitespaceAndControlCharacters) {
  for (const std::string& url : std::vector<std::string>{"http://example.com/v1\r\nX-Injected: 1", "http://example.com/v1\n",
                                "http://exa mple.com/", " http://example.com", "http://example.com/\t",
                                std::string("http://example.com/\0x", 21), "http://ex\x7f" "ample.com/"})
    EXPECT_TRUE(has(refusal(url), "whitespace, control")) << url;
  EXPECT_TRUE(has(refusal("http://bücher.example/"), "non-ASCII"));
  EXPECT_TRUE(has(refusal("http://example.com/v1%0d%0aX: y"), "whitespace")) << "raw space first";
  EXPECT_TRUE(has(refusal("http://example.com/v1%0d%0aX:y"), "escaped control character"));
}

TEST(NormaliseBaseUrl, RefusesPortsOutsideOneTo65535) {
  EXPECT_TRUE(has(refusal("http://example.com:99999/v1"), "invalid port"));
  EXPECT_TRUE(has(refusal("http://example.com:65536/"), "invalid port"));
  EXPECT_TRUE(has(refusal("http://example.com:0/"), "invalid port"));
  EXPECT_TRUE(has(refusal("http://example.com:-1/"), "invalid port"));
  EXPECT_TRUE(has(refusal("http://example.com:8o/"), "invalid port"));
  EXPECT_TRUE(has(refusal("http://example.com:/"), "empty port"));
  EXPECT_EQ(normal("http://example.com:65535/"), "http://example.com:65535");
  EXPECT_EQ(normal("http://example.com:1"), "http://example.com:1");
}

TEST(NormaliseBaseUrl, RefusesFragmentsQueriesAndBackslashes) {
  EXPECT_TRUE(has(refusal("http://example.com/v1#frag"), "fragment"));
  EXPECT_TRUE(has(refusal("http://example.com/v1?key=x"), "query"));
  EXPECT_TRUE(has(refusal("http://example.com\\@evil.example/"), "backslash"));
}

TEST(NormaliseBaseUrl, RefusesHostsThatAreNotNamesOrAddresses) {
  EXPECT_TRUE(has(refusal("http://127.1/"), "dotted-quad"));
  EXPECT_TRUE(has(refusal("http://2130706433/"), "dotted-quad"));
  EXPECT_TRUE(has(refusal("http://0x7f.0.0.1/"), "dotted-quad"));
  EXPECT_TRUE(has(refusal("http://::1/"), "[brackets]"));
  EXPECT_TRUE(has(refusal("http://[::1/"), "unclosed"));
  EXPECT_TRUE(has(refusal("http://[fe80::1%25eth0]/"), "IPv6 literal"));
  EXPECT_TRUE(has(refusal("http://[::1]x/"), "after its IPv6"));
  EXPECT_TRUE(has(refusal("http://exa$mple.com/"), "invalid character"));
  EXPECT_TRUE(has(refusal("http://example.com/v1/<script>"), "invalid character in its path"));
  EXPECT_TRUE(has(refusal("http://example.com/%zz"), "malformed"));
  EXPECT_TRUE(has(refusal("http://" + std::string(2000, 'a') + ".com/"), "too long"));
}

TEST(CaFile, OnlyFilesInsideTheOperatorsDirectory) {
  EXPECT_TRUE(check_ca_file("", "").ok());
  EXPECT_TRUE(check_ca_file("", "/srv/ca").ok());
  EXPECT_TRUE(check_ca_file("corp.pem", "/srv/ca").ok());
  EXPECT_TRUE(check_ca_file("team/corp.pem", "/srv/ca/").ok());
  EXPECT_TRUE(check_ca_file("/srv/ca/corp.pem", "/srv/ca").ok());
  for (const std::string& outside : std::vector<std::string>{"/etc/passwd", "../passwd", "/srv/ca/../passwd", "/srv/cab/x.pem", "/srv/ca",
                                    ".", "team/../../x", "/srv/ca/x\n.pem"}) {
    const auto r = check_ca_file(outside, "/srv/ca");
    ASSERT_FALSE(r.ok()) << outside;
    EXPECT_EQ(r.error().code, "invalid_options");
    EXPECT_TRUE(has(r.error().message, "inside the operator's CA directory")) << outside;
  }
}

TEST(CaFile, IsRefusedWithoutADirectoryWhateverThePath) {
  const auto a = check_ca_file("/etc/passwd", "");
  const auto b = check_ca_file("/no/such/file.pem", "");
  ASSERT_FALSE(a.ok());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(a.error().message, b.error().message) << "the answer does not depend on the file";
  EXPECT_TRUE(has(a.error().message, "--ca-dir"));
}

TEST(UpstreamFields, NormaliseBaseUrlAndRefuseItInOptions) {
  storage::LlmConfig c;
  c.base_url = "HTTP://Example.COM:80/v1/";
  ASSERT_TRUE(check_upstream_fields(c, "").ok());
  EXPECT_EQ(c.base_url, "http://example.com/v1");

  c.options_json = R"({"base_url": "http://169.254.169.254/"})";
  const auto r = check_upstream_fields(c, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_options");

  c.options_json = R"({"ca_file": "/etc/passwd"})";
  EXPECT_FALSE(check_upstream_fields(c, "").ok());
  EXPECT_FALSE(check_upstream_fields(c, "/srv/ca").ok());
  c.options_json = R"({"ca_file": "corp.pem"})";
  EXPECT_TRUE(check_upstream_fields(c, "/srv/ca").ok());
}

}  // namespace
}  // namespace switchboard
