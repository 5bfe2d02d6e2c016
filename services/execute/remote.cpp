#include "services/execute/remote.h"

#include "node/http/url.h"

namespace fvce::execute {

using http::Verb;
namespace asio = boost::asio;

asio::awaitable<Status> ExecuteRemote::assign(model::TaskAssignment task) {
  std::string body = model::to_xml(task);
  co_return co_await client_.send(address_, Verb::post, "/execute/tasks", std::move(body),
                                  assign_options_);
}

asio::awaitable<Status> ExecuteRemote::cancel(model::CancelRequest request) {
  std::string body = model::to_xml(request);
  co_return co_await client_.send(address_, Verb::post, "/execute/cancel", std::move(body),
                                  options_);
}

asio::awaitable<Status> ExecuteRemote::cleanup(model::CancelRequest request) {
  std::string body = model::to_xml(request);
  co_return co_await client_.send(address_, Verb::post, "/execute/cleanup", std::move(body),
                                  options_);
}

asio::awaitable<Status> ExecuteRemote::release(model::ReleaseRequest request) {
  std::string body = model::to_xml(request);
  // As long as it may take, whatever the usual deadline is; the caller's token goes along.
  auto options = http::with_call({kReleaseWait + std::chrono::seconds(10), 1},
                                 CallOptions(std::chrono::milliseconds(0), 0, given_.user_token));
  co_return co_await client_.send(address_, Verb::post, "/execute/release", std::move(body),
                                  options);
}

asio::awaitable<Result<model::Drained>> ExecuteRemote::drain(std::string reason,
                                                             std::chrono::milliseconds wait) {
  auto options = http::with_call({wait + std::chrono::seconds(30), 1},
                                 CallOptions(std::chrono::milliseconds(0), 0, given_.user_token));
  std::string wait_text = std::to_string(wait.count()) + "ms";
  std::string t = http::target("/execute/drain", {{"reason", reason}, {"wait", wait_text}});
  co_return co_await client_.call<model::Drained>(address_, Verb::post, std::move(t), {}, options);
}

asio::awaitable<Result<std::string>> ExecuteRemote::logs(std::string workflow, std::string task,
                                                         int attempt, std::string stream,
                                                         std::uint64_t max_bytes) {
  std::string attempt_text = std::to_string(attempt), max_text = std::to_string(max_bytes);
  std::string t = http::target("/execute/logs", {{"workflow", workflow},
                                                 {"task", task},
                                                 {"attempt", attempt_text},
                                                 {"stream", stream},
                                                 {"max", max_text}});
  co_return co_await client_.text(address_, std::move(t), options_);
}

}  // namespace fvce::execute
