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
      out[t].never = true;
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
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    std::string why;
    if (fits(self, tasks[t], &why)) {
      out[t].hosts.push_back(self);
    } else {
      out[t].never = true;
      out[t].why_none = "this node " + why;
    }
  }
  co_return out;
}

}  // namespace fvce::schedule
