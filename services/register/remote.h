// RegisterLogic spoken to a peer over HTTP. Cheap to make; holds no connection itself
// (the Client pools them). Errors are those of the peer, or unavailable/timeout.
#pragma once

#include <string>

#include "node/http/client.h"
#include "services/register/logic.h"

namespace fvce::reg {

class RegisterRemote final : public RegisterLogic {
 public:
  RegisterRemote(http::Client& client, std::string address,
                 http::RequestOptions options = {std::chrono::milliseconds(5000), 1})
      : client_(client), address_(std::move(address)), options_(options) {}

  boost::asio::awaitable<Result<model::MemberList>> join(model::JoinRequest request) override;
  boost::asio::awaitable<Result<model::Ack>> ping(model::Ping ping) override;
  boost::asio::awaitable<Status> updates(model::Updates updates) override;
  boost::asio::awaitable<Result<model::MemberList>> merge(model::MemberList list) override;
  boost::asio::awaitable<Result<model::MemberList>> probe(model::ProbeRequest request) override;
  boost::asio::awaitable<Result<model::MemberList>> members(bool with_gone) override;
  boost::asio::awaitable<Status> leave() override;

 private:
  http::Client& client_;
  std::string address_;
  http::RequestOptions options_;
};

}  // namespace fvce::reg
