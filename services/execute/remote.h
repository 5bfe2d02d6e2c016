// ExecuteLogic spoken to a peer's execute service over HTTP. Errors: the peer's own (its
// <error> document), or unavailable/timeout when it cannot be reached. Thread-safe; client
// must outlive the object.
//
// Deadlines: assign() is tried once with 3 s (a refusal or a silent host must come back fast,
// so the scheduler can place the task elsewhere); cancel(), cleanup() and logs() twice with
// 5 s each; release() and drain() once, as long as they may take. CallOptions given at
// construction replace the first two.
#pragma once

#include <chrono>
#include <string>

#include "node/core/call_options.h"
#include "node/http/client.h"
#include "services/execute/logic.h"

namespace fvce::execute {

class ExecuteRemote final : public ExecuteLogic {
 public:
  ExecuteRemote(http::Client& client, std::string address, CallOptions options = {})
      : client_(client),
        address_(std::move(address)),
        assign_options_(http::with_call({std::chrono::milliseconds(3000), 1}, options)),
        options_(http::with_call({std::chrono::milliseconds(5000), 2}, options)),
        given_(options) {}

  boost::asio::awaitable<Status> assign(model::TaskAssignment task) override;
  boost::asio::awaitable<Status> cancel(model::CancelRequest request) override;
  boost::asio::awaitable<Result<std::string>> logs(std::string workflow, std::string task,
                                                   int attempt, std::string stream,
                                                   std::uint64_t max_bytes) override;
  boost::asio::awaitable<Status> cleanup(model::CancelRequest request) override;
  // Waits as long as a checkpoint may take (2 min) and is tried once.
  boost::asio::awaitable<Status> release(model::ReleaseRequest request) override;
  // Waits `wait` and a margin, once.
  boost::asio::awaitable<Result<model::Drained>> drain(std::string reason,
                                                       std::chrono::milliseconds wait) override;

  const std::string& address() const { return address_; }

 private:
  http::Client& client_;
  std::string address_;
  http::RequestOptions assign_options_;
  http::RequestOptions options_;
  CallOptions given_;
};

}  // namespace fvce::execute
