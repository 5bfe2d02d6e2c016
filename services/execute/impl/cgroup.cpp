#include "services/execute/impl/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fvce::execute {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kCpuPeriodUs = 100000;

std::string errno_text(int e) {
  return std::strerror(e);
}

// Writes text to a control file; the status names the file and the kernel's refusal.
Status write_file(const fs::path& file, const std::string& text) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + file.string() + ": " + errno_text(errno));
  ssize_t n = ::write(fd, text.data(), text.size());
  int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    return Status::IOError("cannot write '" + text + "' to " + file.string() + ": " +
                           errno_text(n < 0 ? e : EIO));
  return Status::Ok();
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  for (const auto& s : v)
    if (s == x) return true;
  return false;
}

// "key N" in a flat-keyed file (memory.events, memory.oom_control).
std::uint64_t keyed(const fs::path& file, const std::string& key) {
  std::istringstream in(read_file(file));
  std::string k;
  std::uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

struct Mount {
  fs::path point;
  std::string root;
  std::string fstype;
  std::vector<std::string> options;  // the super options (v1: the controllers)
};

std::vector<Mount> read_mounts() {
  std::vector<Mount> out;
  std::istringstream in(read_file("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root point options [optional...] - fstype source super-options
    std::istringstream f(line);
    std::string id, parent, dev, root, point, opts, word;
    f >> id >> parent >> dev >> root >> point >> opts;
    while (f >> word && word != "-") {
    }
    Mount m;
    std::string source, super;
    f >> m.fstype >> source >> super;
    if (m.fstype != "cgroup" && m.fstype != "cgroup2") continue;
    m.point = point;
    m.root = root;
    m.options = split(super, ',');
    out.push_back(std::move(m));
  }
  return out;
}

struct Group {
  std::string hierarchy;
  std::vector<std::string> controllers;
  std::string path;
};

std::vector<Group> read_groups() {
  std::vector<Group> out;
  std::istringstream in(read_file("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    out.push_back(
        {line.substr(0, a), split(line.substr(a + 1, b - a - 1), ','), line.substr(b + 1)});
  }
  return out;
}

// Where the group at `path` (as /proc/self/cgroup says) lies under mount m.
fs::path under(const Mount& m, std::string path) {
  if (m.root != "/" && path.rfind(m.root, 0) == 0) path = path.substr(m.root.size());
  return m.point / fs::path(path).relative_path();
}

// A name a directory may have: letters, digits, '.', '_' and '-'; at most 100 characters.
std::string safe_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (out.size() >= 100) break;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), 't');
  return out;
}

// Kills every process in group dir (its cgroup.kill where the kernel has it).
void kill_group(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / "cgroup.kill", ec) && write_file(dir / "cgroup.kill", "1").ok()) return;
  for (int round = 0; round < 10; ++round) {
    auto pids = split(read_file(dir / "cgroup.procs"), '\n');
    if (pids.empty()) return;
    for (const auto& p : pids) {
      pid_t pid = static_cast<pid_t>(std::atol(p.c_str()));
      if (pid > 1 && pid != ::getpid()) ::kill(pid, SIGKILL);
    }
  }
}

// Removes the groups below dir (killing what is in them), then dir; false when one is busy.
bool remove_tree(const fs::path& dir) {
  std::error_code ec;
  bool all = true;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec)) all = remove_tree(it->path()) && all;
  }
  kill_group(dir);
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return false;
  return all;
}

// Groups fvce-PID[-node] in parent of nodes no longer running.
void sweep(const fs::path& parent) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(parent, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (n.rfind("fvce-", 0) != 0 || !it->is_directory(ec)) continue;
    std::string digits = n.substr(5);
    bool node_leaf = digits.size() > 5 && digits.compare(digits.size() - 5, 5, "-node") == 0;
    if (node_leaf) digits.resize(digits.size() - 5);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::atol(digits.c_str()));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (node_leaf)
      ::rmdir(it->path().c_str());  // empty once its node is gone
    else
      remove_tree(it->path());
  }
}

// Whether a child process can join the groups: forks one that writes itself into each
// cgroup.procs and exits (a host may let the node make groups and set limits, yet refuse
// the move, e.g. across a delegation boundary).
Status can_join(const std::vector<std::string>& procs) {
  pid_t pid = ::fork();
  if (pid < 0) return Status::IOError(std::string("fork: ") + errno_text(errno));
  if (pid == 0) {
    int code = 0;
    for (std::size_t i = 0; i < procs.size() && code == 0; ++i) {
      int fd = ::open(procs[i].c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) code = 10 + static_cast<int>(i);
      if (fd >= 0) ::close(fd);
    }
    ::_exit(code);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  int which = WIFEXITED(status) ? WEXITSTATUS(status) - 10 : -1;
  return Status::IOError("a process cannot join " +
                         (which >= 0 && which < static_cast<int>(procs.size())
                              ? procs[static_cast<std::size_t>(which)]
                              : std::string("its control group")));
}

}  // namespace

// ---- TaskCgroup

TaskCgroup::TaskCgroup(std::shared_ptr<TaskCgroups> owner, std::vector<fs::path> dirs,
                       fs::path memory_dir, std::uint64_t memory_limit)
    : owner_(std::move(owner)),
      dirs_(std::move(dirs)),
      memory_dir_(std::move(memory_dir)),
      memory_limit_(memory_limit) {
  for (const auto& d : dirs_) procs_.push_back((d / "cgroup.procs").string());
}

TaskCgroup::~TaskCgroup() {
  kill_all();
  owner_->release(dirs_);
}

std::uint64_t TaskCgroup::oom_kills() const {
  if (memory_dir_.empty()) return 0;
  if (owner_->version() == TaskCgroups::Version::v2)
    return keyed(memory_dir_ / "memory.events", "oom_kill");
  return keyed(memory_dir_ / "memory.oom_control", "oom_kill");
}

void TaskCgroup::kill_all() const {
  for (const auto& d : dirs_) kill_group(d);
}

// ---- TaskCgroups

Result<std::shared_ptr<TaskCgroups>> TaskCgroups::Open(std::string_view mode,
                                                       std::string* why_not) {
  if (mode == "off") {
    if (why_not) *why_not = "turned off (cgroups=\"off\")";
    return std::shared_ptr<TaskCgroups>();
  }
  if (mode != "auto" && mode != "required")
    return Status::InvalidArgument("'" + std::string(mode) + "' is not auto, required or off");
  std::vector<std::string> why;
  auto mounts = read_mounts();
  auto groups = read_groups();
  std::string me = "fvce-" + std::to_string(::getpid());
  std::shared_ptr<TaskCgroups> made(new TaskCgroups());

  // cgroup v2: the node's own group, if it hands memory or cpu down.
  const Mount* v2 = nullptr;
  for (const auto& m : mounts)
    if (m.fstype == "cgroup2") v2 = &m;
  const Group* g2 = nullptr;
  for (const auto& g : groups)
    if (g.hierarchy == "0") g2 = &g;
  if (!v2 || !g2) {
    why.push_back("no cgroup v2 file system is mounted");
  } else {
    fs::path node = under(*v2, g2->path);
    auto offered = split(read_file(node / "cgroup.controllers"), ' ');
    for (auto& c : offered)
      if (!c.empty() && c.back() == '\n') c.pop_back();
    bool mem = has(offered, "memory"), cpu = has(offered, "cpu");
    std::string want =
        std::string(mem ? "+memory" : "") + (mem && cpu ? " " : "") + (cpu ? "+cpu" : "");
    if (want.empty()) {
      why.push_back("cgroup v2: the node's group " + node.string() +
                    " offers neither the memory nor the cpu controller");
    } else {
      sweep(node);
      Status s = write_file(node / "cgroup.subtree_control", want);
      if (!s.ok()) {
        // A group that hands controllers down holds no processes: the node moves into a leaf
        // of its own first (so does fvce-exec, which it starts later).
        std::error_code ec;
        fs::path leaf = node / (me + "-node");
        fs::create_directory(leaf, ec);
        if (!ec && write_file(leaf / "cgroup.procs", "0").ok())
          s = write_file(node / "cgroup.subtree_control", want);
      }
      fs::path base = node / me;
      std::error_code ec;
      if (s.ok()) {
        fs::create_directory(base, ec);
        if (ec) s = Status::IOError("cannot make " + base.string() + ": " + ec.message());
      }
      if (s.ok()) s = write_file(base / "cgroup.subtree_control", want);
      if (s.ok()) {
        made->version_ = Version::v2;
        made->bases_ = {base};
        made->memory_ = mem;
        made->cpu_ = cpu;
        made->memory_base_ = made->cpu_base_ = base;
        s = made->probe();
        if (s.ok()) return made;
        made->bases_.clear();
        made->memory_ = made->cpu_ = false;
      }
      ::rmdir(base.c_str());
      why.push_back("cgroup v2: " + s.message());
    }
  }

  // cgroup v1: the memory and cpu hierarchies, where the node may make groups.
  for (const char* controller : {"memory", "cpu"}) {
    const Mount* mount = nullptr;
    for (const auto& m : mounts)
      if (m.fstype == "cgroup" && has(m.options, controller)) mount = &m;
    const Group* group = nullptr;
    for (const auto& g : groups)
      if (has(g.controllers, controller)) group = &g;
    if (!mount || !group) {
      why.push_back(std::string("cgroup v1: no ") + controller + " hierarchy");
      continue;
    }
    fs::path node = under(*mount, group->path);
    sweep(node);
    fs::path base = node / me;
    std::error_code ec;
    fs::create_directory(base, ec);
    if (ec) {
      why.push_back("cgroup v1: cannot make " + base.string() + ": " + ec.message());
      continue;
    }
    made->bases_.push_back(base);
    if (std::string(controller) == "memory") {
      made->memory_ = true;
      made->memory_base_ = base;
    } else {
      made->cpu_ = true;
      made->cpu_base_ = base;
    }
  }
  if (made->memory_ || made->cpu_) {
    made->version_ = Version::v1;
    auto s = made->probe();
    if (s.ok()) return made;
    why.push_back("cgroup v1: " + s.message());
    for (const auto& b : made->bases_) ::rmdir(b.c_str());
    made->bases_.clear();
    made->memory_ = made->cpu_ = false;
  }
  std::string text;
  for (const auto& w : why) text += (text.empty() ? "" : "; ") + w;
  if (why_not) *why_not = text;
  if (mode == "required")
    return Status::InvalidArgument("per-task cgroups are required but not available: " + text);
  return std::shared_ptr<TaskCgroups>();
}

Status TaskCgroups::probe() {
  auto g = make("probe", 64ull << 20, 1);
  if (!g.ok()) return g.status();
  return can_join((*g)->procs());
}

TaskCgroups::~TaskCgroups() {
  retry_pending();
  for (const auto& b : bases_) ::rmdir(b.c_str());
}

std::string TaskCgroups::describe() const {
  std::string what =
      std::string(memory_ ? "memory" : "") + (memory_ && cpu_ ? " and " : "") + (cpu_ ? "cpu" : "");
  std::string where;
  for (const auto& b : bases_) where += (where.empty() ? "" : ", ") + b.string();
  return std::string(version_ == Version::v2 ? "cgroup v2" : "cgroup v1") + " (" + what +
         ") under " + where;
}

Result<std::shared_ptr<TaskCgroup>> TaskCgroups::make(std::string_view name,
                                                      std::uint64_t memory_max, int cores) {
  retry_pending();
  std::string leaf;
  {
    std::lock_guard lock(mu_);
    leaf = safe_name(name) + "-" + std::to_string(++next_);
  }
  std::vector<fs::path> dirs;
  auto undo = [&](Status s) -> Result<std::shared_ptr<TaskCgroup>> {
    for (const auto& d : dirs) ::rmdir(d.c_str());
    return s;
  };
  auto make_dir = [&](const fs::path& base) -> Result<fs::path> {
    fs::path d = base / leaf;
    if (::mkdir(d.c_str(), 0755) != 0)
      return Status::IOError("cannot make the task's control group " + d.string() + ": " +
                             errno_text(errno));
    dirs.push_back(d);
    return d;
  };
  std::string quota = std::to_string(static_cast<std::uint64_t>(std::max(1, cores)) * kCpuPeriodUs);
  fs::path memory_dir;
  if (version_ == Version::v2) {
    auto d = make_dir(bases_[0]);
    if (!d.ok()) return undo(d.status());
    if (memory_) memory_dir = *d;
    if (memory_ && memory_max > 0) {
      if (auto s = write_file(*d / "memory.max", std::to_string(memory_max)); !s.ok())
        return undo(s);
      std::error_code ec;
      if (fs::exists(*d / "memory.swap.max", ec)) (void)write_file(*d / "memory.swap.max", "0");
    }
    if (cpu_)
      if (auto s = write_file(*d / "cpu.max", quota + " " + std::to_string(kCpuPeriodUs)); !s.ok())
        return undo(s);
  } else {
    // Joining a v1 hierarchy costs the child about half a millisecond: the memory one only
    // when there is a limit to keep (the cpu one alone holds the tree and its quota).
    if (memory_ && (memory_max > 0 || !cpu_)) {
      auto d = make_dir(memory_base_);
      if (!d.ok()) return undo(d.status());
      memory_dir = *d;
      if (memory_max > 0) {
        if (auto s = write_file(*d / "memory.limit_in_bytes", std::to_string(memory_max)); !s.ok())
          return undo(s);
        std::error_code ec;
        if (fs::exists(*d / "memory.memsw.limit_in_bytes", ec))
          (void)write_file(*d / "memory.memsw.limit_in_bytes", std::to_string(memory_max));
      }
    }
    if (cpu_) {
      auto d = make_dir(cpu_base_);
      if (!d.ok()) return undo(d.status());
      if (auto s = write_file(*d / "cpu.cfs_period_us", std::to_string(kCpuPeriodUs)); !s.ok())
        return undo(s);
      if (auto s = write_file(*d / "cpu.cfs_quota_us", quota); !s.ok()) return undo(s);
    }
  }
  return std::shared_ptr<TaskCgroup>(new TaskCgroup(shared_from_this(), std::move(dirs),
                                                    std::move(memory_dir),
                                                    memory_ && memory_max > 0 ? memory_max : 0));
}

void TaskCgroups::release(const std::vector<fs::path>& dirs) {
  for (const auto& d : dirs) {
    if (::rmdir(d.c_str()) == 0 || errno == ENOENT) continue;
    // Its last processes are still being reaped: removed later.
    std::lock_guard lock(mu_);
    pending_.push_back(d);
  }
}

void TaskCgroups::retry_pending() {
  std::vector<fs::path> todo;
  {
    std::lock_guard lock(mu_);
    todo.swap(pending_);
  }
  std::vector<fs::path> still;
  for (const auto& d : todo) {
    kill_group(d);
    if (::rmdir(d.c_str()) != 0 && errno != ENOENT) still.push_back(d);
  }
  if (still.empty()) return;
  std::lock_guard lock(mu_);
  pending_.insert(pending_.end(), still.begin(), still.end());
}

}  // namespace fvce::execute
