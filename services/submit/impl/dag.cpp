#include "services/submit/impl/dag.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstdlib>
#include <filesystem>

#include "node/core/units.h"
#include "node/core/workers.h"
#include "node/model/codec.h"
#include "services/execute/logic.h"

namespace fvce::submit {

namespace asio = boost::asio;
using model::TaskState;
using model::WorkflowState;

namespace {

// A task's checkpoint in its row: name, SHA-256, size, source, path, tab-separated.
std::string checkpoint_text(const model::FileRef& f) {
  return f.name + "\t" + f.sha256 + "\t" + std::to_string(f.size) + "\t" + f.source + "\t" + f.path;
}
std::optional<model::FileRef> checkpoint_from_text(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::vector<std::string> parts;
  std::size_t from = 0;
  for (;;) {
    auto tab = text.find('\t', from);
    parts.push_back(text.substr(from, tab == std::string::npos ? tab : tab - from));
    if (tab == std::string::npos) break;
    from = tab + 1;
  }
  if (parts.size() != 5) return std::nullopt;
  model::FileRef f;
  f.name = parts[0];
  f.sha256 = parts[1];
  f.size = std::strtoull(parts[2].c_str(), nullptr, 10);
  f.source = parts[3];
  f.path = parts[4];
  return f;
}
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kLatencyWindow = 20'000;

// "Hello World_2" → "hello-world-2", at most 40 characters.
std::string slug(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (out.size() >= 40) break;
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() < 2) out = "wf" + out;
  return out;
}

bool in_flight(TaskState s) {
  return s == TaskState::placed || s == TaskState::staging || s == TaskState::running;
}

int rank(TaskState s) {
  return static_cast<int>(s);
}

}  // namespace

DagSubmit::DagSubmit(NodeContext& ctx, std::shared_ptr<file::LocalFile> files,
                     std::shared_ptr<reg::MembershipView> membership,
                     std::shared_ptr<schedule::ScheduleLogic> scheduler, DagConfig config)
    : ctx_(ctx),
      files_(std::move(files)),
      membership_(std::move(membership)),
      scheduler_(std::move(scheduler)),
      config_(config),
      db_strand_(asio::make_strand(ctx.workers->get_executor())),
      dispatch_strand_(asio::make_strand(ctx.ioc)),
      wake_(std::make_unique<Timer>(dispatch_strand_, ctx.clock)) {
  latencies_.reserve(kLatencyWindow);
  ctx_.metrics.describe("fvce_submit_tasks_total", "counter", "Tasks that ended, by state.");
  ctx_.metrics.describe("fvce_submit_workflows", "gauge", "Workflows known, by state.");
  ctx_.metrics.describe("fvce_schedule_latency_seconds", "summary",
                        "Scheduling latency: from the dispatcher taking up a ready task for "
                        "which a host has room to that host accepting it (placement, load "
                        "probes, recording, hand-over; quantiles over the last 20000 tasks).");
  ctx_.metrics.describe("fvce_submit_placements_total", "counter",
                        "Placement attempts: a ready task handed to the scheduler (once per "
                        "task and round, whether a host had room or not).");
  ctx_.metrics.describe("fvce_task_wait_seconds", "summary",
                        "From a task becoming ready to a host accepting it, including the "
                        "wait for a free slot (quantiles over the last 20000 tasks).");
  ctx_.metrics.add_collector([this](http::Metrics& m) {
    std::vector<double> lat, wait;
    std::uint64_t count = 0;
    std::map<WorkflowState, int> states;
    {
      std::lock_guard lock(mu_);
      lat = latencies_;
      wait = waits_;
      count = latency_count_;
      for (const auto& [id, wf] : workflows_) ++states[wf->state];
    }
    for (auto s : {WorkflowState::running, WorkflowState::done, WorkflowState::failed,
                   WorkflowState::cancelled})
      m.set("fvce_submit_workflows", {{"state", std::string(model::to_string(s))}}, states[s]);
    auto quantiles = [&](std::vector<double>& v, const std::string& family) {
      std::sort(v.begin(), v.end());
      for (const char* q : {"0.5", "0.9", "0.99"}) {
        double x = std::stod(q);
        double value =
            v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(x * v.size()))];
        m.set(family, {{"quantile", q}}, value);
      }
      m.set(family + "_count", {}, static_cast<double>(count));
    };
    quantiles(lat, "fvce_schedule_latency_seconds");
    quantiles(wait, "fvce_task_wait_seconds");
  });
}

DagSubmit::~DagSubmit() = default;

namespace {
// Runs on the database strand. Takes pointers into the awaiting frame, which outlives it (a
// capturing coroutine lambda here is miscompiled by GCC 12: its captures were destroyed
// twice).
asio::awaitable<void> write_on_strand(DagSubmit* dag, const Batch* batch, bool durable,
                                      Status* out) {
  *out = dag->write_queued(*batch, durable);
  co_return;
}
asio::awaitable<void> checkpoint_on_strand(Store* store) {
  auto s = store->checkpoint();
  if (!s.ok()) spdlog::warn("submit: {}", s.message());
  co_return;
}
}  // namespace

Status DagSubmit::write_queued(const Batch& batch, bool durable) {
  std::lock_guard lock(db_mu_);
  auto s = store_.write(batch, durable);
  --queued_writes_;
  return s;
}

asio::awaitable<Status> DagSubmit::write(Batch batch, bool durable) {
  if (batch.empty()) co_return Status::Ok();
  // A write that needs no fsync appends to the log right here: no thread hop on the way to
  // a dispatch. It waits its turn behind queued (durable) writes, so the order of the
  // writes is always the order of the calls.
  Status result;
  bool inline_write = false;
  {
    std::lock_guard lock(db_mu_);
    if (!durable && !config_.full_sync && queued_writes_ == 0) {
      result = store_.write(batch, false);
      inline_write = true;
    } else {
      ++queued_writes_;
    }
  }
  if (!inline_write)
    co_await asio::co_spawn(db_strand_, write_on_strand(this, &batch, durable, &result),
                            asio::use_awaitable);
  if (store_.checkpoint_due() && !checkpointing_.exchange(true)) {
    auto self = shared_from_this();
    asio::co_spawn(db_strand_, checkpoint_on_strand(&store_),
                   [self](std::exception_ptr) { self->checkpointing_ = false; });
  }
  co_return result;
}

Status DagSubmit::open() {
  auto s = store_.open(ctx_.state_dir / "submit.db", config_.full_sync);
  if (!s.ok()) return s;
  auto rows = store_.workflows(false);
  if (!rows.ok()) return rows.status();
  auto now = ctx_.clock.now();
  std::lock_guard lock(mu_);
  for (auto& w : *rows) {
    auto wf = std::make_shared<Workflow>();
    wf->id = w.id;
    wf->name = w.name;
    wf->owner = w.owner;
    wf->doc = w.doc;
    wf->state = w.state;
    wf->submitted = w.submitted;
    wf->finished = w.finished;
    auto doc = model::from_xml<model::WorkflowDoc>(w.doc);
    if (!doc.ok()) {
      spdlog::error("workflow {}: stored document unreadable: {}", w.id, doc.status().message());
      continue;
    }
    auto plan = plan_workflow(*doc);
    if (!plan.ok()) {
      spdlog::error("workflow {}: stored plan invalid: {}", w.id, plan.status().message());
      continue;
    }
    wf->app = doc->app;
    wf->plan = std::move(*plan);
    wf->runs.resize(wf->plan.tasks.size());
    for (const auto& in : wf->plan.inputs)
      wf->files[in.name] = model::FileRef{
          in.name,      in.sha256, in.size.value_or(0), ctx_.self.address, "store/" + in.sha256,
          in.executable};
    auto tasks = store_.tasks(w.id);
    if (!tasks.ok()) return tasks.status();
    for (const auto& t : *tasks) {
      if (t.index < 0 || t.index >= static_cast<int>(wf->runs.size())) continue;
      auto& r = wf->runs[t.index];
      r.state = t.state;
      r.attempts = t.attempts;
      r.retry_base = t.retry_base;
      r.checkpoint = checkpoint_from_text(t.checkpoint);
      r.host_id = t.host_id;
      r.host_name = t.host_name;
      r.host_address = t.host_address;
      r.host_started = t.host_started;
      r.exit_code = t.exit_code;
      r.wall_ms = t.wall_ms;
      r.cpu_ms = t.cpu_ms;
      r.max_rss = t.max_rss;
      r.started = t.started;
      r.finished = t.finished;
      r.message = t.message;
    }
    auto files = store_.files(w.id);
    if (!files.ok()) return files.status();
    for (const auto& f : *files) {
      if (f.result)
        wf->results.push_back(f.ref);
      else
        wf->files[f.ref.name] = f.ref;
    }
    for (std::size_t i = 0; i < wf->runs.size(); ++i) {
      auto& r = wf->runs[i];
      if (model::is_final(r.state)) ++wf->final_count;
      for (int d : wf->plan.tasks[i].deps)
        if (wf->runs[d].state != TaskState::done) ++r.deps_left;
    }
    wf->settled = wf->state != WorkflowState::running;
    workflows_[wf->id] = wf;
    if (wf->state == WorkflowState::running) {
      for (std::size_t i = 0; i < wf->runs.size(); ++i) {
        auto& r = wf->runs[i];
        // A placement is recorded before the host accepts it: after a crash we cannot know
        // whether it did, and it may have run the task meanwhile, its reports waiting for
        // this node to be back. Its host gets recover_grace to say so (the watcher places it
        // again after that: the same host answers "already known", another one runs it).
        if (r.state == TaskState::placed) r.recover_until = now + config_.recover_grace;
        if ((r.state == TaskState::pending && r.deps_left == 0) || r.state == TaskState::ready)
          make_ready(*wf, static_cast<int>(i), now);
      }
      spdlog::info("workflow {} ({}) resumed: {} of {} tasks final", wf->id, wf->name,
                   wf->final_count, wf->runs.size());
    }
  }
  return Status::Ok();
}

void DagSubmit::start() {
  auto self = shared_from_this();
  members_version_ = membership_->version();
  asio::co_spawn(dispatch_strand_, dispatch_loop(), asio::detached);
  asio::co_spawn(ctx_.ioc, watch_loop(), asio::detached);
  // Workflows whose tasks all ended before a crash still need their results and clean-up.
  std::vector<WorkflowPtr> unfinished;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, wf] : workflows_)
      if (wf->state == WorkflowState::running && all_final(*wf)) unfinished.push_back(wf);
  }
  for (auto& wf : unfinished) asio::co_spawn(ctx_.ioc, finalize(wf), asio::detached);
}

void DagSubmit::stop() {
  stopping_ = true;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, wf] : workflows_) wake_waiters_locked(*wf);
  }
  notify();
}

void DagSubmit::finalize_if_done(const WorkflowPtr& wf) {
  {
    std::lock_guard lock(mu_);
    if (!all_final(*wf) || wf->finalizing) return;
    wf->finalizing = true;
  }
  asio::co_spawn(ctx_.ioc, finalize(wf), asio::detached);
}

void DagSubmit::notify() {
  // On the dispatcher's strand: the dispatcher checks wake_pending_ and starts its wait
  // without a notify slipping in between (a lost wake-up cost a whole idle period).
  asio::post(dispatch_strand_, [self = shared_from_this()] {
    self->wake_pending_ = true;
    self->wake_->cancel();
  });
}

void DagSubmit::end_locked(Workflow& wf, int index, std::int64_t observed_ms, bool success) {
  auto& r = wf.runs[index];
  if (r.ended) return;
  r.ended = true;
  const auto& t = wf.plan.tasks[index];
  if (r.accepted)
    scheduler_->finished(r.host_id, t.cores, t.cost_ms, observed_ms, success);
  else
    r.early_end = Run::EarlyEnd{observed_ms, success};  // send() passes it on
}

void DagSubmit::abandon_locked(Workflow& wf, int index) {
  auto& r = wf.runs[index];
  if (!r.accepted || r.ended) return;  // not accepted yet: its send settles it
  scheduler_->abandoned(r.host_id, wf.plan.tasks[index].cores);
  r.ended = true;
}

void DagSubmit::notify_room() {
  {
    std::lock_guard lock(mu_);
    // The next round takes a batch of the oldest parked tasks: it places what fits (a batch
    // samples enough hosts to find where the room came free), and the scheduler passes over
    // the tasks behind the first that finds none (docs/scheduling.md).
    room_ = true;
  }
  notify();
}

void DagSubmit::record_latency(double dispatch_seconds, double wait_seconds) {
  if (latencies_.size() < kLatencyWindow) {
    latencies_.push_back(dispatch_seconds);
    waits_.push_back(wait_seconds);
  } else {
    latencies_[latency_next_] = dispatch_seconds;
    waits_[latency_next_] = wait_seconds;
  }
  latency_next_ = (latency_next_ + 1) % kLatencyWindow;
  ++latency_count_;
}

// --- state helpers (under mu_) ---

void DagSubmit::make_ready(Workflow& wf, int index, Clock::time_point now) {
  auto& r = wf.runs[index];
  r.state = TaskState::ready;
  r.ready_at = now;
  r.recover_until.reset();
  auto it = workflows_.find(wf.id);
  if (it != workflows_.end()) ready_.push_back({it->second, index});
}

TaskRow DagSubmit::row(const Workflow& wf, int index) const {
  const auto& r = wf.runs[index];
  TaskRow t;
  t.workflow = wf.id;
  t.index = index;
  t.state = r.state;
  t.attempts = r.attempts;
  t.retry_base = r.retry_base;
  t.host_id = r.host_id;
  t.host_name = r.host_name;
  t.host_address = r.host_address;
  t.host_started = r.host_started;
  t.exit_code = r.exit_code;
  t.wall_ms = r.wall_ms;
  t.cpu_ms = r.cpu_ms;
  t.max_rss = r.max_rss;
  t.started = r.started;
  t.finished = r.finished;
  t.message = r.message;
  if (r.checkpoint) t.checkpoint = checkpoint_text(*r.checkpoint);
  return t;
}

WorkflowRow DagSubmit::workflow_row(const Workflow& wf) const {
  return WorkflowRow{wf.id, wf.name, wf.owner, wf.state, wf.submitted, wf.finished, wf.doc};
}

void DagSubmit::set_final(Workflow& wf, int index, TaskState state, Batch& batch) {
  auto& r = wf.runs[index];
  if (model::is_final(r.state)) return;
  r.state = state;
  if (!r.finished) r.finished = ctx_.clock.unix_ms();
  ++wf.final_count;
  batch.tasks.push_back(row(wf, index));
  ctx_.metrics.add("fvce_submit_tasks_total", {{"state", std::string(model::to_string(state))}});
  if (state != TaskState::done) {
    // Everything downstream can no longer run.
    for (int d : wf.plan.tasks[index].dependents) {
      auto& dr = wf.runs[d];
      if (model::is_final(dr.state)) continue;
      dr.message =
          "not run: task '" + wf.plan.tasks[index].id + "' " + std::string(model::to_string(state));
      set_final(wf, d, TaskState::cancelled, batch);
    }
  }
}

void DagSubmit::release_dependents(Workflow& wf, int index, Batch& batch) {
  auto now = ctx_.clock.now();
  for (int d : wf.plan.tasks[index].dependents) {
    auto& dr = wf.runs[d];
    if (--dr.deps_left == 0 && dr.state == TaskState::pending) {
      make_ready(wf, d, now);
      batch.tasks.push_back(row(wf, d));
    }
  }
}

void DagSubmit::reset_for_rerun_locked(Workflow& wf, int index) {
  auto& r = wf.runs[index];
  if (model::is_final(r.state)) --wf.final_count;
  r.state = TaskState::pending;
  r.retry_base = r.attempts;  // a fresh budget of retries
  r.exit_code.reset();
  r.wall_ms.reset();
  r.cpu_ms.reset();
  r.max_rss.reset();
  r.started.reset();
  r.finished.reset();
  r.message.clear();
  r.accepted = false;
  r.early_end.reset();
}

int DagSubmit::remake_lost_locked(Workflow& wf, const std::set<std::string>& lost,
                                  const std::string& why, Batch& batch,
                                  std::vector<StopOn>& stops) {
  const auto n = wf.runs.size();
  auto now = ctx_.clock.now();
  std::vector<char> again(n, 0);
  std::vector<int> todo;
  auto need = [&](int consumer) {
    for (const auto& name : wf.plan.tasks[consumer].inputs) {
      if (!lost.count(name)) continue;
      auto p = wf.plan.producer.find(name);
      if (p == wf.plan.producer.end() || again[p->second]) continue;
      if (wf.runs[p->second].state != TaskState::done) continue;  // being made already
      again[p->second] = 1;
      todo.push_back(p->second);
    }
  };
  for (std::size_t i = 0; i < n; ++i)
    if (wf.runs[i].state != TaskState::done) need(static_cast<int>(i));
  while (!todo.empty()) {
    int p = todo.back();
    todo.pop_back();
    need(p);
  }
  int count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!again[i]) continue;
    auto& r = wf.runs[i];
    reset_for_rerun_locked(wf, static_cast<int>(i));
    r.message = why + ": its output is needed again";
    for (const auto& [name, result] : wf.plan.tasks[i].outputs) ++wf.remakes[name];
    ++count;
    spdlog::warn("workflow {}: task {} runs again ({})", wf.id, wf.plan.tasks[i].id, why);
  }
  // Who waits for what now.
  for (std::size_t i = 0; i < n; ++i) {
    auto& r = wf.runs[i];
    if (model::is_final(r.state) || r.state == TaskState::running) continue;
    bool reads_lost = false;
    for (const auto& name : wf.plan.tasks[i].inputs) reads_lost = reads_lost || lost.count(name);
    int deps_left = 0;
    for (int d : wf.plan.tasks[i].deps)
      if (wf.runs[d].state != TaskState::done) ++deps_left;
    bool changed = again[i] != 0;
    if ((r.state == TaskState::placed || r.state == TaskState::staging) && reads_lost) {
      // Staging from where the file is no more: stopped, and it waits (not its fault).
      stops.push_back({r.host_id, r.host_address, wf.id, wf.plan.tasks[i].id});
      abandon_locked(wf, static_cast<int>(i));
      r.retry_base += 1;
      r.state = TaskState::pending;
      r.message = why + "; waiting for its input again";
      changed = true;
    }
    if (r.state == TaskState::ready && deps_left > 0) {
      r.state = TaskState::pending;  // the dispatcher passes over its queued entry
      changed = true;
    }
    if (r.state == TaskState::pending) {
      r.deps_left = deps_left;
      if (deps_left == 0) {
        make_ready(wf, static_cast<int>(i), now);
        changed = true;
      }
    }
    if (changed) batch.tasks.push_back(row(wf, static_cast<int>(i)));
  }
  return count;
}

asio::awaitable<void> DagSubmit::stop_tasks(std::vector<StopOn> stops) {
  for (const auto& s : stops) {
    PeerRef peer{s.host_id, s.address};
    model::CancelRequest req{s.workflow, s.task};
    Status c = co_await ctx_.peers.execute(peer).cancel(req);
    if (!c.ok())
      spdlog::info("workflow {}: stopping {} on {}: {}", s.workflow, s.task, s.address,
                   c.message());
  }
}

model::TaskAssignment DagSubmit::assignment(const Workflow& wf, int index, int attempt) const {
  const auto& t = wf.plan.tasks[index];
  model::TaskAssignment a;
  a.workflow = wf.id;
  a.task = t.id;
  a.attempt = attempt;
  a.submitter = ctx_.self.address;
  a.owner = wf.owner;
  a.cmd = t.cmd;
  a.args = t.args;
  a.env = t.env;
  a.cores = t.cores;
  a.memory = t.memory;
  a.time_limit_ms = t.time_limit_ms;
  for (const auto& name : t.inputs) {
    auto it = wf.files.find(name);
    if (it != wf.files.end()) a.inputs.push_back(it->second);
  }
  for (const auto& [name, result] : t.outputs) a.outputs.push_back(name);
  a.checkpoint = t.checkpoint;
  // It resumes from its checkpoint: the file comes as an input under its own name, and the
  // restart argument (if the task declares one) names it.
  const auto& r = wf.runs[index];
  if (r.checkpoint && t.checkpoint) {
    auto in = *r.checkpoint;
    in.name = t.checkpoint->file;
    a.inputs.push_back(std::move(in));
    if (!t.checkpoint->restart_arg.empty()) {
      a.args.push_back(t.checkpoint->restart_arg);
      a.args.push_back(t.checkpoint->file);
    }
  }
  return a;
}

model::WorkflowSummary DagSubmit::summary(const Workflow& wf) const {
  model::WorkflowSummary s;
  s.id = wf.id;
  s.name = wf.name;
  s.owner = wf.owner;
  s.app = wf.app;
  s.node = ctx_.self.name;
  s.state = wf.state;
  s.submitted = wf.submitted;
  s.finished = wf.finished;
  s.tasks = static_cast<int>(wf.runs.size());
  for (const auto& r : wf.runs) {
    switch (r.state) {
      case TaskState::pending:
        ++s.pending;
        break;
      case TaskState::ready:
      case TaskState::placed:
        ++s.ready;
        break;
      case TaskState::staging:
      case TaskState::running:
        ++s.running;
        break;
      case TaskState::done:
        ++s.done;
        break;
      case TaskState::failed:
        ++s.failed;
        break;
      case TaskState::cancelled:
        ++s.cancelled;
        break;
    }
  }
  return s;
}

// --- SubmitLogic ---

asio::awaitable<Result<model::Submitted>> DagSubmit::submit(model::WorkflowDoc doc,
                                                            std::string owner) {
  auto plan = plan_workflow(doc);
  if (!plan.ok()) co_return plan.status();
  // Every input must be in this node's store already, with the size the document states.
  for (const auto& in : plan->inputs) {
    if (in.sha256.empty() || !in.size)
      co_return Status::InvalidArgument("file '" + in.name +
                                        "': sha256 and size are needed (fvce submit fills them "
                                        "in from src)");
    auto path = files_->resolve("store/" + in.sha256);
    std::error_code ec;
    auto size = path.ok() ? std::filesystem::file_size(*path, ec) : 0;
    if (!path.ok() || ec)
      co_return Status::InvalidArgument("file '" + in.name + "' (sha256 " + in.sha256 +
                                        ") is not in this node's store: upload it first with "
                                        "PUT /file/store?sha256=" +
                                        in.sha256 + " (fvce submit does this)");
    if (size != *in.size)
      co_return Status::InvalidArgument("file '" + in.name + "': the store holds " +
                                        std::to_string(size) + " bytes, the document says " +
                                        std::to_string(*in.size));
  }
  auto wf = std::make_shared<Workflow>();
  // The id names its owner (owner_tag()): any node can tell whom to ask about it.
  std::string tag = ctx_.self.id.substr(0, 4);
  do {
    wf->id = slug(doc.name) + "-" + tag + random_suffix(ctx_.random, 4);
  } while (owns(wf->id));
  wf->name = doc.name;
  wf->app = doc.app;
  wf->owner = owner;
  wf->doc = model::to_xml(doc);
  wf->submitted = ctx_.clock.unix_ms();
  wf->plan = std::move(*plan);
  wf->runs.resize(wf->plan.tasks.size());
  for (const auto& in : wf->plan.inputs)
    wf->files[in.name] = model::FileRef{
        in.name, in.sha256, *in.size, ctx_.self.address, "store/" + in.sha256, in.executable};
  Batch batch;
  batch.workflows.push_back(workflow_row(*wf));
  for (std::size_t i = 0; i < wf->runs.size(); ++i) {
    wf->runs[i].deps_left = static_cast<int>(wf->plan.tasks[i].deps.size());
    batch.tasks.push_back(row(*wf, static_cast<int>(i)));  // all pending
  }
  auto s = co_await write(std::move(batch), true);
  if (!s.ok()) co_return s;
  model::Submitted out{wf->id, wf->name, static_cast<int>(wf->runs.size())};
  Batch ready;
  {
    std::lock_guard lock(mu_);
    workflows_[wf->id] = wf;
    auto now = ctx_.clock.now();
    for (std::size_t i = 0; i < wf->runs.size(); ++i)
      if (wf->runs[i].deps_left == 0) {
        make_ready(*wf, static_cast<int>(i), now);
        ready.tasks.push_back(row(*wf, static_cast<int>(i)));
      }
  }
  co_await write(std::move(ready), false);
  spdlog::info("workflow {} ({}) submitted by {}: {} tasks", out.id, out.name, owner, out.tasks);
  notify();
  co_return out;
}

asio::awaitable<Result<model::WorkflowList>> DagSubmit::workflows(WorkflowQuery query) {
  model::WorkflowList list;
  std::vector<model::WorkflowSummary> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, wf] : workflows_) {
      if (!query.owner.empty() && wf->owner != query.owner) continue;
      auto s = summary(*wf);
      if (matches(query, s)) all.push_back(std::move(s));
    }
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.submitted != b.submitted ? a.submitted > b.submitted : a.id < b.id;
  });
  list.total = all.size();
  list.offset = query.offset;
  auto limit = std::clamp<std::uint64_t>(query.limit, 1, kMaxPage);
  for (auto i = query.offset; i < all.size() && list.workflows.size() < limit; ++i)
    list.workflows.push_back(std::move(all[i]));
  co_return list;
}

asio::awaitable<void> DagSubmit::wait_for_end(std::string id, std::chrono::milliseconds wait) {
  auto waiter = std::make_shared<Timer>(co_await asio::this_coro::executor, ctx_.clock);
  {
    std::lock_guard lock(mu_);
    auto it = workflows_.find(id);
    if (it == workflows_.end() || it->second->state != WorkflowState::running || stopping_)
      co_return;
    waiter->expires_after(wait);
    it->second->waiters.push_back(waiter);
  }
  // No suspension between the registration above and the wait's start: on this strand, a
  // wake-up (a cancel posted to it) runs only after the wait has begun.
  co_await waiter->wait();
  std::lock_guard lock(mu_);
  if (auto it = workflows_.find(id); it != workflows_.end())
    std::erase(it->second->waiters, waiter);
}

void DagSubmit::wake_waiters_locked(Workflow& wf) {
  for (auto& w : wf.waiters) w->cancel();
  wf.waiters.clear();
}

asio::awaitable<Result<model::WorkflowStatus>> DagSubmit::status(std::string id, TaskDetail detail,
                                                                 std::chrono::milliseconds wait) {
  if (wait > kMaxStatusWait)
    co_return Status::InvalidArgument("a status call waits at most " +
                                      std::to_string(kMaxStatusWait.count()) + " ms");
  if (wait.count() > 0) {
    auto self = shared_from_this();
    co_await asio::co_spawn(asio::make_strand(ctx_.ioc), wait_for_end(id, wait),
                            asio::use_awaitable);
  }
  std::lock_guard lock(mu_);
  auto it = workflows_.find(id);
  if (it == workflows_.end()) co_return Status::NotFound("no workflow '" + id + "' on this node");
  const auto& wf = *it->second;
  model::WorkflowStatus st;
  st.summary = summary(wf);
  for (std::size_t i = 0; i < wf.runs.size() && detail != TaskDetail::none; ++i) {
    const auto& r = wf.runs[i];
    if (detail == TaskDetail::failed && r.state != TaskState::failed) continue;
    st.tasks.push_back(model::TaskStatus{wf.plan.tasks[i].id, r.state, r.host_name, r.attempts,
                                         r.exit_code, r.wall_ms, r.cpu_ms, r.max_rss, r.started,
                                         r.finished, r.message});
  }
  co_return st;
}

namespace {

// The group a task belongs to: an array task's id without its index, else its own id.
std::string_view group_of(std::string_view task) {
  if (task.ends_with(']'))
    if (auto open = task.rfind('['); open != std::string_view::npos) return task.substr(0, open);
  return task;
}

int index_of(std::string_view task) {
  auto open = task.rfind('[');
  int i = 0;
  std::from_chars(task.data() + open + 1, task.data() + task.size() - 1, i);
  return i;
}

void count(model::TaskGroup& g, TaskState s) {
  ++g.tasks;
  switch (s) {
    case TaskState::pending:
      ++g.pending;
      break;
    case TaskState::ready:
    case TaskState::placed:
      ++g.ready;
      break;
    case TaskState::staging:
    case TaskState::running:
      ++g.running;
      break;
    case TaskState::done:
      ++g.done;
      break;
    case TaskState::failed:
      ++g.failed;
      break;
    case TaskState::cancelled:
      ++g.cancelled;
      break;
  }
}

}  // namespace

asio::awaitable<Result<model::WorkflowView>> DagSubmit::view(std::string id, ViewQuery query) {
  if (query.limit > kMaxPage)
    co_return Status::InvalidArgument("limit=" + std::to_string(query.limit) + " is more than " +
                                      std::to_string(kMaxPage));
  // Copy what the view needs under the lock, then build it outside: a 100,000-task
  // workflow's timeline takes milliseconds, which dispatching should not wait for.
  model::WorkflowView out;
  std::vector<std::string> ids;
  std::vector<std::vector<int>> deps;
  std::vector<Run> runs;
  {
    std::lock_guard lock(mu_);
    auto it = workflows_.find(id);
    if (it == workflows_.end()) co_return Status::NotFound("no workflow '" + id + "' on this node");
    const auto& wf = *it->second;
    out.summary = summary(wf);
    out.offset = query.offset;
    for (std::size_t i = 0; i < wf.runs.size(); ++i) {
      const auto& r = wf.runs[i];
      const auto& task = wf.plan.tasks[i].id;
      if (!query.states.empty() &&
          std::find(query.states.begin(), query.states.end(), r.state) == query.states.end())
        continue;
      if (!query.group.empty() && group_of(task) != query.group) continue;
      if (!query.search.empty() && task.find(query.search) == std::string::npos) continue;
      if (out.total++ < query.offset || !query.tasks || out.tasks.size() >= query.limit) continue;
      out.tasks.push_back(model::TaskStatus{task, r.state, r.host_name, r.attempts, r.exit_code,
                                            r.wall_ms, r.cpu_ms, r.max_rss, r.started, r.finished,
                                            r.message});
    }
    if (query.graph || query.timeline) {
      ids.reserve(wf.runs.size());
      for (const auto& t : wf.plan.tasks) ids.push_back(t.id);
      runs = wf.runs;
    }
    if (query.graph) {
      deps.reserve(wf.runs.size());
      for (const auto& t : wf.plan.tasks) deps.push_back(t.deps);
    }
  }
  auto build = [&] {
    if (query.graph) {
      std::map<std::string_view, std::size_t> group_index;
      std::vector<std::size_t> group_of_task(ids.size());
      for (std::size_t i = 0; i < ids.size(); ++i) {
        auto name = group_of(ids[i]);
        auto [it, added] = group_index.emplace(name, out.groups.size());
        if (added) {
          model::TaskGroup g;
          g.id = std::string(name);
          g.array = name.size() != ids[i].size();
          if (g.array) g.first = g.last = index_of(ids[i]);
          out.groups.push_back(std::move(g));
        }
        auto& g = out.groups[it->second];
        if (g.array) {
          int index = index_of(ids[i]);
          g.first = std::min(g.first, index);
          g.last = std::max(g.last, index);
        }
        count(g, runs[i].state);
        group_of_task[i] = it->second;
      }
      std::set<std::pair<std::size_t, std::size_t>> edges;
      for (std::size_t i = 0; i < ids.size(); ++i)
        for (int d : deps[i])
          if (group_of_task[d] != group_of_task[i])
            edges.emplace(group_of_task[d], group_of_task[i]);
      for (auto [from, to] : edges) out.edges.emplace_back(out.groups[from].id, out.groups[to].id);
    }
    if (query.timeline) {
      model::Timeline t;
      t.t0 = out.summary.submitted;
      std::map<std::string, int> host_index;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto& r = runs[i];
        if (!r.started || r.host_name.empty()) continue;
        auto [h, added] = host_index.emplace(r.host_name, static_cast<int>(t.hosts.size()));
        if (added) t.hosts.push_back(r.host_name);
        t.task.push_back(ids[i]);
        t.host.push_back(h->second);
        t.start.push_back(*r.started - t.t0);
        t.end.push_back(r.finished && model::is_final(r.state) ? *r.finished - t.t0 : -1);
        t.state.push_back(r.state);
      }
      out.timeline = std::move(t);
    }
    return true;
  };
  if (query.graph || query.timeline) co_await on_workers(ctx_.workers, build);
  co_return out;
}

asio::awaitable<Result<std::string>> DagSubmit::owner_of(std::string id) {
  std::lock_guard lock(mu_);
  auto it = workflows_.find(id);
  if (it == workflows_.end()) co_return Status::NotFound("no workflow '" + id + "' on this node");
  co_return it->second->owner;
}

bool DagSubmit::owns(const std::string& id) const {
  std::lock_guard lock(mu_);
  return workflows_.count(id) > 0;
}

asio::awaitable<Status> DagSubmit::cancel(std::string id) {
  WorkflowPtr wf;
  std::set<std::pair<std::string, std::string>> hosts;  // (id, address) running its tasks
  Batch batch;
  {
    std::lock_guard lock(mu_);
    auto it = workflows_.find(id);
    if (it == workflows_.end()) co_return Status::NotFound("no workflow '" + id + "' on this node");
    wf = it->second;
    if (wf->state != WorkflowState::running)
      co_return Status::Conflict("workflow '" + id + "' is already " +
                                 std::string(model::to_string(wf->state)));
    wf->cancel_requested = true;
    for (std::size_t i = 0; i < wf->runs.size(); ++i) {
      auto& r = wf->runs[i];
      if (model::is_final(r.state)) continue;
      if (in_flight(r.state)) {
        hosts.insert({r.host_id, r.host_address});
        abandon_locked(*wf, static_cast<int>(i));
      }
      r.message = "cancelled by the user";
      set_final(*wf, static_cast<int>(i), TaskState::cancelled, batch);
    }
  }
  auto s = co_await write(std::move(batch), true);
  if (!s.ok()) co_return s;
  model::CancelRequest req{id, ""};
  for (const auto& [host_id, address] : hosts) {
    PeerRef peer{host_id, address};
    auto& executor = ctx_.peers.execute(peer);
    Status c = co_await executor.cancel(req);
    if (!c.ok()) spdlog::warn("cancelling {} on {}: {}", id, address, c.message());
  }
  spdlog::info("workflow {} cancelled", id);
  asio::co_spawn(ctx_.ioc, finalize(wf), asio::detached);
  co_return Status::Ok();
}

asio::awaitable<Result<model::Submitted>> DagSubmit::retry(std::string id) {
  Batch batch;
  model::Submitted out;
  {
    std::lock_guard lock(mu_);
    auto it = workflows_.find(id);
    if (it == workflows_.end()) co_return Status::NotFound("no workflow '" + id + "' on this node");
    auto& wf = *it->second;
    if (wf.state == WorkflowState::running)
      co_return Status::Conflict("workflow '" + id +
                                 "' is still running: only a failed or cancelled one is retried");
    if (wf.state == WorkflowState::done)
      co_return Status::Conflict("workflow '" + id + "' is done: it has nothing to retry");
    if (!wf.settled)
      co_return Status::Conflict("workflow '" + id +
                                 "' is still recording its end; retry it in a moment");
    // What is still somewhere: the inputs and the declared results, in this node's store.
    // Every other output went with the work directories when the workflow ended.
    std::set<std::string> kept;
    for (const auto& in : wf.plan.inputs) kept.insert(in.name);
    for (const auto& ref : wf.results) {
      wf.files[ref.name] = ref;
      kept.insert(ref.name);
      batch.files.push_back(FileRow{wf.id, ref, false});
    }
    // Every task not done runs again, and so does the maker of every input one of them needs
    // that is no longer kept (transitively): those files are lost, as with a lost host.
    const auto n = wf.runs.size();
    for (std::size_t i = 0; i < n; ++i)
      if (wf.runs[i].state != TaskState::done) {
        reset_for_rerun_locked(wf, static_cast<int>(i));
        ++out.tasks;
      }
    std::set<std::string> gone;
    for (const auto& [name, maker] : wf.plan.producer)
      if (!kept.count(name)) gone.insert(name);
    wf.remakes.clear();        // the user starts it afresh
    std::vector<StopOn> none;  // nothing of an ended workflow is in flight
    out.tasks += remake_lost_locked(wf, gone, "retried; its outputs went with the work directories",
                                    batch, none);
    for (std::size_t i = 0; i < n; ++i)
      if (wf.runs[i].state == TaskState::pending && wf.runs[i].deps_left > 0)
        batch.tasks.push_back(row(wf, static_cast<int>(i)));
    wf.state = WorkflowState::running;
    wf.finished.reset();
    wf.cancel_requested = false;
    wf.finalizing = false;
    wf.settled = false;
    batch.workflows.push_back(workflow_row(wf));
    out.id = wf.id;
    out.name = wf.name;
  }
  auto s = co_await write(std::move(batch), true);
  if (!s.ok()) co_return s;
  spdlog::info("workflow {} ({}) retried: {} tasks run again", out.id, out.name, out.tasks);
  notify();
  co_return out;
}

std::string DagSubmit::backup_for(const std::string& named, const model::Member& host) const {
  auto live = membership_->live_members();
  if (!named.empty()) {
    for (const auto& m : live)
      if (m.name == named && m.state == model::MemberState::alive && m.id != host.id)
        return m.address;
  }
  // The submitter itself is the usual choice: it outlives the workflow's hosts by design.
  if (host.id != ctx_.self.id) return ctx_.self.address;
  for (const auto& m : live)
    if (m.id != host.id && m.state == model::MemberState::alive) return m.address;
  return {};
}

asio::awaitable<Status> DagSubmit::migrate(std::string id, std::string task, std::string to) {
  std::optional<PeerRef> from;
  std::string target_name, from_name;
  {
    std::lock_guard lock(mu_);
    auto it = workflows_.find(id);
    if (it == workflows_.end()) co_return Status::NotFound("no workflow '" + id + "' on this node");
    auto& wf = *it->second;
    if (wf.state != WorkflowState::running || wf.cancel_requested)
      co_return Status::Conflict("workflow '" + id + "' is not running");
    auto ti = wf.plan.task_index.find(task);
    if (ti == wf.plan.task_index.end())
      co_return Status::NotFound("workflow '" + id + "' has no task '" + task + "'");
    auto& r = wf.runs[ti->second];
    const auto& t = wf.plan.tasks[ti->second];
    if (model::is_final(r.state))
      co_return Status::Conflict("task '" + task + "' is " +
                                 std::string(model::to_string(r.state)) +
                                 ": there is nothing to move");
    std::optional<model::Member> target;
    for (const auto& m : membership_->live_members())
      if ((m.name == to || m.id == to) && m.state == model::MemberState::alive) target = m;
    if (!target) co_return Status::NotFound("no live member '" + to + "' to move the task to");
    std::string why;
    schedule::TaskNeeds needs{t.cores, t.memory, t.cost_ms, {}, {}};
    if (!schedule::fits(*target, needs, &why))
      co_return Status::InvalidArgument(target->name + " cannot run task '" + task + "': it " +
                                        why);
    if (in_flight(r.state) && r.host_id == target->id)
      co_return Status::Conflict("task '" + task + "' is on " + target->name + " already");
    r.pin_host = target->id;
    target_name = target->name;
    if (in_flight(r.state)) {
      from = PeerRef(r.host_id, r.host_address);
      from_name = r.host_name;
    }
  }
  spdlog::info("workflow {}: task {} moves to {}{}", id, task, target_name,
               from_name.empty() ? "" : " from " + from_name);
  if (!from) co_return Status::Ok();  // not placed yet: it goes there
  model::ReleaseRequest request{id, task, "moved to " + target_name, true};
  auto& executor = ctx_.peers.execute(*from);
  Status s = co_await executor.release(std::move(request));
  // Not there (yet, or any more): its report decides; the target is kept for its next placement.
  if (!s.ok() && s.code() != ErrorCode::not_found)
    co_return Status(s.code(),
                     "cannot move task '" + task + "' off " + from_name + ": " + s.message());
  co_return Status::Ok();
}

asio::awaitable<Status> DagSubmit::reports(model::TaskReports reports) {
  Batch batch;
  std::set<WorkflowPtr> touched;
  std::vector<StopOn> stops;
  bool freed = false;  // a task of ours ended: its room is free
  {
    std::lock_guard lock(mu_);
    auto now = ctx_.clock.now();
    for (const auto& rep : reports.reports) {
      auto it = workflows_.find(rep.workflow);
      if (it == workflows_.end()) continue;  // forgotten: nothing to do, but acknowledge
      auto& wf = *it->second;
      auto ti = wf.plan.task_index.find(rep.task);
      if (ti == wf.plan.task_index.end()) continue;
      int idx = ti->second;
      auto& r = wf.runs[idx];
      // Only news about the current attempt on the host it was given to counts.
      if (rep.attempt != r.attempts || rep.host != r.host_id || model::is_final(r.state)) continue;
      r.recover_until.reset();  // its host has it
      const auto& task = wf.plan.tasks[idx];
      switch (rep.state) {
        case TaskState::staging:
        case TaskState::running: {
          bool changed = false;
          if (rank(rep.state) > rank(r.state)) {
            r.state = rep.state;
            if (rep.started) r.started = rep.started;
            changed = true;
          }
          // A periodic copy of its checkpoint: where it resumes from if its host is lost.
          if (rep.checkpoint && rep.checkpoint != r.checkpoint) {
            r.checkpoint = rep.checkpoint;
            changed = true;
          }
          if (changed) batch.tasks.push_back(row(wf, idx));
          break;
        }
        case TaskState::done: {
          r.exit_code = rep.exit_code;
          r.wall_ms = rep.wall_ms;
          r.cpu_ms = rep.cpu_ms;
          r.max_rss = rep.max_rss;
          if (rep.started) r.started = rep.started;
          r.finished = rep.finished;
          r.message.clear();
          for (const auto& out : rep.outputs) {
            wf.files[out.name] = out;
            batch.files.push_back(FileRow{wf.id, out, false});
          }
          end_locked(wf, idx, static_cast<std::int64_t>(rep.wall_ms.value_or(0)), true);
          freed = true;
          set_final(wf, idx, TaskState::done, batch);
          release_dependents(wf, idx, batch);
          touched.insert(it->second);
          break;
        }
        case TaskState::failed: {
          if (!rep.lost_input.empty() && r.checkpoint && rep.lost_input == r.checkpoint->name &&
              !wf.cancel_requested) {
            // The checkpoint it was to resume from is not to be had: it starts over (the
            // attempt does not count).
            end_locked(wf, idx, 0, false);
            freed = true;
            r.retry_base += 1;
            r.message = "its checkpoint could not be fetched (" + rep.message + "); it starts over";
            spdlog::warn("workflow {}: task {}: {}", wf.id, task.id, r.message);
            r.checkpoint.reset();
            make_ready(wf, idx, now);
            batch.tasks.push_back(row(wf, idx));
            break;
          }
          if (!rep.lost_input.empty() && !wf.cancel_requested &&
              wf.plan.producer.count(rep.lost_input) && wf.remakes[rep.lost_input] < kMaxRemakes) {
            // An input made by another task could not be fetched from where it was: not
            // this task's fault nor its host's. Its maker runs again; it waits for it.
            abandon_locked(wf, idx);
            freed = true;
            r.retry_base += 1;
            r.state = TaskState::pending;
            r.message = "input '" + rep.lost_input + "' could not be fetched: " + rep.message;
            spdlog::warn("workflow {}: task {} waits for its input to be made again: {}", wf.id,
                         task.id, r.message);
            std::string source = wf.files.count(rep.lost_input) ? wf.files[rep.lost_input].source
                                                                : std::string("its host");
            remake_lost_locked(wf, {rep.lost_input},
                               "'" + rep.lost_input + "' is lost on " + source, batch, stops);
            batch.tasks.push_back(row(wf, idx));
            break;
          }
          end_locked(wf, idx, static_cast<std::int64_t>(rep.wall_ms.value_or(0)), false);
          freed = true;
          if (!rep.host_fault.empty() && !wf.cancel_requested && r.host_faults < kMaxHostFaults) {
            // The host's trouble, not the task's (its disk filled up, its launcher died):
            // the attempt does not count, and the task goes to another host.
            ++r.host_faults;
            r.retry_base += 1;
            r.fault_host = rep.host;
            r.message = "attempt " + std::to_string(r.attempts) + " failed on " + r.host_name +
                        " for the host's own reason (" + rep.host_fault + "); runs again " +
                        "elsewhere: " + rep.message;
            spdlog::info("submit: {}/{}: {}", wf.id, task.id, r.message);
            make_ready(wf, idx, now);
            batch.tasks.push_back(row(wf, idx));
            break;
          }
          r.exit_code = rep.exit_code;
          r.wall_ms = rep.wall_ms;
          r.cpu_ms = rep.cpu_ms;
          r.max_rss = rep.max_rss;
          if (rep.started) r.started = rep.started;
          r.finished = rep.finished;
          r.message = rep.message;
          if (r.attempts - r.retry_base <= task.retries && !wf.cancel_requested) {
            r.message = "attempt " + std::to_string(r.attempts) + " failed: " + rep.message;
            r.finished.reset();
            r.checkpoint.reset();  // a retry starts over: the checkpoint may be the cause
            make_ready(wf, idx, now);
            batch.tasks.push_back(row(wf, idx));
          } else {
            set_final(wf, idx, TaskState::failed, batch);
            touched.insert(it->second);
          }
          break;
        }
        case TaskState::cancelled:
          // Not cancelled by us (we would have made it final already): the executor gave it
          // up (it is stopping). Run it again elsewhere, without counting a retry.
          abandon_locked(wf, idx);
          freed = true;
          r.retry_base += 1;  // not counted; its next run is a new attempt
          r.message = "given up by " + r.host_name + ": " + rep.message;
          if (rep.checkpoint) {
            r.checkpoint = rep.checkpoint;  // it resumes from there
            r.message +=
                " (resumes from its checkpoint, " + format_bytes(rep.checkpoint->size) + ")";
          }
          spdlog::info("workflow {}: task {} {}", wf.id, task.id, r.message);
          make_ready(wf, idx, now);
          batch.tasks.push_back(row(wf, idx));
          break;
        default:
          break;
      }
    }
  }
  auto s = co_await write(std::move(batch), false);
  if (!s.ok()) co_return s;
  for (const auto& wf : touched) {
    finalize_if_done(wf);
  }
  co_await stop_tasks(std::move(stops));
  if (freed) notify_room();
  co_return Status::Ok();
}

asio::awaitable<Result<model::ResultList>> DagSubmit::results(std::string id) {
  std::lock_guard lock(mu_);
  auto it = workflows_.find(id);
  if (it == workflows_.end()) co_return Status::NotFound("no workflow '" + id + "' on this node");
  if (it->second->state == WorkflowState::running)
    co_return Status::Conflict("workflow '" + id +
                               "' is still running; its results come "
                               "when it is done");
  co_return model::ResultList{id, it->second->results};
}

asio::awaitable<Result<std::string>> DagSubmit::logs(std::string id, std::string task,
                                                     std::string stream) {
  std::string host_id, address;
  int attempt = 0;
  {
    std::lock_guard lock(mu_);
    auto it = workflows_.find(id);
    if (it == workflows_.end()) co_return Status::NotFound("no workflow '" + id + "' on this node");
    auto ti = it->second->plan.task_index.find(task);
    if (ti == it->second->plan.task_index.end())
      co_return Status::NotFound("workflow '" + id + "' has no task '" + task + "'");
    const auto& r = it->second->runs[ti->second];
    if (r.host_id.empty() || r.attempts == 0)
      co_return Status::NotFound("task '" + task + "' has not run yet (" +
                                 std::string(model::to_string(r.state)) + ")");
    host_id = r.host_id;
    address = r.host_address;
    attempt = r.attempts;
  }
  constexpr std::uint64_t kMax = 8u << 20;
  PeerRef peer{host_id, address};
  auto& executor = ctx_.peers.execute(peer);
  co_return co_await executor.logs(id, task, attempt, stream, kMax);
}

// --- background work ---

asio::awaitable<void> DagSubmit::dispatch_loop() {
  auto self = shared_from_this();
  while (!stopping_) {
    std::vector<ReadyItem> items;
    std::size_t from_parked = 0;  // items[0, from_parked) were parked
    bool parked = false;
    {
      std::lock_guard lock(mu_);
      auto usable = [](const ReadyItem& item) {
        return item.wf->runs[item.index].state == TaskState::ready &&
               item.wf->state == WorkflowState::running && !item.wf->cancel_requested;
      };
      auto batch = static_cast<std::size_t>(config_.batch);
      // Room came: the oldest parked tasks first, one batch a round (a round that places all
      // it took keeps the room open for the next batch).
      if (room_) {
        room_ = false;
        while (!parked_.empty() && items.size() < batch) {
          auto item = std::move(parked_.front());
          parked_.pop_front();
          if (usable(item)) items.push_back(std::move(item));
        }
        from_parked = items.size();
      }
      while (!ready_.empty() && items.size() < batch) {
        auto item = std::move(ready_.front());
        ready_.pop_front();
        if (usable(item)) items.push_back(std::move(item));
      }
      parked = !parked_.empty();
    }
    if (items.empty()) {
      // Nothing to place: sleep until notified. Parked tasks that wait for others' work to
      // end have the backstop armed; those that wait for ours need no timer.
      if (!wake_pending_) {
        wake_->expires_after(parked && busy_wait_.count() > 0 ? busy_wait_ : std::chrono::hours(1));
        bool expired = co_await wake_->wait();
        if (expired && parked && busy_wait_.count() > 0) {
          // The backstop: place the parked tasks again, and wait longer next time.
          busy_wait_ = std::min(config_.max_busy_retry, busy_wait_ * 2);
          std::lock_guard lock(mu_);
          room_ = true;
        }
      }
      wake_pending_ = false;
      continue;
    }
    auto round_start = ctx_.clock.now();
    std::vector<schedule::TaskNeeds> needs;
    {
      std::lock_guard lock(mu_);
      for (const auto& it : items) {
        const auto& t = it.wf->plan.tasks[it.index];
        schedule::TaskNeeds n{t.cores, t.memory, t.cost_ms, {}, {}};
        // A retry after a failure goes elsewhere where it can (the host may be the cause).
        const auto& r = it.wf->runs[it.index];
        if (r.attempts > r.retry_base && !r.host_id.empty()) n.avoid.push_back(r.host_id);
        // And the host where it last failed for the host's own reasons.
        if (!r.fault_host.empty() &&
            std::find(n.avoid.begin(), n.avoid.end(), r.fault_host) == n.avoid.end())
          n.avoid.push_back(r.fault_host);
        for (const auto& name : t.inputs) {
          auto f = it.wf->files.find(name);
          if (f != it.wf->files.end()) n.inputs.emplace_back(f->second.source, f->second.size);
        }
        needs.push_back(std::move(n));
      }
    }
    ctx_.metrics.add("fvce_submit_placements_total", {}, static_cast<double>(items.size()));
    auto placements = co_await scheduler_->place(std::move(needs));

    Batch batch;
    struct Send {
      WorkflowPtr wf;
      int index;
      int attempt;
      std::uint64_t placement;
      std::vector<model::Member> hosts;
      model::TaskAssignment a;
    };
    std::vector<Send> sends;
    std::set<WorkflowPtr> touched;
    bool others_busy = false;
    {
      std::lock_guard lock(mu_);
      std::vector<ReadyItem> later;  // no room now, in order
      std::size_t later_parked = 0;  // of them, those that were parked before this round
      // A task being migrated goes to its target, whatever the scheduler would choose.
      for (std::size_t i = 0; i < items.size(); ++i) {
        auto& r = items[i].wf->runs[items[i].index];
        if (r.pin_host.empty()) continue;
        auto& p = placements[i];
        auto m = membership_->find(r.pin_host);
        if (!m || m->state != model::MemberState::alive) {
          spdlog::warn(
              "workflow {}: task {} was to move to {}, which is gone; it goes where "
              "the scheduler places it",
              items[i].wf->id, items[i].wf->plan.tasks[items[i].index].id, r.pin_host);
          r.pin_host.clear();
          continue;
        }
        if (!p.hosts.empty())
          scheduler_->declined(p.hosts.front().id, items[i].wf->plan.tasks[items[i].index].cores);
        p.hosts = {*m};
        p.no_room = schedule::NoRoom::none;
      }
      for (std::size_t i = 0; i < items.size(); ++i) {
        auto& wf = *items[i].wf;
        int idx = items[i].index;
        auto& r = wf.runs[idx];
        const auto& p = placements[i];
        int cores = wf.plan.tasks[idx].cores;
        if (r.state != TaskState::ready || wf.cancel_requested) {
          if (!p.hosts.empty()) scheduler_->declined(p.hosts.front().id, cores);
          continue;
        }
        if (p.hosts.empty()) {
          if (p.no_room == schedule::NoRoom::never) {
            r.message = p.why_none;
            set_final(wf, idx, TaskState::failed, batch);
            touched.insert(items[i].wf);
          } else {
            others_busy = others_busy || p.no_room == schedule::NoRoom::others;
            if (r.message != p.why_none) r.message = p.why_none;
            later_parked += i < from_parked ? 1 : 0;
            later.push_back(items[i]);
          }
          continue;
        }
        const auto& h = p.hosts.front();
        wf.hosts_used.insert({h.id, h.address});
        r.state = TaskState::placed;
        r.attempts += 1;
        r.host_id = h.id;
        r.host_name = h.name;
        r.host_address = h.address;
        r.host_started = static_cast<std::uint64_t>(h.host.started);
        r.started.reset();
        r.finished.reset();
        // What the user reads while it runs: where it resumes from, when it does.
        r.message = r.checkpoint && wf.plan.tasks[idx].checkpoint
                        ? "resumes from its checkpoint (" + format_bytes(r.checkpoint->size) + ")"
                        : std::string();
        r.placement = ++placements_;
        r.accepted = false;
        r.ended = false;
        r.early_end.reset();
        batch.tasks.push_back(row(wf, idx));
        auto a = assignment(wf, idx, r.attempts);
        if (a.checkpoint && a.checkpoint->copy_every_ms > 0)
          a.backup = backup_for(a.checkpoint->copy_to, h);
        sends.push_back({items[i].wf, idx, r.attempts, r.placement, p.hosts, std::move(a)});
      }
      // No room now: parked, in order, until something makes room — those that were parked
      // before ahead of the others, new ones at the back.
      for (std::size_t i = later_parked; i-- > 0;) parked_.push_front(std::move(later[i]));
      for (std::size_t i = later_parked; i < later.size(); ++i)
        parked_.push_back(std::move(later[i]));
      // Every parked task this round took found room: the next ones may too.
      if (from_parked > 0 && later_parked == 0 && !parked_.empty()) room_ = true;
    }
    // The backstop: armed (or kept) only while others' work is what fills the hosts.
    if (!sends.empty())
      busy_wait_ = others_busy ? config_.busy_retry : std::chrono::milliseconds(0);
    else if (others_busy && busy_wait_.count() == 0)
      busy_wait_ = config_.busy_retry;
    auto s = co_await write(std::move(batch), false);
    if (!s.ok()) spdlog::error("cannot record placements: {}", s.message());
    for (auto& snd : sends)
      asio::co_spawn(ctx_.ioc,
                     send(std::move(snd.wf), snd.index, snd.attempt, snd.placement,
                          std::move(snd.hosts), std::move(snd.a), round_start),
                     asio::detached);
    for (const auto& wf : touched) {
      finalize_if_done(wf);
    }
  }
}

asio::awaitable<void> DagSubmit::send(WorkflowPtr wf, int index, int attempt,
                                      std::uint64_t placement, std::vector<model::Member> hosts,
                                      model::TaskAssignment a, Clock::time_point round_start) {
  auto self = shared_from_this();
  std::string last_error;
  int cores = a.cores;
  for (std::size_t k = 0; k < hosts.size(); ++k) {
    const auto& h = hosts[k];
    if (k > 0) {
      // Falling back to the next host: record where the task really goes first.
      Batch batch;
      {
        std::lock_guard lock(mu_);
        auto& r = wf->runs[index];
        if (r.attempts != attempt || r.state != TaskState::placed) co_return;
        r.host_id = h.id;
        r.host_name = h.name;
        r.host_address = h.address;
        r.host_started = static_cast<std::uint64_t>(h.host.started);
        wf->hosts_used.insert({h.id, h.address});
        batch.tasks.push_back(row(*wf, index));
      }
      co_await write(std::move(batch), false);
    }
    PeerRef peer(h);
    auto& executor = ctx_.peers.execute(peer);
    Status s = co_await executor.assign(a);
    // "Already known" from a host means it holds this very attempt (e.g. sent again after
    // this node restarted): as good as accepted.
    if (s.code() == ErrorCode::conflict) s = Status::Ok();
    if (s.ok()) {
      std::lock_guard lock(mu_);
      scheduler_->dispatched(h.id, cores);
      auto& r = wf->runs[index];
      if (r.placement != placement) {
        // The run moved on while this was on its way (requeued and placed anew): this
        // accepted copy will never be reported for it.
        scheduler_->abandoned(h.id, cores);
        co_return;
      }
      r.accepted = true;
      r.pin_host.clear();  // a migration's target took it
      if (r.early_end) {
        const auto& t = wf->plan.tasks[index];
        scheduler_->finished(h.id, cores, t.cost_ms, r.early_end->observed_ms,
                             r.early_end->success);
        r.early_end.reset();
      } else if (!r.ended && !in_flight(r.state)) {
        // Cancelled, or given back, before the host answered: it will not end there.
        scheduler_->abandoned(h.id, cores);
        r.ended = true;
      }
      if (r.attempts == attempt) {
        auto now = ctx_.clock.now();
        record_latency(std::chrono::duration<double>(now - round_start).count(),
                       std::chrono::duration<double>(now - r.ready_at).count());
      }
      co_return;
    }
    last_error = h.name + ": " + s.message();
    if (s.code() == ErrorCode::unavailable || s.code() == ErrorCode::timeout)
      scheduler_->refused(h.id, cores);
    else
      scheduler_->declined(h.id, cores);
  }
  // Nobody took it: parked (this was not a run, so not an attempt) until room comes; the
  // hosts that refused are avoided for a moment, so the backstop places it again after that.
  Batch batch;
  {
    std::lock_guard lock(mu_);
    auto& r = wf->runs[index];
    if (r.placement == placement) r.ended = true;  // never accepted: nothing to end
    if (r.placement != placement || r.state != TaskState::placed) co_return;
    r.attempts -= 1;
    r.state = TaskState::ready;
    r.message = "waiting: " + last_error;
    parked_.push_back({wf, index});  // keeps its ready_at: the latency counts the wait
    batch.tasks.push_back(row(*wf, index));
  }
  co_await write(std::move(batch), false);
  asio::post(dispatch_strand_, [self] {
    if (self->busy_wait_.count() == 0) self->busy_wait_ = self->config_.busy_retry;
    self->wake_pending_ = true;
    self->wake_->cancel();
  });
}

asio::awaitable<void> DagSubmit::watch_loop() {
  auto self = shared_from_this();
  Timer timer(ctx_.ioc.get_executor(), ctx_.clock);
  while (!stopping_) {
    timer.expires_after(config_.watch_interval);
    co_await timer.wait();
    if (stopping_) break;
    // id → when that run of the node started: a restarted host lost its tasks, but one that
    // merely refuted a suspicion (a higher incarnation) still runs them.
    std::map<std::string, std::uint64_t> live;
    std::set<std::string> live_addresses;
    for (const auto& m : membership_->live_members())
      if (m.state == model::MemberState::alive || m.state == model::MemberState::suspect) {
        live[m.id] = static_cast<std::uint64_t>(m.host.started);
        live_addresses.insert(m.address);
      }
    live_addresses.insert(ctx_.self.address);
    // A member that joined, came back or changed may have room for parked tasks.
    bool members_changed = false;
    if (auto v = membership_->version(); v != members_version_) {
      members_version_ = v;
      members_changed = true;
    }
    Batch batch;
    bool requeued = false;
    std::vector<StopOn> stops;
    {
      std::lock_guard lock(mu_);
      auto now = ctx_.clock.now();
      for (auto& [id, wf] : workflows_) {
        if (wf->state != WorkflowState::running) continue;
        // Outputs on a host that is gone went with it: those still needed are made again.
        if (members_changed && !wf->cancel_requested) {
          std::set<std::string> lost;
          std::set<std::string> where;
          for (const auto& [name, ref] : wf->files)
            if (!live_addresses.count(ref.source) && wf->remakes[name] < kMaxRemakes) {
              lost.insert(name);
              where.insert(ref.source);
            }
          if (!lost.empty()) {
            std::string hosts;
            for (const auto& h : where) hosts += (hosts.empty() ? "" : ", ") + h;
            if (remake_lost_locked(*wf, lost, "outputs lost with " + hosts, batch, stops) > 0)
              requeued = true;
          }
        }
        for (std::size_t i = 0; i < wf->runs.size(); ++i) {
          auto& r = wf->runs[i];
          if (!in_flight(r.state)) continue;
          if (r.recover_until && r.state == TaskState::placed && now >= *r.recover_until) {
            // No word from its host since the restart: placed again (not counted).
            r.recover_until.reset();
            r.message = "no word from " + r.host_name + " since this node restarted; placed again";
            // Not counted, but a new attempt number: its host, if it does hold the old one,
            // must not take the new run for it ("already known").
            r.retry_base += 1;
            make_ready(*wf, static_cast<int>(i), now);
            batch.tasks.push_back(row(*wf, static_cast<int>(i)));
            requeued = true;
            continue;
          }
          auto it = live.find(r.host_id);
          bool gone = it == live.end();
          bool restarted = !gone && it->second != r.host_started;
          if (!gone && !restarted) continue;
          if (restarted && !r.recover_until) {
            // Back after a restart: what it finished meanwhile, and what it gave up when it
            // went down, it reports from its spool as it comes back (execute/outbox.h).
            // It gets recover_grace to say so before the task is placed again.
            r.recover_until = now + config_.recover_grace;
            continue;
          }
          if (restarted && now < *r.recover_until) continue;
          spdlog::warn("workflow {}: task {} was on {}, which {}; running it again", wf->id,
                       wf->plan.tasks[i].id, r.host_name,
                       it == live.end() ? "is gone" : "restarted");
          abandon_locked(*wf, static_cast<int>(i));
          r.message = "host " + r.host_name + " was lost; rescheduled";
          // A lost host is not the task's fault: its retries are not spent. It still runs
          // under a new attempt number, so that the host, should it come back with the run
          // it had (a partition that healed), does not take the new run for that one.
          r.retry_base += 1;
          // Its inputs may have gone with that host too, and be made again: it waits for them.
          r.deps_left = 0;
          for (int d : wf->plan.tasks[i].deps)
            if (wf->runs[d].state != TaskState::done) ++r.deps_left;
          if (r.deps_left == 0)
            make_ready(*wf, static_cast<int>(i), now);
          else
            r.state = TaskState::pending;
          batch.tasks.push_back(row(*wf, static_cast<int>(i)));
          requeued = true;
        }
      }
    }
    co_await write(std::move(batch), false);
    co_await stop_tasks(std::move(stops));
    if (requeued || members_changed) notify_room();
  }
}

asio::awaitable<void> DagSubmit::finalize(WorkflowPtr wf) {
  auto self = shared_from_this();
  {
    std::lock_guard lock(mu_);
    wf->finalizing = true;
  }
  // Results: every declared result of a task that is done, into this node's store.
  std::vector<model::FileRef> wanted;
  std::set<std::pair<std::string, std::string>> hosts;  // (id, address) that ran its tasks
  bool failed = false;
  bool cancelled;
  {
    std::lock_guard lock(mu_);
    cancelled = wf->cancel_requested;
    hosts = wf->hosts_used;
    for (std::size_t i = 0; i < wf->runs.size(); ++i) {
      const auto& r = wf->runs[i];
      if (!r.host_address.empty() && r.attempts > 0) hosts.insert({r.host_id, r.host_address});
      if (r.state != TaskState::done) {
        failed = failed || r.state == TaskState::failed ||
                 (r.state == TaskState::cancelled && !cancelled);
        continue;
      }
      for (const auto& [name, result] : wf->plan.tasks[i].outputs) {
        auto f = wf->files.find(name);
        if (result && f != wf->files.end()) wanted.push_back(f->second);
      }
    }
  }
  std::vector<model::FileRef> results;
  std::string problem;
  for (const auto& ref : wanted) {
    std::string dest = "store/" + ref.sha256;
    auto path = files_->resolve(dest);
    Status s = Status::Ok();
    if (!path.ok() || !std::filesystem::exists(*path)) s = co_await files_->fetch(ref, dest);
    if (!s.ok()) {
      problem = "result '" + ref.name + "' could not be brought back: " + s.message();
      spdlog::error("workflow {}: {}", wf->id, problem);
      failed = true;
      continue;
    }
    results.push_back(
        model::FileRef{ref.name, ref.sha256, ref.size, ctx_.self.address, dest, ref.executable});
  }
  Batch batch;
  {
    std::lock_guard lock(mu_);
    wf->results = results;
    for (const auto& r : results) batch.files.push_back(FileRow{wf->id, r, true});
    wf->state = cancelled ? WorkflowState::cancelled
                : failed  ? WorkflowState::failed
                          : WorkflowState::done;
    wf->finished = ctx_.clock.unix_ms();
    batch.workflows.push_back(workflow_row(*wf));
  }
  auto s = co_await write(std::move(batch), true);
  if (!s.ok()) spdlog::error("workflow {}: cannot record its end: {}", wf->id, s.message());
  {
    std::lock_guard lock(mu_);
    wake_waiters_locked(*wf);
  }
  spdlog::info("workflow {} ({}) {}", wf->id, wf->name, model::to_string(wf->state));
  // Work directories are no longer needed anywhere (logs are kept).
  model::CancelRequest req{wf->id, ""};
  for (const auto& [host_id, address] : hosts) {
    PeerRef peer{host_id, address};
    auto& executor = ctx_.peers.execute(peer);
    Status c = co_await executor.cleanup(req);
    if (!c.ok()) spdlog::warn("workflow {}: cleaning up on {}: {}", wf->id, address, c.message());
  }
  std::lock_guard lock(mu_);
  wf->settled = true;
}

}  // namespace fvce::submit
