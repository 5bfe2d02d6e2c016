#include "services/file/resource.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <limits>
#include <optional>
#include <vector>

#include "node/http/handlers.h"
#include "services/file/transfer.h"

namespace fvce::file {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;
using http::RequestView;
using http::Response;
using http::StreamExchange;
using http::Verb;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct Env {
  std::shared_ptr<LocalFile> logic;
};

// --- query parameters -----------------------------------------------------------------

Result<std::string> required(const RequestView& v, std::string_view key) {
  auto value = v.param(key);
  if (value.empty())
    return Status::InvalidArgument("missing query parameter '" + std::string(key) + "'");
  return value;
}

Result<std::uint64_t> number(const RequestView& v, std::string_view key,
                             std::optional<std::uint64_t> fallback) {
  auto text = v.param(key);
  if (text.empty()) {
    if (fallback) return *fallback;
    return Status::InvalidArgument("missing query parameter '" + std::string(key) + "'");
  }
  std::uint64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size())
    return Status::InvalidArgument("query parameter '" + std::string(key) + "': '" + text +
                                   "' is not a whole number");
  return out;
}

Result<bool> flag(const RequestView& v, std::string_view key) {
  auto text = v.param(key);
  if (text.empty() || text == "false" || text == "0") return false;
  if (text == "true" || text == "1") return true;
  return Status::InvalidArgument("query parameter '" + std::string(key) + "': '" + text +
                                 "' is not true or false");
}

Result<std::string> sha256_param(const RequestView& v) {
  auto sha = required(v, "sha256");
  if (!sha.ok()) return sha;
  for (auto& c : *sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!is_sha256_hex(*sha))
    return Status::InvalidArgument("query parameter 'sha256': not a SHA-256 (64 hex digits)");
  return sha;
}

// --- streaming plumbing ----------------------------------------------------------------

// Writes res (or any message) as the exchange's answer. keep_alive is whether the
// connection can serve another request afterwards.
template <typename Message>
asio::awaitable<void> answer(StreamExchange& ex, Message& res, bool keep_alive) {
  res.keep_alive(keep_alive);
  http::set_security_headers(res.base(), ex.stream.secure());
  ex.status = res.result_int();
  ex.keep_alive = keep_alive;
  ex.stream.expires_after(ex.read_timeout);
  auto [ec, n] = co_await bhttp::async_write(ex.stream, res, use_tuple);
  if (ec) ex.keep_alive = false;
}

asio::awaitable<void> answer_error(StreamExchange& ex, const Status& s, bool keep_alive) {
  auto res = http::error_response(s);
  co_await answer(ex, res, keep_alive);
}

// Reads the rest of a request whose body we do not want (a GET with a body), so the
// connection stays usable. False when that failed.
asio::awaitable<bool> skip_small_body(StreamExchange& ex) {
  if (ex.parser.is_done()) co_return true;
  ex.stream.expires_after(ex.read_timeout);
  auto [ec, n] = co_await bhttp::async_read(ex.stream, ex.buffer, ex.parser, use_tuple);
  co_return !ec;
}

struct BodyInfo {
  bool keep_alive = true;        // the client asked for keep-alive
  bool expect_continue = false;  // the client waits for 100 Continue before sending
};

BodyInfo body_info(const StreamExchange& ex) {
  const auto& req = ex.parser.get();
  return {req.keep_alive(), beast::iequals(req[bhttp::field::expect], "100-continue")};
}

// Reads the request body in chunks into sink (discarded when sink is null), each read under
// the server's read deadline, at most limit bytes. Takes ex.parser over: the request's
// header must not be used afterwards. Errors: too-large, timeout, unavailable (the client
// went away), the sink's (io-error: the local disk).
asio::awaitable<Status> receive_body(StreamExchange& ex, const BodyInfo& info, FileWriter* sink,
                                     std::uint64_t limit) {
  bhttp::request_parser<bhttp::buffer_body> parser(std::move(ex.parser));
  parser.body_limit(limit);
  if (info.expect_continue && !parser.is_done()) {
    bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
    ex.stream.expires_after(ex.read_timeout);
    auto [ec, n] = co_await bhttp::async_write(ex.stream, go_on, use_tuple);
    if (ec) co_return Status::Unavailable("the client went away: " + ec.message());
  }
  std::vector<char> chunk(kChunkSize);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    ex.stream.expires_after(ex.read_timeout);
    auto [ec, n] = co_await bhttp::async_read(ex.stream, ex.buffer, parser, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == bhttp::error::body_limit)
      co_return Status::TooLarge("the upload exceeds " + std::to_string(limit) + " bytes");
    if (ec == beast::error::timeout)
      co_return Status::Timeout("the upload stalled: nothing arrived for " +
                                std::to_string(ex.read_timeout.count()) + " ms");
    if (ec) co_return Status::Unavailable("the upload broke off: " + ec.message());
    std::size_t got = chunk.size() - parser.get().body().size;
    if (sink == nullptr || got == 0) continue;
    auto s = co_await sink->write(chunk.data(), got);
    if (!s.ok()) co_return s;
  }
  co_return Status::Ok();
}

// After a failed receive_body: answer when the client can still read it, else just close.
asio::awaitable<void> upload_failed(StreamExchange& ex, const Status& s) {
  if (s.code() == ErrorCode::too_large || s.code() == ErrorCode::io_error ||
      s.code() == ErrorCode::internal) {
    co_await answer_error(ex, s, false);
    co_return;
  }
  ex.status = s.code() == ErrorCode::timeout ? 408 : 400;
  ex.keep_alive = false;
}

// Receives the body into writer and commits it. Returns the new entry; on any failure the
// exchange has been answered (or closed) and nothing is left behind.
asio::awaitable<std::optional<model::FileEntry>> receive_file(StreamExchange& ex, const Env& env,
                                                              const BodyInfo& info,
                                                              FileWriter& writer) {
  Status s = co_await receive_body(ex, info, &writer, env.logic->max_upload());
  if (!s.ok()) {
    co_await writer.abandon();
    co_await upload_failed(ex, s);
    co_return std::nullopt;
  }
  auto entry = co_await writer.commit();
  if (!entry.ok()) {
    co_await answer_error(ex, entry.status(), info.keep_alive);
    co_return std::nullopt;
  }
  co_return std::move(*entry);
}

// --- the streaming routes --------------------------------------------------------------

asio::awaitable<void> get_content(StreamExchange& ex, const Env& env) {
  const auto& v = ex.view;
  bool keep = ex.parser.get().keep_alive();
  if (!co_await skip_small_body(ex)) {
    ex.keep_alive = false;
    ex.status = 400;
    co_return;
  }
  auto path = required(v, "path");
  auto offset = number(v, "offset", 0);
  auto length = number(v, "length", kToEnd);
  Status bad = !path.ok() ? path.status() : !offset.ok() ? offset.status() : length.status();
  // A user (not a member, not an admin) reads only results: objects of the content-addressed
  // store, which they name by the checksum their workflow's results list gave them.
  const auto& who = v.caller();
  if (bad.ok() && !who.is_peer() && !who.is_admin() &&
      !(path->rfind("store/", 0) == 0 && is_sha256_hex(path->substr(6))))
    bad = Status::Forbidden("users read only store/<sha256> objects (their results), not '" +
                            *path + "'");
  if (!bad.ok()) {
    co_await answer_error(ex, bad, keep);
    co_return;
  }
  auto reader = co_await env.logic->open_read(*path, *offset, *length);
  if (!reader.ok()) {
    co_await answer_error(ex, reader.status(), keep);
    co_return;
  }
  std::uint64_t left = (*reader)->size();

  // A range is answered 200 with just its bytes; X-Fvce-Size always tells the whole size.
  bhttp::response<bhttp::buffer_body> res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/octet-stream");
  res.set(kSizeHeader, std::to_string((*reader)->file_size()));
  http::set_security_headers(res.base(), ex.stream.secure());
  res.content_length(left);
  res.keep_alive(keep);
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = left > 0;
  bhttp::response_serializer<bhttp::buffer_body> sr{res};
  ex.status = 200;
  ex.keep_alive = false;  // until the whole body is out
  boost::system::error_code ec;
  ex.stream.expires_after(ex.read_timeout);
  std::tie(ec, std::ignore) = co_await bhttp::async_write_header(ex.stream, sr, use_tuple);
  std::vector<char> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, left)));
  while (!ec && left > 0) {
    auto n = co_await (*reader)->read(chunk.data(), chunk.size());
    // The file shrank under us: the promised length cannot be kept, so cut the connection.
    if (!n.ok() || *n == 0) co_return;
    left -= *n;
    res.body().data = chunk.data();
    res.body().size = *n;
    res.body().more = left > 0;
    ex.stream.expires_after(ex.read_timeout);
    std::tie(ec, std::ignore) = co_await bhttp::async_write(ex.stream, sr, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
  }
  if (!ec && !sr.is_done()) {
    res.body().data = nullptr;
    res.body().size = 0;
    res.body().more = false;
    ex.stream.expires_after(ex.read_timeout);
    std::tie(ec, std::ignore) = co_await bhttp::async_write(ex.stream, sr, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
  }
  ex.keep_alive = !ec && keep;
}

// The checks before an upload's body is read. On failure the exchange is answered and the
// connection closed (the body was not read).
asio::awaitable<bool> upload_allowed(StreamExchange& ex, const Env& env, const Status& s) {
  if (!s.ok()) {
    co_await answer_error(ex, s, false);
    co_return false;
  }
  auto max = env.logic->max_upload();
  if (auto length = ex.parser.content_length(); length && *length > max) {
    co_await answer_error(
        ex,
        Status::TooLarge("the upload is " + std::to_string(*length) +
                         " bytes; this node accepts at most " + std::to_string(max)),
        false);
    co_return false;
  }
  co_return true;
}

std::optional<std::uint64_t> declared_length(const StreamExchange& ex) {
  auto length = ex.parser.content_length();
  if (!length) return std::nullopt;
  return *length;
}

asio::awaitable<void> put_content(StreamExchange& ex, const Env& env) {
  const auto& v = ex.view;
  BodyInfo info = body_info(ex);
  std::string expected(ex.parser.get()[kSha256Header]);
  for (auto& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Status check;
  auto path = required(v, "path");
  if (!path.ok())
    check = path.status();
  else if (!expected.empty() && !is_sha256_hex(expected))
    check = Status::InvalidArgument("header " + std::string(kSha256Header) +
                                    ": not a SHA-256 (64 hex digits)");
  if (!co_await upload_allowed(ex, env, check)) co_return;
  WriteOptions opts;
  opts.sha256 = expected;
  opts.size = declared_length(ex);
  auto writer = co_await env.logic->open_write(*path, opts);
  if (!writer.ok()) {
    co_await answer_error(ex, writer.status(), false);
    co_return;
  }
  auto entry = co_await receive_file(ex, env, info, **writer);
  if (!entry) co_return;
  auto res = http::document(*entry, bhttp::status::created);
  co_await answer(ex, res, info.keep_alive);
}

asio::awaitable<void> put_store(StreamExchange& ex, const Env& env) {
  BodyInfo info = body_info(ex);
  auto sha = sha256_param(ex.view);
  if (!co_await upload_allowed(ex, env, sha.status())) co_return;

  auto present = co_await env.logic->store_entry(*sha);
  if (present.ok()) {
    // Already here: a content address cannot be stale. A client waiting for 100 Continue is
    // spared the bytes; any other has them read and dropped so the connection stays usable.
    auto res = http::document(*present, bhttp::status::ok);
    if (info.expect_continue) {
      co_await answer(ex, res, false);
      co_return;
    }
    Status s = co_await receive_body(ex, info, nullptr, env.logic->max_upload());
    if (!s.ok()) {
      co_await upload_failed(ex, s);
      co_return;
    }
    co_await answer(ex, res, info.keep_alive);
    co_return;
  }
  WriteOptions opts;
  opts.sha256 = *sha;
  opts.size = declared_length(ex);
  auto writer = co_await env.logic->open_write("store/" + *sha, opts);
  if (!writer.ok()) {
    co_await answer_error(ex, writer.status(), false);
    co_return;
  }
  auto entry = co_await receive_file(ex, env, info, **writer);
  if (!entry) co_return;
  auto res = http::document(*entry, bhttp::status::created);
  co_await answer(ex, res, info.keep_alive);
}

}  // namespace

void add_routes(http::Router& router, std::shared_ptr<LocalFile> logic) {
  auto env = std::make_shared<Env>();
  env->logic = logic;

  router.add(
      Verb::get, "/file/list", auth::Access::member_or_admin,
      http::without_body([logic](const RequestView& v) -> asio::awaitable<Result<model::FileList>> {
        auto path = required(v, "path");
        if (!path.ok()) co_return path.status();
        co_return co_await logic->list(std::move(*path));
      }));
  router.add(Verb::get, "/file/stat", auth::Access::member_or_admin,
             http::without_body(
                 [logic](const RequestView& v) -> asio::awaitable<Result<model::FileEntry>> {
                   auto path = required(v, "path");
                   if (!path.ok()) co_return path.status();
                   auto sha = flag(v, "sha256");
                   if (!sha.ok()) co_return sha.status();
                   co_return co_await logic->stat(std::move(*path), *sha);
                 }));
  router.add(
      Verb::get, "/file/find", auth::Access::member_or_admin,
      http::without_body([logic](const RequestView& v) -> asio::awaitable<Result<model::FileList>> {
        auto path = required(v, "path");
        if (!path.ok()) co_return path.status();
        auto pattern = required(v, "pattern");
        if (!pattern.ok()) co_return pattern.status();
        auto limit = number(v, "limit", 0);
        if (!limit.ok()) co_return limit.status();
        co_return co_await logic->find(std::move(*path), std::move(*pattern),
                                       static_cast<std::size_t>(std::min<std::uint64_t>(
                                           *limit, std::numeric_limits<std::size_t>::max())));
      }));
  router.add(Verb::get, "/file/lines", auth::Access::member_or_admin,
             [logic](const RequestView& v) -> asio::awaitable<Response> {
               auto path = required(v, "path");
               if (!path.ok()) co_return http::error_response(path.status());
               auto first = number(v, "first", std::nullopt);
               if (!first.ok()) co_return http::error_response(first.status());
               auto last = number(v, "last", std::nullopt);
               if (!last.ok()) co_return http::error_response(last.status());
               auto text = co_await logic->read_lines(std::move(*path), *first, *last);
               if (!text.ok()) co_return http::error_response(text.status());
               co_return http::text_response(std::move(*text), "text/plain; charset=utf-8");
             });
  router.add(Verb::get, "/file/line-count", auth::Access::member_or_admin,
             [logic](const RequestView& v) -> asio::awaitable<Response> {
               auto path = required(v, "path");
               if (!path.ok()) co_return http::error_response(path.status());
               auto n = co_await logic->count_lines(std::move(*path));
               if (!n.ok()) co_return http::error_response(n.status());
               co_return http::text_response(std::to_string(*n) + "\n",
                                             "text/plain; charset=utf-8");
             });
  router.add(Verb::post, "/file/mkdir", auth::Access::member_or_admin,
             [logic](const RequestView& v) -> asio::awaitable<Response> {
               auto path = required(v, "path");
               if (!path.ok()) co_return http::error_response(path.status());
               Status s = co_await logic->mkdir(std::move(*path));
               if (!s.ok()) co_return http::error_response(s);
               co_return http::no_content();
             });
  router.add(Verb::delete_, "/file/content", auth::Access::member_or_admin,
             [logic](const RequestView& v) -> asio::awaitable<Response> {
               auto path = required(v, "path");
               if (!path.ok()) co_return http::error_response(path.status());
               Status s = co_await logic->remove(std::move(*path));
               if (!s.ok()) co_return http::error_response(s);
               co_return http::no_content();
             });
  router.add(Verb::get, "/file/store", auth::Access::user,
             http::without_body(
                 [logic](const RequestView& v) -> asio::awaitable<Result<model::FileEntry>> {
                   auto sha = sha256_param(v);
                   if (!sha.ok()) co_return sha.status();
                   co_return co_await logic->store_entry(std::move(*sha));
                 }));

  router.add_stream(Verb::get, "/file/content", auth::Access::user,
                    [env](StreamExchange& ex) { return get_content(ex, *env); });
  router.add_stream(Verb::put, "/file/content", auth::Access::member_or_admin,
                    [env](StreamExchange& ex) { return put_content(ex, *env); });
  router.add_stream(Verb::put, "/file/store", auth::Access::user,
                    [env](StreamExchange& ex) { return put_store(ex, *env); });
}

}  // namespace fvce::file
