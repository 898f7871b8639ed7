// File: host/http/trust_routes.cpp
//
// Who may do what, over HTTP: the caller's own identity (/api/me), users and
// API keys (a key's secret appears once, in the answer that creates it), and
// the audit trail of admin actions.
#include "host/http/api_json.h"
#include "host/http/api_routes.h"
#include "host/http/router.h"
#include "host/services/auth_service.h"
#include "storage/database.h"

namespace switchboard::http {

namespace {

Json to_json(const storage::User& u) {
  return {{"id", u.id}, {"name", u.name}, {"role", u.role}, {"created_at_ms", u.created_at_ms}};
}

Json opt_ms(const std::optional<std::int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

// Never the key itself: its prefix identifies it.
Json to_json(const storage::ApiKey& k) {
  return {{"id", k.id},
          {"user_id", k.user_id},
          {"name", k.name},
          {"prefix", k.prefix},
          {"created_at_ms", k.created_at_ms},
          {"expires_at_ms", opt_ms(k.expires_at_ms)},
          {"last_used_at_ms", opt_ms(k.last_used_at_ms)},
          {"revoked_at_ms", opt_ms(k.revoked_at_ms)},
          {"active", !k.revoked_at_ms && (!k.expires_at_ms || *k.expires_at_ms > storage::now_ms())}};
}

Json to_json(const storage::AuditEntry& e) {
  return {{"id", e.id},
          {"at_ms", e.at_ms},
          {"actor_user_id", opt_ms(e.actor_user_id)},
          {"actor", e.actor_name},
          {"action", e.action},
          {"target", e.target},
          {"detail", e.detail}};
}

}  // namespace

void register_trust_routes(Router& router, ApiContext& ctx) {
  const auto limit = ctx.max_body_bytes;

  router.add("GET", "/api/me", Access::User, [](Exchange& ex) {
    const Caller& c = caller_of(ex);
    send_json(ex, 200, dump({{"id", c.user_id}, {"name", c.name}, {"role", role_name(c.role)}, {"key_id", c.key_id}}));
  });

  // --- users (admins) -----------------------------------------------------------
  router.add("GET", "/api/users", Access::Admin, [&ctx](Exchange& ex) {
    reply(ex, ctx.auth.list_users(caller_of(ex)), 200, [](const std::vector<storage::User>& list) {
      Json arr = Json::array();
      for (const auto& u : list) arr.push_back(to_json(u));
      return Json{{"users", arr}};
    });
  });
  router.add("POST", "/api/users", Access::Admin, [&ctx, limit](Exchange& ex) {
    const Json body = parse_object(read_body(ex, limit, true), {"name", "role"});
    const auto name = opt_string(body, "name");
    if (!name) throw HttpError{400, "invalid_name", "name is required"};
    reply(ex, ctx.auth.create_user(caller_of(ex), *name, opt_string(body, "role").value_or("user")), 201,
          [](const storage::User& u) { return to_json(u); });
  });
  router.add("DELETE", "/api/users/{id}", Access::Admin, [&ctx](Exchange& ex) {
    const auto r = ctx.auth.remove_user(caller_of(ex), path_id(ex.params[0], "user_id"));
    if (!r) return send_service_error(ex, r.error());
    send_json(ex, 200, R"({"deleted":true})");
  });

  // --- keys (a user's own; admins all) -------------------------------------------
  router.add("GET", "/api/keys", Access::User, [&ctx](Exchange& ex) {
    reply(ex, ctx.auth.list_keys(caller_of(ex)), 200, [](const std::vector<storage::ApiKey>& list) {
      Json arr = Json::array();
      for (const auto& k : list) arr.push_back(to_json(k));
      return Json{{"keys", arr}};
    });
  });
  router.add("POST", "/api/keys", Access::User, [&ctx, limit](Exchange& ex) {
    const std::string raw = read_body(ex, limit, true);
    const Json body = parse_object(raw.empty() ? "{}" : raw, {"user_id", "name", "expires_at_ms"});
    const auto user_id = opt_id(body, "user_id");
    reply(ex,
          ctx.auth.create_key(caller_of(ex), user_id, opt_string(body, "name").value_or(""),
                              opt_int(body, "expires_at_ms")),
          201, [](const NewKey& k) {
            Json j = to_json(k.record);
            j["key"] = k.secret;  // the only time it is ever shown
            return j;
          });
  });
  router.add("DELETE", "/api/keys/{id}", Access::User, [&ctx](Exchange& ex) {
    const auto r = ctx.auth.revoke_key(caller_of(ex), path_id(ex.params[0], "key_id"));
    if (!r) return send_service_error(ex, r.error());
    send_json(ex, 200, R"({"revoked":true})");
  });

  // --- audit (admins) --------------------------------------------------------------
  router.add("GET", "/api/audit", Access::Admin, [&ctx](Exchange& ex) {
    const std::int64_t lim = query_int(ex.query, "limit", 100);
    const std::int64_t off = query_int(ex.query, "offset", 0);
    reply(ex, ctx.auth.audit(lim, off), 200, [](const AuditPage& page) {
      Json arr = Json::array();
      for (const auto& e : page.entries) arr.push_back(to_json(e));
      return Json{{"entries", arr}, {"total", page.total}};
    });
  });
}

}  // namespace switchboard::http
