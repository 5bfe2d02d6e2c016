// The federation's certificate authority (OpenSSL): `fvce ca init` and `fvce ca issue`.
//
// Keys are ECDSA P-256, certificates X.509 v3 signed with SHA-256. The CA's certificate is
// a CA (basicConstraints CA:TRUE, keyCertSign); a node's certificate names the node (CN and
// subjectAltName DNS), is not a CA, and serves as both TLS server and client. Private keys
// and the federation secret are written with mode 0600.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "node/core/status.h"

namespace fvce::auth {

// Makes DIR/ca.crt, DIR/ca.key and DIR/federation.key (32 random bytes, hex). Refuses to
// overwrite an existing CA.
Status ca_init(const std::filesystem::path& dir, const std::string& federation, int days);

// Makes OUT/node.crt and OUT/node.key for node `name`, signed by the CA in ca_dir, and copies
// ca.crt and federation.key into OUT: the bundle a node's <security dir="OUT"/> names.
// hosts: more names the certificate is valid for (IP addresses or DNS names, so that a
// browser or curl reaching the node by that address accepts it).
Status ca_issue(const std::filesystem::path& ca_dir, const std::string& name,
                const std::filesystem::path& out, int days,
                const std::vector<std::string>& hosts = {});

// For tests: a key and a certificate for name valid from not_before to not_after (seconds
// from now, either may be negative), signed by the CA in ca_dir, written to cert and key.
Status issue_certificate(const std::filesystem::path& ca_dir, const std::string& name,
                         long not_before_s, long not_after_s, const std::filesystem::path& cert,
                         const std::filesystem::path& key,
                         const std::vector<std::string>& hosts = {});

}  // namespace fvce::auth
