// The node's HTTP/1.1 server (Boost.Beast, C++20 coroutines), over a Transport (stream.h).
//
// One coroutine per connection reads a request under a deadline and size limits, routes
// it, and writes the answer; keep-alive connections loop. The body limit (max_body) is for
// the bodies the server reads into memory; a streaming route (Router::add_stream) reads its
// own body and applies its own limit (a file upload may be far larger). The number of open
// connections is capped (over the cap a connection gets 503 and is closed), and so is what
// one client may hold: an address until a request proves who sent it, then the signed-in
// user (members are not counted); a client over its share loses its longest-idle
// connection, so idle connections of one client never keep another out. Requests are
// limited per user, or per address for those that prove no one (429 beyond the rate);
// members are not limited. stop() closes the
// acceptor, asks every connection to finish its current request and close, and waits
// for them up to a grace period.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

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
  std::size_t max_connections_per_client = 64;     // per address or user; see above
  double rate = 200;                               // requests/s per user or address; 0: none
  double burst = 400;                              // requests above the rate, at once
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
  asio::awaitable<Response> dispatch(const Request& req, Connection& conn,
                                     const std::string& remote, std::string& route);
  // The caller of a request for a route of the given access, or the refusal to answer with.
  Result<auth::Caller> authenticate(const bhttp::fields& header, Verb method,
                                    std::string_view target, const std::string* body,
                                    const Stream& stream, const std::string& remote,
                                    auth::Access access, std::string_view route);
  // Per-client accounting (see the comment at the top). enter() counts conn under key,
  // closing the key's longest-idle connection when the key is at its share; false when
  // none is idle. identify() moves conn to the key of the caller its request proved.
  bool enter(const std::shared_ptr<Connection>& conn, const std::string& key);
  void leave(Connection& conn);
  void identify(Connection& conn, const auth::Caller& caller);
  // Takes one request from key's budget; false when it is spent.
  bool take_request(const std::string& key);

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
  std::map<std::string, std::set<std::shared_ptr<Connection>>> by_client_;  // under mu_
  std::map<std::string, std::size_t> handshaking_;  // connections not yet set up, by address
  struct Budget {
    double tokens = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex rate_mu_;
  std::unordered_map<std::string, Budget> budgets_;
};

}  // namespace fvce::http
