#include "node/deploy/deploy.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <pugixml.hpp>
#include <sstream>

#include "node/core/units.h"
#include "node/model/codec.h"
#include "node/xml/schema.h"

namespace fvce::deploy {

namespace {
// "a:1, b:2" → {"a:1", "b:2"} (the schema has checked each address).
std::vector<std::string> split_addresses(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())))
      item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
      item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}
}  // namespace

std::string Location::str() const {
  if (line == 0) return file;  // not a place in a file (e.g. a command-line option)
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const ServiceConfig* DeployConfig::find(std::string_view name) const {
  for (const auto& s : services)
    if (s.name == name) return &s;
  return nullptr;
}

Result<DeployConfig> load_deploy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open the deploy file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_deploy(ss.str(), path);
}

Result<DeployConfig> parse_deploy(std::string_view text, const std::string& source) {
  auto valid = xml::SchemaSet::instance().validate(text, source);
  if (!valid.ok()) return valid;

  pugi::xml_document doc;
  auto root = model::parse_document(doc, text);
  if (!root.ok()) return Status::InvalidArgument(source + ":" + root.status().message());
  auto where = [&](const pugi::xml_node& n) {
    // pugixml points at the element's name; people expect the '<' before it.
    auto [line, column] =
        model::line_column(text, std::max<std::ptrdiff_t>(0, n.offset_debug() - 1));
    return Location{source, line, column};
  };
  auto fail = [&](const pugi::xml_node& n, const std::string& why) {
    return Status::InvalidArgument(where(n).str() + ": " + why);
  };

  DeployConfig cfg;
  cfg.file = source;
  cfg.where = where(*root);
  cfg.federation = root->attribute("federation").value();

  if (auto n = root->child("node")) {
    auto& s = cfg.node;
    if (auto a = n.attribute("name")) s.name = a.value();
    if (auto a = n.attribute("listen")) s.listen = a.value();
    if (auto a = n.attribute("advertise")) s.advertise = a.value();
    if (auto a = n.attribute("state-dir")) s.state_dir = a.value();
    if (auto a = n.attribute("join")) s.join = split_addresses(a.value());
    if (auto a = n.attribute("threads")) s.threads = a.as_int(2);
    if (auto a = n.attribute("seed")) s.seed = a.as_ullong();
    if (s.threads > 64) return fail(n, "threads=\"" + std::to_string(s.threads) + "\" is over 64");
  }

  if (auto n = root->child("http")) {
    auto size = [&](const char* attr, std::size_t& out) -> Status {
      if (auto a = n.attribute(attr)) {
        auto v = parse_size(a.value());
        if (!v.ok()) return fail(n, std::string(attr) + ": " + v.status().message());
        out = static_cast<std::size_t>(*v);
      }
      return Status::Ok();
    };
    auto duration = [&](const char* attr, std::chrono::milliseconds& out) -> Status {
      if (auto a = n.attribute(attr)) {
        auto v = parse_duration(a.value());
        if (!v.ok()) return fail(n, std::string(attr) + ": " + v.status().message());
        if (v->count() <= 0) return fail(n, std::string(attr) + " must be positive");
        out = *v;
      }
      return Status::Ok();
    };
    for (Status s :
         {size("max-body", cfg.server.max_body), size("max-header", cfg.server.max_header),
          duration("read-timeout", cfg.server.read_timeout),
          duration("idle-timeout", cfg.server.idle_timeout),
          duration("request-timeout", cfg.client.timeout)})
      if (!s.ok()) return s;
    if (auto a = n.attribute("max-connections")) cfg.server.max_connections = a.as_ullong();
    if (auto a = n.attribute("max-connections-per-client"))
      cfg.server.max_connections_per_client = a.as_ullong();
    if (auto a = n.attribute("rate")) cfg.server.rate = a.as_double();
    if (auto a = n.attribute("burst")) cfg.server.burst = a.as_double();
  }

  if (auto n = root->child("security")) {
    auto& sec = cfg.security;
    sec.present = true;
    sec.where = where(n);
    if (auto a = n.attribute("transport")) sec.transport = a.value();
    auto base = std::filesystem::path(source).parent_path();
    auto resolve = [&](std::string p) {
      if (p.empty()) return p;
      std::filesystem::path path(p);
      return (path.is_absolute() ? path : base / path).lexically_normal().string();
    };
    std::string dir = resolve(n.attribute("dir").value());
    auto pick = [&](const char* attr, const char* file) {
      std::string v = n.attribute(attr).value();
      if (!v.empty()) return resolve(v);
      return dir.empty() ? std::string() : (std::filesystem::path(dir) / file).string();
    };
    sec.ca = pick("ca", "ca.crt");
    sec.cert = pick("cert", "node.crt");
    sec.key = pick("key", "node.key");
    sec.secret = pick("secret", "federation.key");
    if (sec.secret.empty())
      return fail(n,
                  "<security> names no federation secret: give dir= (a bundle from `fvce ca "
                  "issue`) or secret=");
    if (sec.transport == "tls" && (sec.ca.empty() || sec.cert.empty() || sec.key.empty()))
      return fail(n, "transport=\"tls\" needs ca=, cert= and key= (or dir=)");
    if (auto a = n.attribute("token-ttl")) {
      auto v = parse_duration(a.value());
      if (!v.ok() || v->count() < 1000)
        return fail(n, "token-ttl is not a duration of 1 s or more");
      sec.token_ttl = std::chrono::duration_cast<std::chrono::seconds>(*v);
    }
    if (auto a = n.attribute("accounts-sync")) {
      auto v = parse_duration(a.value());
      if (!v.ok() || v->count() < 10)
        return fail(n, "accounts-sync is not a duration of 10 ms or more");
      sec.accounts_sync = *v;
    }
  }

  for (auto s : root->children("service")) {
    ServiceConfig svc;
    svc.name = s.attribute("name").value();
    svc.impl = s.attribute("impl").value();
    svc.where = where(s);
    for (auto p : s.children("param")) {
      Param param{p.attribute("name").value(), p.attribute("value").value(), where(p)};
      for (const auto& seen : svc.params)
        if (seen.name == param.name)
          return fail(p, "parameter '" + param.name + "' of service '" + svc.name +
                             "' is given twice (first at line " + std::to_string(seen.where.line) +
                             ")");
      svc.params.push_back(std::move(param));
    }
    cfg.services.push_back(std::move(svc));
  }
  return cfg;
}

}  // namespace fvce::deploy
