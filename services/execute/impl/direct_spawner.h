// The direct spawner (execute param launcher="direct"): the node starts the task processes
// itself, on its worker pool (spawn_child.h), and waits for each through a pidfd. A task's
// max RSS then includes the address space it was spawned from (the node's), which is why
// the fvce-exec launcher is the default. See spawner.h.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <mutex>

#include "services/execute/impl/spawner.h"

namespace fvce::execute {

class DirectSpawner final : public Spawner, public std::enable_shared_from_this<DirectSpawner> {
 public:
  // workers may be null (spawns then run on the caller's thread).
  static std::shared_ptr<DirectSpawner> Create(boost::asio::io_context& ioc,
                                               boost::asio::thread_pool* workers);

  void spawn(std::uint64_t id, const Spec& spec, std::shared_ptr<Channel> events) override;
  void signal(std::uint64_t id, int sig) override;
  void stop() override;

 private:
  struct Child {
    pid_t pid = 0;
    bool reaped = false;
    std::shared_ptr<Channel> events;
  };
  DirectSpawner(boost::asio::io_context& ioc, boost::asio::thread_pool* workers)
      : ioc_(ioc), workers_(workers) {}
  boost::asio::awaitable<void> run(std::uint64_t id, Spec spec, std::shared_ptr<Channel> events);
  // Reaps the child once it has exited (killing the rest of its group first). mu_ held.
  bool try_reap_locked(Child& c, Event& e);

  boost::asio::io_context& ioc_;
  boost::asio::thread_pool* workers_;
  std::mutex mu_;
  bool stopping_ = false;
  std::map<std::uint64_t, Child> children_;
};

}  // namespace fvce::execute
