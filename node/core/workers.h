// Blocking work off the I/O threads: on_workers() runs a function on the node's worker pool
// and resumes the calling coroutine on its own executor with the result. Hashing, reads and
// writes of file contents, directory walks and SQLite writes that fsync go through it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <type_traits>

namespace fvce {

namespace detail {
template <typename R, typename F>
boost::asio::awaitable<void> run_into(std::optional<R>* out, F* fn) {
  out->emplace((*fn)());
  co_return;
}
}  // namespace detail

// Runs fn() on pool and resumes the caller on its own executor with fn's result; without a
// pool (a CLI, a test) runs it inline. fn's exceptions propagate to the caller. fn may refer
// to the caller's locals: the caller's frame stays suspended until fn has returned.
template <typename F>
boost::asio::awaitable<std::invoke_result_t<F&>> on_workers(boost::asio::thread_pool* pool, F fn) {
  using R = std::invoke_result_t<F&>;
  if (pool == nullptr) co_return fn();
  std::optional<R> out;
  co_await boost::asio::co_spawn(pool->get_executor(), detail::run_into<R, F>(&out, &fn),
                                 boost::asio::use_awaitable);
  co_return std::move(*out);
}

}  // namespace fvce
