#include "node/http/tls.h"

namespace fvce::http {

Result<std::shared_ptr<Transport>> tls_transport(const TlsFiles&, Metrics*) {
  return Status::Unavailable("TLS is not available in this build");
}

Result<std::shared_ptr<Transport>> tls_client_transport(const std::string&) {
  return Status::Unavailable("TLS is not available in this build");
}

}  // namespace fvce::http
