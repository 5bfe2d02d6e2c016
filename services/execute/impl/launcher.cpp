#include "services/execute/impl/launcher.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "spdlog/spdlog.h"

namespace fvce::execute {

namespace asio = boost::asio;

namespace {

void put_u32(std::string& s, std::uint32_t v) {
  s.append(reinterpret_cast<const char*>(&v), 4);
}
void put_u64(std::string& s, std::uint64_t v) {
  s.append(reinterpret_cast<const char*>(&v), 8);
}
void put_i32(std::string& s, std::int32_t v) {
  s.append(reinterpret_cast<const char*>(&v), 4);
}
void put_str(std::string& s, const std::string& v) {
  s.append(v);
  s.push_back('\0');
}

// Prefixes the frame (type + body) with its length.
std::string frame(std::string body) {
  std::string f;
  f.reserve(body.size() + 4);
  put_u32(f, static_cast<std::uint32_t>(body.size()));
  f.append(body);
  return f;
}

template <typename T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Sets attr so the child starts with default signal dispositions and an empty mask,
// whatever the node set for itself; `flags` adds POSIX_SPAWN_* flags.
void clean_signals(posix_spawnattr_t* attr, short flags) {
  sigset_t defaults, empty;
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  sigemptyset(&empty);
  posix_spawnattr_setflags(
      attr, static_cast<short>(flags | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
  posix_spawnattr_setsigdefault(attr, &defaults);
  posix_spawnattr_setsigmask(attr, &empty);
}

}  // namespace

Result<std::shared_ptr<Launcher>> Launcher::Start(asio::io_context& ioc, std::string program,
                                                  int nice) {
  if (::access(program.c_str(), X_OK) != 0)
    return Status::IOError("the task launcher " + program +
                           " is missing or not executable: " + std::strerror(errno));
  std::shared_ptr<Launcher> l(new Launcher(ioc, std::move(program), nice));
  {
    std::lock_guard lock(l->mu_);
    auto s = l->launch_locked();
    if (!s.ok()) return s;
  }
  asio::co_spawn(l->strand_, l->read_loop(), asio::detached);
  return l;
}

Launcher::Launcher(asio::io_context& ioc, std::string program, int nice)
    : program_(std::move(program)),
      nice_(nice),
      strand_(asio::make_strand(ioc)),
      socket_(strand_) {}

Launcher::~Launcher() {
  boost::system::error_code ec;
  socket_.close(ec);
  if (pid_ > 0) ::waitpid(pid_, nullptr, WNOHANG);
}

pid_t Launcher::launcher_pid() const {
  std::lock_guard lock(mu_);
  return pid_;
}

Status Launcher::launch_locked() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Status::IOError(std::string("socketpair for the task launcher: ") +
                           std::strerror(errno));
  // The launcher's end becomes its fd 3. Duplicated above 3 first, so the dup2 in the child
  // always changes the number (which is what clears close-on-exec).
  int child_end = ::fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
  ::close(sv[1]);
  if (child_end < 0) {
    ::close(sv[0]);
    return Status::IOError(std::string("dup for the task launcher: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, child_end, 3);
  posix_spawn_file_actions_addclosefrom_np(&fa, 4);
  // A process group of its own: a signal to the node's group must not reach it.
  clean_signals(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::string nice_text = std::to_string(nice_);
  char* argv[] = {const_cast<char*>("fvce-exec"), const_cast<char*>("3"), nice_text.data(),
                  nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program_.c_str(), &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(child_end);
  if (rc != 0) {
    ::close(sv[0]);
    return Status::IOError("cannot start the task launcher " + program_ + ": " + std::strerror(rc));
  }
  boost::system::error_code ec;
  socket_.assign(asio::local::stream_protocol(), sv[0], ec);
  if (ec) {
    ::close(sv[0]);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return Status::IOError("cannot use the task launcher's socket: " + ec.message());
  }
  pid_ = pid;
  return Status::Ok();
}

void Launcher::spawn(std::uint64_t id, const Spec& spec, std::shared_ptr<Channel> events) {
  request(id, 0, spec, std::move(events));
}

void Launcher::spawn_after(std::uint64_t id, std::uint64_t after, const Spec& spec,
                           std::shared_ptr<Channel> events) {
  request(id, after, spec, std::move(events));
}

void Launcher::request(std::uint64_t id, std::uint64_t after, const Spec& spec,
                       std::shared_ptr<Channel> events) {
  std::uint64_t gen = 0;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      Event e;
      e.kind = Event::failed;
      std::snprintf(e.message, sizeof e.message, "the executor is stopping");
      events->try_send(boost::system::error_code{}, e);
      return;
    }
    waiters_[id] = std::move(events);
    gen = generation_;
  }
  std::string body;
  body.push_back(after ? 'Q' : 'S');
  put_u64(body, id);
  if (after) put_u64(body, after);
  put_str(body, spec.program);
  put_str(body, spec.cwd);
  put_str(body, spec.out);
  put_str(body, spec.err);
  put_u32(body, static_cast<std::uint32_t>(spec.argv.size()));
  for (const auto& a : spec.argv) put_str(body, a);
  put_u32(body, static_cast<std::uint32_t>(spec.env.size()));
  for (const auto& e : spec.env) put_str(body, e);
  put_u32(body, spec.run_as ? 1 : 0);
  if (spec.run_as) {
    put_u32(body, static_cast<std::uint32_t>(spec.run_as->uid));
    put_u32(body, static_cast<std::uint32_t>(spec.run_as->gid));
    put_u32(body, static_cast<std::uint32_t>(spec.run_as->groups.size()));
    for (gid_t g : spec.run_as->groups) put_u32(body, static_cast<std::uint32_t>(g));
  }
  put_u64(body, spec.data_limit);
  put_u64(body, spec.cpu_limit_s);
  put_u32(body, static_cast<std::uint32_t>(spec.cgroup_procs.size()));
  for (const auto& g : spec.cgroup_procs) put_str(body, g);
  send(gen, frame(std::move(body)));
}

void Launcher::signal(std::uint64_t id, int sig) {
  std::string body;
  body.push_back('K');
  put_u64(body, id);
  put_i32(body, sig);
  std::uint64_t gen = 0;
  {
    std::lock_guard lock(mu_);
    gen = generation_;
  }
  send(gen, frame(std::move(body)));
}

void Launcher::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  auto self = shared_from_this();
  asio::post(strand_, [self] {
    boost::system::error_code ec;
    self->socket_.shutdown(asio::socket_base::shutdown_both, ec);
    self->socket_.close(ec);
  });
  // The launcher kills what still runs; nothing more will be heard of those tasks.
  lose_all();
}

void Launcher::send(std::uint64_t gen, std::string f) {
  auto self = shared_from_this();
  asio::post(strand_, [self, gen, f = std::move(f)]() mutable {
    {
      // Meant for a launcher that has died since: its task was reported lost, and the new
      // launcher must not start it behind its waiter's back.
      std::lock_guard lock(self->mu_);
      if (gen != self->generation_) return;
    }
    self->out_.push_back(std::move(f));
    if (!self->writing_) self->write_next();
  });
}

void Launcher::write_next() {
  if (out_.empty() || !socket_.is_open()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  auto self = shared_from_this();
  std::uint64_t gen = 0;
  {
    std::lock_guard lock(mu_);
    gen = generation_;
  }
  asio::async_write(
      socket_, asio::buffer(out_.front()),
      asio::bind_executor(strand_, [self, gen](boost::system::error_code ec, std::size_t) {
        {
          // A write to a launcher lost since: the queue is the new one's.
          std::lock_guard lock(self->mu_);
          if (gen != self->generation_) return;
        }
        if (ec) {
          // The read loop sees the same end and relaunches; what was queued
          // belongs to tasks it reports lost.
          self->out_.clear();
          self->writing_ = false;
          return;
        }
        self->out_.pop_front();
        self->write_next();
      }));
}

void Launcher::deliver(std::uint64_t id, const Event& e, bool last) {
  std::lock_guard lock(mu_);
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  it->second->try_send(boost::system::error_code{}, e);
  if (last) waiters_.erase(it);
}

void Launcher::lose_all() {
  std::map<std::uint64_t, std::shared_ptr<Channel>> lost;
  {
    std::lock_guard lock(mu_);
    lost.swap(waiters_);
    ++generation_;  // what was asked of the launcher so far is void
  }
  Event e;
  e.kind = Event::lost;
  for (auto& [id, ch] : lost) ch->try_send(boost::system::error_code{}, e);
}

asio::awaitable<void> Launcher::read_loop() {
  auto self = shared_from_this();
  std::vector<char> buf(1 << 16);
  std::size_t have = 0;
  for (;;) {
    boost::system::error_code ec;
    std::size_t n =
        co_await socket_.async_read_some(asio::buffer(buf.data() + have, buf.size() - have),
                                         asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      pid_t old;
      bool stopping;
      {
        std::lock_guard lock(mu_);
        old = pid_;
        pid_ = -1;
        stopping = stopping_;
      }
      if (stopping) {
        // It is killing its tasks and exiting; not waited for here (a task stuck in the
        // kernel must not hold up the node's shutdown). The node reaps it if it is quick.
        if (old > 0) ::waitpid(old, nullptr, WNOHANG);
        co_return;
      }
      if (old > 0) ::waitpid(old, nullptr, 0);  // it died: its socket closed with it
      spdlog::error(
          "execute: the task launcher {} ended ({}); its tasks are lost, starting it "
          "again",
          program_, ec.message());
      lose_all();
      boost::system::error_code ignored;
      socket_.close(ignored);
      out_.clear();
      writing_ = false;
      have = 0;
      Status s;
      {
        std::lock_guard lock(mu_);
        s = launch_locked();
      }
      if (!s.ok()) {
        spdlog::error("execute: {}; tasks cannot start on this host", s.message());
        std::lock_guard lock(mu_);
        stopping_ = true;
        co_return;
      }
      continue;
    }
    have += n;
    std::size_t off = 0;
    while (have - off >= 5) {
      auto len = get<std::uint32_t>(buf.data() + off);
      if (have - off - 4 < len) break;
      const char* p = buf.data() + off + 4;
      char type = p[0];
      Event e;
      if (type == 'P' && len >= 13) {
        e.kind = Event::started;
        e.pid = get<std::int32_t>(p + 9);
        deliver(get<std::uint64_t>(p + 1), e, false);
      } else if (type == 'F' && len >= 13) {
        e.kind = Event::failed;
        std::size_t text = std::min<std::size_t>(len - 13, sizeof e.message - 1);
        std::memcpy(e.message, p + 13, text);
        e.message[text] = '\0';
        deliver(get<std::uint64_t>(p + 1), e, true);
      } else if (type == 'X' && len >= 37) {
        e.kind = Event::exited;
        e.wait_status = get<std::int32_t>(p + 9);
        e.max_rss_kib = get<std::int64_t>(p + 13);
        e.utime_us = get<std::int64_t>(p + 21);
        e.stime_us = get<std::int64_t>(p + 29);
        deliver(get<std::uint64_t>(p + 1), e, true);
      }
      off += 4 + len;
    }
    std::memmove(buf.data(), buf.data() + off, have - off);
    have -= off;
    if (have == buf.size()) buf.resize(buf.size() * 2);
  }
}

}  // namespace fvce::execute
