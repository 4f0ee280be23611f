#pragma once
/// Mutual TLS between claude-pool nodes, over CAF's openssl module. CAF 0.17.6 reads the files
/// only when a connection starts, and a bad passphrase then hangs the client and aborts the
/// server. So a node checks its certificate, key and CA here, before any connection.

#include <stdexcept>
#include <string>

namespace caf {
class actor_system_config;
}

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

/// Checks what CAF would only find out on the first connection: all three files given (else
/// names the missing option: "--tls-key is required with --tls-cert"), readable, the key not
/// readable by group or others, the certificate signed by the CA, currently valid and fit to
/// act as server and as client (a node is both), the key decrypts with the passphrase and
/// belongs to the certificate. Does nothing when no option is set. Throws tls_error.
void check_tls(const tls_options& options);

/// check_tls, then sets openssl.certificate/key/cafile/passphrase on `cfg` and loads the
/// openssl module: peers then must present a certificate from the same CA, both ways. Call it
/// after `cfg.load<caf::io::middleman>()`: CAF builds modules in load order, and an openssl
/// module without a middleman before it aborts the process. Connect with
/// caf::openssl::publish/remote_actor. With no option set it changes nothing: the node speaks
/// plain BASP. Throws tls_error.
void apply_tls(caf::actor_system_config& cfg, const tls_options& options);

}  // namespace claude_pool
