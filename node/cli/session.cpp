#include "node/cli/session.h"

#include <sys/stat.h>

#include <fstream>
#include <random>
#include <sstream>

#include "node/core/files.h"
#include "node/http/tls.h"

namespace fvce::cli {

namespace fs = std::filesystem;

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}
}  // namespace

fs::path credentials_path() {
  if (auto p = env("FVCE_CREDENTIALS"); !p.empty()) return p;
  if (auto x = env("XDG_CONFIG_HOME"); !x.empty()) return fs::path(x) / "fvce" / "credentials";
  if (auto h = env("HOME"); !h.empty()) return fs::path(h) / ".config" / "fvce" / "credentials";
  return fs::path(".fvce-credentials");
}

Result<Credentials> load_credentials() {
  Credentials c;
  auto path = credentials_path();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0)
      return Status::Forbidden(path.string() +
                               " is readable by other users: it holds a token (chmod 600 it, "
                               "or log in again)");
    std::ifstream in(path);
    if (!in) return Status::IOError(path.string() + ": cannot be read");
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      auto key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "node") c.node = value;
      if (key == "user") c.user = value;
      if (key == "token") c.token = value;
      if (key == "ca") c.ca = value;
      if (key == "expires") c.expires_ms = std::atoll(value.c_str());
    }
  }
  if (auto t = env("FVCE_TOKEN"); !t.empty()) c.token = t;
  if (auto ca = env("FVCE_CA"); !ca.empty()) c.ca = ca;
  return c;
}

Status save_credentials(const Credentials& c) {
  auto path = credentials_path();
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ostringstream out;
  out << "node=" << c.node << "\nuser=" << c.user << "\ntoken=" << c.token << "\nca=" << c.ca
      << "\nexpires=" << c.expires_ms << "\n";
  // Written with mode 0600 from the start: the token is never readable by others.
  auto s = write_file_atomic(path, out.str(), 0600);
  return s;
}

Status remove_credentials() {
  std::error_code ec;
  fs::remove(credentials_path(), ec);
  if (ec) return Status::IOError(credentials_path().string() + ": " + ec.message());
  return Status::Ok();
}

Session::Session(boost::asio::io_context& ioc, const ClientOptions& o, bool send_token) {
  auto creds = load_credentials();
  Credentials c;
  if (creds.ok())
    c = *creds;
  else
    error_ = creds.status();
  std::string ca = !o.ca.empty() ? o.ca : c.ca;
  if (!ca.empty()) {
    auto t = http::tls_client_transport(ca);
    if (t.ok())
      transport_ = *t;
    else
      error_ = t.status();
  }
  if (!transport_) transport_ = http::plain_transport();
  random_ = std::make_unique<Random>(std::random_device{}());
  client_ = std::make_unique<http::Client>(ioc, *transport_, *random_);
  if (send_token && !c.token.empty()) {
    client_->set_credentials([token = c.token](http::bhttp::fields& h, http::Verb, std::string_view,
                                               const std::string*) {
      h.set(http::bhttp::field::authorization, "Bearer " + token);
    });
  }
}

}  // namespace fvce::cli
