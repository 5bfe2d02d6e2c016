// What every service implementation is built with: the node's shared machinery and its
// identity. Built by the Node before the Factory runs; outlives every service.
//
// Services reach other nodes (and one another across nodes) only through `peers`; the
// services of this node a builder depends on are handed to it in its own service's build
// context (register_impls.h), not through here.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <filesystem>
#include <string>

#include "node/core/clock.h"
#include "node/core/random.h"
#include "node/http/metrics.h"
#include "node/peers/peers.h"

namespace fvce {

struct NodeIdentity {
  std::string id;                 // persistent UUID
  std::string name;               // human name
  std::string federation;         // from deploy.xml
  std::string address;            // advertised HOST:PORT (known once the server is bound)
  std::uint64_t incarnation = 0;  // this run's incarnation (one more than the last run's)
};

struct NodeContext {
  NodeContext(boost::asio::io_context& io, Peers& p, http::Metrics& m, const Clock& clk,
              Random& rnd)
      : ioc(io), peers(p), metrics(m), clock(clk), random(rnd) {}

  boost::asio::io_context& ioc;
  Peers& peers;
  http::Metrics& metrics;
  const Clock& clock;
  Random& random;          // shared; a part that draws often keeps its own Rng (random.fork())
  std::uint64_t seed = 0;  // the node's seed (deploy.xml or the OS)
  NodeIdentity self;
  std::filesystem::path state_dir;
  std::string deploy_file;
  std::string version = FVCE_VERSION;

  // For blocking work (hashing, large file I/O, SQLite): never run it on the I/O threads
  // (core/workers.h). Null in a command-line process: the work then runs inline.
  boost::asio::thread_pool* workers = nullptr;
};

}  // namespace fvce
