// The user port's decisions that need no running node: where a Files path leads and who may
// go there, and the router's prefix routes the application is served by.
#include "services/userport/web.h"

#include <doctest/doctest.h>

#include "node/http/router.h"

namespace fvce::userport {
namespace {

auth::Caller user(const char* name) {
  auth::Caller c;
  c.user = name;
  return c;
}

auth::Caller admin() {
  auth::Caller c;
  c.user = "root-admin";
  c.role = auth::Role::admin;
  return c;
}

TEST_CASE("web: a user's Files paths lead to their area, work directories and results") {
  auto alice = user("alice");
  auto root = place_of("", alice);
  REQUIRE(root.ok());
  CHECK(root->kind == FilePlace::root);

  auto own = place_of("users/alice/notes/a.txt", alice);
  REQUIRE(own.ok());
  CHECK(own->kind == FilePlace::work);
  CHECK(own->path == "users/alice/notes/a.txt");
  CHECK(own->workflow.empty());

  auto work = place_of("/work/hello-0d6f1234/split.0/a1/out.txt", alice);
  REQUIRE(work.ok());
  CHECK(work->kind == FilePlace::work);
  CHECK(work->workflow == "hello-0d6f1234");
  CHECK(work->path == "work/hello-0d6f1234/split.0/a1/out.txt");

  auto result = place_of("results/hello-0d6f1234/total.txt", alice);
  REQUIRE(result.ok());
  CHECK(result->kind == FilePlace::result);
  CHECK(result->workflow == "hello-0d6f1234");
  CHECK(result->name == "total.txt");

  CHECK(place_of("results", alice)->kind == FilePlace::results_dir);
  CHECK(place_of("results/hello-0d6f1234", alice)->kind == FilePlace::results_dir);
  CHECK(place_of("work", alice)->kind == FilePlace::work_dir);
  CHECK(place_of("users", alice)->kind == FilePlace::users_dir);
}

TEST_CASE("web: a user may not reach another's area, the store or a path with dots") {
  auto alice = user("alice");
  auto other = place_of("users/bob/secret.txt", alice);
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().code() == ErrorCode::forbidden);
  CHECK(other.status().message().find("bob") != std::string::npos);

  auto store = place_of("store/0123", alice);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == ErrorCode::forbidden);

  for (const char* bad : {"users/alice/../bob/x", "work/./x", "users//alice"}) {
    CAPTURE(bad);
    auto p = place_of(bad, alice);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == ErrorCode::invalid_argument);
  }
  CHECK_FALSE(place_of("results/wf/a/b", alice).ok());
}

TEST_CASE("web: an admin reaches any path under the work root") {
  auto a = admin();
  auto store = place_of("store/0123", a);
  REQUIRE(store.ok());
  CHECK(store->kind == FilePlace::work);
  CHECK(store->path == "store/0123");
  CHECK(place_of("users/bob/secret.txt", a).ok());
}

TEST_CASE("router: the longest prefix serves a path no exact route matches") {
  http::Router r;
  auto h = [](const http::RequestView&) -> boost::asio::awaitable<http::Response> {
    co_return http::no_content();
  };
  r.add(http::Verb::get, "/assets/exact.js", auth::Access::open, h);
  r.add_prefix(http::Verb::get, "/assets/", auth::Access::open, h);
  r.add_prefix(http::Verb::get, "/assets/fonts/", auth::Access::user, h);
  auto exact = r.find(http::Verb::get, "/assets/exact.js");
  CHECK(exact.route == "/assets/exact.js");
  auto any = r.find(http::Verb::get, "/assets/index-3f2a.js");
  REQUIRE(any.handler != nullptr);
  CHECK(any.route == "/assets/*");
  CHECK(any.access == auth::Access::open);
  auto font = r.find(http::Verb::get, "/assets/fonts/a.woff2");
  CHECK(font.route == "/assets/fonts/*");
  CHECK(font.access == auth::Access::user);
  auto post = r.find(http::Verb::post, "/assets/x.js");
  CHECK(post.handler == nullptr);
  CHECK(r.find(http::Verb::get, "/other").handler == nullptr);
}

}  // namespace
}  // namespace fvce::userport
