#include "node/auth/names.h"

#include <cctype>
#include <string>

namespace fvce::auth {

namespace {
bool plain(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}
}  // namespace

Status check_user_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 63 && plain(name[0]);
  for (char c : name) ok = ok && (plain(c) || c == '.' || c == '_' || c == '-');
  if (!ok)
    return Status::InvalidArgument("'" + std::string(name.substr(0, 80)) +
                                   "' is not a user name (a letter or digit, then letters, "
                                   "digits, '.', '_' or '-'; at most 63)");
  return Status::Ok();
}

Status check_password(std::string_view password) {
  if (password.size() < 8) return Status::InvalidArgument("a password has at least 8 characters");
  if (password.size() > 1024)
    return Status::InvalidArgument("a password has at most 1024 characters");
  return Status::Ok();
}

}  // namespace fvce::auth
