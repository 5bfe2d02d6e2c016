#include "node/cli/client_commands.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "node/cli/session.h"
#include "node/core/units.h"
#include "node/http/client.h"
#include "node/http/url.h"
#include "node/model/codec.h"

namespace fvce::cli {

namespace asio = boost::asio;
using http::Verb;

std::string default_node() {
  const char* env = std::getenv("FVCE_NODE");
  if (env && *env) return env;
  auto creds = load_credentials();
  if (creds.ok() && !creds->node.empty()) return creds->node;
  return "127.0.0.1:7700";
}

namespace {

// Performs one request against the node and returns the response (or why there is none).
Result<http::Response> exchange(const ClientOptions& o, Verb method, const std::string& target,
                                std::string body = {}) {
  asio::io_context ioc;
  Session session(ioc, o);
  if (!session.error().ok()) return session.error();
  auto& client = session.client();
  std::optional<Result<http::Response>> out;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        out = co_await client.request(o.node, method, target, std::move(body),
                                      {std::chrono::milliseconds(o.timeout_ms), 1});
      },
      asio::detached);
  ioc.run();
  if (!out) return Status::Internal("no answer was produced");
  return std::move(*out);
}

// Checks the response and decodes it as T; prints the reason and returns nullopt otherwise.
template <typename T>
std::optional<T> fetch(const ClientOptions& o, Verb method, const std::string& target,
                       std::string body = {}) {
  auto res = exchange(o, method, target, std::move(body));
  if (!res.ok()) {
    std::cerr << "fvce: " << o.node << ": " << res.status().message() << "\n";
    return std::nullopt;
  }
  if (res->result_int() / 100 != 2) {
    std::cerr << "fvce: " << http::status_from_error_body(res->result_int(), res->body()).message()
              << "\n";
    return std::nullopt;
  }
  auto value = http::parse_body<T>(res->body());
  if (!value.ok()) {
    std::cerr << "fvce: unexpected answer from " << o.node << ": " << value.status().message()
              << "\n";
    return std::nullopt;
  }
  if (o.xml) std::cout << res->body();
  return std::move(*value);
}

std::string ago(std::int64_t then_ms) {
  if (then_ms <= 0) return "-";
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return format_duration(std::chrono::milliseconds(std::max<std::int64_t>(0, now - then_ms))) +
         " ago";
}

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Prints rows as left-aligned columns separated by two spaces.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string short_cpu(const model::HostStatic& h) {
  std::string m = h.cpu_model.empty() ? "?" : h.cpu_model;
  if (m.size() > 28) m = m.substr(0, 27) + "~";
  if (h.cpu_mhz > 0) m += " @" + fixed(h.cpu_mhz / 1000.0, 1) + "GHz";
  return m;
}

}  // namespace

int hosts(const ClientOptions& o, bool all) {
  if (all) {
    auto list = fetch<model::MemberList>(o, Verb::get, "/register/members?all=true");
    if (!list) return 1;
    if (o.xml) return 0;
    std::vector<std::vector<std::string>> rows{
        {"NAME", "ADDRESS", "STATE", "INCARNATION", "CORES", "SPEED", "LAST SEEN", "ID"}};
    for (const auto& m : list->members)
      rows.push_back({m.name, m.address, std::string(model::to_string(m.state)),
                      std::to_string(m.incarnation), std::to_string(m.host.cores),
                      fixed(m.host.speed, 0), m.id == list->self ? "(this node)" : ago(m.last_seen),
                      m.id});
    print_table(rows);
    return 0;
  }
  auto report = fetch<model::HostsReport>(o, Verb::get, "/info/hosts");
  if (!report) return 1;
  if (o.xml) return 0;
  std::vector<std::vector<std::string>> rows{{"NAME", "ADDRESS", "STATE", "CORES", "CPU", "SPEED",
                                              "MEMORY", "FREE", "DISK FREE", "LOAD", "CPU%",
                                              "LAST SEEN"}};
  std::vector<std::string> down;
  for (const auto& h : report->hosts) {
    const auto& m = h.member;
    std::string state(model::to_string(m.state));
    if (h.load && !h.load->down.empty()) {
      state += ", no new work";
      down.push_back(m.name + " takes no new work: " + h.load->down);
    }
    rows.push_back({m.name, m.address, state, std::to_string(m.host.cores), short_cpu(m.host),
                    fixed(m.host.speed, 0), format_bytes(m.host.memory),
                    h.load ? format_bytes(h.load->memory_free) : "-",
                    h.load && h.load->disk_total ? format_bytes(h.load->disk_free) : "-",
                    h.load ? fixed(h.load->load1, 2) : "-", h.load ? fixed(h.load->cpu, 0) : "-",
                    m.id == report->self ? "(this node)" : ago(m.last_seen)});
  }
  print_table(rows);
  for (const auto& line : down) std::cout << line << "\n";
  std::cout << report->hosts.size() << " member" << (report->hosts.size() == 1 ? "" : "s")
            << " in federation '" << report->federation << "'\n";
  return 0;
}

int info(const ClientOptions& o, const std::string& host) {
  std::string target = "/info/host";
  if (!host.empty()) target += "?name=" + host;
  auto h = fetch<model::HostInfo>(o, Verb::get, target);
  if (!h) return 1;
  if (o.xml) return 0;
  const auto& m = h->member;
  std::vector<std::vector<std::string>> rows{
      {"name", m.name},
      {"id", m.id},
      {"address", m.address},
      {"state", std::string(model::to_string(m.state)) + " (incarnation " +
                    std::to_string(m.incarnation) + ")"},
      {"os", m.host.os + " " + m.host.arch},
      {"cpu",
       m.host.cpu_model + (m.host.cpu_mhz > 0 ? " @ " + fixed(m.host.cpu_mhz, 0) + " MHz" : "")},
      {"cores", std::to_string(m.host.cores)},
      {"speed", fixed(m.host.speed, 1) + " Mref/s per core (" + m.host.info_impl + ")"},
      {"slots", std::to_string(m.host.slots)},
      {"memory", format_bytes(m.host.memory)},
      {"disk free", format_bytes(m.host.disk)},
      {"version", m.host.version},
      {"up since", ago(m.host.started)},
  };
  if (h->load) {
    const auto& l = *h->load;
    rows.push_back({"load", fixed(l.load1, 2) + " " + fixed(l.load5, 2) + " " + fixed(l.load15, 2) +
                                " (1, 5, 15 min)"});
    rows.push_back({"cpu busy", fixed(l.cpu, 1) + " %"});
    rows.push_back(
        {"memory free", format_bytes(l.memory_free) + " of " + format_bytes(l.memory_total)});
    rows.push_back({"free slots", std::to_string(l.free_slots)});
    rows.push_back({"queue", std::to_string(l.queue)});
    rows.push_back({"sampled", ago(l.time)});
  } else {
    rows.push_back({"load", "unknown: " + h->load_error});
  }
  for (auto& r : rows) r[0] += ":";
  print_table(rows);
  return 0;
}

int drain(const ClientOptions& o, const std::string& host, std::chrono::milliseconds wait,
          const std::string& reason) {
  // The host's own address, from the federation's view at the node asked.
  ClientOptions at = o;
  if (!host.empty()) {
    auto report = fetch<model::HostsReport>(o, Verb::get, "/info/hosts");
    if (!report) return 1;
    std::string address;
    for (const auto& h : report->hosts)
      if (h.member.name == host || h.member.id == host) address = h.member.address;
    if (address.empty()) {
      std::cerr << "fvce: " << o.node << ": no member '" << host << "' in federation '"
                << report->federation << "'\n";
      return 1;
    }
    at.node = address;
  }
  at.timeout_ms = static_cast<int>(wait.count()) + 30'000;
  std::string target = "/execute/drain?wait=" + std::to_string(wait.count()) + "ms&reason=" +
                       http::url_encode(reason.empty() ? "asked by the user" : reason);
  auto d = fetch<model::Drained>(at, Verb::post, target);
  if (!d) return 1;
  std::printf(
      "%s drained in %.2f s: %d task(s) given back to their submitters, %d with a "
      "checkpoint\n",
      d->host.c_str(), static_cast<double>(d->ms) / 1000.0, d->released, d->checkpointed);
  if (d->left > 0) {
    std::cerr << "fvce: " << d->host << " still holds " << d->left << " task(s) after "
              << format_duration(wait) << "\n";
    return 1;
  }
  return 0;
}

int leave(const ClientOptions& o, bool drain_first, std::chrono::milliseconds wait) {
  if (drain_first) {
    int rc = drain(o, "", wait, "the node leaves the federation");
    if (rc != 0) {
      std::cerr << "fvce: not leaving: the node did not drain (fvce leave --no-drain leaves "
                   "anyway; its tasks then run again elsewhere)\n";
      return rc;
    }
  }
  auto res = exchange(o, Verb::post, "/register/leave");
  if (!res.ok()) {
    std::cerr << "fvce: " << o.node << ": " << res.status().message() << "\n";
    return 1;
  }
  if (res->result_int() / 100 != 2) {
    std::cerr << "fvce: " << http::status_from_error_body(res->result_int(), res->body()).message()
              << "\n";
    return 1;
  }
  std::cout << "the node at " << o.node << " left its federation and is stopping\n";
  return 0;
}

int probe(const ClientOptions& o, const std::string& address) {
  model::ProbeRequest req{address};
  auto list = fetch<model::MemberList>(o, Verb::post, "/register/probe", model::to_xml(req));
  if (!list) return 1;
  if (o.xml) return 0;
  std::cout << "merged with the federation at " << address << ": " << list->members.size()
            << " members now in '" << list->federation << "'\n";
  return 0;
}

}  // namespace fvce::cli
