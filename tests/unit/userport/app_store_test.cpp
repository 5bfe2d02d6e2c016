// The application store: publish and withdraw reach every member (push and periodic
// exchange), the newest record wins, records survive a restart, bundled ones are offered.
#include "services/userport/app_store.h"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <random>
#include <set>

#include "tests/unit/test_node.h"

namespace fvce::userport {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

std::string app_xml(const std::string& name, const std::string& title) {
  return "<application xmlns=\"urn:fvce:1\" name=\"" + name + "\" kind=\"program\"><title>" +
         title + "</title><program cmd=\"true\"/></application>";
}

struct Dir {
  fs::path path =
      fs::temp_directory_path() / ("fvce-apps-test-" + std::to_string(std::random_device{}()));
  Dir() { fs::create_directories(path); }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A federation of in-process stores: a member's sync call reaches the other store directly.
struct Federation {
  explicit Federation(int n, std::vector<fs::path> bundled = {}) {
    for (int i = 0; i < n; ++i) {
      nodes.push_back(std::make_unique<test::TestNode>(ioc, "127.0.0.1:" + std::to_string(i + 1)));
      nodes.back()->ctx.self.name = "n" + std::to_string(i + 1);
      nodes.back()->ctx.self.id = "id-n" + std::to_string(i + 1);  // (one seed: one uuid)
      members.push_back({nodes.back()->ctx.self.id,
                         nodes.back()->ctx.self.name,
                         nodes.back()->ctx.self.address,
                         1,
                         model::MemberState::alive,
                         0,
                         {}});
    }
    for (int i = 0; i < n; ++i) make(i, bundled);
  }

  void make(int i, std::vector<fs::path> bundled = {}) {
    AppStore::Options o;
    o.state_dir = dir.path / ("n" + std::to_string(i + 1));
    o.bundled_dirs = std::move(bundled);
    o.sync_interval = std::chrono::milliseconds(20);
    auto sync = [this](const model::Member& m, std::string body) {
      return deliver(this, m.id, std::move(body));
    };
    auto live = [this] {
      std::vector<model::Member> out;
      for (std::size_t k = 0; k < members.size(); ++k)
        if (!down.count(k)) out.push_back(members[k]);
      return out;
    };
    auto s = AppStore::Create(nodes[i]->ctx, o, live, sync);
    REQUIRE(s.ok());
    if (stores.size() <= static_cast<std::size_t>(i)) stores.resize(i + 1);
    stores[i] = *s;
  }

  static asio::awaitable<Result<std::string>> deliver(Federation* f, std::string id,
                                                      std::string body) {
    for (std::size_t k = 0; k < f->members.size(); ++k) {
      if (f->members[k].id != id) continue;
      if (f->down.count(k)) co_return Status::Unavailable("down");
      bool full = false;
      auto records = from_records_doc(body, &full);
      if (!records.ok()) co_return records.status();
      co_return to_records_doc(f->stores[k]->merge(*records, full), false);
    }
    co_return Status::NotFound("no such member");
  }

  template <typename T>
  T run(asio::awaitable<T> work) {
    std::optional<T> out;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { out = co_await std::move(work); }, asio::detached);
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(500));
    REQUIRE(out.has_value());
    return std::move(*out);
  }

  std::vector<std::string> names(int i) {
    std::vector<std::string> out;
    for (const auto& a : stores[i]->list()) out.push_back(a.name + ":" + a.title);
    return out;
  }

  Dir dir;
  asio::io_context ioc;
  std::vector<std::unique_ptr<test::TestNode>> nodes;
  std::vector<model::Member> members;
  std::vector<std::shared_ptr<AppStore>> stores;
  std::set<std::size_t> down;
};

TEST_CASE("a publication reaches every member, and so does a withdrawal") {
  Federation f(3);
  int changes = 0;
  f.stores[2]->on_change([&] { ++changes; });
  auto app = f.run(f.stores[0]->publish(app_xml("grep", "Search"), "admin"));
  REQUIRE_MESSAGE(app.ok(), app.status().message());
  for (int i = 0; i < 3; ++i) CHECK(f.names(i) == std::vector<std::string>{"grep:Search"});
  CHECK(changes == 1);
  // A new version replaces it everywhere.
  REQUIRE(f.run(f.stores[1]->publish(app_xml("grep", "Search v2"), "admin")).ok());
  for (int i = 0; i < 3; ++i) CHECK(f.names(i) == std::vector<std::string>{"grep:Search v2"});

  REQUIRE(f.run(f.stores[1]->withdraw("grep", "admin")).ok());
  for (int i = 0; i < 3; ++i) CHECK(f.names(i).empty());
  CHECK(f.run(f.stores[1]->withdraw("grep", "admin")).code() == ErrorCode::not_found);
  CHECK(changes == 3);
}

TEST_CASE("a bad description is refused and nothing is published") {
  Federation f(2);
  auto app = f.run(f.stores[0]->publish("<application xmlns=\"urn:fvce:1\" name=\"x\"/>", "admin"));
  REQUIRE_FALSE(app.ok());
  CHECK(app.status().message().rfind("1:", 0) == 0);
  CHECK(f.stores[0]->records().empty());
  CHECK(f.stores[1]->records().empty());
}

TEST_CASE("a member that missed the push converges through the periodic exchange") {
  Federation f(3);
  f.down.insert(2);
  REQUIRE(f.run(f.stores[0]->publish(app_xml("a", "A"), "admin")).ok());
  CHECK(f.names(1) == std::vector<std::string>{"a:A"});
  CHECK(f.names(2).empty());
  f.down.clear();
  for (auto& s : f.stores) s->start();
  f.ioc.restart();
  f.ioc.run_for(std::chrono::milliseconds(1500));
  for (auto& s : f.stores) s->stop();
  CHECK(f.names(2) == std::vector<std::string>{"a:A"});
}

TEST_CASE("the newest record of a name wins, whatever order records arrive in") {
  Federation f(1);
  AppRecord old_r{"a", 100, "n2", "admin", false, app_xml("a", "Old")};
  AppRecord new_r{"a", 200, "n1", "admin", false, app_xml("a", "New")};
  AppRecord gone{"a", 150, "n3", "admin", true, ""};
  auto answer = f.stores[0]->merge({new_r}, false);
  CHECK(answer.empty());
  answer = f.stores[0]->merge({old_r}, false);  // older: ours is sent back
  REQUIRE(answer.size() == 1);
  CHECK(answer[0].stamp == 200);
  f.stores[0]->merge({gone}, false);
  CHECK(f.names(0) == std::vector<std::string>{"a:New"});
  // A record whose description does not parse is dropped.
  AppRecord bad{"b", 300, "n1", "admin", false, "<application/>"};
  f.stores[0]->merge({bad}, false);
  CHECK(f.names(0) == std::vector<std::string>{"a:New"});
  // A full exchange is answered with what the sender lacks.
  answer = f.stores[0]->merge({}, true);
  CHECK(answer.size() == 1);
}

TEST_CASE("published records survive a restart, and withdrawing hides a bundled one") {
  Dir bundled;
  REQUIRE(write_file_atomic(bundled.path / "hello.xml", app_xml("hello", "Hello")).ok());
  Federation f(2, {bundled.path});
  CHECK(f.names(0) == std::vector<std::string>{"hello:Hello"});
  REQUIRE(f.run(f.stores[0]->publish(app_xml("zed", "Zed"), "admin")).ok());
  REQUIRE(f.run(f.stores[0]->withdraw("hello", "admin")).ok());
  CHECK(f.names(1) == std::vector<std::string>{"zed:Zed"});
  CHECK(fs::exists(f.dir.path / "n1" / "zed.xml"));
  f.make(1, {bundled.path});  // n2 again, from its state directory
  CHECK(f.names(1) == std::vector<std::string>{"zed:Zed"});
  CHECK(f.stores[1]->find("zed")->title == "Zed");
  CHECK_FALSE(f.stores[1]->find("hello"));
}

TEST_CASE("records round-trip through the replication document") {
  std::vector<AppRecord> in{{"a", 5, "n1", "ann", false, app_xml("a", "A & B")},
                            {"b", 6, "n2", "", true, ""}};
  auto text = to_records_doc(in, true);
  bool full = false;
  auto out = from_records_doc(text, &full);
  REQUIRE(out.ok());
  CHECK(full);
  REQUIRE(out->size() == 2);
  CHECK((*out)[0].stamp == 5);
  CHECK((*out)[0].by == "ann");
  CHECK(parse_app((*out)[0].xml)->title == "A & B");
  CHECK((*out)[1].removed);
}

}  // namespace
}  // namespace fvce::userport
