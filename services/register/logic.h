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

// The wire interface, between the register services of two nodes (and, for members(),
// probe() and leave(), from the CLI through the resource: GET /register/members, POST
// /register/probe, /register/leave). Peers hands out a remote stub for another node.
//
// Every method may be co_awaited from any executor and never blocks a thread. The caller
// owns what it passes and what it gets back. A remote stub adds the errors of Peers
// (unavailable or timeout when the peer cannot be reached) to those listed here; the
// protocol treats any error of ping() as a failed probe.
class RegisterLogic {
 public:
  virtual ~RegisterLogic() = default;

  // Introducer side of a join: admits request.member as alive, tells the federation, and
  // returns the member list (alive and suspect members, this node included). Joining again
  // with the same id and a higher incarnation updates the member. Errors: conflict when
  // request.federation is not this node's federation, or when the member is this node.
  virtual boost::asio::awaitable<Result<model::MemberList>> join(model::JoinRequest request) = 0;

  // A probe from a peer (ping.from), carrying news; the answer carries news back and this
  // node's own entry (its incarnation refutes a suspicion). Errors: conflict when ping.to
  // names another node — the address now belongs to someone else, so the prober must not
  // count the answer as its target's.
  virtual boost::asio::awaitable<Result<model::Ack>> ping(model::Ping ping) = 0;

  // News pushed by a peer (a join, a suspicion, a removal, a leave); older news than what
  // this node knows (lower incarnation) is ignored. Errors: conflict as for ping().
  virtual boost::asio::awaitable<Status> updates(model::Updates updates) = 0;

  // Push-pull: merges the peer's list into ours and returns ours after the merge, gone
  // members included (so the peer learns removals too). Used by the periodic sync and by
  // probe(). Errors: conflict when list.federation is not this node's federation.
  virtual boost::asio::awaitable<Result<model::MemberList>> merge(model::MemberList list) = 0;

  // Merges the federation reachable at request.address into this one (push-pull with that
  // node) and returns the merged list. Errors: invalid-argument when the address is this
  // node's own; conflict when the node there belongs to another federation; unavailable or
  // timeout when nothing answers there (the message names the address).
  virtual boost::asio::awaitable<Result<model::MemberList>> probe(model::ProbeRequest request) = 0;

  // The member list as this node sees it: alive and suspect members; with_gone adds the
  // recently removed and departed. A local impl never fails.
  virtual boost::asio::awaitable<Result<model::MemberList>> members(bool with_gone) = 0;

  // Makes this node leave the federation gracefully: marks itself left, tells every member
  // (each told once, with a 1 s deadline), remembers the members for a restart, then
  // asks the node to stop (LocalRegister::on_left). Returns once the members were told.
  // Errors: conflict when the node is already leaving.
  virtual boost::asio::awaitable<Status> leave() = 0;
};

// The local, synchronous view of membership other services use (info, the scheduler, the
// federated submit service, Peers' callers). Thread-safe; every call is a short lock and a
// copy, never I/O: callable from any thread, including from inside a coroutine.
class MembershipView {
 public:
  virtual ~MembershipView() = default;
  // This node's own entry (its id, name, address, incarnation, static info).
  virtual model::Member self() const = 0;
  // Alive and suspect members, this node included. A copy: the caller owns it.
  virtual std::vector<model::Member> live_members() const = 0;
  // A live member by name or id; nullopt when none (or when it is dead or has left).
  virtual std::optional<model::Member> find(std::string_view name_or_id) const = 0;
  // Grows whenever the member list changes (a join, a state change, a removal): a reader
  // that remembers it knows whether to look again.
  virtual std::uint64_t version() const = 0;
};

// What the local implementations have beyond the wire interface: the composition root
// (node/node.cpp) drives these. The impl owns the member list and its background work (probe,
// sync, broadcast timers on the node's io_context).
class LocalRegister : public RegisterLogic, public MembershipView {
 public:
  // Joins through the first of join_addresses that answers, tried in order, then of the
  // remembered members; then starts the protocol's background work. When nobody answers,
  // the node forms the federation alone, logs an error naming the addresses it tried, and
  // its sync loop keeps trying them (and members it removed as dead) every sync-interval
  // (jittered) while it has no peer. Returns at once; the join runs on the node's
  // io_context. Call once, after the server listens.
  virtual void start(std::vector<std::string> join_addresses) = 0;
  // Stops the background work; the member list stays readable. Idempotent, thread-safe.
  virtual void stop() = 0;
  // Called once the node has left the federation (after leave()), posted to the node's
  // io_context; the node then shuts down. Set before start().
  virtual void on_left(std::function<void()> callback) = 0;
};

}  // namespace fvce::reg
