// TLS transport (placeholder until the TLS transport lands).
#pragma once

#include <memory>
#include <string>

#include "node/core/status.h"
#include "node/http/metrics.h"
#include "node/http/stream.h"

namespace fvce::http {

struct TlsFiles {
  std::string ca;
  std::string cert;
  std::string key;
};

Result<std::shared_ptr<Transport>> tls_transport(const TlsFiles& files, Metrics* metrics = nullptr);
Result<std::shared_ptr<Transport>> tls_client_transport(const std::string& ca_path);

}  // namespace fvce::http
