// Ownership of workflows, enforced behind the submit interface: OwnedSubmit wraps a
// SubmitLogic (the federation's view at the node a user reached, or a node's own when a
// member asks for the user) for one caller.
//
//  - submit(): the workflow belongs to the signed-in user; a caller that is no user cannot
//    submit.
//  - workflows(): a user lists their own; an admin anyone's (or everyone's).
//  - status(), cancel(), results(), logs(): only the owner or an admin; others get 403.
//  - reports(): members only (the resource checks the reporting member is the executor).
//  A member calling without a user (the node's own business: nothing a user asked for) is
//  not restricted: members run the federation.
#pragma once

#include <memory>

#include "node/auth/caller.h"
#include "services/submit/logic.h"

namespace fvce::submit {

class OwnedSubmit final : public SubmitLogic {
 public:
  OwnedSubmit(std::shared_ptr<SubmitLogic> inner, auth::Caller caller)
      : inner_(std::move(inner)), caller_(std::move(caller)) {}

  boost::asio::awaitable<Result<model::Submitted>> submit(model::WorkflowDoc workflow,
                                                          std::string owner) override;
  boost::asio::awaitable<Result<model::WorkflowList>> workflows(WorkflowQuery query) override;
  boost::asio::awaitable<Result<model::WorkflowStatus>> status(
      std::string id, TaskDetail detail, std::chrono::milliseconds wait) override;
  boost::asio::awaitable<Result<model::WorkflowView>> view(std::string id,
                                                           ViewQuery query) override;
  boost::asio::awaitable<Result<std::string>> owner_of(std::string id) override;
  boost::asio::awaitable<Status> cancel(std::string id) override;
  boost::asio::awaitable<Result<model::Submitted>> retry(std::string id) override;
  boost::asio::awaitable<Status> migrate(std::string id, std::string task, std::string to) override;
  boost::asio::awaitable<Status> reports(model::TaskReports reports) override;
  boost::asio::awaitable<Result<model::ResultList>> results(std::string id) override;
  boost::asio::awaitable<Result<std::string>> logs(std::string id, std::string task,
                                                   std::string stream) override;

 private:
  // Ok when the caller may see and control workflow id.
  boost::asio::awaitable<Status> may_use(const std::string& id);
  bool unrestricted() const { return caller_.is_admin() || !caller_.is_user(); }

  std::shared_ptr<SubmitLogic> inner_;
  auth::Caller caller_;
};

}  // namespace fvce::submit
