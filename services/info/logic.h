// The info service: what a host is (static) and how busy it is (dynamic).
//
// Implementations: "statgrab" (measures this machine with libstatgrab) and "declared"
// (capacity stated in deploy.xml, so one machine can host a heterogeneous federation).
// InfoRemote speaks the same interface to a peer.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>

#include "node/core/status.h"
#include "node/model/host.h"

namespace fvce::info {

class InfoLogic {
 public:
  virtual ~InfoLogic() = default;

  // What the host is: cores, CPU, memory, disk, OS, arch, calibrated speed, slots.
  // Fixed once the node has started. May run on any executor.
  virtual boost::asio::awaitable<Result<model::HostStatic>> static_info() = 0;

  // A fresh sample of the host's dynamic state. Errors: unavailable when the host cannot
  // be reached (remote) or measured.
  virtual boost::asio::awaitable<Result<model::HostLoad>> load() = 0;

  // The host's own recent samples, oldest first, those taken after since (unix ms; 0 = all).
  virtual boost::asio::awaitable<Result<model::LoadHistory>> history(std::int64_t since) = 0;
};

// What the local implementations have beyond the wire interface.
class LocalInfo : public InfoLogic {
 public:
  // Free slots and queue length, supplied by the execute service once it exists.
  using SlotSource = std::function<std::pair<int, int>()>;

  // Static info without a coroutine, for the node's own start-up. Thread-safe.
  virtual model::HostStatic static_now() const = 0;
  // Starts periodic sampling into the history ring. Call once, from the node.
  virtual void start() = 0;
  // Stops sampling. Call from any thread.
  virtual void stop() = 0;
  // Installs the source of free slots and queue length. Call before start().
  virtual void set_slot_source(SlotSource source) = 0;
  // Sets the task slots advertised in the static info. Call before the register service is
  // built (it carries the static info to the federation).
  virtual void set_slots(int slots) = 0;
};

}  // namespace fvce::info
