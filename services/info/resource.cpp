#include "services/info/resource.h"

#include <charconv>

#include "node/http/handlers.h"

namespace fvce::info {

using http::RequestView;
using http::Verb;
namespace asio = boost::asio;

void add_routes(http::Router& router, std::shared_ptr<LocalInfo> info,
                std::shared_ptr<reg::MembershipView> members,
                std::shared_ptr<FederationInfo> federation) {
  router.add(
      Verb::get, "/info/load", auth::Access::user,
      http::without_body(
          [info, members](const RequestView&) -> asio::awaitable<Result<model::HostLoadReport>> {
            auto load = co_await info->load();
            if (!load.ok()) co_return load.status();
            auto me = members->self();
            co_return model::HostLoadReport{me.id, me.name, *load};
          }));

  router.add(
      Verb::get, "/info/history", auth::Access::user,
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

  // Every live member's load, fetched in parallel with a short deadline.
  router.add(Verb::get, "/info/hosts", auth::Access::user,
             http::without_body([federation](const RequestView&) { return federation->hosts(); }));
  router.add(Verb::get, "/info/host", auth::Access::user, http::without_body([federation](const RequestView& v) {
               return federation->host(v.param("name"));
             }));
}

}  // namespace fvce::info
