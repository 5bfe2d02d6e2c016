// The file registry: deploy.xml parameters → the "local" impl, and the errors a user sees.
#include "services/file/register_impls.h"

#include "tests/unit/file/file_test_util.h"

namespace fvce::file::test {
namespace {

using deploy::Location;
using deploy::Param;
using deploy::ServiceConfig;

struct Fixture {
  asio::io_context ioc;
  TempDir dir;
  fvce::test::TestNode node{ioc};
  NodeContext& ctx = node.ctx;
  FileRegistry registry{"file"};
  Fixture() {
    ctx.state_dir = dir.path;
    register_file_impls(registry);
  }
  Result<std::shared_ptr<LocalFile>> build(std::vector<Param> params) {
    return registry.build(
        ServiceConfig{"file", "local", std::move(params), Location{"deploy.xml", 4, 3}}, ctx);
  }
};

Param at(std::string name, std::string value) {
  return Param{std::move(name), std::move(value), Location{"deploy.xml", 5, 7}};
}

TEST_CASE("file registry: defaults put the work root in the state directory") {
  Fixture f;
  auto built = f.build({});
  REQUIRE(built.ok());
  CHECK((*built)->work_root() == fs::canonical(f.dir.path / "work"));
  auto local = std::dynamic_pointer_cast<LocalFileService>(*built);
  REQUIRE(local);
  CHECK(local->options().max_upload == (64ull << 30));
  CHECK(local->options().list_limit == 10000);
}

TEST_CASE("file registry: parameters are parsed and checked") {
  Fixture f;
  auto built =
      f.build({at("work-root", "elsewhere"), at("max-upload", "1MiB"), at("list-limit", "50")});
  REQUIRE(built.ok());
  auto local = std::dynamic_pointer_cast<LocalFileService>(*built);
  CHECK(local->work_root() == fs::canonical(f.dir.path / "elsewhere"));
  CHECK(local->options().max_upload == (1u << 20));
  CHECK(local->options().list_limit == 50);

  auto bad = f.build({at("list-limit", "0")});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("deploy.xml:5:7") != std::string::npos);
  CHECK(bad.status().message().find("list-limit") != std::string::npos);
  CHECK_FALSE(f.build({at("max-upload", "lots")}).ok());
  auto unknown = f.build({at("root", "/x")});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("work-root") != std::string::npos);
}

}  // namespace
}  // namespace fvce::file::test
