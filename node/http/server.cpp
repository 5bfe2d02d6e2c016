#include "node/http/server.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/url/parse.hpp>

#include "node/http/json.h"

namespace fvce::http {

using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct Server::Connection : std::enable_shared_from_this<Server::Connection> {
  Connection(std::unique_ptr<Stream> s, std::string a)
      : stream(std::move(s)), address(std::move(a)) {}
  std::unique_ptr<Stream> stream;
  std::string address;            // the client's IP address
  std::atomic<bool> busy{false};  // a request is being handled
  // Under the server's mu_: the key it is counted under ("" = not counted: a member), and
  // since when it has waited for its next request.
  std::string client;
  std::chrono::steady_clock::time_point idle_since = std::chrono::steady_clock::now();
};

namespace {

// Large bodies leave large free blocks behind; give them back to the system, at most once a
// second, so a burst of big requests does not keep the node's memory high for good.
void trim_after_large_body(std::size_t body_size) {
  if (body_size < (1u << 20)) return;
  static std::atomic<std::int64_t> last{0};
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
                 .count();
  auto before = last.load();
  if (now - before < 1000 || !last.compare_exchange_strong(before, now)) return;
  ::malloc_trim(0);
}

}  // namespace

Server::Server(asio::io_context& ioc, const Router& router, Metrics& metrics, ServerOptions options)
    : Server(ioc, router, metrics, options, *plain_transport()) {}

Server::Server(asio::io_context& ioc, const Router& router, Metrics& metrics, ServerOptions options,
               Transport& transport)
    : ioc_(ioc),
      router_(router),
      metrics_(metrics),
      options_(options),
      transport_(transport),
      acceptor_(ioc) {
  metrics_.describe("fvce_http_requests_total", "counter", "Requests served, by route and status.");
  metrics_.describe("fvce_http_connections_refused_total", "counter",
                    "Connections refused because the connection cap was reached.");
  metrics_.add_collector([this](Metrics& m) {
    m.set("fvce_http_open_connections", {}, static_cast<double>(open_->load()));
  });
  metrics_.describe("fvce_http_open_connections", "gauge", "Open client connections.");
  metrics_.describe("fvce_http_connections_evicted_total", "counter",
                    "Idle connections closed because their client opened more than its share.");
  metrics_.describe("fvce_http_rate_limited_total", "counter",
                    "Requests answered 429 because their user or address exceeded its rate.");
}

Server::~Server() = default;

Status Server::listen(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + endpoint.address().to_string() + ":" +
                               std::to_string(endpoint.port()) + ": " + ec.message());
  }
  return Status::Ok();
}

tcp::endpoint Server::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Server::start() {
  accepting_ = true;
  asio::co_spawn(ioc_, accept_loop(), asio::detached);
}

asio::awaitable<void> Server::accept_loop() {
  // stop() waits for this, so the Server may be destroyed once stop() has returned.
  struct Done {
    std::atomic<bool>& flag;
    ~Done() { flag = false; }
  } done{accepting_};
  while (!stopping_) {
    tcp::socket socket(asio::make_strand(ioc_));
    auto [ec] = co_await acceptor_.async_accept(socket, use_tuple);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      spdlog::warn("accept failed: {}", ec.message());
      // Out of descriptors and the like: wait a little rather than spin.
      asio::steady_timer t(ioc_, std::chrono::milliseconds(50));
      co_await t.async_wait(use_tuple);
      continue;
    }
    boost::system::error_code rec;
    std::string address = socket.remote_endpoint(rec).address().to_string();
    if (rec) continue;  // gone already
    bool refused = open_->load() >= options_.max_connections;
    if (!refused) {
      // Connections still in their (TLS) handshake count against their address too.
      std::lock_guard lock(mu_);
      auto& n = handshaking_[address];
      if (n >= options_.max_connections_per_client)
        refused = true;
      else
        ++n;
    }
    if (refused) {
      metrics_.add("fvce_http_connections_refused_total", {});
      auto exec = socket.get_executor();
      asio::co_spawn(exec, refuse(std::move(socket)), asio::detached);
      continue;
    }
    ++*open_;
    auto exec = socket.get_executor();
    asio::co_spawn(exec, session(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Server::refuse(tcp::socket socket) {
  auto stream = co_await transport_.accept(std::move(socket), std::chrono::seconds(2));
  if (!stream.ok()) co_return;
  auto res = error_response(Status::Unavailable("too many connections; try again later"));
  res.keep_alive(false);
  set_security_headers(res.base(), (*stream)->secure());
  (*stream)->expires_after(std::chrono::seconds(2));
  co_await bhttp::async_write(**stream, res, use_tuple);
  co_await (*stream)->shutdown_send();
}

asio::awaitable<void> Server::session(tcp::socket socket) {
  struct Count {
    std::shared_ptr<std::atomic<std::size_t>> open;
    ~Count() { --*open; }
  } count{open_};
  boost::system::error_code ec;
  std::string address = socket.remote_endpoint(ec).address().to_string();
  auto stream = co_await transport_.accept(std::move(socket), options_.read_timeout);
  {
    std::lock_guard lock(mu_);
    if (auto it = handshaking_.find(address); it != handshaking_.end() && --it->second == 0)
      handshaking_.erase(it);
  }
  if (!stream.ok()) co_return;
  auto conn = std::make_shared<Connection>(std::move(*stream), address);
  {
    std::lock_guard lock(mu_);
    if (stopping_) co_return;
    connections_.insert(conn);
  }
  // A member proved by its certificate is not counted; anyone else by address, until a
  // request proves who it is.
  if (conn->stream->peer_name().empty() && !enter(conn, address)) {
    metrics_.add("fvce_http_connections_refused_total", {});
    auto res = error_response(
        Status::Unavailable("too many connections from " + address + " are busy; try again later"));
    res.keep_alive(false);
    set_security_headers(res.base(), conn->stream->secure());
    conn->stream->expires_after(std::chrono::seconds(2));
    co_await bhttp::async_write(*conn->stream, res, use_tuple);
    co_await conn->stream->shutdown_send();
  } else {
    co_await serve(conn);
  }
  std::lock_guard lock(mu_);
  if (!conn->client.empty()) {
    auto it = by_client_.find(conn->client);
    if (it != by_client_.end() && it->second.erase(conn) && it->second.empty())
      by_client_.erase(it);
    conn->client.clear();
  }
  connections_.erase(conn);
}

bool Server::enter(const std::shared_ptr<Connection>& conn, const std::string& key) {
  std::shared_ptr<Connection> evicted;
  {
    std::lock_guard lock(mu_);
    auto& set = by_client_[key];
    if (set.size() >= options_.max_connections_per_client) {
      for (const auto& c : set)
        if (c != conn && !c->busy && (!evicted || c->idle_since < evicted->idle_since)) evicted = c;
      if (!evicted) {
        if (set.empty()) by_client_.erase(key);
        return false;
      }
      set.erase(evicted);
      evicted->client.clear();
    }
    set.insert(conn);
    conn->client = key;
  }
  if (evicted) {
    metrics_.add("fvce_http_connections_evicted_total", {});
    asio::post(evicted->stream->get_executor(), [evicted] {
      boost::system::error_code ignored;  // it may have closed meanwhile
      if (!evicted->busy) evicted->stream->socket().cancel(ignored);
    });
  }
  return true;
}

void Server::identify(Connection& conn, const auth::Caller& caller) {
  std::string key = caller.is_peer()   ? std::string()
                    : caller.is_user() ? "user:" + caller.user
                                       : conn.address;
  auto self = conn.shared_from_this();
  {
    std::lock_guard lock(mu_);
    if (key == conn.client) return;
    if (!conn.client.empty()) {
      auto it = by_client_.find(conn.client);
      if (it != by_client_.end() && it->second.erase(self) && it->second.empty())
        by_client_.erase(it);
      conn.client.clear();
    }
  }
  // Busy itself, it is never refused here: the user's longest-idle connection makes room.
  if (!key.empty() && !enter(self, key)) {
    std::lock_guard lock(mu_);
    by_client_[key].insert(self);
    conn.client = key;
  }
}

bool Server::take_request(const std::string& key) {
  if (options_.rate <= 0) return true;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(rate_mu_);
  auto refill = [&](Budget& b) {
    double dt = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(options_.burst, b.tokens + dt * options_.rate);
    b.at = now;
  };
  if (budgets_.size() > 10'000) {
    // Forget the clients whose budget has filled up again: they lose nothing.
    for (auto it = budgets_.begin(); it != budgets_.end();) {
      refill(it->second);
      it = it->second.tokens >= options_.burst ? budgets_.erase(it) : std::next(it);
    }
  }
  auto [it, fresh] = budgets_.try_emplace(key);
  if (fresh) {
    it->second.tokens = std::max(1.0, options_.burst);
    it->second.at = now;
  } else {
    refill(it->second);
  }
  if (it->second.tokens < 1) return false;
  it->second.tokens -= 1;
  return true;
}

asio::awaitable<void> Server::serve(std::shared_ptr<Connection> conn) {
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  std::string remote = conn->stream->remote_address();
  for (;;) {
    if (stopping_) break;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.max_header));
    // No body limit while the header is read: Beast would hold a declared length against it
    // before the route is known, and a streaming route (an upload) has a limit of its own.
    parser.body_limit(boost::none);

    // Wait for the first byte of the next request under the idle deadline; from then on the
    // whole request (header and body) must arrive under the read deadline, so a client
    // that trickles a header is cut off as soon as one that trickles a body.
    if (buffer.size() == 0) {
      conn->stream->expires_after(options_.idle_timeout);
      std::size_t n = 0;
      std::tie(ec, n) = co_await conn->stream->async_read_some(buffer.prepare(4096), use_tuple);
      buffer.commit(n);
      if (ec) break;
    }
    conn->stream->expires_after(options_.read_timeout);
    std::tie(ec, std::ignore) =
        co_await bhttp::async_read_header(*conn->stream, buffer, parser, use_tuple);
    if (!ec) {
      // A streaming route reads its own body and writes its own answer.
      if (auto handled = co_await try_stream(*conn, buffer, parser, remote); handled) {
        if (*handled && !stopping_) continue;
        break;
      }
    }
    if (!ec && !parser.is_done()) {
      // A body read into memory: at most max_body, declared (Content-Length) or not (chunked).
      if (auto length = parser.content_length(); length && *length > options_.max_body)
        ec = bhttp::error::body_limit;
      else
        parser.body_limit(options_.max_body);
    }
    if (!ec && !parser.is_done()) {
      std::tie(ec, std::ignore) =
          co_await bhttp::async_read(*conn->stream, buffer, parser, use_tuple);
    }
    if (ec) {
      std::optional<Response> refusal;
      if (ec == bhttp::error::body_limit)
        refusal = error_response(Status::TooLarge("the request body exceeds " +
                                                  std::to_string(options_.max_body) + " bytes"));
      else if (ec == bhttp::error::header_limit) {
        refusal = error_response(Status::TooLarge("the request header exceeds " +
                                                  std::to_string(options_.max_header) + " bytes"));
        refusal->result(bhttp::status::request_header_fields_too_large);
      } else if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
                 ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
                 ec != asio::error::eof) {
        refusal =
            error_response(Status::InvalidArgument("malformed HTTP request: " + ec.message()));
      }
      if (refusal) {
        refusal->keep_alive(false);
        set_security_headers(refusal->base(), conn->stream->secure());
        metrics_.observe_request("(refused)", "-", refusal->result_int(), 0);
        conn->stream->expires_after(std::chrono::seconds(2));
        co_await bhttp::async_write(*conn->stream, *refusal, use_tuple);
      }
      break;
    }

    conn->busy = true;
    bool keep = false;
    std::size_t body_size = 0;
    {
      auto req = parser.release();
      body_size = req.body().size();
      auto started = std::chrono::steady_clock::now();
      std::string route;
      Response res = co_await dispatch(req, *conn, remote, route);
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      metrics_.observe_request(route, req.method_string(), res.result_int(), seconds);

      keep = req.keep_alive() && !stopping_;
      res.keep_alive(keep);
      set_security_headers(res.base(), conn->stream->secure());
      conn->stream->expires_after(options_.read_timeout);
      std::tie(ec, std::ignore) = co_await bhttp::async_write(*conn->stream, res, use_tuple);
    }
    trim_after_large_body(body_size);
    {
      std::lock_guard lock(mu_);
      conn->idle_since = std::chrono::steady_clock::now();
    }
    conn->busy = false;
    if (ec || !keep) break;
  }
  co_await conn->stream->shutdown_send();
  ec = {};
  // Lingering close: a request body we did not read (an upload refused before its body)
  // would make close() send a reset, and the client could lose our answer. Drain what the
  // peer still sends, briefly, until it closes its side.
  if (!ec) {
    conn->stream->expires_after(std::chrono::milliseconds(500));
    std::size_t drained = 0;
    while (drained < (1u << 20)) {
      auto [rec, n] = co_await conn->stream->async_read_some(buffer.prepare(16384), use_tuple);
      if (rec) break;
      buffer.consume(buffer.size());
      drained += n;
    }
  }
  conn->stream->close();
}

namespace {

// The answer to a request refused before its handler ran: JSON for the browser's API
// (docs/web.md), the <error> document elsewhere.
Response refusal(std::string_view path, const Status& status) {
  return path.starts_with("/api/") ? json_error(status) : error_response(status);
}

}  // namespace

asio::awaitable<std::optional<bool>> Server::try_stream(
    Connection& conn, beast::flat_buffer& buffer, bhttp::request_parser<bhttp::string_body>& parser,
    const std::string& remote) {
  const auto& req = parser.get();
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) co_return std::nullopt;
  std::string path = url->path();
  auto match = router_.find(req.method(), path);
  if (!match.stream) co_return std::nullopt;
  conn.busy = true;
  auto started = std::chrono::steady_clock::now();
  auto caller = authenticate(req.base(), req.method(), req.target(), nullptr, *conn.stream, remote,
                             match.access, match.route);
  if (caller.ok()) identify(conn, *caller);
  RequestView view{req, path, url->params(), remote, caller.ok() ? &*caller : nullptr};
  StreamExchange ex{*conn.stream, buffer, parser, view, options_.read_timeout};
  if (!caller.ok()) {
    // The body was not read: answer, and close the connection after it.
    auto res = refusal(path, caller.status());
    if (caller.status().code() == ErrorCode::unauthenticated)
      res.set(bhttp::field::www_authenticate, "Bearer realm=\"fvce\"");
    if (caller.status().code() == ErrorCode::rate_limited) res.set(bhttp::field::retry_after, "1");
    res.keep_alive(false);
    set_security_headers(res.base(), conn.stream->secure());
    conn.stream->expires_after(std::chrono::seconds(2));
    co_await bhttp::async_write(*conn.stream, res, use_tuple);
    ex.status = res.result_int();
    ex.keep_alive = false;
  } else {
    try {
      co_await (*match.stream)(ex);
    } catch (const std::exception& e) {
      spdlog::error("stream handler for {} failed: {}", path, e.what());
      ex.keep_alive = false;
      ex.status = 500;
    }
  }
  {
    std::lock_guard lock(mu_);
    conn.idle_since = std::chrono::steady_clock::now();
  }
  conn.busy = false;
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.observe_request(match.route, req.method_string(), ex.status, seconds);
  co_return ex.keep_alive&& req.keep_alive();
}

Result<auth::Caller> Server::authenticate(const bhttp::fields& header, Verb method,
                                          std::string_view target, const std::string* body,
                                          const Stream& stream, const std::string& remote,
                                          auth::Access access, std::string_view route) {
  auth::Caller caller;
  Status refused;
  if (authenticator_) {
    auto who = authenticator_->authenticate(header, method, target, body, stream, remote);
    if (who.ok())
      caller = std::move(*who);
    else
      refused = who.status();
  }
  // Members are not limited; a user is, by name, and anyone else by address (refused
  // requests included, so guessing costs a client its budget).
  if (!caller.is_peer()) {
    std::string key = caller.is_user() ? "user:" + caller.user : "addr:" + remote;
    if (!take_request(key)) {
      metrics_.add("fvce_http_rate_limited_total", {});
      return Status::RateLimited(
          "too many requests from " +
          (caller.is_user() ? "user '" + caller.user + "'" : std::string(remote)) + " (over " +
          std::to_string(static_cast<long>(options_.rate)) + " per second); slow down");
    }
  }
  if (!refused.ok()) {
    spdlog::warn("refused {} {} from {}: {}", bhttp::to_string(method), route, remote,
                 refused.message());
    return refused;
  }
  if (auto s = admit(access, caller, route); !s.ok()) {
    spdlog::warn("refused {} {} from {} ({}): {}", bhttp::to_string(method), route, remote,
                 caller.describe(), s.message());
    return s;
  }
  return caller;
}

asio::awaitable<Response> Server::dispatch(const Request& req, Connection& conn,
                                           const std::string& remote, std::string& route) {
  const Stream& stream = *conn.stream;
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) {
    route = "(bad-target)";
    co_return error_response(
        Status::InvalidArgument("bad request target '" + std::string(req.target()) + "'"));
  }
  std::string path = url->path();
  auto match = router_.find(req.method(), path);
  if (!match.handler) {
    route = match.path_known ? match.route : "(unknown)";
    if (match.path_known) {
      auto res = error_response(
          Status(ErrorCode::invalid_argument,
                 "method " + std::string(req.method_string()) + " is not allowed on " + path));
      res.result(bhttp::status::method_not_allowed);
      co_return res;
    }
    co_return refusal(path, Status::NotFound("no such resource: " + path));
  }
  route = match.route;
  auto caller = authenticate(req.base(), req.method(), req.target(), &req.body(), stream, remote,
                             match.access, match.route);
  if (!caller.ok()) {
    auto res = refusal(path, caller.status());
    if (caller.status().code() == ErrorCode::unauthenticated)
      res.set(bhttp::field::www_authenticate, "Bearer realm=\"fvce\"");
    if (caller.status().code() == ErrorCode::rate_limited) res.set(bhttp::field::retry_after, "1");
    co_return res;
  }
  identify(conn, *caller);
  RequestView view{req, path, url->params(), remote, &*caller};
  try {
    co_return co_await (*match.handler)(view);
  } catch (const std::exception& e) {
    spdlog::error("handler for {} failed: {}", path, e.what());
    co_return error_response(Status::Internal(std::string("internal error: ") + e.what()));
  }
}

asio::awaitable<void> Server::stop(std::chrono::milliseconds grace) {
  stopping_ = true;
  auto acceptor_exec = acceptor_.get_executor();
  co_await asio::post(acceptor_exec, asio::use_awaitable);
  boost::system::error_code ec;
  acceptor_.close(ec);

  // Idle connections are waiting for a request that may never come: wake them.
  std::vector<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lock(mu_);
    conns.assign(connections_.begin(), connections_.end());
  }
  for (auto& c : conns) {
    asio::post(c->stream->get_executor(), [c] {
      boost::system::error_code ignored;  // it may have closed meanwhile
      if (!c->busy) c->stream->socket().cancel(ignored);
    });
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  asio::steady_timer timer(ioc_);
  while ((open_->load() > 0 || accepting_.load()) && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(use_tuple);
  }
}

}  // namespace fvce::http
