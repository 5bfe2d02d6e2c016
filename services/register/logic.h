// The register service: membership of the federation.
//
// Nodes join through an introducer, probe a few random members each period, suspect a
// member that fails a probe, and remove it after a threshold unless it refutes the
// suspicion with a higher incarnation. News about members spreads by direct broadcast
// and by piggy-backing on probes; a periodic push-pull sync heals what both missed.
// The protocol is described in docs/membership.md.
//
// Implementations: "introducer" (services/register/impl/introducer.*). RegisterRemote
// speaks the same interface to a peer.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "node/core/status.h"
#include "node/model/member.h"

namespace fvce::reg {

class RegisterLogic {
 public:
  virtual ~RegisterLogic() = default;

  // Introducer side of a join: admits request.member, tells the federation, and returns the
  // member list. Errors: conflict when the federation name differs.
  virtual boost::asio::awaitable<Result<model::MemberList>> join(model::JoinRequest request) = 0;

  // A probe from a peer, carrying news; the answer carries news back. Errors: conflict when
  // ping.to names another node (the address now belongs to someone else).
  virtual boost::asio::awaitable<Result<model::Ack>> ping(model::Ping ping) = 0;

  // News pushed by a peer (a join, a suspicion, a removal, a leave).
  virtual boost::asio::awaitable<Status> updates(model::Updates updates) = 0;

  // Push-pull: merges the peer's list into ours and returns ours (after the merge). Used by
  // the periodic sync and by probe.
  virtual boost::asio::awaitable<Result<model::MemberList>> merge(model::MemberList list) = 0;

  // Merges the federation reachable at request.address into this one; returns the merged
  // list. Errors: unavailable when nothing answers there.
  virtual boost::asio::awaitable<Result<model::MemberList>> probe(model::ProbeRequest request) = 0;

  // The member list as this node sees it (alive and suspect members; with_gone adds the
  // recently dead and departed).
  virtual boost::asio::awaitable<Result<model::MemberList>> members(bool with_gone) = 0;

  // Makes this node leave the federation gracefully: tells every member, then the node
  // stops. Returns once the members were told.
  virtual boost::asio::awaitable<Status> leave() = 0;
};

// The local, synchronous view of membership other services use (info, the scheduler).
// Thread-safe.
class MembershipView {
 public:
  virtual ~MembershipView() = default;
  virtual model::Member self() const = 0;
  // Alive and suspect members, this node included.
  virtual std::vector<model::Member> live_members() const = 0;
  // A live member by name or id.
  virtual std::optional<model::Member> find(std::string_view name_or_id) const = 0;
  // Grows whenever the member list changes (a join, a state change, a removal): a reader
  // that remembers it knows whether to look again.
  virtual std::uint64_t version() const = 0;
};

// What the local implementations have beyond the wire interface: the node drives these.
class LocalRegister : public RegisterLogic, public MembershipView {
 public:
  // Joins through join_address (or the remembered members when empty), then starts the
  // protocol's background work. Call once, after the server listens.
  virtual void start(std::string join_address) = 0;
  // Stops the background work. Thread-safe.
  virtual void stop() = 0;
  // Called once the node has left the federation (after leave()); the node then shuts down.
  virtual void on_left(std::function<void()> callback) = 0;
};

}  // namespace fvce::reg
