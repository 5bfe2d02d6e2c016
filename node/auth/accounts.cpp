#include "node/auth/accounts.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include "node/auth/crypto.h"

namespace fvce::auth {

namespace {

constexpr std::string_view kTokenPrefix = "fvce1.";

// The later of two records of one user.
bool later(const Account& a, const Account& b) {
  return std::tie(a.version, a.origin) > std::tie(b.version, b.origin);
}

Status sql_error(sqlite3* db, const std::string& what) {
  return Status::IOError("users database: " + what + ": " + sqlite3_errmsg(db));
}

Status exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    return Status::IOError(std::string("users database: ") + m);
  }
  return Status::Ok();
}

std::string text_column(sqlite3_stmt* st, int i) {
  auto* p = sqlite3_column_text(st, i);
  return p ? reinterpret_cast<const char*>(p) : "";
}

template <typename T>
bool to_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

struct Claims {
  std::string user, id;
  std::uint64_t epoch = 0;
  std::int64_t issued_ms = 0, expires_ms = 0;
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? s.npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

}  // namespace

Result<std::unique_ptr<Accounts>> Accounts::open(const std::filesystem::path& path,
                                                 std::string_view secret, std::string origin,
                                                 const Clock& clock) {
  if (!crypto_ready()) return Status::Internal("libsodium could not be initialised");
  // Without a secret (a command working on a stopped node's table) no token is issued.
  if (!secret.empty() && secret.size() < 32)
    return Status::InvalidArgument("the federation secret is too short");
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    Status s = sql_error(db, "opening " + path.string());
    sqlite3_close(db);
    return s;
  }
  // The file holds password hashes: only the node's user may read it.
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<Accounts> a(
      new Accounts(db, derive_key(secret, "tokens"), std::move(origin), clock));
  a->csrf_key_ = derive_key(secret, "csrf");
  a->has_secret_ = !secret.empty();
  for (const char* sql :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
        "CREATE TABLE IF NOT EXISTS accounts(name TEXT PRIMARY KEY, role TEXT NOT NULL, "
        "hash TEXT NOT NULL, epoch INTEGER NOT NULL, removed INTEGER NOT NULL, "
        "version INTEGER NOT NULL, origin TEXT NOT NULL, changed_ms INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS revoked(id TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL)"})
    if (auto s = exec(db, sql); !s.ok()) return s;
  if (auto s = a->load(); !s.ok()) return s;
  return a;
}

Accounts::Accounts(sqlite3* db, std::string key, std::string origin, const Clock& clock)
    : db_(db), token_key_(std::move(key)), origin_(std::move(origin)), clock_(clock) {}

Accounts::~Accounts() {
  sqlite3_close(db_);
}

Status Accounts::load() {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT name, role, hash, epoch, removed, version, origin, changed_ms "
                         "FROM accounts",
                         -1, &st, nullptr) != SQLITE_OK)
    return sql_error(db_, "reading accounts");
  std::lock_guard lock(mu_);
  while (sqlite3_step(st) == SQLITE_ROW) {
    Account a;
    a.name = text_column(st, 0);
    a.role = parse_role(text_column(st, 1)).value_or(Role::user);
    a.hash = text_column(st, 2);
    a.epoch = static_cast<std::uint64_t>(sqlite3_column_int64(st, 3));
    a.removed = sqlite3_column_int(st, 4) != 0;
    a.version = static_cast<std::uint64_t>(sqlite3_column_int64(st, 5));
    a.origin = text_column(st, 6);
    a.changed_ms = sqlite3_column_int64(st, 7);
    accounts_[a.name] = std::move(a);
  }
  sqlite3_finalize(st);
  if (sqlite3_prepare_v2(db_, "SELECT id, expires_ms FROM revoked", -1, &st, nullptr) != SQLITE_OK)
    return sql_error(db_, "reading revocations");
  while (sqlite3_step(st) == SQLITE_ROW) {
    Revocation r{text_column(st, 0), sqlite3_column_int64(st, 1)};
    revoked_[r.id] = r;
  }
  sqlite3_finalize(st);
  return Status::Ok();
}

Status Accounts::store(const Account& a) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO accounts(name, role, hash, epoch, removed, "
                         "version, origin, changed_ms) VALUES(?,?,?,?,?,?,?,?)",
                         -1, &st, nullptr) != SQLITE_OK)
    return sql_error(db_, "writing account " + a.name);
  auto role = std::string(to_string(a.role));
  sqlite3_bind_text(st, 1, a.name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, role.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, a.hash.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, static_cast<sqlite3_int64>(a.epoch));
  sqlite3_bind_int(st, 5, a.removed ? 1 : 0);
  sqlite3_bind_int64(st, 6, static_cast<sqlite3_int64>(a.version));
  sqlite3_bind_text(st, 7, a.origin.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 8, a.changed_ms);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? Status::Ok() : sql_error(db_, "writing account " + a.name);
}

Status Accounts::store(const Revocation& r) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO revoked(id, expires_ms) VALUES(?,?)", -1, &st,
                         nullptr) != SQLITE_OK)
    return sql_error(db_, "writing a revocation");
  sqlite3_bind_text(st, 1, r.id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, r.expires_ms);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? Status::Ok() : sql_error(db_, "writing a revocation");
}

std::uint64_t Accounts::next_version_locked() const {
  std::uint64_t v = 0;
  for (const auto& [_, a] : accounts_) v = std::max(v, a.version);
  return v + 1;
}

Status Accounts::change(Account a) {
  std::function<void(const AccountSet&)> notify;
  AccountSet delta;
  {
    std::lock_guard lock(mu_);
    a.version = next_version_locked();
    a.origin = origin_;
    a.changed_ms = clock_.unix_ms();
    if (auto s = store(a); !s.ok()) return s;
    accounts_[a.name] = a;
    delta.accounts.push_back(std::move(a));
    notify = on_change_;
  }
  if (notify) notify(delta);
  return Status::Ok();
}

Status Accounts::add(const std::string& name, std::string_view password, Role role) {
  if (auto s = check_user_name(name); !s.ok()) return s;
  if (auto s = check_password(password); !s.ok()) return s;
  std::uint64_t epoch = 1;
  {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(name);
    if (it != accounts_.end() && !it->second.removed)
      return Status::Conflict("user '" + name + "' exists");
    // A removed user's old tokens must stay void when the name is reused.
    if (it != accounts_.end()) epoch = it->second.epoch + 1;
  }
  auto hash = hash_password(password);
  if (!hash.ok()) return hash.status();
  Account a;
  a.name = name;
  a.role = role;
  a.hash = std::move(*hash);
  a.epoch = epoch;
  return change(std::move(a));
}

Status Accounts::set_password(const std::string& name, std::string_view password) {
  if (auto s = check_password(password); !s.ok()) return s;
  Account a;
  {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(name);
    if (it == accounts_.end() || it->second.removed)
      return Status::NotFound("there is no user '" + name + "'");
    a = it->second;
  }
  auto hash = hash_password(password);
  if (!hash.ok()) return hash.status();
  a.hash = std::move(*hash);
  a.epoch += 1;
  return change(std::move(a));
}

Status Accounts::set_role(const std::string& name, Role role) {
  Account a;
  {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(name);
    if (it == accounts_.end() || it->second.removed)
      return Status::NotFound("there is no user '" + name + "'");
    a = it->second;
  }
  a.role = role;
  return change(std::move(a));
}

Status Accounts::remove(const std::string& name) {
  Account a;
  {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(name);
    if (it == accounts_.end() || it->second.removed)
      return Status::NotFound("there is no user '" + name + "'");
    a = it->second;
  }
  a.removed = true;
  a.hash.clear();
  a.epoch += 1;
  return change(std::move(a));
}

Status Accounts::revoke_all(const std::string& name) {
  Account a;
  {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(name);
    if (it == accounts_.end() || it->second.removed)
      return Status::NotFound("there is no user '" + name + "'");
    a = it->second;
  }
  a.epoch += 1;
  return change(std::move(a));
}

std::vector<Account> Accounts::list() const {
  std::lock_guard lock(mu_);
  std::vector<Account> out;
  for (const auto& [_, a] : accounts_) {
    if (a.removed) continue;
    out.push_back(a);
    out.back().hash.clear();
  }
  return out;
}

bool Accounts::has_users() const {
  std::lock_guard lock(mu_);
  return std::any_of(accounts_.begin(), accounts_.end(),
                     [](const auto& kv) { return !kv.second.removed; });
}

Result<Token> Accounts::login(const std::string& name, std::string_view password,
                              std::chrono::seconds ttl) {
  std::string hash;
  {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(name);
    if (it != accounts_.end() && !it->second.removed) hash = it->second.hash;
  }
  // The same work and the same answer whether or not the user exists.
  static const std::string dummy = [] {
    auto h = hash_password("not a password of anyone");
    return h.ok() ? *h : std::string();
  }();
  bool ok = verify_password(password, hash.empty() ? dummy : hash) && !hash.empty();
  if (!ok) return Status(ErrorCode::unauthenticated, "wrong user name or password");
  return issue(name, ttl);
}

Result<Token> Accounts::issue(const std::string& name, std::chrono::seconds ttl) {
  if (!has_secret_) return Status::Internal("no federation secret: tokens cannot be issued");
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(name);
    if (it == accounts_.end() || it->second.removed)
      return Status::NotFound("there is no user '" + name + "'");
    epoch = it->second.epoch;
  }
  Token t;
  t.id = random_hex(12);
  auto now = clock_.unix_ms();
  t.expires_ms = now + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count();
  std::string claims = name + "\n" + t.id + "\n" + std::to_string(epoch) + "\n" +
                       std::to_string(now) + "\n" + std::to_string(t.expires_ms);
  std::string signed_part = std::string(kTokenPrefix) + base64url(claims);
  t.text = signed_part + "." + base64url(hmac_sha256(token_key_, signed_part));
  return t;
}

Result<Caller> Accounts::verify(std::string_view token) const {
  auto bad = [](const char* why) {
    return Status(ErrorCode::unauthenticated, std::string("the token ") + why);
  };
  if (!has_secret_) return bad("cannot be checked: this node has no federation secret");
  if (token.size() > 1024 || !token.starts_with(kTokenPrefix)) return bad("is malformed");
  auto dot = token.rfind('.');
  if (dot <= kTokenPrefix.size()) return bad("is malformed");
  auto signed_part = token.substr(0, dot);
  auto mac = from_base64url(token.substr(dot + 1));
  if (!mac.ok() || !equal_constant_time(*mac, hmac_sha256(token_key_, signed_part)))
    return bad("is not signed by this federation");
  auto claims_text = from_base64url(signed_part.substr(kTokenPrefix.size()));
  if (!claims_text.ok()) return bad("is malformed");
  auto parts = split(*claims_text, '\n');
  Claims c;
  if (parts.size() != 5 || !to_number(parts[2], c.epoch) || !to_number(parts[3], c.issued_ms) ||
      !to_number(parts[4], c.expires_ms))
    return bad("is malformed");
  c.user = parts[0];
  c.id = parts[1];
  if (clock_.unix_ms() >= c.expires_ms) return bad("has expired: log in again");
  std::lock_guard lock(mu_);
  if (revoked_.count(c.id)) return bad("was revoked (logged out): log in again");
  auto it = accounts_.find(c.user);
  if (it == accounts_.end())
    return Status(ErrorCode::unauthenticated,
                  "user '" + c.user +
                      "' is not known at this node (yet: accounts reach a "
                      "member that just joined within seconds)");
  if (it->second.removed)
    return Status(ErrorCode::unauthenticated, "user '" + c.user + "' no longer exists");
  if (it->second.epoch != c.epoch)
    return bad("was signed out (password changed or logged out everywhere): log in again");
  Caller caller;
  caller.user = c.user;
  caller.role = it->second.role;
  caller.token = std::string(token);
  caller.token_id = c.id;
  return caller;
}

Status Accounts::revoke(std::string_view token) {
  auto caller = verify(token);
  if (!caller.ok()) return caller.status();
  // The expiry, re-read from the claims (verify checked them).
  auto dot = token.rfind('.');
  auto claims = from_base64url(token.substr(kTokenPrefix.size(), dot - kTokenPrefix.size()));
  auto parts = split(*claims, '\n');
  Revocation r{caller->token_id, 0};
  to_number(parts[4], r.expires_ms);
  std::function<void(const AccountSet&)> notify;
  AccountSet delta;
  {
    std::lock_guard lock(mu_);
    if (auto s = store(r); !s.ok()) return s;
    revoked_[r.id] = r;
    delta.revoked.push_back(r);
    notify = on_change_;
  }
  if (notify) notify(delta);
  return Status::Ok();
}

void Accounts::prune_locked(std::int64_t now_ms) {
  for (auto it = revoked_.begin(); it != revoked_.end();) {
    if (it->second.expires_ms < now_ms) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db_, "DELETE FROM revoked WHERE id = ?", -1, &st, nullptr) ==
          SQLITE_OK) {
        sqlite3_bind_text(st, 1, it->first.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
      }
      sqlite3_finalize(st);
      it = revoked_.erase(it);
    } else {
      ++it;
    }
  }
}

AccountSet Accounts::snapshot() const {
  std::lock_guard lock(mu_);
  AccountSet out;
  for (const auto& [_, a] : accounts_) out.accounts.push_back(a);
  for (const auto& [_, r] : revoked_) out.revoked.push_back(r);
  return out;
}

AccountSet Accounts::merge(const AccountSet& theirs) {
  AccountSet changed;
  std::lock_guard lock(mu_);
  auto now = clock_.unix_ms();
  for (const auto& a : theirs.accounts) {
    if (!check_user_name(a.name).ok()) continue;
    auto it = accounts_.find(a.name);
    if (it != accounts_.end() && !later(a, it->second)) continue;
    if (!store(a).ok()) continue;
    accounts_[a.name] = a;
    changed.accounts.push_back(a);
  }
  for (const auto& r : theirs.revoked) {
    if (r.expires_ms < now || revoked_.count(r.id) || r.id.empty() || r.id.size() > 64) continue;
    if (!store(r).ok()) continue;
    revoked_[r.id] = r;
    changed.revoked.push_back(r);
  }
  prune_locked(now);
  return changed;
}

AccountSet Accounts::newer_than(const AccountSet& theirs) const {
  std::map<std::string, const Account*> known;
  for (const auto& a : theirs.accounts) known[a.name] = &a;
  std::map<std::string, bool> their_revoked;
  for (const auto& r : theirs.revoked) their_revoked[r.id] = true;
  std::lock_guard lock(mu_);
  AccountSet out;
  for (const auto& [name, a] : accounts_) {
    auto it = known.find(name);
    if (it == known.end() || later(a, *it->second)) out.accounts.push_back(a);
  }
  for (const auto& [id, r] : revoked_)
    if (!their_revoked.count(id)) out.revoked.push_back(r);
  return out;
}

void Accounts::on_change(std::function<void(const AccountSet&)> callback) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(callback);
}

std::string Accounts::session_cookie(const Token& token, bool secure) {
  std::string c = "fvce_session=" + token.text + "; Path=/; HttpOnly; SameSite=Strict";
  if (secure) c += "; Secure";
  return c;
}

std::string Accounts::clear_session_cookie(bool secure) {
  std::string c = "fvce_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
  if (secure) c += "; Secure";
  return c;
}

std::string Accounts::csrf_token(std::string_view token) const {
  return base64url(hmac_sha256(csrf_key_, token));
}

bool Accounts::check_csrf(std::string_view token, std::string_view csrf) const {
  return !csrf.empty() && equal_constant_time(csrf_token(token), csrf);
}

}  // namespace fvce::auth
