// The node's side of fvce-exec (services/execute/fvce_exec.c): one long-lived launcher
// process per executor that spawns the tasks, reaps them and reports their exit and resource
// use over a socketpair. A Spawner (spawner.h).
//
// Tasks are spawned from a tiny process rather than from the node, so that their maximum RSS
// is their own (Linux charges a process with the address space it was spawned from) and no
// node thread waits for a fork of a large address space. Requests are written
// asynchronously; the answers are read by one coroutine and handed to each task through its
// own channel: first `started` (with the pid) or `failed`, then `exited` — or `lost` if the
// launcher died, in which case it is started again for the next tasks. A task may be queued
// in the launcher behind a running one (spawn_after): it starts the moment that one is
// reaped, before the node has heard of the end.
//
// Signals go through the launcher too, by task id, so a signal never reaches a reaped (and
// possibly reused) pid. When the node ends, the launcher sees end of file, kills every task
// still running and exits: no task outlives its node. The launcher runs in a process group of
// its own, so a signal meant for the node's group (a terminal's ^C, a service manager's
// SIGTERM) does not end it before the node has stopped its tasks; its tasks get SIGKILL as
// their parent-death signal, so they end even if the launcher is killed outright.
//
// Thread-safety: every public method may be called from any thread. Socket work happens on
// one strand; the waiter table is guarded by mu_.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "node/core/status.h"
#include "services/execute/impl/spawner.h"

namespace fvce::execute {

class Launcher final : public Spawner, public std::enable_shared_from_this<Launcher> {
 public:
  // Starts `program` (fvce-exec) with tasks at nice level `nice`. Errors: io-error when it
  // cannot be started.
  static Result<std::shared_ptr<Launcher>> Start(boost::asio::io_context& ioc, std::string program,
                                                 int nice);
  ~Launcher();

  void spawn(std::uint64_t id, const Spec& spec, std::shared_ptr<Channel> events) override;
  bool spawns_after() const override { return true; }
  void spawn_after(std::uint64_t id, std::uint64_t after, const Spec& spec,
                   std::shared_ptr<Channel> events) override;
  void signal(std::uint64_t id, int sig) override;
  // Closes the socket: the launcher kills the tasks still running and exits.
  void stop() override;
  pid_t launcher_pid() const override;

 private:
  Launcher(boost::asio::io_context& ioc, std::string program, int nice);
  // spawn() and spawn_after(): 'S' with after == 0, else 'Q'.
  void request(std::uint64_t id, std::uint64_t after, const Spec& spec,
               std::shared_ptr<Channel> events);
  Status launch_locked();  // starts the process; call with mu_ held, on strand_ or before use
  void send(std::uint64_t generation, std::string frame);
  void write_next();  // on strand_
  boost::asio::awaitable<void> read_loop();
  void deliver(std::uint64_t id, const Event& e, bool last);
  void lose_all();

  const std::string program_;
  const int nice_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::basic_stream_socket<boost::asio::local::stream_protocol,
                                   boost::asio::strand<boost::asio::io_context::executor_type>>
      socket_;                   // used on strand_ only
  std::deque<std::string> out_;  // frames to write, on strand_ only
  bool writing_ = false;         // on strand_ only

  mutable std::mutex mu_;
  pid_t pid_ = -1;
  bool stopping_ = false;
  std::uint64_t generation_ = 0;  // one more each time the launcher is lost
  std::map<std::uint64_t, std::shared_ptr<Channel>> waiters_;
};

}  // namespace fvce::execute
