// Which local account a federation user becomes on this node when the node runs as root (as
// computing centres map portal users to local accounts): the execute service's parameter
// "accounts". Tasks (impl/process.h) and the web user port's terminal
// (services/userport/terminal.h) follow the same map.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "node/core/status.h"

namespace fvce::execute {

// Parsed from comma-separated USER=ACCOUNT pairs; "*=*" maps every other user to the local
// account of the same name, "*=ACCOUNT" to that one account.
struct AccountMap {
  std::map<std::string, std::string> accounts;  // user → local account
  std::string others;                           // "" = refused; "*" = same name; else one
  bool empty() const { return accounts.empty() && others.empty(); }
  // The local account of user; "" when unmapped.
  std::string account_of(const std::string& user) const;
  // Errors: invalid-argument naming the malformed pair.
  static Result<AccountMap> Parse(std::string_view text);
};

}  // namespace fvce::execute
