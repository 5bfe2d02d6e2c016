// The info service: what a host is (static) and how busy it is (dynamic).
//
// Implementations: "statgrab" (measures this machine with libstatgrab) and "declared"
// (capacity stated in deploy.xml, so one machine can host a heterogeneous federation).
// InfoRemote speaks the same interface to a peer.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include "node/core/status.h"
#include "node/model/host.h"

namespace fvce::info {

// The wire interface. Callers: the info resource (GET /info/host, /info/load, /info/history),
// the scheduler's load probes and FederationInfo (both through Peers), the register service
// (the static info it carries to the federation).
//
// Every method may be co_awaited from any executor and never blocks a thread; a local impl
// completes inline, a remote one on the caller's executor once the peer answered. Results are
// values the caller owns. A remote stub adds the errors of Peers (unavailable or timeout when
// the peer cannot be reached) to those listed here.
class InfoLogic {
 public:
  virtual ~InfoLogic() = default;

  // What the host is: cores, CPU model, memory, disk, OS, arch, calibrated speed, task
  // slots. Fixed once the node has started (slots are set before the node joins). A local
  // impl never fails.
  virtual boost::asio::awaitable<Result<model::HostStatic>> static_info() = 0;

  // The host's dynamic state: load averages, CPU use, free memory, free slots and the cores
  // waiting in the execute queue, stamped with the time it was measured (unix ms). A local
  // impl measures at most once per max-age (1 s): within it, every caller gets the same
  // sample — so two callers never split one CPU window — and the slot figures are those of
  // that moment; callers that know better (the scheduler, from its own reports) correct
  // them. Errors: unavailable when the host cannot be measured (libstatgrab failed).
  virtual boost::asio::awaitable<Result<model::HostLoad>> load() = 0;

  // The host's periodic samples (one per sample-interval, kept for `history`), oldest first:
  // those taken after `since` (unix ms; 0 = all kept). Empty before the first sample. A local
  // impl never fails.
  virtual boost::asio::awaitable<Result<model::LoadHistory>> history(std::int64_t since) = 0;
};

// What the local implementations have beyond the wire interface; the composition root
// (node/node.cpp) drives it. It owns its sampler and history ring; the slot source it is
// given belongs to the execute service and is called without any info lock held.
class LocalInfo : public InfoLogic {
 public:
  // What the execute service says of this host now: free slots and the cores waiting for
  // them, whether it takes new work, and its work root's free disk.
  struct ExecuteNow {
    int free_slots = 0;
    int queue = 0;
    std::string down;  // "" when it takes new work
    std::uint64_t disk_free = 0, disk_total = 0;
  };
  // Supplied by the execute service once it exists. Called from any thread; must be cheap
  // and thread-safe.
  using SlotSource = std::function<ExecuteNow()>;

  // Static info without a coroutine, for the node's own start-up. Thread-safe.
  virtual model::HostStatic static_now() const = 0;
  // Starts periodic sampling into the history ring (a first sample at once). Call once,
  // from the node; later calls do nothing.
  virtual void start() = 0;
  // Stops sampling. Idempotent; call from any thread. load() still answers afterwards.
  virtual void stop() = 0;
  // Installs the source of free slots and queue length. Call before start().
  virtual void set_slot_source(SlotSource source) = 0;
  // Sets the task slots advertised in the static info. Call before the register service is
  // built (it carries the static info to the federation).
  virtual void set_slots(int slots) = 0;
};

}  // namespace fvce::info
