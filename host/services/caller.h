// File: host/services/caller.h
//
// Who is asking: the user behind the API key of a request, as the services
// see it. Every service call that touches a user's data takes one.
#pragma once

#include <cstdint>
#include <string>

namespace switchboard {

enum class Role { Admin, User };

struct Caller {
  std::int64_t user_id = 0;
  std::string name;
  Role role = Role::User;
  std::int64_t key_id = 0;  // the key this request came with

  bool admin() const { return role == Role::Admin; }
  // Sessions and preferences are owned by this text: the user's id.
  std::string owner() const { return std::to_string(user_id); }
};

inline const char* role_name(Role role) { return role == Role::Admin ? "admin" : "user"; }

}  // namespace switchboard
