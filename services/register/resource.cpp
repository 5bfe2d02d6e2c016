#include "services/register/resource.h"

#include <spdlog/spdlog.h>

#include "node/http/handlers.h"
#include "services/register/membership.h"

namespace fvce::reg {

using http::RequestView;
using http::Verb;
namespace asio = boost::asio;

namespace {

// The gossip's sender must be the member the caller proved it is; what it says about
// members is then filtered to what may be believed.
template <typename G>
Status check_gossip(G& g, const RequestView& v, const MembershipView& view) {
  const auto& sender = v.caller().peer;
  std::string name;
  if (auto known = view.find(g.from)) name = known->name;
  for (const auto& m : g.members)
    if (name.empty() && m.id == g.from) name = m.name;
  if (name != sender)
    return Status::Forbidden("member '" + sender + "' sent news as '" +
                             (name.empty() ? g.from : name) + "'");
  std::string dropped;
  g.members = believable(std::move(g.members), sender, view, &dropped);
  if (!dropped.empty()) spdlog::warn("news from {} not believed: {}", sender, dropped);
  return Status::Ok();
}

}  // namespace

void add_routes(http::Router& router, std::shared_ptr<LocalRegister> logic) {
  router.add(Verb::post, "/register/join", auth::Access::peer,
             http::with_body<model::JoinRequest>([logic](model::JoinRequest r, const RequestView& v)
                                                     -> asio::awaitable<Result<model::MemberList>> {
               // A node joins under the name its certificate (or signature) proves.
               if (r.member.name != v.caller().peer)
                 co_return Status::Forbidden("member '" + v.caller().peer + "' may not join as '" +
                                             r.member.name + "'");
               if (auto known = logic->find(r.member.id); known && known->name != r.member.name)
                 co_return Status::Forbidden("member '" + r.member.name +
                                             "' may not join with the id of '" + known->name + "'");
               co_return co_await logic->join(std::move(r));
             }));
  router.add(
      Verb::post, "/register/ping", auth::Access::peer,
      http::with_body<model::Ping>(
          [logic](model::Ping p, const RequestView& v) -> asio::awaitable<Result<model::Ack>> {
            if (auto s = check_gossip(p, v, *logic); !s.ok()) co_return s;
            co_return co_await logic->ping(std::move(p));
          }));
  router.add(Verb::post, "/register/updates", auth::Access::peer,
             http::with_body_no_answer<model::Updates>(
                 [logic](model::Updates u, const RequestView& v) -> asio::awaitable<Status> {
                   if (auto s = check_gossip(u, v, *logic); !s.ok()) co_return s;
                   co_return co_await logic->updates(std::move(u));
                 }));
  router.add(Verb::post, "/register/merge", auth::Access::peer,
             http::with_body<model::MemberList>([logic](model::MemberList l, const RequestView& v)
                                                    -> asio::awaitable<Result<model::MemberList>> {
               std::string dropped;
               l.members = believable(std::move(l.members), v.caller().peer, *logic, &dropped);
               if (!dropped.empty())
                 spdlog::warn("merge from {}: not believed: {}", v.caller().peer, dropped);
               co_return co_await logic->merge(std::move(l));
             }));
  router.add(
      Verb::post, "/register/probe", auth::Access::member_or_admin,
      http::with_body<model::ProbeRequest>([logic](model::ProbeRequest p, const RequestView&) {
        return logic->probe(std::move(p));
      }));
  router.add(Verb::get, "/register/members", auth::Access::user,
             http::without_body([logic](const RequestView& v) {
               auto all = v.param("all");
               return logic->members(all == "true" || all == "1");
             }));
  router.add(Verb::post, "/register/leave", auth::Access::admin,
             [logic](const RequestView&) -> asio::awaitable<http::Response> {
               Status s = co_await logic->leave();
               if (!s.ok()) co_return http::error_response(s);
               co_return http::no_content();
             });
}

}  // namespace fvce::reg
