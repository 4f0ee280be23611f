#include "runtime/node/node_tls.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace claude_pool {

namespace {

// Deleters, so that every OpenSSL object is freed on every path out (the checks throw).
template <auto Free>
struct openssl_free {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

// The stack only: its certificates are borrowed from x509_ptrs that free them.
void free_stack(STACK_OF(X509) * chain) {
  sk_X509_free(chain);
}

using bio_ptr = std::unique_ptr<BIO, openssl_free<BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, openssl_free<X509_free>>;
using chain_ptr = std::unique_ptr<STACK_OF(X509), openssl_free<free_stack>>;
using store_ptr = std::unique_ptr<X509_STORE, openssl_free<X509_STORE_free>>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, openssl_free<X509_STORE_CTX_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_free<EVP_PKEY_free>>;

struct file_close {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// One PEM file named by its option, so that every message says which flag to fix.
struct pem_file {
  const char* option;
  std::string path;
  std::string text;

  std::string name() const { return path + " (" + option + ")"; }
};

std::string joined(const std::vector<const char*>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " and " : ", ";
    out += words[i];
  }
  return out;
}

void require_all_three(const tls_options& o) {
  std::vector<const char*> given, missing;
  for (auto [flag, value] : {std::pair{"--tls-cert", &o.certificate}, {"--tls-key", &o.key},
                             {"--tls-ca", &o.cafile}, {"--tls-passphrase", &o.passphrase}}) {
    if (!value->empty())
      given.push_back(flag);
    else if (value != &o.passphrase)
      missing.push_back(flag);
  }
  if (!missing.empty())
    throw tls_error(joined(missing) + (missing.size() == 1 ? " is" : " are") +
                    " required with " + joined(given));
}

pem_file read_pem(const char* option, const std::string& path) {
  pem_file f{option, path, {}};
  std::unique_ptr<std::FILE, file_close> in(std::fopen(path.c_str(), "rb"));
  if (!in) throw tls_error("cannot read " + f.name() + ": " + std::strerror(errno));
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, in.get())) > 0;) f.text.append(buf, n);
  if (std::ferror(in.get()))  // a directory opens but does not read
    throw tls_error("cannot read " + f.name() + ": " + std::strerror(errno));
  return f;
}

// CAF would load the key however it is protected; a key others can read is no secret.
void require_private_mode(const pem_file& key) {
  struct stat st {};
  if (::stat(key.path.c_str(), &st) != 0)
    throw tls_error("cannot stat " + key.name() + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw tls_error(key.name() + " has mode " + mode +
                    ": a private key must be readable by its owner only (chmod 600 " +
                    key.path + ")");
  }
}

// OpenSSL's reason for the last failure, and a clean error queue for the next call.
std::string openssl_reason() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? std::string(" (") + reason + ")" : std::string();
}

bio_ptr open_text(const pem_file& f) {
  bio_ptr bio(BIO_new_mem_buf(f.text.data(), static_cast<int>(f.text.size())));
  if (!bio) throw tls_error("out of memory reading " + f.name());
  return bio;
}

// Every certificate in the file, first the file's own; CAF loads it as a chain, so the
// certificates after the first are intermediates.
std::vector<x509_ptr> read_certificates(const pem_file& f) {
  auto bio = open_text(f);
  std::vector<x509_ptr> certs;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    certs.emplace_back(c);
  auto reason = openssl_reason();  // the read past the last certificate always fails
  if (certs.empty()) throw tls_error(f.name() + " holds no PEM certificate" + reason);
  return certs;
}

// Verifies as libssl does during the handshake: a node is the server of the peers that
// connect to it and the client of those it connects to, so its certificate must serve as both.
void require_signed_by_ca(const pem_file& cert, const pem_file& ca) {
  auto own = read_certificates(cert);
  auto authorities = read_certificates(ca);
  store_ptr store(X509_STORE_new());
  chain_ptr intermediates(sk_X509_new_null());
  if (!store || !intermediates) throw tls_error("out of memory checking " + cert.name());
  for (auto& c : authorities) X509_STORE_add_cert(store.get(), c.get());
  for (std::size_t i = 1; i < own.size(); ++i) sk_X509_push(intermediates.get(), own[i].get());
  for (auto [use, role] : {std::pair{"ssl_server", "a server"}, {"ssl_client", "a client"}}) {
    store_ctx_ptr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), own[0].get(), intermediates.get()) != 1)
      throw tls_error("out of memory checking " + cert.name());
    X509_STORE_CTX_set_default(ctx.get(), use);
    if (X509_verify_cert(ctx.get()) != 1) {
      auto why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
      ERR_clear_error();
      throw tls_error(cert.name() + " is not accepted as " + role + " by the CA in " +
                      ca.name() + ": " + why);
    }
  }
}

struct passphrase_use {
  const std::string& passphrase;
  bool asked = false;
};

// OpenSSL asks only for an encrypted key; without this callback it would prompt on the tty.
int give_passphrase(char* buf, int size, int, void* user) {
  auto& use = *static_cast<passphrase_use*>(user);
  use.asked = true;
  if (use.passphrase.empty() || use.passphrase.size() > static_cast<std::size_t>(size))
    return -1;
  std::memcpy(buf, use.passphrase.data(), use.passphrase.size());
  return static_cast<int>(use.passphrase.size());
}

pkey_ptr read_key(const pem_file& key, const std::string& passphrase) {
  auto bio = open_text(key);
  passphrase_use use{passphrase};
  pkey_ptr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, give_passphrase, &use));
  auto reason = openssl_reason();
  if (pkey) return pkey;
  if (use.asked && passphrase.empty())
    throw tls_error(key.name() + " is encrypted: --tls-passphrase is required");
  if (use.asked) throw tls_error("--tls-passphrase does not decrypt " + key.name() + reason);
  throw tls_error(key.name() + " holds no PEM private key" + reason);
}

void require_key_of(const pem_file& key, const std::string& passphrase, const pem_file& cert) {
  auto pkey = read_key(key, passphrase);
  auto own = read_certificates(cert);
  if (X509_check_private_key(own[0].get(), pkey.get()) != 1) {
    ERR_clear_error();
    throw tls_error(key.name() + " is not the key of the certificate " + cert.name());
  }
}

}  // namespace

bool tls_options::enabled() const {
  return !certificate.empty() || !key.empty() || !cafile.empty() || !passphrase.empty();
}

void check_tls(const tls_options& options) {
  if (!options.enabled()) return;
  require_all_three(options);
  auto cert = read_pem("--tls-cert", options.certificate);
  auto key = read_pem("--tls-key", options.key);
  auto ca = read_pem("--tls-ca", options.cafile);
  require_private_mode(key);
  require_signed_by_ca(cert, ca);
  require_key_of(key, options.passphrase, cert);
}

tls_context make_tls_context(const tls_options& options) {
  if (!options.enabled()) return nullptr;
  check_tls(options);
  ERR_clear_error();
  tls_context ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!ctx) throw tls_error("cannot create a TLS context" + openssl_reason());
  auto* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_num_tickets(c, 0);
  // CAF's streams write what they can and retry the rest from a buffer that may move.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  if (SSL_CTX_use_certificate_chain_file(c, options.certificate.c_str()) != 1)
    throw tls_error("cannot load " + options.certificate + " (--tls-cert)" + openssl_reason());
  // The key is decrypted here, once: the passphrase is not kept.
  passphrase_use use{options.passphrase};
  SSL_CTX_set_default_passwd_cb(c, give_passphrase);
  SSL_CTX_set_default_passwd_cb_userdata(c, &use);
  auto key_loaded = SSL_CTX_use_PrivateKey_file(c, options.key.c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_set_default_passwd_cb(c, nullptr);
  SSL_CTX_set_default_passwd_cb_userdata(c, nullptr);
  if (key_loaded != 1 || SSL_CTX_check_private_key(c) != 1)
    throw tls_error("cannot load " + options.key + " (--tls-key)" + openssl_reason());
  if (SSL_CTX_load_verify_locations(c, options.cafile.c_str(), nullptr) != 1)
    throw tls_error("cannot load " + options.cafile + " (--tls-ca)" + openssl_reason());
  return ctx;
}

namespace {

/// Every value of `nid` in the subject, as UTF-8.
std::vector<std::string> subject_entries(X509* cert, int nid) {
  std::vector<std::string> out;
  auto* name = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n >= 0) out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
  }
  return out;
}

std::string subject_line(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

}  // namespace

certificate_identity identity_of(X509* certificate) {
  if (certificate == nullptr) throw tls_error("the peer presented no certificate");
  auto subject = subject_line(certificate);
  auto names = subject_entries(certificate, NID_commonName);
  if (names.size() != 1 || names[0].empty())
    throw tls_error("the certificate " + subject + " needs exactly one CN (the principal)");
  std::optional<node_role> role;
  for (auto& unit : subject_entries(certificate, NID_organizationalUnitName)) {
    auto r = parse_node_role(unit);
    if (!r) continue;  // other OUs are the operator's business
    if (role && *role != *r)
      throw tls_error("the certificate " + subject + " names two roles (OU=admin and "
                      "OU=submit); it must name one");
    role = r;
  }
  if (!role)
    throw tls_error("the certificate " + subject + " has no role: its subject needs OU=admin "
                    "or OU=submit");
  return {names[0], *role};
}

}  // namespace claude_pool
