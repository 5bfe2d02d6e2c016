#include "node/auth/service.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "node/core/timer.h"
#include "node/core/workers.h"
#include "node/http/handlers.h"
#include "node/http/json.h"

namespace fvce::auth {

namespace asio = boost::asio;
using http::RequestView;
using http::Response;
using http::Verb;

namespace {

model::TokenDoc token_doc(const Caller& who) {
  return model::TokenDoc{who.user, std::string(to_string(who.role)), {}, std::nullopt, {}};
}

// The role a <user-change> names ("" = user). Errors name the value.
Result<Role> role_of(const model::UserChange& c) {
  if (c.role.empty()) return Role::user;
  auto r = parse_role(c.role);
  if (!r) return Status::InvalidArgument("role '" + c.role + "' is not user or admin");
  return *r;
}

}  // namespace

AccountsService::AccountsService(NodeContext& ctx, std::shared_ptr<Accounts> accounts,
                                 AccountsOptions options,
                                 std::function<std::vector<model::Member>()> live_members,
                                 bool secure_cookies)
    : ctx_(ctx),
      accounts_(std::move(accounts)),
      options_(options),
      live_members_(std::move(live_members)),
      secure_cookies_(secure_cookies),
      local_(std::make_shared<LocalAccountsPeer>(*accounts_)) {}

bool AccountsService::take_hashing() {
  if (++hashing_ > options_.max_hashing) {
    --hashing_;
    return false;
  }
  return true;
}

asio::awaitable<Result<AccountsService::SignIn>> AccountsService::sign_in(std::string user,
                                                                          std::string password,
                                                                          std::uint64_t ttl_s,
                                                                          const std::string& from) {
  auto ttl = options_.token_ttl;
  if (ttl_s)
    ttl =
        std::min(options_.max_token_ttl, std::chrono::seconds(static_cast<std::int64_t>(
                                             std::min<std::uint64_t>(ttl_s, 10ull * 365 * 86400))));
  if (!take_hashing())
    co_return Status::Unavailable("too many sign-ins at once: try again in a moment");
  auto token =
      co_await on_workers(ctx_.workers, [&] { return accounts_->login(user, password, ttl); });
  give_hashing();
  if (!token.ok()) {
    spdlog::warn("sign-in as '{}' from {} refused", user, from);
    co_return token.status();
  }
  auto who = accounts_->verify(token->text);
  if (!who.ok()) co_return who.status();
  spdlog::info("user '{}' signed in from {}", user, from);
  co_return SignIn{std::move(*token), std::move(*who)};
}

Result<Response> AccountsService::sign_out(const Caller& who, Response res) {
  if (!who.is_user()) return Status::InvalidArgument("the request carries no user's token");
  auto s = accounts_->revoke(who.token);
  if (!s.ok()) return s;
  if (on_logout_) on_logout_(who.token);
  res.set(http::bhttp::field::set_cookie, Accounts::clear_session_cookie(secure_cookies_));
  return res;
}

void AccountsService::add_routes(http::Router& router) {
  auto self = shared_from_this();
  auto busy = [] {
    auto res = http::error_response(
        Status::Unavailable("too many sign-ins at once: try again in a moment"));
    res.set(http::bhttp::field::retry_after, "1");
    return res;
  };

  router.add(Verb::post, "/auth/login", Access::open,
             [self, busy](const RequestView& v) -> asio::awaitable<Response> {
               auto in = http::parse_body<model::LoginRequest>(v.body());
               if (!in.ok()) co_return http::error_response(in.status());
               auto in_user = in->user;
               auto in_password = in->password;
               auto signed_in = co_await self->sign_in(std::move(in_user), std::move(in_password),
                                                       in->ttl_s.value_or(0), v.remote);
               if (!signed_in.ok()) {
                 if (signed_in.status().code() == ErrorCode::unavailable) co_return busy();
                 co_return http::error_response(signed_in.status());
               }
               auto doc = token_doc(signed_in->who);
               doc.value = signed_in->token.text;
               doc.expires = signed_in->token.expires_ms;
               auto res = http::document(doc);
               if (v.param("session") == "true") {
                 // A browser keeps the token in an HttpOnly cookie and sends the CSRF token
                 // with each change; the token itself is not given to its scripts.
                 doc.value.clear();
                 doc.csrf = self->accounts_->csrf_token(signed_in->token.text);
                 res = http::document(doc);
                 res.set(http::bhttp::field::set_cookie,
                         Accounts::session_cookie(signed_in->token, self->secure_cookies_));
               }
               co_return res;
             });

  router.add(Verb::post, "/auth/logout", Access::user,
             [self](const RequestView& v) -> asio::awaitable<Response> {
               auto res = self->sign_out(v.caller(), http::no_content());
               co_return res.ok() ? std::move(*res) : http::error_response(res.status());
             });

  // The same for the browser, in JSON (docs/web.md): the session is always a cookie.
  router.add(Verb::post, "/api/login", Access::open,
             [self](const RequestView& v) -> asio::awaitable<Response> {
               auto body = http::json_body(v.body());
               if (!body.ok()) co_return http::json_error(body.status());
               auto user = http::string_field(*body, "user", true);
               if (!user.ok()) co_return http::json_error(user.status(), "user");
               auto password = http::string_field(*body, "password", true);
               if (!password.ok()) co_return http::json_error(password.status(), "password");
               auto signed_in =
                   co_await self->sign_in(std::move(*user), std::move(*password), 0, v.remote);
               if (!signed_in.ok()) {
                 if (signed_in.status().code() == ErrorCode::unavailable) {
                   auto res = http::json_error(signed_in.status());
                   res.set(http::bhttp::field::retry_after, "1");
                   co_return res;
                 }
                 co_return http::json_error(signed_in.status());
               }
               http::json::object o{{"user", signed_in->who.user},
                                    {"role", std::string(to_string(signed_in->who.role))},
                                    {"csrf", self->accounts_->csrf_token(signed_in->token.text)},
                                    {"expires_ms", signed_in->token.expires_ms}};
               auto res = http::json_response(o);
               res.set(http::bhttp::field::set_cookie,
                       Accounts::session_cookie(signed_in->token, self->secure_cookies_));
               co_return res;
             });
  router.add(Verb::post, "/api/logout", Access::user,
             [self](const RequestView& v) -> asio::awaitable<Response> {
               auto res = self->sign_out(v.caller(), http::no_content());
               co_return res.ok() ? std::move(*res) : http::json_error(res.status());
             });

  router.add(
      Verb::get, "/auth/whoami", Access::user,
      http::without_body([](const RequestView& v) -> asio::awaitable<Result<model::TokenDoc>> {
        const auto& who = v.caller();
        if (!who.is_user())
          co_return Status::NotFound("the request carries no user's token (member '" + who.peer +
                                     "')");
        co_return token_doc(who);
      }));

  router.add(
      Verb::get, "/auth/users", Access::admin,
      http::without_body([self](const RequestView&) -> asio::awaitable<Result<model::UserList>> {
        model::UserList out;
        for (const auto& a : self->accounts_->list())
          out.users.push_back({a.name, std::string(to_string(a.role)), a.origin, a.changed_ms});
        co_return out;
      }));

  router.add(
      Verb::post, "/auth/users", Access::admin,
      [self, busy](const RequestView& v) -> asio::awaitable<Response> {
        auto in = http::parse_body<model::UserChange>(v.body());
        if (!in.ok()) co_return http::error_response(in.status());
        auto role = role_of(*in);
        if (!role.ok()) co_return http::error_response(role.status());
        if (in->password.empty())
          co_return http::error_response(Status::InvalidArgument("a new user needs a password"));
        if (!self->take_hashing()) co_return busy();
        auto s = co_await on_workers(self->ctx_.workers, [&] {
          return self->accounts_->add(in->name, in->password, *role);
        });
        self->give_hashing();
        if (!s.ok()) co_return http::error_response(s);
        spdlog::info("{} added user '{}' ({})", v.caller().describe(), in->name, to_string(*role));
        co_return http::no_content();
      });

  router.add(Verb::delete_, "/auth/users", Access::admin,
             [self](const RequestView& v) -> asio::awaitable<Response> {
               auto name = v.param("name");
               if (name.empty())
                 co_return http::error_response(
                     Status::InvalidArgument("the query parameter 'name' is missing"));
               auto s = co_await on_workers(self->ctx_.workers,
                                            [&] { return self->accounts_->remove(name); });
               if (!s.ok()) co_return http::error_response(s);
               spdlog::info("{} removed user '{}'", v.caller().describe(), name);
               co_return http::no_content();
             });

  router.add(
      Verb::post, "/auth/password", Access::user,
      [self, busy](const RequestView& v) -> asio::awaitable<Response> {
        auto in = http::parse_body<model::UserChange>(v.body());
        if (!in.ok()) co_return http::error_response(in.status());
        const auto& who = v.caller();
        if (!who.is_admin() && who.user != in->name)
          co_return http::error_response(
              Status::Forbidden(who.describe() + " may change only their own password"));
        if (in->password.empty())
          co_return http::error_response(Status::InvalidArgument("the new password is missing"));
        if (!self->take_hashing()) co_return busy();
        auto s = co_await on_workers(self->ctx_.workers, [&] {
          return self->accounts_->set_password(in->name, in->password);
        });
        self->give_hashing();
        if (!s.ok()) co_return http::error_response(s);
        spdlog::info("{} changed the password of '{}'", who.describe(), in->name);
        co_return http::no_content();
      });

  router.add(Verb::post, "/auth/role", Access::admin,
             [self](const RequestView& v) -> asio::awaitable<Response> {
               auto in = http::parse_body<model::UserChange>(v.body());
               if (!in.ok()) co_return http::error_response(in.status());
               auto role = role_of(*in);
               if (!role.ok()) co_return http::error_response(role.status());
               auto s = co_await on_workers(
                   self->ctx_.workers, [&] { return self->accounts_->set_role(in->name, *role); });
               if (!s.ok()) co_return http::error_response(s);
               co_return http::no_content();
             });

  router.add(Verb::post, "/auth/sync", Access::peer,
             [self](const RequestView& v) -> asio::awaitable<Response> {
               auto in = http::parse_body<model::AccountsDoc>(v.body());
               if (!in.ok()) co_return http::error_response(in.status());
               auto theirs = from_doc(*in);
               auto answer = co_await on_workers(self->ctx_.workers, [&] {
                 self->accounts_->merge(theirs);
                 return self->accounts_->newer_than(theirs);
               });
               co_return http::document(to_doc(answer));
             });
}

void AccountsService::start() {
  std::weak_ptr<AccountsService> weak = shared_from_this();
  accounts_->on_change([weak](const AccountSet& delta) {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    asio::co_spawn(self->ctx_.ioc, self->push(delta), asio::detached);
  });
  asio::co_spawn(ctx_.ioc, exchange_loop(), asio::detached);
}

void AccountsService::stop() {
  stopped_ = true;
}

asio::awaitable<void> AccountsService::push(AccountSet delta) {
  auto self = shared_from_this();
  for (const auto& m : live_members_()) {
    if (m.id == ctx_.self.id) continue;
    auto answer = co_await ctx_.peers.accounts(m).sync(delta);
    if (!answer.ok()) {
      spdlog::debug("pushing an account change to {}: {}", m.name, answer.status().message());
      continue;
    }
    if (!answer->empty()) {
      auto theirs = std::move(*answer);
      co_await on_workers(ctx_.workers, [&] { return accounts_->merge(theirs); });
    }
  }
}

asio::awaitable<void> AccountsService::exchange_loop() {
  auto self = shared_from_this();
  auto rng = ctx_.random.fork();
  // The first exchange soon after start: a node that joins learns the accounts at once.
  auto wait = std::chrono::milliseconds(200);
  while (!stopped_) {
    co_await sleep_for(ctx_.clock, wait);
    if (stopped_) break;
    auto interval = options_.sync_interval.count();
    wait = std::chrono::milliseconds(
        std::uniform_int_distribution<std::int64_t>(interval / 2, interval * 3 / 2)(rng));
    std::vector<model::Member> others;
    for (auto& m : live_members_())
      if (m.id != ctx_.self.id) others.push_back(std::move(m));
    if (others.empty()) {
      wait = std::chrono::milliseconds(std::min<std::int64_t>(interval, 1000));
      continue;
    }
    const auto& peer =
        others[std::uniform_int_distribution<std::size_t>(0, others.size() - 1)(rng)];
    auto mine = accounts_->snapshot();
    auto answer = co_await ctx_.peers.accounts(peer).sync(std::move(mine));
    if (!answer.ok()) {
      spdlog::debug("exchanging accounts with {}: {}", peer.name, answer.status().message());
      continue;
    }
    if (!answer->empty()) {
      auto theirs = std::move(*answer);
      auto changed = co_await on_workers(ctx_.workers, [&] { return accounts_->merge(theirs); });
      if (!changed.empty())
        spdlog::info("accounts: {} change(s) learned from {}",
                     changed.accounts.size() + changed.revoked.size(), peer.name);
    }
  }
}

}  // namespace fvce::auth
