#include "services/register/remote.h"

namespace fvce::reg {

using http::Verb;
namespace asio = boost::asio;

asio::awaitable<Result<model::MemberList>> RegisterRemote::join(model::JoinRequest r) {
  return client_.call<model::MemberList>(address_, Verb::post, "/register/join", model::to_xml(r),
                                         options_);
}
asio::awaitable<Result<model::Ack>> RegisterRemote::ping(model::Ping p) {
  return client_.call<model::Ack>(address_, Verb::post, "/register/ping", model::to_xml(p),
                                  options_);
}
asio::awaitable<Status> RegisterRemote::updates(model::Updates u) {
  return client_.send(address_, Verb::post, "/register/updates", model::to_xml(u), options_);
}
asio::awaitable<Result<model::MemberList>> RegisterRemote::merge(model::MemberList l) {
  return client_.call<model::MemberList>(address_, Verb::post, "/register/merge", model::to_xml(l),
                                         options_);
}
asio::awaitable<Result<model::MemberList>> RegisterRemote::probe(model::ProbeRequest p) {
  return client_.call<model::MemberList>(address_, Verb::post, "/register/probe", model::to_xml(p),
                                         options_);
}
asio::awaitable<Result<model::MemberList>> RegisterRemote::members(bool with_gone) {
  return client_.call<model::MemberList>(
      address_, Verb::get, with_gone ? "/register/members?all=true" : "/register/members", {},
      options_);
}
asio::awaitable<Status> RegisterRemote::leave() {
  return client_.send(address_, Verb::post, "/register/leave", {}, options_);
}

}  // namespace fvce::reg
