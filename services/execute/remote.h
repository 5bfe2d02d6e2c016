// ExecuteLogic spoken to a peer's execute service over HTTP. Errors: the peer's own (its
// <error> document), or unavailable/timeout when it cannot be reached. Thread-safe; client
// must outlive the object.
#pragma once

#include <chrono>
#include <string>

#include "node/http/client.h"
#include "services/execute/logic.h"

namespace fvce::execute {

class ExecuteRemote final : public ExecuteLogic {
 public:
  // assign() is tried once with a short deadline: a refusal or a silent host must come back
  // fast, so the scheduler can place the task elsewhere. cancel() and logs() use options.
  ExecuteRemote(http::Client& client, std::string address,
                http::RequestOptions assign_options = {std::chrono::milliseconds(3000), 1},
                http::RequestOptions options = {std::chrono::milliseconds(5000), 2})
      : client_(client),
        address_(std::move(address)),
        assign_options_(assign_options),
        options_(options) {}

  boost::asio::awaitable<Status> assign(model::TaskAssignment task) override;
  boost::asio::awaitable<Status> cancel(model::CancelRequest request) override;
  boost::asio::awaitable<Result<std::string>> logs(std::string workflow, std::string task,
                                                   int attempt, std::string stream,
                                                   std::uint64_t max_bytes) override;
  boost::asio::awaitable<Status> cleanup(model::CancelRequest request) override;

  const std::string& address() const { return address_; }

 private:
  http::Client& client_;
  std::string address_;
  http::RequestOptions assign_options_;
  http::RequestOptions options_;
};

}  // namespace fvce::execute
