#include "services/file/remote.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <memory>
#include <vector>

#include "node/core/workers.h"
#include "node/http/url.h"

namespace fvce::file {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using http::Verb;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Error documents are small; anything larger is not one.
constexpr std::size_t kMaxAnswer = 1u << 20;

Status transport_error(const boost::system::error_code& ec, const std::string& what,
                       std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout)
    return Status::Timeout(what + " stalled: nothing moved for " + std::to_string(timeout.count()) +
                           " ms");
  return Status::Unavailable(what + " failed: " + ec.message());
}

// Reads an answer with a small body (an entry or an error document).
asio::awaitable<Result<http::Response>> read_answer(http::Stream& stream,
                                                    beast::flat_buffer& buffer,
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

std::string store_target(const std::string& sha256) {
  return http::target("/file/store", {{"sha256", sha256}});
}

// The body of a streamed GET, chunk by chunk, on a connection of its own.
class RemoteReader final : public FileReader {
 public:
  RemoteReader(std::unique_ptr<http::Stream> stream, std::string what,
               std::chrono::milliseconds timeout)
      : stream_(std::move(stream)), what_(std::move(what)), timeout_(timeout) {}

  // Sends the request and reads the answer's header. The reader is usable when it is ok.
  asio::awaitable<Status> begin(const std::string& address, const std::string& target,
                                const http::Client& client, const http::RequestOptions& opts) {
    http::Request req{Verb::get, target, 11};
    req.set(bhttp::field::host, address);
    req.set(bhttp::field::user_agent, "fvce");
    for (const auto& [name, value] : opts.headers) req.set(name, value);
    client.add_credentials(req.base(), Verb::get, target, nullptr);
    req.keep_alive(false);
    stream_->expires_after(timeout_);
    auto [wec, wn] = co_await bhttp::async_write(*stream_, req, use_tuple);
    if (wec) co_return transport_error(wec, what_, timeout_);
    // No limit while the header is read (an error document may be longer than the file).
    parser_.body_limit(boost::none);
    stream_->expires_after(timeout_);
    auto [hec, hn] = co_await bhttp::async_read_header(*stream_, buffer_, parser_, use_tuple);
    if (hec) co_return transport_error(hec, what_, timeout_);
    if (parser_.get().result() != bhttp::status::ok) {
      int code = parser_.get().result_int();
      bhttp::response_parser<bhttp::string_body> error(std::move(parser_));
      error.body_limit(kMaxAnswer);
      stream_->expires_after(timeout_);
      auto [eec, en] = co_await bhttp::async_read(*stream_, buffer_, error, use_tuple);
      if (eec)
        co_return Status(code == 404 ? ErrorCode::not_found : ErrorCode::unavailable,
                         what_ + ": HTTP " + std::to_string(code));
      co_return http::status_from_error_body(code, error.get().body());
    }
    auto length = parser_.content_length();
    if (!length) co_return Status::Unavailable(what_ + ": the answer has no Content-Length");
    size_ = *length;
    file_size_ = size_;
    auto whole = parser_.get()[kSizeHeader];
    if (!whole.empty()) file_size_ = std::strtoull(std::string(whole).c_str(), nullptr, 10);
    // Exactly the bytes announced: a longer answer stops at once rather than filling a disk.
    parser_.body_limit(size_);
    co_return Status::Ok();
  }

  std::uint64_t size() const override { return size_; }
  std::uint64_t file_size() const override { return file_size_; }

  asio::awaitable<Result<std::size_t>> read(char* data, std::size_t max) override {
    while (!parser_.is_done()) {
      parser_.get().body().data = data;
      parser_.get().body().size = max;
      stream_->expires_after(timeout_);
      auto [ec, n] = co_await bhttp::async_read(*stream_, buffer_, parser_, use_tuple);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec == bhttp::error::body_limit)
        co_return Status::InvalidArgument(what_ + ": the answer is longer than the " +
                                          std::to_string(size_) + " bytes announced");
      if (ec) co_return transport_error(ec, what_, timeout_);
      std::size_t got = max - parser_.get().body().size;
      if (got > 0) {
        received_ += got;
        co_return got;
      }
    }
    if (received_ != size_)
      co_return Status::Unavailable(what_ + ": the answer ended after " +
                                    std::to_string(received_) + " of " + std::to_string(size_) +
                                    " bytes");
    if (!done_) {
      done_ = true;
      co_await stream_->shutdown_send();
    }
    co_return std::size_t{0};
  }

 private:
  std::unique_ptr<http::Stream> stream_;
  std::string what_;
  std::chrono::milliseconds timeout_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::buffer_body> parser_;
  std::uint64_t size_ = 0, file_size_ = 0, received_ = 0;
  bool done_ = false;
};

// A streamed PUT whose length is known up front.
class RemoteWriter final : public FileWriter {
 public:
  RemoteWriter(std::unique_ptr<http::Stream> stream, std::string what, std::uint64_t size,
               std::chrono::milliseconds timeout)
      : stream_(std::move(stream)),
        what_(std::move(what)),
        size_(size),
        timeout_(timeout),
        sr_(req_) {}

  asio::awaitable<Status> begin(const std::string& address, const std::string& target,
                                const std::string& sha256, const http::Client& client,
                                const http::RequestOptions& opts) {
    req_.method(Verb::put);
    req_.target(target);
    req_.version(11);
    req_.set(bhttp::field::host, address);
    req_.set(bhttp::field::user_agent, "fvce");
    req_.set(bhttp::field::content_type, "application/octet-stream");
    if (!sha256.empty()) req_.set(kSha256Header, sha256);
    for (const auto& [name, value] : opts.headers) req_.set(name, value);
    client.add_credentials(req_.base(), Verb::put, target, nullptr);
    req_.content_length(size_);
    req_.keep_alive(false);
    req_.body().data = nullptr;
    req_.body().size = 0;
    req_.body().more = size_ > 0;
    stream_->expires_after(timeout_);
    auto [ec, n] = co_await bhttp::async_write_header(*stream_, sr_, use_tuple);
    if (ec) co_return co_await failed(ec);
    co_return Status::Ok();
  }

  asio::awaitable<Status> write(const char* data, std::size_t n) override {
    if (sent_ + n > size_)
      co_return Status::TooLarge(what_ + ": more than the " + std::to_string(size_) +
                                 " bytes announced");
    sent_ += n;
    req_.body().data = const_cast<char*>(data);
    req_.body().size = n;
    req_.body().more = sent_ < size_;
    stream_->expires_after(timeout_);
    auto [ec, w] = co_await bhttp::async_write(*stream_, sr_, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) co_return co_await failed(ec);
    co_return Status::Ok();
  }

  asio::awaitable<Result<model::FileEntry>> commit() override {
    if (sent_ != size_)
      co_return Status::InvalidArgument(what_ + ": " + std::to_string(sent_) + " of the " +
                                        std::to_string(size_) + " bytes announced were written");
    if (!sr_.is_done()) {
      req_.body().data = nullptr;
      req_.body().size = 0;
      req_.body().more = false;
      stream_->expires_after(timeout_);
      auto [ec, w] = co_await bhttp::async_write(*stream_, sr_, use_tuple);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return co_await failed(ec);
    }
    auto res = co_await read_answer(*stream_, buffer_, what_, timeout_);
    if (!res.ok()) co_return res.status();
    co_return entry_from(*res);
  }

  asio::awaitable<void> abandon() override {
    stream_->close();  // the peer drops its part file when the body breaks off
    co_return;
  }

 private:
  // A peer that refuses the upload (403, 413, ...) answers before reading the body and
  // closes; its answer may still be waiting to be read and says more than our write error.
  asio::awaitable<Status> failed(const boost::system::error_code& ec) {
    auto res = co_await read_answer(*stream_, buffer_, what_, std::chrono::milliseconds(1000));
    if (res.ok() && res->result_int() / 100 != 2)
      co_return http::status_from_error_body(res->result_int(), res->body());
    co_return transport_error(ec, what_, timeout_);
  }

  std::unique_ptr<http::Stream> stream_;
  std::string what_;
  std::uint64_t size_;
  std::uint64_t sent_ = 0;
  std::chrono::milliseconds timeout_;
  bhttp::request<bhttp::buffer_body> req_;
  bhttp::request_serializer<bhttp::buffer_body> sr_;
  beast::flat_buffer buffer_;
};

}  // namespace

FileRemote::FileRemote(http::Client& client, std::string address, CallOptions options)
    : client_(client),
      address_(std::move(address)),
      options_(http::with_call({std::chrono::milliseconds(10'000), 1}, options)),
      stream_timeout_(options.timeout.count() > 0 ? options.timeout
                                                  : std::chrono::milliseconds(30'000)) {}

asio::awaitable<Result<std::unique_ptr<FileReader>>> FileRemote::open_read(std::string path,
                                                                           std::uint64_t offset,
                                                                           std::uint64_t length) {
  std::string off = offset ? std::to_string(offset) : "";
  std::string len = length != kToEnd ? std::to_string(length) : "";
  std::string t = http::target("/file/content", {{"path", path}, {"offset", off}, {"length", len}});
  std::string what = "GET " + t + " from " + address_;
  auto stream = co_await client_.connect(address_, std::min(stream_timeout_, options_.timeout));
  if (!stream.ok()) co_return stream.status();
  auto reader = std::make_unique<RemoteReader>(std::move(*stream), what, stream_timeout_);
  auto s = co_await reader->begin(address_, t, client_, options_);
  if (!s.ok()) co_return s;
  co_return std::unique_ptr<FileReader>(std::move(reader));
}

asio::awaitable<Result<std::unique_ptr<FileWriter>>> FileRemote::open_write(std::string path,
                                                                            WriteOptions options) {
  if (!options.size)
    co_return Status::InvalidArgument("writing '" + path + "' to " + address_ +
                                      ": the size must be known up front");
  std::string t = path.rfind("store/", 0) == 0 && is_sha256_hex(path.substr(6))
                      ? store_target(path.substr(6))
                      : http::target("/file/content", {{"path", path}});
  std::string what = "PUT " + t + " on " + address_;
  auto stream = co_await client_.connect(address_, std::min(stream_timeout_, options_.timeout));
  if (!stream.ok()) co_return stream.status();
  auto writer =
      std::make_unique<RemoteWriter>(std::move(*stream), what, *options.size, stream_timeout_);
  auto s = co_await writer->begin(address_, t, options.sha256, client_, options_);
  if (!s.ok()) co_return s;
  co_return std::unique_ptr<FileWriter>(std::move(writer));
}

asio::awaitable<Result<model::FileEntry>> FileRemote::store_entry(std::string sha256) {
  return client_.call<model::FileEntry>(address_, Verb::get, store_target(sha256), {}, options_);
}

asio::awaitable<Result<model::FileList>> FileRemote::list(std::string path) {
  return client_.call<model::FileList>(address_, Verb::get,
                                       http::target("/file/list", {{"path", path}}), {}, options_);
}

asio::awaitable<Result<model::FileEntry>> FileRemote::stat(std::string path, bool with_sha256) {
  std::string t =
      http::target("/file/stat", {{"path", path}, {"sha256", with_sha256 ? "true" : ""}});
  return client_.call<model::FileEntry>(address_, Verb::get, std::move(t), {}, options_);
}

asio::awaitable<Result<std::string>> FileRemote::read(std::string path, std::uint64_t offset,
                                                      std::uint64_t length) {
  std::string off = std::to_string(offset), len = std::to_string(length);
  return client_.text(
      address_, http::target("/file/content", {{"path", path}, {"offset", off}, {"length", len}}),
      options_);
}

asio::awaitable<Result<std::string>> FileRemote::read_lines(std::string path, std::uint64_t first,
                                                            std::uint64_t last) {
  std::string a = std::to_string(first), b = std::to_string(last);
  return client_.text(
      address_, http::target("/file/lines", {{"path", path}, {"first", a}, {"last", b}}), options_);
}

asio::awaitable<Result<std::uint64_t>> FileRemote::count_lines(std::string path) {
  // Named first: GCC 12 cannot build an initializer list inside a co_await.
  std::string t = http::target("/file/line-count", {{"path", path}});
  auto text = co_await client_.text(address_, std::move(t), options_);
  if (!text.ok()) co_return text.status();
  std::uint64_t n = 0;
  // Not a structured binding: GCC 12 miscompiles those in a coroutine.
  std::from_chars_result parsed = std::from_chars(text->data(), text->data() + text->size(), n);
  if (parsed.ec != std::errc())
    co_return Status::Internal("/file/line-count answered '" + text->substr(0, 40) +
                               "', not a number");
  co_return n;
}

asio::awaitable<Status> FileRemote::write(std::string path, std::string content) {
  // Streamed like any upload: PUT /file/content reads its body itself, so a member's
  // signature covers it as "streamed", not by its digest.
  WriteOptions options;
  options.size = content.size();
  auto writer = co_await open_write(std::move(path), options);
  if (!writer.ok()) co_return writer.status();
  Status s = co_await (*writer)->write(content.data(), content.size());
  if (!s.ok()) {
    co_await (*writer)->abandon();
    co_return s;
  }
  auto entry = co_await (*writer)->commit();
  co_return entry.ok() ? Status::Ok() : entry.status();
}

asio::awaitable<Status> FileRemote::mkdir(std::string path) {
  return client_.send(address_, Verb::post, http::target("/file/mkdir", {{"path", path}}), {},
                      options_);
}

asio::awaitable<Status> FileRemote::remove(std::string path) {
  return client_.send(address_, Verb::delete_, http::target("/file/content", {{"path", path}}), {},
                      options_);
}

asio::awaitable<Result<model::FileList>> FileRemote::find(std::string path, std::string pattern,
                                                          std::size_t limit) {
  std::string n = std::to_string(limit);
  return client_.call<model::FileList>(
      address_, Verb::get,
      http::target("/file/find", {{"path", path}, {"pattern", pattern}, {"limit", n}}), {},
      options_);
}

asio::awaitable<Result<model::FileEntry>> upload_to_store(http::Client& client, std::string address,
                                                          std::filesystem::path local_file) {
  auto digest = sha256_file(local_file);
  if (!digest.ok()) co_return digest.status();
  FileRemote remote(client, address);
  auto present = co_await remote.store_entry(digest->sha256);
  if (present.ok() || present.status().code() != ErrorCode::not_found) co_return present;
  std::uint64_t size = 0;
  auto fd = open_for_reading(local_file, &size);
  if (!fd.ok()) co_return fd.status();
  if (size != digest->size)
    co_return Status::IOError(local_file.string() + " changed while it was being hashed");
  WriteOptions opts;
  opts.sha256 = digest->sha256;
  opts.size = size;
  auto writer = co_await remote.open_write("store/" + digest->sha256, opts);
  if (!writer.ok()) co_return writer.status();
  std::vector<char> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, size)));
  for (std::uint64_t at = 0; at < size;) {
    auto n = read_at(fd->get(), chunk.data(), chunk.size(), at);
    if (!n.ok()) co_return n.status();
    if (*n == 0)
      co_return Status::IOError("the file shrank while it was being sent (" + std::to_string(at) +
                                " of " + std::to_string(size) + " bytes)");
    at += *n;
    auto s = co_await (*writer)->write(chunk.data(), *n);
    if (!s.ok()) co_return s;
  }
  co_return co_await (*writer)->commit();
}

}  // namespace fvce::file
