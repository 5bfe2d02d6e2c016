// Shared fixtures of the file service tests: a running io_context, a worker pool, a node
// context and a LocalFileService on a fresh temporary work root.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "node/core/clock.h"
#include "node/http/client.h"
#include "node/http/metrics.h"
#include "node/node_context.h"
#include "services/file/impl/local.h"
#include "services/file/transfer.h"
#include "tests/unit/test_node.h"

namespace fvce::file::test {

namespace asio = boost::asio;
namespace fs = std::filesystem;

// Runs an io_context on a thread for the fixture's lifetime.
struct RunningIo {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread{[this] { ioc.run(); }};
  ~RunningIo() { shutdown(); }
  // Stops the loop and joins its thread. Idempotent.
  void shutdown() {
    work.reset();
    ioc.stop();
    if (thread.joinable()) thread.join();
  }
};

// Runs op on the running io_context and waits for its value (use_future needs a default-
// constructible value, which Result<T> is not, hence the optional).
template <typename T>
T await(asio::io_context& ioc, asio::awaitable<T> op) {
  auto wrapped = [](asio::awaitable<T> inner) -> asio::awaitable<std::optional<T>> {
    co_return co_await std::move(inner);
  };
  return *asio::co_spawn(ioc, wrapped(std::move(op)), asio::use_future).get();
}

inline void await(asio::io_context& ioc, asio::awaitable<void> op) {
  asio::co_spawn(ioc, std::move(op), asio::use_future).get();
}

// A fresh directory, removed at the end.
inline std::string fresh_name() {
  static Random random(std::random_device{}());
  return random_suffix(random);
}
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("fvce-file-test-" + fresh_name());
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    // Store files are read-only; the directories holding them are not, so this works.
    fs::remove_all(path, ec);
  }
};

inline void put(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One node's worth of file service: its own work root under dir/name. Other nodes are
// reached through the node's Peers (HTTP); this one's own file service in process.
struct FileNode {
  FileNode(RunningIo& io, asio::thread_pool& workers, const fs::path& dir, std::string address,
           LocalFileOptions options = {})
      : node(io.ioc, std::move(address)), ctx(node.ctx) {
    ctx.state_dir = dir;
    ctx.workers = &workers;
    if (options.work_root.empty()) options.work_root = dir / "work";
    auto s = LocalFileService::Create(ctx, std::move(options));
    REQUIRE(s.ok());
    service = *s;
    node.peers.set_local({nullptr, nullptr, service, nullptr, nullptr, nullptr});
  }
  fvce::test::TestNode node;
  NodeContext& ctx;
  std::shared_ptr<LocalFileService> service;
};

}  // namespace fvce::file::test
