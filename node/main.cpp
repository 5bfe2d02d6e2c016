// fvce: the command line — the node (`fvce node`, which runs fvce-node) and the commands
// that talk to one. See `fvce --help`.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "node/cli/address_option.h"
#include "node/cli/client_commands.h"
#include "node/cli/workflow_commands.h"
#include "node/core/files.h"

namespace {
// Replaces this process with fvce-node (beside this binary), passing the arguments after
// `node`: the node keeps this process id, its signals and its standard streams.
int exec_node(int argc, char** argv) {
  std::string dir = fvce::program_dir();
  std::string program = (dir.empty() ? std::string(".") : dir) + "/fvce-node";
  std::vector<char*> args;
  args.push_back(const_cast<char*>("fvce-node"));
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  ::execv(program.c_str(), args.data());
  std::cerr << "fvce: cannot run the node program " << program << ": " << std::strerror(errno)
            << " (it is built and installed beside fvce)\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything after `node` belongs to the node program, --help included.
  if (argc >= 2 && std::string_view(argv[1]) == "node") return exec_node(argc, argv);
  CLI::App app{"fvce: a peer-to-peer virtual computing environment"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("fvce ") + FVCE_VERSION);

  // `fvce node ...` is the node, a program of its own beside this one (see exec_node).
  auto* node_cmd = app.add_subcommand("node", "run a node of a federation (fvce node --help)");
  node_cmd->allow_extras();

  fvce::cli::ClientOptions client;
  client.node = fvce::cli::default_node();
  auto add_client_flags = [&](CLI::App* cmd) {
    cmd->add_option("--node", client.node, "HOST:PORT of the node to ask ($FVCE_NODE)")
        ->capture_default_str()
        ->check(fvce::cli::kAddress);
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
      ->check(fvce::cli::kAddress);

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

  if (*node_cmd) return exec_node(argc, argv);
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
