#include "services/register/resource.h"

#include "node/http/handlers.h"

namespace fvce::reg {

using http::RequestView;
using http::Verb;
namespace asio = boost::asio;

void add_routes(http::Router& router, std::shared_ptr<RegisterLogic> logic) {
  router.add(Verb::post, "/register/join",
             http::with_body<model::JoinRequest>([logic](model::JoinRequest r, const RequestView&) {
               return logic->join(std::move(r));
             }));
  router.add(Verb::post, "/register/ping",
             http::with_body<model::Ping>(
                 [logic](model::Ping p, const RequestView&) { return logic->ping(std::move(p)); }));
  router.add(
      Verb::post, "/register/updates",
      http::with_body_no_answer<model::Updates>(
          [logic](model::Updates u, const RequestView&) { return logic->updates(std::move(u)); }));
  router.add(Verb::post, "/register/merge",
             http::with_body<model::MemberList>([logic](model::MemberList l, const RequestView&) {
               return logic->merge(std::move(l));
             }));
  router.add(
      Verb::post, "/register/probe",
      http::with_body<model::ProbeRequest>([logic](model::ProbeRequest p, const RequestView&) {
        return logic->probe(std::move(p));
      }));
  router.add(Verb::get, "/register/members", http::without_body([logic](const RequestView& v) {
               auto all = v.param("all");
               return logic->members(all == "true" || all == "1");
             }));
  router.add(Verb::post, "/register/leave",
             [logic](const RequestView&) -> asio::awaitable<http::Response> {
               Status s = co_await logic->leave();
               if (!s.ok()) co_return http::error_response(s);
               co_return http::no_content();
             });
}

}  // namespace fvce::reg
