// File: host/services/auth_service.cpp
//
// Users, API keys, the first-start admin and the audit trail.
#include "host/services/auth_service.h"

#include "host/services/crypto.h"
#include "host/services/labels.h"
#include "storage/database.h"
#include "storage/repositories.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace switchboard {

namespace {

using Clock = std::chrono::steady_clock;

// How long a key check is served from memory. A revocation through this host
// takes effect at once (the cache is dropped); through another host sharing
// the database, within this time.
constexpr auto kCacheTtl = std::chrono::seconds(2);
constexpr std::int64_t kTouchEveryMs = 60'000;
constexpr std::size_t kPrefixChars = 12;
constexpr std::size_t kMinKeyChars = 32;   // a provisioned key must carry at least ~128 bits
constexpr std::size_t kMaxKeyChars = 256;
constexpr std::size_t kMaxNameChars = 64;
constexpr std::int64_t kMaxAuditPage = 500;

Error unauthenticated(std::string message) {
  return {ErrorKind::Unauthenticated, "unauthenticated", std::move(message), ""};
}

template <typename T, typename F>
Result<T> guarded(F&& body) {
  try {
    return body();
  } catch (const storage::Conflict& e) {
    return Error{ErrorKind::Conflict, "conflict", e.what(), ""};
  } catch (const std::exception& e) {
    return Error{ErrorKind::Internal, "storage_error", std::string("storage failure: ") + e.what(), ""};
  }
}

Result<Unit> validate_user_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameChars)
    return invalid("name", "name must be 1.." + std::to_string(kMaxNameChars) + " characters");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.' || c == '@';
    if (!ok) return invalid("name", "name may hold only letters, digits and _-.@");
  }
  return Unit{};
}

std::string describe_user(const storage::User& u) { return "user " + std::to_string(u.id) + " (" + u.name + ")"; }

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

AuthService::AuthService(storage::Database& db) : db_(db) {}

void AuthService::record(storage::Conn& conn, const Caller& actor, std::string action, std::string target,
                         std::string detail) {
  storage::AuditEntry e;
  if (actor.user_id != 0) e.actor_user_id = actor.user_id;
  e.actor_name = actor.name.empty() ? "host" : actor.name;
  e.action = std::move(action);
  e.target = std::move(target);
  e.detail = std::move(detail);
  storage::audit::record(conn, e);
}

NewKey AuthService::make_key(std::int64_t user_id, const std::string& name, std::optional<std::int64_t> expires_at_ms,
                             std::string secret) {
  NewKey k;
  k.record.user_id = user_id;
  k.record.name = name;
  k.record.prefix = secret.substr(0, kPrefixChars);
  k.record.hash = crypto::sha256_hex(secret);
  k.record.expires_at_ms = expires_at_ms;
  k.secret = std::move(secret);
  return k;
}

Result<FirstStart> AuthService::ensure_admin(const std::string& key_file) {
  FirstStart out;
  out.key_file = key_file;
  std::string provisioned;
  {
    std::ifstream in(key_file);
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      provisioned = trim(text.str());
    }
  }
  return guarded<FirstStart>([&]() -> Result<FirstStart> {
    return db_.write([&](storage::Conn& conn) -> Result<FirstStart> {
      if (storage::users::count(conn) > 0) return out;
      std::string secret = provisioned;
      if (!secret.empty()) {
        if (secret.size() < kMinKeyChars || secret.size() > kMaxKeyChars ||
            secret.find_first_of(" \t\r\n") != std::string::npos)
          return invalid("admin_key_file", "the admin key in " + key_file + " must be " +
                                               std::to_string(kMinKeyChars) + ".." + std::to_string(kMaxKeyChars) +
                                               " characters without spaces");
        out.key_from_file = true;
      } else {
        secret = "sbk_" + crypto::random_token(32);
      }
      storage::User admin{0, "admin", "admin", 0};
      admin.id = storage::users::insert(conn, admin);
      NewKey key = make_key(admin.id, "first-start admin key", std::nullopt, secret);
      key.record.id = storage::api_keys::insert(conn, key.record);
      storage::users::adopt_ownerless(conn, admin.id);
      record(conn, Caller{}, "user.create", describe_user(admin), "role admin, first start");
      if (!out.key_from_file) {
        // Readable by the host's user only; O_EXCL never overwrites a file.
        const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) throw std::runtime_error("cannot create the admin key file " + key_file);
        const std::string text = secret + "\n";
        const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        ::close(fd);
        if (!written) throw std::runtime_error("cannot write the admin key file " + key_file);
      }
      out.created_admin = true;
      out.admin_key = secret;
      return out;
    });
  });
}

Result<Caller> AuthService::authenticate(std::string_view bearer) {
  if (bearer.empty()) return unauthenticated("an API key is required: send Authorization: Bearer <key>");
  if (bearer.size() < kPrefixChars || bearer.size() > kMaxKeyChars) return unauthenticated("the API key is not valid");
  const std::string hash = crypto::sha256_hex(bearer);
  const std::int64_t now = storage::now_ms();
  std::optional<std::int64_t> touch_key;
  {
    std::lock_guard guard(cache_mutex_);
    const auto it = by_hash_.find(hash);
    if (it != by_hash_.end() && Clock::now() - it->second.fetched < kCacheTtl) {
      if (it->second.expires_at_ms && *it->second.expires_at_ms <= now)
        return unauthenticated("the API key has expired");
      if (now - it->second.touched_at_ms >= kTouchEveryMs) {
        it->second.touched_at_ms = now;
        touch_key = it->second.caller.key_id;
      }
      if (!touch_key) return it->second.caller;
    }
  }
  if (touch_key) {
    // Best effort: a failed last-used write must not refuse the request.
    try {
      db_.write([&](storage::Conn& conn) { storage::api_keys::touch(conn, *touch_key, now); });
    } catch (const std::exception&) {
    }
    std::lock_guard guard(cache_mutex_);
    if (auto it = by_hash_.find(hash); it != by_hash_.end()) return it->second.caller;
  }

  struct Found {
    std::optional<storage::ApiKey> key;
    std::optional<storage::User> user;
  };
  Found found;
  try {
    found = db_.read([&](storage::Conn& conn) {
      Found f;
      for (auto& k : storage::api_keys::find_by_prefix(conn, std::string(bearer.substr(0, kPrefixChars))))
        if (crypto::constant_time_equal(k.hash, hash)) f.key = std::move(k);
      if (f.key) f.user = storage::users::find(conn, f.key->user_id);
      return f;
    });
  } catch (const std::exception& e) {
    return Error{ErrorKind::Internal, "storage_error", std::string("storage failure: ") + e.what(), ""};
  }
  if (!found.key || !found.user) return unauthenticated("the API key is not valid");
  if (found.key->revoked_at_ms) return unauthenticated("the API key has been revoked");
  if (found.key->expires_at_ms && *found.key->expires_at_ms <= now) return unauthenticated("the API key has expired");

  Cached entry;
  entry.caller.user_id = found.user->id;
  entry.caller.name = found.user->name;
  entry.caller.role = found.user->role == "admin" ? Role::Admin : Role::User;
  entry.caller.key_id = found.key->id;
  entry.expires_at_ms = found.key->expires_at_ms;
  entry.fetched = Clock::now();
  entry.touched_at_ms = found.key->last_used_at_ms.value_or(0);
  if (now - entry.touched_at_ms >= kTouchEveryMs) {
    entry.touched_at_ms = now;
    try {
      db_.write([&](storage::Conn& conn) { storage::api_keys::touch(conn, found.key->id, now); });
    } catch (const std::exception&) {
    }
  }
  std::lock_guard guard(cache_mutex_);
  if (by_hash_.size() > 10'000) by_hash_.clear();
  by_hash_[hash] = entry;
  return entry.caller;
}

void AuthService::forget_cached() {
  std::lock_guard guard(cache_mutex_);
  by_hash_.clear();
}

Result<storage::User> AuthService::create_user(const Caller& actor, const std::string& name, const std::string& role) {
  if (!actor.admin()) return permission_denied("only admins manage users");
  if (auto ok = validate_user_name(name); !ok) return ok.error();
  if (role != "admin" && role != "user") return invalid("role", "role must be \"admin\" or \"user\"");
  return guarded<storage::User>([&]() -> Result<storage::User> {
    return db_.write([&](storage::Conn& conn) -> Result<storage::User> {
      if (storage::users::find_by_name(conn, name))
        return Error{ErrorKind::Conflict, "user_name_taken", "a user named \"" + name + "\" already exists", "name"};
      storage::User u{0, name, role, 0};
      u.id = storage::users::insert(conn, u);
      record(conn, actor, "user.create", describe_user(u), "role " + role);
      return *storage::users::find(conn, u.id);
    });
  });
}

Result<std::vector<storage::User>> AuthService::list_users(const Caller& actor) {
  if (!actor.admin()) return permission_denied("only admins manage users");
  return guarded<std::vector<storage::User>>(
      [&] { return db_.read([](storage::Conn& conn) { return storage::users::list(conn); }); });
}

Result<Unit> AuthService::remove_user(const Caller& actor, std::int64_t id) {
  if (!actor.admin()) return permission_denied("only admins manage users");
  if (id == actor.user_id)
    return Error{ErrorKind::Conflict, "cannot_delete_self",
                 "you cannot delete yourself; another admin can", ""};
  auto r = guarded<Unit>([&]() -> Result<Unit> {
    return db_.write([&](storage::Conn& conn) -> Result<Unit> {
      const auto u = storage::users::find(conn, id);
      if (!u) return Error{ErrorKind::NotFound, "user_not_found", "no user with id " + std::to_string(id), ""};
      storage::users::remove(conn, id);
      record(conn, actor, "user.delete", describe_user(*u));
      return Unit{};
    });
  });
  forget_cached();
  return r;
}

Result<NewKey> AuthService::create_key(const Caller& actor, std::optional<std::int64_t> user_id,
                                       const std::string& name, std::optional<std::int64_t> expires_at_ms) {
  if (user_id && *user_id != actor.user_id && !actor.admin())
    return permission_denied("only admins make keys for other users; leave user_id out for a key of your own");
  if (name.size() > 100) return invalid("name", "name must be at most 100 characters");
  if (auto ok = check_label("name", name); !ok) return ok.error();
  if (expires_at_ms && *expires_at_ms <= storage::now_ms())
    return invalid("expires_at_ms", "expires_at_ms must be in the future (epoch milliseconds)");
  const std::int64_t owner = user_id.value_or(actor.user_id);
  return guarded<NewKey>([&]() -> Result<NewKey> {
    return db_.write([&](storage::Conn& conn) -> Result<NewKey> {
      const auto u = storage::users::find(conn, owner);
      if (!u) return Error{ErrorKind::NotFound, "user_not_found", "no user with id " + std::to_string(owner), "user_id"};
      NewKey key = make_key(owner, name, expires_at_ms, "sbk_" + crypto::random_token(32));
      key.record.id = storage::api_keys::insert(conn, key.record);
      key.record = *storage::api_keys::find(conn, key.record.id);
      record(conn, actor, "key.create", "key " + std::to_string(key.record.id) + " (" + key.record.prefix + "…) of " +
                                            describe_user(*u));
      return key;
    });
  });
}

Result<std::vector<storage::ApiKey>> AuthService::list_keys(const Caller& actor) {
  return guarded<std::vector<storage::ApiKey>>([&] {
    return db_.read([&](storage::Conn& conn) {
      return storage::api_keys::list(conn, actor.admin() ? std::nullopt : std::optional(actor.user_id));
    });
  });
}

Result<Unit> AuthService::revoke_key(const Caller& actor, std::int64_t id) {
  auto r = guarded<Unit>([&]() -> Result<Unit> {
    return db_.write([&](storage::Conn& conn) -> Result<Unit> {
      const auto k = storage::api_keys::find(conn, id);
      // Another user's key does not exist for a non-admin.
      if (!k || (!actor.admin() && k->user_id != actor.user_id))
        return Error{ErrorKind::NotFound, "key_not_found", "no API key with id " + std::to_string(id), ""};
      storage::api_keys::revoke(conn, id, storage::now_ms());
      record(conn, actor, "key.revoke", "key " + std::to_string(id) + " (" + k->prefix + "…)");
      return Unit{};
    });
  });
  forget_cached();
  return r;
}

Result<AuditPage> AuthService::audit(std::int64_t limit, std::int64_t offset) {
  if (limit < 1 || limit > kMaxAuditPage)
    return invalid("limit", "limit must be between 1 and " + std::to_string(kMaxAuditPage));
  if (offset < 0) return invalid("offset", "offset must not be negative");
  return guarded<AuditPage>([&] {
    return db_.read([&](storage::Conn& conn) {
      return AuditPage{storage::audit::list(conn, limit, offset), storage::audit::count(conn)};
    });
  });
}

}  // namespace switchboard
