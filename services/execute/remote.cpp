#include "services/execute/remote.h"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace fvce::execute {

using http::Verb;
namespace asio = boost::asio;

namespace {
std::string encode(const std::string& s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}
}  // namespace

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

asio::awaitable<Result<std::string>> ExecuteRemote::logs(std::string workflow, std::string task,
                                                         int attempt, std::string stream,
                                                         std::uint64_t max_bytes) {
  std::string target = "/execute/logs?workflow=" + encode(workflow) + "&task=" + encode(task) +
                       "&attempt=" + std::to_string(attempt) + "&stream=" + encode(stream) +
                       "&max=" + std::to_string(max_bytes);
  std::string no_body;
  auto res = co_await client_.request(address_, Verb::get, std::move(target), std::move(no_body),
                                      options_);
  if (!res.ok()) co_return res.status();
  if (res->result_int() / 100 != 2)
    co_return http::status_from_error_body(res->result_int(), res->body());
  co_return std::move(res->body());
}

}  // namespace fvce::execute
