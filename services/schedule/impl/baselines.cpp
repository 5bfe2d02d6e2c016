#include "services/schedule/impl/baselines.h"

#include "services/schedule/impl/random_adaptive.h"

namespace fvce::schedule {

namespace asio = boost::asio;

asio::awaitable<std::vector<Placement>> RoundRobin::place(std::vector<TaskNeeds> tasks) {
  std::vector<Placement> out(tasks.size());
  auto live = members_->live_members();
  std::lock_guard lock(mu_);
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    std::vector<model::Member> fit;
    for (const auto& m : live)
      if (m.state == model::MemberState::alive && fits(m, tasks[t])) fit.push_back(m);
    if (fit.empty()) {
      out[t].no_room = NoRoom::never;
      out[t].why_none = "no live member can run it";
      continue;
    }
    for (std::size_t i = 0; i < std::min<std::size_t>(3, fit.size()); ++i)
      out[t].hosts.push_back(fit[(next_ + i) % fit.size()]);
    ++next_;
  }
  co_return out;
}

asio::awaitable<std::vector<Placement>> LocalOnly::place(std::vector<TaskNeeds> tasks) {
  std::vector<Placement> out(tasks.size());
  auto self = members_->self();
  std::lock_guard lock(mu_);
  // Room: the slots, and as many again waiting in the executor's queue (its default).
  int capacity = 2 * std::max(1, self.host.slots);
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    std::string why;
    int cores = std::max(1, tasks[t].cores);
    if (fits(self, tasks[t], &why)) {
      if (pending_ + inflight_ + cores > capacity) {  // not now: when one ends
        out[t].no_room = NoRoom::ours;
        out[t].why_none = "waiting for a slot on this node";
        continue;
      }
      pending_ += cores;
      out[t].hosts.push_back(self);
    } else {
      out[t].no_room = NoRoom::never;
      out[t].why_none = "this node " + why;
    }
  }
  co_return out;
}

void LocalOnly::dispatched(const std::string&, int cores) {
  std::lock_guard lock(mu_);
  pending_ = std::max(0, pending_ - cores);
  inflight_ += cores;
}
void LocalOnly::refused(const std::string&, int cores) {
  std::lock_guard lock(mu_);
  pending_ = std::max(0, pending_ - cores);
}
void LocalOnly::declined(const std::string&, int cores) {
  std::lock_guard lock(mu_);
  pending_ = std::max(0, pending_ - cores);
}
void LocalOnly::finished(const std::string&, int cores, std::int64_t, std::int64_t, bool) {
  std::lock_guard lock(mu_);
  inflight_ = std::max(0, inflight_ - cores);
}
void LocalOnly::abandoned(const std::string&, int cores) {
  std::lock_guard lock(mu_);
  inflight_ = std::max(0, inflight_ - cores);
}

}  // namespace fvce::schedule
