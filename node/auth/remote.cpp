#include "node/auth/remote.h"

namespace fvce::auth {

namespace asio = boost::asio;

asio::awaitable<Result<AccountSet>> LocalAccountsPeer::sync(AccountSet records) {
  accounts_.merge(records);
  co_return accounts_.newer_than(records);
}

AccountsRemote::AccountsRemote(http::Client& client, std::string address, CallOptions options)
    : client_(client),
      address_(std::move(address)),
      options_(http::with_call({std::chrono::milliseconds(5000), 1}, options)) {}

asio::awaitable<Result<AccountSet>> AccountsRemote::sync(AccountSet records) {
  auto answer = co_await client_.call<model::AccountsDoc>(address_, http::Verb::post, "/auth/sync",
                                                          model::to_xml(to_doc(records)), options_);
  if (!answer.ok()) co_return answer.status();
  co_return from_doc(*answer);
}

model::AccountsDoc to_doc(const AccountSet& set) {
  model::AccountsDoc d;
  for (const auto& a : set.accounts)
    d.accounts.push_back({a.name, std::string(to_string(a.role)), a.hash, a.origin, a.epoch,
                          a.version, a.removed, a.changed_ms});
  for (const auto& r : set.revoked) d.revoked.push_back({r.id, r.expires_ms});
  return d;
}

AccountSet from_doc(const model::AccountsDoc& doc) {
  AccountSet s;
  for (const auto& a : doc.accounts) {
    Account x;
    x.name = a.name;
    x.role = parse_role(a.role).value_or(Role::user);
    x.hash = a.hash;
    x.epoch = a.epoch;
    x.removed = a.removed;
    x.version = a.version;
    x.origin = a.origin;
    x.changed_ms = a.changed;
    s.accounts.push_back(std::move(x));
  }
  for (const auto& r : doc.revoked) s.revoked.push_back({r.id, r.expires});
  return s;
}

}  // namespace fvce::auth
