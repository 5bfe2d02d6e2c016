#include "services/submit/resource.h"

#include "node/http/handlers.h"

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

}  // namespace

void add_routes(http::Router& router, std::shared_ptr<DagSubmit> submit) {
  router.add(Verb::post, "/submit/workflows",
             [submit](const RequestView& v) -> asio::awaitable<http::Response> {
               auto user = user_of(v);
               if (!user.ok()) co_return http::error_response(user.status());
               auto doc = http::parse_body<model::WorkflowDoc>(v.body());
               if (!doc.ok()) co_return http::error_response(doc.status());
               auto out = co_await submit->submit(std::move(*doc), *user);
               if (!out.ok()) co_return http::error_response(out.status());
               co_return http::document(*out, http::bhttp::status::created);
             });
  router.add(Verb::get, "/submit/workflows", http::without_body([submit](const RequestView& v) {
               return submit->workflows(v.param("owner"));
             }));
  router.add(Verb::get, "/submit/status",
             http::without_body(
                 [submit](const RequestView& v) -> asio::awaitable<Result<model::WorkflowStatus>> {
                   auto id = required(v, "workflow");
                   if (!id.ok()) co_return id.status();
                   auto text = v.param("tasks");
                   auto detail = text.empty() ? TaskDetail::all : parse_task_detail(text);
                   if (!detail)
                     co_return Status::InvalidArgument("tasks='" + std::string(text) +
                                                       "' is not all, failed or none");
                   co_return co_await submit->status(*id, *detail);
                 }));
  router.add(Verb::post, "/submit/cancel",
             [submit](const RequestView& v) -> asio::awaitable<http::Response> {
               auto id = required(v, "workflow");
               if (!id.ok()) co_return http::error_response(id.status());
               auto user = user_of(v);
               if (!user.ok()) co_return http::error_response(user.status());
               auto owner = submit->owner_of(*id);
               if (!owner.empty() && owner != *user)
                 co_return http::error_response(Status::Forbidden(
                     "workflow '" + *id + "' belongs to " + owner + ", not to " + *user));
               auto s = co_await submit->cancel(*id);
               if (!s.ok()) co_return http::error_response(s);
               co_return http::no_content();
             });
  router.add(Verb::post, "/submit/reports",
             http::with_body_no_answer<model::TaskReports>(
                 [submit](model::TaskReports r, const RequestView&) {
                   return submit->reports(std::move(r));
                 }));
  router.add(Verb::get, "/submit/results",
             http::without_body(
                 [submit](const RequestView& v) -> asio::awaitable<Result<model::ResultList>> {
                   auto id = required(v, "workflow");
                   if (!id.ok()) co_return id.status();
                   co_return co_await submit->results(*id);
                 }));
  router.add(
      Verb::get, "/submit/logs", [submit](const RequestView& v) -> asio::awaitable<http::Response> {
        auto id = required(v, "workflow");
        auto task = required(v, "task");
        if (!id.ok()) co_return http::error_response(id.status());
        if (!task.ok()) co_return http::error_response(task.status());
        auto stream = v.param("stream");
        if (stream.empty()) stream = "stdout";
        if (stream != "stdout" && stream != "stderr")
          co_return http::error_response(
              Status::InvalidArgument("stream must be stdout or stderr, not '" + stream + "'"));
        auto text = co_await submit->logs(*id, *task, stream);
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
