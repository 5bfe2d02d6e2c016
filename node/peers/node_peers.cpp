#include "node/peers/node_peers.h"

#include "node/auth/remote.h"
#include "services/execute/remote.h"
#include "services/file/remote.h"
#include "services/info/remote.h"
#include "services/register/remote.h"
#include "services/submit/remote.h"

namespace fvce {

NodePeers::NodePeers(boost::asio::io_context& ioc, std::shared_ptr<http::Transport> transport,
                     Random& random, http::ClientOptions options)
    : transport_(std::move(transport)), client_(ioc, *transport_, random, options) {}

NodePeers::~NodePeers() = default;

void NodePeers::set_self(std::string id, std::string address) {
  std::lock_guard lock(mu_);
  self_id_ = std::move(id);
  self_address_ = std::move(address);
}

void NodePeers::set_local(Locals locals) {
  std::lock_guard lock(mu_);
  locals_ = std::move(locals);
}

bool NodePeers::is_self(const PeerRef& peer) const {
  if (!peer.id.empty()) return peer.id == self_id_;
  return peer.address == self_address_;
}

template <typename Logic, typename Make>
Logic& NodePeers::stub(std::map<Key, std::unique_ptr<Logic>>& cache, const PeerRef& peer,
                       CallOptions options, Make make) {
  // A stub made for one user's token is that user's only: the token is part of the key.
  Key key{peer.address, options.timeout.count(), options.attempts, options.user_token};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make()).first;
  return *it->second;
}

execute::ExecuteLogic& NodePeers::execute(const PeerRef& peer, CallOptions options) {
  std::lock_guard lock(mu_);
  if (is_self(peer) && locals_.execute) return *locals_.execute;
  return stub(execute_, peer, options, [&] {
    return std::make_unique<execute::ExecuteRemote>(client_, peer.address, options);
  });
}

submit::SubmitLogic& NodePeers::submit(const PeerRef& peer, CallOptions options) {
  std::lock_guard lock(mu_);
  if (is_self(peer) && locals_.submit) return *locals_.submit;
  return stub(submit_, peer, options, [&] {
    return std::make_unique<submit::SubmitRemote>(client_, peer.address,
                                                  submit::SubmitRemote::Scope::node, options);
  });
}

file::FileLogic& NodePeers::file(const PeerRef& peer, CallOptions options) {
  std::lock_guard lock(mu_);
  if (is_self(peer) && locals_.file) return *locals_.file;
  return stub(file_, peer, options,
              [&] { return std::make_unique<file::FileRemote>(client_, peer.address, options); });
}

info::InfoLogic& NodePeers::info(const PeerRef& peer, CallOptions options) {
  std::lock_guard lock(mu_);
  if (is_self(peer) && locals_.info) return *locals_.info;
  return stub(info_, peer, options,
              [&] { return std::make_unique<info::InfoRemote>(client_, peer.address, options); });
}

reg::RegisterLogic& NodePeers::reg(const PeerRef& peer, CallOptions options) {
  std::lock_guard lock(mu_);
  if (is_self(peer) && locals_.reg) return *locals_.reg;
  return stub(reg_, peer, options, [&] {
    return std::make_unique<reg::RegisterRemote>(client_, peer.address, options);
  });
}

auth::AccountsPeer& NodePeers::accounts(const PeerRef& peer, CallOptions options) {
  std::lock_guard lock(mu_);
  if (is_self(peer) && locals_.accounts) return *locals_.accounts;
  return stub(accounts_, peer, options, [&] {
    return std::make_unique<auth::AccountsRemote>(client_, peer.address, options);
  });
}

void NodePeers::forget(const std::string& address) {
  client_.forget(address);
}

}  // namespace fvce
