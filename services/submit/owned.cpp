#include "services/submit/owned.h"

namespace fvce::submit {

namespace asio = boost::asio;

asio::awaitable<Status> OwnedSubmit::may_use(const std::string& id) {
  if (unrestricted()) co_return Status::Ok();
  auto owner = co_await inner_->owner_of(id);
  if (!owner.ok()) co_return owner.status();
  if (*owner != caller_.user)
    co_return Status::Forbidden("workflow '" + id + "' belongs to another user, not to " +
                                caller_.user);
  co_return Status::Ok();
}

asio::awaitable<Result<model::Submitted>> OwnedSubmit::submit(model::WorkflowDoc workflow,
                                                              std::string /*owner*/) {
  if (!caller_.is_user())
    co_return Status(ErrorCode::unauthenticated,
                     "a workflow is submitted by a signed-in user (log in with `fvce login`)");
  co_return co_await inner_->submit(std::move(workflow), caller_.user);
}

asio::awaitable<Result<model::WorkflowList>> OwnedSubmit::workflows(WorkflowQuery query) {
  if (!unrestricted()) {
    if (!query.owner.empty() && query.owner != caller_.user)
      co_return Status::Forbidden(caller_.user + " may list only their own workflows, not " +
                                  query.owner + "'s");
    query.owner = caller_.user;
  }
  co_return co_await inner_->workflows(std::move(query));
}

asio::awaitable<Result<model::WorkflowStatus>> OwnedSubmit::status(std::string id,
                                                                   TaskDetail detail,
                                                                   std::chrono::milliseconds wait) {
  if (auto s = co_await may_use(id); !s.ok()) co_return s;
  co_return co_await inner_->status(std::move(id), detail, wait);
}

asio::awaitable<Result<model::WorkflowView>> OwnedSubmit::view(std::string id, ViewQuery query) {
  if (auto s = co_await may_use(id); !s.ok()) co_return s;
  co_return co_await inner_->view(std::move(id), std::move(query));
}

asio::awaitable<Result<std::string>> OwnedSubmit::owner_of(std::string id) {
  co_return co_await inner_->owner_of(std::move(id));
}

asio::awaitable<Status> OwnedSubmit::cancel(std::string id) {
  if (auto s = co_await may_use(id); !s.ok()) co_return s;
  co_return co_await inner_->cancel(std::move(id));
}

asio::awaitable<Result<model::Submitted>> OwnedSubmit::retry(std::string id) {
  if (auto s = co_await may_use(id); !s.ok()) co_return s;
  co_return co_await inner_->retry(std::move(id));
}

asio::awaitable<Status> OwnedSubmit::migrate(std::string id, std::string task, std::string to) {
  if (auto s = co_await may_use(id); !s.ok()) co_return s;
  co_return co_await inner_->migrate(std::move(id), std::move(task), std::move(to));
}

asio::awaitable<Status> OwnedSubmit::reports(model::TaskReports reports) {
  if (!caller_.is_peer()) co_return Status::Forbidden("only members report on tasks");
  co_return co_await inner_->reports(std::move(reports));
}

asio::awaitable<Result<model::ResultList>> OwnedSubmit::results(std::string id) {
  if (auto s = co_await may_use(id); !s.ok()) co_return s;
  co_return co_await inner_->results(std::move(id));
}

asio::awaitable<Result<std::string>> OwnedSubmit::logs(std::string id, std::string task,
                                                       std::string stream) {
  if (auto s = co_await may_use(id); !s.ok()) co_return s;
  co_return co_await inner_->logs(std::move(id), std::move(task), std::move(stream));
}

}  // namespace fvce::submit
