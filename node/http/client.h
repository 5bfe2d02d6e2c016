// A pooled keep-alive HTTP/1.1 client for talking to peers.
//
// Every request has a deadline covering connect, write and read. Idle connections are kept
// per peer address (bounded) and reused; a reused connection that turns out to be closed
// by the peer is replaced once, transparently. Failed attempts are retried up to
// RequestOptions::attempts with exponential back-off and full jitter. A request never
// blocks a thread: it is a coroutine on the caller's executor. Thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "node/core/status.h"
#include "node/http/message.h"
#include "node/http/metrics.h"

namespace fvce::http {

struct ClientOptions {
  std::chrono::milliseconds timeout{5'000};  // default per-attempt deadline
  std::size_t max_idle_per_peer = 4;
  std::size_t max_body = 64u << 20;  // larger answers are refused
  std::chrono::milliseconds backoff_base{50};
  std::chrono::milliseconds backoff_max{2'000};
};

struct RequestOptions {
  std::chrono::milliseconds timeout{0};                           // 0: ClientOptions::timeout
  int attempts = 1;                                               // total tries, >= 1
  std::vector<std::pair<std::string, std::string>> headers = {};  // extra request headers
};

class Client {
 public:
  Client(asio::io_context& ioc, ClientOptions options = {});
  ~Client();

  // Sends method target with body (XML) to address ("HOST:PORT") and returns the response,
  // whatever its status. Errors: unavailable (could not connect or the connection broke),
  // timeout (deadline expired), too-large (answer over the limit).
  asio::awaitable<Result<Response>> request(std::string address, Verb method, std::string target,
                                            std::string body = {}, RequestOptions opts = {});

  // As request(), and then: a 2xx answer is validated against the schema and decoded as T;
  // any other answer is turned into the Status its <error> document describes.
  template <typename T>
  asio::awaitable<Result<T>> call(std::string address, Verb method, std::string target,
                                  std::string body = {}, RequestOptions opts = {}) {
    auto res =
        co_await request(std::move(address), method, std::move(target), std::move(body), opts);
    if (!res.ok()) co_return res.status();
    if (res->result_int() / 100 != 2)
      co_return status_from_error_body(res->result_int(), res->body());
    co_return parse_body<T>(res->body());
  }

  // As call(), for requests whose success has no body.
  asio::awaitable<Status> send(std::string address, Verb method, std::string target,
                               std::string body = {}, RequestOptions opts = {});

  // Drops idle connections to address (e.g. after the peer was declared dead).
  void forget(const std::string& address);

 private:
  using Stream = boost::beast::tcp_stream;
  asio::awaitable<Result<Response>> attempt(const std::string& address, const Request& req,
                                            std::chrono::milliseconds timeout);
  std::unique_ptr<Stream> take_idle(const std::string& address);
  void give_back(const std::string& address, std::unique_ptr<Stream> s);

  asio::io_context& ioc_;
  ClientOptions options_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Stream>>> idle_;
  std::minstd_rand jitter_;
};

// Percent-encodes text for use as a query parameter value.
std::string query_escape(std::string_view text);

// Splits "HOST:PORT" ("[v6]:PORT" too). False when it is not of that form.
bool split_address(std::string_view address, std::string& host, std::string& port);

}  // namespace fvce::http
