// The client side of the command line: commands that talk to a node over HTTP and print
// a table (or, with --xml, the document). Exit codes: 0 success, 1 the operation failed,
// 2 usage error (CLI11 handles those before we get here).
#pragma once

#include <chrono>
#include <string>

namespace fvce::cli {

struct ClientOptions {
  std::string node;  // HOST:PORT of the node to talk to
  bool xml = false;  // print the XML document instead of a table
  int timeout_ms = 10'000;
  std::string ca;  // the federation CA's certificate ("" = the stored credentials')
};

int hosts(const ClientOptions& o, bool all);
int info(const ClientOptions& o, const std::string& host);
// Drains the member `host` (name or id; "" = the node asked): it takes no new work and gives
// its tasks back, checkpointed where they can be; waits up to `wait`.
int drain(const ClientOptions& o, const std::string& host, std::chrono::milliseconds wait,
          const std::string& reason);
// Makes the node leave its federation and stop; drains it first unless drain_first is false.
int leave(const ClientOptions& o, bool drain_first, std::chrono::milliseconds wait);
int probe(const ClientOptions& o, const std::string& address);

// $FVCE_NODE, else the node `fvce login` signed in at, else 127.0.0.1:7700.
std::string default_node();

}  // namespace fvce::cli
