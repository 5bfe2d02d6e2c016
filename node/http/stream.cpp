#include "node/http/stream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fvce::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

std::string Stream::remote_address() {
  boost::system::error_code ec;
  auto ep = socket().remote_endpoint(ec);
  if (ec) return {};
  auto ip = ep.address();
  return (ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" +
         std::to_string(ep.port());
}

asio::awaitable<void> Stream::shutdown_send() {
  if (tls_) {
    // TLS's goodbye (close_notify), briefly: the other side may be gone already.
    tcp().expires_after(std::chrono::milliseconds(500));
    co_await tls_->async_shutdown(asio::as_tuple(asio::use_awaitable));
  }
  boost::system::error_code ignored;
  socket().shutdown(tcp::socket::shutdown_send, ignored);
  co_return;
}

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

namespace {

class PlainTransport final : public Transport {
 public:
  asio::awaitable<Result<std::unique_ptr<Stream>>> connect(
      std::string address, std::chrono::milliseconds timeout) override {
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    std::string host, port;
    if (!split_address(address, host, port))
      co_return Status::InvalidArgument("'" + address + "' is not HOST:PORT");
    auto exec = co_await asio::this_coro::executor;
    tcp::resolver resolver(exec);
    auto [rec, results] = co_await resolver.async_resolve(host, port, use_tuple);
    if (rec) co_return Status::Unavailable("cannot resolve " + address + ": " + rec.message());
    beast::tcp_stream stream(exec);
    stream.expires_after(timeout);
    auto [cec, ep] = co_await stream.async_connect(results, use_tuple);
    if (cec == beast::error::timeout)
      co_return Status::Timeout("connecting to " + address + " timed out");
    if (cec) co_return Status::Unavailable("cannot connect to " + address + ": " + cec.message());
    boost::system::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    stream.expires_never();
    co_return std::make_unique<Stream>(std::move(stream));
  }

  asio::awaitable<Result<std::unique_ptr<Stream>>> accept(tcp::socket socket,
                                                          std::chrono::milliseconds) override {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    co_return std::make_unique<Stream>(beast::tcp_stream(std::move(socket)));
  }

  std::string_view scheme() const override { return "http"; }
};

}  // namespace

std::shared_ptr<Transport> plain_transport() {
  static auto transport = std::make_shared<PlainTransport>();
  return transport;
}

}  // namespace fvce::http
