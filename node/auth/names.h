// What a user name and a password may be. Kept apart from the accounts (SQLite) so the
// command line checks them without loading the node's libraries.
#pragma once

#include <string_view>

#include "node/core/status.h"

namespace fvce::auth {

// A user (or node) name: the schema's Name (a letter or digit, then letters, digits, '.',
// '_', '-'; 63 at most). Errors name the value.
Status check_user_name(std::string_view name);
// A password: 8 to 1024 bytes.
Status check_password(std::string_view password);

}  // namespace fvce::auth
