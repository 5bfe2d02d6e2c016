// The node process: loads deploy.xml, builds every service through the registries, binds
// the HTTP server, joins the federation and runs until it is told to stop (SIGINT,
// SIGTERM, or `fvce leave`), leaving the federation gracefully on the way out.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace fvce {

struct NodeOptions {
  std::string deploy_file;
  // Overrides of deploy.xml's <node> attributes; empty = keep deploy.xml's.
  std::string listen;
  std::string state_dir;
  std::vector<std::string> join;  // members to join through, tried in order
  std::string name;
  std::string advertise;
  std::optional<std::uint64_t> seed;
  // A bundle from `fvce ca issue` (ca.crt, node.crt, node.key, federation.key) in place of
  // the one deploy.xml's <security> names; with no <security>, it means TLS with it.
  std::string security_dir;
  std::string log_level = "info";
};

// Runs a node until it stops. Returns the process exit code: 0 after a graceful stop,
// 1 when it could not start (the reason is logged as FILE:LINE:COL: reason where it is
// about deploy.xml).
int run_node(const NodeOptions& options);

// Adds a user to the accounts kept in state_dir (the node must be stopped: it reads them at
// start and spreads them to the members). Prints what it did; 0 on success.
int add_user_offline(const std::string& state_dir, const std::string& name, const std::string& role,
                     const std::string& password);

}  // namespace fvce
