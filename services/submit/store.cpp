#include "services/submit/store.h"

#include <set>
#include <string_view>

namespace fvce::submit {

namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS workflows(
  id TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT NOT NULL, state TEXT NOT NULL,
  submitted INTEGER NOT NULL, finished INTEGER, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks(
  workflow TEXT NOT NULL, idx INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
  host_id TEXT, host_name TEXT, host_address TEXT, host_started INTEGER,
  exit_code INTEGER, wall INTEGER, cpu INTEGER, max_rss INTEGER, started INTEGER,
  finished INTEGER, message TEXT, retry_base INTEGER NOT NULL DEFAULT 0, checkpoint TEXT,
  PRIMARY KEY(workflow, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files(
  workflow TEXT NOT NULL, name TEXT NOT NULL, result INTEGER NOT NULL, sha256 TEXT NOT NULL,
  size INTEGER NOT NULL, source TEXT NOT NULL, path TEXT NOT NULL, executable INTEGER NOT NULL,
  PRIMARY KEY(workflow, name, result)) WITHOUT ROWID;
)sql";

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
template <typename T>
void bind_opt(sqlite3_stmt* s, int i, const std::optional<T>& v) {
  if (v)
    sqlite3_bind_int64(s, i, static_cast<sqlite3_int64>(*v));
  else
    sqlite3_bind_null(s, i);
}
std::string col_text(sqlite3_stmt* s, int i) {
  auto p = sqlite3_column_text(s, i);
  return p ? reinterpret_cast<const char*>(p) : "";
}
template <typename T>
std::optional<T> col_opt(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return static_cast<T>(sqlite3_column_int64(s, i));
}

}  // namespace

Store::~Store() {
  sqlite3_finalize(put_workflow_);
  sqlite3_finalize(put_task_);
  sqlite3_finalize(put_file_);
  for (auto* st : {begin_, commit_, rollback_, sync_full_, sync_normal_}) sqlite3_finalize(st);
  if (db_) sqlite3_close(db_);
  if (checkpointer_) sqlite3_close(checkpointer_);
}

int Store::on_wal_commit(void* self, sqlite3*, const char*, int pages) {
  static_cast<Store*>(self)->wal_pages_.store(pages, std::memory_order_relaxed);
  return SQLITE_OK;
}

Status Store::checkpoint() {
  if (!checkpointer_) return Status::Ok();
  int log = 0, done = 0;
  int rc =
      sqlite3_wal_checkpoint_v2(checkpointer_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    return Status::IOError(std::string("sqlite checkpoint: ") + sqlite3_errmsg(checkpointer_));
  // Frames past `done` were written meanwhile; the writer's next commit reports the size.
  wal_pages_.store(0, std::memory_order_relaxed);
  return Status::Ok();
}

Status Store::error(const char* what) const {
  return Status::IOError(std::string(what) + ": " + (db_ ? sqlite3_errmsg(db_) : "no database"));
}

Status Store::run(sqlite3_stmt* statement, const char* what) {
  int rc = sqlite3_step(statement);
  sqlite3_reset(statement);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return error(what);
  return Status::Ok();
}

Status Store::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return Status::IOError(std::string("sqlite: ") + m);
  }
  return Status::Ok();
}

Status Store::open(const std::filesystem::path& path, bool full_sync) {
  full_sync_ = full_sync;
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return error(("cannot open " + path.string()).c_str());
  sqlite3_busy_timeout(db_, 5000);
  for (const char* s : {"PRAGMA journal_mode=WAL;", "PRAGMA foreign_keys=OFF;"})
    if (auto st = exec(s); !st.ok()) return st;
  if (auto st = exec(full_sync ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
      !st.ok())
    return st;
  if (auto st = exec(kSchema); !st.ok()) return st;
  // A database from an earlier version gets the columns added since: tasks.retry_base (the
  // attempts before a user's retry) and tasks.checkpoint (where the task resumes from).
  {
    sqlite3_stmt* info = nullptr;
    std::set<std::string> has;
    if (sqlite3_prepare_v2(db_, "PRAGMA table_info(tasks)", -1, &info, nullptr) != SQLITE_OK)
      return error("reading the tasks table's columns");
    while (sqlite3_step(info) == SQLITE_ROW)
      has.insert(reinterpret_cast<const char*>(sqlite3_column_text(info, 1)));
    sqlite3_finalize(info);
    if (!has.count("retry_base"))
      if (auto st = exec("ALTER TABLE tasks ADD COLUMN retry_base INTEGER NOT NULL DEFAULT 0;");
          !st.ok())
        return st;
    if (!has.count("checkpoint"))
      if (auto st = exec("ALTER TABLE tasks ADD COLUMN checkpoint TEXT;"); !st.ok()) return st;
  }
  // Checkpoints through a second connection, when checkpoint_due(): installing a WAL hook
  // turns off the automatic checkpoint of the writing connection.
  if (sqlite3_open_v2(path.c_str(), &checkpointer_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return Status::IOError("cannot open " + path.string() +
                           " a second time for checkpoints: " + sqlite3_errmsg(checkpointer_));
  sqlite3_busy_timeout(checkpointer_, 5000);
  // A connection learns the database is in WAL mode by reading it: before that, a
  // checkpoint through it would do nothing.
  if (sqlite3_exec(checkpointer_, "PRAGMA journal_mode=WAL;", nullptr, nullptr, nullptr) !=
      SQLITE_OK)
    return Status::IOError("cannot read " + path.string() +
                           " for checkpoints: " + sqlite3_errmsg(checkpointer_));
  sqlite3_wal_hook(db_, &Store::on_wal_commit, this);
  auto prep = [&](const char* sql, sqlite3_stmt** out) {
    return sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr) == SQLITE_OK;
  };
  if (!prep("INSERT OR REPLACE INTO workflows VALUES(?,?,?,?,?,?,?)", &put_workflow_) ||
      !prep("INSERT OR REPLACE INTO tasks VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &put_task_) ||
      !prep("INSERT OR REPLACE INTO files VALUES(?,?,?,?,?,?,?,?)", &put_file_) ||
      !prep("BEGIN IMMEDIATE", &begin_) || !prep("COMMIT", &commit_) ||
      !prep("ROLLBACK", &rollback_) || !prep("PRAGMA synchronous=FULL", &sync_full_) ||
      !prep("PRAGMA synchronous=NORMAL", &sync_normal_))
    return error("preparing statements");
  return Status::Ok();
}

Status Store::write(const Batch& b, bool durable) {
  if (b.empty()) return Status::Ok();
  bool raise = durable && !full_sync_;
  if (raise)
    if (auto s = run(sync_full_, "sqlite: synchronous"); !s.ok()) return s;
  if (auto s = run(begin_, "sqlite: begin"); !s.ok()) return s;
  auto step = [&](sqlite3_stmt* st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
  };
  bool ok = true;
  for (const auto& w : b.workflows) {
    auto* s = put_workflow_;
    bind_text(s, 1, w.id);
    bind_text(s, 2, w.name);
    bind_text(s, 3, w.owner);
    bind_text(s, 4, std::string(model::to_string(w.state)));
    sqlite3_bind_int64(s, 5, w.submitted);
    bind_opt(s, 6, w.finished);
    bind_text(s, 7, w.doc);
    ok = ok && step(s);
  }
  for (const auto& t : b.tasks) {
    auto* s = put_task_;
    bind_text(s, 1, t.workflow);
    sqlite3_bind_int(s, 2, t.index);
    bind_text(s, 3, std::string(model::to_string(t.state)));
    sqlite3_bind_int(s, 4, t.attempts);
    bind_text(s, 5, t.host_id);
    bind_text(s, 6, t.host_name);
    bind_text(s, 7, t.host_address);
    sqlite3_bind_int64(s, 8, static_cast<sqlite3_int64>(t.host_started));
    bind_opt(s, 9, t.exit_code);
    bind_opt(s, 10, t.wall_ms);
    bind_opt(s, 11, t.cpu_ms);
    bind_opt(s, 12, t.max_rss);
    bind_opt(s, 13, t.started);
    bind_opt(s, 14, t.finished);
    bind_text(s, 15, t.message);
    sqlite3_bind_int(s, 16, t.retry_base);
    bind_text(s, 17, t.checkpoint);
    ok = ok && step(s);
  }
  for (const auto& f : b.files) {
    auto* s = put_file_;
    bind_text(s, 1, f.workflow);
    bind_text(s, 2, f.ref.name);
    sqlite3_bind_int(s, 3, f.result ? 1 : 0);
    bind_text(s, 4, f.ref.sha256);
    sqlite3_bind_int64(s, 5, static_cast<sqlite3_int64>(f.ref.size));
    bind_text(s, 6, f.ref.source);
    bind_text(s, 7, f.ref.path);
    sqlite3_bind_int(s, 8, f.ref.executable ? 1 : 0);
    ok = ok && step(s);
  }
  Status result = ok ? run(commit_, "sqlite: commit") : error("writing the batch");
  if (!ok) (void)run(rollback_, "sqlite: rollback");
  if (raise) (void)run(sync_normal_, "sqlite: synchronous");
  return result;
}

Result<std::vector<WorkflowRow>> Store::workflows(bool only_running) {
  sqlite3_stmt* s = nullptr;
  const char* sql =
      only_running
          ? "SELECT id,name,owner,state,submitted,finished,doc FROM workflows WHERE state='running'"
          : "SELECT id,name,owner,state,submitted,finished,doc FROM workflows";
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) return error("reading workflows");
  std::vector<WorkflowRow> out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    WorkflowRow w;
    w.id = col_text(s, 0);
    w.name = col_text(s, 1);
    w.owner = col_text(s, 2);
    w.state =
        model::workflow_state_from_string(col_text(s, 3)).value_or(model::WorkflowState::failed);
    w.submitted = sqlite3_column_int64(s, 4);
    w.finished = col_opt<std::int64_t>(s, 5);
    w.doc = col_text(s, 6);
    out.push_back(std::move(w));
  }
  sqlite3_finalize(s);
  return out;
}

Result<std::vector<TaskRow>> Store::tasks(const std::string& workflow) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(
          db_,
          "SELECT idx,state,attempts,host_id,host_name,host_address,host_started,"
          "exit_code,wall,cpu,max_rss,started,finished,message,retry_base,checkpoint FROM tasks "
          "WHERE "
          "workflow=? ORDER BY idx",
          -1, &s, nullptr) != SQLITE_OK)
    return error("reading tasks");
  bind_text(s, 1, workflow);
  std::vector<TaskRow> out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    TaskRow t;
    t.workflow = workflow;
    t.index = sqlite3_column_int(s, 0);
    t.state = model::task_state_from_string(col_text(s, 1)).value_or(model::TaskState::ready);
    t.attempts = sqlite3_column_int(s, 2);
    t.host_id = col_text(s, 3);
    t.host_name = col_text(s, 4);
    t.host_address = col_text(s, 5);
    t.host_started = static_cast<std::uint64_t>(sqlite3_column_int64(s, 6));
    t.exit_code = col_opt<int>(s, 7);
    t.wall_ms = col_opt<std::uint64_t>(s, 8);
    t.cpu_ms = col_opt<std::uint64_t>(s, 9);
    t.max_rss = col_opt<std::uint64_t>(s, 10);
    t.started = col_opt<std::int64_t>(s, 11);
    t.finished = col_opt<std::int64_t>(s, 12);
    t.message = col_text(s, 13);
    t.retry_base = sqlite3_column_int(s, 14);
    t.checkpoint = col_text(s, 15);
    out.push_back(std::move(t));
  }
  sqlite3_finalize(s);
  return out;
}

Result<std::vector<FileRow>> Store::files(const std::string& workflow) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT name,result,sha256,size,source,path,executable FROM files WHERE "
                         "workflow=?",
                         -1, &s, nullptr) != SQLITE_OK)
    return error("reading files");
  bind_text(s, 1, workflow);
  std::vector<FileRow> out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    FileRow f;
    f.workflow = workflow;
    f.ref.name = col_text(s, 0);
    f.result = sqlite3_column_int(s, 1) != 0;
    f.ref.sha256 = col_text(s, 2);
    f.ref.size = static_cast<std::uint64_t>(sqlite3_column_int64(s, 3));
    f.ref.source = col_text(s, 4);
    f.ref.path = col_text(s, 5);
    f.ref.executable = sqlite3_column_int(s, 6) != 0;
    out.push_back(std::move(f));
  }
  sqlite3_finalize(s);
  return out;
}

}  // namespace fvce::submit
