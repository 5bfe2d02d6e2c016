// TLS between nodes (and from the command line to a node), with the federation's CA.
//
// As a server, a node asks the other side for a certificate but does not require one (a
// user's command-line client has none and signs in with a token); a certificate that is
// presented must chain to the CA and be valid now, or the handshake is refused and the
// refusal logged with OpenSSL's reason. As a client, a node presents its own certificate and
// checks the server's against the CA. TLS 1.2 at least. The name in a verified certificate
// (its CN) is the Stream's peer_name(): that is who a member is (docs/SECURITY.md).
//
// Handshakes are counted in fvce_tls_handshakes_total{side, result}: with pooled
// connections there is one per connection, not per request.
#pragma once

#include <memory>
#include <string>

#include "node/core/status.h"
#include "node/http/metrics.h"
#include "node/http/stream.h"

namespace fvce::http {

struct TlsFiles {
  std::string ca;    // the federation CA's certificate (PEM)
  std::string cert;  // this side's certificate (PEM); "" for a client without one
  std::string key;   // its private key (PEM)
};

// Errors name the file and what is wrong with it (missing, not PEM, the key does not match
// the certificate, the certificate is not signed by the CA).
Result<std::shared_ptr<Transport>> tls_transport(const TlsFiles& files, Metrics* metrics = nullptr);
// For the command line: no certificate of its own, checks the node's against ca_path.
Result<std::shared_ptr<Transport>> tls_client_transport(const std::string& ca_path);

// The common name of the certificate in a PEM file. Errors name the file.
Result<std::string> certificate_name(const std::string& pem_path);

}  // namespace fvce::http
