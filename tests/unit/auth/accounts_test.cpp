// Accounts, tokens, their replication, member signatures and route access.
#include "node/auth/accounts.h"

#include <doctest/doctest.h>

#include <boost/beast/http/fields.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "node/auth/crypto.h"
#include "node/auth/peer_auth.h"
#include "node/http/authenticator.h"

namespace fvce::auth {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Dir {
  fs::path path =
      fs::temp_directory_path() / ("fvce-auth-test-" + std::to_string(std::random_device{}()));
  Dir() { fs::create_directories(path); }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const std::string kSecret(32, 'k');

std::unique_ptr<Accounts> open(const fs::path& db, const Clock& clock, std::string origin = "n1",
                               const std::string& secret = kSecret) {
  auto a = Accounts::open(db, secret, std::move(origin), clock);
  REQUIRE_MESSAGE(a.ok(), a.status().message());
  return std::move(*a);
}

// The token with one character of its signature changed.
std::string tampered(std::string token) {
  auto& c = token[token.size() - 3];
  c = c == 'A' ? 'B' : 'A';
  return token;
}

TEST_CASE("accounts: a user signs in, and the token proves who they are and their role") {
  Dir dir;
  ManualClock clock;
  auto a = open(dir.path / "users.db", clock);
  REQUIRE(a->add("alice", "alice-password", Role::admin).ok());
  REQUIRE(a->add("bob", "bob-password", Role::user).ok());
  CHECK(a->add("bob", "another-password", Role::user).code() == ErrorCode::conflict);
  CHECK(a->add("no good", "whatever-password", Role::user).code() == ErrorCode::invalid_argument);
  CHECK(a->add("carol", "short", Role::user).code() == ErrorCode::invalid_argument);

  auto t = a->login("alice", "alice-password", 3600s);
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  auto who = a->verify(t->text);
  REQUIRE_MESSAGE(who.ok(), who.status().message());
  CHECK(who->user == "alice");
  CHECK(who->is_admin());
  CHECK(a->verify(a->login("bob", "bob-password", 3600s)->text)->role == Role::user);

  // A wrong password and an unknown user get the same answer.
  auto wrong = a->login("alice", "not-her-password", 3600s);
  auto nobody = a->login("mallory", "alice-password", 3600s);
  CHECK(wrong.status().code() == ErrorCode::unauthenticated);
  CHECK(nobody.status().message() == wrong.status().message());

  // The hash is Argon2id; no password is kept.
  auto snapshot = a->snapshot();
  for (const auto& acc : snapshot.accounts) {
    CHECK(acc.hash.rfind("$argon2id$", 0) == 0);
    CHECK(acc.hash.find("password") == std::string::npos);
  }
}

TEST_CASE("accounts: forged, expired, revoked and signed-out tokens are refused") {
  Dir dir;
  ManualClock clock;
  auto a = open(dir.path / "users.db", clock);
  REQUIRE(a->add("alice", "alice-password", Role::user).ok());
  auto t = *a->login("alice", "alice-password", 60s);

  CHECK(a->verify(tampered(t.text)).status().message().find("not signed") != std::string::npos);
  CHECK(a->verify("fvce1.garbage").status().code() == ErrorCode::unauthenticated);
  // Signed with another federation's secret.
  Dir other_dir;
  auto other = open(other_dir.path / "users.db", clock, "x", std::string(32, 'o'));
  REQUIRE(other->add("alice", "alice-password", Role::admin).ok());
  CHECK_FALSE(a->verify(other->login("alice", "alice-password", 60s)->text).ok());

  clock.advance(61s);
  CHECK(a->verify(t.text).status().message().find("expired") != std::string::npos);

  auto t2 = *a->login("alice", "alice-password", 3600s);
  auto t3 = *a->login("alice", "alice-password", 3600s);
  REQUIRE(a->revoke(t2.text).ok());
  CHECK(a->verify(t2.text).status().message().find("revoked") != std::string::npos);
  CHECK(a->verify(t3.text).ok());  // another login of hers still works

  REQUIRE(a->set_password("alice", "new-alice-password").ok());
  CHECK(a->verify(t3.text).status().message().find("signed out") != std::string::npos);
  CHECK_FALSE(a->login("alice", "alice-password", 60s).ok());
  auto t4 = *a->login("alice", "new-alice-password", 3600s);

  REQUIRE(a->remove("alice").ok());
  CHECK(a->verify(t4.text).status().message().find("no longer exists") != std::string::npos);
  // Re-adding the name does not bring the old tokens back.
  REQUIRE(a->add("alice", "third-alice-password", Role::user).ok());
  CHECK_FALSE(a->verify(t4.text).ok());
}

TEST_CASE("accounts: kept across a reopen, and made by a node without a secret") {
  Dir dir;
  ManualClock clock;
  {
    auto offline = open(dir.path / "users.db", clock, "offline", "");
    REQUIRE(offline->add("root-admin", "admin-password", Role::admin).ok());
    CHECK_FALSE(offline->issue("root-admin", 60s).ok());
  }
  auto a = open(dir.path / "users.db", clock);
  CHECK(a->has_users());
  auto t = a->login("root-admin", "admin-password", 60s);
  REQUIRE(t.ok());
  CHECK(a->verify(t->text)->is_admin());
  CHECK((fs::status(dir.path / "users.db").permissions() & fs::perms::others_read) ==
        fs::perms::none);
}

TEST_CASE("accounts: two members converge, and a removal at one voids the token at the other") {
  Dir d1, d2;
  ManualClock clock;
  auto n1 = open(d1.path / "users.db", clock, "n1");
  auto n2 = open(d2.path / "users.db", clock, "n2");
  std::vector<AccountSet> pushed;
  n1->on_change([&](const AccountSet& delta) { pushed.push_back(delta); });

  REQUIRE(n1->add("alice", "alice-password", Role::user).ok());
  REQUIRE(pushed.size() == 1);  // the change is handed over for pushing
  CHECK(n2->merge(pushed[0]).accounts.size() == 1);
  // Logged in at one member, the token works at the other.
  auto t = *n2->login("alice", "alice-password", 3600s);
  CHECK(n1->verify(t.text).ok());

  // Revocation and removal travel the same way; merging twice changes nothing more.
  REQUIRE(n2->revoke(t.text).ok());
  CHECK(n1->merge(n2->newer_than(n1->snapshot())).revoked.size() == 1);
  CHECK_FALSE(n1->verify(t.text).ok());
  CHECK(n1->merge(n2->snapshot()).empty());

  auto t2 = *n1->login("alice", "alice-password", 3600s);
  REQUIRE(n1->remove("alice").ok());
  CHECK(n2->verify(t2.text).ok());  // not yet told
  n2->merge(n1->snapshot());
  CHECK_FALSE(n2->verify(t2.text).ok());

  // Concurrent changes of one user at both: both keep the same winner.
  REQUIRE(n1->add("bob", "bob-password-1", Role::user).ok());
  REQUIRE(n2->add("bob", "bob-password-2", Role::admin).ok());
  auto s1 = n1->snapshot(), s2 = n2->snapshot();
  n1->merge(s2);
  n2->merge(s1);
  auto role = [](const Accounts& a) {
    for (const auto& x : a.list())
      if (x.name == "bob") return x.role;
    return Role::user;
  };
  CHECK(role(*n1) == role(*n2));
  CHECK(n1->newer_than(n2->snapshot()).empty());
  CHECK(n2->newer_than(n1->snapshot()).empty());
}

TEST_CASE("accounts: a browser session's CSRF token is bound to its token") {
  Dir dir;
  ManualClock clock;
  auto a = open(dir.path / "users.db", clock);
  REQUIRE(a->add("alice", "alice-password", Role::user).ok());
  auto t = *a->login("alice", "alice-password", 60s);
  auto csrf = a->csrf_token(t.text);
  CHECK(a->check_csrf(t.text, csrf));
  CHECK_FALSE(a->check_csrf(t.text, ""));
  CHECK_FALSE(a->check_csrf(a->login("alice", "alice-password", 60s)->text, csrf));
  auto cookie = Accounts::session_cookie(t, true);
  for (const char* part : {"HttpOnly", "SameSite=Strict", "Secure", "Path=/"})
    CHECK(cookie.find(part) != std::string::npos);
}

TEST_CASE("member signatures: accepted once, and refused when forged, altered, old or replayed") {
  ManualClock clock;
  PeerSigner n1(kSecret, "n1", clock), n2(kSecret, "n2", clock);
  PeerSigner stranger(std::string(32, 's'), "n1", clock);
  std::string body = "<ping/>";
  boost::beast::http::fields h;
  n1.sign(h, "POST", "/register/ping", &body);
  auto who = n2.verify(h, "POST", "/register/ping", &body);
  REQUIRE_MESSAGE(who.ok(), who.status().message());
  CHECK(*who == "n1");
  CHECK(n2.verify(h, "POST", "/register/ping", &body).status().message().find("replay") !=
        std::string::npos);

  auto fresh = [&](PeerSigner& s) {
    boost::beast::http::fields f;
    s.sign(f, "POST", "/register/ping", &body);
    return f;
  };
  auto f = fresh(n1);
  std::string other_body = "<ping x='1'/>";
  CHECK_FALSE(n2.verify(f, "POST", "/register/ping", &other_body).ok());
  CHECK_FALSE(n2.verify(f, "POST", "/register/leave", &body).ok());
  CHECK_FALSE(n2.verify(f, "GET", "/register/ping", &body).ok());
  f = fresh(stranger);
  CHECK(n2.verify(f, "POST", "/register/ping", &body).status().message().find("secret") !=
        std::string::npos);
  f = fresh(n1);
  f.set("X-Fvce-Member", "n3");  // claiming to be another member
  CHECK_FALSE(n2.verify(f, "POST", "/register/ping", &body).ok());
  f = fresh(n1);
  clock.advance(31s);
  CHECK(n2.verify(f, "POST", "/register/ping", &body).status().message().find("too old") !=
        std::string::npos);
  // A streamed body is signed as such.
  boost::beast::http::fields s;
  n1.sign(s, "PUT", "/file/store?sha256=x", nullptr);
  CHECK(n2.verify(s, "PUT", "/file/store?sha256=x", nullptr).ok());
  CHECK_FALSE(PeerSigner::has_signature(boost::beast::http::fields{}));
}

TEST_CASE("access: each kind of route admits its callers, and says why not") {
  Caller nobody, member, user, admin, member_for_user;
  member.peer = "n2";
  user.user = "bob";
  admin.user = "alice";
  admin.role = Role::admin;
  member_for_user = user;
  member_for_user.peer = "n2";
  struct Row {
    Access access;
    bool nobody, member, user, admin;
  };
  for (auto row :
       {Row{Access::open, true, true, true, true}, Row{Access::peer, false, true, false, false},
        Row{Access::user, false, true, true, true}, Row{Access::admin, false, false, false, true},
        Row{Access::member_or_admin, false, true, false, true}}) {
    CAPTURE(to_string(row.access));
    CHECK(http::admit(row.access, nobody, "/r").ok() == row.nobody);
    CHECK(http::admit(row.access, member, "/r").ok() == row.member);
    CHECK(http::admit(row.access, user, "/r").ok() == row.user);
    CHECK(http::admit(row.access, admin, "/r").ok() == row.admin);
    if (!row.nobody)
      CHECK(http::admit(row.access, nobody, "/r").code() == ErrorCode::unauthenticated);
    if (!row.user) CHECK(http::admit(row.access, user, "/r").code() == ErrorCode::forbidden);
  }
  // A member acting for a user is that user where it matters.
  CHECK_FALSE(http::admit(Access::admin, member_for_user, "/r").ok());
}

TEST_CASE("crypto: hex, base64url and secrets read back") {
  auto bytes = random_bytes(33);
  CHECK(*from_hex(to_hex(bytes)) == bytes);
  CHECK(*from_base64url(base64url(bytes)) == bytes);
  CHECK_FALSE(from_hex("abc").ok());
  CHECK_FALSE(from_base64url("***").ok());
  Dir dir;
  auto path = (dir.path / "federation.key").string();
  { std::ofstream(path) << to_hex(std::string(32, 'x')) << "\n"; }
  CHECK(*load_secret(path) == std::string(32, 'x'));
  { std::ofstream(path) << "abcd\n"; }
  CHECK(load_secret(path).status().message().find("at least 32 bytes") != std::string::npos);
  CHECK(load_secret((dir.path / "nope").string()).status().message().find("cannot be read") !=
        std::string::npos);
}

}  // namespace
}  // namespace fvce::auth
