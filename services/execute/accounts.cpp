#include "services/execute/accounts.h"

namespace fvce::execute {

std::string AccountMap::account_of(const std::string& user) const {
  if (auto it = accounts.find(user); it != accounts.end()) return it->second;
  if (others == "*") return user;
  return others;
}

Result<AccountMap> AccountMap::Parse(std::string_view text) {
  AccountMap map;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string pair(text.substr(pos, comma - pos));
    pos = comma + 1;
    auto trim = [](std::string s) {
      auto b = s.find_first_not_of(" \t\n");
      auto e = s.find_last_not_of(" \t\n");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    pair = trim(pair);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string user = eq == std::string::npos ? "" : trim(pair.substr(0, eq));
    std::string account = eq == std::string::npos ? "" : trim(pair.substr(eq + 1));
    if (user.empty() || account.empty())
      return Status::InvalidArgument("'" + pair + "' is not USER=ACCOUNT");
    if (user == "*") {
      map.others = account;
    } else {
      if (account == "*")
        return Status::InvalidArgument("'" + pair + "': '*' as the account only for user '*'");
      map.accounts[user] = account;
    }
  }
  return map;
}

}  // namespace fvce::execute
