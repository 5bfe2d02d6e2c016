// The node's Authenticator: members by certificate (TLS) or by signature (plain transport),
// users by API token (Authorization: Bearer) or session cookie (browsers; a state-changing
// request must then carry the CSRF token in X-CSRF-Token).
#pragma once

#include "node/auth/accounts.h"
#include "node/auth/peer_auth.h"
#include "node/http/authenticator.h"

namespace fvce::auth {

class NodeAuthenticator final : public http::Authenticator {
 public:
  // accounts: the federation's users (null: no user can sign in). signer: checks member
  // signatures (null over TLS, where a member is its certificate).
  NodeAuthenticator(const Accounts* accounts, PeerSigner* signer)
      : accounts_(accounts), signer_(signer) {}

  Result<Caller> authenticate(const boost::beast::http::fields& header, http::Verb method,
                              std::string_view target, const std::string* body,
                              const http::Stream& stream, const std::string& remote) override;

 private:
  const Accounts* accounts_;
  PeerSigner* signer_;
};

}  // namespace fvce::auth
