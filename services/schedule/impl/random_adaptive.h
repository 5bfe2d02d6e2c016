// schedule impl "random-adaptive": the randomized adaptive peer scheduler.
//
//  1. Candidates: live members whose static info fits the task (slots, cores, memory).
//  2. Draw d candidates per task (d·m for a batch of m) without replacement, with
//     probability proportional to speed × adaptive factor.
//  3. Ask only the sampled hosts for their load (in parallel; answers cached briefly). A
//     sample is corrected by what this scheduler learned since it was taken: its own tasks
//     that ended there free their cores at once, whatever the sample said.
//  4. Drop hosts past the overload thresholds (queue, load per core), and hosts that
//     refused a task a moment ago.
//  5. Rank by earliest estimated finish: queue wait + cost / speed + moving the inputs
//     that are not already there.
//  6. (The submitter dispatches to the first and falls back to the next on refusal.)
//  7. Feedback: the factor of a host moves (EWMA) toward expected / observed run time;
//     failures lower it; success lets it recover.
// docs/scheduling.md has the details. Thread-safe (one mutex, never held across co_await).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "node/core/clock.h"
#include "node/core/status.h"
#include "node/model/host.h"
#include "services/register/logic.h"
#include "services/schedule/logic.h"

namespace fvce::schedule {

struct RandomAdaptiveConfig {
  int sample = 2;                           // d: hosts drawn per task
  std::chrono::milliseconds load_ttl{250};  // how long a host's load answer is reused
  std::chrono::milliseconds load_timeout{300};
  double overload_queue = 1.0;  // drop a host whose queue ≥ this × its slots
  double overload_load = 4.0;   // drop a host whose 1-min load ≥ this × its cores
  double ewma = 0.3;            // weight of a new observation in the factor
  double bandwidth = 100e6;     // bytes/s assumed for moving inputs
  std::chrono::milliseconds refused_pause{200};  // avoid a host that refused, this long
  int ranked = 3;                                // hosts returned per task
};

// Fetches the current load of a member (InfoRemote in the node, a fake in tests).
using LoadFetcher =
    std::function<boost::asio::awaitable<Result<model::HostLoad>>(const model::Member&)>;

class RandomAdaptive final : public ScheduleLogic {
 public:
  RandomAdaptive(std::shared_ptr<reg::MembershipView> members, LoadFetcher fetch,
                 const Clock& clock, Rng rng, RandomAdaptiveConfig config);

  boost::asio::awaitable<std::vector<Placement>> place(std::vector<TaskNeeds> tasks) override;
  void dispatched(const std::string& host_id, int cores) override;
  void refused(const std::string& host_id, int cores) override;
  void declined(const std::string& host_id, int cores) override;
  void finished(const std::string& host_id, int cores, std::int64_t cost_ms,
                std::int64_t observed_ms, bool success) override;
  void abandoned(const std::string& host_id, int cores) override;

  // The adaptive factor of a host (1 = runs as its speed predicts). For tests and metrics.
  double factor(const std::string& host_id) const;

 private:
  struct HostState {
    double factor = 1.0;
    int inflight = 0;  // cores of our tasks dispatched there that have not finished
    int pending = 0;   // cores placed there by place(), not yet accepted or refused
    std::optional<model::HostLoad> load;
    int ours_at_load = 0;  // inflight + pending when that load was asked for
    std::chrono::steady_clock::time_point load_at{};
    std::chrono::steady_clock::time_point refused_until{};
  };
  double speed_of(const model::Member& m) const;
  double run_ms(const model::Member& m, const HostState& h, const TaskNeeds& t) const;

  std::shared_ptr<reg::MembershipView> members_;
  LoadFetcher fetch_;
  const Clock& clock_;
  RandomAdaptiveConfig config_;
  mutable std::mutex mu_;
  Rng rng_;
  std::map<std::string, HostState> hosts_;
  double mean_cost_ms_ = 1000;  // observed cost of tasks that did not declare one
  bool have_mean_ = false;
};

}  // namespace fvce::schedule
