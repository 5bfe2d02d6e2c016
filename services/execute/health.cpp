#include "services/execute/health.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>

#include "node/core/units.h"

namespace fvce::execute {

DiskSpace disk_space(const std::filesystem::path& path) {
  struct ::statvfs st {};
  DiskSpace d;
  if (::statvfs(path.c_str(), &st) != 0) return d;
  d.free = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  d.total = static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize;
  d.known = true;
  return d;
}

bool nearly_full(const DiskSpace& d) {
  if (!d.known || d.total == 0) return false;
  std::uint64_t margin = std::clamp<std::uint64_t>(d.total / 100, 64u << 10, 64u << 20);
  return d.free < margin;
}

bool says_disk_full(std::string_view text) {
  return text.find("No space left on device") != std::string_view::npos ||
         text.find("Disk quota exceeded") != std::string_view::npos;
}

void HostHealth::fault(const std::string& kind, const std::string& why) {
  std::lock_guard lock(mu_);
  if (kind_.empty())
    spdlog::warn("execute: this host takes no new work until it recovers: {}", why);
  kind_ = kind;
  why_ = why;
  until_ = clock_.now() + pause_;
}

void HostHealth::drain(const std::string& why) {
  std::lock_guard lock(mu_);
  draining_ = "draining: " + why;
}

std::string HostHealth::down() {
  std::lock_guard lock(mu_);
  if (!draining_.empty()) return draining_;
  if (kind_.empty()) return {};
  if (clock_.now() < until_) return why_;
  if (kind_ == "disk") {
    auto d = disk();
    std::uint64_t room = std::min<std::uint64_t>(d.total / 4, 256u << 20);
    if (d.known && d.free < room) {
      why_ = "its work root " + work_root_.string() + " is full (" + format_bytes(d.free) + " of " +
             format_bytes(d.total) + " free; it takes work again with " + format_bytes(room) +
             " free)";
      return why_;
    }
  }
  spdlog::info("execute: this host takes new work again (it was down: {})", why_);
  kind_.clear();
  why_.clear();
  return {};
}

}  // namespace fvce::execute
