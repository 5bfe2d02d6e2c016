#include "node/auth/authenticator.h"

namespace fvce::auth {

namespace bhttp = boost::beast::http;

namespace {

// The value of cookie name in a Cookie header, or "".
std::string_view cookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto part = header.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=')
      return part.substr(name.size() + 1);
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

}  // namespace

Result<Caller> NodeAuthenticator::authenticate(const bhttp::fields& header, http::Verb method,
                                               std::string_view target, const std::string* body,
                                               const http::Stream& stream,
                                               const std::string& /*remote*/) {
  Caller caller;
  if (!stream.peer_name().empty()) {
    caller.peer = stream.peer_name();
  } else if (PeerSigner::has_signature(header)) {
    if (!signer_)
      return Status(ErrorCode::unauthenticated,
                    "a member signature is not accepted here: members connect with their "
                    "certificate");
    auto member = signer_->verify(header, bhttp::to_string(method), target, body);
    if (!member.ok()) return member.status();
    caller.peer = std::move(*member);
  }

  std::string_view token;
  bool from_cookie = false;
  if (auto it = header.find(bhttp::field::authorization); it != header.end()) {
    std::string_view value = it->value();
    if (!value.starts_with("Bearer "))
      return Status(ErrorCode::unauthenticated, "the Authorization header is not 'Bearer TOKEN'");
    token = value.substr(7);
  } else if (auto c = header.find(bhttp::field::cookie); c != header.end()) {
    token = cookie(c->value(), "fvce_session");
    from_cookie = !token.empty();
  }
  if (!token.empty()) {
    if (!accounts_) return Status(ErrorCode::unauthenticated, "this node has no accounts");
    auto user = accounts_->verify(token);
    if (!user.ok()) return user.status();
    // A browser sends cookies with any request a page makes, whoever's page it is: a
    // request that changes something must prove it comes from our own page.
    if (from_cookie && method != http::Verb::get && method != http::Verb::head) {
      auto csrf = header.find("X-CSRF-Token");
      if (csrf == header.end() || !accounts_->check_csrf(token, csrf->value()))
        return Status::Forbidden("the X-CSRF-Token header is missing or wrong");
    }
    auto peer = std::move(caller.peer);
    caller = std::move(*user);
    caller.peer = std::move(peer);
  }
  return caller;
}

}  // namespace fvce::auth
