#include "node/http/authenticator.h"

namespace fvce::http {

Status admit(auth::Access access, const auth::Caller& caller, std::string_view route) {
  using auth::Access;
  bool ok = false;
  switch (access) {
    case Access::open:
      ok = true;
      break;
    case Access::peer:
      ok = caller.is_peer();
      break;
    case Access::user:
      ok = caller.is_peer() || caller.is_user();
      break;
    case Access::admin:
      ok = caller.is_admin();
      break;
    case Access::member_or_admin:
      ok = caller.is_peer() || caller.is_admin();
      break;
  }
  if (ok) return Status::Ok();
  std::string what = std::string(route) + " is for " + std::string(auth::to_string(access));
  if (!caller.is_peer() && !caller.is_user())
    return Status(ErrorCode::unauthenticated,
                  what + ": no credentials were presented (log in with `fvce login`)");
  return Status::Forbidden(what + ", not for " + caller.describe());
}

}  // namespace fvce::http
