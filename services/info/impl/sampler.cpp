#include "services/info/impl/sampler.h"

#include <sched.h>
#include <statgrab.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <thread>

namespace fvce::info {
namespace {

// libstatgrab's initialisation is process-wide, and its component code is not written to be
// entered from two threads at once even through the *_r calls, so all use is serialised.
std::mutex& statgrab_mutex() {
  static std::mutex mu;
  return mu;
}

void init_statgrab() {
  static std::once_flag once;
  // ignore_init_errors = 1: a component that cannot initialise (e.g. no permission for some
  // counter) must not stop the ones we use; their reads report errors individually.
  std::call_once(once, [] { sg_init(1); });
}

// Frees a libstatgrab *_r result.
struct SgFree {
  void operator()(void* p) const { sg_free_stats_buf(p); }
};
template <typename T>
using SgPtr = std::unique_ptr<T, SgFree>;

// Describes libstatgrab's last error on this thread. Call with statgrab_mutex() held, right
// after the failed call.
std::string statgrab_error(const char* what) {
  sg_error_details details{};
  sg_get_error_details(&details);
  std::string out = std::string("cannot read ") + what + ": " + sg_str_error(details.error);
  if (details.error_arg && *details.error_arg) out += std::string(" (") + details.error_arg + ")";
  if (details.errno_value != 0) out += std::string(": ") + std::strerror(details.errno_value);
  return out;
}

std::string read_text(const std::filesystem::path& path) {
  // /proc files report size 0, so read to the end rather than by size.
  std::ifstream in(path);
  if (!in) return {};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "MemAvailable:   24183252 kB" → bytes; nullopt when the key is absent.
std::optional<std::uint64_t> meminfo_bytes(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':')
      continue;
    std::string_view rest = trim(line.substr(key.size() + 1));
    std::uint64_t value = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc()) return std::nullopt;
    return trim(std::string_view(p, rest.data() + rest.size() - p)) == "kB" ? value * 1024 : value;
  }
  return std::nullopt;
}

int usable_cores(unsigned statgrab_ncpus) {
  int cores = static_cast<int>(statgrab_ncpus);
  if (cores <= 0) cores = static_cast<int>(std::thread::hardware_concurrency());
  // A process pinned to some CPUs (taskset, a cgroup cpuset) can use only those: that is
  // the number a scheduler placing tasks here must see.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int allowed = CPU_COUNT(&set);
    if (allowed > 0) cores = cores > 0 ? std::min(cores, allowed) : allowed;
  }
  return std::max(cores, 1);
}

}  // namespace

CpuInfo parse_cpuinfo(std::string_view text) {
  CpuInfo out;
  // Key preference for the model: x86 says "model name"; ARM boards "Hardware"; MIPS
  // "cpu model"; POWER "cpu". The first processor's block is enough.
  static constexpr std::string_view kModelKeys[] = {"model name", "Hardware", "cpu model", "cpu"};
  std::size_t best = std::size(kModelKeys);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (key == "cpu MHz" && out.mhz == 0) {
      double mhz = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), mhz);
      if (ec == std::errc() && mhz > 0) out.mhz = mhz;
      continue;
    }
    for (std::size_t k = 0; k < best; ++k) {
      if (key == kModelKeys[k] && !value.empty()) {
        out.model = std::string(value);
        best = k;
        break;
      }
    }
  }
  return out;
}

MachineFacts read_machine_facts() {
  init_statgrab();
  MachineFacts facts;
  utsname uts{};
  const bool have_uts = uname(&uts) == 0;
  if (have_uts) facts.arch = uts.machine;

  unsigned ncpus = 0;
  {
    std::lock_guard lock(statgrab_mutex());
    std::size_t n = 0;
    SgPtr<sg_host_info> host(sg_get_host_info_r(&n));
    if (host && n > 0) {
      ncpus = host->ncpus;
      if (host->os_name && host->os_release)
        facts.os = std::string(host->os_name) + " " + host->os_release;
      if (facts.arch.empty() && host->platform) facts.arch = host->platform;
    }
    SgPtr<sg_mem_stats> mem(sg_get_mem_stats_r(&n));
    if (mem && n > 0) facts.memory = mem->total;
  }
  facts.cores = usable_cores(ncpus);
  if (facts.os.empty() && have_uts) facts.os = std::string(uts.sysname) + " " + uts.release;
  if (facts.memory == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) facts.memory = static_cast<std::uint64_t>(pages) * page;
  }

  CpuInfo cpu = parse_cpuinfo(read_text("/proc/cpuinfo"));
  facts.cpu_model = cpu.model;
  facts.cpu_mhz = cpu.mhz;
  if (facts.cpu_mhz == 0) {
    // Many ARM kernels omit "cpu MHz"; cpufreq knows the top frequency (in kHz).
    std::string khz = read_text("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
    double value = 0;
    auto [p, ec] = std::from_chars(khz.data(), khz.data() + khz.size(), value);
    if (ec == std::errc() && value > 0) facts.cpu_mhz = value / 1000;
  }
  if (facts.cpu_model.empty())
    facts.cpu_model = facts.arch.empty() ? "unknown processor" : facts.arch + " processor";
  if (facts.os.empty()) facts.os = "unknown";
  if (facts.arch.empty()) facts.arch = "unknown";
  return facts;
}

std::uint64_t free_disk_bytes(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(dir.empty() ? "." : dir, ec);
  if (ec) return 0;
  // The node may build its services before it creates the state directory.
  while (!std::filesystem::exists(p, ec) && p.has_parent_path() && p != p.parent_path())
    p = p.parent_path();
  auto info = std::filesystem::space(p, ec);
  return ec ? 0 : info.available;
}

Sampler::Sampler() {
  init_statgrab();
  long hz = sysconf(_SC_CLK_TCK);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  // /proc/stat's aggregate line sums all online CPUs: 100 ms of wall time is hz/10 ticks each.
  min_window_ticks_ =
      static_cast<std::uint64_t>(std::max(1L, (hz > 0 ? hz : 100) / 10) * std::max(1L, cpus));
  std::lock_guard lock(statgrab_mutex());
  std::size_t n = 0;
  // The first reading then measures from construction, not from boot.
  SgPtr<sg_cpu_stats> cpu(sg_get_cpu_stats_r(&n));
  if (cpu && n > 0) {
    baseline_.busy = cpu->user + cpu->kernel + cpu->nice + cpu->swap;
    baseline_.all = baseline_.busy + cpu->idle + cpu->iowait;
  }
}

Result<model::HostLoad> Sampler::read() {
  model::HostLoad out;
  Ticks now;
  std::uint64_t sg_free = 0, sg_cache = 0;
  {
    std::lock_guard lock(statgrab_mutex());
    std::size_t n = 0;
    SgPtr<sg_load_stats> load(sg_get_load_stats_r(&n));
    if (!load || n == 0) return Status::Unavailable(statgrab_error("load averages"));
    out.load1 = load->min1;
    out.load5 = load->min5;
    out.load15 = load->min15;

    SgPtr<sg_cpu_stats> cpu(sg_get_cpu_stats_r(&n));
    if (!cpu || n == 0) return Status::Unavailable(statgrab_error("CPU counters"));
    // libstatgrab's own "total" leaves iowait out on Linux, so sum the parts here. Waiting
    // for I/O counts as idle: the core could run another task.
    now.busy = cpu->user + cpu->kernel + cpu->nice + cpu->swap;
    now.all = now.busy + cpu->idle + cpu->iowait;

    SgPtr<sg_mem_stats> mem(sg_get_mem_stats_r(&n));
    if (!mem || n == 0) return Status::Unavailable(statgrab_error("memory statistics"));
    out.memory_total = mem->total;
    sg_free = mem->free;
    sg_cache = mem->cache;
  }

  auto available = meminfo_bytes(read_text("/proc/meminfo"), "MemAvailable");
  out.memory_free = std::min(available ? *available : sg_free + sg_cache, out.memory_total);

  std::lock_guard lock(mu_);
  // Counters only grow; if they did not (CPU hot-unplug), start a new window.
  if (now.all < baseline_.all || now.busy < baseline_.busy) {
    baseline_ = now;
  } else {
    const std::uint64_t all = now.all - baseline_.all;
    const std::uint64_t busy = now.busy - baseline_.busy;
    if (all > 0 && (all >= min_window_ticks_ || !have_cpu_)) {
      last_cpu_ =
          std::clamp(100.0 * static_cast<double>(busy) / static_cast<double>(all), 0.0, 100.0);
      have_cpu_ = all >= min_window_ticks_;
      if (have_cpu_) baseline_ = now;
    }
  }
  out.cpu = last_cpu_;
  return out;
}

}  // namespace fvce::info
