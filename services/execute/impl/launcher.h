// The node's side of fvce-exec (services/execute/fvce_exec.c): one long-lived launcher
// process per executor that spawns the tasks, reaps them and reports their exit and resource
// use over a socketpair.
//
// Tasks are spawned from a tiny process rather than from the node, so that their maximum RSS
// is their own (Linux charges a process with the address space it was spawned from) and no
// node thread waits for a fork of a large address space. Requests are written
// asynchronously; the answers are read by one coroutine and handed to each task through its
// own channel: first `started` (with the pid) or `failed`, then `exited` — or `lost` if the
// launcher died, in which case it is started again for the next tasks.
//
// Signals go through the launcher too, by task id, so a signal never reaches a reaped (and
// possibly reused) pid. When the node ends, the launcher sees end of file, kills every task
// still running and exits: no task outlives its node.
//
// Thread-safety: every public method may be called from any thread. Socket work happens on
// one strand; the waiter table is guarded by mu_.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
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

namespace fvce::execute {

// Sets attr so the child starts with default signal dispositions and an empty mask,
// whatever the node set for itself; `flags` adds POSIX_SPAWN_* flags.
void clean_signals(posix_spawnattr_t* attr, short flags);

class Launcher : public std::enable_shared_from_this<Launcher> {
 public:
  struct Spec {
    std::string program;            // absolute path
    std::vector<std::string> argv;  // argv[0] first
    std::vector<std::string> env;   // NAME=value
    std::string cwd;
    std::string out, err;  // capture files, created (truncated) by the launcher
  };
  // Trivially destructible on purpose: it crosses co_await (see docs/architecture.md).
  struct Event {
    enum Kind { started, failed, exited, lost } kind = lost;
    pid_t pid = 0;
    int wait_status = 0;
    std::int64_t max_rss_kib = 0, utime_us = 0, stime_us = 0;
    char message[480] = {};  // failed: what could not be done
  };
  using Channel =
      boost::asio::experimental::concurrent_channel<void(boost::system::error_code, Event)>;

  // Starts `program` (fvce-exec) with tasks at nice level `nice`. Errors: io-error when it
  // cannot be started.
  static Result<std::shared_ptr<Launcher>> Start(boost::asio::io_context& ioc, std::string program,
                                                 int nice);
  ~Launcher();

  // Asks for the task `id` (unique for this launcher) to be spawned; its events arrive on
  // *events, which must buffer at least 2.
  void spawn(std::uint64_t id, const Spec& spec, std::shared_ptr<Channel> events);
  // Sends `sig` to the process group of task `id`, if it is still running.
  void signal(std::uint64_t id, int sig);
  // Closes the socket: the launcher kills the tasks still running and exits.
  void stop();

  pid_t pid() const;

 private:
  Launcher(boost::asio::io_context& ioc, std::string program, int nice);
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
