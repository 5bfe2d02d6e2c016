// JSDL 1.0 job descriptions into workflows: what converts, and what is refused with its line.
#include "services/userport/jsdl.h"

#include <doctest/doctest.h>

namespace fvce::userport {
namespace {

// A JobDefinition around the given JobDescription content (the content starts on line 4).
std::string job(const std::string& body) {
  return "<?xml version=\"1.0\"?>\n"
         "<jsdl:JobDefinition xmlns:jsdl=\"http://schemas.ggf.org/jsdl/2005/11/jsdl\"\n"
         "    "
         "xmlns:posix=\"http://schemas.ggf.org/jsdl/2005/11/jsdl-posix\"><jsdl:JobDescription>\n" +
         body + "\n</jsdl:JobDescription></jsdl:JobDefinition>\n";
}

std::string error_of(const std::string& xml) {
  auto doc = jsdl_to_workflow(xml);
  REQUIRE_FALSE(doc.ok());
  return doc.status().message();
}

TEST_CASE("a JSDL job becomes a one-task workflow") {
  auto doc = jsdl_to_workflow(job(R"(<jsdl:JobIdentification>
  <jsdl:JobName>sort words</jsdl:JobName>
  <jsdl:Description>sorts the words</jsdl:Description>
  <jsdl:JobProject>demo</jsdl:JobProject>
</jsdl:JobIdentification>
<jsdl:Application>
  <jsdl:ApplicationName>sort</jsdl:ApplicationName>
  <posix:POSIXApplication>
    <posix:Executable>/usr/bin/sort</posix:Executable>
    <posix:Argument>-r</posix:Argument>
    <posix:Argument>a b</posix:Argument>
    <posix:Input>words.txt</posix:Input>
    <posix:Output>sorted.txt</posix:Output>
    <posix:Error>errors.txt</posix:Error>
    <posix:Environment name="LC_ALL">C</posix:Environment>
    <posix:WallTimeLimit>90</posix:WallTimeLimit>
  </posix:POSIXApplication>
</jsdl:Application>
<jsdl:Resources>
  <jsdl:IndividualCPUCount><jsdl:Exact>3</jsdl:Exact></jsdl:IndividualCPUCount>
  <jsdl:TotalCPUCount><jsdl:LowerBoundedRange>2</jsdl:LowerBoundedRange></jsdl:TotalCPUCount>
  <jsdl:TotalPhysicalMemory><jsdl:Range><jsdl:LowerBound>1048576</jsdl:LowerBound><jsdl:UpperBound>1e9</jsdl:UpperBound></jsdl:Range></jsdl:TotalPhysicalMemory>
</jsdl:Resources>
<jsdl:DataStaging>
  <jsdl:FileName>words.txt</jsdl:FileName>
  <jsdl:CreationFlag>overwrite</jsdl:CreationFlag>
  <jsdl:DeleteOnTermination>true</jsdl:DeleteOnTermination>
  <jsdl:Source><jsdl:URI>data/words.txt</jsdl:URI></jsdl:Source>
</jsdl:DataStaging>
<jsdl:DataStaging>
  <jsdl:FileName>sorted.txt</jsdl:FileName>
  <jsdl:CreationFlag>overwrite</jsdl:CreationFlag>
  <jsdl:Target/>
</jsdl:DataStaging>)"));
  REQUIRE_MESSAGE(doc.ok(), doc.status().message());
  CHECK(doc->name == "sort-words");
  REQUIRE(doc->files.size() == 1);
  CHECK(doc->files[0].name == "words.txt");
  CHECK(doc->files[0].src == "data/words.txt");
  REQUIRE(doc->tasks.size() == 1);
  const auto& t = doc->tasks[0];
  CHECK(t.id == "job");
  CHECK(t.cmd == "sh");
  CHECK(t.arg_list == std::vector<std::string>{"-c",
                                               "exec \"$0\" \"$@\" <'words.txt' >'sorted.txt' "
                                               "2>'errors.txt'",
                                               "/usr/bin/sort", "-r", "a b"});
  CHECK(t.env == std::vector<std::pair<std::string, std::string>>{{"LC_ALL", "C"}});
  CHECK(t.inputs == std::vector<model::InputRef>{{"words.txt", ""}});
  CHECK(t.outputs == std::vector<model::OutputRef>{{"sorted.txt", true}, {"errors.txt", false}});
  CHECK(t.cores == 3);
  CHECK(t.memory == 1048576u);
  CHECK(t.time_limit_ms == 90'000);
}

TEST_CASE("a staged program runs from the work directory, a file URI is read locally") {
  auto doc = jsdl_to_workflow(job(R"(<jsdl:Application><posix:POSIXApplication>
  <posix:Executable>run.sh</posix:Executable>
</posix:POSIXApplication></jsdl:Application>
<jsdl:DataStaging><jsdl:FileName>run.sh</jsdl:FileName><jsdl:CreationFlag>overwrite</jsdl:CreationFlag>
  <jsdl:Source><jsdl:URI>file:///home/ann/run.sh</jsdl:URI></jsdl:Source></jsdl:DataStaging>)"));
  REQUIRE_MESSAGE(doc.ok(), doc.status().message());
  CHECK(doc->name == "jsdl-job");
  CHECK(doc->tasks[0].cmd == "./run.sh");
  CHECK(doc->tasks[0].arg_list.empty());
  CHECK(doc->files[0].src == "/home/ann/run.sh");
  CHECK(doc->files[0].executable);
}

TEST_CASE("what fvce cannot do is refused, naming the element and its line") {
  auto posix = [](const std::string& inside) {
    return job(
        "<jsdl:Application>\n<posix:POSIXApplication>\n"
        "<posix:Executable>/bin/true</posix:Executable>\n" +
        inside + "\n</posix:POSIXApplication>\n</jsdl:Application>");
  };
  CHECK(error_of(posix("<posix:WorkingDirectory>/tmp</posix:WorkingDirectory>"))
            .find("line 7: <WorkingDirectory>: is not supported") == 0);
  CHECK(error_of(posix("<posix:MemoryLimit>100</posix:MemoryLimit>"))
            .find("line 7: <MemoryLimit>: is not supported") == 0);
  CHECK(error_of(posix("<posix:UserName>ann</posix:UserName>")).find("line 7: <UserName>") == 0);

  auto http = error_of(job(
      R"(<jsdl:Application><posix:POSIXApplication><posix:Executable>/bin/true</posix:Executable></posix:POSIXApplication></jsdl:Application>
<jsdl:DataStaging><jsdl:FileName>in</jsdl:FileName><jsdl:CreationFlag>overwrite</jsdl:CreationFlag>
  <jsdl:Source><jsdl:URI>http://example.org/in</jsdl:URI></jsdl:Source></jsdl:DataStaging>)"));
  CHECK(http.find("line 6: <URI>: 'http://example.org/in': the scheme 'http' is not supported") ==
        0);

  auto target = error_of(job(
      R"(<jsdl:Application><posix:POSIXApplication><posix:Executable>/bin/true</posix:Executable></posix:POSIXApplication></jsdl:Application>
<jsdl:DataStaging><jsdl:FileName>out</jsdl:FileName><jsdl:CreationFlag>overwrite</jsdl:CreationFlag>
  <jsdl:Target><jsdl:URI>gsiftp://grid/out</jsdl:URI></jsdl:Target></jsdl:DataStaging>)"));
  CHECK(target.find("line 6: <URI>: 'gsiftp://grid/out': fvce brings results back") == 0);

  auto hosts = error_of(job(
      R"(<jsdl:Application><posix:POSIXApplication><posix:Executable>/bin/true</posix:Executable></posix:POSIXApplication></jsdl:Application>
<jsdl:Resources>
  <jsdl:CandidateHosts><jsdl:HostName>a</jsdl:HostName></jsdl:CandidateHosts>
</jsdl:Resources>)"));
  CHECK(hosts.find("line 6: <CandidateHosts>: is not supported") == 0);

  // An extension element passes the schema (##other, lax) but not the converter.
  auto ext = error_of(job(
      R"(<jsdl:Application><posix:POSIXApplication><posix:Executable>/bin/true</posix:Executable></posix:POSIXApplication></jsdl:Application>

<x:Priority xmlns:x="urn:example:ext">high</x:Priority>)"));
  CHECK(ext ==
        "line 6: <Priority> is an extension (namespace 'urn:example:ext') fvce does not know");

  CHECK(error_of(job("<jsdl:Application><jsdl:ApplicationName>x</jsdl:ApplicationName></"
                     "jsdl:Application>"))
            .find("no <jsdl-posix:POSIXApplication>") != std::string::npos);
}

TEST_CASE("a document the JSDL schema refuses names its line and column") {
  auto e = error_of(job("<jsdl:Application>\n<jsdl:Colour>red</jsdl:Colour></jsdl:Application>"));
  CHECK(e.rfind("5:", 0) == 0);
  CHECK(e.find("Colour") != std::string::npos);
  e =
      error_of(job("<jsdl:Application><posix:POSIXApplication>\n"
                   "<posix:WallTimeLimit>soon</posix:WallTimeLimit>\n"
                   "</posix:POSIXApplication></jsdl:Application>"));
  CHECK(e.rfind("5:", 0) == 0);
  e = error_of("<JobDefinition xmlns=\"urn:other\"/>");
  CHECK(e.rfind("1:", 0) == 0);
}

}  // namespace
}  // namespace fvce::userport
