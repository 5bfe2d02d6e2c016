// Application descriptions: parse errors (each kind), value checking, and the workflow a
// submission makes — for the bundled Marmousi app, the same as the example's generator.
#include "services/userport/apps.h"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "node/core/files.h"
#include "node/model/codec.h"

namespace fvce::userport {
namespace {

namespace json = boost::json;

const std::string kApps = std::string(FVCE_SOURCE_DIR) + "/deploy/apps/";

App bundled(const std::string& name) {
  auto text = read_file(kApps + name + ".xml");
  REQUIRE(text.ok());
  ParseOptions o;
  o.template_dir = kApps;
  auto app = parse_app(*text, o);
  REQUIRE_MESSAGE(app.ok(), app.status().message());
  return *app;
}

// A description with the given params and a one-task workflow template using body.
std::string describe(const std::string& params, const std::string& task_args = "x",
                     const std::string& more_template = "") {
  return "<application xmlns=\"urn:fvce:1\" name=\"t\" kind=\"workflow\">\n"
         "  <title>T</title>\n" +
         params +
         "\n  <workflow-template>\n"
         "    <workflow name=\"t\">\n" +
         more_template + "      <task id=\"a\" cmd=\"echo\" args=\"" + task_args +
         "\"/>\n"
         "    </workflow>\n"
         "  </workflow-template>\n"
         "</application>\n";
}

std::string parse_error(const std::string& xml) {
  auto app = parse_app(xml);
  REQUIRE_FALSE(app.ok());
  return app.status().message();
}

CheckedValues check(const App& app, const char* values) {
  return check_values(app, json::parse(values).as_object());
}

std::string field_error(const App& app, const char* values, const std::string& field) {
  auto c = check(app, values);
  for (const auto& e : c.errors)
    if (e.field == field) return e.message;
  return "(no error for " + field + ")";
}

TEST_CASE("the bundled applications parse") {
  auto hello = bundled("hello");
  CHECK(hello.name == "hello");
  CHECK(hello.kind == AppKind::workflow);
  auto m = bundled("marmousi");
  CHECK(m.params.size() == 8);
  CHECK(m.param("samples")->advanced);
  CHECK_FALSE(m.param("shots")->advanced);
  auto j = app_json(m);
  CHECK(j.at("kind") == "workflow");
  const auto& preset = j.at("params").as_array()[0].as_object();
  CHECK(preset.at("type") == "select");
  CHECK(preset.at("default") == "small");
  CHECK(preset.at("options").as_array().size() == 3);
  CHECK(preset.at("options").as_array()[1].at("set").at("grid_spacing") == "12.5");
  const auto& shots = j.at("params").as_array()[1].as_object();
  CHECK(shots.at("min") == 1);
  CHECK(shots.at("max") == 240);
  const auto& spacing = j.at("params").as_array()[3].as_object();
  CHECK(spacing.at("min") == 4);
  CHECK(shots.at("default").is_null());
}

TEST_CASE("schema errors name the line and column") {
  auto e = parse_error(
      "<application xmlns=\"urn:fvce:1\" name=\"t\" kind=\"workflow\">\n"
      "  <title>T</title>\n"
      "  <param name=\"n\" type=\"float\"/>\n"
      "</application>");
  CHECK(e.rfind("3:", 0) == 0);
  CHECK(e.find("float") != std::string::npos);
}

TEST_CASE("parse errors name the param and its line") {
  auto e = parse_error(
      describe("  <param name=\"n\" type=\"integer\"/>\n  <param name=\"n\" type=\"text\"/>"));
  CHECK(e == "line 4: param 'n': the name is used twice");

  e = parse_error(
      describe("  <param name=\"n\" type=\"integer\" min=\"1\" max=\"9\" default=\"10\"/>"));
  CHECK(e == "line 3: param 'n': default '10' must be at most 9");
  e = parse_error(describe("  <param name=\"n\" type=\"number\" min=\"1.5\" default=\"1\"/>"));
  CHECK(e == "line 3: param 'n': default '1' must be at least 1.5");
  e = parse_error(describe("  <param name=\"n\" type=\"integer\" min=\"5\" max=\"1\"/>"));
  CHECK(e == "line 3: param 'n': min is above max");
  e = parse_error(describe("  <param name=\"n\" type=\"integer\" default=\"two\"/>"));
  CHECK(e == "line 3: param 'n': default must be a whole number, not 'two'");

  e = parse_error(describe("  <param name=\"s\" type=\"text\" pattern=\"([a-z\"/>"));
  CHECK(e.find("line 3: param 's': pattern '([a-z' is not a valid ECMAScript regular expression") ==
        0);
  e = parse_error(describe("  <param name=\"s\" type=\"text\" pattern=\"[a-z]+\" default=\"A\"/>"));
  CHECK(e == "line 3: param 's': default 'A' must match the pattern [a-z]+");

  e =
      parse_error(describe("  <param name=\"p\" type=\"select\" default=\"big\">\n"
                           "    <option value=\"small\"/><option value=\"medium\"/>\n  </param>"));
  CHECK(e == "line 3: param 'p': default 'big' must be one of: small, medium");
  e = parse_error(describe("  <param name=\"p\" type=\"select\"/>"));
  CHECK(e == "line 3: param 'p': a select needs at least one <option>");
  e = parse_error(
      describe("  <param name=\"p\" type=\"select\">\n"
               "    <option value=\"a\"><set param=\"nope\" value=\"1\"/></option>\n  </param>"));
  CHECK(e == "line 3: param 'p': option 'a' sets 'nope', which is no param");

  e =
      parse_error(describe("  <param name=\"a\" type=\"text\">\n    <show-if param=\"ghost\" "
                           "equals=\"1\"/>\n  </param>"));
  CHECK(e == "line 3: param 'a': show-if names 'ghost', which is no param");
  e = parse_error(
      describe("  <param name=\"a\" type=\"text\"><show-if param=\"b\" equals=\"1\"/></param>\n"
               "  <param name=\"b\" type=\"text\"><show-if param=\"a\" equals=\"1\"/></param>"));
  CHECK(e == "line 3: param 'a': show-if params form a cycle");

  e = parse_error(describe("  <param name=\"s\" type=\"text\" min=\"1\"/>"));
  CHECK(e == "line 3: param 's': min and max apply to number and integer params, not text");
}

TEST_CASE("template placeholders must name params") {
  auto e =
      parse_error(describe("  <param name=\"n\" type=\"integer\" default=\"1\"/>", "--n {{m}}"));
  CHECK(e == "line 6: {{m}}: 'm' names no param or input");
  e = parse_error(describe("  <param name=\"n\" type=\"integer\" default=\"1\"/>", "--n {{n +}}"));
  CHECK(e == "line 6: {{n +}}: an operand is missing");
  e = parse_error(describe("  <param name=\"n\" type=\"integer\" default=\"1\"/>", "--n {{n"));
  CHECK(e.find("line 6: '{{' without a closing '}}'") == 0);
  e = parse_error(describe("  <param name=\"n\" type=\"integer\" default=\"1\"/>", "{{n.size}}"));
  CHECK(e.find("'n' has no field 'size'") != std::string::npos);
  // With the defaults the template must make a valid workflow.
  e = parse_error(describe("  <param name=\"c\" type=\"integer\" default=\"0\"/>", "x",
                           "      <task id=\"b\" cmd=\"echo\" cores=\"{{c}}\"/>\n"));
  CHECK(e.find("with the default values: line 6: the workflow made from the template is not "
               "valid") == 0);
  // A published description carries its template.
  e = parse_error(
      "<application xmlns=\"urn:fvce:1\" name=\"t\" kind=\"workflow\"><title>T</title>\n"
      "<workflow-template src=\"t.xml\"/></application>");
  CHECK(e.find("line 2: a published application embeds its workflow") == 0);
}

TEST_CASE("values are checked against the form") {
  auto m = bundled("marmousi");
  CHECK(check(m, R"({"preset":"small"})").errors.empty());
  CHECK(field_error(m, R"({"shots":"many"})", "shots") == "must be a whole number, not 'many'");
  CHECK(field_error(m, R"({"shots":2.5})", "shots") == "must be a whole number");
  CHECK(field_error(m, R"({"shots":0})", "shots") == "must be at least 1");
  CHECK(field_error(m, R"({"shots":241})", "shots") == "must be at most 240");
  CHECK(field_error(m, R"({"frequency":41})", "frequency") == "must be at most 40");
  CHECK(field_error(m, R"({"frequency":true})", "frequency") == "must be a number");
  CHECK(field_error(m, R"({"preset":"huge"})", "preset") == "must be one of: small, medium, full");
  CHECK(field_error(m, R"({"colour":"red"})", "colour") ==
        "is not a field of application 'marmousi'");
  // Numbers given as strings (a form's inputs) are read as numbers.
  auto c = check(m, R"({"preset":"medium","shots":"12","frequency":"7.5"})");
  REQUIRE(c.errors.empty());
  CHECK(c.params["shots"].integer == 12);
  CHECK(c.params["frequency"].number == 7.5);
  // A chosen option fills in what is left empty; a given value wins.
  CHECK(c.params["grid_spacing"].number == 12.5);

  auto h = bundled("hello");
  CHECK(field_error(h, R"({"greeting":"two\nlines"})", "greeting") ==
        "must match the pattern [^\\n]{1,200}");
  CHECK(field_error(h, R"({"greeting":""})", "greeting") == "must match the pattern [^\\n]{1,200}");
  CHECK(field_error(h, R"({"shout":"yes"})", "shout") == "must be true or false, not 'yes'");
  // "mark" is shown only while shout is on: hidden, its bad value is not checked.
  CHECK(field_error(h, R"({"shout":false,"mark":"!!!!"})", "mark") == "(no error for mark)");
  CHECK(field_error(h, R"({"shout":true,"mark":"!!!!"})", "mark") ==
        "must match the pattern [!?.]{0,3}");
}

TEST_CASE("a required value must be given") {
  auto app =
      parse_app(describe("  <param name=\"who\" type=\"text\" required=\"true\"/>\n"
                         "  <param name=\"n\" type=\"integer\" required=\"true\"/>\n"
                         "  <input name=\"data\" label=\"Data\"/>",
                         "{{who}} {{n}}"));
  REQUIRE_MESSAGE(app.ok(), app.status().message());
  auto c = check(*app, "{}");
  REQUIRE(c.errors.size() == 3);
  CHECK(c.errors[0] == FieldError{"who", "is required"});
  CHECK(c.errors[1] == FieldError{"n", "is required"});
  CHECK(c.errors[2] == FieldError{"data", "is required"});
  CHECK(field_error(*app, R"({"data":{"sha256":"abc","size":1}})", "data").find("sha256") !=
        std::string::npos);
}

TEST_CASE("placeholders: arithmetic and number formatting") {
  auto app =
      parse_app(describe("  <param name=\"n\" type=\"integer\" default=\"7\"/>\n"
                         "  <param name=\"x\" type=\"number\" default=\"12.5\"/>\n"
                         "  <param name=\"t\" type=\"text\" default=\"a b'c\"/>\n"
                         "  <param name=\"z\" type=\"integer\"/>"));
  REQUIRE(app.ok());
  auto v = check_values(*app, {}).params;
  auto eval = [&](const char* e, bool in_args = false) {
    auto r = evaluate_placeholder(*app, v, e, in_args);
    return r.ok() ? *r : "error: " + r.status().message();
  };
  CHECK(eval("n") == "7");
  CHECK(eval("n - 1") == "6");
  CHECK(eval("6000 / n") == "857.1428571428571");
  CHECK(eval("6000 / 4") == "1500");
  CHECK(eval("x * 2") == "25");
  CHECK(eval("x / 10") == "1.25");
  CHECK(eval("0.1 + 0.2") == "0.30000000000000004");
  CHECK(eval("1e3") == "error: unexpected 'e'");
  CHECK(eval("-(n + 1) * 2") == "-16");
  CHECK(eval("n % 4") == "3");
  CHECK(eval("x % 2") == "error: '%' takes whole numbers");
  CHECK(eval("n / 0") == "error: division by zero");
  CHECK(eval("t") == "a b'c");
  CHECK(eval("t", true) == "'a b'\\''c'");
  CHECK(eval("n", true) == "7");
  CHECK(eval("t + 1") == "error: 'a b'c' is not a number");
  CHECK(eval("z") == "");
  CHECK(eval("z + 1") == "error: param 'z' has no value");
  CHECK(eval("9223372036854775807 + 1") == "error: the result is too large");
}

TEST_CASE("values go into the workflow as text, never as markup") {
  auto h = bundled("hello");
  auto c = check(h, R"({"greeting":"<b>&amp; \"x\" 'y' {i}","lines":3})");
  REQUIRE(c.errors.empty());
  auto doc = instantiate(h, c);
  REQUIRE_MESSAGE(doc.ok(), doc.status().message());
  CHECK(doc->app == "hello");  // the lists show which application a workflow came from
  REQUIRE(doc->arrays.size() == 1);
  CHECK(doc->arrays[0].first == 0);
  CHECK(doc->arrays[0].last == 2);
  const auto& shout = doc->arrays[0].tasks[0];
  REQUIRE(shout.arg_list.size() == 6);
  CHECK(shout.arg_list[3] == "<b>&amp; \"x\" 'y' {i}");
  CHECK(shout.arg_list[4] == "!");
  CHECK(shout.env == std::vector<std::pair<std::string, std::string>>{{"SHOUT", "true"}});
  CHECK(doc->tasks[0].arg_list[1].find("$(seq 0 2)") != std::string::npos);
}

TEST_CASE("a program application is a one-task workflow with its inputs") {
  auto app = parse_app(
      "<application xmlns=\"urn:fvce:1\" name=\"grep\" kind=\"program\">\n"
      "  <title>Search</title>\n"
      "  <param name=\"word\" type=\"text\" required=\"true\"/>\n"
      "  <param name=\"cores\" type=\"integer\" default=\"1\" min=\"1\" max=\"8\"/>\n"
      "  <input name=\"data\" label=\"Text to search\"/>\n"
      "  <program cmd=\"grep\" args=\"-c {{word}} {{data}}\" cores=\"{{cores}}\">\n"
      "    <out file=\"count.txt\" result=\"true\"/>\n"
      "  </program>\n"
      "</application>");
  REQUIRE_MESSAGE(app.ok(), app.status().message());
  std::string sha(64, 'a');
  auto c = check_values(*app, json::parse(R"({"word":"two words","cores":2,"data":{"sha256":")" +
                                          sha + R"(","size":5}})")
                                  .as_object());
  REQUIRE(c.errors.empty());
  auto doc = instantiate(*app, c);
  REQUIRE_MESSAGE(doc.ok(), doc.status().message());
  CHECK(doc->name == "grep");
  REQUIRE(doc->tasks.size() == 1);
  const auto& t = doc->tasks[0];
  CHECK(t.id == "run");
  CHECK(t.cmd == "grep");
  CHECK(t.args == "-c 'two words' data");
  CHECK(t.cores == 2);
  CHECK(t.inputs == std::vector<model::InputRef>{{"data", ""}});
  REQUIRE(doc->files.size() == 1);
  CHECK(doc->files[0].sha256 == sha);
  CHECK(doc->files[0].size == 5u);
}

TEST_CASE("a workflow the planner refuses is a general error") {
  auto app = parse_app(describe("  <param name=\"f\" type=\"text\" default=\"in.txt\"/>", "x",
                                "      <task id=\"b\" cmd=\"cat\"><in file=\"{{f}}\"/></task>\n"));
  REQUIRE_MESSAGE(app.ok(), app.status().message());
  auto doc = instantiate(*app, check_values(*app, {}));
  REQUIRE_FALSE(doc.ok());
  CHECK(doc.status().message().find("the workflow of application 't' cannot run: ") == 0);
  CHECK(doc.status().message().find("in.txt") != std::string::npos);
}

model::WorkflowDoc example(const std::string& preset) {
  auto text =
      read_file(std::string(FVCE_SOURCE_DIR) + "/examples/marmousi/workflow-" + preset + ".xml");
  REQUIRE(text.ok());
  auto doc = model::from_xml<model::WorkflowDoc>(*text);
  REQUIRE(doc.ok());
  doc->app = "marmousi";  // the one difference: it says which application made it
  return *doc;
}

TEST_CASE("marmousi through the app makes the generator's workflow") {
  auto m = bundled("marmousi");
  // The preset alone: its option fills in shots, frequency and grid spacing.
  for (const char* preset : {"small", "medium", "full"}) {
    CAPTURE(preset);
    auto c = check_values(m, json::object{{"preset", preset}});
    REQUIRE(c.errors.empty());
    auto doc = instantiate(m, c);
    REQUIRE_MESSAGE(doc.ok(), doc.status().message());
    CHECK(*doc == example(preset));
  }
  // The same values given explicitly, as the form sends them.
  auto c = check(m, R"({"preset":"small","shots":4,"frequency":6,"grid_spacing":25})");
  REQUIRE(c.errors.empty());
  auto doc = instantiate(m, c);
  REQUIRE(doc.ok());
  CHECK(*doc == example("small"));
  // Another value changes what it should.
  c = check(m, R"({"preset":"small","shots":8})");
  doc = instantiate(m, c);
  REQUIRE(doc.ok());
  CHECK(doc->arrays[0].last == 7);
  CHECK(doc->arrays[0].tasks[0].args.find("--shot-spacing 750 ") != std::string::npos);
}

TEST_CASE("a bundled description may take its template from a file beside it") {
  auto dir = std::filesystem::temp_directory_path() / "fvce-apps-src-test";
  std::filesystem::create_directories(dir);
  REQUIRE(write_file_atomic(dir / "t.xml",
                            "<workflow xmlns=\"urn:fvce:1\" name=\"t\">\n"
                            "  <task id=\"a\" cmd=\"echo\" cores=\"{{n}}\"/>\n</workflow>\n")
              .ok());
  std::string desc =
      "<application xmlns=\"urn:fvce:1\" name=\"t\" kind=\"workflow\"><title>T</title>\n"
      "<param name=\"n\" type=\"integer\" default=\"2\"/>\n"
      "<workflow-template src=\"t.xml\"/></application>";
  ParseOptions o;
  o.template_dir = dir;
  auto app = parse_app(desc, o);
  REQUIRE_MESSAGE(app.ok(), app.status().message());
  CHECK(app->template_is_file);
  auto doc = instantiate(*app, check_values(*app, json::object{{"n", 3}}));
  REQUIRE_MESSAGE(doc.ok(), doc.status().message());
  CHECK(doc->tasks[0].cores == 3);
  // A value the workflow schema refuses names the template file's line.
  doc = instantiate(*app, check_values(*app, json::object{{"n", 0}}));
  REQUIRE_FALSE(doc.ok());
  CHECK(doc.status().message().find("line 2 of the template file: ") == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the first example of docs/applications.md is a valid description") {
  auto doc = read_file(std::string(FVCE_SOURCE_DIR) + "/docs/applications.md");
  REQUIRE(doc.ok());
  auto start = doc->find("```xml\n");
  REQUIRE(start != std::string::npos);
  start += 7;
  auto xml = doc->substr(start, doc->find("```", start) - start);
  auto app = parse_app(xml);
  REQUIRE_MESSAGE(app.ok(), app.status().message());
  std::string sha(64, 'b');
  auto c = check_values(
      *app,
      json::parse(R"({"word":"fvce","text":{"sha256":")" + sha + R"(","size":3}})").as_object());
  REQUIRE(c.errors.empty());
  auto wf = instantiate(*app, c);
  REQUIRE_MESSAGE(wf.ok(), wf.status().message());
  CHECK(wf->tasks[0].inputs == std::vector<model::InputRef>{{"text", ""}});
}

}  // namespace
}  // namespace fvce::userport
