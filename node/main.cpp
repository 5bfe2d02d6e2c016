// fvce: the command line — the node (`fvce node`, which runs fvce-node) and the commands
// that talk to one. See `fvce --help`.
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "node/auth/ca.h"
#include "node/cli/address_option.h"
#include "node/cli/client_commands.h"
#include "node/cli/user_commands.h"
#include "node/cli/workflow_commands.h"
#include "node/core/files.h"
#include "node/core/units.h"

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

// Runs fvce-node --add-user with the password on its standard input.
int add_user_offline(const std::string& dir, const std::string& name, const std::string& role,
                     const std::string& password) {
  std::string node_dir = fvce::program_dir();
  std::string program = (node_dir.empty() ? std::string(".") : node_dir) + "/fvce-node";
  int fds[2];
  if (::pipe(fds) != 0) return 1;
  pid_t pid = ::fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    ::dup2(fds[0], 0);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(program.c_str(), "fvce-node", "--state-dir", dir.c_str(), "--add-user", name.c_str(),
            "--role", role.c_str(), static_cast<char*>(nullptr));
    std::cerr << "fvce: cannot run " << program << ": " << std::strerror(errno) << "\n";
    ::_exit(127);
  }
  ::close(fds[0]);
  std::string line = password + "\n";
  if (::write(fds[1], line.data(), line.size()) < 0)
    std::cerr << "fvce: writing the password failed\n";
  ::close(fds[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
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
    cmd->add_option("--ca", client.ca,
                    "the federation CA's certificate to check the node against ($FVCE_CA; "
                    "default: the one given at login)");
  };

  bool all = false;
  auto* hosts_cmd = app.add_subcommand("hosts", "list the members of the federation");
  add_client_flags(hosts_cmd);
  hosts_cmd->add_flag("--all", all, "also list members recently removed or departed");

  std::string host;
  auto* info_cmd = app.add_subcommand("info", "static and dynamic information of a member");
  add_client_flags(info_cmd);
  info_cmd->add_option("--host", host, "the member's name or id (default: the node asked)");

  auto* leave_cmd = app.add_subcommand(
      "leave", "make the node leave its federation and stop, once it has drained its tasks");
  add_client_flags(leave_cmd);
  bool no_drain = false;
  std::string drain_wait = "5m";
  leave_cmd->add_flag("--no-drain", no_drain,
                      "leave at once: the tasks it holds run again elsewhere from the start");
  leave_cmd->add_option("--drain-timeout", drain_wait,
                        "how long draining may take before the leave is given up (default 5m)");

  std::string drain_host, drain_reason;
  auto* drain_cmd = app.add_subcommand(
      "drain",
      "move every task off a host (checkpointed where they can be); it takes no new "
      "work until it restarts");
  add_client_flags(drain_cmd);
  drain_cmd->add_option("host", drain_host, "the member's name or id")->required();
  drain_cmd->add_option("--wait", drain_wait, "how long to wait for it to drain (default 5m)");
  drain_cmd->add_option("--reason", drain_reason, "why, for the logs and the host's info");

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
  auto* retry_cmd =
      app.add_subcommand("retry", "run a failed or cancelled workflow again from where it stopped");
  add_client_flags(retry_cmd);
  retry_cmd->add_option("workflow", wf_id, "workflow id")->required();
  std::string migrate_task, migrate_to;
  bool no_wait = false;
  auto* migrate_cmd = app.add_subcommand(
      "migrate",
      "move a task of a running workflow to another host (from its checkpoint, if it "
      "declares one)");
  add_client_flags(migrate_cmd);
  migrate_cmd->add_option("workflow", wf_id, "workflow id")->required();
  migrate_cmd->add_option("task", migrate_task, "the task's id, e.g. model[17]")->required();
  migrate_cmd->add_option("--to", migrate_to, "the member to move it to (name or id)")->required();
  migrate_cmd->add_flag("--no-wait", no_wait,
                        "return once its host has given it back, not when it runs on the target");

  std::string user_name, role_name;
  bool password_stdin = false;
  long ttl_s = 0;
  auto* login_cmd = app.add_subcommand("login", "sign in at a node and store the token");
  add_client_flags(login_cmd);
  login_cmd->add_option("--user", user_name, "user name (default: the OS user)");
  login_cmd->add_flag("--password-stdin", password_stdin, "read the password from stdin");
  login_cmd->add_option("--ttl", ttl_s, "seconds the token stays valid (bounded by the node)")
      ->check(CLI::Range(1L, 365L * 86400));
  auto* logout_cmd = app.add_subcommand("logout", "void the stored token and forget it");
  add_client_flags(logout_cmd);
  auto* whoami_cmd = app.add_subcommand("whoami", "the user the stored token proves");
  add_client_flags(whoami_cmd);

  auto* user_cmd = app.add_subcommand("user", "manage users (admins)");
  user_cmd->require_subcommand(1);
  std::string offline_dir;
  auto* user_add_cmd = user_cmd->add_subcommand("add", "add a user");
  add_client_flags(user_add_cmd);
  user_add_cmd->add_option("name", user_name, "user name")->required();
  user_add_cmd->add_option("--role", role_name, "user or admin")
      ->check(CLI::IsMember({"user", "admin"}));
  user_add_cmd->add_flag("--password-stdin", password_stdin, "read the password from stdin");
  user_add_cmd->add_option("--state-dir", offline_dir,
                           "add to a stopped node's accounts directly (the first admin)");
  auto* user_list_cmd = user_cmd->add_subcommand("list", "list the users");
  add_client_flags(user_list_cmd);
  auto* user_passwd_cmd = user_cmd->add_subcommand("passwd", "change a password");
  add_client_flags(user_passwd_cmd);
  user_passwd_cmd->add_option("name", user_name, "user name")->required();
  user_passwd_cmd->add_flag("--password-stdin", password_stdin, "read the password from stdin");
  auto* user_remove_cmd = user_cmd->add_subcommand("remove", "remove a user");
  add_client_flags(user_remove_cmd);
  user_remove_cmd->add_option("name", user_name, "user name")->required();
  auto* user_role_cmd = user_cmd->add_subcommand("role", "give a user a role");
  add_client_flags(user_role_cmd);
  user_role_cmd->add_option("name", user_name, "user name")->required();
  user_role_cmd->add_option("role", role_name, "user or admin")
      ->required()
      ->check(CLI::IsMember({"user", "admin"}));

  auto* ca_cmd = app.add_subcommand("ca", "the federation's certificate authority");
  ca_cmd->require_subcommand(1);
  std::string ca_dir, out_dir, federation = "lab", node_name;
  int days = 365;
  auto* ca_init_cmd = ca_cmd->add_subcommand("init", "make a CA and the federation secret");
  ca_init_cmd->add_option("dir", ca_dir, "directory to hold them (keep ca.key there)")->required();
  ca_init_cmd->add_option("--federation", federation, "the federation's name")
      ->capture_default_str();
  ca_init_cmd->add_option("--days", days, "validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  auto* ca_issue_cmd = ca_cmd->add_subcommand("issue", "make a node's certificate bundle");
  ca_issue_cmd->add_option("name", node_name, "the node's name (its --name)")->required();
  ca_issue_cmd->add_option("--ca", ca_dir, "the CA's directory")->required();
  ca_issue_cmd->add_option("--out", out_dir, "the bundle's directory")->required();
  std::vector<std::string> cert_hosts;
  ca_issue_cmd->add_option("--host", cert_hosts,
                           "an address or DNS name users reach the node by (repeatable)");
  ca_issue_cmd->add_option("--days", days, "validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (*node_cmd) return exec_node(argc, argv);
  if (*ca_init_cmd) {
    auto s = fvce::auth::ca_init(ca_dir, federation, days);
    if (!s.ok()) {
      std::cerr << "fvce: " << s.message() << "\n";
      return 1;
    }
    std::cout << "made the CA of federation '" << federation << "' in " << ca_dir
              << ": ca.crt, ca.key (keep it there, mode 0600) and federation.key\n"
              << "next: fvce ca issue NODE --ca " << ca_dir << " --out BUNDLE, for each node\n";
    return 0;
  }
  if (*ca_issue_cmd) {
    auto s = fvce::auth::ca_issue(ca_dir, node_name, out_dir, days, cert_hosts);
    if (!s.ok()) {
      std::cerr << "fvce: " << s.message() << "\n";
      return 1;
    }
    std::cout << "issued " << node_name << "'s certificate in " << out_dir
              << ": node.crt, node.key, ca.crt, federation.key\n"
              << "start it with: fvce node --name " << node_name << " --security " << out_dir
              << " ... (or <security dir=\"" << out_dir << "\"/> in its deploy.xml)\n"
              << "users check nodes with: fvce login --ca " << out_dir << "/ca.crt ...\n";
    return 0;
  }
  if (*login_cmd) return fvce::cli::login(client, user_name, password_stdin, ttl_s);
  if (*logout_cmd) return fvce::cli::logout(client);
  if (*whoami_cmd) return fvce::cli::whoami(client);
  if (*user_add_cmd && !offline_dir.empty()) {
    // The node program writes the stopped node's accounts: the CLI loads no SQLite.
    std::string password = fvce::cli::read_password(
        password_stdin, ("new password for " + user_name + ": ").c_str(), true);
    return add_user_offline(offline_dir, user_name, role_name.empty() ? "user" : role_name,
                            password);
  }
  if (*user_add_cmd) return fvce::cli::user_add(client, user_name, role_name, password_stdin);
  if (*user_list_cmd) return fvce::cli::user_list(client);
  if (*user_passwd_cmd) return fvce::cli::user_passwd(client, user_name, password_stdin);
  if (*user_remove_cmd) return fvce::cli::user_remove(client, user_name);
  if (*user_role_cmd) return fvce::cli::user_role(client, user_name, role_name);
  if (*hosts_cmd) return fvce::cli::hosts(client, all);
  if (*info_cmd) return fvce::cli::info(client, host);
  auto wait_of = [&](const std::string& text) -> std::optional<std::chrono::milliseconds> {
    auto d = fvce::parse_duration(text);
    if (!d.ok()) {
      std::fprintf(stderr, "fvce: --wait/--drain-timeout: %s\n", d.status().message().c_str());
      return std::nullopt;
    }
    return *d;
  };
  if (*leave_cmd) {
    auto wait = wait_of(drain_wait);
    return wait ? fvce::cli::leave(client, !no_drain, *wait) : 2;
  }
  if (*drain_cmd) {
    auto wait = wait_of(drain_wait);
    return wait ? fvce::cli::drain(client, drain_host, *wait, drain_reason) : 2;
  }
  if (*migrate_cmd) return fvce::cli::migrate(client, wf_id, migrate_task, migrate_to, !no_wait);
  if (*probe_cmd) return fvce::cli::probe(client, address);
  if (*submit_cmd) return fvce::cli::submit(client, wf_file, watch);
  if (*workflows_cmd) return fvce::cli::workflows(client, all_workflows, list_offset, list_limit);
  if (*status_cmd)
    return watch ? fvce::cli::watch(client, wf_id) : fvce::cli::status(client, wf_id);
  if (*logs_cmd) return fvce::cli::logs(client, wf_id, task, stderr_stream);
  if (*fetch_cmd) return fvce::cli::fetch(client, wf_id, dir);
  if (*cancel_cmd) return fvce::cli::cancel(client, wf_id);
  if (*retry_cmd) return fvce::cli::retry(client, wf_id);
  return 2;
}
