// The federation's view of the submit service: any node answers for every workflow of the
// federation (docs/submit.md, "Any node").
//
//  - submit() and reports() are this node's own (LocalSubmit).
//  - workflows() gathers a page from every live member in parallel (through Peers, under a
//    deadline), merges them newest first and names the members that did not answer.
//  - A call about one workflow goes to its owner: this node when it owns it; else the member
//    whose id begins with the tag the workflow id carries (owner_tag()); else, for an id
//    without a known tag, whichever live member knows it. When the owner is dead, has left,
//    or does not answer, the error is unavailable and names it.
//
// Thread-safety: every method may be called from any thread. Who may see what is not
// decided here but by OwnedSubmit (owned.h), which wraps this view and each node's own.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "node/node_context.h"
#include "services/register/logic.h"
#include "services/submit/logic.h"

namespace fvce::submit {

// What this node learned about other members' workflows, shared by every request: which
// member owns a workflow and which user submitted it. Neither ever changes, so a call about
// a workflow asked before goes straight to its owner, without first asking who it is (the
// browser's pages ask about one workflow many times). Bounded: the oldest entries go first.
// Thread-safe.
class OwnerCache {
 public:
  explicit OwnerCache(std::size_t capacity = 10'000) : capacity_(capacity) {}
  struct Entry {
    model::Member member;
    std::string user;  // "" until learned
  };
  std::optional<Entry> find(const std::string& id) const;
  void put_member(const std::string& id, const model::Member& member);
  void put_user(const std::string& id, const std::string& user);
  void forget(const std::string& id);

 private:
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // oldest first
};

class FederatedSubmit final : public SubmitLogic {
 public:
  // local and membership are this node's; ctx must outlive the object. user_token: the token
  // of the user the calls are made for, sent with every call to another member (which
  // checks it again); made per request, it costs a few pointers. cache: the node's (may be
  // null).
  FederatedSubmit(NodeContext& ctx, std::shared_ptr<LocalSubmit> local,
                  std::shared_ptr<reg::LocalRegister> membership, std::string user_token = {},
                  std::shared_ptr<OwnerCache> cache = nullptr);

  boost::asio::awaitable<Result<model::Submitted>> submit(model::WorkflowDoc workflow,
                                                          std::string owner) override;
  boost::asio::awaitable<Result<model::WorkflowList>> workflows(WorkflowQuery query) override;
  boost::asio::awaitable<Result<model::WorkflowStatus>> status(
      std::string id, TaskDetail detail, std::chrono::milliseconds wait) override;
  boost::asio::awaitable<Result<model::WorkflowView>> view(std::string id,
                                                           ViewQuery query) override;
  boost::asio::awaitable<Result<std::string>> owner_of(std::string id) override;
  boost::asio::awaitable<Status> cancel(std::string id) override;
  boost::asio::awaitable<Result<model::Submitted>> retry(std::string id) override;
  boost::asio::awaitable<Status> migrate(std::string id, std::string task, std::string to) override;
  boost::asio::awaitable<Status> reports(model::TaskReports reports) override;
  boost::asio::awaitable<Result<model::ResultList>> results(std::string id) override;
  boost::asio::awaitable<Result<std::string>> logs(std::string id, std::string task,
                                                   std::string stream) override;

  // Where a workflow's calls go.
  struct Owner {
    SubmitLogic* logic = nullptr;  // this node's LocalSubmit or a peer's
    std::string node;              // its name and address, for messages
  };
  // The owner of workflow id. Errors: not-found (no member knows it), unavailable (its
  // owner is dead, has left, or does not answer; the message names it).
  boost::asio::awaitable<Result<Owner>> locate(const std::string& id);

 private:
  // A forwarded call's failure to reach the owner, said so that the user learns who.
  static Status about_owner(const Status& s, const std::string& id, const Owner& owner);

  NodeContext& ctx_;
  std::shared_ptr<LocalSubmit> local_;
  std::shared_ptr<reg::LocalRegister> membership_;
  CallOptions call_;  // for calls to other members: deadline, attempts, the user's token
  std::shared_ptr<OwnerCache> cache_;
};

}  // namespace fvce::submit
