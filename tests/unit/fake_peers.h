// Peers for tests that want no network: each service is a fake the test installs by address;
// a service the test did not install answers unavailable, as an unreachable peer would.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "node/peers/peers.h"
#include "services/execute/logic.h"
#include "services/file/logic.h"
#include "services/info/logic.h"
#include "services/register/logic.h"
#include "services/submit/logic.h"

namespace fvce::test {

// A submit service that is not there.
class AbsentSubmit : public submit::SubmitLogic {
 public:
  template <typename T>
  static Result<T> nobody() {
    return Status::Unavailable("no such peer in this test");
  }
  boost::asio::awaitable<Result<model::Submitted>> submit(model::WorkflowDoc,
                                                          std::string) override {
    co_return nobody<model::Submitted>();
  }
  boost::asio::awaitable<Result<model::WorkflowList>> workflows(submit::WorkflowQuery) override {
    co_return nobody<model::WorkflowList>();
  }
  boost::asio::awaitable<Result<model::WorkflowStatus>> status(std::string, submit::TaskDetail,
                                                               std::chrono::milliseconds) override {
    co_return nobody<model::WorkflowStatus>();
  }
  boost::asio::awaitable<Result<model::WorkflowView>> view(std::string,
                                                           submit::ViewQuery) override {
    co_return nobody<model::WorkflowView>();
  }
  boost::asio::awaitable<Result<std::string>> owner_of(std::string) override {
    co_return nobody<std::string>();
  }
  boost::asio::awaitable<Status> cancel(std::string) override {
    co_return Status::Unavailable("no such peer in this test");
  }
  boost::asio::awaitable<Status> migrate(std::string, std::string, std::string) override {
    co_return nobody<model::Submitted>().status();
  }
  boost::asio::awaitable<Result<model::Submitted>> retry(std::string) override {
    co_return nobody<model::Submitted>();
  }
  boost::asio::awaitable<Status> reports(model::TaskReports) override {
    co_return Status::Unavailable("no such peer in this test");
  }
  boost::asio::awaitable<Result<model::ResultList>> results(std::string) override {
    co_return nobody<model::ResultList>();
  }
  boost::asio::awaitable<Result<std::string>> logs(std::string, std::string, std::string) override {
    co_return nobody<std::string>();
  }
};

class AbsentExecute : public execute::ExecuteLogic {
 public:
  boost::asio::awaitable<Status> assign(model::TaskAssignment) override {
    co_return Status::Unavailable("no such peer in this test");
  }
  boost::asio::awaitable<Status> cancel(model::CancelRequest) override {
    co_return Status::Unavailable("no such peer in this test");
  }
  boost::asio::awaitable<Result<std::string>> logs(std::string, std::string, int, std::string,
                                                   std::uint64_t) override {
    co_return Status::Unavailable("no such peer in this test");
  }
  boost::asio::awaitable<Status> cleanup(model::CancelRequest) override {
    co_return Status::Unavailable("no such peer in this test");
  }
  boost::asio::awaitable<Status> release(model::ReleaseRequest) override {
    co_return Status::Unavailable("no such peer in this test");
  }
  boost::asio::awaitable<Result<model::Drained>> drain(std::string,
                                                       std::chrono::milliseconds) override {
    co_return Status::Unavailable("no such peer in this test");
  }
};

class AbsentInfo : public info::InfoLogic {
 public:
  boost::asio::awaitable<Result<model::HostStatic>> static_info() override {
    co_return Status::Unavailable("no such peer in this test");
  }
  boost::asio::awaitable<Result<model::HostLoad>> load() override {
    co_return Status::Unavailable("no such peer in this test");
  }
  boost::asio::awaitable<Result<model::LoadHistory>> history(std::int64_t) override {
    co_return Status::Unavailable("no such peer in this test");
  }
};

class FakePeers : public Peers {
 public:
  std::map<std::string, std::shared_ptr<execute::ExecuteLogic>> executors;  // by address
  std::map<std::string, std::shared_ptr<submit::SubmitLogic>> submitters;
  std::map<std::string, std::shared_ptr<info::InfoLogic>> infos;

  execute::ExecuteLogic& execute(const PeerRef& p, CallOptions = {}) override {
    std::lock_guard lock(mu_);
    auto it = executors.find(p.address);
    return it == executors.end() ? absent_execute_ : *it->second;
  }
  submit::SubmitLogic& submit(const PeerRef& p, CallOptions = {}) override {
    std::lock_guard lock(mu_);
    auto it = submitters.find(p.address);
    return it == submitters.end() ? absent_submit_ : *it->second;
  }
  file::FileLogic& file(const PeerRef&, CallOptions = {}) override {
    throw std::logic_error("FakePeers has no file services");
  }
  info::InfoLogic& info(const PeerRef& p, CallOptions = {}) override {
    std::lock_guard lock(mu_);
    auto it = infos.find(p.address);
    return it == infos.end() ? absent_info_ : *it->second;
  }
  reg::RegisterLogic& reg(const PeerRef&, CallOptions = {}) override {
    throw std::logic_error("FakePeers has no register services");
  }
  auth::AccountsPeer& accounts(const PeerRef&, CallOptions = {}) override {
    throw std::logic_error("FakePeers has no accounts");
  }
  void forget(const std::string&) override {}

 private:
  std::mutex mu_;
  AbsentExecute absent_execute_;
  AbsentSubmit absent_submit_;
  AbsentInfo absent_info_;
};

}  // namespace fvce::test
