// InfoLogic spoken to a peer over HTTP. Errors: the peer's, or unavailable/timeout.
#pragma once

#include <string>

#include "node/http/client.h"
#include "services/info/logic.h"

namespace fvce::info {

class InfoRemote final : public InfoLogic {
 public:
  InfoRemote(http::Client& client, std::string address,
             http::RequestOptions options = {std::chrono::milliseconds(2000), 1})
      : client_(client), address_(std::move(address)), options_(options) {}

  boost::asio::awaitable<Result<model::HostStatic>> static_info() override;
  boost::asio::awaitable<Result<model::HostLoad>> load() override;
  boost::asio::awaitable<Result<model::LoadHistory>> history(std::int64_t since) override;

 private:
  http::Client& client_;
  std::string address_;
  http::RequestOptions options_;
};

}  // namespace fvce::info
