// A pooled keep-alive HTTP/1.1 client for talking to peers, over a Transport (stream.h).
//
// Every request has a deadline covering connect, write and read. Idle connections are kept
// per peer address (bounded) and reused; a reused connection that turns out to be closed
// by the peer is replaced once, transparently. Failed attempts are retried up to
// RequestOptions::attempts with the project's back-off (core/backoff.h). A request never
// blocks a thread: it is a coroutine on the caller's executor. Thread-safe.
//
// Streamed exchanges (files of any size) take a connection of their own with connect() and
// speak HTTP on it with Beast's parsers and serializers.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "node/core/backoff.h"
#include "node/core/call_options.h"
#include "node/core/random.h"
#include "node/core/status.h"
#include "node/http/message.h"
#include "node/http/stream.h"

namespace fvce::http {

struct ClientOptions {
  std::chrono::milliseconds timeout{5'000};  // default per-attempt deadline
  std::size_t max_idle_per_peer = 4;
  std::size_t max_body = 64u << 20;  // larger answers are refused
  Backoff backoff{std::chrono::milliseconds(50), std::chrono::milliseconds(2'000)};
};

struct RequestOptions {
  std::chrono::milliseconds timeout{0};                           // 0: ClientOptions::timeout
  int attempts = 1;                                               // total tries, >= 1
  std::vector<std::pair<std::string, std::string>> headers = {};  // extra request headers
};

// defaults with what call sets (its non-zero fields) put in their place; a user's token the
// call carries goes with the request.
inline RequestOptions with_call(RequestOptions defaults, const CallOptions& call) {
  if (call.timeout.count() > 0) defaults.timeout = call.timeout;
  if (call.attempts > 0) defaults.attempts = call.attempts;
  if (!call.user_token.empty())
    defaults.headers.emplace_back("Authorization", "Bearer " + call.user_token);
  return defaults;
}

// Adds what proves who sends a request (a member's signature, a user's token) to a request
// just before it is sent, at each attempt. body: the whole body, or null for one streamed
// after the header.
using Credentials = std::function<void(bhttp::fields& header, Verb method, std::string_view target,
                                       const std::string* body)>;

class Client {
 public:
  // transport and random must outlive the client.
  Client(asio::io_context& ioc, Transport& transport, Random& random, ClientOptions options = {});
  // For a command-line client: plain transport, a random source seeded by the OS.
  explicit Client(asio::io_context& ioc, ClientOptions options = {});
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

  // As call(), for answers that are text (logs, file contents of at most max_body).
  asio::awaitable<Result<std::string>> text(std::string address, std::string target,
                                            RequestOptions opts = {});

  // A connection of its own to address, for a streamed exchange. Errors as request().
  asio::awaitable<Result<std::unique_ptr<Stream>>> connect(std::string address,
                                                           std::chrono::milliseconds timeout);

  // Set before the first request; every request (and every streamed exchange that calls
  // add_credentials) carries them.
  void set_credentials(Credentials credentials) { credentials_ = std::move(credentials); }
  void add_credentials(bhttp::fields& header, Verb method, std::string_view target,
                       const std::string* body) const {
    if (credentials_) credentials_(header, method, target, body);
  }

  // Drops idle connections to address (e.g. after the peer was declared dead).
  void forget(const std::string& address);

  const ClientOptions& options() const { return options_; }

 private:
  asio::awaitable<Result<Response>> attempt(const std::string& address, const Request& req,
                                            std::chrono::milliseconds timeout);
  std::unique_ptr<Stream> take_idle(const std::string& address);
  void give_back(const std::string& address, std::unique_ptr<Stream> s);

  std::shared_ptr<Transport> owned_transport_;  // the command-line constructor's
  std::unique_ptr<Random> owned_random_;
  Transport& transport_;
  Random& random_;
  ClientOptions options_;
  Credentials credentials_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Stream>>> idle_;
};

}  // namespace fvce::http
