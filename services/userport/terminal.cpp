#include "services/userport/terminal.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>

#include "node/auth/names.h"
#include "node/core/files.h"
#include "node/core/units.h"
#include "node/core/workers.h"
#include "services/userport/pty.h"

// A WebSocket over the node's Stream (plain or TLS). Its teardown, once the close handshake is
// done, closes the TCP connection beneath; the connection is over either way.
namespace fvce::http {

void beast_close_socket(Stream& stream) {
  boost::system::error_code ignored;
  stream.socket().close(ignored);
}

void teardown(boost::beast::role_type role, Stream& stream, boost::system::error_code& ec) {
  boost::beast::websocket::teardown(role, stream.socket(), ec);
}

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, Stream& stream, TeardownHandler&& handler) {
  boost::beast::websocket::async_teardown(role, stream.socket(),
                                          std::forward<TeardownHandler>(handler));
}

}  // namespace fvce::http

namespace fvce::userport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace fs = std::filesystem;
using http::bhttp::field;
using WebSocket = websocket::stream<http::Stream&>;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto use_ec = [](boost::system::error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
};

// A close frame's reason holds at most 123 bytes.
websocket::close_reason close_with(websocket::close_code code, std::string reason) {
  if (reason.size() > 123) reason = reason.substr(0, 120) + "...";
  return websocket::close_reason(code, reason);
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&s, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

std::string percent_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Result<unsigned> window_param(const http::RequestView& v, std::string_view name, unsigned dflt) {
  std::string text = v.param(name);
  if (text.empty()) return dflt;
  char* end = nullptr;
  errno = 0;
  unsigned long n = std::strtoul(text.c_str(), &end, 10);
  if (errno != 0 || *end != 0 || n < 1 || n > kMaxWindow)
    return Status::InvalidArgument(std::string(name) + " must be a whole number from 1 to " +
                                   std::to_string(kMaxWindow) + ", not '" + text + "'");
  return static_cast<unsigned>(n);
}

// {"resize":[cols,rows]} → the size; nullopt for any other text.
std::optional<WindowSize> parse_resize(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* r = v.as_object().if_contains("resize");
  if (!r || !r->is_array() || r->as_array().size() != 2) return std::nullopt;
  unsigned n[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    const auto& e = r->as_array()[static_cast<std::size_t>(i)];
    std::int64_t x = e.is_int64()    ? e.as_int64()
                     : e.is_uint64() ? static_cast<std::int64_t>(e.as_uint64())
                                     : -1;
    if (x < 1 || x > static_cast<std::int64_t>(kMaxWindow)) return std::nullopt;
    n[i] = static_cast<unsigned>(x);
  }
  return WindowSize{n[0], n[1]};
}

// users/<user> under the work root: the account's own (0700), created when missing. Blocking.
Result<fs::path> user_dir(const fs::path& work_root, const std::string& user,
                          const ShellAccount& account) {
  if (auto s = auth::check_user_name(user); !s.ok()) return s;
  if (work_root.empty()) return Status::Unavailable("this node has no work root");
  auto make = [](const fs::path& p, mode_t mode) -> Status {
    if (::mkdir(p.c_str(), mode) != 0 && errno != EEXIST)
      return Status::IOError("cannot make " + p.string() + ": " + std::strerror(errno));
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return Status::Forbidden(p.string() + " is not a directory (a link or a file is there)");
    return Status::Ok();
  };
  fs::path users = work_root / "users";
  if (auto s = make(users, 0711); !s.ok()) return s;
  // Others pass through users/, not list it: each account reaches only its own directory.
  if (::chmod(users.c_str(), 0711) != 0)
    return Status::IOError("cannot set the mode of " + users.string() + ": " +
                           std::strerror(errno));
  fs::path dir = users / user;
  if (auto s = make(dir, 0700); !s.ok()) return s;
  if (account.switch_user && ::lchown(dir.c_str(), account.uid, account.gid) != 0)
    return Status::IOError("cannot give " + dir.string() + " to '" + account.name +
                           "': " + std::strerror(errno));
  if (::chmod(dir.c_str(), 0700) != 0)
    return Status::IOError("cannot set the mode of " + dir.string() + ": " + std::strerror(errno));
  return dir;
}

// The Origin a page of this node has: scheme://Host.
bool same_origin(std::string_view origin, std::string_view host, bool tls) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  std::string want = std::string(tls ? "https://" : "http://") + lower(host);
  std::string got = lower(origin);
  // The default port may be left out of either.
  auto strip = [tls](std::string s) {
    std::string port = tls ? ":443" : ":80";
    if (s.size() > port.size() && s.ends_with(port)) s.resize(s.size() - port.size());
    return s;
  };
  return !host.empty() && strip(want) == strip(got);
}

asio::awaitable<void> answer(http::StreamExchange& ex, const Status& status) {
  auto res = http::error_response(status);
  res.keep_alive(false);
  http::set_security_headers(res.base(), ex.stream.secure());
  ex.stream.expires_after(std::chrono::seconds(5));
  boost::system::error_code ec;
  co_await http::bhttp::async_write(ex.stream, res, use_ec(ec));
  ex.status = res.result_int();
  ex.keep_alive = false;
}

void set_options(WebSocket& ws, beast::role_type role) {
  // Dead peers are found by pings after a minute of silence; the close handshake may take
  // five seconds.
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(5);
  t.idle_timeout = std::chrono::seconds(60);
  t.keep_alive_pings = true;
  ws.set_option(t);
  ws.read_message_max(1u << 20);
  if (role == beast::role_type::server)
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(field::server, "fvce"); }));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Sessions.

struct Terminals::State {
  mutable std::mutex mu;
  bool stopping = false;
  std::uint64_t next_id = 0;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;
};

// What a session is about, for the limits, the closing and the audit lines.
struct SessionInfo {
  std::string user;
  std::string token;
  std::string member;  // where the shell runs
  std::string from;    // the browser's address
  std::string via;     // the member that relayed it ("" = the browser came here)
};

class Terminals::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Terminals> owner, asio::any_io_executor ex, SessionInfo info)
      : info(std::move(info)),
        owner_(std::move(owner)),
        ex_(ex),
        wake_(ex),
        done_(ex),
        last_input_(Clock::now()),
        started_(std::chrono::system_clock::now()) {}
  virtual ~Session() = default;

  // Ends the session with reason. Any thread.
  void close(websocket::close_reason why) {
    asio::post(ex_, [self = shared_from_this(), why] { self->finish(why); });
  }

  const SessionInfo info;
  std::uint64_t id = 0;

 protected:
  // On the executor: the first reason wins; wakes run() to end the session.
  void finish(const websocket::close_reason& why) {
    if (ending_) return;
    ending_ = true;
    close_ = why;
    wake_.cancel();
    on_finish();
  }
  virtual void on_finish() {}

  // Runs task beside run(), which waits for every task before it returns.
  void spawn(asio::awaitable<void> task) {
    ++tasks_;
    asio::co_spawn(ex_, guard(shared_from_this(), std::move(task)), asio::detached);
  }
  static asio::awaitable<void> guard(std::shared_ptr<Session> self, asio::awaitable<void> task) {
    try {
      co_await std::move(task);
    } catch (const std::exception& e) {
      spdlog::error("terminal #{}: {}", self->id, e.what());
      self->finish(close_with(websocket::close_code::internal_error, "internal error"));
    }
    if (--self->tasks_ == 0) self->done_.cancel();
  }
  asio::awaitable<void> close_websocket(WebSocket& ws) {
    boost::system::error_code ec;
    co_await ws.async_close(close_, use_ec(ec));
  }
  asio::awaitable<void> wait_tasks() {
    while (tasks_ > 0) {
      done_.expires_at(Clock::time_point::max());
      boost::system::error_code ec;
      co_await done_.async_wait(use_ec(ec));
    }
  }

  // Until the session ends: the idle time and the user's token, every tick.
  asio::awaitable<void> watch() {
    const auto& o = owner_->options_;
    auto tick = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), o.recheck);
    auto next_check = Clock::now() + o.recheck;
    while (!ending_) {
      wake_.expires_after(tick);
      boost::system::error_code ec;
      co_await wake_.async_wait(use_ec(ec));
      if (ending_) break;
      auto now = Clock::now();
      if (o.idle.count() > 0 && now - last_input_ >= o.idle) {
        finish(close_with(websocket::close_code::normal,
                          "closed after " + format_duration(o.idle) + " without input"));
      } else if (now >= next_check) {
        next_check = now + o.recheck;
        if (owner_->links_.token_valid && !info.token.empty() &&
            !owner_->links_.token_valid(info.token))
          finish(close_with(websocket::close_code::policy_error,
                            "signed out: the session's sign-in is no longer valid"));
      }
    }
  }

  void log_end(std::string_view what, std::string_view account) const {
    auto ended = std::chrono::system_clock::now();
    double seconds = std::chrono::duration<double>(ended - started_).count();
    spdlog::info(
        "terminal #{} {}: user '{}' on member '{}'{}{}{}, from {}{}; started {}, ended {}, "
        "{:.1f} s; {} bytes in, {} bytes out; {}",
        id, what, info.user, info.member, account.empty() ? "" : " as account '", account,
        account.empty() ? "" : "'", info.from,
        info.via.empty() ? std::string() : " via member '" + info.via + "'", iso_time(started_),
        iso_time(ended), seconds, bytes_in_, bytes_out_,
        close_.reason.empty() ? std::string("closed")
                              : std::string(close_.reason.data(), close_.reason.size()));
  }

  std::shared_ptr<Terminals> owner_;
  asio::any_io_executor ex_;
  asio::steady_timer wake_;
  asio::steady_timer done_;
  bool ending_ = false;
  websocket::close_reason close_;
  int tasks_ = 0;
  Clock::time_point last_input_;
  std::chrono::system_clock::time_point started_;
  std::uint64_t bytes_in_ = 0;   // from the browser
  std::uint64_t bytes_out_ = 0;  // to the browser
};

// A shell of this node, over the WebSocket of a browser or of a relaying member.
class Terminals::ShellSession final : public Terminals::Session {
 public:
  ShellSession(std::shared_ptr<Terminals> owner, WebSocket& ws, SessionInfo info)
      : Session(std::move(owner), ws.get_executor(), std::move(info)), ws_(ws) {}

  asio::awaitable<void> run(std::unique_ptr<PtyShell> shell, std::string account) {
    shell_ = std::move(shell);
    started_ = std::chrono::system_clock::now();
    if (ending_) on_finish();
    spdlog::info(
        "terminal #{} opened: user '{}' on member '{}' as account '{}' (shell pid {}), "
        "from {}{}",
        id, info.user, info.member, account, shell_->pid(), info.from,
        info.via.empty() ? std::string() : " via member '" + info.via + "'");
    spawn(from_browser());
    spawn(to_browser());
    spawn(watch_exit());
    co_await watch();
    // The shell goes while the close handshake runs (a client may be slow to end it).
    if (ws_.is_open()) spawn(close_websocket(ws_));
    co_await shell_->terminate(owner_->options_.hangup_grace);
    co_await wait_tasks();
    log_end("closed", account);
  }

 private:
  void on_finish() override {
    if (!shell_) return;
    boost::system::error_code ignored;
    shell_->master().cancel(ignored);
    shell_->cancel_wait();
  }

  asio::awaitable<void> from_browser() {
    beast::flat_buffer buffer;
    while (!ending_) {
      boost::system::error_code ec;
      co_await ws_.async_read(buffer, use_ec(ec));
      if (ec) {
        finish(close_with(websocket::close_code::normal,
                          ec == websocket::error::closed
                              ? "closed by the browser"
                              : "the connection broke: " + ec.message()));
        break;
      }
      if (ws_.got_text()) {
        auto text = beast::buffers_to_string(buffer.data());
        if (auto size = parse_resize(text)) {
          if (auto s = shell_->resize(*size); !s.ok())
            spdlog::warn("terminal #{}: {}", id, s.message());
        }
      } else if (buffer.size() > 0) {
        last_input_ = Clock::now();
        bytes_in_ += buffer.size();
        co_await asio::async_write(shell_->master(), buffer.data(), use_ec(ec));
        if (ec) break;  // the shell is gone: watch_exit or to_browser says so
      }
      buffer.consume(buffer.size());
    }
  }

  asio::awaitable<void> to_browser() {
    std::vector<char> buf(16384);
    ws_.binary(true);
    while (!ending_) {
      boost::system::error_code ec;
      std::size_t n = co_await shell_->master().async_read_some(asio::buffer(buf), use_ec(ec));
      if (ec) break;  // EIO: nothing holds the terminal open any more
      bytes_out_ += n;
      co_await ws_.async_write(asio::buffer(buf.data(), n), use_ec(ec));
      if (ec) break;
    }
    pty_closed_ = true;
  }

  asio::awaitable<void> watch_exit() {
    if (ending_) co_return;
    auto exit = co_await shell_->wait_exit();
    if (!exit) co_return;
    // What the shell wrote last is on its way: let it reach the browser first.
    asio::steady_timer t(ex_);
    for (int i = 0; i < 25 && !pty_closed_ && !ending_; ++i) {
      t.expires_after(std::chrono::milliseconds(20));
      boost::system::error_code ec;
      co_await t.async_wait(use_ec(ec));
    }
    finish(
        close_with(websocket::close_code::normal, "the shell exited (" + exit->describe() + ")"));
  }

  WebSocket& ws_;
  std::unique_ptr<PtyShell> shell_;
  bool pty_closed_ = false;
};

// A browser's WebSocket relayed to the member that runs the shell.
class Terminals::RelaySession final : public Terminals::Session {
 public:
  RelaySession(std::shared_ptr<Terminals> owner, WebSocket& browser, SessionInfo info)
      : Session(std::move(owner), browser.get_executor(), std::move(info)), browser_(browser) {}

  asio::awaitable<void> run(WebSocket& member, std::string address) {
    member_ = &member;
    started_ = std::chrono::system_clock::now();
    spdlog::info("terminal #{} relayed: user '{}' from {} to member '{}' ({})", id, info.user,
                 info.from, info.member, address);
    spawn(pipe(browser_, member, true));
    spawn(pipe(member, browser_, false));
    co_await watch();
    for (WebSocket* ws : {&browser_, member_})
      if (ws->is_open()) spawn(close_websocket(*ws));
    co_await wait_tasks();
    log_end("relay closed", "");
  }

 private:
  asio::awaitable<void> pipe(WebSocket& from, WebSocket& to, bool from_browser) {
    beast::flat_buffer buffer;
    while (!ending_) {
      boost::system::error_code ec;
      co_await from.async_read(buffer, use_ec(ec));
      if (ec) {
        if (from_browser)
          finish(close_with(websocket::close_code::normal, ec == websocket::error::closed
                                                               ? "closed by the browser"
                                                               : "the browser's connection broke"));
        else if (ec == websocket::error::closed)
          finish(from.reason());  // the member's reason, passed on
        else
          finish(close_with(websocket::close_code::going_away,
                            "the connection to member '" + info.member + "' broke"));
        break;
      }
      if (from_browser) {
        if (from.got_binary()) {
          last_input_ = Clock::now();
          bytes_in_ += buffer.size();
        }
      } else {
        bytes_out_ += buffer.size();
      }
      to.binary(from.got_binary());
      co_await to.async_write(buffer.data(), use_ec(ec));
      if (ec) break;  // the other direction's read says why
      buffer.consume(buffer.size());
    }
  }

  WebSocket& browser_;
  WebSocket* member_ = nullptr;
};

// ---------------------------------------------------------------------------------------
// Terminals.

std::vector<deploy::ParamSpec> terminal_param_specs() {
  return {
      {"terminal", "on",
       "on: signed-in users may open a shell on any member from the browser (as their mapped "
       "local account, never root); off: no terminal",
       false},
      {"terminal-idle", "15m",
       "a terminal without input for this long is closed (a duration, at least 1s; 0 = never)",
       false},
  };
}

Status read_terminal_params(const deploy::Params& params, TerminalOptions& options) {
  auto on = params.text("terminal");
  if (on != "on" && on != "off")
    return Status::InvalidArgument(params.where("terminal") +
                                   ": parameter 'terminal' of service '" + params.service() +
                                   "': '" + on + "' is not on or off");
  options.enabled = on == "on";
  auto idle = params.duration("terminal-idle");
  if (!idle.ok()) return idle.status();
  if (idle->count() != 0 && *idle < std::chrono::seconds(1))
    return Status::InvalidArgument(params.where("terminal-idle") +
                                   ": parameter 'terminal-idle' of service '" + params.service() +
                                   "': at least 1s (or 0 for never)");
  options.idle = *idle;
  return Status::Ok();
}

std::shared_ptr<Terminals> Terminals::Create(NodeContext& ctx, TerminalOptions options,
                                             TerminalLinks links) {
  return std::shared_ptr<Terminals>(new Terminals(ctx, std::move(options), std::move(links)));
}

Terminals::Terminals(NodeContext& ctx, TerminalOptions options, TerminalLinks links)
    : ctx_(ctx),
      options_(std::move(options)),
      links_(std::move(links)),
      state_(std::make_unique<State>()) {}

Terminals::~Terminals() = default;

void Terminals::add_routes(http::Router& router) {
  auto self = shared_from_this();
  router.add_stream(http::Verb::get, "/api/terminal", auth::Access::user,
                    [self](http::StreamExchange& ex) { return self->serve_browser(ex); });
  router.add_stream(http::Verb::get, "/userport/terminal", auth::Access::peer,
                    [self](http::StreamExchange& ex) { return self->serve_peer(ex); });
}

Status Terminals::enter(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(state_->mu);
  if (state_->stopping) return Status::Unavailable("the node is stopping");
  std::size_t mine = 0, all = 0;
  for (auto it = state_->sessions.begin(); it != state_->sessions.end();) {
    auto s = it->second.lock();
    if (!s) {
      it = state_->sessions.erase(it);
      continue;
    }
    ++all;
    if (s->info.user == session->info.user) ++mine;
    ++it;
  }
  if (mine >= options_.max_per_user)
    return Status::RateLimited("user '" + session->info.user + "' has " + std::to_string(mine) +
                               " terminals open here already, the most one may: close one");
  if (all >= options_.max_per_node)
    return Status::RateLimited("this node has " + std::to_string(all) +
                               " terminals open, the most it serves: try again later");
  session->id = ++state_->next_id;
  state_->sessions[session->id] = session;
  return Status::Ok();
}

void Terminals::leave(const Session& session) {
  std::lock_guard lock(state_->mu);
  state_->sessions.erase(session.id);
}

std::size_t Terminals::open_sessions() const {
  std::lock_guard lock(state_->mu);
  std::size_t n = 0;
  for (const auto& [id, w] : state_->sessions) n += w.expired() ? 0 : 1;
  return n;
}

void Terminals::close_for_token(std::string_view token) {
  if (token.empty()) return;
  std::vector<std::shared_ptr<Session>> hit;
  {
    std::lock_guard lock(state_->mu);
    for (const auto& [id, w] : state_->sessions)
      if (auto s = w.lock(); s && s->info.token == token) hit.push_back(std::move(s));
  }
  for (auto& s : hit) s->close(close_with(websocket::close_code::policy_error, "signed out"));
}

void Terminals::stop() {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
    for (const auto& [id, w] : state_->sessions)
      if (auto s = w.lock()) all.push_back(std::move(s));
  }
  for (auto& s : all)
    s->close(close_with(websocket::close_code::going_away, "the node is stopping"));
}

// Why a request for a terminal is refused before the upgrade; ok when it is not.
Status Terminals::check_request(const http::StreamExchange& ex, bool from_browser) const {
  const auto& req = ex.parser.get();
  const auto& caller = ex.view.caller();
  if (!options_.enabled) return Status::NotFound("the terminal is off on this node");
  if (!websocket::is_upgrade(req))
    return Status::InvalidArgument("a terminal is a WebSocket: upgrade the connection");
  if (!from_browser) {
    // The relaying member forwards the user's token: this node checks it itself.
    if (!caller.is_user() || caller.user != ex.view.param("user"))
      return Status::Forbidden("a relayed terminal carries the sign-in of the user it is for");
    return Status::Ok();
  }
  // Browsers send cookies with a WebSocket any site's page opens, and name the page's origin:
  // only this node's own pages may open a shell.
  auto origin = req.find(field::origin);
  if (origin != req.end()) {
    if (!same_origin(origin->value(), req[field::host], ex.stream.secure()))
      return Status::Forbidden("a terminal opens only from this node's own pages (Origin '" +
                               std::string(origin->value()) + "' is not this node's)");
  } else if (req.find(field::authorization) == req.end()) {
    return Status::Forbidden("a browser's WebSocket names its Origin; this one does not");
  }
  if (!caller.is_user()) return Status::Forbidden("a terminal is for a signed-in user");
  return Status::Ok();
}

asio::awaitable<void> Terminals::serve_browser(http::StreamExchange& ex) {
  const auto& req = ex.parser.get();
  const auto& caller = ex.view.caller();
  Status refusal = check_request(ex, true);
  auto cols = window_param(ex.view, "cols", 80);
  auto rows = window_param(ex.view, "rows", 24);
  if (refusal.ok() && !cols.ok()) refusal = cols.status();
  if (refusal.ok() && !rows.ok()) refusal = rows.status();
  if (!refusal.ok()) {
    if (refusal.code() == ErrorCode::forbidden)
      spdlog::warn("terminal refused to {} from {}: {}", caller.describe(), ex.view.remote,
                   refusal.message());
    co_await answer(ex, refusal);
    co_return;
  }

  std::string name = ex.view.param("member");
  std::optional<model::Member> member;
  bool here = name.empty() || name == ctx_.self.name || name == ctx_.self.id;
  if (!here && links_.find_member) {
    member = links_.find_member(name);
    if (member && member->id == ctx_.self.id) here = true;
  }

  ex.stream.expires_never();
  ex.status = 101;
  ex.keep_alive = false;
  WebSocket ws(ex.stream);
  set_options(ws, beast::role_type::server);
  boost::system::error_code ec;
  co_await ws.async_accept(req, use_ec(ec));
  if (ec) co_return;

  SessionInfo info{caller.user, caller.token, here ? ctx_.self.name : name, ex.view.remote, ""};
  if (here) {
    auto session = std::make_shared<ShellSession>(shared_from_this(), ws, info);
    co_await open_shell(session, ws, *cols, *rows);
    co_return;
  }
  auto session = std::make_shared<RelaySession>(shared_from_this(), ws, info);
  websocket::close_reason why;
  if (!member || !links_.client)
    why = close_with(websocket::close_code::policy_error,
                     "no member named '" + name + "' in the federation");
  else if (auto s = enter(session); !s.ok())
    why = close_with(websocket::close_code::try_again_later, s.message());
  if (why.code != websocket::close_code::none) {
    co_await refuse(ws, info, why);
    co_return;
  }
  struct Leave {
    Terminals* t;
    Session* s;
    ~Leave() { t->leave(*s); }
  } leave{this, session.get()};

  std::string address = member->address;
  auto stream = co_await links_.client->connect(address, options_.connect_timeout);
  if (!stream.ok()) {
    why = close_with(websocket::close_code::try_again_later,
                     "member '" + name + "' cannot be reached: " + stream.status().message());
    co_await refuse(ws, info, why);
    co_return;
  }
  (*stream)->expires_never();
  WebSocket peer(**stream);
  set_options(peer, beast::role_type::client);
  std::string target = "/userport/terminal?user=" + percent_encode(info.user) +
                       "&origin=" + percent_encode(ctx_.self.name) +
                       "&from=" + percent_encode(info.from) + "&cols=" + std::to_string(*cols) +
                       "&rows=" + std::to_string(*rows);
  http::Client* client = links_.client;
  std::string token = info.token;
  peer.set_option(
      websocket::stream_base::decorator([client, target, token](websocket::request_type& r) {
        r.set(field::user_agent, "fvce");
        // The member checks the user's sign-in itself, and this node's membership.
        r.set(field::authorization, "Bearer " + token);
        client->add_credentials(r.base(), http::Verb::get, target, nullptr);
      }));
  websocket::response_type res;
  co_await peer.async_handshake(res, address, target, use_ec(ec));
  if (ec) {
    std::string detail = res.result_int() != 0 && res.result_int() != 101
                             ? http::status_from_error_body(res.result_int(), res.body()).message()
                             : ec.message();
    why = close_with(websocket::close_code::try_again_later,
                     "member '" + name + "' did not open the terminal: " + detail);
    co_await refuse(ws, info, why);
    co_return;
  }
  co_await session->run(peer, address);
}

asio::awaitable<void> Terminals::serve_peer(http::StreamExchange& ex) {
  const auto& req = ex.parser.get();
  const auto& caller = ex.view.caller();
  Status refusal = check_request(ex, false);
  auto cols = window_param(ex.view, "cols", 80);
  auto rows = window_param(ex.view, "rows", 24);
  if (refusal.ok() && !cols.ok()) refusal = cols.status();
  if (refusal.ok() && !rows.ok()) refusal = rows.status();
  if (!refusal.ok()) {
    co_await answer(ex, refusal);
    co_return;
  }

  ex.stream.expires_never();
  ex.status = 101;
  ex.keep_alive = false;
  WebSocket ws(ex.stream);
  set_options(ws, beast::role_type::server);
  boost::system::error_code ec;
  co_await ws.async_accept(req, use_ec(ec));
  if (ec) co_return;
  std::string from = ex.view.param("from");
  SessionInfo info{caller.user, caller.token, ctx_.self.name, from.empty() ? ex.view.remote : from,
                   ex.view.param("origin")};
  if (info.via.empty()) info.via = caller.peer;
  auto session = std::make_shared<ShellSession>(shared_from_this(), ws, info);
  co_await open_shell(session, ws, *cols, *rows);
}

template <typename WebSocketT, typename Info, typename Reason>
asio::awaitable<void> Terminals::refuse(WebSocketT& ws, const Info& info, Reason why,
                                        std::string full) {
  if (full.empty()) full.assign(why.reason.data(), why.reason.size());
  spdlog::warn("terminal for user '{}' from {} on member '{}' refused: {}", info.user, info.from,
               info.member, full);
  boost::system::error_code ignored;
  co_await ws.async_close(why, use_ec(ignored));
}

template <typename WebSocketT>
asio::awaitable<void> Terminals::open_shell(std::shared_ptr<ShellSession> session, WebSocketT& ws,
                                            unsigned cols, unsigned rows) {
  WindowSize size{cols, rows};
  const auto& info = session->info;
  websocket::close_reason why;
  if (auto s = enter(session); !s.ok()) {
    why = close_with(websocket::close_code::try_again_later, s.message());
    co_await refuse(ws, info, why);
    co_return;
  }
  struct Leave {
    Terminals* t;
    Session* s;
    ~Leave() { t->leave(*s); }
  } leave{this, session.get()};

  std::string account;
  auto executor = ws.get_executor();
  auto shell = co_await on_workers(ctx_.workers, [&]() -> Result<std::unique_ptr<PtyShell>> {
    auto who = shell_account(options_.accounts, info.user, options_.node_is_root);
    if (!who.ok()) return who.status();
    account = who->name;
    auto dir = user_dir(options_.work_root, info.user, *who);
    if (!dir.ok()) return dir.status();
    PtyShell::Options o;
    o.account = *who;
    o.cwd = *dir;
    o.size = size;
    std::string bin = program_dir();
    if (!bin.empty()) o.path = bin + ":" + o.path;
    return PtyShell::Start(executor, o);
  });
  if (!shell.ok()) {
    why = close_with(websocket::close_code::policy_error, shell.status().message());
    co_await refuse(ws, info, why, shell.status().message());
    co_return;
  }
  co_await session->run(std::move(*shell), account);
}

}  // namespace fvce::userport
