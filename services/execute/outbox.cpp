#include "services/execute/outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <vector>

#include "node/core/timer.h"
#include "node/core/units.h"
#include "services/submit/logic.h"

namespace fvce::execute {

namespace asio = boost::asio;

namespace {

// Worth trying again later: the submitter (or the way to it) is down or overloaded.
bool transient(ErrorCode code) {
  return code == ErrorCode::unavailable || code == ErrorCode::timeout ||
         code == ErrorCode::io_error || code == ErrorCode::internal;
}

}  // namespace

std::shared_ptr<ReportOutbox> ReportOutbox::Create(asio::io_context& ioc, Peers& peers,
                                                   const Clock& clock, Random& random,
                                                   OutboxOptions options) {
  return std::shared_ptr<ReportOutbox>(new ReportOutbox(ioc, peers, clock, random, options));
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
        merged = true;
        break;
      }
    }
    if (!merged) {
      if (box.pending.size() >= options_.max_pending) {
        box.pending.pop_front();
        ++dropped;
      }
      auto now = clock_.now();
      box.pending.push_back(Pending{std::move(r), now + options_.retry_for, now});
    }
    if (started_ && !box.sending) {
      if (final || options_.linger.count() == 0)
        kick = box.sending = true;
      else if (!box.lingering)
        linger = box.lingering = true;
    }
  }
  if (dropped)
    spdlog::warn("execute: {} reports wait for {}; dropped the oldest", options_.max_pending, to);
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
    {
      std::lock_guard lock(mu_);
      auto& box = boxes_[to];
      auto now = clock_.now();
      auto old_size = box.pending.size();
      std::erase_if(box.pending, [&](const Pending& p) { return p.give_up < now; });
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
