#include "services/submit/remote.h"

namespace fvce::submit {

using http::query_escape;
using http::Verb;
namespace asio = boost::asio;

namespace {
http::RequestOptions with_user(http::RequestOptions o, const std::string& user) {
  if (!user.empty()) o.headers.emplace_back("X-Fvce-User", user);
  return o;
}
}  // namespace

asio::awaitable<Result<model::Submitted>> SubmitRemote::submit(model::WorkflowDoc workflow,
                                                               std::string owner) {
  return client_.call<model::Submitted>(address_, Verb::post, "/submit/workflows",
                                        model::to_xml(workflow),
                                        with_user(options_, owner.empty() ? user_ : owner));
}
asio::awaitable<Result<model::WorkflowList>> SubmitRemote::workflows(std::string owner) {
  std::string target = "/submit/workflows";
  if (!owner.empty()) target += "?owner=" + query_escape(owner);
  return client_.call<model::WorkflowList>(address_, Verb::get, target, {},
                                           with_user(options_, user_));
}
asio::awaitable<Result<model::WorkflowStatus>> SubmitRemote::status(std::string id,
                                                                    TaskDetail detail) {
  return client_.call<model::WorkflowStatus>(
      address_, Verb::get,
      "/submit/status?workflow=" + query_escape(id) + "&tasks=" + std::string(to_string(detail)),
      {}, with_user(options_, user_));
}
asio::awaitable<Status> SubmitRemote::cancel(std::string id) {
  return client_.send(address_, Verb::post, "/submit/cancel?workflow=" + query_escape(id), {},
                      with_user(options_, user_));
}
asio::awaitable<Status> SubmitRemote::reports(model::TaskReports reports) {
  return client_.send(address_, Verb::post, "/submit/reports", model::to_xml(reports), options_);
}
asio::awaitable<Result<model::ResultList>> SubmitRemote::results(std::string id) {
  return client_.call<model::ResultList>(address_, Verb::get,
                                         "/submit/results?workflow=" + query_escape(id), {},
                                         with_user(options_, user_));
}
asio::awaitable<Result<std::string>> SubmitRemote::logs(std::string id, std::string task,
                                                        std::string stream) {
  auto res = co_await client_.request(address_, Verb::get,
                                      "/submit/logs?workflow=" + query_escape(id) + "&task=" +
                                          query_escape(task) + "&stream=" + query_escape(stream),
                                      {}, with_user(options_, user_));
  if (!res.ok()) co_return res.status();
  if (res->result_int() / 100 != 2)
    co_return http::status_from_error_body(res->result_int(), res->body());
  co_return std::move(res->body());
}

}  // namespace fvce::submit
