#pragma once
/// Mutual TLS between claude-pool nodes: the files, checked before any connection (a bad
/// passphrase found on the first connection would be found too late), the OpenSSL context a
/// node's transport (node_transport) speaks with, and the identity a peer's certificate
/// carries. CAF's own openssl module is not used: it cannot tell the broker who a peer is.

#include <memory>
#include <stdexcept>
#include <string>

#include "runtime/node/node_tokens.hpp"

struct ssl_ctx_st; // OpenSSL's SSL_CTX, kept out of this header
struct x509_st;    // OpenSSL's X509

namespace claude_pool {

/// Certificate, key and CA of a node (PEM files). All three or none; the passphrase only if
/// the key is encrypted.
struct tls_options {
  std::string certificate;  ///< --tls-cert: this node's certificate (chain), signed by the CA
  std::string key;          ///< --tls-key: its private key, mode 0600
  std::string cafile;       ///< --tls-ca: the CA every peer's certificate must be signed by
  std::string passphrase;   ///< --tls-passphrase: decrypts the key, if it is encrypted

  /// Any option set: the node wants TLS (and check_tls insists on all three files).
  bool enabled() const;
};

/// A TLS option that cannot work; the message names the file (or option) and the problem.
struct tls_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Checks what a connection would only find out much later: all three files given (else
/// names the missing option: "--tls-key is required with --tls-cert"), readable, the key not
/// readable by group or others, the certificate signed by the CA, currently valid and fit to
/// act as server and as client (a node is both), the key decrypts with the passphrase and
/// belongs to the certificate. Does nothing when no option is set. Throws tls_error.
void check_tls(const tls_options& options);

/// An OpenSSL context for both ends of a node connection (a node serves some peers and
/// connects to others): TLS 1.2 or later, this node's certificate chain and key, and every
/// peer's certificate must verify against the CA, both ways. Renegotiation and session
/// tickets are off (a connection lives as long as the peer).
using tls_context = std::shared_ptr<ssl_ctx_st>;

/// check_tls, then the context; nothing (a null context) when no option is set. Throws
/// tls_error.
tls_context make_tls_context(const tls_options& options);

/// Who a verified peer certificate stands for. Documented rule (README, "Security model"):
/// the subject's CN is the principal and its OU the role, `admin` or `submit`
/// (scripts/make-certs writes it: `NAME` for admin, `NAME:submit` for submit).
struct certificate_identity {
  std::string principal;
  node_role role = node_role::submit;
};

/// The identity in `certificate`; throws tls_error naming what is missing ("… has no role:
/// its subject needs OU=admin or OU=submit") or ambiguous (two role OUs, no CN).
certificate_identity identity_of(x509_st* certificate);

}  // namespace claude_pool
