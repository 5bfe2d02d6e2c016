// The schema refuses what the wire must not carry, and says where.
#include "node/xml/schema.h"

#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "node/xml/limits.h"

namespace fvce::xml {
namespace {

Status check(const std::string& doc, ValidationError* where = nullptr) {
  return SchemaSet::instance().validate(doc, {}, where);
}

Status shape(const std::string& doc, ValidationError* where = nullptr) {
  return SchemaSet::instance().check_shape(doc, where);
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

TEST_CASE("validation is usable from several threads at once, patterns and all") {
  // Eight threads start together on a workflow that uses most of the schema's patterns (names,
  // paths, sizes, durations, ranges, checksums): Xerces-C builds a pattern's character maps
  // lazily, so threads sharing one compiled grammar race there and abort the process.
  std::ifstream in(std::string(FVCE_SOURCE_DIR) + "/examples/marmousi/workflow-small.xml");
  std::stringstream text;
  text << in.rdbuf();
  const std::string workflow = text.str();
  REQUIRE(check(workflow).ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, ready{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      ++ready;
      while (ready < 8) std::this_thread::yield();
      for (int i = 0; i < 50; ++i)
        if (check(workflow).ok() &&
            check(R"(<probe xmlns="urn:fvce:1" address="127.0.0.1:7701"/>)").ok() &&
            !check(R"(<probe xmlns="urn:fvce:1" address="no port"/>)").ok())
          ++ok;
    });
  for (auto& t : threads) t.join();
  CHECK(ok == 400);
}

TEST_CASE("a deep nesting is refused at the first element past the limit") {
  // 100,000 nested elements (about 700 KB): the parser stops at depth 33, on line 2.
  std::string doc = "<workflow xmlns=\"urn:fvce:1\" name=\"w\">\n";
  for (int i = 0; i < 100000; ++i) doc += "<t>";
  for (int i = 0; i < 100000; ++i) doc += "</t>";
  doc += "</workflow>";
  ValidationError where;
  auto s = shape(doc, &where);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("nest deeper than 32") != std::string::npos);
  CHECK(where.line == 2);
  CHECK(where.column < 200);
  // Under the schema the first undeclared element ends the parse even sooner.
  auto v = check(doc, &where);
  REQUIRE_FALSE(v.ok());
  CHECK(where.line == 2);
  CHECK(where.column < 10);
  // The limit itself is allowed.
  std::string at_limit = "<a>";
  for (std::size_t i = 1; i < kMaxDepth; ++i) at_limit += "<t>";
  for (std::size_t i = 1; i < kMaxDepth; ++i) at_limit += "</t>";
  at_limit += "</a>";
  CHECK(shape(at_limit).ok());
}

TEST_CASE("an attribute or a text node over its limit is refused and named") {
  std::string big(kMaxAttributeLength + 1, 'x');
  auto s = shape("<probe xmlns=\"urn:fvce:1\" address=\"" + big + "\"/>");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("attribute value is longer than 131072 bytes") != std::string::npos);
  CHECK(shape("<probe address=\"" + std::string(kMaxAttributeLength, 'x') + "\"/>").ok());
  auto t = shape("<e>" + std::string(kMaxTextLength + 10, 'y') + "</e>");
  REQUIRE_FALSE(t.ok());
  CHECK(t.message().find("text node is longer than 131072 bytes") != std::string::npos);
  // Text is counted per run between tags, not per document.
  std::string many = "<e>";
  for (int i = 0; i < 4; ++i) many += "<f>" + std::string(kMaxTextLength / 2, 'y') + "</f>";
  CHECK(shape(many + "</e>").ok());
  std::string attrs = "<e";
  for (std::size_t i = 0; i <= kMaxAttributes; ++i) attrs += " a" + std::to_string(i) + "=\"1\"";
  CHECK(shape(attrs + "/>").message().find("more than 64 attributes") != std::string::npos);
  // And the schema check applies the same limits (whichever objection comes first).
  CHECK_FALSE(check("<error xmlns=\"urn:fvce:1\" code=\"internal\">" +
                    std::string(kMaxTextLength + 10, 'y') + "</error>")
                  .ok());
  CHECK(
      check("<error xmlns=\"urn:fvce:1\" code=\"internal\">" + std::string(1000, 'y') + "</error>")
          .ok());
}

TEST_CASE("the shape check refuses DOCTYPE too") {
  CHECK(shape("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").message().find("DOCTYPE") !=
        std::string::npos);
}

TEST_CASE("the XSDs bound free text too") {
  // A task's command over Linux's limit on one argument: refused by the schema.
  std::string cmd(131073, 'c');
  auto s = check("<workflow xmlns=\"urn:fvce:1\" name=\"w\"><task id=\"t\" cmd=\"" + cmd +
                 "\"/></workflow>");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("131072") != std::string::npos);
  CHECK(s.message().size() < 1000);  // the value is not repeated whole
  auto path = check("<file-list xmlns=\"urn:fvce:1\" path=\"" + std::string(5000, 'p') + "\"/>");
  REQUIRE_FALSE(path.ok());
  CHECK(check("<file-list xmlns=\"urn:fvce:1\" path=\"" + std::string(4000, 'p') + "\"/>").ok());
}

TEST_CASE("the limits are reset between documents on one thread") {
  std::string nested = "<a>";
  for (int i = 0; i < 40; ++i) nested += "<t>";
  CHECK_FALSE(shape(nested).ok());  // too deep: aborted midway, with its depth counted
  std::string ok = "<a>";
  for (int i = 0; i < 20; ++i) ok += "<t>";
  for (int i = 0; i < 20; ++i) ok += "</t>";
  CHECK(shape(ok + "</a>").ok());
  CHECK_FALSE(check(nested).ok());
  CHECK(check(R"(<probe xmlns="urn:fvce:1" address="127.0.0.1:7701"/>)").ok());
}

}  // namespace
}  // namespace fvce::xml
