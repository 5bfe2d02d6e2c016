// Peers: the one seam between this node's services and every other node's.
//
// Given a member (or just an address), Peers hands out that member's service interface: this
// node's own instance when the member is this node, a remote stub speaking HTTP otherwise.
// Every call from one node's service to another's goes through it, so no service decides
// "local or remote" by itself, and no service speaks HTTP: the transport (plain TCP, or TLS
// once it is configured) and the pooled client live behind this interface.
//
// Built by the composition root (node/node.cpp) before the services; the services it hands
// out are installed once they exist (NodePeers::set_local). Thread-safe. A reference it
// returns stays valid for the life of the Peers; the calls made through it carry the
// deadline and attempts given (CallOptions; zero fields mean the stub's own defaults, which
// each remote.h documents).
#pragma once

#include <string>

#include "node/core/call_options.h"
#include "node/model/member.h"

namespace fvce {

namespace execute {
class ExecuteLogic;
}
namespace submit {
class SubmitLogic;
}
namespace file {
class FileLogic;
}
namespace info {
class InfoLogic;
}
namespace reg {
class RegisterLogic;
}
namespace auth {
class AccountsPeer;
}

// Who to reach: a member (its id and address), or only an address (a node given by a user
// or named in a file reference).
struct PeerRef {
  PeerRef(const model::Member& m) : id(m.id), address(m.address) {}  // NOLINT: implicit
  PeerRef(std::string addr) : address(std::move(addr)) {}            // NOLINT
  PeerRef(const char* addr) : address(addr) {}                       // NOLINT
  PeerRef(std::string peer_id, std::string addr)
      : id(std::move(peer_id)), address(std::move(addr)) {}
  std::string id;       // "" when only the address is known
  std::string address;  // HOST:PORT
};

class Peers {
 public:
  virtual ~Peers() = default;

  // The services of the node `peer` names. Errors surface on the calls: unavailable or
  // timeout when the peer cannot be reached, else the peer's own Status.
  virtual execute::ExecuteLogic& execute(const PeerRef& peer, CallOptions options = {}) = 0;
  // A peer's own workflows (the submit service of that node, not the federation's view).
  virtual submit::SubmitLogic& submit(const PeerRef& peer, CallOptions options = {}) = 0;
  virtual file::FileLogic& file(const PeerRef& peer, CallOptions options = {}) = 0;
  virtual info::InfoLogic& info(const PeerRef& peer, CallOptions options = {}) = 0;
  virtual reg::RegisterLogic& reg(const PeerRef& peer, CallOptions options = {}) = 0;
  // A member's copy of the federation's accounts (auth/accounts.h), for replication.
  virtual auth::AccountsPeer& accounts(const PeerRef& peer, CallOptions options = {}) = 0;

  // Forgets what is kept for a peer that is gone (its idle connections).
  virtual void forget(const std::string& address) = 0;
};

}  // namespace fvce
