// For tests that run a Server with the real resources: every request counts as coming from
// a member of the federation (authentication itself is tested in tests/unit/auth/).
#pragma once

#include "node/http/authenticator.h"

namespace fvce::test {

class MemberAuthenticator final : public http::Authenticator {
 public:
  Result<auth::Caller> authenticate(const http::bhttp::fields&, http::Verb, std::string_view,
                                    const std::string*, const http::Stream&,
                                    const std::string&) override {
    auth::Caller c;
    c.peer = "test-member";
    return c;
  }
};

inline MemberAuthenticator& member_authenticator() {
  static MemberAuthenticator a;
  return a;
}

}  // namespace fvce::test
