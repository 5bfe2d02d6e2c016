#include "services/info/resource.h"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "node/http/handlers.h"
#include "services/info/remote.h"

namespace fvce::info {

using http::RequestView;
using http::Verb;
namespace asio = boost::asio;

void add_routes(http::Router& router, std::shared_ptr<LocalInfo> info,
                std::shared_ptr<reg::MembershipView> members, http::Client& client,
                std::string federation) {
  router.add(
      Verb::get, "/info/load",
      http::without_body(
          [info, members](const RequestView&) -> asio::awaitable<Result<model::HostLoadReport>> {
            auto load = co_await info->load();
            if (!load.ok()) co_return load.status();
            auto me = members->self();
            co_return model::HostLoadReport{me.id, me.name, *load};
          }));

  router.add(
      Verb::get, "/info/history",
      http::without_body(
          [info, members](const RequestView& v) -> asio::awaitable<Result<model::LoadHistory>> {
            std::int64_t since = 0;
            auto text = v.param("since");
            if (!text.empty()) {
              auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), since);
              if (ec != std::errc() || p != text.data() + text.size() || since < 0)
                co_return Status::InvalidArgument("since='" + text +
                                                  "' is not milliseconds since the epoch");
            }
            auto h = co_await info->history(since);
            if (!h.ok()) co_return h.status();
            auto me = members->self();
            h->id = me.id;
            h->name = me.name;
            co_return std::move(*h);
          }));

  // Every live member's load, fetched in parallel with a short deadline: a member that does
  // not answer in time is listed with the reason instead of holding up the answer.
  router.add(
      Verb::get, "/info/hosts",
      http::without_body([info, members, &client, federation](
                             const RequestView&) -> asio::awaitable<Result<model::HostsReport>> {
        // The children share this state, so a late child never outlives what it writes.
        struct Gather {
          explicit Gather(asio::any_io_executor ex) : done(ex, std::chrono::seconds(5)) {}
          model::HostsReport report;
          std::size_t pending = 0;
          asio::steady_timer done;
        };
        auto ex = co_await asio::this_coro::executor;
        auto g = std::make_shared<Gather>(ex);
        auto live = members->live_members();
        auto me = members->self();
        g->report.self = me.id;
        g->report.federation = federation;
        g->pending = live.size();
        for (const auto& m : live) g->report.hosts.push_back(model::HostInfo{m, {}, {}});
        // Everything here runs on this request's strand: a child that finishes at once
        // (this node's own sample) has counted down before we check, and one that
        // finishes later cancels the wait, which has begun by then. The deadline is a
        // backstop only; each remote call has its own.
        for (std::size_t i = 0; i < live.size(); ++i) {
          asio::co_spawn(
              ex,
              [g, i, info, &client, self = live[i].id == me.id,
               address = live[i].address]() -> asio::awaitable<void> {
                Result<model::HostLoad> load = Status::Unavailable("not asked");
                if (self) {
                  load = co_await info->load();
                } else {
                  InfoRemote remote(client, address, {std::chrono::milliseconds(1000), 1});
                  load = co_await remote.load();
                }
                if (load.ok())
                  g->report.hosts[i].load = *load;
                else
                  g->report.hosts[i].load_error = load.status().message();
                if (--g->pending == 0) g->done.cancel();
              },
              asio::detached);
        }
        if (g->pending > 0) co_await g->done.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return g->report;
      }));

  router.add(
      Verb::get, "/info/host",
      http::without_body([info, members, &client](
                             const RequestView& v) -> asio::awaitable<Result<model::HostInfo>> {
        auto name = v.param("name");
        auto me = members->self();
        model::HostInfo out;
        if (name.empty() || name == me.name || name == me.id) {
          out.member = me;
          auto load = co_await info->load();
          if (load.ok())
            out.load = *load;
          else
            out.load_error = load.status().message();
          co_return out;
        }
        auto member = members->find(name);
        if (!member)
          co_return Status::NotFound("no live member is called '" + name + "' (see fvce hosts)");
        out.member = *member;
        InfoRemote remote(client, member->address);
        auto load = co_await remote.load();
        if (load.ok())
          out.load = *load;
        else
          out.load_error = load.status().message();
        co_return out;
      }));
}

}  // namespace fvce::info
