// fvce-node: the node process, started as `fvce node ...` (fvce execs it; see main.cpp).
// Kept apart from the command-line client so that the client loads none of the node's
// libraries (Xerces-C, SQLite, libstatgrab) and starts in a few milliseconds.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "node/cli/address_option.h"
#include "node/node.h"

int main(int argc, char** argv) {
  CLI::App app{"fvce node: run a node of a federation"};
  app.name("fvce node");
  app.set_version_flag("--version", std::string("fvce ") + FVCE_VERSION);
  fvce::NodeOptions node;
  app.add_option("--deploy", node.deploy_file, "deploy.xml of this node")->check(CLI::ExistingFile);
  std::string add_user, role = "user";
  app.add_option("--add-user", add_user,
                 "add user NAME to the accounts in --state-dir (password on stdin) and exit, "
                 "while the node is stopped: how the first admin is made");
  app.add_option("--role", role, "role of the user --add-user adds")
      ->check(CLI::IsMember({"user", "admin"}));
  app.add_option("--listen", node.listen, "HOST:PORT to listen on (port 0: any free port)");
  app.add_option("--state-dir", node.state_dir, "where the node keeps its durable state");
  app.add_option("--join", node.join,
                 "HOST:PORT of a member to join through; several (comma-separated, or the "
                 "option repeated) are tried in order, then the members remembered in "
                 "--state-dir, until one answers")
      ->delimiter(',')
      ->check(fvce::cli::kAddress);
  app.add_option("--name", node.name, "this node's name in the federation");
  app.add_option("--advertise", node.advertise, "HOST:PORT peers use to reach this node");
  app.add_option("--seed", node.seed, "seed of the node's random choices");
  app.add_option("--security", node.security_dir,
                 "this node's bundle from `fvce ca issue` (certificate, key, CA, secret)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--log-level", node.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (!add_user.empty()) {
    if (node.state_dir.empty()) {
      std::cerr << "fvce node: --add-user needs --state-dir\n";
      return 2;
    }
    std::string password;
    std::getline(std::cin, password);
    return fvce::add_user_offline(node.state_dir, add_user, role, password);
  }
  if (node.deploy_file.empty()) {
    std::cerr << "fvce node: --deploy is required\n";
    return 2;
  }
  return fvce::run_node(node);
}
