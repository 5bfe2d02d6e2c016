#include "node/cli/user_commands.h"

#include <termios.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <filesystem>
#include <iostream>

#include "node/cli/session.h"
#include "node/cli/workflow_commands.h"
#include "node/http/url.h"
#include "node/model/codec.h"

namespace fvce::cli {

namespace asio = boost::asio;
using http::Verb;

namespace {

// One request with the session's credentials (send_token false: none, for login).
Result<http::Response> exchange(const ClientOptions& o, Verb method, const std::string& target,
                                std::string body, bool send_token = true) {
  asio::io_context ioc;
  Session session(ioc, o, send_token);
  if (!session.error().ok()) return session.error();
  std::optional<Result<http::Response>> out;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        out = co_await session.client().request(o.node, method, target, std::move(body),
                                                {std::chrono::milliseconds(o.timeout_ms), 1});
      },
      asio::detached);
  ioc.run();
  if (!out) return Status::Internal("no answer was produced");
  return std::move(*out);
}

// Prints why a request failed; true when it did.
bool failed(const ClientOptions& o, const Result<http::Response>& res) {
  if (!res.ok()) {
    std::cerr << "fvce: " << o.node << ": " << res.status().message() << "\n";
    return true;
  }
  if (res->result_int() / 100 != 2) {
    std::cerr << "fvce: " << http::status_from_error_body(res->result_int(), res->body()).message()
              << "\n";
    return true;
  }
  return false;
}

std::string read_line_no_echo(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios old{};
  bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::cerr << "\n";
  }
  return line;
}

}  // namespace

std::string read_password(bool from_stdin, const char* prompt, bool confirm) {
  if (from_stdin || !::isatty(STDIN_FILENO)) {
    std::string line;
    std::getline(std::cin, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  auto first = read_line_no_echo(prompt);
  if (confirm && read_line_no_echo("again: ") != first) {
    std::cerr << "fvce: the two passwords differ\n";
    return {};
  }
  return first;
}

int login(const ClientOptions& o, std::string user, bool password_stdin, long ttl_s) {
  if (user.empty()) user = current_user();
  auto password = read_password(password_stdin, ("password for " + user + ": ").c_str(), false);
  model::LoginRequest req{user, password, std::nullopt};
  if (ttl_s > 0) req.ttl_s = static_cast<std::uint64_t>(ttl_s);
  auto res = exchange(o, Verb::post, "/auth/login", model::to_xml(req), false);
  if (failed(o, res)) return 1;
  auto doc = http::parse_body<model::TokenDoc>(res->body());
  if (!doc.ok()) {
    std::cerr << "fvce: " << o.node << " answered: " << doc.status().message() << "\n";
    return 1;
  }
  Credentials c;
  c.node = o.node;
  c.user = doc->user;
  c.token = doc->value;
  c.expires_ms = doc->expires.value_or(0);
  auto stored = load_credentials();
  std::string ca = !o.ca.empty() ? o.ca : (stored.ok() ? stored->ca : std::string());
  if (!ca.empty()) c.ca = std::filesystem::absolute(ca).string();
  if (auto s = save_credentials(c); !s.ok()) {
    std::cerr << "fvce: " << s.message() << "\n";
    return 1;
  }
  std::cout << "signed in at " << o.node << " as " << doc->user << " (" << doc->role
            << "); token stored in " << credentials_path().string() << "\n";
  return 0;
}

int logout(const ClientOptions& o) {
  auto res = exchange(o, Verb::post, "/auth/logout", {});
  bool bad = failed(o, res);
  if (auto s = remove_credentials(); !s.ok()) {
    std::cerr << "fvce: " << s.message() << "\n";
    return 1;
  }
  std::cout << "signed out" << (bad ? " here (the node did not void the token)" : "") << "\n";
  return bad ? 1 : 0;
}

int whoami(const ClientOptions& o) {
  auto res = exchange(o, Verb::get, "/auth/whoami", {});
  if (failed(o, res)) return 1;
  auto doc = http::parse_body<model::TokenDoc>(res->body());
  if (!doc.ok()) return 1;
  std::cout << doc->user << " (" << doc->role << ")\n";
  return 0;
}

int user_add(const ClientOptions& o, const std::string& name, const std::string& role,
             bool password_stdin) {
  auto password = read_password(password_stdin, ("new password for " + name + ": ").c_str(), true);
  auto res = exchange(o, Verb::post, "/auth/users",
                      model::to_xml(model::UserChange{name, role, password}));
  if (failed(o, res)) return 1;
  std::cout << "added " << name << " (" << (role.empty() ? "user" : role) << ")\n";
  return 0;
}

int user_list(const ClientOptions& o) {
  auto res = exchange(o, Verb::get, "/auth/users", {});
  if (failed(o, res)) return 1;
  if (o.xml) {
    std::cout << res->body();
    return 0;
  }
  auto list = http::parse_body<model::UserList>(res->body());
  if (!list.ok()) return 1;
  std::cout << "NAME  ROLE  CHANGED AT\n";
  for (const auto& u : list->users)
    std::cout << u.name << "  " << u.role << "  " << u.origin << "\n";
  return 0;
}

int user_passwd(const ClientOptions& o, const std::string& name, bool password_stdin) {
  auto password = read_password(password_stdin, ("new password for " + name + ": ").c_str(), true);
  auto res = exchange(o, Verb::post, "/auth/password",
                      model::to_xml(model::UserChange{name, "", password}));
  if (failed(o, res)) return 1;
  std::cout << "changed the password of " << name << "; their tokens no longer work\n";
  return 0;
}

int user_remove(const ClientOptions& o, const std::string& name) {
  auto res = exchange(o, Verb::delete_, http::target("/auth/users", {{"name", name}}), {});
  if (failed(o, res)) return 1;
  std::cout << "removed " << name << "\n";
  return 0;
}

int user_role(const ClientOptions& o, const std::string& name, const std::string& role) {
  auto res =
      exchange(o, Verb::post, "/auth/role", model::to_xml(model::UserChange{name, role, ""}));
  if (failed(o, res)) return 1;
  std::cout << name << " is now " << role << "\n";
  return 0;
}

}  // namespace fvce::cli
