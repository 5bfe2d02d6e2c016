// The Peers of a running node: this node's own services for itself, remote stubs over one
// pooled HTTP client and one transport for everyone else. See peers.h.
#pragma once

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "node/http/client.h"
#include "node/peers/peers.h"

namespace fvce {

class NodePeers final : public Peers {
 public:
  // transport and random must outlive the object.
  NodePeers(boost::asio::io_context& ioc, std::shared_ptr<http::Transport> transport,
            Random& random, http::ClientOptions options);
  ~NodePeers() override;

  // This node: calls for this id or address go to the local services. Call before the
  // services are built.
  void set_self(std::string id, std::string address);

  // This node's services, installed once built. Until one is, calls for this node reach it
  // over HTTP like any other peer's.
  struct Locals {
    std::shared_ptr<execute::ExecuteLogic> execute;
    std::shared_ptr<submit::SubmitLogic> submit;
    std::shared_ptr<file::FileLogic> file;
    std::shared_ptr<info::InfoLogic> info;
    std::shared_ptr<reg::RegisterLogic> reg;
    std::shared_ptr<auth::AccountsPeer> accounts;
  };
  void set_local(Locals locals);

  execute::ExecuteLogic& execute(const PeerRef& peer, CallOptions options = {}) override;
  submit::SubmitLogic& submit(const PeerRef& peer, CallOptions options = {}) override;
  file::FileLogic& file(const PeerRef& peer, CallOptions options = {}) override;
  info::InfoLogic& info(const PeerRef& peer, CallOptions options = {}) override;
  reg::RegisterLogic& reg(const PeerRef& peer, CallOptions options = {}) override;
  auth::AccountsPeer& accounts(const PeerRef& peer, CallOptions options = {}) override;
  void forget(const std::string& address) override;

  http::Transport& transport() { return *transport_; }
  // The pooled client every stub speaks through (to give it the node's credentials).
  http::Client& client() { return client_; }

 private:
  // address, timeout ms, attempts, user token
  using Key = std::tuple<std::string, long long, int, std::string>;
  bool is_self(const PeerRef& peer) const;
  template <typename Logic, typename Make>
  Logic& stub(std::map<Key, std::unique_ptr<Logic>>& cache, const PeerRef& peer,
              CallOptions options, Make make);

  std::shared_ptr<http::Transport> transport_;
  http::Client client_;
  mutable std::mutex mu_;
  std::string self_id_, self_address_;
  Locals locals_;
  std::map<Key, std::unique_ptr<execute::ExecuteLogic>> execute_;
  std::map<Key, std::unique_ptr<submit::SubmitLogic>> submit_;
  std::map<Key, std::unique_ptr<file::FileLogic>> file_;
  std::map<Key, std::unique_ptr<info::InfoLogic>> info_;
  std::map<Key, std::unique_ptr<reg::RegisterLogic>> reg_;
  std::map<Key, std::unique_ptr<auth::AccountsPeer>> accounts_;
};

}  // namespace fvce
