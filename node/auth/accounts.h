// User accounts and API tokens, known federation-wide.
//
// Every node keeps the whole account table in its state directory (users.db, SQLite) and in
// memory. An account record carries a Lamport version and the node that wrote it; two
// records of one user are ordered by (version, origin) and the later one wins everywhere, so
// nodes that exchange their tables converge whatever order changes arrive in. A node that
// changes a record pushes it to every member at once; besides, every sync interval each node
// exchanges its table with one random member (anti-entropy), so a member that missed a push
// (down, partitioned) catches up. docs/SECURITY.md states the bounds.
//
// Tokens are self-contained: "fvce1.<payload>.<mac>", the payload naming the user, the
// token's id, the account's epoch and the expiry; the MAC is HMAC-SHA-256 under a key
// derived from the federation secret, which every member holds. So any member checks any
// token without asking the node that issued it. A token stops working when it expires, when
// its id is revoked (revocations are replicated with the accounts until the token would
// have expired), when the account's epoch moves on (a password change or "log out
// everywhere"), or when the account is removed.
//
// Thread-safe. Reads (verify) come from memory; changes are written to SQLite before they
// are visible. Hashing a password takes tens of milliseconds and 64 MiB: call add(),
// set_password() and login() on the worker pool, never on an I/O thread.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "node/auth/caller.h"
#include "node/auth/names.h"
#include "node/core/clock.h"
#include "node/core/status.h"

namespace fvce::auth {

struct Account {
  std::string name;
  Role role = Role::user;
  std::string hash;  // Argon2id; "" once removed
  std::uint64_t epoch = 1;
  bool removed = false;
  std::uint64_t version = 0;
  std::string origin;  // the node that made this change
  std::int64_t changed_ms = 0;
};

struct Revocation {
  std::string id;
  std::int64_t expires_ms = 0;  // forgotten after this: the token is void by then anyway
};

struct AccountSet {
  std::vector<Account> accounts;
  std::vector<Revocation> revoked;
  bool empty() const { return accounts.empty() && revoked.empty(); }
};

struct Token {
  std::string text;  // what the client sends
  std::string id;
  std::int64_t expires_ms = 0;
};

class Accounts {
 public:
  // Opens (creating) DB. secret is the federation secret ("" for a command that only edits
  // a stopped node's table: no token can be issued or checked then); origin names this
  // node in the records it writes.
  static Result<std::unique_ptr<Accounts>> open(const std::filesystem::path& db,
                                                std::string_view secret, std::string origin,
                                                const Clock& clock);
  ~Accounts();

  // Errors: invalid-argument (name, password), conflict (the user exists).
  Status add(const std::string& name, std::string_view password, Role role);
  // Changes the password and voids every token of the user. Errors: not-found.
  Status set_password(const std::string& name, std::string_view password);
  Status set_role(const std::string& name, Role role);
  // Removes the user: their tokens stop working. Errors: not-found.
  Status remove(const std::string& name);
  // Voids every token of the user (log out everywhere).
  Status revoke_all(const std::string& name);
  // The users that exist, by name, without their hashes.
  std::vector<Account> list() const;
  bool has_users() const;

  // Checks name and password and issues a token valid for ttl. Errors: unauthenticated
  // with one message whatever was wrong (no user, removed, wrong password).
  Result<Token> login(const std::string& name, std::string_view password, std::chrono::seconds ttl);
  // Issues a token without a password (for `fvce user add`'s first admin, and tests).
  Result<Token> issue(const std::string& name, std::chrono::seconds ttl);
  // The caller a token proves. Errors: unauthenticated naming why (malformed, bad
  // signature, expired, revoked, user removed, signed out by a password change).
  Result<Caller> verify(std::string_view token) const;
  // Voids one token (its holder logs out). Errors: unauthenticated when it is not valid.
  Status revoke(std::string_view token);

  // Replication. snapshot() is the whole table; merge() takes another node's records,
  // keeps the later of each, persists and returns what changed here; newer_than() is what
  // of ours the other side lacks or has older.
  AccountSet snapshot() const;
  AccountSet merge(const AccountSet& theirs);
  AccountSet newer_than(const AccountSet& theirs) const;
  // Called (outside the lock) with each local change, for pushing it to the members.
  void on_change(std::function<void(const AccountSet&)> callback);

  // Session cookies for the browser: the cookie carries a token; the CSRF token is bound to
  // it. A state-changing request from a browser must send the CSRF token in X-CSRF-Token.
  static std::string session_cookie(const Token& token, bool secure);
  static std::string clear_session_cookie(bool secure);
  std::string csrf_token(std::string_view token) const;
  bool check_csrf(std::string_view token, std::string_view csrf) const;

 private:
  Accounts(sqlite3* db, std::string key, std::string origin, const Clock& clock);
  Status load();
  Status store(const Account& a);
  Status store(const Revocation& r);
  Status change(Account a);  // stamps version/origin, persists, notifies
  std::uint64_t next_version_locked() const;
  void prune_locked(std::int64_t now_ms);

  sqlite3* db_;
  std::string token_key_;
  std::string csrf_key_;
  std::string origin_;
  bool has_secret_ = false;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, Revocation> revoked_;
  std::function<void(const AccountSet&)> on_change_;
};

}  // namespace fvce::auth
