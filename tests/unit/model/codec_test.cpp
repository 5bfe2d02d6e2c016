// Every model type round-trips through its codec, and what the codec writes is valid
// against the schema.
#include "node/model/codec.h"

#include <doctest/doctest.h>

#include "node/xml/schema.h"

namespace fvce::model {
namespace {

HostStatic sample_static() {
  HostStatic h;
  h.cores = 64;
  h.cpu_model = "AMD EPYC 7763 64-Core Processor & <friends>";
  h.cpu_mhz = 2450.5;
  h.memory = 512ULL << 30;
  h.disk = 3ULL << 40;
  h.os = "Linux 6.1.0-18-amd64";
  h.arch = "x86_64";
  h.speed = 812.25;
  h.slots = 60;
  h.info_impl = "statgrab";
  h.started = 1'763'700'000'123;
  h.version = "0.1.0";
  return h;
}

Member sample_member(const char* id, const char* name, MemberState state) {
  Member m;
  m.id = id;
  m.name = name;
  m.address = "10.1.2.3:7700";
  m.incarnation = 7;
  m.state = state;
  m.last_seen = 1'763'700'001'000;
  m.host = sample_static();
  return m;
}

HostLoad sample_load() {
  HostLoad l;
  l.time = 1'763'700'002'000;
  l.load1 = 1.25;
  l.load5 = 0.5;
  l.load15 = 0.125;
  l.cpu = 37.5;
  l.memory_free = 1ULL << 33;
  l.memory_total = 1ULL << 34;
  l.free_slots = 3;
  l.queue = 11;
  return l;
}

const char* kId1 = "0d6f7c2e-5a1b-4c3d-8e9f-0123456789ab";
const char* kId2 = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";

// Encodes, validates against the schema, decodes, compares.
template <typename T>
void round_trip(const T& value) {
  std::string xml = to_xml(value);
  CAPTURE(xml);
  auto valid = xml::SchemaSet::instance().validate(xml);
  CHECK_MESSAGE(valid.ok(), valid.message());
  auto back = from_xml<T>(xml);
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(*back == value);
}

TEST_CASE("ErrorDoc round-trips and validates") {
  round_trip(ErrorDoc{ErrorCode::invalid_argument, "3:14: missing attribute 'id'", 3, 14});
  round_trip(ErrorDoc{ErrorCode::unavailable, "pool full", 0, 0});
}

TEST_CASE("HostLoadReport round-trips and validates") {
  round_trip(HostLoadReport{kId1, "n1", sample_load()});
  auto down = sample_load();
  down.disk_free = 4096;
  down.disk_total = 2u << 20;
  down.down = "its work root /srv/scratch is full (4.0 KiB of 2.0 MiB free)";
  round_trip(HostLoadReport{kId1, "n1", down});
}

TEST_CASE("LoadHistory round-trips and validates") {
  LoadHistory h{kId1, "n1", 5000, {sample_load(), sample_load()}};
  h.samples[1].time += 5000;
  round_trip(h);
  round_trip(LoadHistory{kId1, "n1", 1000, {}});
}

TEST_CASE("HostInfo round-trips with and without a load") {
  round_trip(HostInfo{sample_member(kId1, "n1", MemberState::alive), sample_load(), ""});
  round_trip(HostInfo{sample_member(kId1, "n1", MemberState::suspect), std::nullopt,
                      "connecting to 10.1.2.3:7700 timed out"});
}

TEST_CASE("HostsReport round-trips and validates") {
  HostsReport r{"lab", kId1, {}};
  r.hosts.push_back({sample_member(kId1, "n1", MemberState::alive), sample_load(), ""});
  r.hosts.push_back({sample_member(kId2, "n2", MemberState::suspect), std::nullopt, "refused"});
  round_trip(r);
}

TEST_CASE("MemberList round-trips every member state") {
  MemberList l{"lab", kId1, {}};
  l.members.push_back(sample_member(kId1, "n1", MemberState::alive));
  l.members.push_back(sample_member(kId2, "n2", MemberState::suspect));
  round_trip(l);
  l.members[1].state = MemberState::dead;
  round_trip(l);
  l.members[1].state = MemberState::left;
  l.members[1].last_seen = 0;  // optional attribute absent
  round_trip(l);
}

TEST_CASE("JoinRequest, Ping, Ack, Updates and ProbeRequest round-trip") {
  round_trip(JoinRequest{"lab", sample_member(kId2, "n2", MemberState::alive)});
  Ping p;
  p.from = kId1;
  p.to = kId2;
  p.members = {sample_member(kId1, "n1", MemberState::alive)};
  round_trip(p);
  Ack a;
  a.from = kId2;
  round_trip(a);  // no news, no "to"
  Updates u;
  u.from = kId1;
  u.members = {sample_member(kId2, "n2", MemberState::dead)};
  round_trip(u);
  round_trip(ProbeRequest{"[::1]:7801"});
  round_trip(ProbeRequest{"node-7.cluster.example.org:7700"});
}

TEST_CASE("from_xml names line and column of a syntax error") {
  auto r = from_xml<ProbeRequest>("<probe xmlns=\"urn:fvce:1\"\n  address=\"a:1\"></prob>");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  CHECK(r.status().message().rfind("2:", 0) == 0);
}

TEST_CASE("from_xml refuses a document of another type") {
  auto r = from_xml<ProbeRequest>(to_xml(ErrorDoc{ErrorCode::internal, "x", 0, 0}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("expected a <probe> document, got <error>") != std::string::npos);
}

}  // namespace
}  // namespace fvce::model

namespace fvce::model {
namespace {

TEST_CASE("WorkflowView round-trips with its graph and timeline") {
  WorkflowView v;
  v.summary = WorkflowSummary{"shots-0d6fab12",
                              "shots",
                              "alice",
                              "n1",
                              "marmousi",
                              WorkflowState::running,
                              1'763'700'000'000,
                              std::nullopt,
                              3,
                              0,
                              0,
                              1,
                              2,
                              0,
                              0};
  v.total = 3;
  v.offset = 1;
  v.tasks.push_back(TaskStatus{"model[1]", TaskState::running, "n2", 1, std::nullopt, std::nullopt,
                               std::nullopt, std::nullopt, 1'763'700'000'500, std::nullopt, ""});
  TaskGroup split{"split", false, 0, 0, 1, 0, 0, 0, 1, 0, 0};
  TaskGroup model{"model", true, 0, 1, 2, 0, 0, 1, 1, 0, 0};
  v.groups = {split, model};
  v.edges = {{"split", "model"}};
  Timeline t;
  t.t0 = 1'763'700'000'000;
  t.hosts = {"n1", "n2"};
  t.task = {"split", "model[0]", "model[1]"};
  t.host = {0, 1, 1};
  t.start = {10, 400, 500};
  t.end = {300, 900, -1};
  t.state = {TaskState::done, TaskState::done, TaskState::running};
  v.timeline = t;
  round_trip(v);
  // Without graph and timeline too.
  WorkflowView bare;
  bare.summary = v.summary;
  round_trip(bare);
}

TEST_CASE("a WorkflowView whose timeline lists differ in length is refused") {
  std::string xml =
      R"(<workflow-view xmlns="urn:fvce:1" total="0" offset="0"><summary id="a-0d6f1234" )"
      R"(name="a" owner="u" node="n1" state="running" submitted="1" tasks="0" pending="0" )"
      R"(ready="0" running="0" done="0" failed="0" cancelled="0"/><timeline t0="0">)"
      R"(<hosts>n1</hosts><tasks>a b</tasks><host>0</host><start>1 2</start><end>3 4</end>)"
      R"(<state>done done</state></timeline></workflow-view>)";
  auto back = from_xml<WorkflowView>(xml);
  REQUIRE_FALSE(back.ok());
  CHECK(back.status().message().find("differ in length") != std::string::npos);
}

}  // namespace
}  // namespace fvce::model

namespace fvce::model {
namespace {

TEST_CASE("TaskReports round-trip, a failed one naming the input it could not stage") {
  TaskReport done;
  done.workflow = "wf-ab12cd34";
  done.task = "make[3]";
  done.attempt = 2;
  done.host = kId1;
  done.state = TaskState::done;
  done.exit_code = 0;
  done.wall_ms = 1200;
  done.outputs.push_back(FileRef{"p3.txt", std::string(64, 'a'), 3, "127.0.0.1:7701",
                                 "work/wf-ab12cd34/make[3]/p3.txt", false});
  TaskReport lost;
  lost.workflow = "wf-ab12cd34";
  lost.task = "join";
  lost.attempt = 1;
  lost.host = kId1;
  lost.state = TaskState::failed;
  lost.message = "staging input 'p3.txt' from 127.0.0.1:7703 failed: connection refused";
  lost.lost_input = "p3.txt";
  TaskReport full = lost;
  full.lost_input.clear();
  full.host_fault = "disk";
  full.message = "n2's work root /srv/scratch filled up while the task ran";
  TaskReport moved = lost;
  moved.lost_input.clear();
  moved.state = TaskState::cancelled;
  moved.message = "moved off n2: migrating to n3";
  moved.checkpoint = FileRef{"checkpoint3.bin",
                             std::string(64, 'c'),
                             1 << 20,
                             "127.0.0.1:7702",
                             "work/wf-ab12cd34/model.3/a1/checkpoint3.bin",
                             false};
  round_trip(TaskReports{{done, lost, full, moved}});
  round_trip(ReleaseRequest{"wf-ab12cd34", "model[3]", "migrating to n3", true});
  round_trip(ReleaseRequest{"wf-ab12cd34", "model[3]", "n2 drains", false});
  round_trip(Drained{"n2", 4, 3, 0, 5120});
}

}  // namespace
}  // namespace fvce::model
