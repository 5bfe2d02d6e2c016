#include "services/execute/impl/direct_spawner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "node/core/workers.h"
#include "services/execute/impl/spawn_child.h"

namespace fvce::execute {

namespace asio = boost::asio;

namespace {

Spawner::Event failed(const std::string& what) {
  Spawner::Event e;
  e.kind = Spawner::Event::failed;
  std::snprintf(e.message, sizeof e.message, "%s", what.c_str());
  return e;
}

struct Started {
  pid_t pid = -1;
  std::string error;
};

// Blocking: opens the capture files and starts the child.
Started start(const Spawner::Spec& spec) {
  Started r;
  // Not following a link: a capture file is a new name in the task's directory.
  int out = ::open(spec.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0) {
    r.error = "cannot create " + spec.out + ": " + std::strerror(errno);
    return r;
  }
  int err = ::open(spec.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (err < 0) {
    r.error = "cannot create " + spec.err + ": " + std::strerror(errno);
    ::close(out);
    return r;
  }
  std::vector<char*> argv, envp;
  for (const auto& s : spec.argv) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (const auto& s : spec.env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  int error = 0;
  fvce_spawn_identity who{};
  if (spec.run_as) {
    who.uid = spec.run_as->uid;
    who.gid = spec.run_as->gid;
    who.groups = spec.run_as->groups.data();
    who.n_groups = static_cast<int>(spec.run_as->groups.size());
  }
  std::vector<const char*> cgroups;
  for (const auto& g : spec.cgroup_procs) cgroups.push_back(g.c_str());
  cgroups.push_back(nullptr);
  fvce_spawn_limits limits{spec.data_limit, spec.cpu_limit_s, cgroups.data()};
  r.pid = fvce_spawn_child(spec.program.c_str(), argv.data(), envp.data(), spec.cwd.c_str(), out,
                           err, 0, spec.run_as ? &who : nullptr, &limits, &error);
  ::close(out);
  ::close(err);
  if (r.pid < 0) r.error = "cannot start " + spec.program + ": " + std::strerror(error);
  return r;
}

}  // namespace

std::shared_ptr<DirectSpawner> DirectSpawner::Create(asio::io_context& ioc,
                                                     asio::thread_pool* workers) {
  return std::shared_ptr<DirectSpawner>(new DirectSpawner(ioc, workers));
}

void DirectSpawner::spawn(std::uint64_t id, const Spec& spec, std::shared_ptr<Channel> events) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      events->try_send(boost::system::error_code{}, failed("the executor is stopping"));
      return;
    }
  }
  asio::co_spawn(asio::make_strand(ioc_), run(id, spec, std::move(events)), asio::detached);
}

asio::awaitable<void> DirectSpawner::run(std::uint64_t id, Spec spec,
                                         std::shared_ptr<Channel> events) {
  auto self = shared_from_this();
  Started s = co_await on_workers(workers_, [&] { return start(spec); });
  if (s.pid < 0) {
    events->try_send(boost::system::error_code{}, failed(s.error));
    co_return;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) ::kill(-s.pid, SIGKILL);
    children_[id] = Child{s.pid, false, events};
  }
  Event started;
  started.kind = Event::started;
  started.pid = s.pid;
  events->try_send(boost::system::error_code{}, started);

  // A pidfd becomes readable when the process exits: one wait, no thread blocked. Polling
  // only without pidfd (kernels before 5.3) or after a spurious wake-up.
  auto ex = co_await asio::this_coro::executor;
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0));
  std::optional<asio::posix::stream_descriptor> pidfd;
  if (fd >= 0) pidfd.emplace(ex, fd);
  asio::steady_timer timer(ex);
  for (;;) {
    Event e;
    {
      std::lock_guard lock(mu_);
      auto it = children_.find(id);
      if (it == children_.end()) co_return;
      if (try_reap_locked(it->second, e)) {
        children_.erase(it);
        events->try_send(boost::system::error_code{}, e);
        co_return;
      }
    }
    boost::system::error_code ec;
    if (pidfd) {
      co_await pidfd->async_wait(asio::posix::descriptor_base::wait_read,
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) pidfd.reset();
    } else {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
}

bool DirectSpawner::try_reap_locked(Child& c, Event& e) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(c.pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == EINTR) return false;
    c.reaped = true;  // ECHILD: reaped by someone else
    e.kind = Event::lost;
    std::snprintf(e.message, sizeof e.message, "the task's process was reaped elsewhere");
    return true;
  }
  if (info.si_pid == 0) return false;
  ::kill(-c.pid, SIGKILL);  // the rest of its group, while the zombie leader pins the id
  rusage usage{};
  int status = 0;
  if (::wait4(c.pid, &status, WNOHANG, &usage) != c.pid) return false;
  c.reaped = true;
  e.kind = Event::exited;
  e.pid = c.pid;
  e.wait_status = status;
  e.max_rss_kib = usage.ru_maxrss;
  e.utime_us =
      static_cast<std::int64_t>(usage.ru_utime.tv_sec) * 1'000'000 + usage.ru_utime.tv_usec;
  e.stime_us =
      static_cast<std::int64_t>(usage.ru_stime.tv_sec) * 1'000'000 + usage.ru_stime.tv_usec;
  return true;
}

void DirectSpawner::signal(std::uint64_t id, int sig) {
  std::lock_guard lock(mu_);
  auto it = children_.find(id);
  if (it != children_.end() && !it->second.reaped) ::kill(-it->second.pid, sig);
}

void DirectSpawner::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  for (auto& [id, c] : children_)
    if (!c.reaped) ::kill(-c.pid, SIGKILL);
}

}  // namespace fvce::execute
