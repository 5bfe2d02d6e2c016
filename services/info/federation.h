// What the info service tells about the whole federation: every live member with its current
// load, or one member's. Gathered from the members' own info services through Peers (this
// node's own in process), in parallel and under deadlines: a member that does not answer in
// time is listed with the reason instead of holding up the answer. Thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "node/core/status.h"
#include "node/model/host.h"
#include "node/model/member.h"
#include "node/peers/peers.h"
#include "services/register/logic.h"

namespace fvce::info {

class FederationInfo {
 public:
  // peers and members must outlive the object.
  FederationInfo(Peers& peers, std::shared_ptr<reg::MembershipView> members, std::string federation)
      : peers_(peers), members_(std::move(members)), federation_(std::move(federation)) {}

  // Every live member, each with its load or the reason it has none.
  boost::asio::awaitable<Result<model::HostsReport>> hosts();
  // The member called name (or with that id; "" = this node) with its load. Errors:
  // not-found when no live member is called so.
  boost::asio::awaitable<Result<model::HostInfo>> host(std::string name);

 private:
  Peers& peers_;
  std::shared_ptr<reg::MembershipView> members_;
  std::string federation_;
};

}  // namespace fvce::info
