// The executor core, continued: moving work off this host — a task given back to its
// submitter (release, checkpointed on the way when it declares a checkpoint), a drain of
// every task, and the periodic checkpoint copies to a backup host (executor.h).
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <csignal>
#include <optional>

#include "node/core/units.h"
#include "services/execute/executor.h"
#include "services/execute/executor_task.h"

namespace fvce::execute {

namespace asio = boost::asio;
using model::TaskState;

asio::awaitable<Status> PoolExecutor::release(model::ReleaseRequest request) {
  std::shared_ptr<Task> task;
  bool dropped = false;
  std::vector<std::shared_ptr<Task>> start;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, t] : tasks_)
      if (std::get<0>(key) == request.workflow && std::get<1>(key) == request.task &&
          (!task || std::get<2>(key) > task->assignment.attempt))
        task = t;
    if (!task)
      co_return Status::NotFound("no attempt of task " + request.task + " of workflow " +
                                 request.workflow + " is on " + ctx_.self.name);
    if (task->releasing) co_return Status::Ok();  // under way
    task->releasing = true;
    task->release_reason = request.reason;
    if (task->queued) {  // not started: dropped, as a cancel would
      const auto& a = task->assignment;
      waiting_.erase(std::find(waiting_.begin(), waiting_.end(), task));
      waiting_cores_ -= a.cores;
      task->queued = false;
      task->dropped = true;
      Key key{a.workflow, a.task, a.attempt};
      tasks_.erase(key);
      remember_locked(key);
      start = take_startable_locked();
      dropped = true;
    }
  }
  spdlog::info("execute: giving {} back to its submitter: {}", task_label(task->assignment),
               request.reason);
  if (dropped) {
    auto r = make_report(*task, TaskState::cancelled);
    r.message = "given up before it started: " + request.reason;
    r.finished = ctx_.clock.unix_ms();
    report(*task, std::move(r));
    auto self = shared_from_this();
    asio::post(task->strand, [self, task] { self->request_stop(task, StopReason::released); });
    wake(std::move(start));
    co_return Status::Ok();
  }
  co_return co_await asio::co_spawn(task->strand, release_running(task, std::move(request)),
                                    asio::use_awaitable);
}

namespace {

// A file's identity now: (inode, modification time in ns), or nullopt when it is missing. A
// checkpoint written beside and renamed over gets a new one.
std::optional<std::pair<ino_t, std::int64_t>> file_version(const std::filesystem::path& p) {
  struct ::stat st {};
  if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return std::nullopt;
  return std::pair<ino_t, std::int64_t>{
      st.st_ino, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

int signal_number(const std::string& name) {
  if (name == "USR2") return SIGUSR2;
  if (name == "HUP") return SIGHUP;
  return SIGUSR1;
}

}  // namespace

asio::awaitable<Status> PoolExecutor::release_running(std::shared_ptr<Task> task,
                                                      model::ReleaseRequest request) {
  auto self = shared_from_this();
  const auto& a = task->assignment;
  if (task->stop != StopReason::none || task->final_reported) co_return Status::Ok();
  std::shared_ptr<TaskRun> run;
  {
    std::lock_guard lock(mu_);
    run = task->run;
  }
  if (request.checkpoint && a.checkpoint && task->phase == Phase::running && run) {
    auto path = task->dir.workdir_abs / a.checkpoint->file;
    auto before = file_version(path);
    auto t0 = std::chrono::steady_clock::now();
    if (run->signal(signal_number(a.checkpoint->signal))) {
      bool written = false;
      while (task->phase == Phase::running && task->stop == StopReason::none &&
             std::chrono::steady_clock::now() - t0 < kReleaseWait) {
        co_await sleep_for(ctx_.clock, std::chrono::milliseconds(50));
        auto now = file_version(path);
        if (now && now != before) {
          written = true;
          break;
        }
      }
      if (written && task->phase == Phase::running) {
        auto ref = co_await push_checkpoint(task, a.submitter);
        if (ref.ok()) {
          task->checkpoint_ref = std::move(*ref);
          ++checkpointed_;
          spdlog::info("execute: {} checkpointed in {} ms ({})", task_label(a),
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - t0)
                           .count(),
                       format_bytes(task->checkpoint_ref->size));
        } else {
          spdlog::warn("execute: {}: its checkpoint could not be kept ({}); it starts over",
                       task_label(a), ref.status().message());
        }
      } else if (task->phase == Phase::running) {
        spdlog::warn("execute: {} wrote no checkpoint within {}; it starts over", task_label(a),
                     format_duration(kReleaseWait));
      }
    }
  }
  request_stop(task, StopReason::released);
  co_return Status::Ok();
}

asio::awaitable<void> PoolExecutor::copy_checkpoints(std::shared_ptr<Task> task) {
  auto self = shared_from_this();
  const auto& a = task->assignment;
  auto path = task->dir.workdir_abs / a.checkpoint->file;
  std::optional<std::pair<ino_t, std::int64_t>> copied;
  for (;;) {
    task->copy_timer.expires_after(std::chrono::milliseconds(a.checkpoint->copy_every_ms));
    if (!co_await task->copy_timer.wait()) co_return;  // it ended
    if (task->phase != Phase::running || task->stop != StopReason::none) co_return;
    auto now = file_version(path);
    if (!now || now == copied) continue;  // none yet, or no newer one
    auto t0 = std::chrono::steady_clock::now();
    auto ref = co_await push_checkpoint(task, a.backup);
    if (!ref.ok()) {
      spdlog::warn("execute: {}: its checkpoint could not be copied to {}: {}", task_label(a),
                   a.backup, ref.status().message());
      continue;
    }
    copied = now;
    spdlog::info(
        "execute: {}: checkpoint copied to {} ({}, {} ms)", task_label(a), a.backup,
        format_bytes(ref->size),
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
    if (task->phase != Phase::running || task->stop != StopReason::none) co_return;
    auto r = make_report(*task, TaskState::running);
    r.started = task->started_ms;
    r.checkpoint = std::move(*ref);
    report(*task, std::move(r));
  }
}

asio::awaitable<Result<model::FileRef>> PoolExecutor::push_checkpoint(std::shared_ptr<Task> task,
                                                                      std::string to) {
  const auto& a = task->assignment;
  auto ref = co_await files_->task_output(task->dir, a.checkpoint->file);
  if (!ref.ok()) co_return ref.status();
  auto& dest = ctx_.peers.file(PeerRef(to));
  std::string store = "store/" + ref->sha256;
  auto present = co_await dest.store_entry(ref->sha256);
  if (!present.ok()) {
    if (present.status().code() != ErrorCode::not_found) co_return present.status();
    auto reader = co_await files_->open_read(ref->path);
    if (!reader.ok()) co_return reader.status();
    file::WriteOptions options;
    options.sha256 = ref->sha256;
    options.size = ref->size;
    auto writer = co_await dest.open_write(store, options);
    if (!writer.ok()) co_return writer.status();
    std::vector<char> chunk(1u << 20);
    for (;;) {
      auto n = co_await (*reader)->read(chunk.data(), chunk.size());
      if (!n.ok()) co_return n.status();
      if (*n == 0) break;
      if (auto s = co_await (*writer)->write(chunk.data(), *n); !s.ok()) co_return s;
    }
    auto entry = co_await (*writer)->commit();
    if (!entry.ok()) co_return entry.status();
  }
  ref->source = to;
  ref->path = store;
  co_return *ref;
}

asio::awaitable<Result<model::Drained>> PoolExecutor::drain(std::string reason,
                                                            std::chrono::milliseconds wait) {
  auto self = shared_from_this();
  auto t0 = std::chrono::steady_clock::now();
  health_.drain(reason);
  std::vector<std::pair<std::string, std::string>> held;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, t] : tasks_)
      if (!t->releasing) held.emplace_back(std::get<0>(key), std::get<1>(key));
  }
  spdlog::info("execute: draining ({}): giving {} task(s) back", reason, held.size());
  for (auto& [wf, task] : held) {
    model::ReleaseRequest r{wf, task, ctx_.self.name + " is draining: " + reason, true};
    asio::co_spawn(
        ctx_.ioc, [self, r]() -> asio::awaitable<void> { co_await self->release(r); },
        asio::detached);
  }
  // Drained: nothing held any more, and what was said about it delivered.
  model::Drained out;
  out.host = ctx_.self.name;
  out.released = static_cast<int>(held.size());
  for (;;) {
    std::size_t here;
    {
      std::lock_guard lock(mu_);
      here = tasks_.size();
    }
    bool done = here == 0 && outbox_->pending() == 0;
    if (done || std::chrono::steady_clock::now() - t0 >= wait) {
      out.left = static_cast<int>(here);
      break;
    }
    co_await sleep_for(ctx_.clock, std::chrono::milliseconds(50));
  }
  out.checkpointed = checkpointed_.exchange(0);
  out.ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  spdlog::info("execute: drained in {} ms: {} task(s) given back ({} with a checkpoint), {} left",
               out.ms, out.released, out.checkpointed, out.left);
  co_return out;
}

}  // namespace fvce::execute
