#include "services/userport/web.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "node/auth/accounts.h"
#include "node/core/files.h"
#include "node/core/workers.h"
#include "node/http/json.h"
#include "node/http/url.h"
#include "services/info/logic.h"
#include "services/submit/query.h"
#include "services/userport/jsdl.h"
#include "services/userport/segy_image.h"

namespace fvce::userport {

namespace asio = boost::asio;
namespace bhttp = http::bhttp;
namespace json = boost::json;
using auth::Access;
using http::RequestView;
using http::Response;
using http::StreamExchange;
using http::Verb;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint64_t kMaxJsonPage = 1000;
constexpr std::uint64_t kMaxLinesPage = 5000;
// A member that does not answer a browser's question within this is reported, not waited for.
const CallOptions kFileCall{std::chrono::milliseconds(10000), 1};

// The pages' own policy: scripts and styles from this node only (the application's styles
// are set from scripts too, hence 'unsafe-inline' for styles alone), images also from data:
// and blob: URLs (the SEG-Y and chart images), connections only back here.
constexpr const char* kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

json::value opt_int(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}
template <typename T>
json::value opt_num(const std::optional<T>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object counts_json(const model::WorkflowSummary& s) {
  return {{"tasks", s.tasks},        {"pending", s.pending}, {"ready", s.ready},
          {"running", s.running},    {"done", s.done},       {"failed", s.failed},
          {"cancelled", s.cancelled}};
}

json::object summary_json(const model::WorkflowSummary& s) {
  return {{"id", s.id},
          {"name", s.name},
          {"app", s.app},
          {"owner", s.owner},
          {"node", s.node},
          {"state", std::string(model::to_string(s.state))},
          {"submitted_ms", s.submitted},
          {"finished_ms", opt_int(s.finished)},
          {"counts", counts_json(s)}};
}

json::object task_json(const model::TaskStatus& t) {
  json::object o{{"id", t.id},
                 {"state", std::string(model::to_string(t.state))},
                 {"host", t.host},
                 {"attempts", t.attempts},
                 {"exit_code", opt_num(t.exit_code)},
                 {"wall_ms", opt_num(t.wall_ms)},
                 {"cpu_ms", opt_num(t.cpu_ms)},
                 {"max_rss", opt_num(t.max_rss)},
                 {"started_ms", opt_int(t.started)},
                 {"finished_ms", opt_int(t.finished)},
                 {"message", t.message}};
  auto open = t.id.rfind('[');
  if (!t.id.empty() && t.id.back() == ']' && open != std::string::npos) {
    o["array"] = t.id.substr(0, open);
    int index = 0;
    std::from_chars(t.id.data() + open + 1, t.id.data() + t.id.size() - 1, index);
    o["index"] = index;
  } else {
    o["array"] = nullptr;
    o["index"] = nullptr;
  }
  return o;
}

json::array unreachable_json(const std::vector<model::Unreachable>& list) {
  json::array out;
  for (const auto& u : list)
    out.push_back(json::object{{"node", u.node}, {"address", u.address}, {"reason", u.reason}});
  return out;
}

std::string_view member_state(model::MemberState s) {
  switch (s) {
    case model::MemberState::alive:
      return "alive";
    case model::MemberState::suspect:
      return "suspect";
    case model::MemberState::left:
      return "leaving";
    case model::MemberState::dead:
      return "dead";
  }
  return "alive";
}

json::object member_json(const model::HostInfo& h) {
  const auto& m = h.member;
  json::object o{{"id", m.id},
                 {"name", m.name},
                 {"address", m.address},
                 {"state", std::string(member_state(m.state))},
                 {"incarnation", m.incarnation},
                 {"cores", m.host.cores},
                 {"cpu_model", m.host.cpu_model},
                 {"cpu_mhz", m.host.cpu_mhz},
                 {"speed", m.host.speed},
                 {"memory", m.host.memory},
                 {"disk", m.host.disk},
                 {"os", m.host.os},
                 {"slots", m.host.slots},
                 {"version", m.host.version},
                 {"started_ms", m.host.started},
                 {"reachable", h.load.has_value()}};
  if (h.load) {
    const auto& l = *h.load;
    o["slots_used"] = std::max(0, m.host.slots - l.free_slots);
    o["queue"] = l.queue;
    o["load1"] = l.load1;
    o["cpu"] = l.cpu / 100.0;
    o["mem_free"] = l.memory_free;
    o["mem_total"] = l.memory_total;
    o["disk_free"] = l.disk_free;
    o["disk_total"] = l.disk_total;
    o["down"] = l.down;
    o["sampled_ms"] = l.time;
  } else {
    o["slots_used"] = nullptr;
    o["queue"] = nullptr;
    o["load1"] = nullptr;
    o["cpu"] = nullptr;
    o["mem_free"] = nullptr;
    o["mem_total"] = nullptr;
    o["error"] = h.load_error;
  }
  return o;
}

json::object federation_json(const model::HostsReport& r) {
  json::array members;
  std::int64_t alive = 0, cores = 0, slots = 0, used = 0, queue = 0;
  std::uint64_t memory = 0, free = 0;
  for (const auto& h : r.hosts) {
    members.push_back(member_json(h));
    if (h.member.state == model::MemberState::alive) ++alive;
    cores += h.member.host.cores;
    slots += h.member.host.slots;
    memory += h.member.host.memory;
    if (h.load) {
      used += std::max(0, h.member.host.slots - h.load->free_slots);
      queue += h.load->queue;
      free += h.load->memory_free;
    }
  }
  json::object totals{{"members", static_cast<std::int64_t>(r.hosts.size())},
                      {"alive", alive},
                      {"cores", cores},
                      {"slots", slots},
                      {"slots_used", used},
                      {"queue", queue},
                      {"memory", memory},
                      {"mem_free", free}};
  return {{"federation", r.federation},
          {"self", r.self},
          {"members", std::move(members)},
          {"totals", std::move(totals)}};
}

Result<std::string> required(const RequestView& v, const char* name) {
  auto value = v.param(name);
  if (value.empty())
    return Status::InvalidArgument(std::string("the query parameter '") + name + "' is missing");
  return value;
}

Result<std::uint64_t> number(const RequestView& v, const char* name, std::uint64_t fallback) {
  auto text = v.param(name);
  if (text.empty()) return fallback;
  std::uint64_t out = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || p != text.data() + text.size())
    return Status::InvalidArgument(std::string("query parameter '") + name + "': '" + text +
                                   "' is not a whole number");
  return out;
}

std::string_view content_type_of(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".woff") return "font/woff";
  if (ext == ".ttf") return "font/ttf";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::string file_type_name(model::FileType t) {
  return t == model::FileType::dir ? "dir" : "file";
}

std::string last_segment(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

// --- where a Files path leads ------------------------------------------------------------

Result<FilePlace> place_of(std::string_view path, const auth::Caller& who) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string part(path.substr(i, j - i));
    if (part.empty()) {
      if (i == 0 || j == path.size()) {  // a leading or trailing '/'
        i = j + 1;
        continue;
      }
      return Status::InvalidArgument("the path '" + std::string(path) + "' has an empty segment");
    }
    if (part == "." || part == "..")
      return Status::InvalidArgument("the path '" + std::string(path) + "' holds '" + part + "'");
    parts.push_back(std::move(part));
    i = j + 1;
  }
  auto joined = [&](std::size_t from) {
    std::string out;
    for (std::size_t k = from; k < parts.size(); ++k) out += (out.empty() ? "" : "/") + parts[k];
    return out;
  };
  FilePlace p;
  if (parts.empty()) return p;
  const std::string& top = parts[0];
  if (top == "results") {
    if (parts.size() == 1) {
      p.kind = FilePlace::results_dir;
      return p;
    }
    p.workflow = parts[1];
    if (parts.size() == 2) {
      p.kind = FilePlace::results_dir;
      return p;
    }
    if (parts.size() > 3)
      return Status::NotFound("results are files of their workflow: '" + std::string(path) +
                              "' names none");
    p.kind = FilePlace::result;
    p.name = parts[2];
    return p;
  }
  if (top == "users") {
    if (parts.size() == 1) {
      p.kind = FilePlace::users_dir;
      return p;
    }
    if (!who.is_admin() && parts[1] != who.user)
      return Status::Forbidden("users/" + parts[1] + " is another user's area, not " + who.user +
                               "'s");
    p.kind = FilePlace::work;
    p.path = joined(0);
    return p;
  }
  if (top == "work") {
    if (parts.size() == 1) {
      p.kind = FilePlace::work_dir;
      return p;
    }
    p.kind = FilePlace::work;
    p.workflow = parts[1];
    p.path = joined(0);
    return p;
  }
  if (!who.is_admin())
    return Status::Forbidden("'" + top + "' is not among a user's places (users/" + who.user +
                             ", work/<your workflow>, results/<your workflow>)");
  p.kind = FilePlace::work;
  p.path = joined(0);
  return p;
}

std::filesystem::path find_assets(const std::filesystem::path& given) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (!given.empty()) {
    candidates.push_back(given);
  } else if (auto dir = program_dir(); !dir.empty()) {
    candidates.push_back(fs::path(dir) / "web" / "dist");
    candidates.push_back(fs::path(dir) / ".." / "share" / "fvce" / "web");
  }
  std::error_code ec;
  for (const auto& c : candidates)
    if (fs::is_regular_file(c / "index.html", ec)) return fs::weakly_canonical(c, ec);
  return {};
}

// --- the port ----------------------------------------------------------------------------

struct WebPort::Env {
  Env(WebContext c, WebOptions o) : ctx(std::move(c)), options(std::move(o)) {}
  WebContext ctx;
  WebOptions options;
  std::filesystem::path assets;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> streams{0};
  std::function<json::array()> apps;           // the published applications (set_apps)
  std::atomic<std::uint64_t> apps_version{0};  // bumped by each change of them

  std::shared_ptr<submit::SubmitLogic> submit_for(const RequestView& v) const {
    return ctx.submit(v.caller());
  }

  Result<model::Member> member(const std::string& name) const {
    if (name.empty()) return ctx.membership->self();
    auto m = ctx.membership->find(name);
    if (!m) return Status::NotFound("no live member is called '" + name + "'");
    return *m;
  }

  file::FileLogic& files_of(const model::Member& m) const {
    PeerRef peer(m);
    return ctx.node.peers.file(peer, kFileCall);
  }

  // Whether the caller may use the work directory of workflow id (its own, or any for an
  // admin). The owner is asked through the federation's view: it knows its workflows.
  asio::awaitable<Status> may_use_workflow(const auth::Caller& who, const std::string& id) const {
    if (who.is_admin()) co_return Status::Ok();
    auto logic = ctx.submit(who);
    auto owner = co_await logic->owner_of(id);
    if (!owner.ok()) {
      if (owner.status().code() == ErrorCode::not_found)
        co_return Status::Forbidden("work/" + id + " is not the directory of a workflow of " +
                                    who.user);
      co_return owner.status();
    }
    if (*owner != who.user)
      co_return Status::Forbidden("workflow '" + id + "' belongs to another user, not to " +
                                  who.user);
    co_return Status::Ok();
  }

  // A file the caller may read, as (member, path relative to its work root). A result is
  // read from its workflow's owner's store.
  asio::awaitable<Result<std::pair<model::Member, std::string>>> readable(
      const RequestView& v) const {
    auto m = member(v.param("member"));
    if (!m.ok()) co_return m.status();
    auto place = place_of(v.param("path"), v.caller());
    if (!place.ok()) co_return place.status();
    if (place->kind == FilePlace::work) {
      if (!place->workflow.empty()) {
        auto s = co_await may_use_workflow(v.caller(), place->workflow);
        if (!s.ok()) co_return s;
      }
      co_return std::make_pair(std::move(*m), place->path);
    }
    if (place->kind == FilePlace::result) {
      auto logic = ctx.submit(v.caller());
      auto results = co_await logic->results(place->workflow);
      if (!results.ok()) co_return results.status();
      for (const auto& r : results->results)
        if (r.name == place->name) {
          auto owner = ctx.membership->find(r.source);
          model::Member at;
          if (owner) {
            at = *owner;
          } else {
            at.address = r.source;
            at.name = r.source;
          }
          co_return std::make_pair(std::move(at), "store/" + r.sha256);
        }
      co_return Status::NotFound("workflow '" + place->workflow + "' has no result '" +
                                 place->name + "'");
    }
    co_return Status::InvalidArgument("'" + v.param("path") + "' is a directory");
  }
};

WebPort::WebPort(WebContext ctx, WebOptions options)
    : env_(std::make_shared<Env>(std::move(ctx), options)) {
  assets_ = find_assets(options.assets);
  env_->assets = assets_;
}

void WebPort::stop() {
  env_->stopping = true;
}

void WebPort::set_apps(std::function<json::array()> list) {
  env_->apps = std::move(list);
}

void WebPort::apps_changed() {
  ++env_->apps_version;
}

namespace {

using EnvPtr = std::shared_ptr<WebPort::Env>;

// A handler answering JSON: f(v) returns Result<json::value>.
template <typename F>
http::Handler json_handler(EnvPtr env, F f) {
  return [env, f](const RequestView& v) -> asio::awaitable<Response> {
    Result<json::value> out = co_await f(*env, v);
    if (!out.ok()) co_return http::json_error(out.status());
    co_return http::json_response(*out);
  };
}

// --- static files -------------------------------------------------------------------------

// The application's files, read once at start: a few MB, served without touching the disk.
struct Asset {
  std::string body;
  std::string type;
  bool immutable = false;  // a hashed name under assets/: cached for good
};
using Assets = std::map<std::string, Asset, std::less<>>;

std::shared_ptr<const Assets> load_assets(const std::filesystem::path& root) {
  auto out = std::make_shared<Assets>();
  if (root.empty()) return out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    auto rel = std::filesystem::relative(it->path(), root, ec).generic_string();
    (*out)["/" + rel] =
        Asset{body.str(), std::string(content_type_of(it->path())), rel.rfind("assets/", 0) == 0};
  }
  return out;
}

Response asset_response(const Asset& a) {
  auto res = http::text_response(a.body, a.type);
  res.set(bhttp::field::cache_control,
          a.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.set("Content-Security-Policy", kPagePolicy);
  return res;
}

Response not_built() {
  auto res = http::text_response(
      "<!doctype html><meta charset=utf-8><title>fvce</title><p>The web application of this "
      "node is not built: build fvce with npm present (docs/web.md), or give the userport "
      "service's <code>assets</code> parameter. The JSON API under /api/ works.</p>",
      "text/html; charset=utf-8");
  res.set("Content-Security-Policy", kPagePolicy);
  return res;
}

// --- file streaming -----------------------------------------------------------------------

asio::awaitable<void> answer(StreamExchange& ex, Response res) {
  http::set_security_headers(res.base(), ex.stream.secure());
  res.keep_alive(ex.parser.get().keep_alive());
  res.prepare_payload();
  ex.status = static_cast<int>(res.result_int());
  ex.stream.expires_after(ex.read_timeout);
  auto [ec, n] = co_await bhttp::async_write(ex.stream, res, use_tuple);
  (void)n;
  if (ec) ex.keep_alive = false;
}

asio::awaitable<void> download(StreamExchange& ex, EnvPtr env) {
  const auto& v = ex.view;
  ex.keep_alive = ex.parser.get().keep_alive();
  if (ex.parser.get().has_content_length() && ex.parser.content_length().value_or(0) > 0) {
    ex.keep_alive = false;
    co_await answer(ex, http::json_error(Status::InvalidArgument("a download has no body")));
    co_return;
  }
  auto where = co_await env->readable(v);
  if (!where.ok()) {
    co_await answer(ex, http::json_error(where.status()));
    co_return;
  }
  auto& files = env->files_of(where->first);
  auto reader = co_await files.open_read(where->second, 0, file::kToEnd);
  if (!reader.ok()) {
    co_await answer(ex, http::json_error(reader.status()));
    co_return;
  }
  std::uint64_t left = (*reader)->size();
  std::string name = last_segment(v.param("path"));
  std::string safe;
  for (char c : name)
    safe +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
  bhttp::response<bhttp::buffer_body> res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, v.param("inline") == "true"
                                          ? std::string(content_type_of(name))
                                          : std::string("application/octet-stream"));
  if (v.param("inline") != "true")
    res.set(bhttp::field::content_disposition, "attachment; filename=\"" + safe + "\"");
  http::set_security_headers(res.base(), ex.stream.secure());
  res.content_length(left);
  res.keep_alive(ex.keep_alive);
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = left > 0;
  bhttp::response_serializer<bhttp::buffer_body> sr{res};
  ex.status = 200;
  bool keep = ex.keep_alive;
  ex.keep_alive = false;  // until the whole body is out
  ex.stream.expires_after(ex.read_timeout);
  auto [ec, n0] = co_await bhttp::async_write_header(ex.stream, sr, use_tuple);
  (void)n0;
  std::vector<char> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(256u << 10, left)));
  while (!ec && left > 0) {
    auto n = co_await (*reader)->read(chunk.data(), chunk.size());
    if (!n.ok() || *n == 0) co_return;  // the promise of the length cannot be kept
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
    std::tie(ec, std::ignore) = co_await bhttp::async_write(ex.stream, sr, use_tuple);
  }
  if (!ec) ex.keep_alive = keep;
}

// --- events -------------------------------------------------------------------------------

asio::awaitable<bool> send_event(StreamExchange& ex, std::string_view event, std::string data) {
  std::string text = "event: " + std::string(event) + "\ndata: " + data + "\n\n";
  ex.stream.expires_after(std::chrono::seconds(30));
  auto [ec, n] = co_await asio::async_write(ex.stream, asio::buffer(text), use_tuple);
  (void)n;
  co_return !ec;
}

asio::awaitable<void> events(StreamExchange& ex, EnvPtr env) {
  ex.keep_alive = false;
  if (env->streams.fetch_add(1) >= env->options.max_streams) {
    --env->streams;
    co_await answer(ex, http::json_error(Status::Unavailable("too many event streams open")));
    co_return;
  }
  struct Count {
    std::atomic<std::size_t>& n;
    ~Count() { --n; }
  } count{env->streams};
  bhttp::response<bhttp::empty_body> res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "text/event-stream; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Accel-Buffering", "no");
  http::set_security_headers(res.base(), ex.stream.secure());
  res.keep_alive(false);
  // Neither a length nor chunks: the stream ends when the connection closes.
  bhttp::response_serializer<bhttp::empty_body> sr{res};
  ex.status = 200;
  ex.stream.expires_after(ex.read_timeout);
  auto [ec, n] = co_await bhttp::async_write_header(ex.stream, sr, use_tuple);
  (void)n;
  if (ec) co_return;
  auto who = ex.view.caller();
  auto logic = env->ctx.submit(who);
  auto ex_ = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex_);
  std::string last_members;
  std::map<std::string, std::string> last_workflows;
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto next_members = now();
  auto next_keepalive = now() + env->options.keepalive;
  std::uint64_t apps_seen = env->apps_version;
  bool first_round = true;  // what the first look finds ended is not news
  json::object hello{{"user", who.user}};
  if (!co_await send_event(ex, "hello", json::serialize(hello))) co_return;
  while (!env->stopping) {
    if (std::uint64_t v = env->apps_version; v != apps_seen && env->apps) {
      apps_seen = v;
      json::object list{{"apps", env->apps()}};
      if (!co_await send_event(ex, "apps", json::serialize(list))) co_return;
    }
    if (now() >= next_members) {
      next_members = now() + env->options.members_interval;
      auto hosts = co_await env->ctx.federation->hosts();
      if (hosts.ok()) {
        auto text = json::serialize(federation_json(*hosts));
        if (text != last_members) {
          if (!co_await send_event(ex, "members", text)) co_return;
          last_members = std::move(text);
        }
      }
    }
    // The user's workflows that run, and those that ended since the last look.
    submit::WorkflowQuery q;
    q.limit = 200;
    q.owner = who.is_admin() ? "" : who.user;
    auto list = co_await logic->workflows(q);
    if (list.ok()) {
      for (const auto& w : list->workflows) {
        auto text = json::serialize(summary_json(w));
        auto it = last_workflows.find(w.id);
        if (it != last_workflows.end() && it->second == text) continue;
        bool first_look = it == last_workflows.end();
        last_workflows[w.id] = text;
        // On the stream's first look only running ones are news; later, any change, and a
        // workflow first seen already ended (submitted and finished between two looks).
        if (first_round && first_look && w.state != model::WorkflowState::running) continue;
        if (!co_await send_event(ex, "workflow", text)) co_return;
      }
      first_round = false;
    }
    if (now() >= next_keepalive) {
      next_keepalive = now() + env->options.keepalive;
      static const std::string ping = ": keep-alive\n\n";
      ex.stream.expires_after(std::chrono::seconds(30));
      auto [wec, wn] = co_await asio::async_write(ex.stream, asio::buffer(ping), use_tuple);
      (void)wn;
      if (wec) co_return;
    }
    timer.expires_after(env->options.workflow_interval);
    co_await timer.async_wait(use_tuple);
  }
}

// --- JSON routes --------------------------------------------------------------------------

asio::awaitable<Result<json::value>> me(WebPort::Env& env, const RequestView& v) {
  const auto& who = v.caller();
  if (!who.is_user())
    co_return Status(ErrorCode::unauthenticated, "the request carries no user's session");
  auto self = env.ctx.membership->self();
  json::object node{{"id", self.id},
                    {"name", self.name},
                    {"address", self.address},
                    {"federation", env.ctx.node.self.federation},
                    {"version", env.ctx.node.version}};
  json::object answer{{"user", who.user},
                      {"role", std::string(auth::to_string(who.role))},
                      {"csrf", env.ctx.accounts->csrf_token(who.token)},
                      {"node", std::move(node)}};
  co_return answer;
}

asio::awaitable<Result<json::value>> federation(WebPort::Env& env, const RequestView&) {
  auto hosts = co_await env.ctx.federation->hosts();
  if (!hosts.ok()) co_return hosts.status();
  auto o = federation_json(*hosts);
  json::array unreachable;
  for (const auto& h : hosts->hosts)
    if (!h.load)
      unreachable.push_back(json::object{
          {"node", h.member.name}, {"address", h.member.address}, {"reason", h.load_error}});
  o["unreachable"] = std::move(unreachable);
  co_return o;
}

asio::awaitable<Result<json::value>> history(WebPort::Env& env, const RequestView& v) {
  auto m = env.member(v.param("member"));
  if (!m.ok()) co_return m.status();
  auto since = number(v, "since_ms", 0);
  if (!since.ok()) co_return since.status();
  PeerRef peer(*m);
  auto& info = env.ctx.node.peers.info(peer, kFileCall);
  auto h = co_await info.history(static_cast<std::int64_t>(*since));
  if (!h.ok()) co_return h.status();
  json::array t, load1, cpu, mem, slots;
  for (const auto& s : h->samples) {
    t.push_back(s.time);
    load1.push_back(s.load1);
    cpu.push_back(s.cpu / 100.0);
    mem.push_back(s.memory_total ? 1.0 - static_cast<double>(s.memory_free) /
                                             static_cast<double>(s.memory_total)
                                 : 0.0);
    slots.push_back(std::max(0, m->host.slots - s.free_slots));
  }
  json::object answer{{"member", m->name},
                      {"interval_ms", h->interval_ms},
                      {"t", std::move(t)},
                      {"load1", std::move(load1)},
                      {"cpu", std::move(cpu)},
                      {"mem_used", std::move(mem)},
                      {"slots_used", std::move(slots)},
                      {"slots", m->host.slots}};
  co_return answer;
}

asio::awaitable<Result<json::value>> workflows(WebPort::Env& env, const RequestView& v) {
  auto q = submit::read_workflow_query(v, kMaxJsonPage);
  if (!q.ok()) co_return q.status();
  auto logic = env.submit_for(v);
  auto list = co_await logic->workflows(std::move(*q));
  if (!list.ok()) co_return list.status();
  json::array items;
  for (const auto& w : list->workflows) items.push_back(summary_json(w));
  json::object answer{{"total", list->total},
                      {"offset", list->offset},
                      {"workflows", std::move(items)},
                      {"unreachable", unreachable_json(list->unreachable)}};
  co_return answer;
}

asio::awaitable<Result<json::value>> workflow(WebPort::Env& env, const RequestView& v) {
  auto id = required(v, "id");
  if (!id.ok()) co_return id.status();
  auto logic = env.submit_for(v);
  auto st = co_await logic->status(*id, submit::TaskDetail::failed, {});
  if (!st.ok()) co_return st.status();
  auto o = summary_json(st->summary);
  std::string message;
  if (!st->tasks.empty()) message = st->tasks.front().id + ": " + st->tasks.front().message;
  o["message"] = message;
  co_return o;
}

asio::awaitable<Result<model::WorkflowView>> view_of(WebPort::Env& env, const RequestView& v,
                                                     submit::ViewQuery q) {
  auto id = required(v, "id");
  if (!id.ok()) co_return id.status();
  auto logic = env.submit_for(v);
  co_return co_await logic->view(*id, std::move(q));
}

asio::awaitable<Result<json::value>> graph(WebPort::Env& env, const RequestView& v) {
  submit::ViewQuery q;
  q.tasks = false;
  q.graph = true;
  q.limit = 0;
  auto view = co_await view_of(env, v, std::move(q));
  if (!view.ok()) co_return view.status();
  json::array nodes, edges;
  for (const auto& g : view->groups) {
    json::object counts{{"tasks", g.tasks},        {"pending", g.pending}, {"ready", g.ready},
                        {"running", g.running},    {"done", g.done},       {"failed", g.failed},
                        {"cancelled", g.cancelled}};
    json::object n{{"id", g.id},
                   {"label", g.array ? g.id + "[" + std::to_string(g.first) + ".." +
                                           std::to_string(g.last) + "]"
                                     : g.id},
                   {"kind", g.array ? "array" : "task"},
                   {"counts", std::move(counts)}};
    if (g.array) {
      n["first"] = g.first;
      n["last"] = g.last;
    } else {
      n["first"] = nullptr;
      n["last"] = nullptr;
    }
    nodes.push_back(std::move(n));
  }
  for (const auto& [from, to] : view->edges) edges.push_back(json::array{from, to});
  json::object answer{{"nodes", std::move(nodes)}, {"edges", std::move(edges)}};
  co_return answer;
}

asio::awaitable<Result<json::value>> tasks(WebPort::Env& env, const RequestView& v) {
  auto q = submit::read_view_query(v, kMaxJsonPage);
  if (!q.ok()) co_return q.status();
  q->tasks = true;
  q->graph = q->timeline = false;
  if (v.param("limit").empty()) q->limit = 100;
  q->group = v.param("array");
  auto view = co_await view_of(env, v, std::move(*q));
  if (!view.ok()) co_return view.status();
  json::array items;
  for (const auto& t : view->tasks) items.push_back(task_json(t));
  json::object answer{
      {"total", view->total}, {"offset", view->offset}, {"tasks", std::move(items)}};
  co_return answer;
}

Response timeline_response(const model::WorkflowView& view) {
  // Written by hand rather than through json::value: 100,000 entries stay one pass.
  const auto& t = *view.timeline;
  std::string out;
  out.reserve(64 + t.task.size() * 40);
  out += "{\"t0_ms\":" + std::to_string(t.t0) + ",\"hosts\":";
  out += json::serialize(json::value_from(t.hosts));
  out += ",\"task\":";
  out += json::serialize(json::value_from(t.task));
  auto ints = [&](const char* name, const auto& list) {
    out += ",\"";
    out += name;
    out += "\":[";
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i) out += ',';
      out += std::to_string(list[i]);
    }
    out += ']';
  };
  ints("host", t.host);
  ints("start", t.start);
  ints("end", t.end);
  out += ",\"state\":[";
  for (std::size_t i = 0; i < t.state.size(); ++i) {
    if (i) out += ',';
    out += '"';
    out += model::to_string(t.state[i]);
    out += '"';
  }
  out += "]}";
  return http::text_response(std::move(out), http::kJsonType);
}

asio::awaitable<Response> timeline(EnvPtr env, const RequestView& v) {
  submit::ViewQuery q;
  q.tasks = false;
  q.timeline = true;
  q.limit = 0;
  auto view = co_await view_of(*env, v, std::move(q));
  if (!view.ok()) co_return http::json_error(view.status());
  if (!view->timeline) co_return http::json_error(Status::Internal("the owner sent no timeline"));
  co_return timeline_response(*view);
}

asio::awaitable<Response> log(EnvPtr env, const RequestView& v) {
  auto id = required(v, "id");
  auto task = required(v, "task");
  for (const auto* r : {&id, &task})
    if (!r->ok()) co_return http::json_error(r->status());
  auto stream = v.param("stream").empty() ? std::string("stdout") : v.param("stream");
  auto logic = env->submit_for(v);
  auto text = co_await logic->logs(*id, *task, stream);
  if (!text.ok()) co_return http::json_error(text.status());
  co_return http::text_response(std::move(*text), "text/plain; charset=utf-8");
}

asio::awaitable<Response> cancel(EnvPtr env, const RequestView& v) {
  auto body = http::json_body(v.body());
  if (!body.ok()) co_return http::json_error(body.status());
  auto id = http::string_field(*body, "id", true);
  if (!id.ok()) co_return http::json_error(id.status(), "id");
  auto logic = env->submit_for(v);
  auto s = co_await logic->cancel(*id);
  if (!s.ok()) co_return http::json_error(s);
  spdlog::info("workflow {} cancelled by {} from {}", *id, v.caller().describe(), v.remote);
  co_return http::no_content();
}

asio::awaitable<Response> retry(EnvPtr env, const RequestView& v) {
  auto body = http::json_body(v.body());
  if (!body.ok()) co_return http::json_error(body.status());
  auto id = http::string_field(*body, "id", true);
  if (!id.ok()) co_return http::json_error(id.status(), "id");
  auto logic = env->submit_for(v);
  auto out = co_await logic->retry(*id);
  if (!out.ok()) co_return http::json_error(out.status());
  spdlog::info("workflow {} retried by {} from {}: {} tasks", *id, v.caller().describe(), v.remote,
               out->tasks);
  json::object answer{{"id", out->id}, {"tasks", out->tasks}};
  co_return http::json_response(answer);
}

asio::awaitable<Response> submit_document(EnvPtr env, const RequestView& v) {
  auto body = http::json_body(v.body());
  if (!body.ok()) co_return http::json_error(body.status());
  auto format = http::string_field(*body, "format", false);
  if (!format.ok()) co_return http::json_error(format.status(), "format");
  auto document = http::string_field(*body, "document", true);
  if (!document.ok()) co_return http::json_error(document.status(), "document");
  Result<model::WorkflowDoc> doc = Status::Internal("unread");
  if (format->empty() || *format == "fvce")
    doc = http::parse_body<model::WorkflowDoc>(*document);
  else if (*format == "jsdl")
    doc = jsdl_to_workflow(*document);  // a JSDL 1.0 job, converted (services/userport/jsdl.h)
  else
    co_return http::json_error(
        Status::InvalidArgument("format '" + *format + "' is not fvce or jsdl"), "format");
  if (!doc.ok()) co_return http::json_error(doc.status(), "document");
  if (!v.caller().is_user())
    co_return http::json_error(
        Status(ErrorCode::unauthenticated, "a workflow is submitted by a signed-in user"));
  auto logic = env->submit_for(v);
  auto out = co_await logic->submit(std::move(*doc), v.caller().user);
  if (!out.ok()) co_return http::json_error(out.status(), "document");
  co_return http::json_response(
      json::object{{"id", out->id}, {"name", out->name}, {"tasks", out->tasks}},
      bhttp::status::created);
}

asio::awaitable<Result<json::value>> results(WebPort::Env& env, const RequestView& v) {
  auto id = required(v, "id");
  if (!id.ok()) co_return id.status();
  auto logic = env.submit_for(v);
  auto list = co_await logic->results(*id);
  if (!list.ok()) co_return list.status();
  json::array items;
  for (const auto& r : list->results) {
    std::string path = "results/" + *id + "/" + r.name;
    items.push_back(json::object{{"name", r.name},
                                 {"size", r.size},
                                 {"sha256", r.sha256},
                                 {"path", path},
                                 {"url", "/api/files/download?path=" + http::url_encode(path)}});
  }
  json::object answer{{"results", std::move(items)}};
  co_return answer;
}

// --- files --------------------------------------------------------------------------------

json::object entry_json(const std::string& name, const std::string& type, std::uint64_t size,
                        std::int64_t mtime) {
  return {{"name", name}, {"type", type}, {"size", size}, {"mtime_ms", mtime}};
}

asio::awaitable<Result<json::value>> list_files(WebPort::Env& env, const RequestView& v) {
  auto m = env.member(v.param("member"));
  if (!m.ok()) co_return m.status();
  const auto& who = v.caller();
  auto path = v.param("path");
  auto place = place_of(path, who);
  if (!place.ok()) co_return place.status();
  json::array entries;
  auto& files = env.files_of(*m);
  auto logic = env.submit_for(v);
  // The user's workflows owned by this member (for results) or any (for work directories).
  auto own = [&](bool on_member) -> asio::awaitable<Result<std::set<std::string>>> {
    submit::WorkflowQuery q;
    q.owner = who.is_admin() ? "" : who.user;
    q.limit = submit::kMaxPage;
    if (on_member) q.node = m->name;
    auto list = co_await logic->workflows(q);
    if (!list.ok()) co_return list.status();
    std::set<std::string> ids;
    for (const auto& w : list->workflows) ids.insert(w.id);
    co_return ids;
  };
  switch (place->kind) {
    case FilePlace::root:
      entries.push_back(entry_json("users", "dir", 0, 0));
      entries.push_back(entry_json("work", "dir", 0, 0));
      entries.push_back(entry_json("results", "dir", 0, 0));
      break;
    case FilePlace::users_dir: {
      auto list = co_await files.list("users");
      if (!list.ok() && list.status().code() != ErrorCode::not_found) co_return list.status();
      if (list.ok())
        for (const auto& e : list->entries) {
          auto name = last_segment(e.path);
          if (who.is_admin() || name == who.user)
            entries.push_back(entry_json(name, file_type_name(e.type), e.size, e.mtime));
        }
      break;
    }
    case FilePlace::work_dir: {
      auto list = co_await files.list("work");
      if (!list.ok() && list.status().code() != ErrorCode::not_found) co_return list.status();
      std::set<std::string> ids;
      if (!who.is_admin()) {
        auto mine = co_await own(false);
        if (!mine.ok()) co_return mine.status();
        ids = std::move(*mine);
      }
      if (list.ok())
        for (const auto& e : list->entries) {
          auto name = last_segment(e.path);
          if (who.is_admin() || ids.count(name))
            entries.push_back(entry_json(name, file_type_name(e.type), e.size, e.mtime));
        }
      break;
    }
    case FilePlace::results_dir: {
      if (place->workflow.empty()) {
        auto mine = co_await own(true);
        if (!mine.ok()) co_return mine.status();
        for (const auto& id : *mine) entries.push_back(entry_json(id, "dir", 0, 0));
        break;
      }
      auto list = co_await logic->results(place->workflow);
      if (!list.ok()) co_return list.status();
      for (const auto& r : list->results) entries.push_back(entry_json(r.name, "file", r.size, 0));
      break;
    }
    case FilePlace::work: {
      if (!place->workflow.empty()) {
        auto s = co_await env.may_use_workflow(who, place->workflow);
        if (!s.ok()) co_return s;
      }
      auto list = co_await files.list(place->path);
      if (!list.ok()) co_return list.status();
      for (const auto& e : list->entries)
        entries.push_back(
            entry_json(last_segment(e.path), file_type_name(e.type), e.size, e.mtime));
      break;
    }
    case FilePlace::result:
      co_return Status::InvalidArgument("'" + path + "' is a file, not a directory");
  }
  json::object answer{{"member", m->name}, {"path", path}, {"entries", std::move(entries)}};
  co_return answer;
}

asio::awaitable<Result<json::value>> file_lines(WebPort::Env& env, const RequestView& v) {
  auto first = number(v, "first", 1);
  if (!first.ok()) co_return first.status();
  auto count = number(v, "count", 200);
  if (!count.ok()) co_return count.status();
  if (*first < 1) co_return Status::InvalidArgument("first=0: lines count from 1");
  if (*count < 1 || *count > kMaxLinesPage)
    co_return Status::InvalidArgument("count=" + std::to_string(*count) + " is not between 1 and " +
                                      std::to_string(kMaxLinesPage));
  auto where = co_await env.readable(v);
  if (!where.ok()) co_return where.status();
  auto& files = env.files_of(where->first);
  auto path = where->second;
  auto text = co_await files.read_lines(path, *first, *first + *count - 1);
  if (!text.ok()) co_return text.status();
  json::array lines;
  std::size_t i = 0;
  while (i < text->size()) {
    auto nl = text->find('\n', i);
    if (nl == std::string::npos) nl = text->size();
    lines.push_back(json::string(text->substr(i, nl - i)));
    i = nl + 1;
  }
  json::object o{{"first", *first}, {"lines", std::move(lines)}};
  if (v.param("total") != "false") {
    auto total = co_await files.count_lines(path);
    if (!total.ok()) co_return total.status();
    o["total"] = *total;
  }
  co_return o;
}

asio::awaitable<Response> upload(EnvPtr env, const RequestView& v) {
  if (auto path = required(v, "path"); !path.ok())
    co_return http::json_error(path.status(), "path");
  auto m = env->member(v.param("member"));
  if (!m.ok()) co_return http::json_error(m.status());
  auto place = place_of(v.param("path"), v.caller());
  if (!place.ok()) co_return http::json_error(place.status(), "path");
  if (place->kind != FilePlace::work || !place->workflow.empty() ||
      place->path.rfind("users/", 0) != 0)
    co_return http::json_error(Status::Forbidden("files are uploaded into users/" +
                                                 v.caller().user + "/, the user's own area"),
                               "path");
  auto& files = env->files_of(*m);
  std::string content(v.body());
  auto s = co_await files.write(place->path, std::move(content));
  if (!s.ok()) co_return http::json_error(s);
  spdlog::info("{} uploaded {} ({} bytes) to {}", v.caller().describe(), place->path,
               v.body().size(), m->name);
  co_return http::no_content();
}

asio::awaitable<Response> remove(EnvPtr env, const RequestView& v) {
  if (auto path = required(v, "path"); !path.ok())
    co_return http::json_error(path.status(), "path");
  auto m = env->member(v.param("member"));
  if (!m.ok()) co_return http::json_error(m.status());
  auto place = place_of(v.param("path"), v.caller());
  if (!place.ok()) co_return http::json_error(place.status(), "path");
  if (place->kind != FilePlace::work)
    co_return http::json_error(Status::Forbidden("'" + v.param("path") + "' cannot be deleted"),
                               "path");
  if (!place->workflow.empty()) {
    auto s = co_await env->may_use_workflow(v.caller(), place->workflow);
    if (!s.ok()) co_return http::json_error(s);
  }
  auto& files = env->files_of(*m);
  auto path = place->path;
  auto s = co_await files.remove(path);
  if (!s.ok()) co_return http::json_error(s);
  spdlog::info("{} deleted {} on {}", v.caller().describe(), path, m->name);
  co_return http::no_content();
}

// --- SEG-Y --------------------------------------------------------------------------------

// A SEG-Y file of any member, copied into a temporary file here (removed when done) and
// drawn on the worker pool. At most kMaxSegy bytes: a section of the full Marmousi survey is
// a few MB.
constexpr std::uint64_t kMaxSegy = 512ull << 20;

struct TempFile {
  std::filesystem::path path;
  ~TempFile() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove(path, ec);
  }
};

asio::awaitable<Status> fetch_segy(WebPort::Env& env, const RequestView& v, TempFile& out) {
  auto where = co_await env.readable(v);
  if (!where.ok()) co_return where.status();
  auto& files = env.files_of(where->first);
  auto reader = co_await files.open_read(where->second, 0, file::kToEnd);
  if (!reader.ok()) co_return reader.status();
  if ((*reader)->size() > kMaxSegy)
    co_return Status::TooLarge(v.param("path") + " is " + std::to_string((*reader)->size()) +
                               " bytes; a SEG-Y file is drawn up to " +
                               std::to_string(kMaxSegy >> 20) + " MiB");
  auto dir = env.ctx.node.state_dir / "tmp";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  out.path = dir / ("segy-" + std::to_string(::getpid()) + "-" +
                    std::to_string(env.ctx.node.random.next()) + ".sgy");
  std::ofstream f(out.path, std::ios::binary);
  std::vector<char> chunk(1u << 20);
  for (;;) {
    auto n = co_await (*reader)->read(chunk.data(), chunk.size());
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    f.write(chunk.data(), static_cast<std::streamsize>(*n));
  }
  f.close();
  if (!f) co_return Status::IOError("writing a temporary copy of " + v.param("path") + " failed");
  co_return Status::Ok();
}

asio::awaitable<Response> segy_image(EnvPtr env, const RequestView& v) {
  SegyImageOptions o;
  if (auto p = v.param("palette"); !p.empty()) {
    auto palette = parse_segy_palette(p);
    if (!palette.ok()) co_return http::json_error(palette.status(), "palette");
    o.palette = *palette;
  }
  if (auto c = v.param("clip"); !c.empty()) {
    char* end = nullptr;
    o.clip = std::strtod(c.c_str(), &end);
    if (end == c.c_str() || *end != '\0')
      co_return http::json_error(Status::InvalidArgument("clip='" + c + "' is not a number"),
                                 "clip");
  }
  auto first = number(v, "first", 0);
  auto count = number(v, "count", 0);
  if (!first.ok()) co_return http::json_error(first.status(), "first");
  if (!count.ok()) co_return http::json_error(count.status(), "count");
  o.first_trace = static_cast<std::int64_t>(*first);
  o.trace_count = static_cast<std::int64_t>(*count);
  TempFile tmp;
  Status s = co_await fetch_segy(*env, v, tmp);
  if (!s.ok()) co_return http::json_error(s);
  auto png = co_await on_workers(env->ctx.node.workers, [&] { return segy_png(tmp.path, o); });
  if (!png.ok()) co_return http::json_error(Status(png.status().code(), png.status().message()));
  auto res = http::text_response(std::move(*png), "image/png");
  res.set(bhttp::field::cache_control, "private, max-age=60");
  co_return res;
}

asio::awaitable<Result<json::value>> segy_header(WebPort::Env& env, const RequestView& v) {
  TempFile tmp;
  Status s = co_await fetch_segy(env, v, tmp);
  if (!s.ok()) co_return s;
  auto summary = co_await on_workers(env.ctx.node.workers, [&] { return segy_summary(tmp.path); });
  if (!summary.ok()) co_return summary.status();
  co_return to_json(*summary);
}

}  // namespace

void WebPort::add_routes(http::Router& router) {
  auto env = env_;
  router.add(Verb::get, "/api/me", Access::user, json_handler(env, me));
  router.add(Verb::get, "/api/federation", Access::user, json_handler(env, federation));
  router.add(Verb::get, "/api/history", Access::user, json_handler(env, history));
  router.add(Verb::get, "/api/workflows", Access::user, json_handler(env, workflows));
  router.add(Verb::post, "/api/workflows", Access::user,
             [env](const RequestView& v) { return submit_document(env, v); });
  router.add(Verb::get, "/api/workflow", Access::user, json_handler(env, workflow));
  router.add(Verb::get, "/api/workflow/graph", Access::user, json_handler(env, graph));
  router.add(Verb::get, "/api/workflow/tasks", Access::user, json_handler(env, tasks));
  router.add(Verb::get, "/api/workflow/timeline", Access::user,
             [env](const RequestView& v) { return timeline(env, v); });
  router.add(Verb::get, "/api/workflow/log", Access::user,
             [env](const RequestView& v) { return log(env, v); });
  router.add(Verb::post, "/api/workflow/cancel", Access::user,
             [env](const RequestView& v) { return cancel(env, v); });
  router.add(Verb::post, "/api/workflow/retry", Access::user,
             [env](const RequestView& v) { return retry(env, v); });
  router.add(Verb::get, "/api/workflow/results", Access::user, json_handler(env, results));
  router.add(Verb::get, "/api/files", Access::user, json_handler(env, list_files));
  router.add(Verb::get, "/api/files/lines", Access::user, json_handler(env, file_lines));
  router.add(Verb::put, "/api/files/upload", Access::user,
             [env](const RequestView& v) { return upload(env, v); });
  router.add(Verb::delete_, "/api/files", Access::user,
             [env](const RequestView& v) { return remove(env, v); });
  router.add(Verb::get, "/api/files/segy", Access::user,
             [env](const RequestView& v) { return segy_image(env, v); });
  router.add(Verb::get, "/api/files/segy/header", Access::user, json_handler(env, segy_header));
  router.add_stream(Verb::get, "/api/files/download", Access::user,
                    [env](StreamExchange& ex) { return download(ex, env); });
  router.add_stream(Verb::get, "/api/events", Access::user,
                    [env](StreamExchange& ex) { return events(ex, env); });

  // The application: index.html at "/", its hashed assets under /assets/, and the few
  // files beside index.html.
  auto files = load_assets(assets_);
  auto serve = [files](std::string_view path) -> Response {
    if (files->empty() && path == "/index.html") return not_built();
    auto it = files->find(path);
    if (it == files->end()) return http::json_error(Status::NotFound("no such page or asset"));
    return asset_response(it->second);
  };
  auto index = [serve](const RequestView&) -> asio::awaitable<Response> {
    co_return serve("/index.html");
  };
  router.add(Verb::get, "/", Access::open, index);
  router.add(Verb::get, "/index.html", Access::open, index);
  router.add_prefix(
      Verb::get, "/assets/", Access::open,
      [serve](const RequestView& v) -> asio::awaitable<Response> { co_return serve(v.path); });
  for (const auto& [path, asset] : *files)
    if (path != "/index.html" && path.rfind("/assets/", 0) != 0)
      router.add(Verb::get, path, Access::open,
                 [serve, p = path](const RequestView&) -> asio::awaitable<Response> {
                   co_return serve(p);
                 });
}

}  // namespace fvce::userport
