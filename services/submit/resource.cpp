#include "services/submit/resource.h"

#include <charconv>

#include "node/core/units.h"
#include "node/http/handlers.h"
#include "services/submit/plan.h"

namespace fvce::submit {

using http::RequestView;
using http::Verb;
namespace asio = boost::asio;

namespace {

// The requesting user: the X-Fvce-User header, checked to be a plain name.
Result<std::string> user_of(const RequestView& v) {
  auto it = v.request.find("X-Fvce-User");
  if (it == v.request.end()) return std::string("anonymous");
  std::string user(it->value());
  // The schema's Name: a letter or digit, then letters, digits, '.', '_', '-'; 63 at most.
  auto plain = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  bool ok = !user.empty() && user.size() <= 63 && plain(user[0]);
  for (char c : user) ok = ok && (plain(c) || c == '.' || c == '_' || c == '-');
  if (!ok) return Status::InvalidArgument("X-Fvce-User '" + user + "' is not a user name");
  return user;
}

Result<std::string> required(const RequestView& v, const char* name) {
  auto value = v.param(name);
  if (value.empty())
    return Status::InvalidArgument(std::string("the query parameter '") + name + "' is missing");
  return value;
}

Result<std::uint64_t> number(const RequestView& v, const char* name, std::uint64_t fallback) {
  auto text = v.param(name);
  if (text.empty()) return fallback;
  std::uint64_t out = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || p != text.data() + text.size())
    return Status::InvalidArgument(std::string("query parameter '") + name + "': '" + text +
                                   "' is not a whole number");
  return out;
}

}  // namespace

void add_routes(http::Router& router, std::shared_ptr<SubmitLogic> federation,
                std::shared_ptr<SubmitLogic> node) {
  // The view a request asks for: the federation's unless scope=node.
  auto pick = [federation, node](const RequestView& v) -> Result<SubmitLogic*> {
    auto scope = v.param("scope");
    if (scope.empty() || scope == "federation") return federation.get();
    if (scope == "node") return node.get();
    return Status::InvalidArgument("scope='" + scope + "' is not federation or node");
  };
  router.add(Verb::post, "/submit/workflows",
             [node](const RequestView& v) -> asio::awaitable<http::Response> {
               auto user = user_of(v);
               if (!user.ok()) co_return http::error_response(user.status());
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
               auto out = co_await node->submit(std::move(*doc), *user);
               if (!out.ok()) co_return http::error_response(out.status());
               co_return http::document(*out, http::bhttp::status::created);
             });
  router.add(Verb::get, "/submit/workflows",
             http::without_body(
                 [pick](const RequestView& v) -> asio::awaitable<Result<model::WorkflowList>> {
                   auto logic = pick(v);
                   if (!logic.ok()) co_return logic.status();
                   auto offset = number(v, "offset", 0);
                   if (!offset.ok()) co_return offset.status();
                   auto limit = number(v, "limit", 100);
                   if (!limit.ok()) co_return limit.status();
                   if (*limit < 1 || *limit > kMaxPage)
                     co_return Status::InvalidArgument("limit=" + std::to_string(*limit) +
                                                       " is not between 1 and " +
                                                       std::to_string(kMaxPage));
                   WorkflowQuery q{v.param("owner"), *offset, *limit};
                   co_return co_await (*logic)->workflows(std::move(q));
                 }));
  router.add(Verb::get, "/submit/status",
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
  router.add(Verb::post, "/submit/cancel",
             [pick, node](const RequestView& v) -> asio::awaitable<http::Response> {
               auto logic = pick(v);
               if (!logic.ok()) co_return http::error_response(logic.status());
               auto id = required(v, "workflow");
               if (!id.ok()) co_return http::error_response(id.status());
               // The user is checked where the request came in; a node-scope call is a
               // peer forwarding one it checked.
               if (*logic != node.get()) {
                 auto user = user_of(v);
                 if (!user.ok()) co_return http::error_response(user.status());
                 auto owner = co_await (*logic)->owner_of(*id);
                 if (!owner.ok()) co_return http::error_response(owner.status());
                 if (*owner != *user)
                   co_return http::error_response(Status::Forbidden(
                       "workflow '" + *id + "' belongs to " + *owner + ", not to " + *user));
               }
               auto s = co_await (*logic)->cancel(*id);
               if (!s.ok()) co_return http::error_response(s);
               co_return http::no_content();
             });
  router.add(Verb::post, "/submit/reports",
             http::with_body_no_answer<model::TaskReports>(
                 [node](model::TaskReports r, const RequestView&) {
                   return node->reports(std::move(r));
                 }));
  router.add(Verb::get, "/submit/results",
             http::without_body(
                 [pick](const RequestView& v) -> asio::awaitable<Result<model::ResultList>> {
                   auto logic = pick(v);
                   if (!logic.ok()) co_return logic.status();
                   auto id = required(v, "workflow");
                   if (!id.ok()) co_return id.status();
                   co_return co_await (*logic)->results(*id);
                 }));
  router.add(
      Verb::get, "/submit/logs", [pick](const RequestView& v) -> asio::awaitable<http::Response> {
        auto logic = pick(v);
        if (!logic.ok()) co_return http::error_response(logic.status());
        auto id = required(v, "workflow");
        auto task = required(v, "task");
        if (!id.ok()) co_return http::error_response(id.status());
        if (!task.ok()) co_return http::error_response(task.status());
        auto stream = v.param("stream");
        if (stream.empty()) stream = "stdout";
        if (stream != "stdout" && stream != "stderr")
          co_return http::error_response(
              Status::InvalidArgument("stream must be stdout or stderr, not '" + stream + "'"));
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
