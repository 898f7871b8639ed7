// File: host/services/crypto.h
//
// The few cryptographic pieces the trust boundary needs, over OpenSSL: random
// tokens from the OS, SHA-256, a constant-time comparison, and SecretBox,
// which seals provider secrets at rest with AES-256-GCM under a master key.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::crypto {

// `n` bytes from the OS's generator, as URL-safe base64 without padding.
std::string random_token(std::size_t n);
std::string sha256_hex(std::string_view data);
// Equal length and bytes, in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// Seals and opens secrets with AES-256-GCM: a fresh 96-bit nonce per seal, the
// 128-bit tag checked on open. A sealed value reads "sb1:<base64>".
class SecretBox {
 public:
  static constexpr std::string_view kPrefix = "sb1:";

  // The master key from SWITCHBOARD_SECRET_KEY (64 hex digits or base64 of 32
  // bytes) when set, else from `key_file`, which is created (mode 0600, 32
  // random bytes as hex) when missing. `source` says which, for the log.
  // Throws std::runtime_error on a malformed key or an unreadable file.
  static SecretBox load(const std::string& key_file, std::string& source);
  // From the text form (hex or base64 of 32 bytes); throws on anything else.
  static SecretBox from_text(std::string_view text);

  std::string seal(std::string_view plain) const;
  // The plain text, or nothing when the value was sealed under another key
  // or altered.
  std::optional<std::string> open(std::string_view sealed) const;
  static bool is_sealed(std::string_view value) { return value.substr(0, kPrefix.size()) == kPrefix; }

 private:
  explicit SecretBox(std::string key) : key_(std::move(key)) {}
  std::string key_;  // 32 bytes
};

}  // namespace switchboard::crypto
