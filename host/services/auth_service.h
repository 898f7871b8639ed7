// File: host/services/auth_service.h
//
// Identity: users with a role, their API keys (random, shown once, stored as
// a SHA-256, compared in constant time, revocable, optionally expiring), the
// first-start admin, and the audit trail of who changed what.
#pragma once

#include "host/services/caller.h"
#include "host/services/result.h"
#include "storage/records.h"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard {

namespace storage {
class Database;
class Conn;
}

// A key just made: `secret` is the only time the key is ever seen.
struct NewKey {
  storage::ApiKey record;
  std::string secret;
};

struct FirstStart {
  bool created_admin = false;
  bool key_from_file = false;  // the key file existed and its content became the key
  std::string key_file;
  std::string admin_key;       // set only when this start created the admin
};

struct AuditPage {
  std::vector<storage::AuditEntry> entries;
  std::int64_t total = 0;
};

class AuthService {
 public:
  explicit AuthService(storage::Database& db);

  // With no user at all: creates the admin "admin" and its key — the content
  // of `key_file` when that file exists, else a new key written there (mode
  // 0600). Sessions from before identities become the admin's.
  Result<FirstStart> ensure_admin(const std::string& key_file);

  // The caller behind a bearer key, or Unauthenticated. Cached for a moment
  // by the key's hash; a revocation or deletion here drops the cache at once.
  Result<Caller> authenticate(std::string_view bearer);

  Result<storage::User> create_user(const Caller& actor, const std::string& name, const std::string& role);
  Result<std::vector<storage::User>> list_users(const Caller& actor);
  // The user's keys stop working at once; their sessions and private configs go with them.
  Result<Unit> remove_user(const Caller& actor, std::int64_t id);

  // For `user_id` (admins only) or the actor themself.
  Result<NewKey> create_key(const Caller& actor, std::optional<std::int64_t> user_id, const std::string& name,
                            std::optional<std::int64_t> expires_at_ms);
  // Admins see every key, users their own; never a secret.
  Result<std::vector<storage::ApiKey>> list_keys(const Caller& actor);
  Result<Unit> revoke_key(const Caller& actor, std::int64_t id);

  Result<AuditPage> audit(std::int64_t limit, std::int64_t offset);

  // Writes an audit entry inside the caller's write transaction.
  static void record(storage::Conn& conn, const Caller& actor, std::string action, std::string target,
                     std::string detail = "");

  // Drops every cached key check: users or keys changed through another host
  // (host/services/host_presence.h). Changes through this one drop it themselves.
  void forget_cached();

 private:
  struct Cached {
    Caller caller;
    std::optional<std::int64_t> expires_at_ms;
    std::chrono::steady_clock::time_point fetched;
    std::int64_t touched_at_ms = 0;  // last_used_at written at most once a minute
  };
  static NewKey make_key(std::int64_t user_id, const std::string& name, std::optional<std::int64_t> expires_at_ms,
                         std::string secret);

  storage::Database& db_;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, Cached> by_hash_;
};

}  // namespace switchboard
