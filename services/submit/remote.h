// SubmitLogic spoken to a peer over HTTP (executors use reports()).
#pragma once

#include <string>

#include "node/http/client.h"
#include "services/submit/logic.h"

namespace fvce::submit {

class SubmitRemote final : public SubmitLogic {
 public:
  SubmitRemote(http::Client& client, std::string address, std::string user = {},
               http::RequestOptions options = {std::chrono::milliseconds(10000), 1})
      : client_(client), address_(std::move(address)), user_(std::move(user)), options_(options) {}

  boost::asio::awaitable<Result<model::Submitted>> submit(model::WorkflowDoc workflow,
                                                          std::string owner) override;
  boost::asio::awaitable<Result<model::WorkflowList>> workflows(std::string owner) override;
  boost::asio::awaitable<Result<model::WorkflowStatus>> status(std::string id,
                                                               TaskDetail detail) override;
  boost::asio::awaitable<Status> cancel(std::string id) override;
  boost::asio::awaitable<Status> reports(model::TaskReports reports) override;
  boost::asio::awaitable<Result<model::ResultList>> results(std::string id) override;
  boost::asio::awaitable<Result<std::string>> logs(std::string id, std::string task,
                                                   std::string stream) override;

 private:
  http::Client& client_;
  std::string address_;
  std::string user_;
  http::RequestOptions options_;
};

}  // namespace fvce::submit
