#include "node/http/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace fvce::http {

using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

bool split_address(std::string_view address, std::string& host, std::string& port) {
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size()) return false;
  host = std::string(address.substr(0, colon));
  port = std::string(address.substr(colon + 1));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  for (char c : port)
    if (c < '0' || c > '9') return false;
  return true;
}

std::string query_escape(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Client::Client(asio::io_context& ioc, ClientOptions options)
    : ioc_(ioc), options_(options), jitter_(std::random_device{}()) {}

Client::~Client() = default;

std::unique_ptr<Client::Stream> Client::take_idle(const std::string& address) {
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

asio::awaitable<Result<Response>> Client::attempt(const std::string& address, const Request& req,
                                                  std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // A pooled connection may have been closed by the peer while idle; then the write or the
  // read fails at once and we retry on a fresh connection without counting an attempt.
  for (int fresh_tries = 0; fresh_tries < 2; ++fresh_tries) {
    auto stream = fresh_tries == 0 ? take_idle(address) : nullptr;
    bool reused = stream != nullptr;
    if (!stream) {
      std::string host, port;
      if (!split_address(address, host, port))
        co_return Status::InvalidArgument("'" + address + "' is not HOST:PORT");
      stream = std::make_unique<Stream>(co_await asio::this_coro::executor);
      tcp::resolver resolver(co_await asio::this_coro::executor);
      auto [rec, results] = co_await resolver.async_resolve(host, port, use_tuple);
      if (rec) co_return Status::Unavailable("cannot resolve " + address + ": " + rec.message());
      stream->expires_at(deadline);
      auto [cec, ep] = co_await stream->async_connect(results, use_tuple);
      if (cec == boost::beast::error::timeout)
        co_return Status::Timeout("connecting to " + address + " timed out");
      if (cec) co_return Status::Unavailable("cannot connect to " + address + ": " + cec.message());
      boost::system::error_code ignored;
      stream->socket().set_option(tcp::no_delay(true), ignored);
    }
    stream->expires_at(deadline);
    auto [wec, wn] = co_await bhttp::async_write(*stream, req, use_tuple);
    if (wec) {
      if (reused && wec != boost::beast::error::timeout) continue;
      if (wec == boost::beast::error::timeout)
        co_return Status::Timeout("request to " + address + " timed out");
      co_return Status::Unavailable("sending to " + address + " failed: " + wec.message());
    }
    boost::beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(options_.max_body);
    auto [rec, rn] = co_await bhttp::async_read(*stream, buffer, parser, use_tuple);
    if (rec) {
      if (reused && rn == 0 && rec != boost::beast::error::timeout) continue;
      if (rec == boost::beast::error::timeout)
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
      // Exponential back-off with full jitter.
      auto cap = std::min<long long>(options_.backoff_max.count(), options_.backoff_base.count()
                                                                       << std::min(i, 16));
      long long wait = 0;
      {
        std::lock_guard lock(mu_);
        wait = std::uniform_int_distribution<long long>(cap / 2, cap)(jitter_);
      }
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(wait));
      co_await timer.async_wait(use_tuple);
    }
    auto res = co_await attempt(address, req, timeout);
    if (res.ok()) {
      // 503 means "try later": worth another attempt when we have one.
      if (res->result() == bhttp::status::service_unavailable && i + 1 < attempts) {
        last = status_from_error_body(503, res->body());
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

}  // namespace fvce::http
