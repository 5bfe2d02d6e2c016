// The executor's report outbox: every state change of a task goes to its submitter through
// here, as SubmitLogic::reports() calls made through Peers (in process when the submitter is
// this node).
//
//  - One queue per submitter, drained by one coroutine while it is not empty; whatever is
//    pending goes in one call (at most max_batch reports), so a burst of state changes costs
//    one request. Order is kept: a batch that fails goes back to the front.
//  - A report not yet sent for the same attempt in a progress state (staging, running) is
//    superseded by the newer one: states only move forward, and the later report carries
//    what the earlier said (its start time included).
//  - Progress reports wait up to `linger` for company (a task that ends quickly sends its
//    staging, running and final states in one request); final reports, and those that
//    carry a checkpoint copy, go at once.
//  - Failures are retried with back-off (core/backoff.h) while they are transient
//    (unavailable, timeout, io-error, internal) and for at most retry_for; a batch the
//    submitter refuses (any other error) is resent one report at a time, so one bad report
//    cannot sink the rest, and a refused single report is dropped and logged.
//  - Final reports are kept on disk (options.spool, one file per attempt, replaced atomically
//    off the I/O threads) until their submitter acknowledges them, refuses them or retry_for
//    passes: a node that crashes or restarts while a submitter is away delivers them when it
//    is back (Create() loads what an earlier run left). An accepted task's file is written
//    at once by journal(), with the report its submitter is to get should the node go down
//    before the task ends (cancelled: it runs again elsewhere); its final report replaces
//    it. Progress reports are not kept: a later state supersedes them. The files are not
//    fsynced: they survive the node's crash or restart, not the machine's power loss.
//
// Thread-safety: add() and pending() may be called from any thread. Lifetime: made by
// Create() as a shared_ptr; the delivering coroutines hold a reference.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "node/core/backoff.h"
#include "node/core/clock.h"
#include "node/core/random.h"
#include "node/model/task.h"
#include "node/peers/peers.h"

namespace fvce::execute {

struct OutboxOptions {
  std::chrono::milliseconds retry_for{std::chrono::hours(1)};  // then a report is dropped
  std::chrono::milliseconds timeout{5'000};                    // one delivery attempt
  std::chrono::milliseconds linger{20};                        // progress reports wait this long
  Backoff backoff{std::chrono::milliseconds(100), std::chrono::milliseconds(5'000)};
  std::size_t max_batch = 256;        // reports per call
  std::size_t max_pending = 100'000;  // per submitter; beyond it the oldest is dropped
  std::filesystem::path spool;        // where final reports wait on disk; "" = memory only
};

class ReportOutbox : public std::enable_shared_from_this<ReportOutbox> {
 public:
  // peers, clock, random and workers must outlive the outbox. With options.spool set, the
  // reports an earlier run left there are queued again (delivered once start() is called);
  // spool files are written and removed on workers (null: on ioc).
  static std::shared_ptr<ReportOutbox> Create(boost::asio::io_context& ioc, Peers& peers,
                                              const Clock& clock, Random& random,
                                              OutboxOptions options,
                                              boost::asio::thread_pool* workers = nullptr);

  // Queues report for the submitter at `submitter` (HOST:PORT). Delivery starts once start()
  // has been called.
  void add(const std::string& submitter, model::TaskReport report);
  // Keeps report (final) in the spool only, unsent: what the submitter is to hear if this
  // node goes down before add() brings the attempt's own final report, which replaces it.
  void journal(const std::string& submitter, const model::TaskReport& report);
  // Starts delivering what is queued and what comes. Call once.
  void start();
  // Reports not yet acknowledged, over every submitter.
  std::size_t pending() const;
  // Spool files kept now (written and not yet removed), over every submitter.
  std::size_t spooled() const;

 private:
  struct Pending {
    model::TaskReport report;
    Clock::time_point give_up;
    Clock::time_point queued;
    std::string spool_name;  // its file in the spool, "" when it has none
  };
  struct Box {
    std::deque<Pending> pending;
    bool sending = false;        // a deliver() coroutine owns this box
    bool lingering = false;      // a delayed start of deliver() is armed
    std::size_t one_by_one = 0;  // after a refused batch: send this many singly
  };

  ReportOutbox(boost::asio::io_context& ioc, Peers& peers, const Clock& clock, Random& random,
               OutboxOptions options, boost::asio::any_io_executor io)
      : ioc_(ioc),
        peers_(peers),
        clock_(clock),
        random_(random),
        options_(std::move(options)),
        spool_io_(std::move(io)) {}

  // Queues what an earlier run left in the spool. Before start().
  void load_spool();
  // Writes report to the spool (off the I/O threads) and returns its file name.
  std::string spool_write(const std::string& submitter, const model::TaskReport& report);
  // Removes spool files (off the I/O threads). Names may be "".
  void spool_remove(std::vector<std::string> names);

  boost::asio::awaitable<void> deliver(std::string submitter);
  boost::asio::awaitable<void> deliver_later(std::string submitter);

  boost::asio::io_context& ioc_;
  Peers& peers_;
  const Clock& clock_;
  Random& random_;
  const OutboxOptions options_;
  boost::asio::strand<boost::asio::any_io_executor> spool_io_;  // spool writes, in order
  mutable std::mutex mu_;
  std::set<std::string> spooled_;  // names of the spool files kept
  bool started_ = false;
  std::map<std::string, Box> boxes_;
};

}  // namespace fvce::execute
