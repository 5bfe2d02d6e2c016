// Replicating the federation's accounts between members (accounts.h): the seam, its stub
// over HTTP (POST /auth/sync) and the conversion to and from the wire document.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "node/auth/accounts.h"
#include "node/core/call_options.h"
#include "node/http/client.h"
#include "node/model/account.h"

namespace fvce::auth {

class AccountsPeer {
 public:
  virtual ~AccountsPeer() = default;
  // Hands a member records (all of ours, or a change); it keeps the later of each and
  // answers with what it has that the records given lack or hold older.
  virtual boost::asio::awaitable<Result<AccountSet>> sync(AccountSet records) = 0;
};

// This node's own side of sync.
class LocalAccountsPeer final : public AccountsPeer {
 public:
  explicit LocalAccountsPeer(Accounts& accounts) : accounts_(accounts) {}
  boost::asio::awaitable<Result<AccountSet>> sync(AccountSet records) override;

 private:
  Accounts& accounts_;
};

class AccountsRemote final : public AccountsPeer {
 public:
  AccountsRemote(http::Client& client, std::string address, CallOptions options);
  boost::asio::awaitable<Result<AccountSet>> sync(AccountSet records) override;

 private:
  http::Client& client_;
  std::string address_;
  http::RequestOptions options_;
};

model::AccountsDoc to_doc(const AccountSet& set);
AccountSet from_doc(const model::AccountsDoc& doc);

}  // namespace fvce::auth
