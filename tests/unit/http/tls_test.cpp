// TLS between nodes over loopback, with certificates the test makes itself: who gets in,
// who is refused at the handshake, and that pooled connections pay the handshake once.
#include "node/http/tls.h"

#include <doctest/doctest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <thread>

#include "node/auth/authenticator.h"
#include "node/auth/ca.h"
#include "node/http/client.h"
#include "node/http/router.h"
#include "node/http/server.h"
#include "tests/unit/file/file_test_util.h"

namespace fvce::http {
namespace {

using file::test::await;
using file::test::RunningIo;
using file::test::TempDir;
using tcp = boost::asio::ip::tcp;
namespace fs = std::filesystem;

struct Pki {
  TempDir dir;
  fs::path ca = dir.path / "ca", other_ca = dir.path / "other-ca";
  Pki() {
    REQUIRE(auth::ca_init(ca, "lab", 30).ok());
    REQUIRE(auth::ca_init(other_ca, "lab", 30).ok());
  }
  // A bundle for name: valid, or expired, or from the other CA.
  TlsFiles files(const std::string& name, const std::string& kind = "valid") {
    auto out = dir.path / (name + "-" + kind);
    long from = -3600, to = 86400;
    if (kind == "expired") from = -7200, to = -3600;
    auto& issuer = kind == "other-ca" ? other_ca : ca;
    REQUIRE(
        auth::issue_certificate(issuer, name, from, to, out / "node.crt", out / "node.key").ok());
    return TlsFiles{(ca / "ca.crt").string(), (out / "node.crt").string(),
                    (out / "node.key").string()};
  }
};

// A server answering GET /who with the member name its TLS peer proved ("" for none).
struct TlsServer {
  RunningIo io;
  Metrics metrics;
  Router router;
  std::shared_ptr<Transport> transport;
  auth::NodeAuthenticator authenticator{nullptr, nullptr};
  std::unique_ptr<Server> server;
  std::string address;

  explicit TlsServer(const TlsFiles& files) {
    auto t = tls_transport(files, &metrics);
    REQUIRE_MESSAGE(t.ok(), t.status().message());
    transport = *t;
    router.add(Verb::get, "/who", auth::Access::open,
               [](const RequestView& v) -> asio::awaitable<Response> {
                 co_return text_response("[" + v.caller().peer + "]", "text/plain");
               });
    server = std::make_unique<Server>(io.ioc, router, metrics, ServerOptions{}, *transport);
    server->set_authenticator(&authenticator);
    REQUIRE(server->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
    address = "127.0.0.1:" + std::to_string(server->local_endpoint().port());
    server->start();
  }
  ~TlsServer() { await(io.ioc, server->stop(std::chrono::milliseconds(500))); }

  double handshakes(const char* side, const char* result) {
    return metrics.value("fvce_tls_handshakes_total", {{"side", side}, {"result", result}});
  }
  // The count once it reaches `want`, or after 2 s: the server counts a refused handshake on
  // its own thread, possibly after the client has seen the refusal.
  double handshakes_reaching(const char* side, const char* result, double want) {
    for (int i = 0; i < 200 && handshakes(side, result) < want; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return handshakes(side, result);
  }
};

Result<Response> ask(RunningIo& io, Transport& transport, const std::string& address,
                     Metrics* = nullptr) {
  Random random(1);
  Client client(io.ioc, transport, random);
  return await(io.ioc, client.request(address, Verb::get, "/who"));
}

TEST_CASE("tls: a member with the federation's certificate is known by its name") {
  Pki pki;
  TlsServer s(pki.files("n1"));
  RunningIo io;
  auto t = tls_transport(pki.files("n2"));
  REQUIRE(t.ok());
  auto r = ask(io, **t, s.address);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->body() == "[n2]");
  CHECK(s.handshakes("server", "ok") == 1);
  // A user's client, with no certificate, gets in as nobody (it signs in with a token).
  auto cli = tls_client_transport(pki.files("n1").ca);
  REQUIRE(cli.ok());
  r = ask(io, **cli, s.address);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->body() == "[]");
}

TEST_CASE("tls: an expired certificate, or one of another CA, is refused at the handshake") {
  Pki pki;
  TlsServer s(pki.files("n1"));
  RunningIo io;
  for (const char* kind : {"expired", "other-ca"}) {
    CAPTURE(kind);
    auto files = pki.files("n2", kind);
    // The node itself refuses to start with it.
    CHECK_FALSE(tls_transport(files).ok());
    // Forced past that check (a client made of the files directly), the server refuses it.
    boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_client);
    ctx.load_verify_file(files.ca);
    ctx.use_certificate_chain_file(files.cert);
    ctx.use_private_key_file(files.key, boost::asio::ssl::context::pem);
    ctx.set_verify_mode(boost::asio::ssl::verify_peer);
    auto ok = await(
        io.ioc, [](boost::asio::ssl::context& ctx, std::string address) -> asio::awaitable<bool> {
          auto ex = co_await asio::this_coro::executor;
          Stream::TlsStream tls(beast::tcp_stream(ex), ctx);
          std::string host, port;
          split_address(address, host, port);
          tcp::endpoint ep(asio::ip::make_address(host),
                           static_cast<unsigned short>(std::stoi(port)));
          auto [cec] =
              co_await tls.next_layer().async_connect(ep, asio::as_tuple(asio::use_awaitable));
          if (cec) co_return false;
          auto [hec] = co_await tls.async_handshake(boost::asio::ssl::stream_base::client,
                                                    asio::as_tuple(asio::use_awaitable));
          if (hec) co_return false;
          // TLS 1.3 finishes the client's side before the server checked the certificate:
          // the refusal shows on the first exchange.
          Request req{Verb::get, "/who", 11};
          req.set(bhttp::field::host, address);
          auto [wec, wn] =
              co_await bhttp::async_write(tls, req, asio::as_tuple(asio::use_awaitable));
          if (wec) co_return false;
          beast::flat_buffer buf;
          Response res;
          auto [rec, rn] =
              co_await bhttp::async_read(tls, buf, res, asio::as_tuple(asio::use_awaitable));
          co_return !rec;
        }(ctx, s.address));
    CHECK_FALSE(ok);
  }
  CHECK(s.handshakes_reaching("server", "failed", 2) == 2);
  CHECK(s.handshakes("server", "ok") == 0);
}

TEST_CASE("tls: a server whose certificate is another CA's is refused by the client") {
  Pki pki;
  auto files = pki.files("n1", "other-ca");
  files.ca = (pki.other_ca / "ca.crt").string();  // valid in its own federation
  TlsServer s(files);
  RunningIo io;
  auto t = tls_transport(pki.files("n2"));
  REQUIRE(t.ok());
  auto r = ask(io, **t, s.address);
  CHECK(r.status().code() == ErrorCode::unavailable);
  CHECK(r.status().message().find("TLS handshake") != std::string::npos);
}

TEST_CASE("tls: a pooled client pays the handshake once for many requests") {
  Pki pki;
  TlsServer s(pki.files("n1"));
  RunningIo io;
  Metrics client_metrics;
  auto t = tls_transport(pki.files("n2"), &client_metrics);
  REQUIRE(t.ok());
  Random random(1);
  Client client(io.ioc, **t, random);
  for (int i = 0; i < 20; ++i) {
    auto r = await(io.ioc, client.request(s.address, Verb::get, "/who"));
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(r->body() == "[n2]");
  }
  CHECK(client_metrics.value("fvce_tls_handshakes_total", {{"side", "client"}, {"result", "ok"}}) ==
        1);
  CHECK(s.handshakes("server", "ok") == 1);
}

TEST_CASE("tls: a further connection to a peer resumes its session, the peer still known") {
  Pki pki;
  TlsServer s(pki.files("n1"));
  RunningIo io;
  Metrics client_metrics;
  auto t = tls_transport(pki.files("n2"), &client_metrics);
  REQUIRE(t.ok());
  // Three clients (three pools, as after connections were closed or while requests overlap)
  // through one transport: one full handshake, then two resumed ones.
  for (int i = 0; i < 3; ++i) {
    auto r = ask(io, **t, s.address);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(r->body() == "[n2]");  // the name comes from the resumed session's certificate
  }
  CHECK(client_metrics.value("fvce_tls_handshakes_total", {{"side", "client"}, {"result", "ok"}}) ==
        3);
  CHECK(client_metrics.value("fvce_tls_resumed_total", {{"side", "client"}}) == 2);
  CHECK(s.metrics.value("fvce_tls_resumed_total", {{"side", "server"}}) == 2);
  // Another node's transport has no session of n2's to offer: a full handshake, its own name.
  auto other = tls_transport(pki.files("n3"));
  REQUIRE(other.ok());
  auto r = ask(io, **other, s.address);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->body() == "[n3]");
  CHECK(s.metrics.value("fvce_tls_resumed_total", {{"side", "server"}}) == 2);
}

TEST_CASE("tls: files that do not fit are named") {
  Pki pki;
  auto good = pki.files("n1");
  auto other = pki.files("n2");
  auto t = tls_transport({good.ca, good.cert, other.key});
  CHECK(t.status().message().find("does not belong") != std::string::npos);
  t = tls_transport({good.ca, good.cert + ".nope", good.key});
  CHECK(t.status().message().find(".nope") != std::string::npos);
  CHECK(auth::ca_init(pki.ca, "lab", 30).code() == ErrorCode::conflict);
  CHECK(*certificate_name(good.cert) == "n1");
}

}  // namespace
}  // namespace fvce::http
