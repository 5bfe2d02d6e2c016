#include "node/auth/peer_auth.h"

#include <charconv>

#include "node/auth/crypto.h"

namespace fvce::auth {

namespace {
constexpr const char* kMember = "X-Fvce-Member";
constexpr const char* kDate = "X-Fvce-Date";
constexpr const char* kNonce = "X-Fvce-Nonce";
constexpr const char* kSignature = "X-Fvce-Signature";
// A bound on remembered nonces, so that a flood of signed requests cannot grow memory
// without end: past it the oldest are dropped early (their dates still have to be fresh).
constexpr std::size_t kMaxNonces = 1u << 20;

std::string_view field(const boost::beast::http::fields& h, const char* name) {
  auto it = h.find(name);
  return it == h.end() ? std::string_view() : std::string_view(it->value());
}
}  // namespace

PeerSigner::PeerSigner(std::string_view secret, std::string member, const Clock& clock)
    : key_(derive_key(secret, "peers")), member_(std::move(member)), clock_(clock) {}

bool PeerSigner::has_signature(const boost::beast::http::fields& headers) {
  return headers.find(kSignature) != headers.end();
}

std::string PeerSigner::signature(std::string_view method, std::string_view target,
                                  std::string_view member, std::string_view date,
                                  std::string_view nonce, std::string_view digest) const {
  std::string msg;
  msg.reserve(target.size() + 128);
  for (auto part : {method, target, member, date, nonce}) {
    msg += part;
    msg += '\n';
  }
  msg += digest;
  return base64url(hmac_sha256(key_, msg));
}

void PeerSigner::sign(boost::beast::http::fields& headers, std::string_view method,
                      std::string_view target, const std::string* body) const {
  auto date = std::to_string(clock_.unix_ms());
  auto nonce = random_hex(12);
  std::string digest = body ? to_hex(sha256(*body)) : std::string(kStreamedBody);
  headers.set(kMember, member_);
  headers.set(kDate, date);
  headers.set(kNonce, nonce);
  headers.set(kSignature, signature(method, target, member_, date, nonce, digest));
}

Result<std::string> PeerSigner::verify(const boost::beast::http::fields& headers,
                                       std::string_view method, std::string_view target,
                                       const std::string* body) {
  auto bad = [](std::string why) {
    return Status(ErrorCode::unauthenticated, "member signature " + why);
  };
  auto member = field(headers, kMember);
  auto date = field(headers, kDate);
  auto nonce = field(headers, kNonce);
  auto sig = field(headers, kSignature);
  if (member.empty() || date.empty() || nonce.empty() || sig.empty())
    return bad("incomplete (X-Fvce-Member, -Date, -Nonce and -Signature are needed)");
  if (nonce.size() < 16 || nonce.size() > 64 || member.size() > 63) return bad("malformed");
  std::int64_t when = 0;
  auto [p, ec] = std::from_chars(date.data(), date.data() + date.size(), when);
  if (ec != std::errc() || p != date.data() + date.size()) return bad("has a malformed date");
  auto now = clock_.unix_ms();
  if (when < now - window_.count() || when > now + window_.count())
    return bad("is too old or from the future (clocks more than " +
               std::to_string(window_.count() / 1000) + " s apart?)");
  std::string digest = body ? to_hex(sha256(*body)) : std::string(kStreamedBody);
  if (!equal_constant_time(sig, signature(method, target, member, date, nonce, digest)))
    return bad("does not match: not signed with this federation's secret");
  if (!remember_nonce(std::string(nonce), now)) return bad("was seen before (a replay)");
  return std::string(member);
}

bool PeerSigner::remember_nonce(const std::string& nonce, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  while (!seen_order_.empty() && (seen_order_.front().first < now_ms - 2 * window_.count() ||
                                  seen_order_.size() >= kMaxNonces)) {
    seen_.erase(seen_order_.front().second);
    seen_order_.pop_front();
  }
  if (!seen_.insert(nonce).second) return false;
  seen_order_.emplace_back(now_ms, nonce);
  return true;
}

}  // namespace fvce::auth
