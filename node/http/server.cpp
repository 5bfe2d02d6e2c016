#include "node/http/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/url/parse.hpp>

namespace fvce::http {

using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct Server::Connection {
  explicit Connection(std::unique_ptr<Stream> s) : stream(std::move(s)) {}
  std::unique_ptr<Stream> stream;
  std::atomic<bool> busy{false};  // a request is being handled
};

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
    if (open_->load() >= options_.max_connections) {
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
  (*stream)->expires_after(std::chrono::seconds(2));
  co_await bhttp::async_write(**stream, res, use_tuple);
  co_await (*stream)->shutdown_send();
}

asio::awaitable<void> Server::session(tcp::socket socket) {
  struct Count {
    std::shared_ptr<std::atomic<std::size_t>> open;
    ~Count() { --*open; }
  } count{open_};
  auto stream = co_await transport_.accept(std::move(socket), options_.read_timeout);
  if (!stream.ok()) co_return;
  auto conn = std::make_shared<Connection>(std::move(*stream));
  {
    std::lock_guard lock(mu_);
    if (stopping_) co_return;
    connections_.insert(conn);
  }
  co_await serve(conn);
  std::lock_guard lock(mu_);
  connections_.erase(conn);
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
        metrics_.observe_request("(refused)", "-", refusal->result_int(), 0);
        conn->stream->expires_after(std::chrono::seconds(2));
        co_await bhttp::async_write(*conn->stream, *refusal, use_tuple);
      }
      break;
    }

    conn->busy = true;
    auto req = parser.release();
    auto started = std::chrono::steady_clock::now();
    std::string route;
    Response res = co_await dispatch(req, *conn->stream, remote, route);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics_.observe_request(route, req.method_string(), res.result_int(), seconds);

    bool keep = req.keep_alive() && !stopping_;
    res.keep_alive(keep);
    res.set(bhttp::field::server, "fvce");
    conn->stream->expires_after(options_.read_timeout);
    std::tie(ec, std::ignore) = co_await bhttp::async_write(*conn->stream, res, use_tuple);
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
  RequestView view{req, path, url->params(), remote, caller.ok() ? &*caller : nullptr};
  StreamExchange ex{*conn.stream, buffer, parser, view, options_.read_timeout};
  if (!caller.ok()) {
    // The body was not read: answer, and close the connection after it.
    auto res = error_response(caller.status());
    if (caller.status().code() == ErrorCode::unauthenticated)
      res.set(bhttp::field::www_authenticate, "Bearer realm=\"fvce\"");
    res.keep_alive(false);
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
  if (authenticator_) {
    auto who = authenticator_->authenticate(header, method, target, body, stream, remote);
    if (!who.ok()) {
      spdlog::warn("refused {} {} from {}: {}", bhttp::to_string(method), route, remote,
                   who.status().message());
      return who.status();
    }
    caller = std::move(*who);
  }
  if (auto s = admit(access, caller, route); !s.ok()) {
    spdlog::warn("refused {} {} from {} ({}): {}", bhttp::to_string(method), route, remote,
                 caller.describe(), s.message());
    return s;
  }
  return caller;
}

asio::awaitable<Response> Server::dispatch(const Request& req, const Stream& stream,
                                           const std::string& remote, std::string& route) {
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
    co_return error_response(Status::NotFound("no such resource: " + path));
  }
  route = match.route;
  auto caller = authenticate(req.base(), req.method(), req.target(), &req.body(), stream, remote,
                             match.access, match.route);
  if (!caller.ok()) {
    auto res = error_response(caller.status());
    if (caller.status().code() == ErrorCode::unauthenticated)
      res.set(bhttp::field::www_authenticate, "Bearer realm=\"fvce\"");
    co_return res;
  }
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
