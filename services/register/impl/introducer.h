// register impl "introducer": join through an introducer, heartbeat probes of a few random
// members per round, suspicion, removal, refutation, broadcast plus piggy-backed news and
// periodic push-pull sync. The protocol is in docs/membership.md.
//
// All protocol state is in a Membership guarded by mu_; no lock is held across a co_await.
// Network work runs as coroutines on the node's io_context.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "node/node_context.h"
#include "services/register/logic.h"
#include "services/register/membership.h"

namespace fvce::reg {

class Introducer final : public LocalRegister, public std::enable_shared_from_this<Introducer> {
 public:
  // self: this node's record (id, name, address, incarnation, static info).
  Introducer(NodeContext& ctx, model::Member self, MembershipConfig config);

  // Joins through the first of join_addresses, then of the members remembered in the
  // state directory, that answers; forms a federation alone when none does (an error
  // naming what it tried, when there was anything to try), then starts probing and
  // syncing. Call once, after the server listens.
  void start(std::vector<std::string> join_addresses) override;

  // Called once the node has left (after leave()): the node shuts down.
  void on_left(std::function<void()> callback) override { on_left_ = std::move(callback); }

  // Stops the background loops. Thread-safe.
  void stop() override;

  // RegisterLogic
  boost::asio::awaitable<Result<model::MemberList>> join(model::JoinRequest request) override;
  boost::asio::awaitable<Result<model::Ack>> ping(model::Ping ping) override;
  boost::asio::awaitable<Status> updates(model::Updates updates) override;
  boost::asio::awaitable<Result<model::MemberList>> merge(model::MemberList list) override;
  boost::asio::awaitable<Result<model::MemberList>> probe(model::ProbeRequest request) override;
  boost::asio::awaitable<Result<model::MemberList>> members(bool with_gone) override;
  boost::asio::awaitable<Status> leave() override;

  // MembershipView
  model::Member self() const override;
  std::vector<model::Member> live_members() const override;
  std::optional<model::Member> find(std::string_view name_or_id) const override;
  std::uint64_t version() const override;

  // Path of the remembered member list in the state directory.
  static std::filesystem::path members_file(const std::filesystem::path& state_dir);

 private:
  boost::asio::awaitable<void> run();
  // One join through address; failures are logged as warnings unless quiet.
  boost::asio::awaitable<Status> try_join(const std::string& address, bool quiet);
  // Tries the join candidates in order until one answers; true when one did. While this
  // node is alone, says so (an error the first time, then now and then) naming what it
  // tried.
  boost::asio::awaitable<bool> join_any(bool first);
  boost::asio::awaitable<void> probe_loop();
  boost::asio::awaitable<void> sync_loop();
  boost::asio::awaitable<void> probe_one(model::Member target);
  boost::asio::awaitable<Status> push_pull(const std::string& address,
                                           std::chrono::milliseconds deadline, int attempts = 2);
  // A push-pull with a member removed as dead (Membership::reconnect_target): if it
  // answers, the two lists meet and each side takes the other back. One at a time.
  boost::asio::awaitable<void> reconnect(model::Member lost);

  // Sends news to every live member but this node (and `except`), without waiting.
  void broadcast(std::vector<model::Member> news, const std::string& except = {});
  // Sends news to every live member and waits until all answered or timed out.
  boost::asio::awaitable<void> broadcast_and_wait(std::vector<model::Member> news);
  // One push of news to one member (pending, when given, counts down once it answered);
  // self keeps the introducer alive while it is in flight.
  static boost::asio::awaitable<void> send_updates(std::shared_ptr<Introducer> self,
                                                   RegisterLogic* member,
                                                   std::shared_ptr<model::Updates> updates,
                                                   std::shared_ptr<std::atomic<int>> pending);
  // Applies a batch of news (listed: a whole member list, see Membership::apply_listed);
  // returns what was news to us. Takes the lock.
  std::vector<model::Member> apply_all(const std::vector<model::Member>& members,
                                       const std::string& from, bool listed = false);
  void save_members();
  void persist_incarnation(std::uint64_t incarnation);
  std::vector<std::string> remembered_addresses() const;
  // What a node with no peer tries to join through, in order, each once: the --join
  // addresses, the remembered members, and (not at start) the members removed as dead.
  std::vector<std::string> join_candidates(bool with_lost);

  NodeContext& ctx_;
  mutable std::mutex mu_;
  Membership membership_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> dirty_{false};
  std::atomic<bool> reconnecting_{false};
  std::vector<std::string> join_addresses_;  // set by start(), then only read
  int alone_rounds_ = 0;                     // join rounds that failed in a row (sync loop)
  std::uint64_t saved_incarnation_ = 0;
  std::function<void()> on_left_;
};

// Reads (or creates) this node's persistent id and next incarnation in state_dir. The
// incarnation is one more than the last one used, so a restarted node outranks whatever
// the federation remembers of its previous life.
struct Identity {
  std::string id;
  std::uint64_t incarnation = 0;
};
// A new id is drawn from random.
Result<Identity> load_identity(const std::filesystem::path& state_dir, Random& random);

}  // namespace fvce::reg
