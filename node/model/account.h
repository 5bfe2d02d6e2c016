// The documents of users and tokens (xsd/auth.xsd).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fvce::model {

// POST /auth/login
struct LoginRequest {
  std::string user;
  std::string password;
  std::optional<std::uint64_t> ttl_s;
  bool operator==(const LoginRequest&) const = default;
};

// The answer to a login, and GET /auth/whoami (without value).
struct TokenDoc {
  std::string user;
  std::string role;
  std::string value;
  std::optional<std::int64_t> expires;
  std::string csrf;
  bool operator==(const TokenDoc&) const = default;
};

// POST /auth/users, POST /auth/password
struct UserChange {
  std::string name;
  std::string role;      // "" = unchanged / "user"
  std::string password;  // "" = unchanged
  bool operator==(const UserChange&) const = default;
};

// GET /auth/users
struct UserList {
  struct User {
    std::string name, role, origin;
    std::int64_t changed = 0;
    bool operator==(const User&) const = default;
  };
  std::vector<User> users;
  bool operator==(const UserList&) const = default;
};

// POST /auth/sync
struct AccountsDoc {
  struct Account {
    std::string name, role, hash, origin;
    std::uint64_t epoch = 0, version = 0;
    bool removed = false;
    std::int64_t changed = 0;
    bool operator==(const Account&) const = default;
  };
  struct Revoked {
    std::string id;
    std::int64_t expires = 0;
    bool operator==(const Revoked&) const = default;
  };
  std::vector<Account> accounts;
  std::vector<Revoked> revoked;
  bool operator==(const AccountsDoc&) const = default;
};

}  // namespace fvce::model
