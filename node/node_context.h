// What every service implementation is built with: the node's shared machinery and its
// identity. Built by the Node before the Factory runs; outlives every service.
#pragma once

#include <boost/asio/io_context.hpp>
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

struct NodeIdentity {
  std::string id;          // persistent UUID
  std::string name;        // human name
  std::string federation;  // from deploy.xml
  std::string address;     // advertised HOST:PORT (known once the server is bound)
  std::uint64_t incarnation = 0;  // this run's incarnation (one more than the last run's)
};

struct NodeContext {
  boost::asio::io_context& ioc;
  http::Client& client;
  http::Metrics& metrics;
  const Clock& clock;
  std::uint64_t seed;  // derive per-service random generators from this
  NodeIdentity self;
  std::filesystem::path state_dir;
  std::string deploy_file;
  std::string version;

  // Services built so far, in build order (info, then register, ...).
  std::shared_ptr<info::LocalInfo> info;
  std::shared_ptr<reg::LocalRegister> membership;
};

}  // namespace fvce
