#include "node/node.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

#include "node/auth/authenticator.h"
#include "node/auth/crypto.h"
#include "node/auth/service.h"
#include "node/core/files.h"
#include "node/core/random.h"
#include "node/deploy/deploy.h"
#include "node/http/server.h"
#include "node/http/tls.h"
#include "node/node_context.h"
#include "node/peers/node_peers.h"
#include "node/xml/body_check.h"
#include "node/xml/schema.h"
#include "services/execute/logic.h"
#include "services/execute/register_impls.h"
#include "services/execute/resource.h"
#include "services/file/logic.h"
#include "services/file/register_impls.h"
#include "services/file/resource.h"
#include "services/info/logic.h"
#include "services/info/register_impls.h"
#include "services/info/resource.h"
#include "services/register/impl/introducer.h"
#include "services/register/register_impls.h"
#include "services/register/resource.h"
#include "services/schedule/register_impls.h"
#include "services/submit/federated.h"
#include "services/submit/owned.h"
#include "services/submit/register_impls.h"
#include "services/submit/resource.h"
#include "services/userport/app_store.h"
#include "services/userport/apps.h"
#include "services/userport/apps_routes.h"
#include "services/userport/register_impls.h"
#include "services/userport/terminal.h"

namespace fvce {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Services this build implements, in build order, with the impl used when deploy.xml
// does not list the service.
struct ServiceDefault {
  const char* name;
  const char* impl;
};
constexpr ServiceDefault kServices[] = {{"info", "statgrab"},
                                        {"file", "local"},
                                        {"execute", "process"},
                                        {"register", "introducer"},
                                        {"schedule", "random-adaptive"},
                                        {"submit", "dag"},
                                        {"userport", "web"}};

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "node";
  std::string name(buf);
  auto dot = name.find('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

std::string default_state_dir(const std::string& name) {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  const char* home = std::getenv("HOME");
  std::string base =
      xdg && *xdg ? xdg : (home && *home ? std::string(home) + "/.local/state" : ".");
  return base + "/fvce/" + name;
}

Result<tcp::endpoint> resolve_listen(const std::string& address) {
  std::string host, port;
  if (!http::split_address(address, host, port))
    return Status::InvalidArgument("listen address '" + address + "' is not HOST:PORT");
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec)
    return Status::InvalidArgument("listen address '" + address +
                                   "': HOST must be an IP address (" + ec.message() + ")");
  return tcp::endpoint(ip, static_cast<unsigned short>(std::stoi(port)));
}

bool is_loopback(const std::string& address) {
  std::string host, port;
  if (!http::split_address(address, host, port)) return false;
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  return !ec && ip.is_loopback();
}

// The transport deploy.xml's <security> asks for. Errors name the file or the setting.
Result<std::shared_ptr<http::Transport>> make_transport(const deploy::SecuritySettings& sec,
                                                        const deploy::NodeSettings& node,
                                                        http::Metrics& metrics) {
  if (sec.transport == "plain") {
    // Plain HTTP shows every request to whoever can watch the network: only on loopback.
    for (const auto& a : {node.listen, node.advertise})
      if (!a.empty() && !is_loopback(a))
        return Status::InvalidArgument(sec.where.str() +
                                       ": transport=\"plain\" is allowed only on loopback, and "
                                       "this node would listen on or advertise '" +
                                       a + "': use transport=\"tls\" (docs/SECURITY.md)");
    spdlog::warn(
        "plain HTTP between nodes (transport=\"plain\" in {}): requests are signed with the "
        "federation secret but not encrypted; allowed only on loopback",
        sec.where.str());
    return http::plain_transport();
  }
  // A node is the name in its certificate: starting under another would only be refused
  // by every peer at join.
  auto cn = http::certificate_name(sec.cert);
  if (!cn.ok()) return Status::InvalidArgument(sec.where.str() + ": " + cn.status().message());
  if (*cn != node.name)
    return Status::InvalidArgument(sec.where.str() + ": certificate '" + sec.cert + "' is for '" +
                                   *cn + "', not for this node, '" + node.name +
                                   "' (issue one with `fvce ca issue " + node.name + "`)");
  auto t = http::tls_transport({sec.ca, sec.cert, sec.key}, &metrics);
  if (!t.ok()) return Status::InvalidArgument(sec.where.str() + ": " + t.status().message());
  return t;
}

}  // namespace

int add_user_offline(const std::string& state_dir, const std::string& name, const std::string& role,
                     const std::string& password) {
  // No secret: this only writes a record; tokens are the running nodes' business.
  auto accounts = auth::Accounts::open(std::filesystem::path(state_dir) / "users.db", "", "offline",
                                       SystemClock::instance());
  if (!accounts.ok()) {
    std::fprintf(stderr, "fvce: %s\n", accounts.status().message().c_str());
    return 1;
  }
  auto s = (*accounts)->add(name, password, *auth::parse_role(role));
  if (!s.ok()) {
    std::fprintf(stderr, "fvce: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("added %s (%s) to %s/users.db\n", name.c_str(), role.c_str(), state_dir.c_str());
  return 0;
}

int run_node(const NodeOptions& options) {
  // Every body this node reads is checked against xsd/ before it is decoded.
  xml::set_body_check(&xml::validate_body);
  auto logger = spdlog::stderr_color_mt("fvce");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(options.log_level));

  auto cfg = deploy::load_deploy(options.deploy_file);
  if (!cfg.ok()) {
    spdlog::error("{}", cfg.status().message());
    return 1;
  }
  auto& settings = cfg->node;
  if (!options.listen.empty()) settings.listen = options.listen;
  if (!options.state_dir.empty()) settings.state_dir = options.state_dir;
  if (!options.join.empty()) settings.join = options.join;  // in place of deploy.xml's
  if (!options.name.empty()) settings.name = options.name;
  if (!options.advertise.empty()) settings.advertise = options.advertise;
  if (options.seed) settings.seed = options.seed;
  if (settings.name.empty()) settings.name = host_name();
  if (settings.state_dir.empty()) settings.state_dir = default_state_dir(settings.name);

  // Every service listed must be one this build implements.
  for (const auto& s : cfg->services) {
    bool known = false;
    for (const auto& d : kServices) known = known || s.name == d.name;
    if (!known) {
      spdlog::error(
          "{}: service '{}' is not available in this build (available: info, file, "
          "execute, register, schedule, submit, userport)",
          s.where.str(), s.name);
      return 1;
    }
  }

  // Nothing runs without authentication: members prove membership, users sign in.
  if (!options.security_dir.empty()) {
    auto& sec = cfg->security;
    auto dir = std::filesystem::absolute(options.security_dir);
    if (!sec.present) sec.where = deploy::Location{"--security", 0, 0};
    sec.present = true;
    sec.ca = (dir / "ca.crt").string();
    sec.cert = (dir / "node.crt").string();
    sec.key = (dir / "node.key").string();
    sec.secret = (dir / "federation.key").string();
  }
  const auto& security = cfg->security;
  if (!security.present) {
    spdlog::error(
        "{}: there is no <security> element, and a node does not start open to anyone who "
        "reaches its port. Make a CA and this node's certificate with `fvce ca init DIR` and "
        "`fvce ca issue {} --ca DIR --out BUNDLE`, then add <security dir=\"BUNDLE\"/> "
        "(docs/SECURITY.md)",
        cfg->where.str(), settings.name);
    return 1;
  }
  auto secret = auth::load_secret(security.secret);
  if (!secret.ok()) {
    spdlog::error("{}: {}", security.where.str(), secret.status().message());
    return 1;
  }

  // A new node id is drawn from the operating system, never from deploy.xml's seed (one
  // deploy.xml often serves every node).
  Random os_random(std::random_device{}());
  auto identity = reg::load_identity(settings.state_dir, os_random);
  if (!identity.ok()) {
    spdlog::error("state directory: {}", identity.status().message());
    return 1;
  }

  // The node's random source: from deploy.xml's seed (or the OS), mixed with this node's id
  // and incarnation, so that nodes sharing a seed, and runs of one node, draw apart.
  std::uint64_t seed = settings.seed.value_or(std::random_device{}());
  Random random(seed ^ std::hash<std::string>{}(identity->id) ^
                (identity->incarnation * 0x9e3779b97f4a7c15ULL));

  // Declared before the io_context, so it outlives every coroutine that may still hold a
  // strand of it when the io_context is destroyed.
  boost::asio::thread_pool workers(2);
  asio::io_context ioc(settings.threads);
  http::Metrics metrics;
  auto transport = make_transport(security, settings, metrics);
  if (!transport.ok()) {
    spdlog::error("{}", transport.status().message());
    return 1;
  }
  // The one seam to other nodes: it owns the transport and the pooled client.
  NodePeers peers(ioc, *transport, random, cfg->client);
  http::Router router;
  http::Server server(ioc, router, metrics, cfg->server, peers.transport());

  auto endpoint = resolve_listen(settings.listen);
  if (!endpoint.ok()) {
    spdlog::error("{}", endpoint.status().message());
    return 1;
  }
  if (auto s = server.listen(*endpoint); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  auto bound = server.local_endpoint();
  std::string address = settings.advertise;
  if (address.empty()) {
    auto ip = bound.address();
    if (ip.is_unspecified()) {
      spdlog::warn(
          "listening on all interfaces; peers will be told {}:{} (set advertise= in "
          "deploy.xml or --advertise to choose)",
          host_name(), bound.port());
      address = host_name() + ":" + std::to_string(bound.port());
    } else {
      address = (ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" +
                std::to_string(bound.port());
    }
  }
  peers.set_self(identity->id, address);

  NodeContext ctx(ioc, peers, metrics, SystemClock::instance(), random);
  ctx.seed = seed;
  ctx.self =
      NodeIdentity{identity->id, settings.name, cfg->federation, address, identity->incarnation};
  ctx.state_dir = settings.state_dir;
  ctx.deploy_file = cfg->file;
  ctx.workers = &workers;

  // Users and members: the accounts, and the signatures of the plain transport.
  auto accounts = auth::Accounts::open(std::filesystem::path(settings.state_dir) / "users.db",
                                       *secret, settings.name, SystemClock::instance());
  if (!accounts.ok()) {
    spdlog::error("{}", accounts.status().message());
    return 1;
  }
  std::shared_ptr<auth::Accounts> accounts_ptr = std::move(*accounts);
  std::unique_ptr<auth::PeerSigner> signer;
  if (security.transport == "plain") {
    signer = std::make_unique<auth::PeerSigner>(*secret, settings.name, SystemClock::instance());
    peers.client().set_credentials([s = signer.get()](http::bhttp::fields& h, http::Verb m,
                                                      std::string_view target,
                                                      const std::string* body) {
      s->sign(h, http::bhttp::to_string(m), target, body);
    });
  }
  auth::NodeAuthenticator authenticator(accounts_ptr.get(), signer.get());
  server.set_authenticator(&authenticator);
  if (!accounts_ptr->has_users())
    spdlog::warn(
        "no user accounts yet: add the first admin with `fvce user add NAME --role admin "
        "--state-dir {}` (while the node is stopped) or at any member",
        settings.state_dir);

  // Build the services, in dependency order, through their registries.
  deploy::Registry<info::LocalInfo, NodeContext> info_registry("info");
  info::register_info_impls(info_registry);
  file::FileRegistry file_registry("file");
  file::register_file_impls(file_registry);
  execute::ExecuteRegistry execute_registry("execute");
  execute::register_execute_impls(execute_registry);
  reg::RegisterRegistry register_registry("register");
  reg::register_register_impls(register_registry);
  schedule::ScheduleRegistry schedule_registry("schedule");
  schedule::register_schedule_impls(schedule_registry);
  submit::SubmitRegistry submit_registry("submit");
  submit::register_submit_impls(submit_registry);
  userport::UserportRegistry userport_registry("userport");
  userport::register_userport_impls(userport_registry);

  auto build = [&](auto& registry, auto& context) {
    const auto* sc = cfg->find(registry.service());
    std::string impl;
    for (const auto& d : kServices)
      if (registry.service() == d.name) impl = d.impl;
    return sc ? registry.build(*sc, context) : registry.build_default(impl, context, cfg->file);
  };
  auto fail = [](const Status& s) {
    spdlog::error("{}", s.message());
    return 1;
  };
  auto info = build(info_registry, ctx);
  if (!info.ok()) return fail(info.status());
  auto files = build(file_registry, ctx);
  if (!files.ok()) return fail(files.status());
  execute::ExecuteContext execute_ctx{ctx, *files, *info};
  auto executor = build(execute_registry, execute_ctx);
  if (!executor.ok()) return fail(executor.status());
  // The slots travel with the static info: set them before membership carries it.
  (*info)->set_slots((*executor)->slots());
  (*info)->set_slot_source([ex = *executor] {
    auto [free, queue] = ex->occupancy();
    auto health = ex->health();
    return info::LocalInfo::ExecuteNow{free, queue, std::move(health.down), health.disk_free,
                                       health.disk_total};
  });
  reg::RegisterContext register_ctx{ctx, *info};
  auto membership = build(register_registry, register_ctx);
  if (!membership.ok()) return fail(membership.status());
  schedule::ScheduleContext schedule_ctx{ctx, *membership};
  auto scheduler = build(schedule_registry, schedule_ctx);
  if (!scheduler.ok()) return fail(scheduler.status());
  submit::SubmitContext submit_ctx{ctx, *files, *membership, *scheduler};
  auto submitter = build(submit_registry, submit_ctx);
  if (!submitter.ok()) return fail(submitter.status());
  if (auto s = (*submitter)->open(); !s.ok()) return fail(s);
  auth::AccountsOptions accounts_options;
  accounts_options.token_ttl = security.token_ttl;
  accounts_options.sync_interval = security.accounts_sync;
  auto accounts_service = std::make_shared<auth::AccountsService>(
      ctx, accounts_ptr, accounts_options, [m = *membership] { return m->live_members(); },
      security.transport == "tls");
  // From now on calls for this node reach its own services in process.
  peers.set_local(
      {*executor, *submitter, *files, *info, *membership, accounts_service->local_peer()});

  auto federation_info =
      std::make_shared<info::FederationInfo>(peers, *membership, cfg->federation);
  // Which member owns which workflow, learned once for every request (federated.h).
  auto owner_cache = std::make_shared<submit::OwnerCache>();
  auto federated_submit = [&ctx, local = *submitter, m = *membership,
                           owner_cache](const auth::Caller& caller) {
    return std::make_shared<submit::FederatedSubmit>(ctx, local, m, caller.token, owner_cache);
  };
  userport::WebContext web_ctx{
      ctx,
      [federated_submit](const auth::Caller& caller) -> std::shared_ptr<submit::SubmitLogic> {
        return std::make_shared<submit::OwnedSubmit>(federated_submit(caller), caller);
      },
      *membership, federation_info, accounts_ptr};
  auto web = build(userport_registry, web_ctx);
  if (!web.ok()) return fail(web.status());
  reg::add_routes(router, *membership);
  info::add_routes(router, *info, *membership, federation_info);
  file::add_routes(router, *files);
  execute::add_routes(router, *executor);
  submit::add_routes(router, federated_submit, *submitter, *membership);
  accounts_service->add_routes(router);
  (*web)->add_routes(router);
  // Published applications, replicated among the members (services/userport/app_store.h).
  userport::AppStore::Options apps_options;
  apps_options.state_dir = std::filesystem::path(settings.state_dir) / "apps";
  apps_options.bundled_dirs = userport::bundled_app_dirs();
  auto apps = userport::AppStore::Create(
      ctx, apps_options, [m = *membership] { return m->live_members(); },
      userport::sync_over_http(peers.client()));
  if (!apps.ok()) return fail(apps.status());
  (*apps)->add_peer_routes(router);
  userport::add_app_routes(router, *apps, federated_submit);
  (*web)->set_apps([store = *apps] { return userport::apps_json(store->list()); });
  (*apps)->on_change([w = std::weak_ptr<userport::WebPort>(*web)] {
    if (auto port = w.lock()) port->apps_changed();
  });

  // The web user port's terminal: shells as the users' mapped accounts, like their tasks.
  userport::TerminalOptions terminal_options;
  terminal_options.node_is_root = ::geteuid() == 0;
  terminal_options.work_root = (*files)->work_root();
  if (const auto* ex = cfg->find("execute"))
    for (const auto& p : ex->params)
      if (auto map = execute::AccountMap::Parse(p.value); p.name == "accounts" && map.ok())
        terminal_options.accounts = std::move(*map);
  if (const auto* up = cfg->find("userport")) {
    auto specs = userport::terminal_param_specs();
    if (auto s = userport::read_terminal_params(deploy::Params(up, &specs), terminal_options);
        !s.ok())
      return fail(s);
  }
  userport::TerminalLinks terminal_links;
  terminal_links.client = &peers.client();
  terminal_links.find_member = [m = *membership](std::string_view name) { return m->find(name); };
  terminal_links.token_valid = [accounts_ptr](std::string_view token) {
    return accounts_ptr->verify(token).ok();
  };
  auto terminals = userport::Terminals::Create(ctx, terminal_options, terminal_links);
  terminals->add_routes(router);
  accounts_service->on_logout(
      [terminals](const std::string& token) { terminals->close_for_token(token); });
  router.add(http::Verb::get, "/metrics", auth::Access::user,
             [&metrics](const http::RequestView&) -> asio::awaitable<http::Response> {
               co_return http::text_response(metrics.render(),
                                             "text/plain; version=0.0.4; charset=utf-8");
             });

  // Shutdown: first nothing new starts here (the executor gives its tasks back to their
  // submitters, the dispatcher stops placing), then leave the federation (members drop us
  // at once), let requests in progress finish, and stop. A second signal stops at once.
  std::atomic<bool> shutting_down{false};
  auto membership_ptr = *membership;
  auto submitter_ptr = *submitter;
  auto executor_ptr = *executor;
  auto info_ptr = *info;
  auto web_ptr = *web;
  auto apps_ptr = *apps;
  auto shutdown = [&](bool leave) {
    if (shutting_down.exchange(true)) return;
    terminals->stop();
    executor_ptr->stop();
    submitter_ptr->stop();
    web_ptr->stop();
    asio::co_spawn(
        ioc,
        [&, leave]() -> asio::awaitable<void> {
          if (leave) co_await membership_ptr->leave();
          membership_ptr->stop();
          accounts_service->stop();
          apps_ptr->stop();
          info_ptr->stop();
          co_await server.stop(std::chrono::milliseconds(3000));
          ioc.stop();
        },
        asio::detached);
  };
  membership_ptr->on_left([&] { shutdown(false); });
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (shutting_down) {
          spdlog::warn("second signal {}: stopping now", sig);
          ioc.stop();
          return;
        }
        spdlog::info("signal {}: leaving the federation and stopping", sig);
        shutdown(true);
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  info_ptr->start();
  accounts_service->start();
  apps_ptr->start();
  executor_ptr->start();
  server.start();
  membership_ptr->start(settings.join);
  submitter_ptr->start();

  // Scripts and tests find the bound address here (useful with port 0).
  auto s = write_file_atomic(std::filesystem::path(settings.state_dir) / "address", address + "\n");
  if (!s.ok()) spdlog::warn("{}", s.message());
  std::printf("fvce node %s (%s) listening on %s, federation '%s', state in %s\n",
              settings.name.c_str(), identity->id.c_str(), address.c_str(), cfg->federation.c_str(),
              settings.state_dir.c_str());
  std::fflush(stdout);

  std::vector<std::thread> threads;
  for (int i = 1; i < settings.threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  workers.join();
  // The address is only true while the node runs.
  std::error_code ignored;
  std::filesystem::remove(std::filesystem::path(settings.state_dir) / "address", ignored);
  spdlog::info("stopped");
  return 0;
}

}  // namespace fvce
