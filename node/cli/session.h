// How the command line proves who it is: the credentials `fvce login` stores, and the
// client every command talks through.
//
// `fvce login` writes $XDG_CONFIG_HOME/fvce/credentials (default ~/.config/fvce/credentials;
// $FVCE_CREDENTIALS names another file) with mode 0600: the node it signed in at, the user,
// the API token, its expiry and the federation CA's certificate to check nodes against.
// $FVCE_TOKEN and $FVCE_CA override what the file says; --ca too. Every command sends the
// token (Authorization: Bearer) and, when a CA is known, speaks TLS and refuses a node whose
// certificate the CA did not sign.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "node/cli/client_commands.h"
#include "node/core/status.h"
#include "node/http/client.h"

namespace fvce::cli {

struct Credentials {
  std::string node;  // HOST:PORT signed in at
  std::string user;
  std::string token;
  std::string ca;  // absolute path of the CA certificate ("" = plain HTTP)
  std::int64_t expires_ms = 0;
};

std::filesystem::path credentials_path();
// The stored credentials with the environment's overrides; empty ones when there is no file.
// Errors: the file exists but cannot be read, or is readable by others (it holds a token).
Result<Credentials> load_credentials();
Status save_credentials(const Credentials& c);
Status remove_credentials();

// A client for one command: TLS when a CA is known (o.ca, else the credentials'), plain HTTP
// otherwise; it sends the token of the credentials (or none, for login).
class Session {
 public:
  Session(boost::asio::io_context& ioc, const ClientOptions& o, bool send_token = true);
  http::Client& client() { return *client_; }
  // Why the session cannot be used ("" when it can): a bad CA file, unreadable credentials.
  const Status& error() const { return error_; }

 private:
  std::shared_ptr<http::Transport> transport_;
  std::unique_ptr<Random> random_;
  std::unique_ptr<http::Client> client_;
  Status error_;
};

}  // namespace fvce::cli
