// SampledInfo: the LocalInfo machinery the "statgrab" and "declared" impls share — the
// static info they were built with, periodic sampling into a LoadRing, a short cache for
// GET /info/load, and the execute service's slot source.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "node/core/clock.h"
#include "services/info/logic.h"

namespace fvce::info {

struct SamplingOptions {
  // How often start() samples into the history, and how much history to keep; the ring
  // holds history / interval samples.
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds history{std::chrono::hours(24)};
  // load() answers with the machine figures of the last sample while it is younger than
  // this (its slots are read at every call).
  std::chrono::milliseconds max_age{1000};
  // When set, reported memory is capped: memory_total = cap, memory_free = min(real, cap).
  std::optional<std::uint64_t> memory_cap;
};

// Thread-safety: every method may be called from any thread. Sampling (start()'s timer)
// runs on a strand of the io_context it was given; the coroutines run on the caller's
// executor and sample inline when the cached sample is too old (a few /proc reads, tens of
// microseconds, so no worker pool is needed).
//
// Lifetime: the io_context and the Clock must outlive this object. Destroying it stops
// sampling; a timer wait still pending keeps only the shared sampling state alive until the
// io_context runs or destroys the wait.
class SampledInfo : public LocalInfo {
 public:
  SampledInfo(boost::asio::io_context& ioc, const Clock& clock, SamplingOptions options,
              model::HostStatic info);
  ~SampledInfo() override;

  SampledInfo(const SampledInfo&) = delete;
  SampledInfo& operator=(const SampledInfo&) = delete;

  boost::asio::awaitable<Result<model::HostStatic>> static_info() override;
  boost::asio::awaitable<Result<model::HostLoad>> load() override;
  // id and name are left empty: the Resource, which knows the node's identity, fills them.
  boost::asio::awaitable<Result<model::LoadHistory>> history(std::int64_t since) override;

  model::HostStatic static_now() const override;
  // Takes a first sample at once, then one every interval. Later calls do nothing.
  void start() override;
  // Stops sampling: once it returns, at most the one sample being taken at that moment is
  // still added. Idempotent.
  void stop() override;
  void set_slot_source(SlotSource source) override;

  // The task slots this host offers (HostStatic::slots), set by the execute service once it
  // knows its pool size. Thread-safe.
  void set_slots(int slots) override;

  // Synchronous load(), for callers that are not coroutines. Thread-safe.
  Result<model::HostLoad> load_now();
  // Number of samples in the history and its bound.
  std::size_t history_size() const;
  std::size_t history_capacity() const;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace fvce::info
