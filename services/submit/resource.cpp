#include "services/submit/resource.h"

#include <charconv>

#include "node/core/units.h"
#include "node/http/handlers.h"
#include "services/submit/owned.h"
#include "services/submit/plan.h"
#include "services/submit/query.h"

namespace fvce::submit {

using http::RequestView;
using http::Verb;
namespace asio = boost::asio;

namespace {

Result<std::string> required(const RequestView& v, const char* name) {
  auto value = v.param(name);
  if (value.empty())
    return Status::InvalidArgument(std::string("the query parameter '") + name + "' is missing");
  return value;
}

}  // namespace

void add_routes(http::Router& router, FederationView federation, std::shared_ptr<LocalSubmit> node,
                std::shared_ptr<reg::MembershipView> members) {
  // The view a request asks for (the federation's unless scope=node), for its caller.
  auto pick = [federation, node](const RequestView& v) -> Result<std::shared_ptr<SubmitLogic>> {
    auto scope = v.param("scope");
    std::shared_ptr<SubmitLogic> inner;
    if (scope.empty() || scope == "federation")
      inner = federation(v.caller());
    else if (scope == "node")
      inner = node;
    else
      return Status::InvalidArgument("scope='" + scope + "' is not federation or node");
    return std::shared_ptr<SubmitLogic>(std::make_shared<OwnedSubmit>(inner, v.caller()));
  };
  router.add(Verb::post, "/submit/workflows", auth::Access::user,
             [node](const RequestView& v) -> asio::awaitable<http::Response> {
               auto doc = http::parse_body<model::WorkflowDoc>(v.body());
               if (!doc.ok()) co_return http::error_response(doc.status());
               // check=true: only what submit would refuse the document for, before its
               // inputs are uploaded (fvce submit asks first when it has files to send).
               auto check = v.param("check");
               if (!check.empty() && check != "true" && check != "false")
                 co_return http::error_response(
                     Status::InvalidArgument("check='" + check + "' is not true or false"));
               if (check == "true") {
                 auto plan = plan_workflow(*doc);
                 co_return plan.ok() ? http::no_content() : http::error_response(plan.status());
               }
               OwnedSubmit owned(node, v.caller());
               auto out = co_await owned.submit(std::move(*doc), {});
               if (!out.ok()) co_return http::error_response(out.status());
               co_return http::document(*out, http::bhttp::status::created);
             });
  router.add(Verb::get, "/submit/workflows", auth::Access::user,
             http::without_body(
                 [pick](const RequestView& v) -> asio::awaitable<Result<model::WorkflowList>> {
                   auto logic = pick(v);
                   if (!logic.ok()) co_return logic.status();
                   auto q = read_workflow_query(v);
                   if (!q.ok()) co_return q.status();
                   co_return co_await (*logic)->workflows(std::move(*q));
                 }));
  router.add(Verb::get, "/submit/status", auth::Access::user,
             http::without_body(
                 [pick](const RequestView& v) -> asio::awaitable<Result<model::WorkflowStatus>> {
                   auto logic = pick(v);
                   if (!logic.ok()) co_return logic.status();
                   auto id = required(v, "workflow");
                   if (!id.ok()) co_return id.status();
                   auto text = v.param("tasks");
                   auto detail = text.empty() ? TaskDetail::all : parse_task_detail(text);
                   if (!detail)
                     co_return Status::InvalidArgument("tasks='" + std::string(text) +
                                                       "' is not all, failed or none");
                   std::chrono::milliseconds wait{0};
                   if (auto w = v.param("wait"); !w.empty()) {
                     auto d = parse_duration(w);
                     if (!d.ok() || *d > kMaxStatusWait)
                       co_return Status::InvalidArgument("wait='" + std::string(w) +
                                                         "' is not a duration of at most " +
                                                         format_duration(kMaxStatusWait));
                     wait = *d;
                   }
                   co_return co_await (*logic)->status(*id, *detail, wait);
                 }));
  router.add(Verb::get, "/submit/view", auth::Access::user,
             http::without_body(
                 [pick](const RequestView& v) -> asio::awaitable<Result<model::WorkflowView>> {
                   auto logic = pick(v);
                   if (!logic.ok()) co_return logic.status();
                   auto id = required(v, "workflow");
                   if (!id.ok()) co_return id.status();
                   auto q = read_view_query(v);
                   if (!q.ok()) co_return q.status();
                   co_return co_await (*logic)->view(*id, std::move(*q));
                 }));
  router.add(Verb::post, "/submit/cancel", auth::Access::user,
             [pick](const RequestView& v) -> asio::awaitable<http::Response> {
               auto logic = pick(v);
               if (!logic.ok()) co_return http::error_response(logic.status());
               auto id = required(v, "workflow");
               if (!id.ok()) co_return http::error_response(id.status());
               auto s = co_await (*logic)->cancel(*id);
               if (!s.ok()) co_return http::error_response(s);
               co_return http::no_content();
             });
  router.add(
      Verb::post, "/submit/retry", auth::Access::user,
      http::without_body([pick](const RequestView& v) -> asio::awaitable<Result<model::Submitted>> {
        auto logic = pick(v);
        if (!logic.ok()) co_return logic.status();
        auto id = required(v, "workflow");
        if (!id.ok()) co_return id.status();
        co_return co_await (*logic)->retry(*id);
      }));
  router.add(Verb::post, "/submit/migrate", auth::Access::user,
             [pick](const RequestView& v) -> asio::awaitable<http::Response> {
               auto logic = pick(v);
               if (!logic.ok()) co_return http::error_response(logic.status());
               auto id = required(v, "workflow");
               if (!id.ok()) co_return http::error_response(id.status());
               auto task = required(v, "task");
               if (!task.ok()) co_return http::error_response(task.status());
               auto to = required(v, "to");
               if (!to.ok()) co_return http::error_response(to.status());
               auto s = co_await (*logic)->migrate(*id, *task, *to);
               if (!s.ok()) co_return http::error_response(s);
               co_return http::no_content();
             });
  router.add(
      Verb::post, "/submit/reports", auth::Access::peer,
      http::with_body_no_answer<model::TaskReports>(
          [node, members](model::TaskReports r, const RequestView& v) -> asio::awaitable<Status> {
            // A member reports only on what it ran: each report names the executor.
            for (const auto& rep : r.reports) {
              auto host = members->find(rep.host);
              // Not known here yet (this node has just started and not yet heard of every
              // member): the executor keeps the reports and sends them again.
              if (!host)
                co_return Status::Unavailable("executor '" + rep.host + "' of task '" + rep.task +
                                              "' is not known here yet");
              if (host->name != v.caller().peer)
                co_return Status::Forbidden("member '" + v.caller().peer +
                                            "' may not report on task '" + rep.task +
                                            "' as executor '" + rep.host + "'");
            }
            OwnedSubmit owned(node, v.caller());
            co_return co_await owned.reports(std::move(r));
          }));
  router.add(Verb::get, "/submit/results", auth::Access::user,
             http::without_body(
                 [pick](const RequestView& v) -> asio::awaitable<Result<model::ResultList>> {
                   auto logic = pick(v);
                   if (!logic.ok()) co_return logic.status();
                   auto id = required(v, "workflow");
                   if (!id.ok()) co_return id.status();
                   co_return co_await (*logic)->results(*id);
                 }));
  router.add(Verb::get, "/submit/logs", auth::Access::user,
             [pick](const RequestView& v) -> asio::awaitable<http::Response> {
               auto logic = pick(v);
               if (!logic.ok()) co_return http::error_response(logic.status());
               auto id = required(v, "workflow");
               auto task = required(v, "task");
               if (!id.ok()) co_return http::error_response(id.status());
               if (!task.ok()) co_return http::error_response(task.status());
               auto stream = v.param("stream");
               if (stream.empty()) stream = "stdout";
               if (stream != "stdout" && stream != "stderr")
                 co_return http::error_response(Status::InvalidArgument(
                     "stream must be stdout or stderr, not '" + stream + "'"));
               auto text = co_await (*logic)->logs(*id, *task, stream);
               if (!text.ok()) co_return http::error_response(text.status());
               co_return http::text_response(std::move(*text), "text/plain; charset=utf-8");
             });
}

std::optional<TaskDetail> parse_task_detail(std::string_view text) {
  if (text == "all") return TaskDetail::all;
  if (text == "failed") return TaskDetail::failed;
  if (text == "none") return TaskDetail::none;
  return std::nullopt;
}

std::string_view to_string(TaskDetail detail) {
  switch (detail) {
    case TaskDetail::failed:
      return "failed";
    case TaskDetail::none:
      return "none";
    case TaskDetail::all:
      break;
  }
  return "all";
}

}  // namespace fvce::submit
