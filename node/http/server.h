// The node's HTTP/1.1 server (Boost.Beast, C++20 coroutines), over a Transport (stream.h).
//
// One coroutine per connection reads a request under a deadline and size limits, routes
// it, and writes the answer; keep-alive connections loop. The body limit (max_body) is for
// the bodies the server reads into memory; a streaming route (Router::add_stream) reads its
// own body and applies its own limit (a file upload may be far larger). The number of open
// connections is capped (over the cap a connection gets 503 and is closed). stop() closes the
// acceptor, asks every connection to finish its current request and close, and waits
// for them up to a grace period.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>

#include "node/core/status.h"
#include "node/http/authenticator.h"
#include "node/http/metrics.h"
#include "node/http/router.h"
#include "node/http/stream.h"

namespace fvce::http {

struct ServerOptions {
  std::size_t max_body = 8u << 20;                 // bytes; larger bodies get 413
  std::size_t max_header = 16u << 10;              // bytes; larger headers get 431
  std::size_t max_connections = 1024;              // open connections; more get 503
  std::chrono::milliseconds read_timeout{10'000};  // to read one request once it started
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
};

class Server {
 public:
  // router, metrics and transport must outlive the server.
  Server(asio::io_context& ioc, const Router& router, Metrics& metrics, ServerOptions options,
         Transport& transport);
  // Over plain TCP.
  Server(asio::io_context& ioc, const Router& router, Metrics& metrics, ServerOptions options);
  ~Server();

  // Binds and listens. Port 0 picks a free port; local_endpoint() tells which.
  Status listen(const asio::ip::tcp::endpoint& endpoint);
  asio::ip::tcp::endpoint local_endpoint() const;

  // Who may use which route: every request is authenticated before it is routed. Set before
  // start(); must outlive the server. Without one only open routes are served.
  void set_authenticator(Authenticator* authenticator) { authenticator_ = authenticator; }

  // Starts accepting. Call once, after listen().
  void start();

  // Stops accepting and closes idle connections; requests in progress finish. Resolves when
  // every connection has closed or grace has passed. Call from any thread.
  asio::awaitable<void> stop(std::chrono::milliseconds grace);

  std::size_t open_connections() const { return open_->load(); }

 private:
  struct Connection;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> refuse(asio::ip::tcp::socket socket);
  asio::awaitable<void> session(asio::ip::tcp::socket socket);
  asio::awaitable<void> serve(std::shared_ptr<Connection> conn);
  // Runs a streaming route's handler; nullopt when the request is not for one, else
  // whether the connection can serve another request.
  asio::awaitable<std::optional<bool>> try_stream(Connection& conn, beast::flat_buffer& buffer,
                                                  bhttp::request_parser<bhttp::string_body>& parser,
                                                  const std::string& remote);
  asio::awaitable<Response> dispatch(const Request& req, const Stream& stream,
                                     const std::string& remote, std::string& route);
  // The caller of a request for a route of the given access, or the refusal to answer with.
  Result<auth::Caller> authenticate(const bhttp::fields& header, Verb method,
                                    std::string_view target, const std::string* body,
                                    const Stream& stream, const std::string& remote,
                                    auth::Access access, std::string_view route);

  asio::io_context& ioc_;
  const Router& router_;
  Metrics& metrics_;
  ServerOptions options_;
  Transport& transport_;
  Authenticator* authenticator_ = nullptr;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> accepting_{false};  // the accept loop is running
  // Shared with each session: a session frame the io_context destroys after this Server
  // (a stop() whose grace ran out) still counts itself out safely.
  std::shared_ptr<std::atomic<std::size_t>> open_ = std::make_shared<std::atomic<std::size_t>>(0);
  std::mutex mu_;
  std::set<std::shared_ptr<Connection>> connections_;
};

}  // namespace fvce::http
