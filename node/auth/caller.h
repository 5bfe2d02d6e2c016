// Who a request acts for, and what a route lets in.
//
// Every request a node serves is authenticated before it is routed (http/server.cpp): a
// member of the federation proves itself by its certificate (TLS) or by signing the request
// with the federation secret (plain transport, loopback only); a user presents an API token
// (Authorization: Bearer, from `fvce login`) or a session cookie. The result is a Caller; a
// route's Access says which callers it serves. See docs/SECURITY.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fvce::auth {

enum class Role { user, admin };
std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view text);

struct Caller {
  // The member that sent the request ("" when it came from a user's client). Set only once
  // the member proved it is one.
  std::string peer;
  // The user the request acts for ("" = none), proven by their token, and their role.
  std::string user;
  Role role = Role::user;
  // The credential the user proved it with, forwarded unchanged when this node asks another
  // on the user's behalf (the other node checks it again).
  std::string token;
  // The token's id (for revocation) once verified.
  std::string token_id;

  bool is_peer() const { return !peer.empty(); }
  bool is_user() const { return !user.empty(); }
  bool is_admin() const { return is_user() && role == Role::admin; }
  // What logs and errors say about the caller.
  std::string describe() const;
};

// Which callers a route serves. Anything else gets 401 (no or bad credentials) or 403.
enum class Access {
  open,            // anyone (login; health)
  peer,            // members of the federation only
  user,            // any signed-in user, or a member
  admin,           // an admin user (a member acting for one: its token says so)
  member_or_admin  // a member, or an admin user
};
std::string_view to_string(Access access);

}  // namespace fvce::auth
