// A node's worth of shared machinery for unit tests: the NodeContext every service is built
// with, over real NodePeers (other nodes over HTTP on loopback; this node's own services in
// process once installed with set_local). The io_context and the worker pool belong to the
// test.
#pragma once

#include <boost/asio/io_context.hpp>
#include <string>

#include "node/core/clock.h"
#include "node/core/files.h"
#include "node/core/random.h"
#include "node/http/metrics.h"
#include "node/node_context.h"
#include "node/peers/node_peers.h"

namespace fvce::test {

struct TestNode {
  explicit TestNode(boost::asio::io_context& ioc, std::string address = "127.0.0.1:1",
                    const Clock& clock = SystemClock::instance(), std::uint64_t seed = 7)
      : random(seed),
        peers(ioc, http::plain_transport(), random, {}),
        ctx(ioc, peers, metrics, clock, random) {
    ctx.seed = seed;
    ctx.self = NodeIdentity{make_uuid(random), "test-node", "lab", address, 1};
    ctx.deploy_file = "deploy.xml";
    peers.set_self(ctx.self.id, address);
  }
  // The address this node is known by (once its server listens).
  void set_address(std::string address) {
    ctx.self.address = address;
    peers.set_self(ctx.self.id, std::move(address));
  }

  Random random;
  http::Metrics metrics;
  NodePeers peers;
  NodeContext ctx;
};

}  // namespace fvce::test
