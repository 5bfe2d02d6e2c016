// The info registry: deploy.xml parameters → impls, and the errors a user sees.
#include "services/info/register_impls.h"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "node/deploy/registry.h"
#include "node/http/client.h"
#include "node/http/metrics.h"
#include "node/node_context.h"
#include "services/info/impl/sampled_info.h"
#include "tests/unit/test_node.h"

namespace fvce::info {
namespace {

using deploy::Location;
using deploy::Param;
using deploy::ServiceConfig;

// A node context with real machinery but nothing running, and the info registry.
struct Fixture {
  boost::asio::io_context ioc;
  fvce::test::TestNode node{ioc};
  NodeContext& ctx = [&]() -> NodeContext& {
    auto& c = node.ctx;
    c.seed = 1;
    c.state_dir = std::filesystem::temp_directory_path() / "fvce-info-test";
    c.deploy_file = "deploy.xml";
    c.version = "9.8.7";
    return c;
  }();
  deploy::Registry<LocalInfo, NodeContext> registry{"info"};

  Fixture() { register_info_impls(registry); }

  Result<std::shared_ptr<LocalInfo>> build(const std::string& impl, std::vector<Param> params) {
    ServiceConfig config{"info", impl, std::move(params), Location{"deploy.xml", 7, 3}};
    return registry.build(config, ctx);
  }
};

Param at(std::string name, std::string value, int line) {
  return Param{std::move(name), std::move(value), Location{"deploy.xml", line, 5}};
}

std::vector<Param> declared_params() {
  return {at("cores", "6", 8), at("speed", "250.5", 9), at("memory", "8GiB", 10)};
}

// The error message of a build that must fail.
std::string failure(const Result<std::shared_ptr<LocalInfo>>& r) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  return r.status().message();
}

}  // namespace

TEST_CASE("register_info_impls offers statgrab and declared, each with documented params") {
  Fixture f;
  CHECK(f.registry.names() == std::vector<std::string>{"declared", "statgrab"});
  for (const auto& impl : f.registry.names()) {
    const auto* specs = f.registry.params_of(impl);
    REQUIRE(specs != nullptr);
    for (const auto& spec : *specs) {
      INFO(impl << " " << spec.name);
      CHECK_FALSE(spec.help.empty());
    }
  }
}

TEST_CASE("declared reports exactly the declared capacity") {
  Fixture f;
  auto params = declared_params();
  params.push_back(at("cpu-model", "Test CPU", 11));
  params.push_back(at("cpu-mhz", "1234", 12));
  params.push_back(at("disk", "100GiB", 13));
  params.push_back(at("slots", "3", 14));
  auto built = f.build("declared", params);
  REQUIRE_MESSAGE(built.ok(), built.status().message());
  model::HostStatic s = (*built)->static_now();
  CHECK(s.cores == 6);
  CHECK(s.speed == doctest::Approx(250.5));
  CHECK(s.memory == 8ull << 30);
  CHECK(s.cpu_model == "Test CPU");
  CHECK(s.cpu_mhz == doctest::Approx(1234));
  CHECK(s.disk == 100ull << 30);
  CHECK(s.slots == 3);
  CHECK(s.info_impl == "declared");
  CHECK(s.version == "9.8.7");
  CHECK_FALSE(s.os.empty());
  CHECK_FALSE(s.arch.empty());
  CHECK(s.started > 0);
}

TEST_CASE("declared defaults: cpu-model, cpu-mhz, disk from the state directory, slots") {
  Fixture f;
  auto built = f.build("declared", declared_params());
  REQUIRE_MESSAGE(built.ok(), built.status().message());
  model::HostStatic s = (*built)->static_now();
  CHECK(s.cpu_model == "declared");
  CHECK(s.cpu_mhz == 0);
  CHECK(s.disk > 0);  // the (missing) state dir's nearest existing ancestor is asked
  CHECK(s.slots == 0);
  auto sampled = std::dynamic_pointer_cast<SampledInfo>(*built);
  REQUIRE(sampled);
  CHECK(sampled->history_capacity() == 17280);  // 24h / 5s
}

TEST_CASE("a missing required parameter names the service element and the parameter") {
  Fixture f;
  auto message = failure(f.build("declared", {at("cores", "2", 8), at("speed", "100", 9)}));
  CHECK(message.find("deploy.xml:7:3") != std::string::npos);
  CHECK(message.find("'memory'") != std::string::npos);
}

TEST_CASE("an unknown parameter is refused with its location and the known ones") {
  Fixture f;
  auto params = declared_params();
  params.push_back(at("colour", "blue", 12));
  auto message = failure(f.build("declared", params));
  CHECK(message.find("deploy.xml:12:5") != std::string::npos);
  CHECK(message.find("'colour'") != std::string::npos);
  CHECK(message.find("sample-interval") != std::string::npos);
}

TEST_CASE("bad values name the parameter's location, the parameter and why") {
  Fixture f;
  struct Case {
    std::string name, value;
    std::string why;  // a fragment of the explanation
  };
  const std::vector<Case> cases = {
      {"memory", "lots", "not a size"},
      {"memory", "0", "above 0"},
      {"speed", "-1", "outside"},
      {"speed", "0", "outside"},
      {"speed", "fast", "not a number"},
      {"cores", "0", "outside"},
      {"cores", "2.5", "not a whole number"},
      {"sample-interval", "5ms", "at least 10ms"},
      {"sample-interval", "soon", "not a duration"},
      {"history", "1s", "at least as long as sample-interval"},
      {"history", "10000h", "at most 1000000"},
      {"disk", "big", "not a size"},
  };
  for (const auto& c : cases) {
    INFO(c.name << "=" << c.value);
    auto params = declared_params();
    if (c.name == "history") params.push_back(at("sample-interval", "5s", 20));
    bool replaced = false;
    for (auto& p : params)
      if (p.name == c.name) {
        p.value = c.value;
        p.where.line = 15;
        replaced = true;
      }
    if (!replaced) params.push_back(at(c.name, c.value, 15));
    auto message = failure(f.build("declared", params));
    CHECK(message.find("deploy.xml:15:5") != std::string::npos);
    CHECK(message.find("'" + c.name + "'") != std::string::npos);
    CHECK(message.find(c.why) != std::string::npos);
  }
}

TEST_CASE("statgrab parameters are checked too") {
  Fixture f;
  CHECK(failure(f.build("statgrab", {at("calibrate", "maybe", 8)})).find("deploy.xml:8:5") !=
        std::string::npos);
  CHECK(failure(f.build("statgrab", {at("calibration", "0", 8)})).find("'calibration'") !=
        std::string::npos);
  CHECK(failure(f.build("statgrab", {at("calibration", "1m", 8)})).find("at most 10s") !=
        std::string::npos);
  CHECK(failure(f.build("statgrab", {at("slots", "-2", 8)})).find("'slots'") != std::string::npos);
  // declared's parameters mean nothing to statgrab.
  CHECK(failure(f.build("statgrab", {at("cores", "4", 8)})).find("unknown parameter 'cores'") !=
        std::string::npos);
}

TEST_CASE("an unknown impl lists the known ones") {
  Fixture f;
  auto message = failure(f.build("magic", {}));
  CHECK(message.find("deploy.xml:7:3") != std::string::npos);
  CHECK(message.find("'magic'") != std::string::npos);
  CHECK(message.find("declared, statgrab") != std::string::npos);
}

TEST_CASE("statgrab builds through the registry with its defaults and given params") {
  Fixture f;
  auto built = f.build("statgrab", {at("calibration", "20ms", 8), at("slots", "2", 9),
                                    at("sample-interval", "1s", 10), at("history", "1h", 11)});
  REQUIRE_MESSAGE(built.ok(), built.status().message());
  model::HostStatic s = (*built)->static_now();
  CHECK(s.info_impl == "statgrab");
  CHECK(s.slots == 2);
  CHECK(s.speed > 0);
  CHECK(s.version == "9.8.7");
  auto sampled = std::dynamic_pointer_cast<SampledInfo>(*built);
  REQUIRE(sampled);
  CHECK(sampled->history_capacity() == 3600);
}

}  // namespace fvce::info
