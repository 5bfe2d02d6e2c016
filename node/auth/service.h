// The node's accounts service: the /auth routes and the replication of the accounts among
// the members (accounts.h states the model).
//
// Routes:
//   POST   /auth/login      open     <login> → <token> (with ?session=true also a session
//                                    cookie and its CSRF token, for a browser)
//   POST   /auth/logout     user     voids the token the request carries
//   GET    /auth/whoami     user     <token> without value: who the credentials prove
//   GET    /auth/users      admin    <users>
//   POST   /auth/users      admin    <user-change name role password> adds a user
//   DELETE /auth/users      admin    ?name= removes a user (their tokens stop working)
//   POST   /auth/password   user     <user-change name password>: one's own, or anyone's
//                                    for an admin; voids the user's tokens
//   POST   /auth/role       admin    <user-change name role>
//   POST   /auth/sync       members  <accounts> → <accounts> (replication)
//
// Replication: every change made here is pushed at once to every live member; every
// sync-interval (jittered) the whole table is exchanged with one random live member, so a
// member that missed a push catches up (docs/SECURITY.md gives the bounds).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "node/auth/accounts.h"
#include "node/auth/remote.h"
#include "node/http/router.h"
#include "node/model/member.h"
#include "node/node_context.h"

namespace fvce::auth {

using http::Response;

struct AccountsOptions {
  std::chrono::seconds token_ttl{12 * 3600};      // default lifetime of a login's token
  std::chrono::seconds max_token_ttl{7 * 86400};  // the longest a login may ask for
  std::chrono::milliseconds sync_interval{5000};
  int max_hashing = 2;  // password hashes computed at once (each takes 64 MiB)
};

class AccountsService : public std::enable_shared_from_this<AccountsService> {
 public:
  // live_members: the members to replicate with (this node's own entry may be among them).
  AccountsService(NodeContext& ctx, std::shared_ptr<Accounts> accounts, AccountsOptions options,
                  std::function<std::vector<model::Member>()> live_members, bool secure_cookies);

  void add_routes(http::Router& router);
  // Starts pushing changes and the periodic exchange. Call once.
  void start();
  void stop();

  Accounts& accounts() { return *accounts_; }
  std::shared_ptr<AccountsPeer> local_peer() { return local_; }
  // Called with the token of every session that signs out (its terminals close). Set
  // before the server starts.
  void on_logout(std::function<void(const std::string& token)> callback) {
    on_logout_ = std::move(callback);
  }

 private:
  struct SignIn {
    Token token;
    Caller who;
  };
  // Checks user and password (hashing on the worker pool, at most max_hashing at once) and
  // issues a token for ttl_s seconds (0: the default). Errors: unauthenticated, unavailable
  // (too many sign-ins at once).
  boost::asio::awaitable<Result<SignIn>> sign_in(std::string user, std::string password,
                                                 std::uint64_t ttl_s, const std::string& from);
  // Revokes the caller's token and clears the cookie; the answer to a sign-out.
  Result<Response> sign_out(const Caller& who, Response res);
  boost::asio::awaitable<void> exchange_loop();
  boost::asio::awaitable<void> push(AccountSet delta);
  // Hashing passwords on the worker pool, at most max_hashing at once: false when busy.
  bool take_hashing();
  void give_hashing() { --hashing_; }

  NodeContext& ctx_;
  std::shared_ptr<Accounts> accounts_;
  AccountsOptions options_;
  std::function<std::vector<model::Member>()> live_members_;
  bool secure_cookies_;
  std::shared_ptr<LocalAccountsPeer> local_;
  std::atomic<int> hashing_{0};
  std::atomic<bool> stopped_{false};
  std::function<void(const std::string&)> on_logout_;
};

}  // namespace fvce::auth
