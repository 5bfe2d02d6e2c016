#include "services/userport/apps_routes.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "node/http/json.h"
#include "services/submit/owned.h"

namespace fvce::userport {

namespace asio = boost::asio;
namespace json = boost::json;
using http::RequestView;
using http::Response;
using http::Verb;

namespace {
// Who a record says published it.
std::string by(const auth::Caller& caller) {
  return caller.is_user() ? caller.user : caller.describe();
}
}  // namespace

void add_app_routes(http::Router& router, std::shared_ptr<AppStore> store, SubmitFor submit) {
  router.add(Verb::get, "/api/apps", auth::Access::user,
             [store](const RequestView&) -> asio::awaitable<Response> {
               co_return http::json_response(json::object{{"apps", apps_json(store->list())}});
             });

  router.add(Verb::post, "/api/apps", auth::Access::admin,
             [store](const RequestView& v) -> asio::awaitable<Response> {
               auto app = co_await store->publish(std::string(v.body()), by(v.caller()));
               if (!app.ok()) co_return http::json_error(app.status());
               co_return http::json_response(app_json(*app), http::bhttp::status::created);
             });

  router.add(Verb::delete_, "/api/apps", auth::Access::admin,
             [store](const RequestView& v) -> asio::awaitable<Response> {
               auto name = v.param("name");
               if (name.empty())
                 co_return http::json_error(
                     Status::InvalidArgument("the query parameter 'name' is missing"), "name");
               auto s = co_await store->withdraw(name, by(v.caller()));
               if (!s.ok()) co_return http::json_error(s);
               co_return http::no_content();
             });

  router.add(
      Verb::post, "/api/apps/submit", auth::Access::user,
      [store, submit](const RequestView& v) -> asio::awaitable<Response> {
        boost::system::error_code ec;
        auto body = json::parse(v.body(), ec);
        if (ec || !body.is_object())
          co_return http::json_error(Status::InvalidArgument(
              "the body must be a JSON object {\"app\": NAME, \"values\": {...}}"));
        const auto& o = body.as_object();
        const auto* name = o.if_contains("app");
        if (!name || !name->is_string())
          co_return http::json_error(
              Status::InvalidArgument("\"app\" (the application's name) is missing"), "app");
        const auto* values = o.if_contains("values");
        if (values && !values->is_object() && !values->is_null())
          co_return http::json_error(Status::InvalidArgument("\"values\" must be an object"),
                                     "values");
        auto app = store->find(name->as_string());
        if (!app)
          co_return http::json_error(
              Status::NotFound("no application is called '" + std::string(name->as_string()) + "'"),
              "app");
        static const json::object kNone;
        auto checked =
            check_values(*app, values && values->is_object() ? values->as_object() : kNone);
        if (!checked.errors.empty()) {
          const auto& first = checked.errors.front();
          std::string message = checked.errors.size() == 1 ? first.field + ": " + first.message
                                                           : std::to_string(checked.errors.size()) +
                                                                 " fields are wrong; the first, " +
                                                                 first.field + ", " + first.message;
          co_return http::json_error(Status::InvalidArgument(message), first.field, checked.errors);
        }
        auto doc = instantiate(*app, checked);
        if (!doc.ok()) co_return http::json_error(doc.status());
        const auto& caller = v.caller();
        submit::OwnedSubmit owned(submit(caller), caller);
        auto out = co_await owned.submit(std::move(*doc), caller.user);
        if (!out.ok()) co_return http::json_error(out.status());
        spdlog::info("{} submitted application '{}': workflow {}", caller.describe(), app->name,
                     out->id);
        co_return http::json_response(
            json::object{{"id", out->id}, {"name", out->name}, {"tasks", out->tasks}});
      });
}

}  // namespace fvce::userport
