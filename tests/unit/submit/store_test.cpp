#include "services/submit/store.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace fvce::submit {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/fvce-store-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

Batch workflow_with_tasks(const std::string& id, int tasks, model::TaskState state) {
  Batch b;
  b.workflows.push_back(WorkflowRow{id, "name-" + id, "alice", model::WorkflowState::running, 1000,
                                    std::nullopt, "<workflow/>"});
  for (int i = 0; i < tasks; ++i) {
    TaskRow t;
    t.workflow = id;
    t.index = i;
    t.state = state;
    t.attempts = 1;
    t.host_name = "w" + std::to_string(i % 3);
    t.message = std::string(200, 'x');  // some bulk, so the log grows
    b.tasks.push_back(t);
  }
  return b;
}

}  // namespace

TEST_CASE("the store keeps workflows and tasks across a reopen") {
  TempDir dir;
  {
    Store s;
    REQUIRE(s.open(dir.path / "submit.db", false).ok());
    REQUIRE(s.write(workflow_with_tasks("wf-1", 3, model::TaskState::ready), true).ok());
    auto b = workflow_with_tasks("wf-1", 0, model::TaskState::ready);
    b.workflows.clear();
    TaskRow t;
    t.workflow = "wf-1";
    t.index = 1;
    t.state = model::TaskState::done;
    t.attempts = 2;
    t.retry_base = 1;
    t.exit_code = 0;
    b.tasks.push_back(t);
    REQUIRE(s.write(b, false).ok());  // no fsync: survives the process, as here
  }
  Store s;
  REQUIRE(s.open(dir.path / "submit.db", false).ok());
  auto wfs = s.workflows(false);
  REQUIRE(wfs.ok());
  REQUIRE(wfs->size() == 1);
  CHECK(wfs->front().owner == "alice");
  auto tasks = s.tasks("wf-1");
  REQUIRE(tasks.ok());
  REQUIRE(tasks->size() == 3);
  CHECK(tasks->at(1).state == model::TaskState::done);
  CHECK(tasks->at(1).attempts == 2);
  CHECK(tasks->at(1).retry_base == 1);
  CHECK(tasks->at(1).exit_code == 0);
  CHECK(tasks->at(0).state == model::TaskState::ready);
}

TEST_CASE("a database from before retry_base gains the column, its tasks at 0") {
  TempDir dir;
  auto path = dir.path / "submit.db";
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const char* old = R"sql(
CREATE TABLE tasks(
  workflow TEXT NOT NULL, idx INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
  host_id TEXT, host_name TEXT, host_address TEXT, host_started INTEGER,
  exit_code INTEGER, wall INTEGER, cpu INTEGER, max_rss INTEGER, started INTEGER,
  finished INTEGER, message TEXT, PRIMARY KEY(workflow, idx)) WITHOUT ROWID;
INSERT INTO tasks VALUES('wf-old',0,'failed',3,'','','',0,3,NULL,NULL,NULL,NULL,NULL,'no');
)sql";
    REQUIRE(sqlite3_exec(db, old, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  Store s;
  auto opened = s.open(path, false);
  REQUIRE_MESSAGE(opened.ok(), opened.message());
  auto tasks = s.tasks("wf-old");
  REQUIRE(tasks.ok());
  REQUIRE(tasks->size() == 1);
  CHECK(tasks->at(0).attempts == 3);
  CHECK(tasks->at(0).retry_base == 0);
  TaskRow t = tasks->at(0);
  t.retry_base = 3;
  Batch b;
  b.tasks.push_back(t);
  REQUIRE(s.write(b, false).ok());
  CHECK(s.tasks("wf-old")->at(0).retry_base == 3);
}

TEST_CASE("the log is checkpointed on demand, not by the writer, and nothing is lost") {
  TempDir dir;
  auto wal = dir.path / "submit.db-wal";
  {
    Store s;
    REQUIRE(s.open(dir.path / "submit.db", false).ok());
    int n = 0;
    while (!s.checkpoint_due() && n < 200) {
      REQUIRE(s.write(workflow_with_tasks("wf-" + std::to_string(n), 50, model::TaskState::running),
                      false)
                  .ok());
      ++n;
    }
    REQUIRE(s.checkpoint_due());
    // The writer did not checkpoint on its own: the log holds every page written so far.
    auto before = fs::file_size(wal);
    CHECK(before >= Store::kCheckpointPages * 4096ull);
    REQUIRE(s.checkpoint().ok());
    CHECK_FALSE(s.checkpoint_due());
    // The next commit starts the log over from its beginning (it does not grow on).
    REQUIRE(s.write(workflow_with_tasks("after", 1, model::TaskState::ready), false).ok());
    CHECK(fs::file_size(wal) == before);
    CHECK_FALSE(s.checkpoint_due());
  }
  Store s;
  REQUIRE(s.open(dir.path / "submit.db", false).ok());
  auto wfs = s.workflows(false);
  REQUIRE(wfs.ok());
  CHECK(wfs->size() >= 2);
  auto after = s.tasks("after");
  REQUIRE(after.ok());
  CHECK(after->size() == 1);
}

}  // namespace fvce::submit
