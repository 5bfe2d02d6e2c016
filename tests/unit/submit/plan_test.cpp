// Workflow planning: expansion of arrays, dependencies, and every validation error.
#include "services/submit/plan.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "node/model/codec.h"
#include "node/xml/schema.h"

namespace fvce::submit {
namespace {

Result<Plan> plan(const std::string& body) {
  std::string xml = "<workflow xmlns=\"urn:fvce:1\" name=\"t\">\n" + body + "\n</workflow>";
  auto valid = xml::SchemaSet::instance().validate(xml);
  if (!valid.ok()) return valid;
  auto doc = model::from_xml<model::WorkflowDoc>(xml);
  if (!doc.ok()) return doc.status();
  return plan_workflow(*doc);
}

std::string error_of(const std::string& body) {
  auto p = plan(body);
  REQUIRE_FALSE(p.ok());
  return p.status().message();
}

std::vector<std::string> deps_of(const Plan& p, const std::string& id) {
  std::vector<std::string> out;
  for (int d : p.tasks[p.task_index.at(id)].deps) out.push_back(p.tasks[d].id);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("arguments split like a shell, without expansion") {
  CHECK(*split_args("a b  c") == std::vector<std::string>{"a", "b", "c"});
  CHECK(*split_args("-c 'echo $HOME; ls' \"x y\" z\\ w") ==
        std::vector<std::string>{"-c", "echo $HOME; ls", "x y", "z w"});
  CHECK(*split_args("\"a \\\"q\\\" b\"") == std::vector<std::string>{"a \"q\" b"});
  CHECK(split_args("").value().empty());
  CHECK(split_args("'open").status().message().find("unterminated") != std::string::npos);
}

TEST_CASE("a fan-out/fan-in DAG through files") {
  auto p = plan(R"(
    <file name="in.txt" sha256="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" size="3"/>
    <task id="split" cmd="split" args="-l 1 in.txt part-"><in file="in.txt"/><out file="part-aa"/><out file="part-ab"/></task>
    <task id="a" cmd="wc" args="-c part-aa"><in file="part-aa"/><out file="a.txt"/></task>
    <task id="b" cmd="wc" args="-c part-ab"><in file="part-ab"/><out file="b.txt"/></task>
    <task id="join" cmd="cat"><in file="a.txt"/><in file="b.txt"/><out file="all.txt" result="true"/></task>)");
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  CHECK(p->tasks.size() == 4);
  CHECK(deps_of(*p, "split").empty());
  CHECK(deps_of(*p, "a") == std::vector<std::string>{"split"});
  CHECK(deps_of(*p, "join") == std::vector<std::string>{"a", "b"});
  CHECK(p->tasks[p->task_index["split"]].args ==
        std::vector<std::string>{"-l", "1", "in.txt", "part-"});
  CHECK(p->tasks[p->task_index["join"]].outputs[0] == std::make_pair(std::string("all.txt"), true));
}

TEST_CASE("arrays expand per index with {i} substituted") {
  auto p = plan(R"(
    <task id="prep" cmd="true"><out file="grid.bin"/></task>
    <array id="shot" range="3..5">
      <task id="model" cmd="m" args="--shot {i} --out raw{i}.bin"><env name="SHOT" value="s{i}"/>
        <in file="grid.bin"/><out file="raw{i}.bin"/></task>
      <task id="filter" cmd="f"><arg>raw{i}.bin</arg><in file="raw{i}.bin"/><out file="shot{i}.sgy"/></task>
    </array>
    <task id="sections" cmd="s"><in array="shot" file="shot{i}.sgy"/><out file="zo.sgy" result="true"/></task>)");
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  CHECK(p->tasks.size() == 1 + 3 * 2 + 1);
  const auto& m4 = p->tasks[p->task_index.at("model[4]")];
  CHECK(m4.args == std::vector<std::string>{"--shot", "4", "--out", "raw4.bin"});
  CHECK(m4.env[0].second == "s4");
  CHECK(deps_of(*p, "model[4]") == std::vector<std::string>{"prep"});
  CHECK(deps_of(*p, "filter[5]") == std::vector<std::string>{"model[5]"});
  CHECK(p->tasks[p->task_index.at("filter[3]")].args == std::vector<std::string>{"raw3.bin"});
  CHECK(deps_of(*p, "sections") == std::vector<std::string>{"filter[3]", "filter[4]", "filter[5]"});
  CHECK(p->tasks[p->task_index.at("sections")].inputs ==
        std::vector<std::string>{"shot3.sgy", "shot4.sgy", "shot5.sgy"});
}

TEST_CASE("explicit dependencies: plain, same index, every index, one index") {
  auto p = plan(R"(
    <task id="first" cmd="true"/>
    <array id="a" range="0..2">
      <task id="x" cmd="true"><after task="first"/></task>
      <task id="y" cmd="true"><after task="x"/></task>
    </array>
    <task id="all" cmd="true"><after task="y[*]"/></task>
    <task id="one" cmd="true"><after task="x[1]"/></task>
    <task id="bare" cmd="true"><after task="x"/></task>)");
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  CHECK(deps_of(*p, "x[2]") == std::vector<std::string>{"first"});
  CHECK(deps_of(*p, "y[2]") == std::vector<std::string>{"x[2]"});
  CHECK(deps_of(*p, "all") == std::vector<std::string>{"y[0]", "y[1]", "y[2]"});
  CHECK(deps_of(*p, "one") == std::vector<std::string>{"x[1]"});
  CHECK(deps_of(*p, "bare") == std::vector<std::string>{"x[0]", "x[1]", "x[2]"});
}

TEST_CASE("a cycle is refused, naming the tasks on it") {
  auto e = error_of(R"(
    <task id="a" cmd="true"><in file="c.out"/><out file="a.out"/></task>
    <task id="b" cmd="true"><in file="a.out"/><out file="b.out"/></task>
    <task id="c" cmd="true"><in file="b.out"/><out file="c.out"/></task>
    <task id="d" cmd="true"/>)");
  CHECK(e.find("dependency cycle") != std::string::npos);
  for (const char* t : {"a →", "b →", "c →"}) CHECK(e.find(t) != std::string::npos);
  CHECK(e.find("d →") == std::string::npos);
  CHECK(
      error_of(
          R"(<task id="a" cmd="true"><after task="b"/></task><task id="b" cmd="true"><after task="a"/></task>)")
          .find("cycle") != std::string::npos);
  CHECK(error_of(R"(<task id="a" cmd="true"><after task="a"/></task>)").find("depends on itself") !=
        std::string::npos);
}

TEST_CASE("an unknown dependency is refused, naming the task") {
  CHECK(error_of(R"(<task id="a" cmd="true"><after task="nosuch"/></task>)") ==
        "task 'a': depends on unknown task 'nosuch'");
  CHECK(error_of(R"(<array id="s" range="0..1"><task id="x" cmd="true"/></array>
                    <task id="a" cmd="true"><after task="x[7]"/></task>)")
            .find("outside the range") != std::string::npos);
}

TEST_CASE("a file with no producer and no source is refused") {
  CHECK(error_of(R"(<task id="a" cmd="cat"><in file="missing.txt"/></task>)") ==
        "task 'a': reads 'missing.txt', but no task writes it and no <file> provides it");
  CHECK(error_of(R"(<task id="a" cmd="cat"><in array="nosuch" file="x{i}"/></task>)")
            .find("unknown array 'nosuch'") != std::string::npos);
}

TEST_CASE("a file written twice, or over an input, is refused") {
  CHECK(
      error_of(
          R"(<task id="a" cmd="true"><out file="x"/></task><task id="b" cmd="true"><out file="x"/></task>)") ==
      "task 'b': writes 'x', which task 'a' writes too");
  CHECK(error_of(R"(<file name="x" src="x"/><task id="a" cmd="true"><out file="x"/></task>)")
            .find("which a <file> already provides") != std::string::npos);
}

TEST_CASE("ids, ranges and {i} are checked") {
  CHECK(error_of(R"(<task id="a" cmd="true"/><task id="a" cmd="true"/>)") ==
        "task 'a': the id is used twice");
  CHECK(
      error_of(
          R"(<task id="a" cmd="true"/><array id="s" range="0..1"><task id="a" cmd="true"/></array>)") ==
      "task 'a': the id is used twice");
  CHECK(error_of(R"(<file name="x" src="x"/><file name="x" src="y"/><task id="a" cmd="true"/>)") ==
        "file 'x': the name is used twice");
  CHECK(error_of(R"(<array id="s" range="5..2"><task id="x" cmd="true"/></array>)")
            .find("range 5..2 is empty") != std::string::npos);
  CHECK(error_of(R"(<task id="a" cmd="echo" args="{i}"/>)")
            .find("uses {i} but is not inside an <array>") != std::string::npos);
  CHECK(error_of(R"(<task id="a" cmd="echo" args="'open"/>)").find("unterminated") !=
        std::string::npos);
}

TEST_CASE("a huge array is refused before it is expanded") {
  CHECK(error_of(R"(<array id="s" range="0..9999999"><task id="x" cmd="true"/></array>)")
            .find("at most 1000000") != std::string::npos);
}

TEST_CASE("a 10,000-task array plans quickly and in index order") {
  auto p = plan(R"(<array id="s" range="0..9999"><task id="t" cmd="true" args="{i}"/></array>)");
  REQUIRE(p.ok());
  CHECK(p->tasks.size() == 10000);
  CHECK(p->tasks[9999].id == "t[9999]");
  CHECK(p->tasks[42].args == std::vector<std::string>{"42"});
}

TEST_CASE("the workflow document round-trips through its codec") {
  std::string xml = R"(<workflow xmlns="urn:fvce:1" name="rt">
    <file name="m.gz" src="data/m.gz" sha256="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" size="3" executable="true"/>
    <task id="a" cmd="x" args="-v" cores="2" memory="1GiB" time-limit="90s" retries="2" cost="2m">
      <arg>one</arg><env name="K" value="v"/><in file="m.gz"/><out file="o" result="true"/><after task="b"/>
      <checkpoint file="ck" every="500" signal="USR2" restart-arg="--restart" copy-every="10m" copy-to="n3"/></task>
    <task id="b" cmd="true"/>
    <array id="s" range="0..3"><task id="c" cmd="y" args="{i}"/></array>
  </workflow>)";
  REQUIRE(xml::SchemaSet::instance().validate(xml).ok());
  auto doc = model::from_xml<model::WorkflowDoc>(xml);
  REQUIRE(doc.ok());
  const auto& a = doc->tasks[0];
  CHECK(a.memory == 1ull << 30);
  CHECK(a.time_limit_ms == 90'000);
  CHECK(a.cost_ms == 120'000);
  CHECK(a.checkpoint->restart_arg == "--restart");
  CHECK(a.checkpoint->copy_every_ms == 600'000);
  CHECK(a.checkpoint->copy_to == "n3");
  auto again = model::to_xml(*doc);
  CHECK(xml::SchemaSet::instance().validate(again).ok());
  CHECK(*model::from_xml<model::WorkflowDoc>(again) == *doc);
}

// Planning without the schema check first: the planner's own checks must hold on their own.
std::string unchecked_error(const std::string& body) {
  std::string xml = "<workflow xmlns=\"urn:fvce:1\" name=\"t\">\n" + body + "\n</workflow>";
  auto doc = model::from_xml<model::WorkflowDoc>(xml);
  REQUIRE(doc.ok());
  auto p = plan_workflow(*doc);
  REQUIRE_FALSE(p.ok());
  return p.status().message();
}

TEST_CASE("every file name is checked at submit, the schema aside") {
  const std::string sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  auto provided = [&](const std::string& name) {
    return unchecked_error("<file name=\"" + name + "\" sha256=\"" + sha +
                           "\" size=\"3\"/><task id=\"t\" cmd=\"cat\"><in file=\"" + name +
                           "\"/></task>");
  };
  CHECK(provided("../../etc/passwd").find("'..' component") != std::string::npos);
  CHECK(provided("/etc/passwd").find("is absolute") != std::string::npos);
  CHECK(provided("a//b").find("empty component") != std::string::npos);
  CHECK(provided("./a").find("'.' component") != std::string::npos);
  CHECK(provided("a/&#9;b").find("control character") != std::string::npos);
  CHECK(provided(std::string(4097, 'n')).find("longer than 4096") != std::string::npos);
  CHECK(provided(std::string(256, 'n')).find("longer than 255") != std::string::npos);
  CHECK(unchecked_error("<task id=\"t\" cmd=\"x\"><out file=\"d/../../x\"/></task>")
            .find("task 't': output: file name 'd/../../x' has a '..' component") !=
        std::string::npos);
  // An array's index makes the name: checked after substitution.
  CHECK(unchecked_error("<array id=\"a\" range=\"1..2\"><task id=\"p\" cmd=\"x\"><out "
                        "file=\"p{i}/ok\"/></task></array><task id=\"j\" cmd=\"x\"><in "
                        "file=\"p1/../p2/ok\"/></task>")
            .find("task 'j': input: file name 'p1/../p2/ok'") != std::string::npos);
  CHECK(plan("<task id=\"t\" cmd=\"x\"><out file=\"sub/dir/ok.txt\"/></task>").ok());
}

TEST_CASE("reading whole arrays is bounded before the names are made") {
  // 1,000 tasks each reading an array of 10,000: 10,000,000 references, over the bound.
  auto e = error_of(
      "<array id=\"big\" range=\"1..10000\"><task id=\"b\" cmd=\"x\"><out "
      "file=\"b{i}\"/></task></array><array id=\"r\" range=\"1..1000\"><task id=\"r\" "
      "cmd=\"x\"><in array=\"big\" file=\"b{i}\"/></task></array>");
  CHECK(e.find("reads more than 4000000 input files") != std::string::npos);
}

}  // namespace
}  // namespace fvce::submit
