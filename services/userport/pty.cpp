#include "services/userport/pty.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <thread>

#include "services/execute/impl/process.h"

namespace fvce::userport {

namespace asio = boost::asio;

namespace {

// What failed in the child, told to the parent through the error pipe.
enum Stage : int {
  kSession = 1,
  kTerminal,
  kDescriptors,
  kIdentity,
  kStillRoot,
  kParent,
  kCwd,
  kExec
};

const char* stage_name(int stage) {
  switch (stage) {
    case kSession:
      return "making a session";
    case kTerminal:
      return "taking the terminal";
    case kDescriptors:
      return "setting up its descriptors";
    case kIdentity:
      return "dropping to the account";
    case kStillRoot:
      return "closing the way back to root";
    case kParent:
      return "watching the node";
    case kCwd:
      return "entering its directory";
    case kExec:
      return "starting the shell";
  }
  return "starting";
}

struct Passwd {
  std::vector<char> buf = std::vector<char>(16384);
  struct passwd pw {};
};

bool by_uid(uid_t uid, Passwd& out) {
  struct passwd* found = nullptr;
  return ::getpwuid_r(uid, &out.pw, out.buf.data(), out.buf.size(), &found) == 0 && found;
}

// Everything the child touches is prepared before the fork: after it, only system calls.
struct ChildPlan {
  int slave = -1;
  int error_pipe = -1;
  pid_t parent = 0;
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* groups = nullptr;
  std::size_t n_groups = 0;
  const char* cwd = nullptr;
  const char* program = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
};

[[noreturn]] void child_fail(int fd, int stage) {
  int msg[2] = {stage, errno};
  ssize_t ignored = ::write(fd, msg, sizeof msg);
  (void)ignored;
  ::_exit(127);
}

[[noreturn]] void run_child(const ChildPlan& p) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  // Out of the way of 0, 1 and 2 first, whatever the node's own descriptors are.
  int err = ::fcntl(p.error_pipe, F_DUPFD_CLOEXEC, 10);
  if (err < 0) ::_exit(127);
  int slave = ::fcntl(p.slave, F_DUPFD, 10);
  if (slave < 0) child_fail(err, kDescriptors);
  if (::setsid() < 0) child_fail(err, kSession);
  if (::ioctl(slave, TIOCSCTTY, 0) < 0) child_fail(err, kTerminal);
  if (::dup2(slave, 0) < 0 || ::dup2(slave, 1) < 0 || ::dup2(slave, 2) < 0)
    child_fail(err, kDescriptors);
  if (::dup3(err, 3, O_CLOEXEC) < 0) child_fail(err, kDescriptors);
  err = 3;
  ::closefrom(4);
  if (p.switch_user) {
    if (::setgroups(p.n_groups, p.groups) != 0 || ::setgid(p.gid) != 0 || ::setuid(p.uid) != 0)
      child_fail(err, kIdentity);
    if (::setuid(0) == 0 || ::getuid() != p.uid || ::geteuid() != p.uid || ::getgid() != p.gid ||
        ::getegid() != p.gid) {
      errno = EPERM;
      child_fail(err, kStillRoot);
    }
  }
  if (::getuid() == 0 || ::geteuid() == 0) {
    errno = EPERM;
    child_fail(err, kStillRoot);
  }
  // After the change of identity, which clears it: the session hangs up with the node.
  if (::prctl(PR_SET_PDEATHSIG, SIGHUP) != 0 || ::getppid() != p.parent) child_fail(err, kParent);
  if (::chdir(p.cwd) != 0) child_fail(err, kCwd);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(p.program, p.argv, p.envp);
  child_fail(err, kExec);
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ShellExit::describe() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit status " + std::to_string(code);
}

Result<ShellAccount> shell_account(const execute::AccountMap& map, const std::string& user,
                                   bool node_is_root) {
  ShellAccount account;
  Passwd pw;
  if (node_is_root) {
    if (map.empty())
      return Status::Forbidden(
          "the node runs as root and maps no user to a local account (the execute service's "
          "parameter 'accounts'): a terminal never runs as root");
    auto id = execute::task_identity(map, user, true);
    if (!id.ok()) return Status::Forbidden("no terminal: " + id.status().message());
    if (!id->has_value())
      return Status::Forbidden("user '" + user + "' has no local account on this node");
    account.uid = (*id)->uid;
    account.gid = (*id)->gid;
    account.groups = (*id)->groups;
    account.switch_user = true;
    if (!by_uid(account.uid, pw))
      return Status::Forbidden("user '" + user + "' maps to uid " + std::to_string(account.uid) +
                               ", which is not in the password database");
  } else {
    account.uid = ::geteuid();
    account.gid = ::getegid();
    if (!by_uid(account.uid, pw))
      return Status::Forbidden("the node's account (uid " + std::to_string(account.uid) +
                               ") is not in the password database");
  }
  account.name = pw.pw.pw_name ? pw.pw.pw_name : "";
  account.home = pw.pw.pw_dir ? pw.pw.pw_dir : "";
  account.shell = pw.pw.pw_shell && *pw.pw.pw_shell ? pw.pw.pw_shell : "/bin/sh";
  if (account.uid == 0)
    return Status::Forbidden("user '" + user + "' would get a shell as root; a terminal never " +
                             "runs as root (map the user to an ordinary account)");
  std::string base = std::filesystem::path(account.shell).filename().string();
  if (base == "nologin" || base == "false" || account.shell.front() != '/' ||
      ::access(account.shell.c_str(), X_OK) != 0)
    return Status::Forbidden("local account '" + account.name + "' (of user '" + user +
                             "') has no login shell (" + account.shell +
                             "): give it one, or map the user to an account that has one");
  return account;
}

Result<std::unique_ptr<PtyShell>> PtyShell::Start(asio::any_io_executor executor,
                                                  const Options& options) {
  const auto& a = options.account;
  if (a.uid == 0 || (!a.switch_user && ::geteuid() == 0))
    return Status::Forbidden("a terminal never runs as root");
  auto sys = [](const std::string& what) {
    return Status::IOError(what + ": " + std::strerror(errno));
  };
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return sys("cannot open a pseudo-terminal");
  char name[128] = {};
  if (::grantpt(master) != 0 || ::unlockpt(master) != 0 ||
      ::ptsname_r(master, name, sizeof name) != 0) {
    Status s = sys("cannot set up a pseudo-terminal");
    ::close(master);
    return s;
  }
  int slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    Status s = sys(std::string("cannot open ") + name);
    ::close(master);
    return s;
  }
  struct winsize ws {};
  ws.ws_col = static_cast<unsigned short>(options.size.cols);
  ws.ws_row = static_cast<unsigned short>(options.size.rows);
  ::ioctl(master, TIOCSWINSZ, &ws);
  if (a.switch_user) {
    // The terminal becomes the account's, as login makes it (write(1) may reach it).
    struct group gr {};
    struct group* tty = nullptr;
    std::vector<char> buf(4096);
    gid_t tty_gid = ::getgrnam_r("tty", &gr, buf.data(), buf.size(), &tty) == 0 && tty
                        ? tty->gr_gid
                        : static_cast<gid_t>(-1);
    if (::fchown(slave, a.uid, tty_gid) != 0 || ::fchmod(slave, 0620) != 0) {
      Status s = sys(std::string("cannot give ") + name + " to uid " + std::to_string(a.uid));
      ::close(slave);
      ::close(master);
      return s;
    }
  }

  std::string home = a.home;
  std::error_code ec;
  if (home.empty() || !std::filesystem::is_directory(home, ec)) home = options.cwd.string();
  std::vector<std::string> env = {"TERM=xterm-256color", "HOME=" + home,     "USER=" + a.name,
                                  "LOGNAME=" + a.name,   "SHELL=" + a.shell, "PATH=" + options.path,
                                  "LANG=C.UTF-8"};
  env.insert(env.end(), options.env.begin(), options.env.end());
  std::vector<std::string> args = {"-" + std::filesystem::path(a.shell).filename().string()};
  auto envp = pointers(env);
  auto argv = pointers(args);
  std::string cwd = options.cwd.string();

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    Status s = sys("cannot make a pipe");
    ::close(slave);
    ::close(master);
    return s;
  }
  ChildPlan plan;
  plan.slave = slave;
  plan.error_pipe = pipe_fds[1];
  plan.parent = ::getpid();
  plan.switch_user = a.switch_user;
  plan.uid = a.uid;
  plan.gid = a.gid;
  plan.groups = a.groups.data();
  plan.n_groups = a.groups.size();
  plan.cwd = cwd.c_str();
  plan.program = a.shell.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();

  // No handler of the node may run in the child before it resets them.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  pid_t pid = ::fork();
  if (pid == 0) run_child(plan);
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(slave);
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    ::close(master);
    errno = fork_errno;
    return sys("cannot fork the shell");
  }
  // The pipe closes on exec: nothing read means the shell runs.
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(pipe_fds[0], msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  ::close(pipe_fds[0]);
  if (n > 0) {
    ::waitpid(pid, nullptr, 0);
    ::close(master);
    std::string why = std::string(stage_name(msg[0])) + " failed: " + std::strerror(msg[1]);
    if (msg[0] == kStillRoot) return Status::Forbidden("the shell of '" + a.name + "': " + why);
    if (msg[0] == kCwd) why += " (" + cwd + ")";
    if (msg[0] == kExec) why += " (" + a.shell + ")";
    return Status::IOError("the shell of '" + a.name + "': " + why);
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return std::unique_ptr<PtyShell>(new PtyShell(std::move(executor), master, pid, pidfd));
}

PtyShell::PtyShell(asio::any_io_executor executor, int master, pid_t pid, int pidfd)
    : executor_(executor), master_(executor, master), pid_(pid) {
  if (pidfd >= 0) pidfd_.emplace(executor, pidfd);
}

PtyShell::~PtyShell() {
  if (reaped_) return;
  signal_session(pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  // Dying after SIGKILL takes a moment; it is not waited for here.
  pid_t pid = pid_;
  std::thread([pid] { ::waitpid(pid, nullptr, 0); }).detach();
}

Status PtyShell::resize(WindowSize size) {
  struct winsize ws {};
  ws.ws_col = static_cast<unsigned short>(size.cols);
  ws.ws_row = static_cast<unsigned short>(size.rows);
  if (::ioctl(master_.native_handle(), TIOCSWINSZ, &ws) != 0)
    return Status::IOError(std::string("cannot resize the terminal: ") + std::strerror(errno));
  return Status::Ok();
}

bool PtyShell::check_exit() {
  if (exit_) return true;
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == EINTR) return false;
    exit_ = ShellExit{127, 0};  // reaped elsewhere
    reaped_ = true;
    return true;
  }
  if (info.si_pid == 0) return false;
  ShellExit e;
  if (info.si_code == CLD_EXITED)
    e.code = info.si_status;
  else
    e.signal = info.si_status;
  exit_ = e;
  return true;
}

asio::awaitable<std::optional<ShellExit>> PtyShell::wait_exit() {
  asio::steady_timer poll(executor_);
  while (!check_exit()) {
    if (cancelled_) co_return std::nullopt;
    boost::system::error_code ec;
    if (pidfd_) {
      co_await pidfd_->async_wait(asio::posix::descriptor_base::wait_read,
                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec && ec != asio::error::operation_aborted) pidfd_.reset();
    } else {
      poll.expires_after(std::chrono::milliseconds(50));
      co_await poll.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  co_return exit_;
}

void PtyShell::cancel_wait() {
  cancelled_ = true;
  if (pidfd_) pidfd_->cancel();
}

asio::awaitable<bool> PtyShell::wait_exit_for(std::chrono::milliseconds limit) {
  if (check_exit()) co_return true;
  cancelled_ = false;
  asio::steady_timer timer(executor_, limit);
  timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) cancel_wait();
  });
  auto done = co_await wait_exit();
  timer.cancel();
  co_return done.has_value();
}

asio::awaitable<void> PtyShell::terminate(std::chrono::milliseconds grace) {
  if (reaped_) co_return;
  // Closing the master hangs the terminal up as well (SIGHUP to its foreground group).
  boost::system::error_code ignored;
  master_.close(ignored);
  signal_session(pid_, SIGHUP);
  signal_session(pid_, SIGCONT);
  bool gone = co_await wait_exit_for(grace);
  // The shell's zombie keeps its id as the session's while the rest is found and killed.
  signal_session(pid_, SIGKILL);
  if (!gone) co_await wait_exit_for(std::chrono::seconds(5));
  if (exit_ && !reaped_ && ::waitpid(pid_, nullptr, WNOHANG) == pid_) reaped_ = true;
}

int signal_session(pid_t sid, int sig) {
  int n = 0;
  DIR* proc = ::opendir("/proc");
  if (!proc) return 0;
  while (auto* entry = ::readdir(proc)) {
    const char* name = entry->d_name;
    if (*name < '0' || *name > '9') continue;
    char path[300];
    std::snprintf(path, sizeof path, "/proc/%s/stat", name);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[512];
    ssize_t len = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (len <= 0) continue;
    buf[len] = 0;
    // "pid (comm) state ppid pgrp session ...": comm may hold anything but its last ')'.
    const char* close = std::strrchr(buf, ')');
    if (!close) continue;
    char state = 0;
    int ppid = 0, pgrp = 0, session = 0;
    if (std::sscanf(close + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) != 4) continue;
    if (session != sid || state == 'Z') continue;  // a zombie is past signals
    pid_t pid = static_cast<pid_t>(std::atoi(name));
    if (::kill(pid, sig) == 0) ++n;
  }
  ::closedir(proc);
  return n;
}

}  // namespace fvce::userport
