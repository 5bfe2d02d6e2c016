#include "services/info/remote.h"

namespace fvce::info {

using http::Verb;
namespace asio = boost::asio;

asio::awaitable<Result<model::HostStatic>> InfoRemote::static_info() {
  auto h = co_await client_.call<model::HostInfo>(address_, Verb::get, "/info/host", {}, options_);
  if (!h.ok()) co_return h.status();
  co_return h->member.host;
}

asio::awaitable<Result<model::HostLoad>> InfoRemote::load() {
  auto r =
      co_await client_.call<model::HostLoadReport>(address_, Verb::get, "/info/load", {}, options_);
  if (!r.ok()) co_return r.status();
  co_return r->load;
}

asio::awaitable<Result<model::LoadHistory>> InfoRemote::history(std::int64_t since) {
  return client_.call<model::LoadHistory>(
      address_, Verb::get, "/info/history?since=" + std::to_string(since), {}, options_);
}

}  // namespace fvce::info
