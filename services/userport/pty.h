// A login shell in a pseudo-terminal, as a user's mapped local account: the shell of the web
// user port's terminal (terminal.h).
//
// The shell leads a session of its own with the pty as its controlling terminal. Its master
// side is read and written in the io_context (a non-blocking stream_descriptor), its exit is
// seen through a pidfd: no thread ever blocks on a shell.
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/core/status.h"
#include "services/execute/accounts.h"

namespace fvce::userport {

// The local account a user's shell runs as, with what its login needs.
struct ShellAccount {
  std::string name;  // the local account's name
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
  std::string home;           // its home directory (from the password database)
  std::string shell;          // its login shell, an absolute path
  // True when the node switches to this account (it runs as root); false: the account is
  // the node's own.
  bool switch_user = false;
};

// The account user's shell runs as: with node_is_root, the account the execute service's map
// gives (the rule tasks follow, execute/impl/process.h); otherwise the node's own account.
// Never root. Blocking (the password and group databases). Errors (forbidden): the user is
// unmapped, the account does not exist, is root or in group root, or has no login shell
// (nologin, false) — each naming the user, the account and what to change.
Result<ShellAccount> shell_account(const execute::AccountMap& map, const std::string& user,
                                   bool node_is_root);

// The window size of a terminal: at least 1, at most kMaxWindow each way.
inline constexpr unsigned kMaxWindow = 1000;
struct WindowSize {
  unsigned cols = 80;
  unsigned rows = 24;
};

// How a shell ended.
struct ShellExit {
  int code = 0;                  // its exit code, when it exited
  int signal = 0;                // the signal that killed it; 0 when it exited
  std::string describe() const;  // "exit status 0", "killed by signal 9"
};

// One shell in a pty. Used from one executor (the one it was started with). Destroying it
// kills whatever is left of its session (SIGKILL) and reaps the shell.
class PtyShell {
 public:
  struct Options {
    ShellAccount account;
    std::filesystem::path cwd;  // entered as the account: it must be theirs to enter
    WindowSize size;
    // NAME=value, besides TERM, HOME, USER, LOGNAME, SHELL, PATH and LANG (which it sets).
    std::vector<std::string> env;
    std::string path = "/usr/local/bin:/usr/bin:/bin";  // PATH
  };

  // Starts the account's login shell (argv[0] "-NAME", as login does) in a new pty. Blocking
  // for the fork and until the child has exec'ed: call it off the I/O threads. Errors:
  // io-error (no pty, fork), forbidden (root, or the way back to root stayed open), or the
  // errno of what failed in the child (entering cwd, exec), named.
  static Result<std::unique_ptr<PtyShell>> Start(boost::asio::any_io_executor executor,
                                                 const Options& options);
  ~PtyShell();
  PtyShell(const PtyShell&) = delete;
  PtyShell& operator=(const PtyShell&) = delete;

  pid_t pid() const { return pid_; }
  // The pty's master side: what the shell writes is read here, what is written here is its
  // input. A read fails (EIO) once no process holds the terminal open any more.
  boost::asio::posix::stream_descriptor& master() { return master_; }

  Status resize(WindowSize size);

  // Waits until the shell has exited (it is not reaped yet: its process id stays its own, so
  // what is left of its session can still be found and signalled). Returns at once when it
  // has. nullopt when cancel_wait() ended the wait first.
  boost::asio::awaitable<std::optional<ShellExit>> wait_exit();
  void cancel_wait();
  const std::optional<ShellExit>& exit() const { return exit_; }

  // Ends the session: SIGHUP (and SIGCONT) to every process of it, then, after grace,
  // SIGKILL to those left, and reaps the shell. Returns when the shell is reaped (or, should
  // it outlive its SIGKILL, after a few seconds more; the destructor reaps it then).
  boost::asio::awaitable<void> terminate(std::chrono::milliseconds grace);

 private:
  PtyShell(boost::asio::any_io_executor executor, int master, pid_t pid, int pidfd);
  bool check_exit();  // sets exit_ once the shell has exited (without reaping it)
  boost::asio::awaitable<bool> wait_exit_for(std::chrono::milliseconds limit);

  boost::asio::any_io_executor executor_;
  boost::asio::posix::stream_descriptor master_;
  std::optional<boost::asio::posix::stream_descriptor> pidfd_;
  pid_t pid_ = -1;
  std::optional<ShellExit> exit_;
  bool reaped_ = false;
  bool cancelled_ = false;
};

// Sends sig to every process of session sid (found in /proc). How many it signalled.
int signal_session(pid_t sid, int sig);

}  // namespace fvce::userport
