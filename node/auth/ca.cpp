#include "node/auth/ca.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "node/auth/crypto.h"
#include "node/auth/names.h"
#include "node/core/files.h"

namespace fvce::auth {

namespace fs = std::filesystem;

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;

Status failed(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return Status::Internal(what + ": " + buf);
}

Key new_key() {
  return Key(EVP_EC_gen("P-256"));
}

Status add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return failed(std::string("extension ") + OBJ_nid2sn(nid));
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return Status::Ok();
}

Result<Cert> make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                       long not_before_s, long not_after_s, bool ca,
                       const std::vector<std::string>& hosts = {}) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, Free> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after_s);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  Status s;
  if (ca) {
    for (auto [nid, v] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                          std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                          std::pair{NID_subject_key_identifier, "hash"}})
      if (s = add_ext(cert.get(), signer, nid, v); !s.ok()) return s;
  } else {
    std::string san = "DNS:" + cn;
    for (const auto& h : hosts) {
      boost::system::error_code ec;
      boost::asio::ip::make_address(h, ec);
      san += (ec ? ",DNS:" : ",IP:") + h;
    }
    for (auto [nid, v] :
         {std::pair<int, const char*>{NID_basic_constraints, "critical,CA:FALSE"},
          std::pair<int, const char*>{NID_key_usage, "critical,digitalSignature,keyAgreement"},
          std::pair<int, const char*>{NID_ext_key_usage, "serverAuth,clientAuth"},
          std::pair<int, const char*>{NID_subject_alt_name, san.c_str()},
          std::pair<int, const char*>{NID_authority_key_identifier, "keyid:always"}})
      if (s = add_ext(cert.get(), signer, nid, v); !s.ok()) return s;
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0)
    return failed("signing the certificate of '" + cn + "'");
  return cert;
}

std::string pem(X509* cert) {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Result<std::string> read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::NotFound(p.string() + " cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status load_ca(const fs::path& dir, Cert& cert, Key& key) {
  auto c = read_text(dir / "ca.crt");
  auto k = read_text(dir / "ca.key");
  if (!c.ok() || !k.ok())
    return Status::NotFound("no CA in " + dir.string() + " (make one with `fvce ca init " +
                            dir.string() + "`)");
  std::unique_ptr<BIO, Free> cb(BIO_new_mem_buf(c->data(), static_cast<int>(c->size())));
  std::unique_ptr<BIO, Free> kb(BIO_new_mem_buf(k->data(), static_cast<int>(k->size())));
  cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!cert || !key) return failed("reading the CA in " + dir.string());
  return Status::Ok();
}

Status write(const fs::path& p, const std::string& text, unsigned mode) {
  auto s = write_file_atomic(p, text, mode);
  if (s.ok()) ::chmod(p.c_str(), mode);
  return s;
}

}  // namespace

Status ca_init(const fs::path& dir, const std::string& federation, int days) {
  if (auto s = check_user_name(federation); !s.ok())
    return Status::InvalidArgument("federation name: " + s.message());
  if (fs::exists(dir / "ca.key") || fs::exists(dir / "ca.crt"))
    return Status::Conflict(dir.string() +
                            " already holds a CA: a second one would lock every "
                            "node of the first out");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(dir.string() + ": " + ec.message());
  Key key = new_key();
  if (!key) return failed("making the CA key");
  auto cert = make_cert("fvce CA " + federation, key.get(), nullptr, nullptr, -3600,
                        static_cast<long>(days) * 86400, true);
  if (!cert.ok()) return cert.status();
  if (auto s = write(dir / "ca.key", pem(key.get()), 0600); !s.ok()) return s;
  if (auto s = write(dir / "ca.crt", pem(cert->get()), 0644); !s.ok()) return s;
  return write(dir / "federation.key", to_hex(random_bytes(32)) + "\n", 0600);
}

Status issue_certificate(const fs::path& ca_dir, const std::string& name, long not_before_s,
                         long not_after_s, const fs::path& cert_path, const fs::path& key_path,
                         const std::vector<std::string>& hosts) {
  for (const auto& h : hosts)
    if (h.empty() || h.size() > 253 ||
        h.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") !=
            std::string::npos)
      return Status::InvalidArgument("'" + h + "' is not a host name or IP address");
  if (auto s = check_user_name(name); !s.ok())
    return Status::InvalidArgument("node name: " + s.message());
  Cert ca;
  Key ca_key;
  if (auto s = load_ca(ca_dir, ca, ca_key); !s.ok()) return s;
  Key key = new_key();
  if (!key) return failed("making a key");
  auto cert =
      make_cert(name, key.get(), ca.get(), ca_key.get(), not_before_s, not_after_s, false, hosts);
  if (!cert.ok()) return cert.status();
  std::error_code ec;
  fs::create_directories(cert_path.parent_path(), ec);
  fs::create_directories(key_path.parent_path(), ec);
  if (auto s = write(key_path, pem(key.get()), 0600); !s.ok()) return s;
  return write(cert_path, pem(cert->get()), 0644);
}

Status ca_issue(const fs::path& ca_dir, const std::string& name, const fs::path& out, int days,
                const std::vector<std::string>& hosts) {
  if (auto s = issue_certificate(ca_dir, name, -3600, static_cast<long>(days) * 86400,
                                 out / "node.crt", out / "node.key", hosts);
      !s.ok())
    return s;
  auto ca = read_text(ca_dir / "ca.crt");
  auto secret = read_text(ca_dir / "federation.key");
  if (!ca.ok()) return ca.status();
  if (!secret.ok()) return secret.status();
  if (auto s = write(out / "ca.crt", *ca, 0644); !s.ok()) return s;
  return write(out / "federation.key", *secret, 0600);
}

}  // namespace fvce::auth
