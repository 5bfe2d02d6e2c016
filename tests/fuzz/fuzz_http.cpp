// Fuzzes what a node does with the bytes of a request before any handler runs: the HTTP/1.1
// parser with the server's limits (Boost.Beast, fed from memory), the target's URL and query
// (Boost.URL), the member signature check (auth/peer_auth) and the body check.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "node/auth/peer_auth.h"
#include "node/core/clock.h"
#include "node/xml/schema.h"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fvce::auth::PeerSigner signer(std::string(32, 'k'), "fuzz", fvce::SystemClock::instance());
  boost::beast::flat_buffer buffer;
  buffer.commit(boost::asio::buffer_copy(buffer.prepare(size), boost::asio::buffer(data, size)));
  // Requests one after another on one connection, as a keep-alive client sends them.
  for (int i = 0; i < 8 && buffer.size() > 0; ++i) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(1 << 20);
    parser.eager(true);
    boost::beast::error_code ec;
    std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec || !parser.is_done()) break;
    const auto& req = parser.get();
    if (auto url = boost::urls::parse_origin_form(req.target())) {
      std::string path = url->path();
      for (auto param : url->params()) static_cast<void>(param.key.size() + param.value.size());
      static_cast<void>(path);
    }
    if (fvce::auth::PeerSigner::has_signature(req.base()))
      static_cast<void>(signer.verify(req.base(), req.method_string(), req.target(), &req.body()));
    if (!req.body().empty())
      static_cast<void>(fvce::xml::SchemaSet::instance().validate(req.body()));
  }
  return 0;
}
