#include "services/execute/impl/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include "node/core/units.h"
#include "node/http/client.h"
#include "node/model/codec.h"
#include "services/file/logic.h"
#include "services/info/logic.h"

namespace fvce::execute {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using model::TaskState;
using Strand = asio::strand<asio::io_context::executor_type>;

namespace {

constexpr std::size_t kMaxBatch = 256;  // reports per POST
constexpr std::size_t kMaxPendingPerSubmitter = 100'000;
constexpr std::size_t kRecentAttempts = 4096;  // finished attempts kept for conflict
constexpr std::size_t kMessageTail = 500;      // bytes of stderr in a failure message
constexpr std::uint64_t kMaxLogBytes = 8u << 20;
constexpr std::chrono::milliseconds kBackoffBase{100};
constexpr std::chrono::milliseconds kBackoffMax{5'000};

using StopReason = ProcessExecutor::StopReason;
using Phase = ProcessExecutor::Phase;
using ExitInfo = ProcessExecutor::ExitInfo;

// Runs f() on the worker pool and resumes the caller on its own executor.
template <typename F>
asio::awaitable<std::invoke_result_t<F&>> on_workers(asio::thread_pool& pool, F f) {
  std::optional<std::invoke_result_t<F&>> out;
  co_await asio::co_spawn(
      pool,
      [&]() -> asio::awaitable<void> {
        out.emplace(f());
        co_return;
      },
      asio::use_awaitable);
  co_return std::move(*out);
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The WorkflowId of xsd/task.xsd: [a-z0-9][a-z0-9\-]{2,63}.
bool valid_workflow_id(std::string_view s) {
  if (s.size() < 3 || s.size() > 64 || !is_lower_alnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

// The ConcreteTaskId of xsd/task.xsd: [A-Za-z][A-Za-z0-9_\-]{0,63}(\[[0-9]{1,7}\])?
bool valid_task_id(std::string_view s) {
  std::size_t i = 0;
  if (s.empty() || !is_alpha(s[0])) return false;
  while (i < s.size() && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '-')) ++i;
  if (i > 64) return false;
  if (i == s.size()) return true;
  if (s[i] != '[' || s.back() != ']') return false;
  auto digits = s.substr(i + 1, s.size() - i - 2);
  return !digits.empty() && digits.size() <= 7 &&
         std::all_of(digits.begin(), digits.end(), is_digit);
}

// A file name inside the work directory: relative, no "." / ".." / empty components.
bool valid_file_name(std::string_view s) {
  if (s.empty() || s.size() > 255 || s.front() == '/') return false;
  if (s.find('\\') != std::string_view::npos || s.find('\0') != std::string_view::npos)
    return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find('/', start);
    if (end == std::string_view::npos) end = s.size();
    auto part = s.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// Text safe for an XML attribute: valid UTF-8 (invalid bytes become '?'), control
// characters other than tab and newline become spaces.
std::string sanitize_text(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ? ' ' : static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    bool ok = len > 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(in[i + k]) & 0xc0) == 0x80;
    if (ok && len == 3) {  // no overlong forms, no surrogates
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (ok && len == 4) {
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

// The last max_bytes of a file; not-found when it does not exist.
Result<std::string> read_tail(const fs::path& path, std::uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec))
      return Status::NotFound(path.filename().string() + " does not exist");
    return Status::IOError("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::uint64_t>(std::max<std::streamoff>(in.tellg(), 0));
  auto from = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string out(static_cast<std::size_t>(size - from), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return out;
}

// The last line(s) of a task's stderr, at most kMessageTail bytes, for a failure message.
std::string stderr_tail(const fs::path& err) {
  auto tail = read_tail(err, 4096);
  if (!tail.ok()) return {};
  std::string text = std::move(*tail);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r'))
    text.pop_back();
  if (text.size() > kMessageTail) {
    auto cut = text.size() - kMessageTail;
    auto nl = text.find('\n', cut);  // start at a line boundary when one is near
    text = nl != std::string::npos && nl + 1 < text.size() ? text.substr(nl + 1)
                                                           : "…" + text.substr(cut);
  }
  return sanitize_text(text);
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string task_label(const model::TaskAssignment& a) {
  return a.workflow + "/" + a.task + " attempt " + std::to_string(a.attempt);
}

struct SpawnResult {
  pid_t pid = -1;
  Status status;
};

// The program cmd names: with a '/', a path relative to the work directory (an input can
// be the program); otherwise the first executable regular file of that name on path.
Result<fs::path> resolve_command(const std::string& cmd, const fs::path& workdir,
                                 const std::string& path) {
  if (cmd.empty()) return Status::InvalidArgument("the task has an empty command");
  std::error_code ec;
  if (cmd.find('/') != std::string::npos) {
    fs::path p = workdir / cmd;
    if (!fs::exists(p, ec))
      return Status::NotFound("command '" + cmd +
                              "' not found in the work directory (is it a declared input?)");
    if (!fs::is_regular_file(p, ec) || ::access(p.c_str(), X_OK) != 0)
      return Status::InvalidArgument("command '" + cmd +
                                     "' is not an executable file (declare the input "
                                     "executable=\"true\", or run it through an interpreter)");
    return p;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) continue;  // "" would mean the work directory: not searched
    fs::path p = fs::path(dir) / cmd;
    if (fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0) return p;
  }
  return Status::NotFound("command '" + cmd + "' not found on this host (PATH=" + path + ")");
}

}  // namespace

struct ProcessExecutor::Task {
  Task(asio::io_context& ioc, model::TaskAssignment a)
      : assignment(std::move(a)),
        strand(asio::make_strand(ioc)),
        limit_timer(strand),
        grace_timer(strand) {}

  model::TaskAssignment assignment;
  std::string dir;      // work/<workflow>/<task-dir>, relative to the work root
  std::string workdir;  // dir/a<attempt>

  // Guarded by mu_.
  bool queued = false;
  bool counted_running = false;
  bool holds_slots = false;  // its cores are taken from free_slots_
  pid_t pid = 0;             // process group leader, once spawned
  bool reaped = false;
  std::uint64_t launch_id = 0;  // its id with the launcher (0: spawned directly)

  // The launcher's news of this task (started or failed, then exited or lost).
  std::shared_ptr<Launcher::Channel> events;

  // Used only on strand.
  Strand strand;
  asio::steady_timer limit_timer, grace_timer;
  Phase phase = Phase::staging;
  StopReason stop = StopReason::none;
  bool final_reported = false;
  fs::path workdir_abs, out_abs, err_abs;
};

namespace {

struct StageState {
  std::size_t next = 0;
  Status error;
};

// One of up to stage_parallel fetchers of a task; runs on the task's strand, so `state` needs
// no lock.
asio::awaitable<void> stage_worker(file::LocalFile& files,
                                   std::shared_ptr<ProcessExecutor::Task> task,
                                   std::shared_ptr<StageState> state) {
  const auto& inputs = task->assignment.inputs;
  while (state->next < inputs.size() && state->error.ok() && task->stop == StopReason::none) {
    const auto& ref = inputs[state->next++];
    std::string dest = task->workdir + "/" + ref.name;
    Status s = co_await files.fetch(ref, std::move(dest));
    if (!s.ok() && state->error.ok())
      state->error = Status(s.code(), "staging input '" + ref.name + "' from " + ref.source +
                                          " failed: " + s.message());
  }
}

// Work directory, capture files, and parents of inputs in subdirectories. Blocking.
Status prepare_workdir(const file::LocalFile& files, ProcessExecutor::Task& t) {
  const auto& a = t.assignment;
  auto wd = files.resolve(t.workdir);
  if (!wd.ok()) return wd.status();
  auto out = files.resolve(t.workdir + ".out");
  if (!out.ok()) return out.status();
  auto err = files.resolve(t.workdir + ".err");
  if (!err.ok()) return err.status();
  std::error_code ec;
  // A directory left by an earlier run of this very attempt (a restart) is stale.
  fs::remove_all(*wd, ec);
  if (ec) return Status::IOError("cannot clear " + wd->string() + ": " + ec.message());
  fs::create_directories(*wd, ec);
  if (ec) return Status::IOError("cannot create " + wd->string() + ": " + ec.message());
  for (const auto& in : a.inputs) {
    if (in.name.find('/') == std::string::npos) continue;
    auto p = files.resolve(t.workdir + "/" + in.name);
    if (!p.ok()) return p.status();
    fs::create_directories(p->parent_path(), ec);
    if (ec)
      return Status::IOError("cannot create " + p->parent_path().string() + ": " + ec.message());
  }
  t.workdir_abs = *wd;
  t.out_abs = *out;
  t.err_abs = *err;
  return Status::Ok();
}

// What the task runs: program, argv, environment, directory and capture files. Makes the
// executable inputs executable and resolves the command. Touches the file system only for
// that (a few stat/chmod calls).
Result<Launcher::Spec> task_spec(const ProcessExecutor::Task& t,
                                 const std::vector<std::string>& base_env,
                                 const std::string& base_path) {
  const auto& a = t.assignment;
  for (const auto& in : a.inputs) {
    if (!in.executable) continue;
    fs::path p = t.workdir_abs / in.name;
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) ::chmod(p.c_str(), (st.st_mode & 07777) | 0111);
  }

  std::map<std::string, std::string> env;
  for (const auto& kv : base_env) {
    auto eq = kv.find('=');
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env["PATH"] = base_path;
  if (!env.count("HOME")) env["HOME"] = t.workdir_abs.string();
  env["TMPDIR"] = t.workdir_abs.string();
  env["OMP_NUM_THREADS"] = std::to_string(a.cores);
  for (const auto& [k, v] : a.env) env[k] = v;
  env["FVCE_WORKFLOW"] = a.workflow;
  env["FVCE_TASK"] = a.task;
  env["FVCE_ATTEMPT"] = std::to_string(a.attempt);

  auto program = resolve_command(a.cmd, t.workdir_abs, env["PATH"]);
  if (!program.ok()) return program.status();

  Launcher::Spec spec;
  spec.program = program->string();
  spec.argv.push_back(a.cmd);
  for (const auto& s : a.args) spec.argv.push_back(s);
  for (const auto& [k, v] : env) spec.env.push_back(k + "=" + v);
  spec.cwd = t.workdir_abs.string();
  spec.out = t.out_abs.string();
  spec.err = t.err_abs.string();
  return spec;
}

// Spawns the task straight from the node (launcher="direct"), in its own process group.
// Blocking (posix_spawn of a large parent): runs on the worker pool.
SpawnResult spawn_direct(const Launcher::Spec& spec) {
  SpawnResult r;
  int out = ::open(spec.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = out < 0 ? -1 : ::open(spec.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0 || err < 0) {
    r.status = Status::IOError("cannot create the capture files beside " + spec.cwd + ": " +
                               std::strerror(errno));
    if (out >= 0) ::close(out);
    return r;
  }

  std::vector<char*> argv, envp;
  for (const auto& s : spec.argv) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (const auto& s : spec.env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out, 1);
  posix_spawn_file_actions_adddup2(&fa, err, 2);
  // The node's sockets and files are not the task's business (Asio does not set
  // close-on-exec on everything).
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());
  // Own process group, so time limits and cancels reach every process of the task; default
  // signal dispositions and an empty mask whatever the node set for itself.
  clean_signals(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, spec.program.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(out);
  ::close(err);
  if (rc != 0) {
    r.status = Status::IOError("cannot start '" + spec.program + "': " + std::strerror(rc));
    return r;
  }
  r.pid = pid;
  return r;
}

// The directory of the running binary, or "".
std::string fvce_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return fs::path(std::string(buf, static_cast<std::size_t>(n))).parent_path().string();
}

// What the declared output looks like after the task: 0 regular file (exec: executable),
// 1 missing, 2 not a regular file; or the resolve error.
struct OutputCheck {
  int kind = 1;
  bool executable = false;
  Status status;
};

OutputCheck check_output(const file::LocalFile& files, const std::string& rel) {
  OutputCheck c;
  auto p = files.resolve(rel);
  if (!p.ok()) {
    c.status = p.status();
    return c;
  }
  struct stat st {};
  if (::stat(p->c_str(), &st) != 0) return c;
  c.kind = S_ISREG(st.st_mode) ? 0 : 2;
  c.executable = (st.st_mode & S_IXUSR) != 0;
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------

Result<std::shared_ptr<ProcessExecutor>> ProcessExecutor::Create(NodeContext& ctx,
                                                                 ProcessOptions options) {
  if (!ctx.files) return Status::InvalidArgument("the execute service needs the file service");
  if (!ctx.info) return Status::InvalidArgument("the execute service needs the info service");
  if (!ctx.workers) return Status::InvalidArgument("the execute service needs the worker pool");
  if (options.slots < 1) return Status::InvalidArgument("slots must be at least 1");
  if (options.queue < 0) return Status::InvalidArgument("queue must be at least 0");
  if (options.stage_parallel < 1) options.stage_parallel = 1;
  if (options.nice < 0 || options.nice > 19)
    return Status::InvalidArgument("nice must be between 0 and 19");
  std::shared_ptr<ProcessExecutor> e(new ProcessExecutor(ctx, options));
  if (!options.direct_spawn) {
    std::string path = options.launcher_path;
    if (path.empty()) path = fvce_dir() + "/fvce-exec";
    auto launcher = Launcher::Start(ctx.ioc, path, options.nice);
    if (!launcher.ok())
      return Status::IOError(launcher.status().message() +
                             " (it is built beside fvce; or set launcher=\"direct\")");
    e->launcher_ = *launcher;
  }
  return e;
}

ProcessExecutor::ProcessExecutor(NodeContext& ctx, ProcessOptions options)
    : ctx_(ctx), options_(options), free_slots_(options.slots), rng_(ctx.seed ^ 0x65786563ULL) {
  // Programs built beside the fvce binary (the example kernels) are found by name.
  std::string exe_dir = fvce_dir();
  const char* path = std::getenv("PATH");
  std::string system_path = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  base_path_ = exe_dir.empty() ? system_path : exe_dir + ":" + system_path;
  if (const char* home = std::getenv("HOME"); home && *home)
    base_env_.push_back(std::string("HOME=") + home);
  // One locale everywhere, so a task formats numbers the same on every host.
  base_env_.push_back("LANG=C.UTF-8");
  base_env_.push_back("LC_ALL=C.UTF-8");

  auto& m = ctx_.metrics;
  m.describe("fvce_execute_tasks_total", "counter",
             "Tasks this executor finished, by final state.");
  m.describe("fvce_execute_running", "gauge", "Task processes running now.");
  m.describe("fvce_execute_spawn_seconds_total", "counter",
             "Seconds spent spawning task processes (divide by fvce_execute_spawns_total).");
  m.describe("fvce_execute_spawns_total", "counter", "Task processes spawned.");
  m.set("fvce_execute_running", {}, 0);
}

ProcessExecutor::~ProcessExecutor() = default;

std::string ProcessExecutor::task_dir_name(const std::string& task) {
  auto open = task.find('[');
  if (open == std::string::npos || task.back() != ']') return task;
  return task.substr(0, open) + "." + task.substr(open + 1, task.size() - open - 2);
}

std::pair<int, int> ProcessExecutor::occupancy() const {
  std::lock_guard lock(mu_);
  return {free_slots_, static_cast<int>(waiting_.size())};
}

void ProcessExecutor::start() {
  std::vector<std::string> kick;
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
    for (auto& [to, box] : outboxes_)
      if (!box.pending.empty() && !box.sending) {
        box.sending = true;
        kick.push_back(to);
      }
  }
  for (auto& to : kick) asio::co_spawn(ctx_.ioc, deliver(to), asio::detached);
}

void ProcessExecutor::stop() {
  std::vector<std::shared_ptr<Task>> active, dropped;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& t : waiting_) {
      dropped.push_back(t);
      tasks_.erase(Key{t->assignment.workflow, t->assignment.task, t->assignment.attempt});
    }
    waiting_.clear();
    for (auto& [key, t] : tasks_) {
      active.push_back(t);
      // Killed here, not only through the strand: the io_context may stop right after.
      if (t->pid > 0 && !t->reaped) signal_locked(*t, SIGKILL);
    }
  }
  // A task the executor gives up is reported cancelled: its submitter runs it elsewhere
  // without counting a retry (it did nothing wrong).
  for (auto& t : dropped) {
    auto r = make_report(*t, TaskState::cancelled);
    r.message = "not started: the executor on " + ctx_.self.name + " stopped";
    r.finished = ctx_.clock.unix_ms();
    report(*t, std::move(r));
  }
  auto self = shared_from_this();
  for (auto& t : active)
    asio::post(t->strand, [self, t] { self->request_stop(t, StopReason::shutdown); });
  // The launcher kills what it still runs when its socket closes.
  if (launcher_) launcher_->stop();
  if (!active.empty() || !dropped.empty())
    spdlog::info("execute: stopped; killed {} task(s), dropped {} waiting", active.size(),
                 dropped.size());
}

// ---------------------------------------------------------------------------------------
// Accepting and scheduling

asio::awaitable<Status> ProcessExecutor::assign(model::TaskAssignment a) {
  if (!valid_workflow_id(a.workflow))
    co_return Status::InvalidArgument("workflow id '" + a.workflow + "' is not valid");
  if (!valid_task_id(a.task))
    co_return Status::InvalidArgument("task id '" + a.task + "' is not valid");
  if (a.attempt < 1) co_return Status::InvalidArgument("attempt must be at least 1");
  if (a.submitter.empty())
    co_return Status::InvalidArgument("the assignment names no submitter to report to");
  if (a.cores < 1) co_return Status::InvalidArgument("a task needs at least 1 core");
  if (a.cores > options_.slots)
    co_return Status::InvalidArgument("task needs " + std::to_string(a.cores) +
                                      " cores, this host offers " + std::to_string(options_.slots));
  if (a.time_limit_ms < 0) co_return Status::InvalidArgument("time limit must not be negative");
  for (const auto& in : a.inputs)
    if (!valid_file_name(in.name))
      co_return Status::InvalidArgument("input name '" + in.name +
                                        "' must be a relative path without '.' or '..'");
  for (const auto& out : a.outputs)
    if (!valid_file_name(out))
      co_return Status::InvalidArgument("output name '" + out +
                                        "' must be a relative path without '.' or '..'");
  for (const auto& [k, v] : a.env)
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos ||
        v.find('\0') != std::string::npos)
      co_return Status::InvalidArgument("environment variable name '" + k + "' is not valid");

  auto task = std::make_shared<Task>(ctx_.ioc, std::move(a));
  const auto& as = task->assignment;
  task->dir = "work/" + as.workflow + "/" + task_dir_name(as.task);
  task->workdir = task->dir + "/a" + std::to_string(as.attempt);
  Key key{as.workflow, as.task, as.attempt};

  Status result;
  std::vector<std::shared_ptr<Task>> start;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      result = Status::Unavailable("the executor on " + ctx_.self.name + " is shutting down");
    } else if (tasks_.count(key) || recent_.count(key)) {
      result = Status::Conflict("task " + task_label(as) + " is already known here");
    } else if (waiting_.empty() && free_slots_ >= as.cores) {
      free_slots_ -= as.cores;
      task->holds_slots = true;
      tasks_[key] = task;
      start.push_back(task);
    } else if (waiting_.size() < static_cast<std::size_t>(options_.queue)) {
      task->queued = true;
      waiting_.push_back(task);
      tasks_[key] = task;
    } else if (free_slots_ == 0) {
      result = Status::Unavailable("all " + std::to_string(options_.slots) +
                                   " slots busy and the queue is full (" +
                                   std::to_string(waiting_.size()) + " waiting)");
    } else {
      result = Status::Unavailable(
          std::to_string(free_slots_) + " of " + std::to_string(options_.slots) +
          " slots free, not enough for this task, and the queue is full (" +
          std::to_string(waiting_.size()) + " waiting)");
    }
  }
  launch(std::move(start));
  co_return result;
}

std::vector<std::shared_ptr<ProcessExecutor::Task>> ProcessExecutor::take_startable_locked() {
  std::vector<std::shared_ptr<Task>> out;
  while (!stopping_ && !waiting_.empty() && free_slots_ >= waiting_.front()->assignment.cores) {
    auto t = waiting_.front();
    waiting_.pop_front();
    t->queued = false;
    free_slots_ -= t->assignment.cores;
    t->holds_slots = true;
    out.push_back(std::move(t));
  }
  return out;
}

void ProcessExecutor::remember_locked(const Key& key) {
  if (!recent_.insert(key).second) return;
  recent_order_.push_back(key);
  if (recent_order_.size() > kRecentAttempts) {
    recent_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
}

void ProcessExecutor::launch(std::vector<std::shared_ptr<Task>> tasks) {
  for (auto& t : tasks) asio::co_spawn(t->strand, run(t), asio::detached);
}

void ProcessExecutor::release(const std::shared_ptr<Task>& task) {
  std::vector<std::shared_ptr<Task>> start;
  {
    std::lock_guard lock(mu_);
    const auto& a = task->assignment;
    Key key{a.workflow, a.task, a.attempt};
    tasks_.erase(key);
    if (task->holds_slots) {
      free_slots_ += a.cores;
      task->holds_slots = false;
    }
    if (task->counted_running) {
      task->counted_running = false;
      --running_;
      update_running_gauge_locked();
    }
    remember_locked(key);
    start = take_startable_locked();
  }
  launch(std::move(start));
}

asio::awaitable<Status> ProcessExecutor::cancel(model::CancelRequest request) {
  std::vector<std::shared_ptr<Task>> active, dropped, start;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, t] : tasks_) {
      if (std::get<0>(key) != request.workflow) continue;
      if (!request.task.empty() && std::get<1>(key) != request.task) continue;
      (t->queued ? dropped : active).push_back(t);
    }
    for (auto& t : dropped) {
      waiting_.erase(std::find(waiting_.begin(), waiting_.end(), t));
      Key key{t->assignment.workflow, t->assignment.task, t->assignment.attempt};
      tasks_.erase(key);
      remember_locked(key);
    }
    start = take_startable_locked();
  }
  for (auto& t : dropped) {
    auto r = make_report(*t, TaskState::cancelled);
    r.message = "cancelled before it started";
    r.finished = ctx_.clock.unix_ms();
    report(*t, std::move(r));
  }
  auto self = shared_from_this();
  for (auto& t : active)
    asio::post(t->strand, [self, t] { self->request_stop(t, StopReason::cancelled); });
  launch(std::move(start));
  co_return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// One task

asio::awaitable<void> ProcessExecutor::run(std::shared_ptr<Task> task) {
  auto self = shared_from_this();
  try {
    co_await run_steps(task);
  } catch (const std::exception& e) {
    spdlog::error("execute: task {}: {}", task_label(task->assignment), e.what());
    {
      std::lock_guard lock(mu_);
      if (task->pid > 0 && !task->reaped) {
        signal_locked(*task, SIGKILL);
        if (task->launch_id == 0) {
          int status = 0;
          ::waitpid(task->pid, &status, 0);  // SIGKILL'd: returns at once
        }
        task->reaped = true;
      }
    }
    if (!task->final_reported) {
      task->final_reported = true;
      auto r = make_report(*task, TaskState::failed);
      r.message = std::string("internal error in the executor: ") + e.what();
      r.finished = ctx_.clock.unix_ms();
      report(*task, std::move(r));
    }
  }
  release(task);
}

asio::awaitable<void> ProcessExecutor::run_steps(std::shared_ptr<Task> task) {
  const auto& a = task->assignment;
  auto fail = [&](std::string message) {
    if (task->final_reported) return;
    task->final_reported = true;
    auto r = make_report(*task, TaskState::failed);
    r.message = sanitize_text(message);
    r.finished = ctx_.clock.unix_ms();
    report(*task, std::move(r));
  };

  // Cancelled between acceptance and this first step: already reported, nothing to do.
  if (task->final_reported) co_return;
  report(*task, make_report(*task, TaskState::staging));

  auto& files = *ctx_.files;
  Status prepared =
      co_await on_workers(*ctx_.workers, [&] { return prepare_workdir(files, *task); });
  if (!prepared.ok()) {
    fail("cannot prepare the work directory " + task->workdir + ": " + prepared.message());
    co_return;
  }
  Status staged = co_await stage_inputs(task);
  if (task->stop != StopReason::none) co_return;  // reported by request_stop
  if (!staged.ok()) {
    fail(staged.message());
    co_return;
  }

  task->phase = Phase::spawning;
  auto spec = task_spec(*task, base_env_, base_path_);
  if (!spec.ok()) {
    fail(spec.status().message());
    co_return;
  }
  auto spawn_start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  if (launcher_) {
    {
      std::lock_guard lock(mu_);
      task->launch_id = ++next_launch_id_;
    }
    task->events = std::make_shared<Launcher::Channel>(task->strand, 2);
    launcher_->spawn(task->launch_id, *spec, task->events);
    boost::system::error_code ec;
    Launcher::Event ev =
        co_await task->events->async_receive(asio::redirect_error(asio::use_awaitable, ec));
    if (ev.kind != Launcher::Event::started) {
      task->launch_id = 0;
      bool stopping = false;
      {
        std::lock_guard lock(mu_);
        stopping = stopping_;
      }
      if (stopping) {  // given up, not failed: its submitter runs it elsewhere
        request_stop(task, StopReason::shutdown);
        co_return;
      }
      fail(ev.kind == Launcher::Event::failed
               ? std::string(ev.message)
               : std::string("the task launcher ended before the task started"));
      co_return;
    }
    pid = ev.pid;
  } else {
    const Launcher::Spec& the_spec = *spec;
    SpawnResult spawned =
        co_await on_workers(*ctx_.workers, [&] { return spawn_direct(the_spec); });
    if (spawned.pid <= 0) {
      fail(spawned.status.message());
      co_return;
    }
    pid = spawned.pid;
  }
  ctx_.metrics.add(
      "fvce_execute_spawn_seconds_total", {},
      std::chrono::duration<double>(std::chrono::steady_clock::now() - spawn_start).count());
  ctx_.metrics.add("fvce_execute_spawns_total", {});
  auto started_at = ctx_.clock.now();
  std::int64_t started_ms = ctx_.clock.unix_ms();
  {
    std::lock_guard lock(mu_);
    task->pid = pid;
    task->counted_running = true;
    ++running_;
    update_running_gauge_locked();
    // Cancelled (or stopped) while spawning: the cancel was reported already.
    if (task->stop != StopReason::none || stopping_) signal_locked(*task, SIGKILL);
  }
  task->phase = Phase::running;
  if (task->stop == StopReason::none) {
    auto r = make_report(*task, TaskState::running);
    r.started = started_ms;
    report(*task, std::move(r));
    if (a.time_limit_ms > 0) {
      task->limit_timer.expires_after(std::chrono::milliseconds(a.time_limit_ms));
      auto self = shared_from_this();
      task->limit_timer.async_wait([self, task](boost::system::error_code ec) {
        if (!ec) self->request_stop(task, StopReason::time_limit);
      });
    }
  }

  ExitInfo exit = co_await wait_exit(task);
  task->phase = Phase::finishing;
  task->limit_timer.cancel();
  task->grace_timer.cancel();
  {
    std::lock_guard lock(mu_);
    // The launcher was stopped with the executor: the task was killed by the shutdown.
    if (exit.lost && stopping_ && task->stop == StopReason::none) task->stop = StopReason::shutdown;
    if (task->counted_running) {
      task->counted_running = false;
      --running_;
      update_running_gauge_locked();
    }
  }
  if (task->final_reported) co_return;

  auto r = make_report(*task, TaskState::failed);
  r.started = started_ms;
  r.finished = ctx_.clock.unix_ms();
  r.wall_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.clock.now() - started_at).count());
  if (!exit.lost) {
    r.cpu_ms = exit.cpu_ms;
    r.max_rss = exit.max_rss;
    if (WIFEXITED(exit.status)) r.exit_code = WEXITSTATUS(exit.status);
    if (WIFSIGNALED(exit.status)) r.signal = WTERMSIG(exit.status);
  }
  co_await finish_exited(task, std::move(r));
}

asio::awaitable<void> ProcessExecutor::finish_exited(std::shared_ptr<Task> task,
                                                     model::TaskReport r) {
  const auto& a = task->assignment;
  task->final_reported = true;
  switch (task->stop) {
    case StopReason::cancelled:
      r.state = TaskState::cancelled;
      r.message = "cancelled";
      report(*task, std::move(r));
      co_return;
    case StopReason::time_limit:
      r.message = "time limit of " + format_duration(std::chrono::milliseconds(a.time_limit_ms)) +
                  " exceeded";
      report(*task, std::move(r));
      co_return;
    case StopReason::shutdown:
      r.state = TaskState::cancelled;  // given up, not failed: see stop()
      r.message = "killed: the executor on " + ctx_.self.name + " stopped";
      report(*task, std::move(r));
      co_return;
    case StopReason::none:
      break;
  }
  if (!r.exit_code && !r.signal) {
    r.message = "the task's process was reaped elsewhere; its exit status is unknown";
    report(*task, std::move(r));
    co_return;
  }
  if (r.exit_code != 0 || r.signal) {
    fs::path err = task->err_abs;
    // Named, not a temporary: GCC 12 destroys a closure with captures that is built inside
    // a co_await expression twice.
    auto read_tail_of_stderr = [&err] { return stderr_tail(err); };
    std::string tail = co_await on_workers(*ctx_.workers, read_tail_of_stderr);
    std::string what = r.signal ? "killed by " + signal_name(*r.signal)
                                : "exited with code " + std::to_string(*r.exit_code);
    r.message = tail.empty() ? what + " (stderr is empty)" : what + ": " + tail;
    report(*task, std::move(r));
    co_return;
  }
  for (const auto& name : a.outputs) {
    std::string rel = task->workdir + "/" + name;
    auto& files = *ctx_.files;
    OutputCheck check =
        co_await on_workers(*ctx_.workers, [&] { return check_output(files, rel); });
    if (!check.status.ok() || check.kind != 0) {
      r.message = !check.status.ok() ? "output '" + name + "': " + check.status.message()
                  : check.kind == 1
                      ? "task exited 0 but did not write output '" + name + "'"
                      : "task exited 0 but output '" + name + "' is not a regular file";
      r.outputs.clear();
      report(*task, std::move(r));
      co_return;
    }
    auto hashed = co_await files.hash(rel);
    if (!hashed.ok()) {
      r.message = "cannot hash output '" + name + "': " + hashed.status().message();
      r.outputs.clear();
      report(*task, std::move(r));
      co_return;
    }
    model::FileRef ref;
    ref.name = name;
    ref.sha256 = hashed->first;
    ref.size = hashed->second;
    ref.source = ctx_.self.address;
    ref.path = rel;
    ref.executable = check.executable;
    r.outputs.push_back(std::move(ref));
  }
  r.state = TaskState::done;
  report(*task, std::move(r));
}

asio::awaitable<Status> ProcessExecutor::stage_inputs(std::shared_ptr<Task> task) {
  const auto n = task->assignment.inputs.size();
  if (n == 0) co_return Status::Ok();
  auto state = std::make_shared<StageState>();
  auto workers = std::min<std::size_t>(n, static_cast<std::size_t>(options_.stage_parallel));
  using Op = decltype(asio::co_spawn(task->strand, stage_worker(*ctx_.files, task, state),
                                     asio::deferred));
  std::vector<Op> ops;
  for (std::size_t i = 0; i < workers; ++i)
    ops.push_back(
        asio::co_spawn(task->strand, stage_worker(*ctx_.files, task, state), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  co_return state->error;
}

// Reaps the task's process once it has exited: the rest of its process group is killed
// first (while the zombie leader still pins the group id), then wait4 collects the status
// and the resource use. Under mu_, so stop() never signals a reaped group.
std::optional<ExitInfo> ProcessExecutor::try_reap(Task& t) {
  std::lock_guard lock(mu_);
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(t.pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == EINTR) return std::nullopt;
    t.reaped = true;  // ECHILD: reaped by someone else
    ExitInfo lost;
    lost.lost = true;
    return lost;
  }
  if (info.si_pid == 0) return std::nullopt;
  ::kill(-t.pid, SIGKILL);
  ExitInfo e;
  rusage usage{};
  if (::wait4(t.pid, &e.status, WNOHANG, &usage) != t.pid) return std::nullopt;
  auto ms = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1000 +
           static_cast<std::uint64_t>(tv.tv_usec) / 1000;
  };
  e.cpu_ms = ms(usage.ru_utime) + ms(usage.ru_stime);
  e.max_rss = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
  t.reaped = true;
  return e;
}

asio::awaitable<ExitInfo> ProcessExecutor::wait_exit(std::shared_ptr<Task> task) {
  if (task->launch_id != 0) {
    boost::system::error_code ec;
    Launcher::Event ev =
        co_await task->events->async_receive(asio::redirect_error(asio::use_awaitable, ec));
    ExitInfo e;
    std::lock_guard lock(mu_);
    task->reaped = true;
    if (ec || ev.kind != Launcher::Event::exited) {
      // The launcher died: the task, orphaned, would run on unseen. Its group goes too.
      if (!stopping_ && task->pid > 0) ::kill(-task->pid, SIGKILL);
      e.lost = true;
      co_return e;
    }
    e.status = ev.wait_status;
    e.cpu_ms = static_cast<std::uint64_t>((ev.utime_us + ev.stime_us) / 1000);
    e.max_rss = static_cast<std::uint64_t>(ev.max_rss_kib) * 1024;
    co_return e;
  }
  // A pidfd becomes readable when the process exits: one wait, no thread blocked.
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, task->pid, 0));
  if (fd >= 0) {
    asio::posix::stream_descriptor pidfd(task->strand, fd);
    if (auto e = try_reap(*task)) co_return *e;
    boost::system::error_code ec;
    co_await pidfd.async_wait(asio::posix::descriptor_base::wait_read,
                              asio::redirect_error(asio::use_awaitable, ec));
  }
  // Reaped just below in the common case; polling only without pidfd (kernel before 5.3)
  // or after a spurious wake-up.
  asio::steady_timer timer(task->strand);
  for (;;) {
    if (auto e = try_reap(*task)) co_return *e;
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

void ProcessExecutor::signal_locked(Task& task, int sig) {
  if (task.launch_id != 0)
    launcher_->signal(task.launch_id, sig);
  else if (task.pid > 0)
    ::kill(-task.pid, sig);
}

void ProcessExecutor::request_stop(const std::shared_ptr<Task>& task, StopReason reason) {
  if (task->phase == Phase::finishing) return;
  if (task->stop != StopReason::none) {
    // A shutdown escalates a cancel or time limit in its grace period.
    if (reason == StopReason::shutdown && task->phase == Phase::running) {
      std::lock_guard lock(mu_);
      if (!task->reaped) signal_locked(*task, SIGKILL);
    }
    return;
  }
  task->stop = reason;
  if (task->phase == Phase::staging || task->phase == Phase::spawning) {
    // Dropped now; the coroutine frees the slots once its fetches (or the spawn) return.
    task->final_reported = true;
    auto r = make_report(*task, TaskState::cancelled);
    r.message = reason == StopReason::cancelled
                    ? "cancelled before it started"
                    : "not started: the executor on " + ctx_.self.name + " stopped";
    r.finished = ctx_.clock.unix_ms();
    report(*task, std::move(r));
    return;
  }
  int sig = reason == StopReason::shutdown ? SIGKILL : SIGTERM;
  {
    std::lock_guard lock(mu_);
    if (task->reaped) return;
    signal_locked(*task, sig);
  }
  if (sig == SIGTERM) {
    task->grace_timer.expires_after(options_.kill_grace);
    auto self = shared_from_this();
    task->grace_timer.async_wait([self, task](boost::system::error_code ec) {
      if (ec) return;
      std::lock_guard lock(self->mu_);
      if (!task->reaped) self->signal_locked(*task, SIGKILL);
    });
  }
}

// ---------------------------------------------------------------------------------------
// Logs

asio::awaitable<Result<std::string>> ProcessExecutor::logs(std::string workflow, std::string task,
                                                           int attempt, std::string stream,
                                                           std::uint64_t max_bytes) {
  if (!valid_workflow_id(workflow))
    co_return Status::InvalidArgument("workflow id '" + workflow + "' is not valid");
  if (!valid_task_id(task))
    co_return Status::InvalidArgument("task id '" + task + "' is not valid");
  if (stream != "stdout" && stream != "stderr")
    co_return Status::InvalidArgument("stream must be stdout or stderr, not '" + stream + "'");
  if (attempt < 0) co_return Status::InvalidArgument("attempt must be 0 (latest) or more");
  max_bytes = std::min(max_bytes, kMaxLogBytes);
  std::string ext = stream == "stdout" ? ".out" : ".err";
  std::string dir = "work/" + workflow + "/" + task_dir_name(task);
  auto& files = *ctx_.files;
  co_return co_await on_workers(*ctx_.workers, [&]() -> Result<std::string> {
    auto abs = files.resolve(dir);
    if (!abs.ok()) return abs.status();
    int chosen = attempt;
    if (chosen == 0) {
      std::error_code ec;
      for (fs::directory_iterator it(*abs, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (name.size() <= ext.size() + 1 || name[0] != 'a' ||
            name.compare(name.size() - ext.size(), ext.size(), ext) != 0)
          continue;
        auto digits = name.substr(1, name.size() - 1 - ext.size());
        if (digits.empty() || digits.size() > 9 ||
            !std::all_of(digits.begin(), digits.end(), is_digit))
          continue;
        chosen = std::max(chosen, std::stoi(digits));
      }
    }
    std::string what = "no " + stream + " of task " + task +
                       (attempt ? " attempt " + std::to_string(attempt) : "") + " of workflow " +
                       workflow + " on this host";
    if (chosen == 0) return Status::NotFound(what);
    auto tail = read_tail(*abs / ("a" + std::to_string(chosen) + ext), max_bytes);
    if (!tail.ok() && tail.status().code() == ErrorCode::not_found) return Status::NotFound(what);
    return tail;
  });
}

asio::awaitable<Status> ProcessExecutor::cleanup(model::CancelRequest request) {
  if (!valid_workflow_id(request.workflow))
    co_return Status::InvalidArgument("workflow id '" + request.workflow + "' is not valid");
  if (!request.task.empty() && !valid_task_id(request.task))
    co_return Status::InvalidArgument("task id '" + request.task + "' is not valid");
  std::set<std::string> active;  // work directories of attempts still here
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, t] : tasks_)
      if (std::get<0>(key) == request.workflow) active.insert(t->workdir);
  }
  std::string root = "work/" + request.workflow;
  if (!request.task.empty()) root += "/" + task_dir_name(request.task);
  auto& files = *ctx_.files;
  co_return co_await on_workers(*ctx_.workers, [&]() -> Status {
    auto abs = files.resolve(root);
    if (!abs.ok()) return abs.status();
    std::error_code ec;
    if (!fs::is_directory(*abs, ec)) return Status::Ok();
    // work/<workflow>/<task-dir>/a<N>/ are removed; a<N>.out and a<N>.err stay.
    std::vector<std::pair<std::string, fs::path>> task_dirs;
    if (request.task.empty()) {
      for (fs::directory_iterator it(*abs, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec) && !it->is_symlink(ec))
          task_dirs.emplace_back(root + "/" + it->path().filename().string(), it->path());
    } else {
      task_dirs.emplace_back(root, *abs);
    }
    std::vector<fs::path> doomed;  // collected first: no removal while a directory is read
    for (const auto& [rel, dir] : task_dirs) {
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (name.size() < 2 || name[0] != 'a' ||
            !std::all_of(name.begin() + 1, name.end(), is_digit) || it->is_symlink(ec) ||
            !it->is_directory(ec) || active.count(rel + "/" + name))
          continue;
        doomed.push_back(it->path());
      }
    }
    for (const auto& p : doomed) {
      fs::remove_all(p, ec);
      if (ec) return Status::IOError("cannot remove " + p.string() + ": " + ec.message());
    }
    return Status::Ok();
  });
}

// ---------------------------------------------------------------------------------------
// Reports

model::TaskReport ProcessExecutor::make_report(const Task& task, TaskState state) const {
  model::TaskReport r;
  r.workflow = task.assignment.workflow;
  r.task = task.assignment.task;
  r.attempt = task.assignment.attempt;
  r.host = ctx_.self.id;
  r.state = state;
  return r;
}

void ProcessExecutor::count_final(TaskState state) {
  ctx_.metrics.add("fvce_execute_tasks_total", {{"state", std::string(model::to_string(state))}});
}

void ProcessExecutor::update_running_gauge_locked() {
  ctx_.metrics.set("fvce_execute_running", {}, running_);
}

void ProcessExecutor::report(Task& task, model::TaskReport r) {
  std::vector<std::shared_ptr<Task>> start;
  if (model::is_final(r.state)) {
    count_final(r.state);
    std::lock_guard lock(mu_);
    if (task.holds_slots) {
      free_slots_ += task.assignment.cores;
      task.holds_slots = false;
      start = take_startable_locked();
    }
  }
  const std::string& to = task.assignment.submitter;
  bool kick = false;
  std::size_t dropped = 0;
  bool linger = false;
  bool final = model::is_final(r.state);
  {
    std::lock_guard lock(mu_);
    auto& box = outboxes_[to];
    // A report not sent yet for the same attempt is superseded: states only move forward,
    // and a later report carries what an earlier one said (start time included).
    bool merged = false;
    std::size_t looked = 0;
    for (auto it = box.pending.rbegin(); it != box.pending.rend() && looked < 64; ++it, ++looked) {
      auto& p = it->report;
      if (p.attempt == r.attempt && p.task == r.task && p.workflow == r.workflow &&
          !model::is_final(p.state)) {
        p = std::move(r);
        it->give_up = ctx_.clock.now() + options_.report_retry_for;
        merged = true;
        break;
      }
    }
    if (!merged) {
      if (box.pending.size() >= kMaxPendingPerSubmitter) {
        box.pending.pop_front();
        ++dropped;
      }
      auto now = ctx_.clock.now();
      box.pending.push_back(Pending{std::move(r), now + options_.report_retry_for, now});
    }
    if (started_ && !box.sending) {
      if (final || options_.report_linger.count() == 0)
        kick = box.sending = true;
      else if (!box.lingering)
        linger = box.lingering = true;
    }
  }
  if (dropped)
    spdlog::warn("execute: {} reports wait for {}; dropped the oldest", kMaxPendingPerSubmitter,
                 to);
  if (kick) asio::co_spawn(ctx_.ioc, deliver(to), asio::detached);
  if (linger) asio::co_spawn(ctx_.ioc, deliver_later(to), asio::detached);
  launch(std::move(start));
}

// Starts deliver() after the linger time, unless a final report started it meanwhile: a
// task's progress reports then share a request with its end when it is short.
asio::awaitable<void> ProcessExecutor::deliver_later(std::string to) {
  auto self = shared_from_this();
  asio::steady_timer timer(ctx_.ioc, options_.report_linger);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  bool kick = false;
  {
    std::lock_guard lock(mu_);
    auto it = outboxes_.find(to);
    if (it == outboxes_.end()) co_return;
    it->second.lingering = false;
    if (!it->second.sending && !it->second.pending.empty()) kick = it->second.sending = true;
  }
  if (kick) co_await deliver(to);
}

asio::awaitable<std::pair<int, std::string>> ProcessExecutor::send_reports(const std::string& to,
                                                                           model::TaskReports doc) {
  if (local_sink_ && to == ctx_.self.address) {
    Status s = co_await local_sink_(std::move(doc));
    if (s.ok()) co_return std::pair<int, std::string>{202, ""};
    co_return std::pair<int, std::string>{http_status(s.code()), s.message()};
  }
  std::string body = model::to_xml(doc);
  http::RequestOptions opts;
  opts.timeout = options_.report_timeout;
  opts.attempts = 1;
  auto res =
      co_await ctx_.client.request(to, http::Verb::post, "/submit/reports", std::move(body), opts);
  if (!res.ok()) co_return std::pair<int, std::string>{0, res.status().message()};
  int code = res->result_int();
  std::string why;
  if (code >= 300) why = http::status_from_error_body(code, res->body()).message();
  co_return std::pair<int, std::string>{code, why};
}

// Drains one submitter's outbox: whatever is pending goes in one request, so a burst of
// state changes costs one request. Order is kept: a failed batch goes back to the front.
asio::awaitable<void> ProcessExecutor::deliver(std::string to) {
  auto self = shared_from_this();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::chrono::milliseconds backoff{0};
  for (;;) {
    std::vector<Pending> batch;
    std::size_t expired = 0;
    {
      std::lock_guard lock(mu_);
      auto& box = outboxes_[to];
      auto now = ctx_.clock.now();
      auto old_size = box.pending.size();
      std::erase_if(box.pending, [&](const Pending& p) { return p.give_up < now; });
      expired = old_size - box.pending.size();
      if (box.pending.empty()) {
        outboxes_.erase(to);
        if (expired)
          spdlog::warn("execute: gave up delivering {} report(s) to {} after {}", expired, to,
                       format_duration(options_.report_retry_for));
        co_return;
      }
      // Only fresh progress reports: let them wait for company (see deliver_later).
      if (options_.report_linger.count() > 0 && backoff.count() == 0 && box.one_by_one == 0 &&
          now - box.pending.front().queued < options_.report_linger &&
          std::none_of(box.pending.begin(), box.pending.end(),
                       [](const Pending& p) { return model::is_final(p.report.state); })) {
        box.sending = false;
        if (!box.lingering) {
          box.lingering = true;
          asio::co_spawn(ctx_.ioc, deliver_later(to), asio::detached);
        }
        co_return;
      }
      std::size_t n = box.one_by_one > 0 ? 1 : std::min(box.pending.size(), kMaxBatch);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(box.pending.front()));
        box.pending.pop_front();
      }
    }
    if (expired)
      spdlog::warn("execute: gave up delivering {} report(s) to {} after {}", expired, to,
                   format_duration(options_.report_retry_for));

    model::TaskReports doc;
    for (const auto& p : batch) doc.reports.push_back(p.report);
    auto [code, why] = co_await send_reports(to, std::move(doc));
    // 4xx: the submitter read the reports and refuses them; resending cannot help (408 and
    // 429 are the exceptions: try again later).
    bool refused = code >= 400 && code < 500 && code != 408 && code != 429;
    if ((code >= 200 && code < 300) || (refused && batch.size() == 1)) {
      if (refused) {
        const auto& r = batch.front().report;
        spdlog::warn("execute: {} refused the report {}/{} attempt {} ({}): {}; dropped", to,
                     r.workflow, r.task, r.attempt, model::to_string(r.state), why);
      }
      backoff = std::chrono::milliseconds(0);
      std::lock_guard lock(mu_);
      auto& box = outboxes_[to];
      box.one_by_one -= std::min(box.one_by_one, batch.size());
      continue;
    }
    {
      std::lock_guard lock(mu_);
      auto& box = outboxes_[to];
      for (auto it = batch.rbegin(); it != batch.rend(); ++it)
        box.pending.push_front(std::move(*it));
      // One bad report must not sink the others: find it by sending them one at a time.
      if (refused) box.one_by_one = batch.size();
    }
    if (refused) continue;
    backoff = std::min(kBackoffMax, std::max(kBackoffBase, backoff * 2));
    std::chrono::milliseconds wait;
    {
      std::lock_guard lock(mu_);
      std::uniform_int_distribution<std::int64_t> jitter(0, backoff.count() / 2);
      wait = backoff / 2 + std::chrono::milliseconds(jitter(rng_));
    }
    spdlog::debug("execute: reports to {} not delivered ({}); retrying in {}", to,
                  code ? "HTTP " + std::to_string(code) + ": " + why : why, format_duration(wait));
    timer.expires_after(wait);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace fvce::execute
