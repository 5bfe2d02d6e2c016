#include "services/execute/resource.h"

#include <charconv>

#include "node/core/units.h"
#include "node/http/handlers.h"

namespace fvce::execute {

using http::RequestView;
using http::Verb;
namespace asio = boost::asio;

namespace {

constexpr std::uint64_t kDefaultLogBytes = 64u << 10;

// A whole non-negative number from a query parameter, or fallback when it is absent.
Result<std::uint64_t> number_param(const RequestView& v, std::string_view key,
                                   std::uint64_t fallback) {
  std::string text = v.param(key);
  if (text.empty()) return fallback;
  std::uint64_t out = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || p != text.data() + text.size())
    return Status::InvalidArgument("query parameter '" + std::string(key) +
                                   "' must be a whole number, not '" + text + "'");
  return out;
}

}  // namespace

void add_routes(http::Router& router, std::shared_ptr<LocalExecute> logic) {
  // 202, not 204: the task is accepted, its outcome comes later as reports.
  router.add(Verb::post, "/execute/tasks", auth::Access::peer,
             [logic](const RequestView& v) -> asio::awaitable<http::Response> {
               auto in = http::parse_body<model::TaskAssignment>(v.body());
               if (!in.ok()) co_return http::error_response(in.status());
               Status s = co_await logic->assign(std::move(*in));
               if (!s.ok()) co_return http::error_response(s);
               http::Response res{http::bhttp::status::accepted, 11};
               res.prepare_payload();
               co_return res;
             });
  router.add(Verb::post, "/execute/cancel", auth::Access::peer,
             http::with_body_no_answer<model::CancelRequest>(
                 [logic](model::CancelRequest c, const RequestView&) {
                   return logic->cancel(std::move(c));
                 }));
  router.add(Verb::post, "/execute/cleanup", auth::Access::peer,
             http::with_body_no_answer<model::CancelRequest>(
                 [logic](model::CancelRequest c, const RequestView&) {
                   return logic->cleanup(std::move(c));
                 }));
  router.add(Verb::post, "/execute/release", auth::Access::peer,
             http::with_body_no_answer<model::ReleaseRequest>(
                 [logic](model::ReleaseRequest r, const RequestView&) {
                   return logic->release(std::move(r));
                 }));
  // An admin drains a host (fvce drain, fvce leave); members may ask on one's behalf.
  router.add(
      Verb::post, "/execute/drain", auth::Access::member_or_admin,
      http::without_body([logic](const RequestView& v) -> asio::awaitable<Result<model::Drained>> {
        std::string reason = v.param("reason");
        if (reason.empty()) reason = "drained";
        if (reason.size() > 400)
          co_return Status::InvalidArgument("the reason is longer than 400 bytes");
        std::chrono::milliseconds wait{300'000};
        if (auto text = v.param("wait"); !text.empty()) {
          auto d = parse_duration(text);
          if (!d.ok())
            co_return Status::InvalidArgument("query parameter 'wait': " + d.status().message());
          if (*d > std::chrono::hours(24))
            co_return Status::InvalidArgument("query parameter 'wait': at most 24h");
          wait = *d;
        }
        co_return co_await logic->drain(std::move(reason), wait);
      }));
  router.add(
      Verb::get, "/execute/logs", auth::Access::peer,
      [logic](const RequestView& v) -> asio::awaitable<http::Response> {
        auto attempt = number_param(v, "attempt", 0);
        if (!attempt.ok()) co_return http::error_response(attempt.status());
        if (*attempt > 1'000'000)
          co_return http::error_response(
              Status::InvalidArgument("query parameter 'attempt' is out of range"));
        auto max = number_param(v, "max", kDefaultLogBytes);
        if (!max.ok()) co_return http::error_response(max.status());
        std::string stream = v.param("stream");
        if (stream.empty()) stream = "stdout";
        if (v.param("task").empty())
          co_return http::error_response(
              Status::InvalidArgument("the query parameter 'task' is missing"));
        // The ids are checked by the schema's own types, as a <cancel> naming the same task.
        auto ids = http::parse_body<model::CancelRequest>(
            model::to_xml(model::CancelRequest{v.param("workflow"), v.param("task")}));
        if (!ids.ok())
          co_return http::error_response(
              Status::InvalidArgument("query parameters 'workflow' and 'task' must name a task: " +
                                      ids.status().message()));
        auto text = co_await logic->logs(std::move(ids->workflow), std::move(ids->task),
                                         static_cast<int>(*attempt), std::move(stream), *max);
        if (!text.ok()) co_return http::error_response(text.status());
        co_return http::text_response(std::move(*text), "text/plain; charset=utf-8");
      });
}

}  // namespace fvce::execute
