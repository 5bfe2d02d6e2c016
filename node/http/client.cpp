#include "node/http/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <random>

namespace fvce::http {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

Client::Client(asio::io_context&, Transport& transport, Random& random, ClientOptions options)
    : transport_(transport), random_(random), options_(options) {}

Client::Client(asio::io_context&, ClientOptions options)
    : owned_transport_(plain_transport()),
      owned_random_(std::make_unique<Random>(std::random_device{}())),
      transport_(*owned_transport_),
      random_(*owned_random_),
      options_(options) {}

Client::~Client() = default;

std::unique_ptr<Stream> Client::take_idle(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = idle_.find(address);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  auto s = std::move(it->second.back());
  it->second.pop_back();
  return s;
}

void Client::give_back(const std::string& address, std::unique_ptr<Stream> s) {
  std::lock_guard lock(mu_);
  auto& v = idle_[address];
  if (v.size() < options_.max_idle_per_peer) v.push_back(std::move(s));
}

void Client::forget(const std::string& address) {
  std::lock_guard lock(mu_);
  idle_.erase(address);
}

asio::awaitable<Result<std::unique_ptr<Stream>>> Client::connect(
    std::string address, std::chrono::milliseconds timeout) {
  co_return co_await transport_.connect(std::move(address), timeout);
}

asio::awaitable<Result<Response>> Client::attempt(const std::string& address, const Request& req,
                                                  std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // A pooled connection may have been closed by the peer while idle; then the write or the
  // read fails at once and we retry on a fresh connection without counting an attempt.
  for (int fresh_tries = 0; fresh_tries < 2; ++fresh_tries) {
    auto stream = fresh_tries == 0 ? take_idle(address) : nullptr;
    bool reused = stream != nullptr;
    if (!stream) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto made =
          co_await transport_.connect(address, std::max(left, std::chrono::milliseconds(1)));
      if (!made.ok()) co_return made.status();
      stream = std::move(*made);
    }
    stream->expires_at(deadline);
    auto [wec, wn] = co_await bhttp::async_write(*stream, req, use_tuple);
    if (wec) {
      if (reused && wec != beast::error::timeout) continue;
      if (wec == beast::error::timeout)
        co_return Status::Timeout("request to " + address + " timed out");
      co_return Status::Unavailable("sending to " + address + " failed: " + wec.message());
    }
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(options_.max_body);
    auto [rec, rn] = co_await bhttp::async_read(*stream, buffer, parser, use_tuple);
    if (rec) {
      if (reused && rn == 0 && rec != beast::error::timeout) continue;
      if (rec == beast::error::timeout)
        co_return Status::Timeout(std::string(req.method_string()) + " " +
                                  std::string(req.target()) + " on " + address + " timed out");
      if (rec == bhttp::error::body_limit)
        co_return Status::TooLarge("the answer from " + address + " exceeds the size limit");
      co_return Status::Unavailable("reading from " + address + " failed: " + rec.message());
    }
    Response res = parser.release();
    if (res.keep_alive()) {
      stream->expires_never();
      give_back(address, std::move(stream));
    }
    co_return res;
  }
  co_return Status::Unavailable("connection to " + address + " keeps closing");
}

asio::awaitable<Result<Response>> Client::request(std::string address, Verb method,
                                                  std::string target, std::string body,
                                                  RequestOptions opts) {
  Request req{method, target, 11};
  req.set(bhttp::field::host, address);
  req.set(bhttp::field::user_agent, "fvce");
  if (!body.empty() || method == Verb::post || method == Verb::put) {
    req.set(bhttp::field::content_type, kXmlType);
    req.body() = std::move(body);
  }
  for (const auto& [name, value] : opts.headers) req.set(name, value);
  req.keep_alive(true);
  req.prepare_payload();

  auto timeout = opts.timeout.count() > 0 ? opts.timeout : options_.timeout;
  int attempts = std::max(1, opts.attempts);
  Status last;
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor,
                               options_.backoff.delay(i, random_));
      co_await timer.async_wait(use_tuple);
    }
    add_credentials(req.base(), method, req.target(), &req.body());
    auto res = co_await attempt(address, req, timeout);
    if (res.ok()) {
      // 503 and 429 mean "try later": worth another attempt when we have one.
      if ((res->result() == bhttp::status::service_unavailable ||
           res->result() == bhttp::status::too_many_requests) &&
          i + 1 < attempts) {
        last = status_from_error_body(res->result_int(), res->body());
        continue;
      }
      co_return res;
    }
    last = res.status();
    if (last.code() == ErrorCode::invalid_argument || last.code() == ErrorCode::too_large) break;
  }
  co_return last;
}

asio::awaitable<Status> Client::send(std::string address, Verb method, std::string target,
                                     std::string body, RequestOptions opts) {
  auto res = co_await request(std::move(address), method, std::move(target), std::move(body), opts);
  if (!res.ok()) co_return res.status();
  if (res->result_int() / 100 != 2)
    co_return status_from_error_body(res->result_int(), res->body());
  co_return Status::Ok();
}

asio::awaitable<Result<std::string>> Client::text(std::string address, std::string target,
                                                  RequestOptions opts) {
  auto res = co_await request(std::move(address), Verb::get, std::move(target), {}, opts);
  if (!res.ok()) co_return res.status();
  if (res->result_int() / 100 != 2)
    co_return status_from_error_body(res->result_int(), res->body());
  co_return std::move(res->body());
}

}  // namespace fvce::http
