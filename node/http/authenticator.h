// What the server asks before it routes a request: who sent it (auth/caller.h).
//
// The node's implementation (auth/authenticator.h) knows the federation's members and
// users; the server only applies the answer to the route's Access. A server without an
// authenticator serves open routes only.
#pragma once

#include <string>
#include <string_view>

#include "node/auth/caller.h"
#include "node/core/status.h"
#include "node/http/message.h"

namespace fvce::http {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The caller the request proves; body is the body read into memory, or null for a
  // streamed route (only the header has been read). Errors: unauthenticated (bad or
  // expired credentials: 401), forbidden (e.g. a browser request without its CSRF token).
  virtual Result<auth::Caller> authenticate(const bhttp::fields& header, Verb method,
                                            std::string_view target, const std::string* body,
                                            const Stream& stream, const std::string& remote) = 0;
};

// Whether caller may use a route of the given access; an error Status (401 or 403) naming
// what the route needs when not.
Status admit(auth::Access access, const auth::Caller& caller, std::string_view route);

}  // namespace fvce::http
