// deploy.xml: what a node is and which implementation each service uses.
//
// load_deploy() validates the file against xsd/deploy.xsd and reads it; every element
// keeps its file:line:col so later checks (unknown impl, bad parameter) can point at it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "node/core/status.h"
#include "node/http/client.h"
#include "node/http/server.h"

namespace fvce::deploy {

// "FILE:LINE:COL" of an element in deploy.xml.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  std::string str() const;
};

struct Param {
  std::string name;
  std::string value;
  Location where;
};

struct ServiceConfig {
  std::string name;  // register, info, ...
  std::string impl;
  std::vector<Param> params;
  Location where;
};

struct NodeSettings {
  std::string name;  // "" = the host name
  std::string listen = "127.0.0.1:7700";
  std::string advertise;          // "" = the address actually bound
  std::string state_dir;          // "" = ./fvce-state-<name>
  std::vector<std::string> join;  // members to join through, tried in order; none: the
                                  // remembered members
  int threads = 2;
  std::optional<std::uint64_t> seed;
};

// <security>: paths are absolute (relative ones resolved against the deploy file's folder).
struct SecuritySettings {
  bool present = false;
  std::string transport = "tls";  // "tls" | "plain"
  std::string ca, cert, key, secret;
  std::chrono::seconds token_ttl{12 * 3600};
  std::chrono::milliseconds accounts_sync{5000};
  Location where;
};

struct DeployConfig {
  std::string file;
  Location where;  // the <deploy> element
  std::string federation;
  NodeSettings node;
  http::ServerOptions server;
  http::ClientOptions client;
  SecuritySettings security;
  std::vector<ServiceConfig> services;

  // The configuration of service name, or null when deploy.xml does not list it.
  const ServiceConfig* find(std::string_view name) const;
};

// Reads and checks a deploy file. Errors are "FILE:LINE:COL: reason".
Result<DeployConfig> load_deploy(const std::string& path);
// As load_deploy, from text already in memory (source names it in errors).
Result<DeployConfig> parse_deploy(std::string_view text, const std::string& source);

}  // namespace fvce::deploy
