#include "services/file/remote.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <vector>

namespace fvce::file {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using http::Verb;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Error documents are small; anything larger is not one.
constexpr std::size_t kMaxAnswer = 1u << 20;

void append_encoded(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : value) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
}

std::string target_with(
    std::string_view route,
    std::initializer_list<std::pair<std::string_view, std::string_view>> params) {
  std::string out(route);
  char sep = '?';
  for (const auto& [key, value] : params) {
    out.push_back(sep);
    sep = '&';
    out.append(key);
    out.push_back('=');
    append_encoded(out, value);
  }
  return out;
}

using Stream = beast::tcp_stream;

asio::awaitable<Result<std::unique_ptr<Stream>>> connect(const std::string& address,
                                                         std::chrono::milliseconds timeout) {
  std::string host, port;
  if (!http::split_address(address, host, port))
    co_return Status::InvalidArgument("'" + address + "' is not HOST:PORT");
  auto exec = co_await asio::this_coro::executor;
  tcp::resolver resolver(exec);
  auto [rec, results] = co_await resolver.async_resolve(host, port, use_tuple);
  if (rec) co_return Status::Unavailable("cannot resolve " + address + ": " + rec.message());
  auto stream = std::make_unique<Stream>(exec);
  stream->expires_after(timeout);
  auto [cec, ep] = co_await stream->async_connect(results, use_tuple);
  if (cec == beast::error::timeout)
    co_return Status::Timeout("connecting to " + address + " timed out");
  if (cec) co_return Status::Unavailable("cannot connect to " + address + ": " + cec.message());
  boost::system::error_code ignored;
  stream->socket().set_option(tcp::no_delay(true), ignored);
  co_return std::move(stream);
}

Status transport_error(const boost::system::error_code& ec, const std::string& what,
                       std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout)
    return Status::Timeout(what + " stalled: nothing moved for " + std::to_string(timeout.count()) +
                           " ms");
  return Status::Unavailable(what + " failed: " + ec.message());
}

// Reads an answer with a small body (an entry or an error document).
asio::awaitable<Result<http::Response>> read_answer(Stream& stream, beast::flat_buffer& buffer,
                                                    const std::string& what,
                                                    std::chrono::milliseconds timeout) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxAnswer);
  stream.expires_after(timeout);
  auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
  if (ec) co_return transport_error(ec, what, timeout);
  co_return parser.release();
}

Result<model::FileEntry> entry_from(const http::Response& res) {
  if (res.result_int() / 100 != 2)
    return http::status_from_error_body(res.result_int(), res.body());
  return http::parse_body<model::FileEntry>(res.body());
}

// Sends the bytes of fd (size bytes) as the body of PUT target and reads the answer.
asio::awaitable<Result<model::FileEntry>> put_file(Stream& stream, beast::flat_buffer& buffer,
                                                   const std::string& address, std::string target,
                                                   int fd, std::uint64_t size,
                                                   const std::string& sha256,
                                                   asio::thread_pool* workers,
                                                   const TransferOptions& options) {
  std::string what = "PUT " + target + " on " + address;
  bhttp::request<bhttp::buffer_body> req{Verb::put, target, 11};
  req.set(bhttp::field::host, address);
  req.set(bhttp::field::user_agent, "fvce");
  req.set(bhttp::field::content_type, "application/octet-stream");
  req.set(kSha256Header, sha256);
  req.content_length(size);
  req.keep_alive(false);
  req.body().data = nullptr;
  req.body().size = 0;
  req.body().more = true;
  bhttp::request_serializer<bhttp::buffer_body> sr{req};

  boost::system::error_code ec;
  stream.expires_after(options.io_timeout);
  std::tie(ec, std::ignore) = co_await bhttp::async_write_header(stream, sr, use_tuple);
  std::vector<char> chunk(kChunkSize);
  std::uint64_t offset = 0;
  while (!ec && offset < size) {
    std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - offset));
    auto n = co_await on_workers(workers, [&] { return read_at(fd, chunk.data(), want, offset); });
    if (!n.ok()) co_return n.status();
    if (*n == 0)
      co_return Status::IOError("the file shrank while it was being sent (" +
                                std::to_string(offset) + " of " + std::to_string(size) + " bytes)");
    offset += *n;
    req.body().data = chunk.data();
    req.body().size = *n;
    req.body().more = offset < size;
    stream.expires_after(options.io_timeout);
    std::tie(ec, std::ignore) = co_await bhttp::async_write(stream, sr, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
  }
  if (!ec && !sr.is_done()) {
    req.body().data = nullptr;
    req.body().size = 0;
    req.body().more = false;
    stream.expires_after(options.io_timeout);
    std::tie(ec, std::ignore) = co_await bhttp::async_write(stream, sr, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
  }
  // A peer that refuses the upload (403, 413, ...) answers before reading the body and
  // closes; its answer may still be waiting to be read and says more than our write error.
  auto res = co_await read_answer(stream, buffer, what,
                                  ec ? std::chrono::milliseconds(1000) : options.io_timeout);
  if (!res.ok()) co_return ec ? transport_error(ec, what, options.io_timeout) : res.status();
  co_return entry_from(*res);
}

}  // namespace

std::string file_target(std::string_view route, std::string_view path) {
  return target_with(route, {{"path", path}});
}

asio::awaitable<Result<Digest>> download(std::string address, std::string path,
                                         std::uint64_t expected_size, PartialFile& into,
                                         asio::thread_pool* workers, TransferOptions options) {
  std::string target = file_target("/file/content", path);
  std::string what = "GET " + target + " from " + address;
  auto stream = co_await connect(address, options.connect_timeout);
  if (!stream.ok()) co_return stream.status();

  http::Request req{Verb::get, target, 11};
  req.set(bhttp::field::host, address);
  req.set(bhttp::field::user_agent, "fvce");
  req.keep_alive(false);
  (*stream)->expires_after(options.io_timeout);
  auto [wec, wn] = co_await bhttp::async_write(**stream, req, use_tuple);
  if (wec) co_return transport_error(wec, what, options.io_timeout);

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  // No limit while the header is read (an error document may be longer than the file);
  // then the size we expect, so a longer answer stops at once rather than filling the disk.
  parser.body_limit(boost::none);
  (*stream)->expires_after(options.io_timeout);
  auto [hec, hn] = co_await bhttp::async_read_header(**stream, buffer, parser, use_tuple);
  if (hec) co_return transport_error(hec, what, options.io_timeout);
  if (parser.get().result() != bhttp::status::ok) {
    int code = parser.get().result_int();
    bhttp::response_parser<bhttp::string_body> error(std::move(parser));
    error.body_limit(kMaxAnswer);
    (*stream)->expires_after(options.io_timeout);
    auto [eec, en] = co_await bhttp::async_read(**stream, buffer, error, use_tuple);
    if (eec)
      co_return Status(code == 404 ? ErrorCode::not_found : ErrorCode::unavailable,
                       what + ": HTTP " + std::to_string(code));
    co_return http::status_from_error_body(code, error.get().body());
  }
  if (auto length = parser.content_length(); length && *length != expected_size)
    co_return Status::InvalidArgument(what + ": size mismatch: expected " +
                                      std::to_string(expected_size) + " bytes, the peer has " +
                                      std::to_string(*length));
  parser.body_limit(expected_size);

  std::vector<char> chunk(kChunkSize);
  std::uint64_t received = 0;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    (*stream)->expires_after(options.io_timeout);
    auto [ec, n] = co_await bhttp::async_read(**stream, buffer, parser, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == bhttp::error::body_limit)
      co_return Status::InvalidArgument(what + ": size mismatch: the answer is longer than the " +
                                        std::to_string(expected_size) + " bytes expected");
    if (ec) co_return transport_error(ec, what, options.io_timeout);
    std::size_t got = chunk.size() - parser.get().body().size;
    if (got == 0) continue;
    received += got;
    if (received > expected_size)  // a chunked answer has no length to check up front
      co_return Status::InvalidArgument(what + ": size mismatch: the answer is longer than the " +
                                        std::to_string(expected_size) + " bytes expected");
    auto s = co_await on_workers(workers, [&] { return into.append(chunk.data(), got); });
    if (!s.ok()) co_return s;
  }
  boost::system::error_code ignored;
  (*stream)->socket().shutdown(tcp::socket::shutdown_both, ignored);
  auto digest = co_await on_workers(workers, [&] { return into.finish(); });
  if (!digest.ok()) co_return digest.status();
  if (digest->size != expected_size)
    co_return Status::InvalidArgument(what + ": size mismatch: expected " +
                                      std::to_string(expected_size) + " bytes, got " +
                                      std::to_string(digest->size));
  co_return digest;
}

asio::awaitable<Result<model::FileEntry>> upload(std::string address,
                                                 std::filesystem::path local_file,
                                                 std::string remote_path,
                                                 asio::thread_pool* workers,
                                                 TransferOptions options) {
  auto digest = co_await on_workers(workers, [&] { return sha256_file(local_file); });
  if (!digest.ok()) co_return digest.status();
  std::uint64_t size = 0;
  auto fd = co_await on_workers(workers, [&] { return open_for_reading(local_file, &size); });
  if (!fd.ok()) co_return fd.status();
  if (size != digest->size)
    co_return Status::IOError(local_file.string() + " changed while it was being hashed");
  auto stream = co_await connect(address, options.connect_timeout);
  if (!stream.ok()) co_return stream.status();
  beast::flat_buffer buffer;
  co_return co_await put_file(**stream, buffer, address, file_target("/file/content", remote_path),
                              fd->get(), size, digest->sha256, workers, options);
}

asio::awaitable<Result<model::FileEntry>> upload_to_store(std::string address,
                                                          std::filesystem::path local_file,
                                                          asio::thread_pool* workers,
                                                          std::string sha256,
                                                          TransferOptions options) {
  std::uint64_t size = 0;
  auto fd = co_await on_workers(workers, [&] { return open_for_reading(local_file, &size); });
  if (!fd.ok()) co_return fd.status();
  if (sha256.empty()) {
    auto digest = co_await on_workers(workers, [&] { return sha256_file(local_file); });
    if (!digest.ok()) co_return digest.status();
    if (digest->size != size)
      co_return Status::IOError(local_file.string() + " changed while it was being hashed");
    sha256 = digest->sha256;
  } else if (!is_sha256_hex(sha256)) {
    co_return Status::InvalidArgument("'" + sha256 +
                                      "' is not a SHA-256 (64 lowercase hex digits)");
  }
  auto stream = co_await connect(address, options.connect_timeout);
  if (!stream.ok()) co_return stream.status();

  // Ask first, on the same connection: inputs are often already there (a resubmission).
  std::string target = target_with("/file/store", {{"sha256", sha256}});
  http::Request ask{Verb::get, target, 11};
  ask.set(bhttp::field::host, address);
  ask.set(bhttp::field::user_agent, "fvce");
  ask.keep_alive(true);
  (*stream)->expires_after(options.io_timeout);
  auto [wec, wn] = co_await bhttp::async_write(**stream, ask, use_tuple);
  if (wec) co_return transport_error(wec, "GET " + target + " on " + address, options.io_timeout);
  beast::flat_buffer buffer;
  auto answer = co_await read_answer(**stream, buffer, "GET " + target + " on " + address,
                                     options.io_timeout);
  if (!answer.ok()) co_return answer.status();
  if (answer->result() != bhttp::status::not_found) co_return entry_from(*answer);
  if (!answer->keep_alive()) {
    stream = co_await connect(address, options.connect_timeout);
    if (!stream.ok()) co_return stream.status();
    buffer.clear();
  }
  co_return co_await put_file(**stream, buffer, address, target, fd->get(), size, sha256, workers,
                              options);
}

// FileRemote

asio::awaitable<Result<model::FileList>> FileRemote::list(std::string path) {
  return client_.call<model::FileList>(address_, Verb::get, file_target("/file/list", path), {},
                                       options_);
}

asio::awaitable<Result<model::FileEntry>> FileRemote::stat(std::string path, bool with_sha256) {
  std::string target =
      target_with("/file/stat", {{"path", path}, {"sha256", with_sha256 ? "true" : "false"}});
  return client_.call<model::FileEntry>(address_, Verb::get, std::move(target), {}, options_);
}

asio::awaitable<Result<std::string>> FileRemote::get_text(std::string target) {
  auto res = co_await client_.request(address_, Verb::get, std::move(target), {}, options_);
  if (!res.ok()) co_return res.status();
  if (res->result_int() / 100 != 2)
    co_return http::status_from_error_body(res->result_int(), res->body());
  co_return std::move(res->body());
}

asio::awaitable<Result<std::string>> FileRemote::read(std::string path, std::uint64_t offset,
                                                      std::uint64_t length) {
  std::string off = std::to_string(offset), len = std::to_string(length);
  return get_text(target_with("/file/content", {{"path", path}, {"offset", off}, {"length", len}}));
}

asio::awaitable<Result<std::string>> FileRemote::read_lines(std::string path, std::uint64_t first,
                                                            std::uint64_t last) {
  std::string a = std::to_string(first), b = std::to_string(last);
  return get_text(target_with("/file/lines", {{"path", path}, {"first", a}, {"last", b}}));
}

asio::awaitable<Status> FileRemote::write(std::string path, std::string content) {
  return client_.send(address_, Verb::put, file_target("/file/content", path), std::move(content),
                      options_);
}

asio::awaitable<Status> FileRemote::mkdir(std::string path) {
  return client_.send(address_, Verb::post, file_target("/file/mkdir", path), {}, options_);
}

asio::awaitable<Status> FileRemote::remove(std::string path) {
  return client_.send(address_, Verb::delete_, file_target("/file/content", path), {}, options_);
}

asio::awaitable<Result<model::FileList>> FileRemote::find(std::string path, std::string pattern,
                                                          std::size_t limit) {
  std::string n = std::to_string(limit);
  return client_.call<model::FileList>(
      address_, Verb::get,
      target_with("/file/find", {{"path", path}, {"pattern", pattern}, {"limit", n}}), {},
      options_);
}

}  // namespace fvce::file
