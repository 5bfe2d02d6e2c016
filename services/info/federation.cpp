#include "services/info/federation.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "services/info/logic.h"

namespace fvce::info {

namespace asio = boost::asio;

namespace {
const CallOptions kLoadDeadline{std::chrono::milliseconds(1000), 1};

// The children share this state, so a late child never outlives what it writes.
struct Gather {
  explicit Gather(asio::any_io_executor ex) : done(ex, std::chrono::seconds(5)) {}
  model::HostsReport report;
  std::size_t pending = 0;
  asio::steady_timer done;
};

asio::awaitable<void> ask(std::shared_ptr<Gather> g, std::size_t i, InfoLogic* info) {
  auto load = co_await info->load();
  if (load.ok())
    g->report.hosts[i].load = *load;
  else
    g->report.hosts[i].load_error = load.status().message();
  if (--g->pending == 0) g->done.cancel();
}

}  // namespace

asio::awaitable<Result<model::HostsReport>> FederationInfo::hosts() {
  auto ex = co_await asio::this_coro::executor;
  auto g = std::make_shared<Gather>(ex);
  auto live = members_->live_members();
  g->report.self = members_->self().id;
  g->report.federation = federation_;
  g->pending = live.size();
  for (const auto& m : live) g->report.hosts.push_back(model::HostInfo{m, {}, {}});
  // Everything here runs on this request's executor: a child that finishes at once (this
  // node's own sample) has counted down before we check, and one that finishes later
  // cancels the wait, which has begun by then. The deadline is a backstop only; each call
  // has its own.
  for (std::size_t i = 0; i < live.size(); ++i) {
    auto& info = peers_.info(live[i], kLoadDeadline);
    asio::co_spawn(ex, ask(g, i, &info), asio::detached);
  }
  if (g->pending > 0) co_await g->done.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return g->report;
}

asio::awaitable<Result<model::HostInfo>> FederationInfo::host(std::string name) {
  auto me = members_->self();
  model::HostInfo out;
  if (name.empty() || name == me.name || name == me.id) {
    out.member = me;
  } else {
    auto member = members_->find(name);
    if (!member)
      co_return Status::NotFound("no live member is called '" + name + "' (see fvce hosts)");
    out.member = *member;
  }
  auto& info = peers_.info(out.member, {std::chrono::milliseconds(2000), 1});
  auto load = co_await info.load();
  if (load.ok())
    out.load = *load;
  else
    out.load_error = load.status().message();
  co_return out;
}

}  // namespace fvce::info
