#include "node/auth/caller.h"

namespace fvce::auth {

std::string_view to_string(Role role) {
  return role == Role::admin ? "admin" : "user";
}

std::optional<Role> parse_role(std::string_view text) {
  if (text == "user") return Role::user;
  if (text == "admin") return Role::admin;
  return std::nullopt;
}

std::string Caller::describe() const {
  std::string out;
  if (is_user()) out = "user '" + user + "'";
  if (is_peer()) out += (out.empty() ? "member '" : " via member '") + peer + "'";
  return out.empty() ? "an unauthenticated client" : out;
}

std::string_view to_string(Access access) {
  switch (access) {
    case Access::open:
      return "open";
    case Access::peer:
      return "members only";
    case Access::user:
      return "signed-in users";
    case Access::admin:
      return "admins only";
    case Access::member_or_admin:
      return "members and admins";
  }
  return "?";
}

}  // namespace fvce::auth
