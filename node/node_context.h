// What every service implementation is built with: the node's shared machinery and its
// identity. Built by the Node before the Factory runs; outlives every service.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "node/core/clock.h"
#include "node/http/client.h"
#include "node/http/metrics.h"

namespace fvce {

namespace info {
class LocalInfo;
}
namespace reg {
class LocalRegister;
}
namespace file {
class LocalFile;
}
namespace execute {
class LocalExecute;
}

struct NodeIdentity {
  std::string id;                 // persistent UUID
  std::string name;               // human name
  std::string federation;         // from deploy.xml
  std::string address;            // advertised HOST:PORT (known once the server is bound)
  std::uint64_t incarnation = 0;  // this run's incarnation (one more than the last run's)
};

struct NodeContext {
  NodeContext(boost::asio::io_context& io, http::Client& c, http::Metrics& m, const Clock& clk)
      : ioc(io), client(c), metrics(m), clock(clk) {}

  boost::asio::io_context& ioc;
  http::Client& client;
  http::Metrics& metrics;
  const Clock& clock;
  std::uint64_t seed = 0;  // derive per-service random generators from this
  NodeIdentity self;
  std::filesystem::path state_dir;
  std::string deploy_file;
  std::string version = FVCE_VERSION;

  // For blocking work (hashing, large file I/O, SQLite, process reaping): never run it on
  // the I/O threads.
  boost::asio::thread_pool* workers = nullptr;

  // Services built so far, in build order: info, file, execute, register, ...
  std::shared_ptr<info::LocalInfo> info;
  std::shared_ptr<reg::LocalRegister> membership;
  std::shared_ptr<file::LocalFile> files;
  std::shared_ptr<execute::LocalExecute> executor;
};

}  // namespace fvce
