// The byte stream of one HTTP connection, and the transport that makes them.
//
// The server's sessions, the pooled client and the file service's streamed transfers are
// written once, over Stream; which transport a node speaks (plain TCP, or TLS: tls.h) is
// decided in one place, the Transport the composition root builds. A TLS stream wraps the
// TCP stream the way Boost.Beast's "flex" examples do: the stream's read, write and
// shutdown dispatch to the layer in use, everything above it stays as it is.
//
// A Stream is used from one executor at a time (the one it was made with, usually a strand).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "node/core/status.h"

namespace fvce::http {

class Stream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;

  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  explicit Stream(boost::beast::tcp_stream tcp)
      : tcp_(std::make_unique<boost::beast::tcp_stream>(std::move(tcp))) {}
  // A TLS stream whose handshake is done; peer_name: the name in the other side's verified
  // certificate ("" when it presented none).
  Stream(std::unique_ptr<TlsStream> tls, std::string peer_name)
      : tls_(std::move(tls)), peer_name_(std::move(peer_name)) {}

  executor_type get_executor() { return tcp().get_executor(); }

  // The AsyncReadStream and AsyncWriteStream operations Beast's HTTP algorithms use.
  template <typename MutableBufferSequence, typename Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return tcp_->async_read_some(buffers, std::forward<Token>(token));
  }
  template <typename ConstBufferSequence, typename Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return tcp_->async_write_some(buffers, std::forward<Token>(token));
  }

  // The deadline of the reads and writes that follow (an expired one fails them with
  // boost::beast::error::timeout).
  void expires_after(std::chrono::steady_clock::duration d) { tcp().expires_after(d); }
  void expires_at(std::chrono::steady_clock::time_point t) { tcp().expires_at(t); }
  void expires_never() { tcp().expires_never(); }

  // The TCP socket beneath: socket options, endpoints, cancel.
  boost::asio::ip::tcp::socket& socket() { return tcp().socket(); }
  bool secure() const { return tls_ != nullptr; }
  // "IP:PORT" of the other end, or "" when the socket is closed.
  std::string remote_address();
  // The name in the other side's certificate once the transport verified it against the
  // federation's CA; "" when it presented none (always, over plain TCP).
  const std::string& peer_name() const { return peer_name_; }

  // Says this side is done sending (after the transport's own goodbye, if it has one).
  // Errors are not reported: the connection is ending anyway.
  boost::asio::awaitable<void> shutdown_send();
  void close() { tcp().close(); }

 private:
  boost::beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *tcp_; }

  std::unique_ptr<boost::beast::tcp_stream> tcp_;  // plain
  std::unique_ptr<TlsStream> tls_;                 // or TLS
  std::string peer_name_;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // A new connection to address ("HOST:PORT", "[v6]:PORT"), ready for HTTP, within timeout.
  // Errors: invalid-argument (not HOST:PORT), unavailable (no such host, refused, reset),
  // timeout.
  virtual boost::asio::awaitable<Result<std::unique_ptr<Stream>>> connect(
      std::string address, std::chrono::milliseconds timeout) = 0;

  // The stream of an accepted connection, ready for HTTP (after the transport's handshake,
  // if it has one), within timeout. The socket's executor becomes the stream's.
  virtual boost::asio::awaitable<Result<std::unique_ptr<Stream>>> accept(
      boost::asio::ip::tcp::socket socket, std::chrono::milliseconds timeout) = 0;

  // "http" (or "https" for a secured transport), for what users read.
  virtual std::string_view scheme() const = 0;
};

// Plain TCP.
std::shared_ptr<Transport> plain_transport();

// Splits "HOST:PORT" ("[v6]:PORT" too). False when it is not of that form.
bool split_address(std::string_view address, std::string& host, std::string& port);

}  // namespace fvce::http
