#include "services/execute/impl/process.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "node/core/files.h"
#include "node/core/units.h"
#include "services/execute/impl/direct_spawner.h"
#include "services/execute/impl/launcher.h"

namespace fvce::execute {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

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

class ProcessRun final : public TaskRun {
 public:
  // A process that has started (at `started`, unix ms).
  ProcessRun(std::shared_ptr<Spawner> spawner, std::uint64_t id,
             std::shared_ptr<Spawner::Channel> events, const Clock& clock, std::int64_t started,
             std::shared_ptr<TaskCgroup> group)
      : spawner_(std::move(spawner)),
        id_(id),
        events_(std::move(events)),
        clock_(clock),
        started_(started),
        group_(std::move(group)) {}
  // One queued behind another (Spawner::spawn_after): its first event is still to come. The
  // spec is kept to start it on a new launcher if the old one dies with its predecessor.
  ProcessRun(std::shared_ptr<Spawner> spawner, std::uint64_t id,
             std::shared_ptr<Spawner::Channel> events, const Clock& clock, Spawner::Spec spec,
             std::shared_ptr<TaskCgroup> group)
      : ProcessRun(std::move(spawner), id, std::move(events), clock, std::int64_t{0},
                   std::move(group)) {
    awaiting_start_ = true;
    spec_ = std::move(spec);
  }

  std::uint64_t id() const { return id_; }

  asio::awaitable<RunEvent> next() override {
    if (awaiting_start_) co_return co_await first_event();
    if (!told_started_) {
      told_started_ = true;
      RunEvent e;
      e.kind = RunEvent::started;
      e.at_ms = started_;
      co_return e;
    }
    boost::system::error_code ec;
    Spawner::Event ev =
        co_await events_->async_receive(asio::redirect_error(asio::use_awaitable, ec));
    RunEvent e;
    e.kind = RunEvent::ended;
    e.at_ms = clock_.unix_ms();
    if (ec || ev.kind != Spawner::Event::exited) {
      e.lost = true;
      e.message = ec ? "the task's spawner went away" : std::string(ev.message);
      if (e.message.empty()) e.message = "the task launcher ended while the task ran";
      co_return e;
    }
    if (WIFEXITED(ev.wait_status)) e.exit_code = WEXITSTATUS(ev.wait_status);
    if (WIFSIGNALED(ev.wait_status)) e.signal = WTERMSIG(ev.wait_status);
    e.cpu_ms = static_cast<std::uint64_t>((ev.utime_us + ev.stime_us) / 1000);
    e.max_rss = static_cast<std::uint64_t>(ev.max_rss_kib) * 1024;
    if (group_) {
      if (auto kills = group_->oom_kills(); kills > 0)
        e.message = "the kernel killed " + std::to_string(kills) +
                    " of its processes, which together reached their control group's memory "
                    "limit of " +
                    format_bytes(group_->memory_limit()) + ", the declared memory with headroom";
      group_.reset();  // whatever is left in it is killed, and it is removed
    }
    co_return e;
  }

  // A run still queued behind another is withdrawn by either (Spawner::signal).
  void stop(bool force) override { spawner_->signal(id_, force ? SIGKILL : SIGTERM); }
  bool signal(int sig) override {
    if (awaiting_start_) return false;  // a queued run would be withdrawn by it
    spawner_->signal(id_, sig);
    return true;
  }

 private:
  // The first event of a queued run: started, or why it never was.
  asio::awaitable<RunEvent> first_event() {
    awaiting_start_ = false;
    told_started_ = true;
    boost::system::error_code ec;
    Spawner::Event ev =
        co_await events_->async_receive(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && ev.kind == Spawner::Event::lost) {
      // The launcher died while it held this task back: its predecessor died with it, so
      // the slots are free, and the new launcher starts it now (or says the executor stops).
      spawner_->spawn(id_, spec_, events_);
      ev = co_await events_->async_receive(asio::redirect_error(asio::use_awaitable, ec));
    }
    spec_ = {};
    RunEvent e;
    e.at_ms = clock_.unix_ms();
    if (!ec && ev.kind == Spawner::Event::started) {
      e.kind = RunEvent::started;
      co_return e;
    }
    e.kind = RunEvent::not_started;
    e.message = ec || ev.kind == Spawner::Event::lost
                    ? "the task launcher ended before the task started"
                    : std::string(ev.message);
    co_return e;
  }

  std::shared_ptr<Spawner> spawner_;
  std::uint64_t id_;
  std::shared_ptr<Spawner::Channel> events_;
  const Clock& clock_;
  std::int64_t started_ = 0;
  bool told_started_ = false;
  bool awaiting_start_ = false;
  Spawner::Spec spec_;
  std::shared_ptr<TaskCgroup> group_;
};

}  // namespace

Result<std::unique_ptr<ProcessRunner>> ProcessRunner::Create(NodeContext& ctx,
                                                             ProcessOptions options) {
  if (options.nice < 0 || options.nice > 19)
    return Status::InvalidArgument("nice must be between 0 and 19");
  std::shared_ptr<Spawner> spawner;
  if (options.direct_spawn) {
    spawner = DirectSpawner::Create(ctx.ioc, ctx.workers);
  } else {
    std::string path = options.launcher_path;
    if (path.empty()) path = program_dir() + "/fvce-exec";
    auto launcher = Launcher::Start(ctx.ioc, path, options.nice);
    if (!launcher.ok())
      return Status::IOError(launcher.status().message() +
                             " (it is built beside fvce; or set launcher=\"direct\")");
    spawner = *launcher;
  }
  return std::unique_ptr<ProcessRunner>(new ProcessRunner(ctx, options, std::move(spawner)));
}

ProcessRunner::ProcessRunner(NodeContext& ctx, ProcessOptions options,
                             std::shared_ptr<Spawner> spawner)
    : ctx_(ctx), options_(options), spawner_(std::move(spawner)) {
  // Programs built beside the fvce binary (the example kernels) are found by name.
  std::string exe_dir = program_dir();
  const char* path = std::getenv("PATH");
  std::string system_path = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  base_path_ = exe_dir.empty() ? system_path : exe_dir + ":" + system_path;
  if (const char* home = std::getenv("HOME"); home && *home)
    base_env_.push_back(std::string("HOME=") + home);
  // One locale everywhere, so a task formats numbers the same on every host.
  base_env_.push_back("LANG=C.UTF-8");
  base_env_.push_back("LC_ALL=C.UTF-8");
}

Result<std::optional<Spawner::Spec::Identity>> task_identity(const AccountMap& map,
                                                             const std::string& owner,
                                                             bool node_is_root) {
  // Not root: tasks run as the node's user. A node run as root with no map at all refuses to
  // start (register_impls.cpp); a runner built directly that way runs as the node's user.
  if (!node_is_root || map.empty()) return std::optional<Spawner::Spec::Identity>();
  std::string account = map.account_of(owner);
  if (account.empty())
    return Status::Forbidden("user '" + owner +
                             "' has no local account on this node (it runs as root and runs "
                             "tasks only as mapped accounts: the execute service's parameter "
                             "'accounts' in deploy.xml)");
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  int rc = ::getpwnam_r(account.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || !found)
    return Status::Forbidden("user '" + owner + "' maps to local account '" + account +
                             "', which does not exist on this host");
  if (pw.pw_uid == 0)
    return Status::Forbidden("user '" + owner + "' maps to local account '" + account +
                             "', which is root; tasks never run as root");
  Spawner::Spec::Identity id;
  id.uid = pw.pw_uid;
  id.gid = pw.pw_gid;
  int n = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  if (::getgrouplist(account.c_str(), pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<std::size_t>(n));
    ::getgrouplist(account.c_str(), pw.pw_gid, groups.data(), &n);
  }
  groups.resize(static_cast<std::size_t>(std::max(n, 0)));
  for (gid_t g : groups)
    if (g == 0)
      return Status::Forbidden("local account '" + account + "' (of user '" + owner +
                               "') is in group root; tasks never run with it");
  id.groups = std::move(groups);
  return std::optional<Spawner::Spec::Identity>(std::move(id));
}

Status reachable_by_others(const fs::path& dir) {
  std::error_code ec;
  fs::path abs = fs::absolute(dir, ec).lexically_normal();
  fs::path at;
  for (const auto& part : abs) {
    at /= part;
    struct stat st {};
    if (::stat(at.c_str(), &st) != 0)
      return Status::IOError("cannot stat " + at.string() + ": " + std::strerror(errno));
    if (!(st.st_mode & S_IXOTH)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return Status::Forbidden(at.string() + " is mode " + mode +
                               ": other accounts cannot pass through it to " + abs.string() +
                               " (let them: chmod o+x " + at.string() +
                               ", or choose a directory they can reach)");
    }
  }
  return Status::Ok();
}

namespace {

// Gives the task's directories to the account it runs as, private to it (0700): the task
// directory and its attempt directory with the directories made for its inputs. Files are
// left alone: staged inputs are links to the store's read-only copies, which stay the node's.
Status hand_over_dirs(const fs::path& workdir, const Spawner::Spec::Identity& who) {
  auto give = [&](const fs::path& p) -> Status {
    if (::lchown(p.c_str(), who.uid, who.gid) != 0 || ::chmod(p.c_str(), 0700) != 0)
      return Status::IOError("cannot give " + p.string() + " to uid " + std::to_string(who.uid) +
                             ": " + std::strerror(errno));
    return Status::Ok();
  };
  if (auto s = give(workdir.parent_path()); !s.ok()) return s;
  if (auto s = give(workdir); !s.ok()) return s;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(workdir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec))
      if (auto s = give(it->path()); !s.ok()) return s;
  }
  // The workflow's directory: others may pass through, not list it.
  ::chmod(workdir.parent_path().parent_path().c_str(), 0711);
  return Status::Ok();
}

}  // namespace

Result<Spawner::Spec> ProcessRunner::make_spec(const RunRequest& request,
                                               std::shared_ptr<TaskCgroup>* group) {
  const auto& a = request.assignment;
  const auto& dir = request.dir;
  auto who = task_identity(options_.accounts, a.owner, ::geteuid() == 0);
  if (!who.ok()) return who.status();
  // Inputs declared executable become executable (a few stat/chmod calls).
  for (const auto& in : a.inputs) {
    if (!in.executable) continue;
    fs::path p = dir.workdir_abs / in.name;
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) ::chmod(p.c_str(), (st.st_mode & 07777) | 0111);
  }

  std::map<std::string, std::string> env;
  for (const auto& kv : base_env_) {
    auto eq = kv.find('=');
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env["PATH"] = base_path_;
  // A task run as a mapped account does not see the node's own home.
  if (!env.count("HOME") || *who) env["HOME"] = dir.workdir_abs.string();
  env["TMPDIR"] = dir.workdir_abs.string();
  env["OMP_NUM_THREADS"] = std::to_string(a.cores);
  for (const auto& [k, v] : a.env) env[k] = v;
  env["FVCE_WORKFLOW"] = a.workflow;
  env["FVCE_TASK"] = a.task;
  env["FVCE_ATTEMPT"] = std::to_string(a.attempt);

  Result<fs::path> program = Status::NotFound("");
  const std::string& path = env["PATH"];
  std::string key = a.cmd.find('/') == std::string::npos ? path + '\0' + a.cmd : std::string();
  std::string cached;
  if (!key.empty()) {
    std::lock_guard lock(found_mu_);
    if (auto it = found_.find(key); it != found_.end()) cached = it->second;
  }
  if (!cached.empty() && ::access(cached.c_str(), X_OK) == 0) {
    program = fs::path(cached);
  } else {
    program = resolve_command(a.cmd, dir.workdir_abs, path);
    if (!program.ok()) return program.status();
    if (!key.empty()) {
      std::lock_guard lock(found_mu_);
      if (found_.size() > 4096) found_.clear();
      found_[key] = program->string();
    }
  }

  Spawner::Spec spec;
  spec.program = program->string();
  spec.argv.push_back(a.cmd);
  for (const auto& s : a.args) spec.argv.push_back(s);
  for (const auto& [k, v] : env) spec.env.push_back(k + "=" + v);
  spec.cwd = dir.workdir_abs.string();
  spec.out = dir.out_abs.string();
  spec.err = dir.err_abs.string();
  if (*who) {
    if (auto s = hand_over_dirs(dir.workdir_abs, **who); !s.ok()) return s;
    spec.run_as = std::move(**who);
  }
  // Limits from the declared needs: memory (with a quarter's headroom for the allocator and
  // the runtime) and CPU time (the time limit on every declared core, and a little more: the
  // executor's own wall-clock limit normally ends the task first).
  if (a.memory > 0) spec.data_limit = std::max(a.memory + a.memory / 4, a.memory + (64u << 20));
  if (a.time_limit_ms > 0)
    spec.cpu_limit_s = static_cast<std::uint64_t>((a.time_limit_ms + 999) / 1000) *
                           static_cast<std::uint64_t>(std::max(1, a.cores)) +
                       10;
  // Its control group holds the whole process tree to the same memory and to its cores.
  if (options_.cgroups) {
    auto made = options_.cgroups->make(a.workflow + "." + a.task + ".a" + std::to_string(a.attempt),
                                       spec.data_limit, a.cores);
    if (!made.ok()) return made.status();
    for (const auto& p : (*made)->procs()) spec.cgroup_procs.push_back(p);
    *group = std::move(*made);
  }

  return spec;
}

asio::awaitable<Result<std::unique_ptr<TaskRun>>> ProcessRunner::start(RunRequest request) {
  std::shared_ptr<TaskCgroup> group;
  auto spec = make_spec(request, &group);
  if (!spec.ok()) co_return spec.status();
  std::uint64_t id = ++next_id_;
  auto events = std::make_shared<Spawner::Channel>(co_await asio::this_coro::executor, 2);
  spawner_->spawn(id, *spec, events);
  boost::system::error_code ec;
  Spawner::Event ev = co_await events->async_receive(asio::redirect_error(asio::use_awaitable, ec));
  if (ec || ev.kind == Spawner::Event::lost)
    co_return Status::Unavailable("the task launcher ended before the task started");
  if (ev.kind == Spawner::Event::failed) co_return Status::IOError(ev.message);
  co_return std::unique_ptr<TaskRun>(std::make_unique<ProcessRun>(
      spawner_, id, std::move(events), ctx_.clock, ctx_.clock.unix_ms(), std::move(group)));
}

Result<std::unique_ptr<TaskRun>> ProcessRunner::start_after(const RunRequest& request,
                                                            TaskRun& after) {
  auto* before = dynamic_cast<ProcessRun*>(&after);
  if (!before || !spawner_->spawns_after())
    return Status::Internal("start_after: not a run of this runner's launcher");
  std::shared_ptr<TaskCgroup> group;
  auto spec = make_spec(request, &group);
  if (!spec.ok()) return spec.status();
  std::uint64_t id = ++next_id_;
  auto events = std::make_shared<Spawner::Channel>(ctx_.ioc.get_executor(), 2);
  spawner_->spawn_after(id, before->id(), *spec, events);
  return std::unique_ptr<TaskRun>(std::make_unique<ProcessRun>(
      spawner_, id, std::move(events), ctx_.clock, std::move(*spec), std::move(group)));
}

void ProcessRunner::stop() {
  spawner_->stop();
}

}  // namespace fvce::execute
