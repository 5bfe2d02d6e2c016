// RegisterLogic spoken to a peer over HTTP. Cheap to make; holds no connection itself
// (the Client pools them). Errors are those of the peer, or unavailable/timeout.
//
// Every call uses the CallOptions it was made with; the default is one attempt of 5 s.
// Membership passes its own deadlines (the probe timeout for ping, 1 s for updates).
#pragma once

#include <string>

#include "node/core/call_options.h"
#include "node/http/client.h"
#include "services/register/logic.h"

namespace fvce::reg {

class RegisterRemote final : public RegisterLogic {
 public:
  RegisterRemote(http::Client& client, std::string address, CallOptions options = {})
      : client_(client),
        address_(std::move(address)),
        options_(http::with_call({std::chrono::milliseconds(5000), 1}, options)) {}

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
