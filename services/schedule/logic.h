// The schedule service: where each ready task should run.
//
// The submit service asks place() for a batch of ready tasks (e.g. the ready part of a task
// array) and gets, for each task, a short ranked list of hosts to try in order: when a host
// refuses (its pool is full), the submitter tries the next, and reports the refusal so the
// next placement avoids that host for a moment. The other methods keep the scheduler's
// picture of its own work in flight exact — in cores, per host — and feed back observed run
// times. Every placement place() returns is settled by exactly one of dispatched(),
// refused() or declined(); every dispatched task by exactly one of finished() or abandoned().
//
// Impls (services/schedule/impl/): "random-adaptive" (the randomized adaptive peer
// algorithm, docs/scheduling.md), "round-robin" and "local" (baselines). Only the submit
// service of this node calls it; every method is thread-safe and none blocks.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "node/model/member.h"

namespace fvce::schedule {

struct TaskNeeds {
  int cores = 1;
  std::uint64_t memory = 0;  // bytes; 0 = not stated
  std::int64_t cost_ms = 0;  // expected run time on a host of speed 1000; 0 = unknown
  // Where the task's inputs are: (address of the node holding it, bytes).
  std::vector<std::pair<std::string, std::uint64_t>> inputs;
  // Hosts (ids) to rank last, used only when no other host can take it: where its previous
  // attempt failed, so that a retry runs elsewhere where it can.
  std::vector<std::string> avoid;
};

// Whether m's static info can ever run a task with these needs; else why not (e.g. "has 2
// slots"). Defined with the random-adaptive impl; every impl and the submitter use it.
bool fits(const model::Member& m, const TaskNeeds& t, std::string* why = nullptr);

// Why a task got no host.
enum class NoRoom {
  none,    // it got hosts
  ours,    // every fitting host is full of this scheduler's own tasks: one of them ending
           // (finished, abandoned) makes room, so waiting for that is enough
  others,  // the hosts are busy with work this scheduler did not place, refused a moment
           // ago, or did not answer: room comes without notice; try again after a while
  never,   // no live member could ever run it (its static needs)
};

struct Placement {
  std::vector<model::Member> hosts;  // best first; empty when no host can take it now
  NoRoom no_room = NoRoom::none;     // when empty: why
  std::string why_none;              // when empty: what to tell the user
};

class ScheduleLogic {
 public:
  virtual ~ScheduleLogic() = default;

  // Ranked hosts for each task of the batch (same order as tasks). Reserves the task's cores
  // on the first host until the placement is settled. May ask the sampled hosts for their
  // load (with a deadline).
  virtual boost::asio::awaitable<std::vector<Placement>> place(std::vector<TaskNeeds> tasks) = 0;

  // The task (of `cores` cores) was handed to host_id, which accepted it.
  virtual void dispatched(const std::string& host_id, int cores) = 0;
  // host_id refused it (pool full): avoid the host briefly.
  virtual void refused(const std::string& host_id, int cores) = 0;
  // A placement on host_id was not used (the task was cancelled, or the host answered with
  // an error other than a refusal).
  virtual void declined(const std::string& host_id, int cores) = 0;
  // A task dispatched to host_id ended (success or not) after observed_ms of running;
  // cost_ms is its declared cost (0 = unknown). Feeds the adaptive factor of the host.
  virtual void finished(const std::string& host_id, int cores, std::int64_t cost_ms,
                        std::int64_t observed_ms, bool success) = 0;
  // A task dispatched to host_id will not finish there (host lost, task cancelled).
  virtual void abandoned(const std::string& host_id, int cores) = 0;
};

}  // namespace fvce::schedule
