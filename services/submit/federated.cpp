#include "services/submit/federated.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fvce::submit {

namespace asio = boost::asio;
using model::MemberState;

namespace {

// A peer's own workflows: one attempt each, short enough that a silent member does not hold
// up a listing for long.
const CallOptions kPeerCall{std::chrono::milliseconds(3000), 1};

std::string who(const model::Member& m) {
  return m.name + " (" + m.address + ")";
}

bool refused(ErrorCode code) {
  return code == ErrorCode::forbidden || code == ErrorCode::unauthenticated;
}

bool transient(ErrorCode code) {
  return code == ErrorCode::unavailable || code == ErrorCode::timeout;
}

// Asks several members the same thing at once; each answer lands in its slot.
template <typename T>
struct Gather {
  explicit Gather(asio::any_io_executor ex, std::size_t n)
      : answers(n, Status::Unavailable("not asked")), done(ex, std::chrono::seconds(30)) {}
  std::vector<Result<T>> answers;
  std::size_t pending = 0;
  asio::steady_timer done;
};

asio::awaitable<void> ask_list(std::shared_ptr<Gather<model::WorkflowList>> g, std::size_t i,
                               SubmitLogic* logic, WorkflowQuery query) {
  g->answers[i] = co_await logic->workflows(std::move(query));
  if (--g->pending == 0) g->done.cancel();
}

asio::awaitable<void> ask_status(std::shared_ptr<Gather<model::WorkflowStatus>> g, std::size_t i,
                                 SubmitLogic* logic, std::string id) {
  g->answers[i] = co_await logic->status(std::move(id), TaskDetail::none, {});
  if (--g->pending == 0) g->done.cancel();
}

}  // namespace

std::optional<OwnerCache::Entry> OwnerCache::find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void OwnerCache::put_member(const std::string& id, const model::Member& member) {
  std::lock_guard lock(mu_);
  auto [it, added] = entries_.try_emplace(id);
  it->second.member = member;
  if (!added) return;
  order_.push_back(id);
  while (order_.size() > capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

void OwnerCache::put_user(const std::string& id, const std::string& user) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(id); it != entries_.end()) it->second.user = user;
}

void OwnerCache::forget(const std::string& id) {
  std::lock_guard lock(mu_);
  entries_.erase(id);
  std::erase(order_, id);
}

FederatedSubmit::FederatedSubmit(NodeContext& ctx, std::shared_ptr<LocalSubmit> local,
                                 std::shared_ptr<reg::LocalRegister> membership,
                                 std::string user_token, std::shared_ptr<OwnerCache> cache)
    : ctx_(ctx),
      local_(std::move(local)),
      membership_(std::move(membership)),
      cache_(std::move(cache)) {
  call_ = kPeerCall;
  call_.user_token = std::move(user_token);
}

asio::awaitable<Result<model::Submitted>> FederatedSubmit::submit(model::WorkflowDoc workflow,
                                                                  std::string owner) {
  co_return co_await local_->submit(std::move(workflow), std::move(owner));
}

asio::awaitable<Status> FederatedSubmit::reports(model::TaskReports reports) {
  co_return co_await local_->reports(std::move(reports));
}

asio::awaitable<Result<model::WorkflowList>> FederatedSubmit::workflows(WorkflowQuery query) {
  auto limit = std::clamp<std::uint64_t>(query.limit, 1, kMaxPage);
  // Each member sends its newest offset + limit; the page is cut from the merge.
  WorkflowQuery each = query;
  each.offset = 0;
  each.limit = std::min<std::uint64_t>(kMaxPage, query.offset + limit);
  auto live = membership_->live_members();
  auto self = membership_->self();
  std::vector<model::Member> members;
  // Filtered by owning node: only that member is asked.
  if (query.node.empty() || query.node == self.name) members.push_back(self);
  for (const auto& m : live)
    if (m.id != self.id && (query.node.empty() || query.node == m.name)) members.push_back(m);

  auto ex = co_await asio::this_coro::executor;
  auto g = std::make_shared<Gather<model::WorkflowList>>(ex, members.size());
  g->pending = members.size();
  for (std::size_t i = 0; i < members.size(); ++i) {
    auto& peer = ctx_.peers.submit(members[i], call_);
    asio::co_spawn(ex, ask_list(g, i, &peer, each), asio::detached);
  }
  if (g->pending > 0) co_await g->done.async_wait(asio::as_tuple(asio::use_awaitable));

  model::WorkflowList out;
  std::vector<model::WorkflowSummary> all;
  for (std::size_t i = 0; i < members.size(); ++i) {
    auto& answer = g->answers[i];
    if (!answer.ok()) {
      out.unreachable.push_back({members[i].name, members[i].address, answer.status().message()});
      continue;
    }
    out.total += answer->total;
    for (auto& w : answer->workflows) all.push_back(std::move(w));
  }
  // Members recently dead or departed own workflows too; say whose are missing.
  auto everyone = co_await membership_->members(true);
  if (everyone.ok())
    for (const auto& m : everyone->members)
      if ((m.state == MemberState::dead || m.state == MemberState::left) &&
          (query.node.empty() || query.node == m.name))
        out.unreachable.push_back({m.name, m.address, std::string(model::to_string(m.state))});
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.submitted != b.submitted ? a.submitted > b.submitted : a.id < b.id;
  });
  out.offset = query.offset;
  for (auto i = query.offset; i < all.size() && out.workflows.size() < limit; ++i)
    out.workflows.push_back(std::move(all[i]));
  co_return out;
}

asio::awaitable<Result<FederatedSubmit::Owner>> FederatedSubmit::locate(const std::string& id) {
  if (local_->owns(id)) co_return Owner{local_.get(), ctx_.self.name};
  // Asked before: its owner, while that member lives (a member that died or left is asked
  // about again below, which says so).
  if (cache_)
    if (auto known = cache_->find(id))
      if (auto m = membership_->find(known->member.id);
          m && (m->state == MemberState::alive || m->state == MemberState::suspect) &&
          m->address == known->member.address)
        co_return Owner{&ctx_.peers.submit(*m, call_), who(*m)};
  auto self = membership_->self();
  // The tag names the owner among every member, the dead and departed included.
  std::string tag = owner_tag(id);
  if (!tag.empty()) {
    auto everyone = co_await membership_->members(true);
    std::vector<model::Member> tagged;
    if (everyone.ok())
      for (const auto& m : everyone->members)
        if (m.id != self.id && m.id.rfind(tag, 0) == 0) tagged.push_back(m);
    std::optional<model::Member> gone;
    for (const auto& m : tagged) {
      if (m.state != MemberState::alive && m.state != MemberState::suspect) {
        gone = m;
        continue;
      }
      auto& peer = ctx_.peers.submit(m, call_);
      auto st = co_await peer.status(id, TaskDetail::none, {});
      if (st.ok()) {
        if (cache_) {
          cache_->put_member(id, m);
          cache_->put_user(id, st->summary.owner);
        }
        co_return Owner{&peer, who(m)};
      }
      // The owner knows it, and refuses the user: say so, not "unknown".
      if (refused(st.status().code())) co_return st.status();
      if (transient(st.status().code()))
        co_return Status::Unavailable("workflow '" + id + "' belongs to node " + who(m) +
                                      ", which does not answer: " + st.status().message());
    }
    if (gone)
      co_return Status::Unavailable("workflow '" + id + "' belongs to node " + who(*gone) +
                                    ", which is " + std::string(model::to_string(gone->state)));
  }
  // No owner by its tag: whoever knows it.
  std::vector<model::Member> others;
  for (const auto& m : membership_->live_members())
    if (m.id != self.id) others.push_back(m);
  auto ex = co_await asio::this_coro::executor;
  auto g = std::make_shared<Gather<model::WorkflowStatus>>(ex, others.size());
  g->pending = others.size();
  for (std::size_t i = 0; i < others.size(); ++i) {
    auto& peer = ctx_.peers.submit(others[i], call_);
    asio::co_spawn(ex, ask_status(g, i, &peer, id), asio::detached);
  }
  if (g->pending > 0) co_await g->done.async_wait(asio::as_tuple(asio::use_awaitable));
  std::string silent;
  for (std::size_t i = 0; i < others.size(); ++i) {
    if (g->answers[i].ok()) {
      if (cache_) {
        cache_->put_member(id, others[i]);
        cache_->put_user(id, g->answers[i]->summary.owner);
      }
      co_return Owner{&ctx_.peers.submit(others[i], call_), who(others[i])};
    }
    if (refused(g->answers[i].status().code())) co_return g->answers[i].status();
    if (transient(g->answers[i].status().code()))
      silent += (silent.empty() ? "" : ", ") + who(others[i]);
  }
  if (!silent.empty())
    co_return Status::NotFound("no member that answered knows workflow '" + id +
                               "'; not answering: " + silent);
  co_return Status::NotFound("no member of the federation knows workflow '" + id + "'");
}

Status FederatedSubmit::about_owner(const Status& s, const std::string& id, const Owner& owner) {
  if (!transient(s.code())) return s;
  return Status::Unavailable("workflow '" + id + "' belongs to node " + owner.node +
                             ", which does not answer: " + s.message());
}

asio::awaitable<Result<model::WorkflowStatus>> FederatedSubmit::status(
    std::string id, TaskDetail detail, std::chrono::milliseconds wait) {
  auto owner = co_await locate(id);
  if (!owner.ok()) co_return owner.status();
  auto out = co_await owner->logic->status(id, detail, wait);
  if (!out.ok()) co_return about_owner(out.status(), id, *owner);
  co_return out;
}

asio::awaitable<Result<model::WorkflowView>> FederatedSubmit::view(std::string id,
                                                                   ViewQuery query) {
  auto owner = co_await locate(id);
  if (!owner.ok()) co_return owner.status();
  auto out = co_await owner->logic->view(id, std::move(query));
  if (!out.ok()) co_return about_owner(out.status(), id, *owner);
  co_return out;
}

asio::awaitable<Result<std::string>> FederatedSubmit::owner_of(std::string id) {
  if (cache_ && !local_->owns(id))
    if (auto known = cache_->find(id); known && !known->user.empty()) co_return known->user;
  auto owner = co_await locate(id);
  if (!owner.ok()) co_return owner.status();
  auto out = co_await owner->logic->owner_of(id);
  if (!out.ok()) co_return about_owner(out.status(), id, *owner);
  co_return out;
}

asio::awaitable<Status> FederatedSubmit::cancel(std::string id) {
  auto owner = co_await locate(id);
  if (!owner.ok()) co_return owner.status();
  co_return about_owner(co_await owner->logic->cancel(id), id, *owner);
}

asio::awaitable<Result<model::Submitted>> FederatedSubmit::retry(std::string id) {
  auto owner = co_await locate(id);
  if (!owner.ok()) co_return owner.status();
  auto out = co_await owner->logic->retry(id);
  if (!out.ok()) co_return about_owner(out.status(), id, *owner);
  co_return out;
}

asio::awaitable<Status> FederatedSubmit::migrate(std::string id, std::string task, std::string to) {
  auto owner = co_await locate(id);
  if (!owner.ok()) co_return owner.status();
  co_return about_owner(co_await owner->logic->migrate(id, task, to), id, *owner);
}

asio::awaitable<Result<model::ResultList>> FederatedSubmit::results(std::string id) {
  auto owner = co_await locate(id);
  if (!owner.ok()) co_return owner.status();
  auto out = co_await owner->logic->results(id);
  if (!out.ok()) co_return about_owner(out.status(), id, *owner);
  co_return out;
}

asio::awaitable<Result<std::string>> FederatedSubmit::logs(std::string id, std::string task,
                                                           std::string stream) {
  auto owner = co_await locate(id);
  if (!owner.ok()) co_return owner.status();
  auto out = co_await owner->logic->logs(id, std::move(task), std::move(stream));
  if (!out.ok()) co_return about_owner(out.status(), id, *owner);
  co_return out;
}

std::string owner_tag(std::string_view id) {
  auto dash = id.rfind('-');
  if (dash == std::string_view::npos || id.size() - dash - 1 != 8) return {};
  auto suffix = id.substr(dash + 1);
  for (char c : suffix)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  return std::string(suffix.substr(0, 4));
}

}  // namespace fvce::submit
