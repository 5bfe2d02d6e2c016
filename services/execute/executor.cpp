#include "services/execute/executor.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstring>
#include <optional>

#include "node/core/units.h"
#include "node/core/workers.h"
#include "services/execute/executor_task.h"

namespace fvce::execute {

namespace asio = boost::asio;
using model::TaskState;

namespace {

constexpr std::size_t kRecentAttempts = 4096;  // finished attempts kept for conflict
constexpr std::size_t kMessageTail = 500;      // bytes of stderr in a failure message
constexpr std::uint64_t kMaxLogBytes = 8u << 20;

using StopReason = PoolExecutor::StopReason;
using Phase = PoolExecutor::Phase;

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

// The last line(s) of a task's stderr, at most kMessageTail bytes, for a failure message.
std::string message_tail(std::string text) {
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

}  // namespace

// ---------------------------------------------------------------------------------------

Result<std::shared_ptr<PoolExecutor>> PoolExecutor::Create(NodeContext& ctx,
                                                           std::shared_ptr<file::LocalFile> files,
                                                           std::unique_ptr<TaskRunner> runner,
                                                           ExecutorOptions options) {
  if (!files) return Status::InvalidArgument("the execute service needs the file service");
  if (!runner) return Status::InvalidArgument("the execute service needs a runner");
  if (!files) return Status::InvalidArgument("the execute service needs the file service");
  if (options.slots < 1) return Status::InvalidArgument("slots must be at least 1");
  if (options.queue < 0) return Status::InvalidArgument("queue must be at least 0");
  if (options.stage_parallel < 1) options.stage_parallel = 1;
  return std::shared_ptr<PoolExecutor>(
      new PoolExecutor(ctx, std::move(files), std::move(runner), options));
}

PoolExecutor::PoolExecutor(NodeContext& ctx, std::shared_ptr<file::LocalFile> files,
                           std::unique_ptr<TaskRunner> runner, ExecutorOptions options)
    : ctx_(ctx),
      files_(std::move(files)),
      runner_(std::move(runner)),
      options_(options),
      outbox_(ReportOutbox::Create(ctx.ioc, ctx.peers, ctx.clock, ctx.random, options.reports,
                                   ctx.workers)),
      health_(ctx.clock, files_->work_root(), options.fault_pause),
      hand_over_(options.hand_over && runner_ && runner_->starts_after()),
      free_slots_(options.slots) {
  auto& m = ctx_.metrics;
  m.describe("fvce_execute_tasks_total", "counter",
             "Tasks this executor finished, by final state.");
  m.describe("fvce_execute_running", "gauge", "Tasks running now.");
  m.describe("fvce_execute_spawn_seconds_total", "counter",
             "Seconds spent starting tasks (divide by fvce_execute_spawns_total).");
  m.describe("fvce_execute_spawns_total", "counter", "Tasks started.");
  m.describe("fvce_execute_handovers_total", "counter",
             "Tasks handed over to start the moment the task before them on their slots ended.");
  m.set("fvce_execute_running", {}, 0);
}

PoolExecutor::~PoolExecutor() = default;

std::pair<int, int> PoolExecutor::occupancy() const {
  std::lock_guard lock(mu_);
  return {free_slots_, waiting_cores_};
}

ExecuteHealth PoolExecutor::health() {
  auto d = health_.disk();
  return ExecuteHealth{health_.down(), d.free, d.total};
}

void PoolExecutor::start() {
  outbox_->start();
}

void PoolExecutor::stop() {
  std::vector<std::shared_ptr<Task>> active, dropped;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& t : waiting_) {
      t->queued = false;
      t->dropped = true;
      if (t->run) t->run->stop(true);  // handed over: withdrawn (or killed if it started)
      dropped.push_back(t);
      tasks_.erase(Key{t->assignment.workflow, t->assignment.task, t->assignment.attempt});
    }
    waiting_.clear();
    waiting_cores_ = 0;
    for (auto& [key, t] : tasks_) {
      active.push_back(t);
      // Killed here, not only through the strand: the io_context may stop right after.
      if (t->run) t->run->stop(true);
    }
  }
  // Nothing starts from now on, and what runs ends now.
  runner_->stop();
  // A task the executor gives up is reported cancelled: its submitter runs it elsewhere
  // without counting a retry (it did nothing wrong).
  for (auto& t : dropped) {
    auto r = make_report(*t, TaskState::cancelled);
    r.message = "not started: the executor on " + ctx_.self.name + " stopped";
    r.finished = ctx_.clock.unix_ms();
    report(*t, std::move(r));
  }
  auto self = shared_from_this();
  // The dropped ones too: their preparation ends, and they report nothing more.
  for (auto& t : active)
    asio::post(t->strand, [self, t] { self->request_stop(t, StopReason::shutdown); });
  for (auto& t : dropped)
    asio::post(t->strand, [self, t] { self->request_stop(t, StopReason::shutdown); });
  if (!active.empty() || !dropped.empty())
    spdlog::info("execute: stopped; killed {} task(s), gave back {} waiting", active.size(),
                 dropped.size());
}

// ---------------------------------------------------------------------------------------
// Accepting and scheduling

asio::awaitable<Status> PoolExecutor::assign(model::TaskAssignment a) {
  if (a.cores > options_.slots)
    co_return Status::InvalidArgument("task needs " + std::to_string(a.cores) +
                                      " cores, this host offers " + std::to_string(options_.slots));
  auto task = std::make_shared<Task>(ctx_.ioc, ctx_.clock, std::move(a));
  const auto& as = task->assignment;
  Key key{as.workflow, as.task, as.attempt};

  Status result;
  std::vector<std::shared_ptr<Task>> start;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      result = Status::Unavailable("the executor on " + ctx_.self.name + " is shutting down");
    } else if (auto why = health_.down(); !why.empty()) {
      result = Status::Unavailable(ctx_.self.name + " takes no new work: " + why);
    } else if (tasks_.count(key) || recent_.count(key)) {
      result = Status::Conflict("task " + task_label(as) + " is already known here");
    } else if (waiting_.empty() && free_slots_ >= as.cores) {
      free_slots_ -= as.cores;
      task->holds_slots = true;
      tasks_[key] = task;
      start.push_back(task);
    } else if (waiting_cores_ + as.cores <= options_.queue) {
      task->queued = true;
      waiting_.push_back(task);
      waiting_cores_ += as.cores;
      tasks_[key] = task;
      start.push_back(task);  // prepares (work directory, inputs) while it waits
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
  if (!start.empty()) {
    // Should this node go down before the task ends, its submitter hears (once the node is
    // back) that it was given up, and runs it again; the task's own final report replaces
    // this one.
    auto r = make_report(*task, TaskState::cancelled);
    r.message = "given up: the executor on " + ctx_.self.name +
                " stopped or crashed while it held the task";
    outbox_->journal(as.submitter, r);
  }
  launch(std::move(start));
  co_return result;
}

std::vector<std::shared_ptr<PoolExecutor::Task>> PoolExecutor::take_startable_locked() {
  std::vector<std::shared_ptr<Task>> out;
  while (!stopping_ && !waiting_.empty() && free_slots_ >= waiting_.front()->assignment.cores) {
    auto t = waiting_.front();
    waiting_.pop_front();
    t->queued = false;
    waiting_cores_ -= t->assignment.cores;
    free_slots_ -= t->assignment.cores;
    t->holds_slots = true;
    out.push_back(std::move(t));
  }
  for (auto& t : hand_over_locked()) out.push_back(std::move(t));
  return out;
}

std::vector<std::shared_ptr<PoolExecutor::Task>> PoolExecutor::hand_over_locked() {
  std::vector<std::shared_ptr<Task>> out;
  if (!hand_over_ || stopping_) return out;
  for (auto& q : waiting_) {
    if (q->paired) continue;
    // In queue order only: a task behind one that waits unpaired must not start before it.
    if (!q->prepared) break;
    std::shared_ptr<Task> before;
    for (auto& [key, t] : tasks_) {
      if (t->followed || !t->holds_slots || !t->counted_running || !t->run) continue;
      if (t->assignment.cores < q->assignment.cores) continue;
      if (!before || t->assignment.cores < before->assignment.cores) before = t;  // snuggest
    }
    if (!before) break;
    before->followed = true;
    before->follower = q;
    q->paired = true;
    q->start_after = before->run;
    out.push_back(q);
  }
  return out;
}

void PoolExecutor::remember_locked(const Key& key) {
  if (!recent_.insert(key).second) return;
  recent_order_.push_back(key);
  if (recent_order_.size() > kRecentAttempts) {
    recent_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
}

void PoolExecutor::launch(std::vector<std::shared_ptr<Task>> tasks) {
  for (auto& t : tasks) asio::co_spawn(t->strand, run(t), asio::detached);
}

void PoolExecutor::wake(std::vector<std::shared_ptr<Task>> tasks) {
  // On the task's strand: it either waits already (the cancel ends the wait) or has not yet
  // looked, and will find its slots when it does.
  for (auto& t : tasks) asio::post(t->strand, [t] { t->slot_wait.cancel(); });
}

asio::awaitable<bool> PoolExecutor::wait_for_slots(std::shared_ptr<Task> task) {
  std::vector<std::shared_ptr<Task>> paired;
  {
    std::lock_guard lock(mu_);
    task->prepared = true;
    if (task->queued) paired = hand_over_locked();
  }
  wake(std::move(paired));
  for (;;) {
    if (task->stop != StopReason::none) co_return false;
    std::shared_ptr<TaskRun> after;
    {
      std::lock_guard lock(mu_);
      // Paired: handed over before anything else, even if its slots came meanwhile (it
      // starts after that task, whose slots someone else may have taken).
      after = std::move(task->start_after);
      if (!after) {
        if (task->holds_slots) co_return true;
        if (!task->queued) co_return false;  // dropped, and reported by whoever dropped it
      }
    }
    if (after) {
      RunRequest request{task->assignment, task->dir};
      auto run = runner_->start_after(request, *after);
      after.reset();
      if (!run.ok()) {
        // Nothing was handed over; it fails (off the queue) as a start would have.
        std::lock_guard lock(mu_);
        task->start_error = run.status();
        co_return task->queued || task->holds_slots;
      } else {
        std::shared_ptr<TaskRun> r = std::move(*run);
        ctx_.metrics.add("fvce_execute_handovers_total", {});
        std::lock_guard lock(mu_);
        task->run = r;
        // Dropped or stopped while it was handed over: withdrawn.
        if ((!task->queued && !task->holds_slots) || task->stop != StopReason::none || stopping_)
          r->stop(true);
      }
      continue;
    }
    // No suspension since the check: a wake posted to this strand comes after the wait began.
    task->slot_wait.expires_at(asio::steady_timer::time_point::max());
    co_await task->slot_wait.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

bool PoolExecutor::claim_final(Task& task) {
  std::vector<std::shared_ptr<Task>> start;
  {
    std::lock_guard lock(mu_);
    if (task.dropped) return false;
    if (task.queued) {  // failed while it waited: off the queue, so it never gets slots
      task.queued = false;
      waiting_.erase(std::find_if(waiting_.begin(), waiting_.end(),
                                  [&](const auto& t) { return t.get() == &task; }));
      waiting_cores_ -= task.assignment.cores;
      start = take_startable_locked();
    }
  }
  wake(std::move(start));
  return true;
}

void PoolExecutor::release(const std::shared_ptr<Task>& task) {
  std::vector<std::shared_ptr<Task>> start;
  {
    std::lock_guard lock(mu_);
    const auto& a = task->assignment;
    Key key{a.workflow, a.task, a.attempt};
    tasks_.erase(key);
    start = give_back_locked(*task);
    if (task->counted_running) {
      task->counted_running = false;
      --running_;
      update_running_gauge_locked();
    }
    remember_locked(key);
    for (auto& t : take_startable_locked()) start.push_back(std::move(t));
  }
  wake(std::move(start));
}

asio::awaitable<Status> PoolExecutor::cancel(model::CancelRequest request) {
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
      waiting_cores_ -= t->assignment.cores;
      t->queued = false;
      t->dropped = true;
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
  for (auto& t : dropped)  // ends its preparation; it reports nothing more
    asio::post(t->strand, [self, t] { self->request_stop(t, StopReason::cancelled); });
  wake(std::move(start));
  co_return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// One task

asio::awaitable<void> PoolExecutor::run(std::shared_ptr<Task> task) {
  auto self = shared_from_this();
  try {
    co_await run_steps(task);
  } catch (const std::exception& e) {
    spdlog::error("execute: task {}: {}", task_label(task->assignment), e.what());
    std::shared_ptr<TaskRun> run;
    {
      std::lock_guard lock(mu_);
      run = task->run;
    }
    if (run) run->stop(true);
    if (!task->final_reported && claim_final(*task)) {
      task->final_reported = true;
      auto r = make_report(*task, TaskState::failed);
      r.message = std::string("internal error in the executor: ") + e.what();
      r.finished = ctx_.clock.unix_ms();
      report(*task, std::move(r));
    }
  }
  release(task);
}

asio::awaitable<void> PoolExecutor::run_steps(std::shared_ptr<Task> task) {
  const auto& a = task->assignment;
  auto fail = [&](std::string message) {
    if (task->final_reported || !claim_final(*task)) return;
    task->final_reported = true;
    auto r = make_report(*task, TaskState::failed);
    r.message = sanitize_text(message);
    r.lost_input = task->lost_input;
    r.host_fault = task->host_fault;
    r.finished = ctx_.clock.unix_ms();
    report(*task, std::move(r));
  };

  // Cancelled between acceptance and this first step: already reported, nothing to do.
  if (task->final_reported) co_return;
  bool queued;
  {
    std::lock_guard lock(mu_);
    queued = task->queued || task->dropped;
  }
  // A queued task says nothing until it has its slots: cancel() may still drop it and report
  // that, and no report of its own may overtake the drop's.
  if (!queued) report(*task, make_report(*task, TaskState::staging));

  std::vector<std::string> inputs;
  for (const auto& in : a.inputs) inputs.push_back(in.name);
  auto dir = co_await files_->prepare_task_dir(a.workflow, a.task, a.attempt, std::move(inputs));
  if (!dir.ok()) {
    fail("cannot prepare the work directory: " + dir.status().message());
    co_return;
  }
  task->dir = std::move(*dir);
  {
    std::lock_guard lock(mu_);
    task->workdir = task->dir.workdir;
  }
  // Inputs that cannot fit are not fetched: the task goes to a host with room, and this one
  // says it is full (store copies are linked, so this may overstate, never understate).
  std::uint64_t need = 0;
  for (const auto& in : a.inputs) need += in.size;
  if (auto d = health_.disk(); d.known && need > d.free) {
    std::string why = "its work root " + health_.work_root().string() + " has " +
                      format_bytes(d.free) + " free of " + format_bytes(d.total) +
                      "; the task's inputs need " + format_bytes(need);
    health_.fault("disk", why);
    task->host_fault = "disk";
    fail(ctx_.self.name + ": " + why);
    co_return;
  }
  Status staged = co_await stage_inputs(task);
  if (task->stop != StopReason::none) co_return;  // reported by request_stop
  if (!staged.ok()) {
    if (task->lost_input.empty() && staged.code() == ErrorCode::io_error) {
      auto d = health_.disk();
      if (nearly_full(d) || says_disk_full(staged.message())) {
        std::string why = "its work root " + health_.work_root().string() + " is full (" +
                          format_bytes(d.free) + " free of " + format_bytes(d.total) +
                          "; the task's inputs need " + format_bytes(need) + ")";
        health_.fault("disk", why);
        task->host_fault = "disk";
        fail(ctx_.self.name + ": " + why + ": " + staged.message());
        co_return;
      }
    }
    fail(staged.message());
    co_return;
  }

  // Prepared; a queued task waits here for its slots, so that it starts the moment they free.
  if (!co_await wait_for_slots(task)) co_return;  // stopped or dropped meanwhile: reported
  bool stopping;
  {
    std::lock_guard lock(mu_);
    stopping = stopping_;
  }
  if (stopping) {  // no task starts once stopping has begun
    request_stop(task, StopReason::shutdown);
    co_return;
  }
  task->phase = Phase::starting;
  std::shared_ptr<TaskRun> run;
  Status start_error;
  {
    std::lock_guard lock(mu_);
    run = task->run;  // handed over already: it starts (or started) after its predecessor
    start_error = task->start_error;
  }
  if (!start_error.ok()) {
    fail(start_error.message());
    co_return;
  }
  if (!run) {
    auto t0 = std::chrono::steady_clock::now();
    // Named, not built inside the co_await (GCC 12 destroys such a temporary twice).
    RunRequest request{a, task->dir};
    auto started = co_await runner_->start(std::move(request));
    if (!started.ok()) {
      {
        std::lock_guard lock(mu_);
        stopping = stopping_;
      }
      if (stopping) {  // given up, not failed: its submitter runs it elsewhere
        request_stop(task, StopReason::shutdown);
        co_return;
      }
      fail(started.status().message());
      co_return;
    }
    ctx_.metrics.add("fvce_execute_spawn_seconds_total", {},
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    ctx_.metrics.add("fvce_execute_spawns_total", {});
    run = std::move(*started);
  }
  {
    std::lock_guard lock(mu_);
    task->run = run;
    // Cancelled (or stopped) while starting: the cancel was reported already.
    if (task->stop != StopReason::none || stopping_) run->stop(true);
  }
  RunEvent ev = co_await run->next();
  if (ev.kind == RunEvent::not_started) {
    // A hand-over that never started: withdrawn by a stop, or refused.
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    if (task->stop == StopReason::none && !stopping) {
      fail(ev.message);
      co_return;
    }
    if (task->stop == StopReason::none) task->stop = StopReason::shutdown;
    ev.lost = true;  // nothing ran: its report says why it did not (finish)
  }
  if (ev.kind == RunEvent::started) {
    task->started_ms = ev.at_ms;
    std::vector<std::shared_ptr<Task>> paired;
    {
      std::lock_guard lock(mu_);
      task->counted_running = true;
      ++running_;
      update_running_gauge_locked();
      paired = hand_over_locked();  // the next queued task may wait for this one
    }
    wake(std::move(paired));
    task->phase = Phase::running;
    if (task->stop == StopReason::none) {
      auto r = make_report(*task, TaskState::running);
      r.started = ev.at_ms;
      report(*task, std::move(r));
      if (a.checkpoint && a.checkpoint->copy_every_ms > 0 && !a.backup.empty() &&
          a.backup != ctx_.self.address)
        asio::co_spawn(task->strand, copy_checkpoints(task), asio::detached);
      if (a.time_limit_ms > 0) {
        task->limit_timer.expires_after(std::chrono::milliseconds(a.time_limit_ms));
        auto self = shared_from_this();
        task->limit_timer.async_wait([self, task](bool expired) {
          if (expired) self->request_stop(task, StopReason::time_limit);
        });
      }
    }
    ev = co_await run->next();
  }
  task->phase = Phase::finishing;
  task->limit_timer.cancel();
  task->grace_timer.cancel();
  task->copy_timer.cancel();
  // The task's processes are gone: its cores are free now, and the next waiting task starts
  // while this one's outputs are checked and its report goes out.
  wake(free_slots(*task));
  {
    std::lock_guard lock(mu_);
    // The runner was stopped with the executor: the task was killed by the shutdown.
    if (ev.lost && stopping_ && task->stop == StopReason::none) task->stop = StopReason::shutdown;
    if (task->counted_running) {
      task->counted_running = false;
      --running_;
      update_running_gauge_locked();
    }
  }
  if (task->final_reported) co_return;

  auto r = make_report(*task, TaskState::failed);
  if (task->started_ms) r.started = task->started_ms;
  r.finished = ev.at_ms;
  if (task->started_ms)
    r.wall_ms = static_cast<std::uint64_t>(std::max<std::int64_t>(0, ev.at_ms - task->started_ms));
  if (!ev.lost) {
    r.cpu_ms = ev.cpu_ms;
    r.max_rss = ev.max_rss;
    r.exit_code = ev.exit_code;
    r.signal = ev.signal;
  }
  co_await finish(task, std::move(r), ev);
}

asio::awaitable<void> PoolExecutor::finish(std::shared_ptr<Task> task, model::TaskReport r,
                                           const RunEvent& ended) {
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
    case StopReason::released:
      // It finished on its own before the stop reached it: done (or failed) as usual.
      if (!ended.lost && r.exit_code && *r.exit_code == 0 && !r.signal) break;
      r.state = TaskState::cancelled;  // given back: its submitter places it again
      r.message = "given up: " + task->release_reason;
      r.checkpoint = task->checkpoint_ref;
      report(*task, std::move(r));
      co_return;
    case StopReason::none:
      break;
  }
  if (ended.lost || (!r.exit_code && !r.signal)) {
    std::string what =
        ended.message.empty() ? "the task's end was not seen" : sanitize_text(ended.message);
    if (ended.lost) {
      // What ran the task died with it (the launcher, killed or crashed): not the task's
      // fault. It runs again elsewhere, and this host waits before it takes more.
      r.host_fault = "launcher";
      r.message = ctx_.self.name + ": " + what + "; the task runs again";
      health_.fault("launcher", "its task launcher died (" + what + ")");
    } else {
      r.message = what + "; the task's exit status is unknown";
    }
    report(*task, std::move(r));
    co_return;
  }
  if (r.exit_code != 0 || r.signal) {
    auto tail = co_await files_->task_log(a.workflow, a.task, a.attempt, "stderr", 4096);
    std::string raw = tail.ok() ? *tail : std::string();
    std::string text = message_tail(raw);
    std::string what = r.signal ? "killed by " + signal_name(*r.signal)
                                : "exited with code " + std::to_string(*r.exit_code);
    if (!ended.message.empty()) what += " (" + sanitize_text(ended.message) + ")";
    what = text.empty() ? what + " (stderr is empty)" : what + ": " + text;
    if (co_await blame_disk(task, r, what, raw)) {
      report(*task, std::move(r));
      co_return;
    }
    r.message = std::move(what);
    report(*task, std::move(r));
    co_return;
  }
  for (const auto& name : a.outputs) {
    auto ref = co_await files_->task_output(task->dir, name);
    if (!ref.ok()) {
      r.message = ref.status().code() == ErrorCode::not_found
                      ? "task exited 0 but did not write output '" + name + "'"
                  : ref.status().code() == ErrorCode::invalid_argument
                      ? "task exited 0 but output '" + name + "' is not a regular file"
                      : "output '" + name + "': " + ref.status().message();
      r.outputs.clear();
      if (ref.status().code() == ErrorCode::io_error)
        co_await blame_disk(task, r, r.message, ref.status().message());
      report(*task, std::move(r));
      co_return;
    }
    r.outputs.push_back(std::move(*ref));
  }
  r.state = TaskState::done;
  report(*task, std::move(r));
}

asio::awaitable<bool> PoolExecutor::blame_disk(std::shared_ptr<Task> task, model::TaskReport& r,
                                               const std::string& what,
                                               const std::string& stderr_tail) {
  auto d = health_.disk();
  if (!nearly_full(d) && !says_disk_full(stderr_tail)) co_return false;
  // How much the task had written: its work directory's size (a walk, off the I/O threads).
  auto dir = task->dir.workdir_abs;
  std::uint64_t used = co_await on_workers(ctx_.workers, [&dir] {
    std::uint64_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file(ec) && !it->is_symlink(ec)) n += it->file_size(ec);
    return n;
  });
  std::string why = "its work root " + health_.work_root().string() + " filled up (" +
                    format_bytes(d.free) + " free of " + format_bytes(d.total) +
                    "; the task had written " + format_bytes(used) + " and needed more)";
  health_.fault("disk", why);
  r.host_fault = "disk";
  r.message = ctx_.self.name + ": " + why + ": " + what;
  task->host_fault = "disk";
  co_return true;
}

namespace {

struct StageState {
  std::size_t next = 0;
  Status error;
  std::string lost;  // the input whose holder did not answer or no longer has it
};

// Whether a fetch failed because the file is not to be had from its holder (gone, not
// answering, or without it), rather than for a fault here.
bool holder_lost(ErrorCode code) {
  return code == ErrorCode::unavailable || code == ErrorCode::timeout ||
         code == ErrorCode::not_found;
}

// One of up to stage_parallel fetchers of a task; runs on the task's strand, so `state` needs
// no lock.
asio::awaitable<void> stage_worker(file::LocalFile& files, std::shared_ptr<PoolExecutor::Task> task,
                                   std::shared_ptr<StageState> state,
                                   const PoolExecutor::StopReason* stop) {
  const auto& inputs = task->assignment.inputs;
  while (state->next < inputs.size() && state->error.ok() &&
         *stop == PoolExecutor::StopReason::none) {
    const auto& ref = inputs[state->next++];
    std::string dest = task->dir.workdir + "/" + ref.name;
    Status s = co_await files.fetch(ref, std::move(dest));
    if (!s.ok() && state->error.ok()) {
      state->error = Status(s.code(), "staging input '" + ref.name + "' from " + ref.source +
                                          " failed: " + s.message());
      if (holder_lost(s.code())) state->lost = ref.name;
    }
  }
}

}  // namespace

asio::awaitable<Status> PoolExecutor::stage_inputs(std::shared_ptr<Task> task) {
  const auto n = task->assignment.inputs.size();
  if (n == 0) co_return Status::Ok();
  auto state = std::make_shared<StageState>();
  auto workers = std::min<std::size_t>(n, static_cast<std::size_t>(options_.stage_parallel));
  using Op = decltype(asio::co_spawn(task->strand, stage_worker(*files_, task, state, &task->stop),
                                     asio::deferred));
  std::vector<Op> ops;
  for (std::size_t i = 0; i < workers; ++i)
    ops.push_back(asio::co_spawn(task->strand, stage_worker(*files_, task, state, &task->stop),
                                 asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  task->lost_input = state->lost;
  co_return state->error;
}

void PoolExecutor::request_stop(const std::shared_ptr<Task>& task, StopReason reason) {
  if (task->phase == Phase::finishing) return;
  std::shared_ptr<TaskRun> run;
  bool dropped;
  {
    std::lock_guard lock(mu_);
    run = task->run;
    dropped = task->dropped;
  }
  if (dropped) {  // reported when it was taken off the queue: only its preparation ends
    if (run) run->stop(true);  // handed over: withdrawn (or killed, if it just started)
    task->final_reported = true;
    if (task->stop == StopReason::none) task->stop = reason;
    task->slot_wait.cancel();
    return;
  }
  task->slot_wait.cancel();  // a prepared task waiting for slots: it stops waiting
  if (task->stop != StopReason::none) {
    // A shutdown escalates a cancel or time limit in its grace period.
    if (reason == StopReason::shutdown && run) run->stop(true);
    return;
  }
  task->stop = reason;
  if (task->phase == Phase::staging || (task->phase == Phase::starting && !run)) {
    if (run) run->stop(true);  // handed over while it waited in the queue: withdrawn
    // Dropped now; the coroutine frees the slots once its fetches (or the start) return.
    task->final_reported = true;
    auto r = make_report(*task, TaskState::cancelled);
    r.message = reason == StopReason::cancelled ? "cancelled before it started"
                : reason == StopReason::released
                    ? "given up before it started: " + task->release_reason
                    : "not started: the executor on " + ctx_.self.name + " stopped";
    r.finished = ctx_.clock.unix_ms();
    report(*task, std::move(r));
    return;
  }
  if (!run) return;
  bool force = reason == StopReason::shutdown;
  run->stop(force);
  if (!force) {
    task->grace_timer.expires_after(options_.kill_grace);
    task->grace_timer.async_wait([run](bool expired) {
      if (expired) run->stop(true);
    });
  }
}

// ---------------------------------------------------------------------------------------
// Logs and cleanup: the file service owns the layout.

asio::awaitable<Result<std::string>> PoolExecutor::logs(std::string workflow, std::string task,
                                                        int attempt, std::string stream,
                                                        std::uint64_t max_bytes) {
  co_return co_await files_->task_log(std::move(workflow), std::move(task), attempt,
                                      std::move(stream), std::min(max_bytes, kMaxLogBytes));
}

asio::awaitable<Status> PoolExecutor::cleanup(model::CancelRequest request) {
  std::set<std::string> active;  // work directories of attempts still here
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, t] : tasks_)
      if (std::get<0>(key) == request.workflow && !t->workdir.empty()) active.insert(t->workdir);
  }
  co_return co_await files_->remove_task_dirs(std::move(request.workflow), std::move(request.task),
                                              std::move(active));
}

// ---------------------------------------------------------------------------------------
// Reports

model::TaskReport PoolExecutor::make_report(const Task& task, TaskState state) const {
  model::TaskReport r;
  r.workflow = task.assignment.workflow;
  r.task = task.assignment.task;
  r.attempt = task.assignment.attempt;
  r.host = ctx_.self.id;
  r.state = state;
  return r;
}

void PoolExecutor::update_running_gauge_locked() {
  ctx_.metrics.set("fvce_execute_running", {}, running_);
}

std::vector<std::shared_ptr<PoolExecutor::Task>> PoolExecutor::free_slots(Task& task) {
  std::lock_guard lock(mu_);
  if (!task.holds_slots) return {};
  auto out = give_back_locked(task);
  for (auto& t : take_startable_locked()) out.push_back(std::move(t));
  return out;
}

std::vector<std::shared_ptr<PoolExecutor::Task>> PoolExecutor::give_back_locked(Task& task) {
  if (!task.holds_slots) return {};
  free_slots_ += task.assignment.cores;
  task.holds_slots = false;
  auto next = task.follower.lock();
  task.follower.reset();
  // The task handed over behind this one took its slots the moment it ended (or takes them
  // now, if it is still being handed over): the bookkeeping follows, ahead of the queue.
  if (!next || !next->queued || !next->start_error.ok()) return {};
  waiting_.erase(std::find(waiting_.begin(), waiting_.end(), next));
  next->queued = false;
  waiting_cores_ -= next->assignment.cores;
  free_slots_ -= next->assignment.cores;
  next->holds_slots = true;
  return {next};
}

void PoolExecutor::report(Task& task, model::TaskReport r) {
  if (model::is_final(r.state)) {
    ctx_.metrics.add("fvce_execute_tasks_total",
                     {{"state", std::string(model::to_string(r.state))}});
    wake(free_slots(task));
  }
  outbox_->add(task.assignment.submitter, std::move(r));
}

}  // namespace fvce::execute
