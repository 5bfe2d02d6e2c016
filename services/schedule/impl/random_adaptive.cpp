#include "services/schedule/impl/random_adaptive.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <set>

namespace fvce::schedule {

namespace asio = boost::asio;
using model::Member;

bool fits(const Member& m, const TaskNeeds& t, std::string* why) {
  if (m.host.slots <= 0) {
    if (why) *why = "offers no task slots";
    return false;
  }
  if (t.cores > m.host.slots || t.cores > m.host.cores) {
    if (why) *why = "has " + std::to_string(std::min(m.host.slots, m.host.cores)) + " slots";
    return false;
  }
  if (t.memory > 0 && m.host.memory > 0 && t.memory > m.host.memory) {
    if (why) *why = "has less memory than the task needs";
    return false;
  }
  return true;
}

RandomAdaptive::RandomAdaptive(std::shared_ptr<reg::MembershipView> members, LoadFetcher fetch,
                               const Clock& clock, Rng rng, RandomAdaptiveConfig config)
    : members_(std::move(members)),
      fetch_(std::move(fetch)),
      clock_(clock),
      config_(config),
      rng_(rng) {}

double RandomAdaptive::speed_of(const Member& m) const {
  return m.host.speed > 0 ? m.host.speed : 1000.0;
}

double RandomAdaptive::run_ms(const Member& m, const HostState& h, const TaskNeeds& t) const {
  double cost = t.cost_ms > 0 ? static_cast<double>(t.cost_ms) : mean_cost_ms_;
  return cost * 1000.0 / (speed_of(m) * h.factor);
}

asio::awaitable<std::vector<Placement>> RandomAdaptive::place(std::vector<TaskNeeds> tasks) {
  std::vector<Placement> out(tasks.size());
  if (tasks.empty()) co_return out;
  auto live = members_->live_members();
  auto now = clock_.now();

  // 1. Candidates that fit the batch's first task (a batch shares its needs in practice;
  //    each task is checked again below).
  std::vector<Member> candidates;
  std::string why_last;
  for (const auto& m : live) {
    if (m.state != model::MemberState::alive) continue;
    std::string why;
    if (fits(m, tasks.front(), &why))
      candidates.push_back(m);
    else
      why_last = m.name + " " + why;
  }
  if (candidates.empty()) {
    for (auto& p : out) {
      p.no_room = NoRoom::never;
      p.why_none = "no live member can run it (" +
                   (why_last.empty() ? std::string("no members") : why_last) + ")";
    }
    co_return out;
  }

  // 2. Weighted sampling without replacement (Efraimidis–Spirakis keys u^(1/w)).
  std::size_t k = std::min(candidates.size(),
                           static_cast<std::size_t>(std::max(1, config_.sample)) * tasks.size());
  std::vector<Member> sampled;
  {
    std::lock_guard lock(mu_);
    std::uniform_real_distribution<double> u(1e-12, 1.0);
    std::vector<std::pair<double, std::size_t>> keys;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      double w = speed_of(candidates[i]) * hosts_[candidates[i].id].factor;
      keys.emplace_back(std::log(u(rng_)) / std::max(w, 1e-9), i);
    }
    std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(k), keys.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t i = 0; i < k; ++i) sampled.push_back(candidates[keys[i].second]);
  }

  // 3. Loads of the sampled hosts whose cached answer is stale, asked in parallel. What we
  //    had there when we asked is remembered, to correct the answer later (step 5).
  std::vector<Member> stale;
  std::vector<int> ours_when_asked;
  {
    std::lock_guard lock(mu_);
    for (const auto& m : sampled) {
      auto& h = hosts_[m.id];
      if (!h.load || now - h.load_at > config_.load_ttl) {
        stale.push_back(m);
        ours_when_asked.push_back(h.inflight + h.pending);
      }
    }
  }
  if (!stale.empty()) {
    struct Gather {
      explicit Gather(asio::any_io_executor ex) : done(ex, std::chrono::seconds(10)) {}
      std::vector<std::optional<model::HostLoad>> loads;
      std::size_t pending = 0;
      asio::steady_timer done;
    };
    auto ex = co_await asio::this_coro::executor;
    auto g = std::make_shared<Gather>(ex);
    g->loads.resize(stale.size());
    g->pending = stale.size();
    auto mu = std::make_shared<std::mutex>();
    for (std::size_t i = 0; i < stale.size(); ++i) {
      asio::co_spawn(
          ex,
          [g, i, mu, fetch = fetch_, m = stale[i]]() -> asio::awaitable<void> {
            auto load = co_await fetch(m);
            std::lock_guard lock(*mu);
            if (load.ok()) g->loads[i] = *load;
            if (--g->pending == 0) g->done.cancel();
          },
          asio::detached);
    }
    bool wait;
    {
      std::lock_guard lock(*mu);
      wait = g->pending > 0;
    }
    if (wait) co_await g->done.async_wait(asio::as_tuple(asio::use_awaitable));
    std::lock_guard lock(mu_);
    std::lock_guard lock2(*mu);
    for (std::size_t i = 0; i < stale.size(); ++i) {
      auto& h = hosts_[stale[i].id];
      if (g->loads[i]) {
        h.load = g->loads[i];
        h.ours_at_load = ours_when_asked[i];
        h.load_at = clock_.now();
      } else {
        // No answer: treat it as refusing for a moment; the membership decides if it died.
        h.refused_until = clock_.now() + config_.refused_pause;
      }
    }
  }

  // 4. + 5. Filter overloaded hosts and rank by estimated finish, task by task, counting
  // what this batch already put on each host. All counts are in cores.
  std::lock_guard lock(mu_);
  now = clock_.now();
  struct Candidate {
    const Member* m;
    HostState* h;
    int slots;
    int capacity;   // ours never exceed this (slots and queue)
    int others;     // cores of others' work (from its last sample)
    int batch = 0;  // cores this batch put there so far
    bool overloaded = false;
  };
  std::vector<Candidate> cands;
  cands.reserve(sampled.size());
  bool any_ok = false;
  for (const auto& m : sampled) {
    auto& h = hosts_[m.id];
    Candidate c{&m, &h, std::max(1, m.host.slots), 0, 0};
    c.capacity = static_cast<int>(c.slots * (1 + std::max(0.0, config_.overload_queue)));
    // Others' work: what the host held beyond ours when it was sampled. Our tasks that ended
    // since free their cores at once, and ours placed since count at once: a sample never
    // holds back a host known to have room.
    if (h.load) {
      int busy = std::clamp(c.slots - h.load->free_slots, 0, c.slots);
      c.others = std::max(0, busy + h.load->queue - h.ours_at_load);
    }
    // Overload is judged once per batch, on what the hosts held when it began: while one
    // sampled host is not overloaded, the overloaded ones get nothing from this batch (its
    // tasks rather wait for room than queue behind others' work).
    c.overloaded = h.inflight + h.pending + c.others >= c.capacity ||
                   (h.load && h.load->load1 >= config_.overload_load * std::max(1, m.host.cores));
    any_ok = any_ok || !c.overloaded;
    cands.push_back(c);
  }
  // A task that found no room because every host it fits is full of ours: the next tasks of
  // the batch with the same needs (or larger) cannot find any either.
  std::optional<std::pair<int, std::uint64_t>> no_room_for;
  std::vector<std::pair<double, Candidate*>> ranked;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    auto& p = out[t];
    int cores = std::max(1, tasks[t].cores);
    if (no_room_for && cores >= no_room_for->first && tasks[t].memory >= no_room_for->second) {
      p.no_room = NoRoom::ours;
      p.why_none = "waiting for a slot: the hosts it fits are full of this workflow's tasks";
      continue;
    }
    ranked.clear();
    bool full_of_ours = false, other_reason = false;
    for (auto& c : cands) {
      if (!fits(*c.m, tasks[t])) continue;
      if (any_ok && c.overloaded) {
        other_reason = true;
        continue;
      }
      int ours = c.h->inflight + c.h->pending + c.batch;
      if (ours + cores > c.capacity) {
        full_of_ours = true;
        continue;
      }
      // Others' work with ours would pass what the host holds: it would only refuse.
      if (ours + c.others + cores > c.capacity) {
        other_reason = true;
        continue;
      }
      if (now < c.h->refused_until) {
        other_reason = true;
        continue;
      }
      // It failed tasks for reasons of its own (a full disk, a dead launcher): it takes no
      // new work until it says it recovered.
      if (c.h->load && !c.h->load->down.empty()) {
        other_reason = true;
        continue;
      }
      int ahead = ours + c.others;
      double run = run_ms(*c.m, *c.h, tasks[t]);
      double wait = ahead + cores <= c.slots
                        ? 0.0
                        : (static_cast<double>(ahead + cores - c.slots) / c.slots) * run;
      double transfer = 0;
      for (const auto& [where, bytes] : tasks[t].inputs)
        if (where != c.m->address)
          transfer += static_cast<double>(bytes) / config_.bandwidth * 1000.0;
      // A host to avoid (its last attempt failed there) comes after every other.
      const auto& avoid = tasks[t].avoid;
      double last = std::find(avoid.begin(), avoid.end(), c.m->id) != avoid.end() ? 1e18 : 0.0;
      ranked.emplace_back(last + wait + run + transfer, &c);
    }
    std::sort(ranked.begin(), ranked.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < ranked.size() && static_cast<int>(i) < config_.ranked; ++i)
      p.hosts.push_back(*ranked[i].second->m);
    if (p.hosts.empty()) {
      bool ours_only = full_of_ours && !other_reason;
      p.no_room = ours_only ? NoRoom::ours : NoRoom::others;
      p.why_none = ours_only
                       ? "waiting for a slot: the hosts it fits are full of this workflow's tasks"
                       : "waiting for a slot: every sampled host is busy";
      if (ours_only) no_room_for = std::pair<int, std::uint64_t>{cores, tasks[t].memory};
    } else {
      ranked.front().second->batch += cores;
    }
  }
  // Reserve what was placed, until the host accepts or refuses it.
  for (auto& c : cands) c.h->pending += c.batch;
  co_return out;
}

void RandomAdaptive::dispatched(const std::string& host_id, int cores) {
  std::lock_guard lock(mu_);
  auto& h = hosts_[host_id];
  h.inflight += cores;
  h.pending = std::max(0, h.pending - cores);
}

void RandomAdaptive::refused(const std::string& host_id, int cores) {
  std::lock_guard lock(mu_);
  auto& h = hosts_[host_id];
  h.pending = std::max(0, h.pending - cores);
  h.refused_until = clock_.now() + config_.refused_pause;
  h.load.reset();  // ask again next time
}

void RandomAdaptive::declined(const std::string& host_id, int cores) {
  std::lock_guard lock(mu_);
  auto& h = hosts_[host_id];
  h.pending = std::max(0, h.pending - cores);
}

void RandomAdaptive::abandoned(const std::string& host_id, int cores) {
  std::lock_guard lock(mu_);
  auto& h = hosts_[host_id];
  h.inflight = std::max(0, h.inflight - cores);
}

void RandomAdaptive::finished(const std::string& host_id, int cores, std::int64_t cost_ms,
                              std::int64_t observed_ms, bool success) {
  auto m = members_->find(host_id);
  std::lock_guard lock(mu_);
  auto& h = hosts_[host_id];
  h.inflight = std::max(0, h.inflight - cores);
  double a = config_.ewma;
  if (!success) {
    h.factor = std::max(0.05, h.factor * (1 - a));
    return;
  }
  if (!m || observed_ms <= 0) return;
  double speed = speed_of(*m);
  // Expected time at the current factor; the factor moves toward the one that would have
  // predicted the observation.
  double cost = cost_ms > 0 ? static_cast<double>(cost_ms) : mean_cost_ms_;
  double expected = cost * 1000.0 / (speed * h.factor);
  double ratio = std::clamp(expected / static_cast<double>(observed_ms), 0.1, 10.0);
  h.factor = std::clamp(h.factor * (1 - a + a * ratio), 0.05, 20.0);
  if (cost_ms <= 0) {
    // What this task would have cost on a speed-1000 host, to learn the typical cost.
    double normalised = static_cast<double>(observed_ms) * speed * h.factor / 1000.0;
    mean_cost_ms_ = have_mean_ ? (1 - a) * mean_cost_ms_ + a * normalised : normalised;
    have_mean_ = true;
  }
}

double RandomAdaptive::factor(const std::string& host_id) const {
  std::lock_guard lock(mu_);
  auto it = hosts_.find(host_id);
  return it == hosts_.end() ? 1.0 : it->second.factor;
}

}  // namespace fvce::schedule
