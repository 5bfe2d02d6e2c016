// Codecs of users and tokens (xsd/auth.xsd).
#include "node/model/codec.h"
#include "node/model/codec_util.h"

namespace fvce::model {

using namespace detail;

void Codec<LoginRequest>::encode(pugi::xml_node& n, const LoginRequest& l) {
  n.append_attribute("user") = l.user.c_str();
  n.append_attribute("password") = l.password.c_str();
  if (l.ttl_s) n.append_attribute("ttl") = static_cast<unsigned long long>(*l.ttl_s);
}
Result<LoginRequest> Codec<LoginRequest>::decode(const pugi::xml_node& n) {
  LoginRequest l;
  FVCE_TRY(read_string(n, "user", l.user));
  FVCE_TRY(read_string(n, "password", l.password));
  if (n.attribute("ttl")) {
    std::uint64_t t = 0;
    FVCE_TRY(read_int(n, "ttl", t));
    l.ttl_s = t;
  }
  return l;
}

void Codec<TokenDoc>::encode(pugi::xml_node& n, const TokenDoc& t) {
  n.append_attribute("user") = t.user.c_str();
  n.append_attribute("role") = t.role.c_str();
  if (!t.value.empty()) n.append_attribute("value") = t.value.c_str();
  if (t.expires) n.append_attribute("expires") = static_cast<long long>(*t.expires);
  if (!t.csrf.empty()) n.append_attribute("csrf") = t.csrf.c_str();
}
Result<TokenDoc> Codec<TokenDoc>::decode(const pugi::xml_node& n) {
  TokenDoc t;
  FVCE_TRY(read_string(n, "user", t.user));
  FVCE_TRY(read_string(n, "role", t.role));
  FVCE_TRY(read_string(n, "value", t.value, false));
  FVCE_TRY(read_string(n, "csrf", t.csrf, false));
  if (n.attribute("expires")) {
    std::int64_t e = 0;
    FVCE_TRY(read_int(n, "expires", e));
    t.expires = e;
  }
  return t;
}

void Codec<UserChange>::encode(pugi::xml_node& n, const UserChange& u) {
  n.append_attribute("name") = u.name.c_str();
  if (!u.role.empty()) n.append_attribute("role") = u.role.c_str();
  if (!u.password.empty()) n.append_attribute("password") = u.password.c_str();
}
Result<UserChange> Codec<UserChange>::decode(const pugi::xml_node& n) {
  UserChange u;
  FVCE_TRY(read_string(n, "name", u.name));
  FVCE_TRY(read_string(n, "role", u.role, false));
  FVCE_TRY(read_string(n, "password", u.password, false));
  return u;
}

void Codec<UserList>::encode(pugi::xml_node& n, const UserList& l) {
  for (const auto& u : l.users) {
    auto c = n.append_child("user");
    c.append_attribute("name") = u.name.c_str();
    c.append_attribute("role") = u.role.c_str();
    c.append_attribute("changed") = static_cast<long long>(u.changed);
    c.append_attribute("origin") = u.origin.c_str();
  }
}
Result<UserList> Codec<UserList>::decode(const pugi::xml_node& n) {
  UserList l;
  for (auto c : n.children("user")) {
    UserList::User u;
    FVCE_TRY(read_string(c, "name", u.name));
    FVCE_TRY(read_string(c, "role", u.role));
    FVCE_TRY(read_int(c, "changed", u.changed));
    FVCE_TRY(read_string(c, "origin", u.origin));
    l.users.push_back(std::move(u));
  }
  return l;
}

void Codec<AccountsDoc>::encode(pugi::xml_node& n, const AccountsDoc& d) {
  for (const auto& a : d.accounts) {
    auto c = n.append_child("account");
    c.append_attribute("name") = a.name.c_str();
    c.append_attribute("role") = a.role.c_str();
    if (!a.hash.empty()) c.append_attribute("hash") = a.hash.c_str();
    c.append_attribute("epoch") = static_cast<unsigned long long>(a.epoch);
    if (a.removed) c.append_attribute("removed") = "true";
    c.append_attribute("version") = static_cast<unsigned long long>(a.version);
    c.append_attribute("origin") = a.origin.c_str();
    c.append_attribute("changed") = static_cast<long long>(a.changed);
  }
  for (const auto& r : d.revoked) {
    auto c = n.append_child("revoked");
    c.append_attribute("id") = r.id.c_str();
    c.append_attribute("expires") = static_cast<long long>(r.expires);
  }
}
Result<AccountsDoc> Codec<AccountsDoc>::decode(const pugi::xml_node& n) {
  AccountsDoc d;
  for (auto c : n.children("account")) {
    AccountsDoc::Account a;
    FVCE_TRY(read_string(c, "name", a.name));
    FVCE_TRY(read_string(c, "role", a.role));
    FVCE_TRY(read_string(c, "hash", a.hash, false));
    FVCE_TRY(read_int(c, "epoch", a.epoch));
    FVCE_TRY(read_bool(c, "removed", a.removed));
    FVCE_TRY(read_int(c, "version", a.version));
    FVCE_TRY(read_string(c, "origin", a.origin));
    FVCE_TRY(read_int(c, "changed", a.changed));
    d.accounts.push_back(std::move(a));
  }
  for (auto c : n.children("revoked")) {
    AccountsDoc::Revoked r;
    FVCE_TRY(read_string(c, "id", r.id));
    FVCE_TRY(read_int(c, "expires", r.expires));
    d.revoked.push_back(std::move(r));
  }
  return d;
}

}  // namespace fvce::model
