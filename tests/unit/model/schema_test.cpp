// The schema refuses what the wire must not carry, and says where.
#include "node/xml/schema.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace fvce::xml {
namespace {

Status check(const std::string& doc, ValidationError* where = nullptr) {
  return SchemaSet::instance().validate(doc, {}, where);
}

TEST_CASE("a valid document passes") {
  CHECK(check(R"(<probe xmlns="urn:fvce:1" address="127.0.0.1:7701"/>)").ok());
}

TEST_CASE("a missing attribute is reported with its position") {
  ValidationError where;
  auto s = check("<?xml version=\"1.0\"?>\n<probe xmlns=\"urn:fvce:1\"/>", &where);
  REQUIRE_FALSE(s.ok());
  CHECK(where.line == 2);
  CHECK(where.column > 1);
  CHECK(s.message().find("address") != std::string::npos);
  CHECK(s.message().rfind("2:", 0) == 0);
}

TEST_CASE("a value outside its type is refused") {
  auto s = check(R"(<probe xmlns="urn:fvce:1" address="no port here"/>)");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("no port here") != std::string::npos);
}

TEST_CASE("elements outside the fvce namespace are refused") {
  CHECK_FALSE(check(R"(<probe address="127.0.0.1:1"/>)").ok());
  CHECK_FALSE(check(R"(<nosuch xmlns="urn:fvce:1"/>)").ok());
}

TEST_CASE("malformed XML is refused with a position") {
  ValidationError where;
  auto s = check("<probe xmlns=\"urn:fvce:1\" address=\"a:1\">\n<oops></probe>", &where);
  REQUIRE_FALSE(s.ok());
  CHECK(where.line == 2);
}

TEST_CASE("DOCTYPE declarations and entities are refused") {
  auto s =
      check("<!DOCTYPE probe [<!ENTITY x \"y\">]>\n<probe xmlns=\"urn:fvce:1\" address=\"a:1\"/>");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("DOCTYPE") != std::string::npos);
  auto external = check(
      "<!DOCTYPE probe SYSTEM \"file:///etc/passwd\">\n<probe xmlns=\"urn:fvce:1\" "
      "address=\"a:1\"/>");
  CHECK_FALSE(external.ok());
}

TEST_CASE("an empty body is refused") {
  CHECK_FALSE(check("").ok());
}

TEST_CASE("the source name prefixes the error") {
  auto s = SchemaSet::instance().validate("<x/>", "deploy.xml");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().rfind("deploy.xml:1:", 0) == 0);
}

TEST_CASE("validation is usable from several threads") {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        if (check(R"(<probe xmlns="urn:fvce:1" address="127.0.0.1:7701"/>)").ok() &&
            !check(R"(<probe xmlns="urn:fvce:1"/>)").ok())
          ++ok;
    });
  for (auto& t : threads) t.join();
  CHECK(ok == 200);
}

}  // namespace
}  // namespace fvce::xml
