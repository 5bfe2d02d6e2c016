// Members proving membership over the plain transport: each request is signed with a key
// derived from the federation secret.
//
// Headers: X-Fvce-Member (the sender's name), X-Fvce-Date (Unix ms), X-Fvce-Nonce (random)
// and X-Fvce-Signature, the base64url HMAC-SHA-256 of
//   METHOD \n TARGET \n MEMBER \n DATE \n NONCE \n SHA-256(BODY) in hex
// (or "streamed" in place of the digest for a body streamed after the header: a file, which
// is checked against its content address on arrival). A request is accepted once: its date
// must lie within the window of the receiver's clock and its nonce must not have been seen
// within the window (replay). Over TLS a member is its certificate instead, and requests are
// not signed. See docs/SECURITY.md.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "node/core/clock.h"
#include "node/core/status.h"

namespace fvce::auth {

inline constexpr std::string_view kStreamedBody = "streamed";

class PeerSigner {
 public:
  PeerSigner(std::string_view secret, std::string member, const Clock& clock);

  // Adds the signature headers to a request about to be sent. body: the whole body, or
  // nullopt for one streamed after the header.
  void sign(boost::beast::http::fields& headers, std::string_view method, std::string_view target,
            const std::string* body) const;

  // The member a signed request comes from. Errors: unauthenticated naming what is wrong
  // (no signature: the caller decides whether one was needed — check has_signature first).
  Result<std::string> verify(const boost::beast::http::fields& headers, std::string_view method,
                             std::string_view target, const std::string* body);

  static bool has_signature(const boost::beast::http::fields& headers);

  std::chrono::milliseconds window() const { return window_; }

 private:
  std::string signature(std::string_view method, std::string_view target, std::string_view member,
                        std::string_view date, std::string_view nonce,
                        std::string_view digest) const;
  bool remember_nonce(const std::string& nonce, std::int64_t now_ms);

  std::string key_;
  std::string member_;
  const Clock& clock_;
  std::chrono::milliseconds window_{30'000};
  std::mutex mu_;
  std::unordered_set<std::string> seen_;
  std::deque<std::pair<std::int64_t, std::string>> seen_order_;
};

}  // namespace fvce::auth
