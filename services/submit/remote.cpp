#include "services/submit/remote.h"

#include "node/http/url.h"
#include "services/execute/logic.h"
#include "services/submit/query.h"

namespace fvce::submit {

using http::Verb;
namespace asio = boost::asio;

SubmitRemote::SubmitRemote(http::Client& client, std::string address, Scope scope,
                           CallOptions options)
    : client_(client),
      address_(std::move(address)),
      scope_(scope == Scope::node ? "node" : ""),
      options_(http::with_call({std::chrono::milliseconds(10000), 1}, options)) {}

asio::awaitable<Result<model::Submitted>> SubmitRemote::submit(model::WorkflowDoc workflow,
                                                               std::string /*owner*/) {
  // The owner is the user whose token the client sends.
  return submit_text(model::to_xml(workflow), {});
}

asio::awaitable<Result<model::Submitted>> SubmitRemote::submit_text(std::string xml,
                                                                    std::string /*owner*/) {
  return client_.call<model::Submitted>(address_, Verb::post, "/submit/workflows", std::move(xml),
                                        options_);
}

asio::awaitable<Status> SubmitRemote::check_text(std::string xml) {
  return client_.send(address_, Verb::post, "/submit/workflows?check=true", std::move(xml),
                      options_);
}

asio::awaitable<Result<model::WorkflowList>> SubmitRemote::workflows(WorkflowQuery query) {
  auto params = workflow_query_params(query);
  params.emplace_back("scope", scope_);
  return client_.call<model::WorkflowList>(address_, Verb::get,
                                           target_with("/submit/workflows", params), {}, options_);
}

asio::awaitable<Result<model::WorkflowView>> SubmitRemote::view(std::string id, ViewQuery query) {
  auto params = view_query_params(query);
  params.emplace_back("workflow", id);
  params.emplace_back("scope", scope_);
  return client_.call<model::WorkflowView>(address_, Verb::get, target_with("/submit/view", params),
                                           {}, options_);
}

asio::awaitable<Result<model::WorkflowStatus>> SubmitRemote::status(
    std::string id, TaskDetail detail, std::chrono::milliseconds wait) {
  auto opts = options_;
  std::string wait_text;
  if (wait.count() > 0) {
    wait_text = std::to_string(wait.count()) + "ms";
    // The answer may come only after the wait: the deadline runs from its end.
    opts.timeout =
        (opts.timeout.count() > 0 ? opts.timeout : std::chrono::milliseconds(10000)) + wait;
  }
  return client_.call<model::WorkflowStatus>(
      address_, Verb::get,
      http::target(
          "/submit/status",
          {{"workflow", id}, {"tasks", to_string(detail)}, {"wait", wait_text}, {"scope", scope_}}),
      {}, std::move(opts));
}

asio::awaitable<Result<std::string>> SubmitRemote::owner_of(std::string id) {
  // Named first: GCC 12 cannot build an initializer list inside a co_await.
  std::string t =
      http::target("/submit/status", {{"workflow", id}, {"tasks", "none"}, {"scope", scope_}});
  auto st =
      co_await client_.call<model::WorkflowStatus>(address_, Verb::get, std::move(t), {}, options_);
  if (!st.ok()) co_return st.status();
  co_return st->summary.owner;
}

asio::awaitable<Status> SubmitRemote::cancel(std::string id) {
  return client_.send(address_, Verb::post,
                      http::target("/submit/cancel", {{"workflow", id}, {"scope", scope_}}), {},
                      options_);
}

asio::awaitable<Result<model::Submitted>> SubmitRemote::retry(std::string id) {
  return client_.call<model::Submitted>(
      address_, Verb::post, http::target("/submit/retry", {{"workflow", id}, {"scope", scope_}}),
      {}, options_);
}

asio::awaitable<Status> SubmitRemote::migrate(std::string id, std::string task, std::string to) {
  // The host gives the task back first (checkpointed on the way): as long as that takes.
  auto options = options_;
  options.timeout = execute::kReleaseWait + std::chrono::seconds(15);
  options.attempts = 1;
  // Named first: GCC 12 mishandles an initializer list inside a co_await.
  std::string target = http::target(
      "/submit/migrate", {{"workflow", id}, {"task", task}, {"to", to}, {"scope", scope_}});
  co_return co_await client_.send(address_, Verb::post, std::move(target), {}, options);
}

asio::awaitable<Status> SubmitRemote::reports(model::TaskReports reports) {
  return client_.send(address_, Verb::post, "/submit/reports", model::to_xml(reports), options_);
}

asio::awaitable<Result<model::ResultList>> SubmitRemote::results(std::string id) {
  return client_.call<model::ResultList>(
      address_, Verb::get, http::target("/submit/results", {{"workflow", id}, {"scope", scope_}}),
      {}, options_);
}

asio::awaitable<Result<std::string>> SubmitRemote::logs(std::string id, std::string task,
                                                        std::string stream) {
  return client_.text(
      address_,
      http::target("/submit/logs",
                   {{"workflow", id}, {"task", task}, {"stream", stream}, {"scope", scope_}}),
      options_);
}

}  // namespace fvce::submit
