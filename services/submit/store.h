// The submit service's durable state in SQLite (WAL mode): workflows as submitted, the
// state of every task, where every produced file is, and the results brought back.
//
// Not thread-safe: the owner serialises the calls (DagSubmit under a mutex: writes that
// fsync on a strand of the worker pool, the others inline), except checkpoint_due() and
// checkpoint(), which use their own connection.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "node/core/status.h"
#include "node/model/task.h"

namespace fvce::submit {

struct WorkflowRow {
  std::string id, name, owner;
  model::WorkflowState state = model::WorkflowState::running;
  std::int64_t submitted = 0;
  std::optional<std::int64_t> finished;
  std::string doc;  // the workflow document as accepted (inputs with sha256 and size)
};

struct TaskRow {
  std::string workflow;
  int index = 0;
  model::TaskState state = model::TaskState::pending;
  int attempts = 0;
  int retry_base = 0;  // attempts made before the user's last retry of the workflow
  std::string host_id, host_name, host_address;
  std::uint64_t host_started = 0;
  std::optional<int> exit_code;
  std::optional<std::uint64_t> wall_ms, cpu_ms, max_rss;
  std::optional<std::int64_t> started, finished;
  std::string message;
  // The checkpoint its next attempt resumes from ("" = none): name, SHA-256, size, source
  // and path, tab-separated (see DagSubmit).
  std::string checkpoint;
};

struct FileRow {
  std::string workflow;
  model::FileRef ref;   // name, sha256, size, source, path
  bool result = false;  // a declared result, in this node's store
};

// A set of changes written in one transaction.
struct Batch {
  std::vector<WorkflowRow> workflows;  // inserted or replaced
  std::vector<TaskRow> tasks;          // inserted or replaced
  std::vector<FileRow> files;          // inserted or replaced
  bool empty() const { return workflows.empty() && tasks.empty() && files.empty(); }
};

class Store {
 public:
  Store() = default;
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Opens (creating) the database. full_sync: fsync every commit (survives power loss);
  // otherwise commits survive a crash of the process but not of the machine.
  Status open(const std::filesystem::path& path, bool full_sync);
  // Writes the batch in one transaction. durable forces an fsync of this commit. Without
  // it a commit only appends to the write-ahead log (no fsync): cheap enough to run inline.
  Status write(const Batch& batch, bool durable);

  // The log is not checkpointed by the writing connection (that would fsync in the middle of
  // a write): checkpoint_due() says when it has grown past kCheckpointPages, and
  // checkpoint() copies it into the database through a second connection, without blocking
  // writers. Both may be called from any thread; checkpoint() from one at a time.
  static constexpr int kCheckpointPages = 1000;
  bool checkpoint_due() const {
    return wal_pages_.load(std::memory_order_relaxed) >= kCheckpointPages;
  }
  Status checkpoint();

  Result<std::vector<WorkflowRow>> workflows(bool only_running);
  Result<std::vector<TaskRow>> tasks(const std::string& workflow);
  Result<std::vector<FileRow>> files(const std::string& workflow);

 private:
  Status exec(const char* sql);
  Status error(const char* what) const;
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);
  sqlite3* db_ = nullptr;
  sqlite3* checkpointer_ = nullptr;  // second connection, for checkpoint()
  std::atomic<int> wal_pages_{0};
  bool full_sync_ = false;
  sqlite3_stmt* put_workflow_ = nullptr;
  sqlite3_stmt* put_task_ = nullptr;
  sqlite3_stmt* put_file_ = nullptr;
  // The transaction's own statements, prepared once (a write is one transaction).
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* sync_full_ = nullptr;
  sqlite3_stmt* sync_normal_ = nullptr;
  // Runs a prepared statement that returns no rows.
  Status run(sqlite3_stmt* statement, const char* what);
};

}  // namespace fvce::submit
