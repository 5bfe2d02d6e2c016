// Signing in and managing users from the command line (docs/SECURITY.md).
#pragma once

#include <string>

#include "node/cli/client_commands.h"

namespace fvce::cli {

// A password: one line from standard input when from_stdin (or stdin is not a terminal),
// else asked for on the terminal without echo (twice when confirm).
std::string read_password(bool from_stdin, const char* prompt, bool confirm);

// Signs in at o.node and stores the token (credentials_path(), mode 0600).
int login(const ClientOptions& o, std::string user, bool password_stdin, long ttl_s);
int logout(const ClientOptions& o);
int whoami(const ClientOptions& o);
int user_add(const ClientOptions& o, const std::string& name, const std::string& role,
             bool password_stdin);
int user_list(const ClientOptions& o);
int user_passwd(const ClientOptions& o, const std::string& name, bool password_stdin);
int user_remove(const ClientOptions& o, const std::string& name);
int user_role(const ClientOptions& o, const std::string& name, const std::string& role);

}  // namespace fvce::cli
