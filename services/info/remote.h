// InfoLogic spoken to a peer over HTTP. Errors: the peer's, or unavailable/timeout.
// Every call uses the CallOptions it was made with; the default is one attempt of 2 s.
#pragma once

#include <string>

#include "node/core/call_options.h"
#include "node/http/client.h"
#include "services/info/logic.h"

namespace fvce::info {

class InfoRemote final : public InfoLogic {
 public:
  InfoRemote(http::Client& client, std::string address, CallOptions options = {})
      : client_(client),
        address_(std::move(address)),
        options_(http::with_call({std::chrono::milliseconds(2000), 1}, options)) {}

  boost::asio::awaitable<Result<model::HostStatic>> static_info() override;
  boost::asio::awaitable<Result<model::HostLoad>> load() override;
  boost::asio::awaitable<Result<model::LoadHistory>> history(std::int64_t since) override;

 private:
  http::Client& client_;
  std::string address_;
  http::RequestOptions options_;
};

}  // namespace fvce::info
