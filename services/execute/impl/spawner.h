// How the process impl starts task processes: a Spawner spawns, signals and reaps them and
// tells each task's coroutine what became of it. Two implementations sit beside it (as
// muduo keeps Poller abstract with its implementations in their own files):
//   launcher.h        one long-lived fvce-exec process spawns, reaps and measures the tasks
//                     (the default: a task's max RSS is its own, and the node never forks);
//   direct_spawner.h  the node spawns them itself, from its worker pool.
// Both start a task the same way (spawn_child.h): its own process group, clean signals,
// stdin /dev/null, capture files, SIGKILL when its spawner dies; when the task's leader
// exits, whatever it left in its group is killed.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <sys/types.h>

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fvce::execute {

class Spawner {
 public:
  struct Spec {
    std::string program;            // absolute path
    std::vector<std::string> argv;  // argv[0] first
    std::vector<std::string> env;   // NAME=value
    std::string cwd;
    std::string out, err;  // capture files, created (truncated) by the spawner
    // Whom it runs as (a node running as root runs each task as its owner's mapped local
    // account); unset: as the spawner's own user.
    struct Identity {
      uid_t uid = 0;
      gid_t gid = 0;
      std::vector<gid_t> groups;
    };
    std::optional<Identity> run_as;
    // Limits from the task's declared needs (spawn_child.h); 0 = none.
    std::uint64_t data_limit = 0;   // bytes
    std::uint64_t cpu_limit_s = 0;  // seconds of CPU
    // The cgroup.procs files of the task's control groups (cgroup.h), joined in the child.
    std::vector<std::string> cgroup_procs;
  };
  // Trivially destructible on purpose: it crosses co_await (see docs/architecture.md).
  struct Event {
    enum Kind { started, failed, exited, lost } kind = lost;
    pid_t pid = 0;
    int wait_status = 0;
    std::int64_t max_rss_kib = 0, utime_us = 0, stime_us = 0;
    char message[480] = {};  // failed, lost: what happened
  };
  using Channel =
      boost::asio::experimental::concurrent_channel<void(boost::system::error_code, Event)>;

  virtual ~Spawner() = default;

  // Asks for task `id` (unique for this spawner) to be started. Its events arrive on *events,
  // which must buffer at least 2: first `started` (with the pid) or `failed`, then `exited`
  // (status and resource use) or `lost` (its end will not be known: the spawner died or
  // stopped, and the task's processes were killed).
  virtual void spawn(std::uint64_t id, const Spec& spec, std::shared_ptr<Channel> events) = 0;
  // Whether spawn_after() is offered.
  virtual bool spawns_after() const { return false; }
  // As spawn(), but task `id` starts the moment task `after` (spawned here) has been reaped —
  // at once if it already has — without waiting for anyone to hear of that end. Until then
  // signal(id, SIGKILL) withdraws it (`failed`). Only when spawns_after().
  // A spawner without it refuses (`failed`): starting the task at once could run more tasks
  // than there are slots.
  virtual void spawn_after(std::uint64_t id, std::uint64_t after, const Spec& spec,
                           std::shared_ptr<Channel> events) {
    (void)id;
    (void)after;
    (void)spec;
    Event e;
    e.kind = Event::failed;
    std::snprintf(e.message, sizeof e.message, "this spawner cannot start a task after another");
    events->try_send(boost::system::error_code{}, e);
  }
  // Sends sig to the process group of task `id` while it runs; nothing once it was reaped
  // (a signal never reaches a reused pid). A task still waiting in spawn_after() is withdrawn
  // instead, whatever the signal.
  virtual void signal(std::uint64_t id, int sig) = 0;
  // Kills every task still running, at once, and refuses new ones (`failed`). Idempotent.
  virtual void stop() = 0;
  // The launcher's process id (tests); -1 when there is none.
  virtual pid_t launcher_pid() const { return -1; }
};

}  // namespace fvce::execute
