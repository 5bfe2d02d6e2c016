// The terminal's shell: a login shell in a pty as the mapped account, and the accounts it
// refuses.
#include "services/userport/pty.h"

#include <doctest/doctest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace fvce::userport {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The account a test shell runs as: nobody (with /bin/sh) when the tests run as root, else
// the tests' own account.
ShellAccount test_account() {
  ShellAccount a;
  a.shell = "/bin/sh";
  if (::geteuid() == 0) {
    a.name = "nobody";
    a.uid = 65534;
    a.gid = 65534;
    a.groups = {65534};
    a.home = "/nonexistent";
    a.switch_user = true;
  } else {
    a.name = "me";
    a.uid = ::geteuid();
    a.gid = ::getegid();
  }
  return a;
}

// A directory the account may enter.
fs::path account_dir(const ShellAccount& a) {
  fs::path dir = fs::temp_directory_path() / ("fvce-pty-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  if (a.switch_user) REQUIRE(::chown(dir.c_str(), a.uid, a.gid) == 0);
  ::chmod(dir.c_str(), 0700);
  return dir;
}

// Reads the shell's output until it holds want (true) or the deadline passes or the terminal
// closes (false).
asio::awaitable<bool> read_until(PtyShell& shell, std::string& out, const std::string& want,
                                 std::chrono::steady_clock::time_point deadline) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex, deadline);
  bool expired = false;
  timer.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) {
      expired = true;
      boost::system::error_code ignored;
      shell.master().cancel(ignored);
    }
  });
  char buf[4096];
  while (out.find(want) == std::string::npos && !expired) {
    boost::system::error_code ec;
    std::size_t n = co_await shell.master().async_read_some(
        asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    out.append(buf, n);
  }
  timer.cancel();
  co_return out.find(want) != std::string::npos;
}

asio::awaitable<void> type(PtyShell& shell, std::string text) {
  co_await asio::async_write(shell.master(), asio::buffer(text), asio::use_awaitable);
}

TEST_CASE("a pty shell runs as the account in its directory, echoes, resizes, exits") {
  asio::io_context ioc;
  auto account = test_account();
  auto dir = account_dir(account);
  PtyShell::Options o;
  o.account = account;
  o.cwd = dir;
  o.size = {80, 24};
  auto shell = PtyShell::Start(ioc.get_executor(), o);
  REQUIRE_MESSAGE(shell.ok(), shell.status().message());
  auto& sh = **shell;

  bool echoed = false, first_size = false, resized = false, ended = false;
  std::string out, env_out, size_out;
  std::optional<ShellExit> exit;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto deadline = std::chrono::steady_clock::now() + 10s;
        co_await type(sh, "echo hi-$((6*7)) uid=$(id -u) pwd=$(pwd) term=$TERM\n");
        std::string want = "hi-42 uid=" + std::to_string(account.uid) + " pwd=" + dir.string() +
                           " term=xterm-256color";
        echoed = co_await read_until(sh, out, want, deadline);
        co_await type(sh, "echo size=$(stty size)\n");
        first_size = co_await read_until(sh, size_out, "size=24 80", deadline);
        CHECK(sh.resize({132, 50}).ok());
        co_await type(sh, "echo size=$(stty size)\n");
        resized = co_await read_until(sh, size_out, "size=50 132", deadline);
        co_await type(sh, "exit 3\n");
        std::string rest;
        co_await read_until(sh, rest, "never printed", deadline);  // ends with EIO
        exit = co_await sh.wait_exit();
        co_await sh.terminate(1s);
        ended = true;
      },
      asio::detached);
  ioc.run_for(20s);
  CHECK_MESSAGE(echoed, out);
  CHECK_MESSAGE(first_size, size_out);
  CHECK_MESSAGE(resized, size_out);
  REQUIRE(ended);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 3);
  CHECK(exit->signal == 0);
  CHECK(exit->describe() == "exit status 3");
  shell->reset();
  fs::remove_all(dir);
}

TEST_CASE("terminate hangs the session up and kills what ignores the hang-up") {
  asio::io_context ioc;
  auto account = test_account();
  auto dir = account_dir(account);
  PtyShell::Options o;
  o.account = account;
  o.cwd = dir;
  auto shell = PtyShell::Start(ioc.get_executor(), o);
  REQUIRE_MESSAGE(shell.ok(), shell.status().message());
  auto& sh = **shell;
  pid_t sid = sh.pid();
  bool started = false, ended = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto deadline = std::chrono::steady_clock::now() + 10s;
        // A job that ignores SIGHUP, in the shell's session.
        co_await type(sh, "trap '' HUP; sleep 300 & echo started-$((1+1))\n");
        std::string out;
        started = co_await read_until(sh, out, "started-2", deadline);
        co_await sh.terminate(200ms);
        ended = true;
      },
      asio::detached);
  ioc.run_for(15s);
  CHECK(started);
  CHECK(ended);
  CHECK(sh.exit().has_value());
  // Nothing of the session is left (SIGKILL takes effect a moment after it is sent).
  int left = -1;
  for (int i = 0; i < 100 && left != 0; ++i) {
    left = signal_session(sid, 0);
    if (left != 0) std::this_thread::sleep_for(10ms);
  }
  CHECK(left == 0);
  shell->reset();
  fs::remove_all(dir);
}

TEST_CASE("a shell never runs as root: root, unmapped, missing map, no login shell") {
  using execute::AccountMap;
  auto root = shell_account(*AccountMap::Parse("alice=root"), "alice", true);
  REQUIRE_FALSE(root.ok());
  CHECK(root.status().code() == ErrorCode::forbidden);
  CHECK(root.status().message().find("root") != std::string::npos);

  auto unmapped = shell_account(*AccountMap::Parse("alice=nobody"), "bob", true);
  REQUIRE_FALSE(unmapped.ok());
  CHECK(unmapped.status().message().find("'bob' has no local account") != std::string::npos);

  auto no_map = shell_account(AccountMap{}, "alice", true);
  REQUIRE_FALSE(no_map.ok());
  CHECK(no_map.status().message().find("never runs as root") != std::string::npos);

  auto missing = shell_account(*AccountMap::Parse("*=no-such-account-here"), "alice", true);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("does not exist") != std::string::npos);

  if (const passwd* nobody = ::getpwnam("nobody");
      nobody && std::string(nobody->pw_shell).ends_with("nologin")) {
    auto nologin = shell_account(*AccountMap::Parse("alice=nobody"), "alice", true);
    REQUIRE_FALSE(nologin.ok());
    CHECK(nologin.status().message().find("has no login shell") != std::string::npos);
  }

  // Not switching accounts, the shell is the node's own account's: never when that is root.
  auto own = shell_account(AccountMap{}, "alice", false);
  if (::geteuid() == 0) {
    REQUIRE_FALSE(own.ok());
    CHECK(own.status().message().find("as root") != std::string::npos);
  } else if (own.ok()) {
    CHECK(own->uid == ::geteuid());
    CHECK_FALSE(own->switch_user);
  }

  // Nor does the pty start one, whatever it is handed.
  asio::io_context ioc;
  PtyShell::Options o;
  o.account.name = "root";
  o.account.shell = "/bin/sh";
  o.account.switch_user = true;
  o.cwd = "/";
  auto started = PtyShell::Start(ioc.get_executor(), o);
  REQUIRE_FALSE(started.ok());
  CHECK(started.status().code() == ErrorCode::forbidden);
}

}  // namespace
}  // namespace fvce::userport
