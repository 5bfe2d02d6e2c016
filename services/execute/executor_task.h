// The executor core's own: one accepted task as the core tracks it (PoolExecutor::Task), for
// the files that make up the core (executor.cpp, moving.cpp). Not for other services.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <memory>
#include <optional>
#include <string>

#include "node/core/timer.h"
#include "services/execute/executor.h"

namespace fvce::execute {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

// "WORKFLOW/TASK attempt N", for the log.
inline std::string task_label(const model::TaskAssignment& a) {
  return a.workflow + "/" + a.task + " attempt " + std::to_string(a.attempt);
}

struct PoolExecutor::Task {
  Task(boost::asio::io_context& ioc, const Clock& clock, model::TaskAssignment a)
      : assignment(std::move(a)),
        strand(boost::asio::make_strand(ioc)),
        limit_timer(strand, clock),
        grace_timer(strand, clock),
        copy_timer(strand, clock),
        slot_wait(strand) {}

  model::TaskAssignment assignment;

  // Guarded by mu_.
  bool queued = false;       // in waiting_: prepared while it waits, started once given slots
  bool dropped = false;      // taken off the queue and reported by cancel() or stop()
  bool holds_slots = false;  // its cores are taken from free_slots_
  bool counted_running = false;
  std::string workdir;           // once prepared: its work directory (relative)
  std::shared_ptr<TaskRun> run;  // once started, or handed over to start after another
  bool prepared = false;         // staged, waiting for its slots (or holding them)
  // Queued: the run of the task it is to start after (taken by its coroutine, which hands
  // it over); once paired it starts only that way.
  std::shared_ptr<TaskRun> start_after;
  bool paired = false;           // queued: start_after was given (it may be used already)
  std::weak_ptr<Task> follower;  // running: the queued task paired with it
  bool followed = false;         // running: a queued task was (ever) paired with it
  Status start_error;            // the hand-over failed at once: the start's error

  // Used only on strand.
  Strand strand;
  Timer limit_timer, grace_timer, copy_timer;
  // A prepared task waiting for its slots sleeps on it; slots given (or a stop) cancel it.
  boost::asio::steady_timer slot_wait;
  Phase phase = Phase::staging;
  StopReason stop = StopReason::none;
  bool final_reported = false;
  file::TaskDir dir;
  std::int64_t started_ms = 0;
  // Staging failed because this input's holder did not answer or no longer has it.
  std::string lost_input;
  // Its failure is this host's fault (TaskReport::host_fault): "disk" or "launcher".
  std::string host_fault;
  // Given back to its submitter (release): why, and the checkpoint it moves with.
  bool releasing = false;  // guarded by mu_
  std::string release_reason;
  std::optional<model::FileRef> checkpoint_ref;
};

}  // namespace fvce::execute
