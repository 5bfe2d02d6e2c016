// fvce: one binary, the node and the commands that talk to it. See `fvce --help`.
#include <CLI/CLI.hpp>
#include <iostream>

#include "node/cli/client_commands.h"
#include "node/cli/workflow_commands.h"
#include "node/node.h"

namespace {
// HOST:PORT, with a port from 1 to 65535 (an empty string is a usage error).
const CLI::Validator kAddress(
    [](std::string& value) -> std::string {
      auto colon = value.rfind(':');
      if (colon == std::string::npos || colon == 0) return "'" + value + "' is not HOST:PORT";
      auto port = value.substr(colon + 1);
      if (port.empty() || port.size() > 5 ||
          port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535)
        return "'" + value + "' has no valid port";
      return {};
    },
    "HOST:PORT");
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fvce: a peer-to-peer virtual computing environment"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("fvce ") + FVCE_VERSION);

  fvce::NodeOptions node;
  auto* node_cmd = app.add_subcommand("node", "run a node of a federation");
  node_cmd->add_option("--deploy", node.deploy_file, "deploy.xml of this node")
      ->required()
      ->check(CLI::ExistingFile);
  node_cmd->add_option("--listen", node.listen, "HOST:PORT to listen on (port 0: any free port)");
  node_cmd->add_option("--state-dir", node.state_dir, "where the node keeps its durable state");
  node_cmd->add_option("--join", node.join, "HOST:PORT of a member to join through")
      ->check(kAddress);
  node_cmd->add_option("--name", node.name, "this node's name in the federation");
  node_cmd->add_option("--advertise", node.advertise, "HOST:PORT peers use to reach this node");
  node_cmd->add_option("--seed", node.seed, "seed of the node's random choices");
  node_cmd->add_option("--log-level", node.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  fvce::cli::ClientOptions client;
  client.node = fvce::cli::default_node();
  auto add_client_flags = [&](CLI::App* cmd) {
    cmd->add_option("--node", client.node, "HOST:PORT of the node to ask ($FVCE_NODE)")
        ->capture_default_str()
        ->check(kAddress);
    cmd->add_flag("--xml", client.xml, "print the XML document instead of a table");
    cmd->add_option("--timeout", client.timeout_ms, "milliseconds to wait for the node")
        ->check(CLI::Range(1, 86'400'000));
  };

  bool all = false;
  auto* hosts_cmd = app.add_subcommand("hosts", "list the members of the federation");
  add_client_flags(hosts_cmd);
  hosts_cmd->add_flag("--all", all, "also list members recently removed or departed");

  std::string host;
  auto* info_cmd = app.add_subcommand("info", "static and dynamic information of a member");
  add_client_flags(info_cmd);
  info_cmd->add_option("--host", host, "the member's name or id (default: the node asked)");

  auto* leave_cmd = app.add_subcommand("leave", "make the node leave its federation and stop");
  add_client_flags(leave_cmd);

  std::string address;
  auto* probe_cmd = app.add_subcommand("probe", "merge the federation at ADDRESS into this one");
  add_client_flags(probe_cmd);
  probe_cmd->add_option("address", address, "HOST:PORT of a member of the other federation")
      ->required()
      ->check(kAddress);

  std::string wf_file, wf_id, task, dir;
  bool watch = false, all_workflows = false, stderr_stream = false;
  auto* submit_cmd = app.add_subcommand("submit", "submit a workflow; prints its id");
  add_client_flags(submit_cmd);
  submit_cmd->add_option("workflow", wf_file, "the workflow document (XML)")
      ->required()
      ->check(CLI::ExistingFile);
  submit_cmd->add_flag("--watch", watch, "follow it until it ends; exit 0 when it is done");

  std::uint64_t list_limit = 50, list_offset = 0;
  auto* workflows_cmd =
      app.add_subcommand("workflows", "list your workflows, on every node of the federation");
  add_client_flags(workflows_cmd);
  workflows_cmd->add_flag("--all", all_workflows, "everybody's workflows");
  workflows_cmd->add_option("--limit", list_limit, "at most this many (newest first)")
      ->check(CLI::Range(1, 10000));
  workflows_cmd->add_option("--offset", list_offset, "skip this many of the newest");

  auto* status_cmd = app.add_subcommand("status", "a workflow and each of its tasks");
  add_client_flags(status_cmd);
  status_cmd->add_option("workflow", wf_id, "workflow id")->required();
  status_cmd->add_flag("--watch", watch, "follow it until it ends");

  auto* logs_cmd = app.add_subcommand("logs", "a task's output, wherever it ran");
  add_client_flags(logs_cmd);
  logs_cmd->add_option("workflow", wf_id, "workflow id")->required();
  logs_cmd->add_option("task", task, "task id, e.g. model[17]")->required();
  logs_cmd->add_flag("--stderr", stderr_stream, "standard error instead of standard output");

  auto* fetch_cmd = app.add_subcommand("fetch", "download a workflow's results, checked");
  add_client_flags(fetch_cmd);
  fetch_cmd->add_option("workflow", wf_id, "workflow id")->required();
  fetch_cmd->add_option("dir", dir, "directory to put them in")->required();

  auto* cancel_cmd = app.add_subcommand("cancel", "cancel a workflow");
  add_client_flags(cancel_cmd);
  cancel_cmd->add_option("workflow", wf_id, "workflow id")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (*node_cmd) return fvce::run_node(node);
  if (*hosts_cmd) return fvce::cli::hosts(client, all);
  if (*info_cmd) return fvce::cli::info(client, host);
  if (*leave_cmd) return fvce::cli::leave(client);
  if (*probe_cmd) return fvce::cli::probe(client, address);
  if (*submit_cmd) return fvce::cli::submit(client, wf_file, watch);
  if (*workflows_cmd) return fvce::cli::workflows(client, all_workflows, list_offset, list_limit);
  if (*status_cmd)
    return watch ? fvce::cli::watch(client, wf_id) : fvce::cli::status(client, wf_id);
  if (*logs_cmd) return fvce::cli::logs(client, wf_id, task, stderr_stream);
  if (*fetch_cmd) return fvce::cli::fetch(client, wf_id, dir);
  if (*cancel_cmd) return fvce::cli::cancel(client, wf_id);
  return 2;
}
