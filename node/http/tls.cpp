#include "node/http/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>

namespace fvce::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::string common_name(X509* cert) {
  if (!cert) return {};
  char buf[256] = {};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// The name in the verified certificate of the other side, "" when it presented none.
std::string peer_common_name(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  std::string name = SSL_get_verify_result(ssl) == X509_V_OK ? common_name(cert) : std::string();
  X509_free(cert);
  return name;
}

// Client sessions to resume, by the address they were made with: a later connection to the
// same peer resumes (an abbreviated handshake: no certificates sent or checked again, the
// peer's verified certificate is the session's). Owned by the client context (freed with it);
// sessions expire after kSessionLifetime.
constexpr long kSessionLifetime = 300;  // seconds; also the server's ticket lifetime

class SessionCache {
 public:
  ~SessionCache() {
    for (auto& [address, session] : sessions_) SSL_SESSION_free(session);
  }
  // A new session of a connection to address (takes the reference).
  void put(const std::string& address, SSL_SESSION* session) {
    std::lock_guard lock(mu_);
    auto& slot = sessions_[address];
    if (slot) SSL_SESSION_free(slot);
    slot = session;
  }
  // Sets a session to resume on ssl, if one for address is still good.
  void offer(const std::string& address, SSL* ssl) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(address);
    if (it == sessions_.end()) return;

    if (!SSL_SESSION_is_resumable(it->second) ||
        SSL_SESSION_get_time(it->second) + SSL_SESSION_get_timeout(it->second) <
            static_cast<long>(::time(nullptr))) {
      SSL_SESSION_free(it->second);
      sessions_.erase(it);
      return;
    }
    SSL_set_session(ssl, it->second);
  }

  // The cache of a client context, and the address a connection was opened to.
  static int cache_index() {
    static int index = SSL_CTX_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
          delete static_cast<SessionCache*>(ptr);
        });
    return index;
  }
  static int address_index() {
    static int index = SSL_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
          delete static_cast<std::string*>(ptr);
        });
    return index;
  }
  static void install(SSL_CTX* ctx) {
    SSL_CTX_set_ex_data(ctx, cache_index(), new SessionCache());
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, [](SSL* ssl, SSL_SESSION* session) -> int {
      auto* cache =
          static_cast<SessionCache*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cache_index()));
      auto* address = static_cast<std::string*>(SSL_get_ex_data(ssl, address_index()));
      // A copy: OpenSSL marks the connection's own session unusable when the connection is
      // closed without a TLS shutdown, as pooled connections are.
      if (cache && address)
        if (SSL_SESSION* copy = SSL_SESSION_dup(session)) cache->put(*address, copy);
      return 0;
    });
  }
  static SessionCache* of(SSL_CTX* ctx) {
    return static_cast<SessionCache*>(SSL_CTX_get_ex_data(ctx, cache_index()));
  }

 private:
  std::mutex mu_;
  std::map<std::string, SSL_SESSION*> sessions_;
};

Status load_files(ssl::context& ctx, const TlsFiles& f) {
  boost::system::error_code ec;
  if (!std::filesystem::exists(f.ca))
    return Status::InvalidArgument("CA certificate '" + f.ca + "' does not exist");
  ctx.load_verify_file(f.ca, ec);
  if (ec)
    return Status::InvalidArgument("CA certificate '" + f.ca + "' cannot be used: " + ec.message());
  if (f.cert.empty()) return Status::Ok();
  for (const auto& [what, path] : {std::pair{"certificate", f.cert}, std::pair{"key", f.key}})
    if (!std::filesystem::exists(path))
      return Status::InvalidArgument(std::string(what) + " '" + path + "' does not exist");
  ctx.use_certificate_chain_file(f.cert, ec);
  if (ec)
    return Status::InvalidArgument("certificate '" + f.cert + "' cannot be used: " + ec.message());
  ctx.use_private_key_file(f.key, ssl::context::pem, ec);
  if (ec)
    return Status::InvalidArgument("key '" + f.key + "' does not belong to certificate '" + f.cert +
                                   "' or cannot be used: " + ec.message());
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    return Status::InvalidArgument("key '" + f.key + "' does not belong to certificate '" + f.cert +
                                   "'");
  // The certificate must be one of this federation's: checked now, not at the first peer.
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.native_handle());
  X509* cert = SSL_CTX_get0_certificate(ctx.native_handle());
  X509_STORE_CTX* vctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(vctx, store, cert, nullptr);
  int ok = X509_verify_cert(vctx);
  std::string why = ok == 1 ? "" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx));
  X509_STORE_CTX_free(vctx);
  if (ok != 1)
    return Status::InvalidArgument("certificate '" + f.cert + "' is not valid with CA '" + f.ca +
                                   "': " + why);
  return Status::Ok();
}

class TlsTransport final : public Transport {
 public:
  TlsTransport(std::shared_ptr<ssl::context> server, std::shared_ptr<ssl::context> client,
               Metrics* metrics)
      : server_(std::move(server)), client_(std::move(client)), metrics_(metrics) {
    if (metrics_)
      metrics_->describe("fvce_tls_handshakes_total", "counter",
                         "TLS handshakes by side (client, server) and result (ok, failed).");
    if (metrics_)
      metrics_->describe("fvce_tls_resumed_total", "counter",
                         "TLS handshakes that resumed an earlier session (abbreviated: no "
                         "certificates), by side; included in fvce_tls_handshakes_total.");
  }

  asio::awaitable<Result<std::unique_ptr<Stream>>> connect(
      std::string address, std::chrono::milliseconds timeout) override {
    std::string host, port;
    if (!split_address(address, host, port))
      co_return Status::InvalidArgument("'" + address + "' is not HOST:PORT");
    auto exec = co_await asio::this_coro::executor;
    tcp::resolver resolver(exec);
    auto [rec, results] = co_await resolver.async_resolve(host, port, use_tuple);
    if (rec) co_return Status::Unavailable("cannot resolve " + address + ": " + rec.message());
    auto tls = std::make_unique<Stream::TlsStream>(beast::tcp_stream(exec), *client_);
    auto& tcp = tls->next_layer();
    tcp.expires_after(timeout);
    auto [cec, ep] = co_await tcp.async_connect(results, use_tuple);
    if (cec == beast::error::timeout)
      co_return Status::Timeout("connecting to " + address + " timed out");
    if (cec) co_return Status::Unavailable("cannot connect to " + address + ": " + cec.message());
    boost::system::error_code ignored;
    tcp.socket().set_option(tcp::no_delay(true), ignored);
    std::string why;
    tls->set_verify_callback([&why](bool ok, ssl::verify_context& v) {
      if (!ok && why.empty())
        why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(v.native_handle()));
      return ok;
    });
    SSL* native = tls->native_handle();
    if (auto* cache = SessionCache::of(SSL_get_SSL_CTX(native))) {
      SSL_set_ex_data(native, SessionCache::address_index(), new std::string(address));
      cache->offer(address, native);
    }
    auto [hec] = co_await tls->async_handshake(ssl::stream_base::client, use_tuple);
    count("client", !hec);
    if (!hec && SSL_session_reused(native)) resumed("client");
    if (hec) {
      std::string reason = why.empty() ? hec.message() : why;
      spdlog::warn("TLS handshake with {} failed: {}", address, reason);
      if (hec == beast::error::timeout)
        co_return Status::Timeout("TLS handshake with " + address + " timed out");
      co_return Status::Unavailable("TLS handshake with " + address + " failed: " + reason);
    }
    tcp.expires_never();
    tls->set_verify_callback([](bool ok, ssl::verify_context&) { return ok; });  // drops `why`
    auto name = peer_common_name(tls->native_handle());
    co_return std::make_unique<Stream>(std::move(tls), std::move(name));
  }

  asio::awaitable<Result<std::unique_ptr<Stream>>> accept(
      tcp::socket socket, std::chrono::milliseconds timeout) override {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto remote = socket.remote_endpoint(ignored);
    auto tls = std::make_unique<Stream::TlsStream>(beast::tcp_stream(std::move(socket)), *server_);
    std::string why;
    tls->set_verify_callback([&why](bool ok, ssl::verify_context& v) {
      if (!ok && why.empty())
        why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(v.native_handle()));
      return ok;
    });
    tls->next_layer().expires_after(timeout);
    auto [hec] = co_await tls->async_handshake(ssl::stream_base::server, use_tuple);
    count("server", !hec);
    if (!hec && SSL_session_reused(tls->native_handle())) resumed("server");
    if (hec) {
      std::string reason = why.empty() ? hec.message() : "certificate refused: " + why;
      spdlog::warn("TLS handshake from {}:{} refused: {}", remote.address().to_string(),
                   remote.port(), reason);
      co_return Status::Unavailable("TLS handshake failed: " + reason);
    }
    tls->next_layer().expires_never();
    tls->set_verify_callback([](bool ok, ssl::verify_context&) { return ok; });  // drops `why`
    auto name = peer_common_name(tls->native_handle());
    co_return std::make_unique<Stream>(std::move(tls), std::move(name));
  }

  std::string_view scheme() const override { return "https"; }

 private:
  void count(const char* side, bool ok) {
    if (metrics_)
      metrics_->add("fvce_tls_handshakes_total",
                    {{"side", side}, {"result", ok ? "ok" : "failed"}});
  }
  void resumed(const char* side) {
    if (metrics_) metrics_->add("fvce_tls_resumed_total", {{"side", side}});
  }

  std::shared_ptr<ssl::context> server_;
  std::shared_ptr<ssl::context> client_;
  Metrics* metrics_;
};

std::shared_ptr<ssl::context> make_context(ssl::context::method method) {
  auto ctx = std::make_shared<ssl::context>(method);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  return ctx;
}

}  // namespace

Result<std::shared_ptr<Transport>> tls_transport(const TlsFiles& files, Metrics* metrics) {
  auto server = make_context(ssl::context::tls_server);
  auto client = make_context(ssl::context::tls_client);
  if (auto s = load_files(*server, files); !s.ok()) return s;
  if (auto s = load_files(*client, files); !s.ok()) return s;
  // Ask for a certificate; refuse a bad one; let a client without one through (users).
  server->set_verify_mode(ssl::verify_peer);
  client->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  // Resumption: the server's tickets and cached sessions last kSessionLifetime, so a
  // certificate that expires or is replaced stops being honoured within that; the client
  // resumes its last session with a peer for each further connection it opens there.
  static const unsigned char kContext[] = "fvce";
  SSL_CTX_set_session_id_context(server->native_handle(), kContext, sizeof kContext - 1);
  SSL_CTX_set_timeout(server->native_handle(), kSessionLifetime);
  SSL_CTX_set_timeout(client->native_handle(), kSessionLifetime);
  SessionCache::install(client->native_handle());
  return std::shared_ptr<Transport>(std::make_shared<TlsTransport>(server, client, metrics));
}

Result<std::shared_ptr<Transport>> tls_client_transport(const std::string& ca_path) {
  auto client = make_context(ssl::context::tls_client);
  if (auto s = load_files(*client, TlsFiles{ca_path, "", ""}); !s.ok()) return s;
  client->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  auto server = make_context(ssl::context::tls_server);  // unused: a client only connects
  return std::shared_ptr<Transport>(std::make_shared<TlsTransport>(server, client, nullptr));
}

Result<std::string> certificate_name(const std::string& pem_path) {
  FILE* f = std::fopen(pem_path.c_str(), "r");
  if (!f) return Status::InvalidArgument("certificate '" + pem_path + "' cannot be read");
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert)
    return Status::InvalidArgument("'" + pem_path +
                                   "' is not a PEM certificate: " + openssl_error());
  auto name = common_name(cert);
  X509_free(cert);
  return name;
}

}  // namespace fvce::http
