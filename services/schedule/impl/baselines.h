// Baseline schedulers, for comparison with random-adaptive:
//   "round-robin": every fitting live member in turn, ignoring load and speed.
//   "local": everything on this node, never more cores at once than its slots and as many
//            waiting (the cores it has in flight are counted, so its executor is not flooded
//            with assignments it must refuse).
#pragma once

#include <memory>
#include <mutex>

#include "services/register/logic.h"
#include "services/schedule/logic.h"

namespace fvce::schedule {

class RoundRobin final : public ScheduleLogic {
 public:
  explicit RoundRobin(std::shared_ptr<reg::MembershipView> members)
      : members_(std::move(members)) {}
  boost::asio::awaitable<std::vector<Placement>> place(std::vector<TaskNeeds> tasks) override;
  void dispatched(const std::string&, int) override {}
  void refused(const std::string&, int) override {}
  void declined(const std::string&, int) override {}
  void finished(const std::string&, int, std::int64_t, std::int64_t, bool) override {}
  void abandoned(const std::string&, int) override {}

 private:
  std::shared_ptr<reg::MembershipView> members_;
  std::mutex mu_;
  std::size_t next_ = 0;
};

class LocalOnly final : public ScheduleLogic {
 public:
  explicit LocalOnly(std::shared_ptr<reg::MembershipView> members) : members_(std::move(members)) {}
  boost::asio::awaitable<std::vector<Placement>> place(std::vector<TaskNeeds> tasks) override;
  void dispatched(const std::string&, int cores) override;
  void refused(const std::string&, int cores) override;
  void declined(const std::string&, int cores) override;
  void finished(const std::string&, int cores, std::int64_t, std::int64_t, bool) override;
  void abandoned(const std::string&, int cores) override;

 private:
  std::shared_ptr<reg::MembershipView> members_;
  std::mutex mu_;
  int pending_ = 0;   // cores placed, not yet accepted or refused
  int inflight_ = 0;  // cores accepted, not yet finished
};

}  // namespace fvce::schedule
