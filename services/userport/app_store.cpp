#include "services/userport/app_store.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <pugixml.hpp>
#include <random>
#include <set>
#include <tuple>

#include "node/core/files.h"
#include "node/core/timer.h"
#include "node/core/workers.h"
#include "node/http/handlers.h"
#include "node/model/codec.h"
#include "node/xml/body_check.h"
#include "node/xml/schema.h"

namespace fvce::userport {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

std::string save(const pugi::xml_document& doc, bool raw) {
  struct Writer : pugi::xml_writer {
    std::string out;
    void write(const void* data, size_t size) override {
      out.append(static_cast<const char*>(data), size);
    }
  } w;
  doc.save(w, "  ", raw ? pugi::format_raw : pugi::format_default, pugi::encoding_utf8);
  return std::move(w.out);
}

constexpr unsigned kParseFlags = pugi::parse_default | pugi::parse_comments | pugi::parse_ws_pcdata;

void encode_record(pugi::xml_node parent, const AppRecord& r) {
  auto n = parent.append_child("app-record");
  n.append_attribute("name") = r.name.c_str();
  n.append_attribute("stamp") = static_cast<unsigned long long>(r.stamp);
  n.append_attribute("origin") = r.origin.c_str();
  if (!r.by.empty()) n.append_attribute("by") = r.by.c_str();
  if (r.removed) n.append_attribute("removed") = "true";
  if (!r.removed) {
    pugi::xml_document app;
    if (app.load_buffer(r.xml.data(), r.xml.size(), kParseFlags)) {
      auto copy = n.append_copy(app.document_element());
      copy.remove_attribute("xmlns");  // inherited from the record
    }
  }
}

Result<AppRecord> decode_record(const pugi::xml_node& n) {
  AppRecord r;
  r.name = n.attribute("name").value();
  r.stamp = n.attribute("stamp").as_ullong();
  r.origin = n.attribute("origin").value();
  r.by = n.attribute("by").value();
  std::string_view removed = n.attribute("removed").value();
  r.removed = removed == "true" || removed == "1";
  if (!r.removed) {
    auto app = n.child("application");
    if (!app) return Status::InvalidArgument("record '" + r.name + "' has no <application>");
    pugi::xml_document doc;
    auto decl = doc.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    auto copy = doc.append_copy(app);
    copy.prepend_attribute("xmlns") = model::kNamespace;
    r.xml = save(doc, true);
  }
  return r;
}

}  // namespace

bool AppRecord::newer_than(const AppRecord& o) const {
  // The same (stamp, origin) is the same publication, however its text was re-serialised.
  return std::tie(stamp, origin) > std::tie(o.stamp, o.origin);
}

std::string to_records_doc(const std::vector<AppRecord>& records, bool full) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  auto root = doc.append_child("app-records");
  root.append_attribute("xmlns") = model::kNamespace;
  if (full) root.append_attribute("full") = "true";
  for (const auto& r : records) encode_record(root, r);
  return save(doc, false);
}

Result<std::vector<AppRecord>> from_records_doc(std::string_view xml, bool* full,
                                                std::vector<std::string>* dropped) {
  pugi::xml_document doc;
  auto root = model::parse_document(doc, xml);
  if (!root.ok()) return root.status();
  if (std::string_view(root->name()) != "app-records")
    return Status::InvalidArgument(std::string("expected an <app-records> document, got <") +
                                   root->name() + ">");
  if (full) {
    std::string_view f = root->attribute("full").value();
    *full = f == "true" || f == "1";
  }
  std::vector<AppRecord> out;
  for (auto n : root->children("app-record")) {
    auto r = decode_record(n);
    if (!r.ok()) {
      if (dropped) dropped->push_back(r.status().message());
      continue;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

namespace {
asio::awaitable<Result<std::string>> post_sync(http::Client* client, std::string address,
                                               std::string body) {
  http::RequestOptions options;
  options.timeout = std::chrono::milliseconds(5000);
  auto res = co_await client->request(std::move(address), http::Verb::post, "/apps/sync",
                                      std::move(body), options);
  if (!res.ok()) co_return res.status();
  if (res->result_int() / 100 != 2)
    co_return http::status_from_error_body(res->result_int(), res->body());
  co_return std::move(res->body());
}
}  // namespace

AppStore::SyncCall sync_over_http(http::Client& client) {
  return [c = &client](const model::Member& m, std::string body) {
    return post_sync(c, m.address, std::move(body));
  };
}

std::vector<fs::path> bundled_app_dirs() {
  std::vector<fs::path> out;
  auto dir = program_dir();
  if (dir.empty()) return out;
  for (const auto& p : {fs::path(dir) / ".." / "share" / "fvce" / "apps",
                        fs::path(dir) / "share" / "fvce" / "apps"}) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) out.push_back(fs::weakly_canonical(p, ec));
  }
  return out;
}

AppStore::AppStore(NodeContext& ctx, Options options, LiveMembers live_members, SyncCall sync)
    : ctx_(ctx),
      options_(std::move(options)),
      live_members_(std::move(live_members)),
      sync_(std::move(sync)) {}

Result<std::shared_ptr<AppStore>> AppStore::Create(NodeContext& ctx, Options options,
                                                   LiveMembers live_members, SyncCall sync) {
  std::error_code ec;
  fs::create_directories(options.state_dir, ec);
  if (ec)
    return Status::IOError("cannot make the applications directory " + options.state_dir.string() +
                           ": " + ec.message());
  std::shared_ptr<AppStore> store(
      new AppStore(ctx, std::move(options), std::move(live_members), std::move(sync)));
  store->load();
  return store;
}

void AppStore::load() {
  for (const auto& dir : options_.bundled_dirs) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".xml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto text = read_file(f);
      if (!text.ok()) {
        spdlog::warn("application {}: {}", f.string(), text.status().message());
        continue;
      }
      pugi::xml_document probe;
      if (probe.load_buffer(text->data(), text->size()) &&
          std::string_view(probe.document_element().name()) != "application")
        continue;  // a template file beside the descriptions
      ParseOptions po;
      po.template_dir = dir;
      auto app = parse_app(*text, po);
      if (!app.ok()) {
        spdlog::warn("application {} is not offered: {}", f.string(), app.status().message());
        continue;
      }
      bundled_.emplace(app->name, std::move(*app));
    }
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(options_.state_dir, ec)) {
    if (e.path().extension() != ".xml") continue;
    auto text = read_file(e.path());
    if (!text.ok()) continue;
    std::vector<std::string> dropped;
    std::vector<AppRecord> recs;
    if (auto valid = xml::SchemaSet::instance().validate(*text); valid.ok()) {
      std::string doc = "<app-records xmlns=\"urn:fvce:1\">" +
                        text->substr(text->find("<app-record")) + "</app-records>";
      auto r = from_records_doc(doc, nullptr, &dropped);
      if (r.ok()) recs = std::move(*r);
    } else {
      dropped.push_back(valid.message());
    }
    for (const auto& d : dropped) spdlog::warn("application record {}: {}", e.path().string(), d);
    for (auto& r : recs) {
      if (!r.removed) {
        auto app = parse_app(r.xml);
        if (!app.ok()) {
          spdlog::warn("application record {}: {}", e.path().string(), app.status().message());
          continue;
        }
        published_[r.name] = std::move(*app);
      }
      records_[r.name] = std::move(r);
    }
  }
  spdlog::info("applications: {} bundled, {} published", bundled_.size(), published_.size());
}

std::vector<App> AppStore::list() const {
  std::lock_guard lock(mu_);
  std::map<std::string, const App*> by_name;
  for (const auto& [name, app] : bundled_) by_name[name] = &app;
  for (const auto& [name, r] : records_) {
    if (r.removed) {
      by_name.erase(name);
    } else if (auto it = published_.find(name); it != published_.end()) {
      by_name[name] = &it->second;
    }
  }
  std::vector<App> out;
  for (const auto& [name, app] : by_name) out.push_back(*app);
  return out;
}

std::optional<App> AppStore::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  std::string key(name);
  if (auto r = records_.find(key); r != records_.end()) {
    if (r->second.removed) return std::nullopt;
    if (auto it = published_.find(key); it != published_.end()) return it->second;
  }
  if (auto it = bundled_.find(key); it != bundled_.end()) return it->second;
  return std::nullopt;
}

std::vector<AppRecord> AppStore::records() const {
  std::lock_guard lock(mu_);
  std::vector<AppRecord> out;
  for (const auto& [name, r] : records_) out.push_back(r);
  return out;
}

void AppStore::on_change(std::function<void()> callback) {
  std::lock_guard lock(mu_);
  callbacks_.push_back(std::move(callback));
}

void AppStore::changed() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    callbacks = callbacks_;
  }
  for (const auto& c : callbacks) c();
}

void AppStore::persist(const std::vector<std::string>& names) {
  std::lock_guard writing(persist_mu_);
  for (const auto& name : names) {
    std::optional<AppRecord> r;
    {
      std::lock_guard lock(mu_);
      if (auto it = records_.find(name); it != records_.end()) r = it->second;
    }
    if (!r) continue;
    pugi::xml_document doc;
    auto decl = doc.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    encode_record(doc, *r);
    doc.document_element().prepend_attribute("xmlns") = model::kNamespace;
    auto s = write_file_atomic(options_.state_dir / (name + ".xml"), save(doc, false));
    if (!s.ok()) spdlog::error("application '{}': {}", name, s.message());
  }
}

std::vector<AppRecord> AppStore::merge(const std::vector<AppRecord>& theirs, bool full) {
  // Parse outside the lock: a description costs a schema check and a template check.
  std::map<std::string, App> parsed;
  for (const auto& r : theirs) {
    if (r.removed) continue;
    auto app = parse_app(r.xml);
    if (!app.ok() || app->name != r.name) {
      spdlog::warn("application '{}' from {} dropped: {}", r.name, r.origin,
                   app.ok() ? "its description names another" : app.status().message());
      continue;
    }
    parsed.emplace(r.name, std::move(*app));
  }
  std::vector<AppRecord> answer;
  std::vector<std::string> changed_names;
  {
    std::lock_guard lock(mu_);
    std::set<std::string> sent;
    for (const auto& r : theirs) {
      sent.insert(r.name);
      if (!r.removed && !parsed.count(r.name)) continue;
      auto it = records_.find(r.name);
      if (it == records_.end() || r.newer_than(it->second)) {
        if (it == records_.end() && records_.size() >= options_.max_apps) {
          spdlog::warn("application '{}' from {} dropped: this node holds {} already", r.name,
                       r.origin, options_.max_apps);
          continue;
        }
        records_[r.name] = r;
        if (r.removed)
          published_.erase(r.name);
        else
          published_[r.name] = parsed.at(r.name);
        changed_names.push_back(r.name);
      } else if (it->second.newer_than(r)) {
        answer.push_back(it->second);
      }
    }
    if (full)
      for (const auto& [name, r] : records_)
        if (!sent.count(name)) answer.push_back(r);
  }
  if (!changed_names.empty()) {
    persist(changed_names);
    for (const auto& n : changed_names) spdlog::info("application '{}' learned from a member", n);
    changed();
  }
  return answer;
}

asio::awaitable<Result<App>> AppStore::publish(std::string xml, std::string by) {
  auto self = shared_from_this();
  auto app = co_await on_workers(ctx_.workers, [&] { return parse_app(xml); });
  if (!app.ok()) co_return app.status();
  AppRecord r;
  r.name = app->name;
  r.origin = ctx_.self.name;
  r.by = by;
  r.xml = xml;
  {
    std::lock_guard lock(mu_);
    auto it = records_.find(r.name);
    if (it == records_.end() && records_.size() >= options_.max_apps)
      co_return Status::TooLarge("this federation holds " + std::to_string(options_.max_apps) +
                                 " published applications already: withdraw one first");
    auto now = static_cast<std::uint64_t>(std::max<std::int64_t>(ctx_.clock.unix_ms(), 1));
    r.stamp = it == records_.end() ? now : std::max(now, it->second.stamp + 1);
    records_[r.name] = r;
    published_[r.name] = *app;
  }
  co_await on_workers(ctx_.workers, [&] {
    persist({r.name});
    return 0;
  });
  spdlog::info("application '{}' (version {}) published by {}", r.name, app->version, by);
  changed();
  asio::co_spawn(ctx_.ioc, push({r}), asio::detached);
  co_return std::move(*app);
}

asio::awaitable<Status> AppStore::withdraw(std::string name, std::string by) {
  auto self = shared_from_this();
  if (!find(name)) co_return Status::NotFound("no application is called '" + name + "'");
  AppRecord r;
  r.name = name;
  r.origin = ctx_.self.name;
  r.by = by;
  r.removed = true;
  {
    std::lock_guard lock(mu_);
    auto it = records_.find(name);
    auto now = static_cast<std::uint64_t>(std::max<std::int64_t>(ctx_.clock.unix_ms(), 1));
    r.stamp = it == records_.end() ? now : std::max(now, it->second.stamp + 1);
    records_[name] = r;
    published_.erase(name);
  }
  co_await on_workers(ctx_.workers, [&] {
    persist({name});
    return 0;
  });
  spdlog::info("application '{}' withdrawn by {}", name, by);
  changed();
  asio::co_spawn(ctx_.ioc, push({r}), asio::detached);
  co_return Status::Ok();
}

void AppStore::add_peer_routes(http::Router& router) {
  auto self = shared_from_this();
  router.add(http::Verb::post, "/apps/sync", auth::Access::peer,
             [self](const http::RequestView& v) -> asio::awaitable<http::Response> {
               if (auto s = xml::check_body(v.body()); !s.ok()) co_return http::error_response(s);
               bool full = false;
               auto theirs = from_records_doc(v.body(), &full);
               if (!theirs.ok()) co_return http::error_response(theirs.status());
               auto answer = co_await on_workers(self->ctx_.workers,
                                                 [&] { return self->merge(*theirs, full); });
               co_return http::xml_response(to_records_doc(answer, false));
             });
}

void AppStore::start() {
  asio::co_spawn(ctx_.ioc, exchange_loop(), asio::detached);
}

void AppStore::stop() {
  stopped_ = true;
}

asio::awaitable<void> AppStore::exchange(const model::Member& peer, std::vector<AppRecord> mine,
                                         bool full) {
  auto self = shared_from_this();
  auto answer = co_await sync_(peer, to_records_doc(mine, full));
  if (!answer.ok()) {
    spdlog::debug("exchanging applications with {}: {}", peer.name, answer.status().message());
    co_return;
  }
  if (auto s = xml::check_body(*answer); !s.ok()) {
    spdlog::debug("applications from {}: {}", peer.name, s.message());
    co_return;
  }
  auto theirs = from_records_doc(*answer);
  if (!theirs.ok() || theirs->empty()) co_return;
  auto records = std::move(*theirs);
  co_await on_workers(ctx_.workers, [&] { return merge(records, false).size(); });
}

asio::awaitable<void> AppStore::push(std::vector<AppRecord> delta) {
  auto self = shared_from_this();
  for (const auto& m : live_members_()) {
    if (m.id == ctx_.self.id || stopped_) continue;
    co_await exchange(m, delta, false);
  }
}

asio::awaitable<void> AppStore::exchange_loop() {
  auto self = shared_from_this();
  auto rng = ctx_.random.fork();
  // The first exchange soon after start: a node that joins learns the applications at once.
  auto wait = std::chrono::milliseconds(300);
  while (!stopped_) {
    co_await sleep_for(ctx_.clock, wait);
    if (stopped_) break;
    auto interval = std::max<std::int64_t>(options_.sync_interval.count(), 2);
    wait = std::chrono::milliseconds(
        std::uniform_int_distribution<std::int64_t>(interval / 2, interval * 3 / 2)(rng));
    std::vector<model::Member> others;
    for (auto& m : live_members_())
      if (m.id != ctx_.self.id) others.push_back(std::move(m));
    if (others.empty()) {
      wait = std::chrono::milliseconds(std::min<std::int64_t>(interval, 1000));
      continue;
    }
    auto peer = others[std::uniform_int_distribution<std::size_t>(0, others.size() - 1)(rng)];
    co_await exchange(peer, records(), true);
  }
}

}  // namespace fvce::userport
