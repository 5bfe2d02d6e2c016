// The client side of the command line: commands that talk to a node over HTTP and print
// a table (or, with --xml, the document). Exit codes: 0 success, 1 the operation failed,
// 2 usage error (CLI11 handles those before we get here).
#pragma once

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
int leave(const ClientOptions& o);
int probe(const ClientOptions& o, const std::string& address);

// $FVCE_NODE, else the node `fvce login` signed in at, else 127.0.0.1:7700.
std::string default_node();

}  // namespace fvce::cli
