// deploy.xml: what is accepted, and how what is not is reported (FILE:LINE:COL: reason).
#include "node/deploy/deploy.h"

#include <doctest/doctest.h>

#include <fstream>

#include "node/deploy/registry.h"
#include "node/node_context.h"
#include "services/register/register_impls.h"
#include "tests/unit/test_node.h"

namespace fvce::deploy {
namespace {

const char* kGood = R"(<?xml version="1.0"?>
<deploy xmlns="urn:fvce:1" federation="lab">
  <node name="n1" listen="127.0.0.1:7701" state-dir="/tmp/x" threads="3" seed="42"/>
  <http max-body="1MiB" read-timeout="2s"/>
  <service name="register" impl="introducer">
    <param name="probe-interval" value="250ms"/>
  </service>
  <service name="info" impl="declared">
    <param name="cores" value="8"/>
  </service>
</deploy>
)";

TEST_CASE("a good deploy file is read with locations") {
  auto cfg = parse_deploy(kGood, "good.xml");
  REQUIRE_MESSAGE(cfg.ok(), cfg.status().message());
  CHECK(cfg->federation == "lab");
  CHECK(cfg->node.name == "n1");
  CHECK(cfg->node.listen == "127.0.0.1:7701");
  CHECK(cfg->node.threads == 3);
  CHECK(cfg->node.seed == 42u);
  CHECK(cfg->server.max_body == 1u << 20);
  CHECK(cfg->server.read_timeout == std::chrono::seconds(2));
  REQUIRE(cfg->find("register") != nullptr);
  const auto& reg = *cfg->find("register");
  CHECK(reg.impl == "introducer");
  CHECK(reg.where.str() == "good.xml:5:3");
  REQUIRE(reg.params.size() == 1);
  CHECK(reg.params[0].where.line == 6);
  CHECK(cfg->find("submit") == nullptr);
}

TEST_CASE("join names one member or several, tried in order") {
  auto with_join = [](const std::string& join) {
    return parse_deploy("<deploy xmlns=\"urn:fvce:1\" federation=\"lab\">\n  <node join=\"" + join +
                            "\"/>\n  <service name=\"register\" impl=\"introducer\"/>\n</deploy>\n",
                        "join.xml");
  };
  auto one = with_join("a.lab:7700");
  REQUIRE_MESSAGE(one.ok(), one.status().message());
  CHECK(one->node.join == std::vector<std::string>{"a.lab:7700"});
  auto several = with_join("a.lab:7700, 10.0.0.2:7701,[::1]:7702");
  REQUIRE_MESSAGE(several.ok(), several.status().message());
  CHECK(several->node.join ==
        std::vector<std::string>{"a.lab:7700", "10.0.0.2:7701", "[::1]:7702"});
  CHECK(parse_deploy(kGood, "good.xml")->node.join.empty());
  for (const char* bad : {"a.lab", "a.lab:7700,", ",a.lab:7700", "a.lab:7700;b.lab:7701"}) {
    auto cfg = with_join(bad);
    CHECK_MESSAGE(!cfg.ok(), bad);
    if (!cfg.ok()) CHECK(cfg.status().message().find("join.xml:2:") != std::string::npos);
  }
}

TEST_CASE("the shipped deploy files are valid") {
  for (const char* f : {"deploy.xml", "declared-small.xml", "declared-large.xml"}) {
    std::string path = std::string(FVCE_SOURCE_DIR) + "/deploy/" + f;
    if (!std::ifstream(path)) continue;  // examples may come and go; deploy.xml must exist
    auto cfg = load_deploy(path);
    CHECK_MESSAGE(cfg.ok(), cfg.status().message());
  }
  CHECK(load_deploy(std::string(FVCE_SOURCE_DIR) + "/deploy/deploy.xml").ok());
}

TEST_CASE("schema errors name the file, line and column") {
  auto cfg = parse_deploy(
      "<deploy xmlns=\"urn:fvce:1\" federation=\"lab\">\n  <service name=\"nosuch\" "
      "impl=\"x\"/>\n</deploy>",
      "bad.xml");
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.status().message().rfind("bad.xml:2:", 0) == 0);
  CHECK(cfg.status().message().find("nosuch") != std::string::npos);
}

TEST_CASE("malformed XML is reported with its position") {
  auto cfg = parse_deploy("<deploy xmlns=\"urn:fvce:1\" federation=\"lab\">\n<service", "m.xml");
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.status().message().rfind("m.xml:", 0) == 0);
}

TEST_CASE("a service listed twice is refused") {
  auto cfg = parse_deploy(
      "<deploy xmlns=\"urn:fvce:1\" federation=\"lab\">\n"
      "<service name=\"info\" impl=\"statgrab\"/>\n<service name=\"info\" impl=\"declared\"/>\n"
      "</deploy>",
      "twice.xml");
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.status().message().rfind("twice.xml:3:", 0) == 0);
}

TEST_CASE("a parameter given twice is refused with both lines") {
  auto cfg = parse_deploy(
      "<deploy xmlns=\"urn:fvce:1\" federation=\"lab\">\n<service name=\"register\" "
      "impl=\"introducer\">\n<param name=\"tombstone\" value=\"1s\"/>\n<param name=\"tombstone\" "
      "value=\"2s\"/>\n</service>\n</deploy>",
      "dup.xml");
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.status().message().rfind("dup.xml:4:", 0) == 0);
  CHECK(cfg.status().message().find("line 3") != std::string::npos);
}

TEST_CASE("a bad size in <http> is refused") {
  auto cfg = parse_deploy(
      "<deploy xmlns=\"urn:fvce:1\" federation=\"lab\">\n<http max-body=\"lots\"/>\n"
      "<service name=\"info\" impl=\"statgrab\"/></deploy>",
      "h.xml");
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.status().message().rfind("h.xml:2:", 0) == 0);
  CHECK(cfg.status().message().find("max-body") != std::string::npos);
}

TEST_CASE("a missing deploy file is not-found") {
  auto cfg = load_deploy("/nonexistent/deploy.xml");
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.status().code() == ErrorCode::not_found);
}

// --- the registry, through the register service's real table ---

struct Fixture {
  boost::asio::io_context ioc;
  ManualClock clock;
  fvce::test::TestNode node{ioc, "127.0.0.1:1", clock};
  reg::RegisterContext ctx{node.ctx, nullptr};
  reg::RegisterRegistry registry{"register"};
  Fixture() { reg::register_register_impls(registry); }

  ServiceConfig config(std::string impl, std::vector<Param> params) {
    return ServiceConfig{"register", std::move(impl), std::move(params), Location{"d.xml", 9, 3}};
  }
};

TEST_CASE("an unknown impl names the location and the known choices") {
  Fixture f;
  auto r = f.registry.build(f.config("gossip", {}), f.ctx);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "d.xml:9:3: unknown impl 'gossip' for service 'register' (known: introducer)");
}

TEST_CASE("an unknown parameter names its location and the known parameters") {
  Fixture f;
  auto r = f.registry.build(
      f.config("introducer", {{"probe-intervall", "1s", Location{"d.xml", 10, 5}}}), f.ctx);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind("d.xml:10:5: unknown parameter 'probe-intervall'", 0) == 0);
  CHECK(r.status().message().find("probe-interval,") != std::string::npos);
}

TEST_CASE("a mistyped parameter value names its location and the problem") {
  Fixture f;
  auto r = f.registry.build(
      f.config("introducer", {{"probe-interval", "fast", Location{"d.xml", 11, 5}}}), f.ctx);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind("d.xml:11:5: parameter 'probe-interval'", 0) == 0);
  CHECK(r.status().message().find("'fast' is not a duration") != std::string::npos);

  auto range = f.registry.build(
      f.config("introducer", {{"probes-per-round", "0", Location{"d.xml", 12, 5}}}), f.ctx);
  REQUIRE_FALSE(range.ok());
  CHECK(range.status().message().find("outside 1..64") != std::string::npos);

  auto order = f.registry.build(
      f.config("introducer", {{"suspect-after", "5", {}}, {"remove-after", "2", {"d.xml", 13, 5}}}),
      f.ctx);
  REQUIRE_FALSE(order.ok());
  CHECK(order.status().message().find("remove-after must be at least suspect-after") !=
        std::string::npos);
}

TEST_CASE("the registry lists its impls") {
  Fixture f;
  CHECK(f.registry.names() == std::vector<std::string>{"introducer"});
  REQUIRE(f.registry.params_of("introducer") != nullptr);
  CHECK(f.registry.params_of("nosuch") == nullptr);
}

}  // namespace
}  // namespace fvce::deploy
