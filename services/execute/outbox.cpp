#include "services/execute/outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <vector>

#include "node/core/files.h"
#include "node/core/timer.h"
#include "node/core/units.h"
#include "node/model/codec.h"
#include "services/submit/logic.h"

namespace fvce::execute {

namespace asio = boost::asio;

namespace {

// Worth trying again later: the submitter (or the way to it) is down or overloaded.
bool transient(ErrorCode code) {
  return code == ErrorCode::unavailable || code == ErrorCode::timeout ||
         code == ErrorCode::io_error || code == ErrorCode::internal;
}

// A spool file: the submitter's address on the first line, then the report as a
// <task-reports> document of one.
constexpr std::string_view kSpoolSuffix = ".report";

// The spool file of one attempt's final report: FNV-1a of what names it, so the same
// report queued again (a repeated final state) overwrites its file instead of adding one.
std::string spool_name_of(const std::string& submitter, const model::TaskReport& r) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  mix(submitter);
  mix(r.workflow);
  mix(r.task);
  mix(std::to_string(r.attempt));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return std::string(buf) + std::string(kSpoolSuffix);
}

}  // namespace

std::shared_ptr<ReportOutbox> ReportOutbox::Create(asio::io_context& ioc, Peers& peers,
                                                   const Clock& clock, Random& random,
                                                   OutboxOptions options,
                                                   asio::thread_pool* workers) {
  asio::any_io_executor io =
      workers ? asio::any_io_executor(workers->get_executor()) : ioc.get_executor();
  auto box = std::shared_ptr<ReportOutbox>(
      new ReportOutbox(ioc, peers, clock, random, std::move(options), std::move(io)));
  if (!box->options_.spool.empty()) box->load_spool();
  return box;
}

void ReportOutbox::load_spool() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(options_.spool, ec);
  if (ec) {
    spdlog::warn("execute: cannot make the report spool {}: {}; reports are kept in memory only",
                 options_.spool.string(), ec.message());
    return;
  }
  std::size_t loaded = 0;
  std::vector<fs::path> bad;
  auto now = clock_.now();
  for (fs::directory_iterator it(options_.spool, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& path = it->path();
    if (path.extension() != kSpoolSuffix) {
      if (path.filename().string().find(".tmp") != std::string::npos) bad.push_back(path);
      continue;
    }
    auto text = read_file(path);
    std::string_view body = text.ok() ? std::string_view(*text) : std::string_view();
    auto nl = body.find('\n');
    auto doc = nl == std::string_view::npos
                   ? Result<model::TaskReports>(Status::InvalidArgument("no submitter line"))
                   : model::from_xml<model::TaskReports>(body.substr(nl + 1));
    if (!text.ok() || !doc.ok() || doc->reports.size() != 1) {
      spdlog::warn("execute: report spool file {} is unreadable ({}); removed", path.string(),
                   !text.ok()  ? text.status().message()
                   : !doc.ok() ? doc.status().message()
                               : std::string("not one report"));
      bad.push_back(path);
      continue;
    }
    std::string to(body.substr(0, nl));
    auto& box = boxes_[to];
    box.pending.push_back(Pending{std::move(doc->reports.front()), now + options_.retry_for, now,
                                  path.filename().string()});
    ++loaded;
  }
  for (const auto& p : bad) fs::remove(p, ec);
  for (const auto& [to, box] : boxes_)
    for (const auto& p : box.pending) spooled_.insert(p.spool_name);
  if (loaded)
    spdlog::info("execute: {} final report(s) kept from an earlier run wait for their submitters",
                 loaded);
}

std::string ReportOutbox::spool_write(const std::string& to, const model::TaskReport& r) {
  auto name = spool_name_of(to, r);
  model::TaskReports doc;
  doc.reports.push_back(r);
  std::string content = to + "\n" + model::to_xml(doc);
  {
    std::lock_guard lock(mu_);
    spooled_.insert(name);
  }
  auto self = shared_from_this();
  asio::post(spool_io_, [self, name, content = std::move(content)] {
    // Written beside and renamed over: a reader sees the old report or the new, whole.
    auto path = self->options_.spool / name;
    auto part = path;
    part += ".tmp";
    std::FILE* f = std::fopen(part.c_str(), "wb");
    bool ok = f && std::fwrite(content.data(), 1, content.size(), f) == content.size();
    ok = (f && std::fclose(f) == 0) && ok;
    std::error_code ec;
    if (ok) std::filesystem::rename(part, path, ec);
    if (!ok || ec) {
      std::filesystem::remove(part, ec);
      spdlog::warn("execute: cannot keep a report in the spool {}: {}; it waits in memory only",
                   self->options_.spool.string(), std::strerror(errno));
    }
  });
  return name;
}

void ReportOutbox::journal(const std::string& to, const model::TaskReport& r) {
  if (!options_.spool.empty()) spool_write(to, r);
}

void ReportOutbox::spool_remove(std::vector<std::string> names) {
  std::erase(names, std::string());
  if (names.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (const auto& n : names) spooled_.erase(n);
  }
  auto self = shared_from_this();
  asio::post(spool_io_, [self, names = std::move(names)] {
    std::error_code ec;
    for (const auto& n : names) std::filesystem::remove(self->options_.spool / n, ec);
  });
}

std::size_t ReportOutbox::spooled() const {
  std::lock_guard lock(mu_);
  return spooled_.size();
}

void ReportOutbox::start() {
  std::vector<std::string> kick;
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
    for (auto& [to, box] : boxes_)
      if (!box.pending.empty() && !box.sending) {
        box.sending = true;
        kick.push_back(to);
      }
  }
  for (auto& to : kick) asio::co_spawn(ioc_, deliver(to), asio::detached);
}

std::size_t ReportOutbox::pending() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [to, box] : boxes_) n += box.pending.size();
  return n;
}

void ReportOutbox::add(const std::string& to, model::TaskReport r) {
  bool kick = false, linger = false;
  std::size_t dropped = 0;
  bool final = model::is_final(r.state);
  // A checkpoint copy's report goes at once too: until it arrives the submitter would
  // resume the task from an older copy.
  bool urgent = final || r.checkpoint.has_value();
  std::string spool_name;
  if (final && !options_.spool.empty()) spool_name = spool_write(to, r);
  std::vector<std::string> unspool;
  {
    std::lock_guard lock(mu_);
    auto& box = boxes_[to];
    bool merged = false;
    std::size_t looked = 0;
    for (auto it = box.pending.rbegin(); it != box.pending.rend() && looked < 64; ++it, ++looked) {
      auto& p = it->report;
      if (p.attempt == r.attempt && p.task == r.task && p.workflow == r.workflow &&
          !model::is_final(p.state)) {
        p = std::move(r);
        it->give_up = clock_.now() + options_.retry_for;
        it->spool_name = std::move(spool_name);  // a progress report has none
        merged = true;
        break;
      }
    }
    if (!merged) {
      if (box.pending.size() >= options_.max_pending) {
        unspool.push_back(std::move(box.pending.front().spool_name));
        box.pending.pop_front();
        ++dropped;
      }
      auto now = clock_.now();
      box.pending.push_back(
          Pending{std::move(r), now + options_.retry_for, now, std::move(spool_name)});
    }
    if (started_ && !box.sending) {
      if (urgent || options_.linger.count() == 0)
        kick = box.sending = true;
      else if (!box.lingering)
        linger = box.lingering = true;
    }
  }
  if (dropped) {
    spdlog::warn("execute: {} reports wait for {}; dropped the oldest", options_.max_pending, to);
    spool_remove(std::move(unspool));
  }
  if (kick) asio::co_spawn(ioc_, deliver(to), asio::detached);
  if (linger) asio::co_spawn(ioc_, deliver_later(to), asio::detached);
}

// Starts deliver() after the linger time, unless a final report started it meanwhile: a
// task's progress reports then share a request with its end when it is short.
asio::awaitable<void> ReportOutbox::deliver_later(std::string to) {
  auto self = shared_from_this();
  co_await sleep_for(clock_, options_.linger);
  bool kick = false;
  {
    std::lock_guard lock(mu_);
    auto it = boxes_.find(to);
    if (it == boxes_.end()) co_return;
    it->second.lingering = false;
    if (!it->second.sending && !it->second.pending.empty()) kick = it->second.sending = true;
  }
  if (kick) co_await deliver(to);
}

asio::awaitable<void> ReportOutbox::deliver(std::string to) {
  auto self = shared_from_this();
  int retry = 0;
  for (;;) {
    std::vector<Pending> batch;
    std::size_t expired = 0;
    std::vector<std::string> unspool;
    {
      std::lock_guard lock(mu_);
      auto& box = boxes_[to];
      auto now = clock_.now();
      auto old_size = box.pending.size();
      std::erase_if(box.pending, [&](Pending& p) {
        if (p.give_up >= now) return false;
        unspool.push_back(std::move(p.spool_name));
        return true;
      });
      expired = old_size - box.pending.size();
      if (box.pending.empty()) {
        bool lingering = box.lingering;
        if (lingering)
          box.sending = false;
        else
          boxes_.erase(to);
        if (expired)
          spdlog::warn("execute: gave up delivering {} report(s) to {} after {}", expired, to,
                       format_duration(options_.retry_for));
        spool_remove(std::move(unspool));
        co_return;
      }
      // Only fresh progress reports: let them wait for company (see deliver_later).
      if (options_.linger.count() > 0 && retry == 0 && box.one_by_one == 0 &&
          now - box.pending.front().queued < options_.linger &&
          std::none_of(box.pending.begin(), box.pending.end(),
                       [](const Pending& p) { return model::is_final(p.report.state); })) {
        box.sending = false;
        if (!box.lingering) {
          box.lingering = true;
          asio::co_spawn(ioc_, deliver_later(to), asio::detached);
        }
        co_return;
      }
      std::size_t n = box.one_by_one > 0 ? 1 : std::min(box.pending.size(), options_.max_batch);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(box.pending.front()));
        box.pending.pop_front();
      }
    }
    if (expired)
      spdlog::warn("execute: gave up delivering {} report(s) to {} after {}", expired, to,
                   format_duration(options_.retry_for));
    spool_remove(std::move(unspool));

    model::TaskReports doc;
    for (const auto& p : batch) doc.reports.push_back(p.report);
    auto& submitter = peers_.submit(to, CallOptions{options_.timeout, 1});
    Status s = co_await submitter.reports(std::move(doc));
    bool refused = !s.ok() && !transient(s.code());
    if (s.ok() || (refused && batch.size() == 1)) {
      if (refused) {
        const auto& r = batch.front().report;
        spdlog::warn("execute: {} refused the report {}/{} attempt {} ({}): {}; dropped", to,
                     r.workflow, r.task, r.attempt, model::to_string(r.state), s.message());
      }
      retry = 0;
      std::vector<std::string> done;
      for (auto& p : batch) done.push_back(std::move(p.spool_name));
      spool_remove(std::move(done));
      std::lock_guard lock(mu_);
      auto& box = boxes_[to];
      box.one_by_one -= std::min(box.one_by_one, batch.size());
      continue;
    }
    {
      std::lock_guard lock(mu_);
      auto& box = boxes_[to];
      for (auto it = batch.rbegin(); it != batch.rend(); ++it)
        box.pending.push_front(std::move(*it));
      // One bad report must not sink the others: find it by sending them one at a time.
      if (refused) box.one_by_one = batch.size();
    }
    if (refused) continue;
    auto wait = options_.backoff.delay(++retry, random_);
    spdlog::debug("execute: reports to {} not delivered ({}); retrying in {}", to, s.message(),
                  format_duration(wait));
    co_await sleep_for(clock_, wait);
  }
}

}  // namespace fvce::execute
