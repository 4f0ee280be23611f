#include "runtime/node/node_tls.hpp"
#include "runtime/node/node_transport.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <vector>
#include <optional>
#include <string>

using namespace claude_pool;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using std::chrono::steady_clock;

namespace {

int sh(const std::string& command) {
  int status = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Certificates for every test, made once with scripts/make-certs: the cluster's CA with
// nodes a, b and an encrypted copy of a's key, plus an unrelated CA with its own node.
struct cert_set {
  std::string dir;
  std::string ca, other_ca;

  cert_set() {
    char pattern[] = "/tmp/claude-pool-tls-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir = pattern;
    ca = dir + "/cluster";
    other_ca = dir + "/other";
    REQUIRE(sh(std::string(CLAUDE_POOL_MAKE_CERTS) + " " + ca + " node-a node-b client-c:submit")
            == 0);
    REQUIRE(sh(std::string(CLAUDE_POOL_MAKE_CERTS) + " " + other_ca + " stranger") == 0);
    REQUIRE(sh("openssl pkey -in " + ca + "/node-a.key -aes256 -passout pass:right-one -out " +
               encrypted_key()) == 0);
    ::chmod(encrypted_key().c_str(), 0600);
    // A certificate from the cluster's CA that may only serve (extendedKeyUsage serverAuth).
    auto ext = file("server-only.ext", "extendedKeyUsage=serverAuth\n", 0644);
    REQUIRE(sh("openssl req -new -key " + ca + "/node-a.key -subj /CN=server-only -out " + dir +
               "/server-only.csr && openssl x509 -req -in " + dir + "/server-only.csr -CA " +
               ca + "/ca.pem -CAkey " + ca + "/ca.key -set_serial 7 -days 1 -extfile " + ext +
               " -out " + server_only()) == 0);
    // Certificates of the cluster's CA (node-a's key) whose subject names no role, or two.
    auto both = file("both.ext", "extendedKeyUsage=serverAuth,clientAuth\n", 0644);
    for (auto [name, subject] : {std::pair{"no-role", "/CN=no-role"},
                                 {"two-roles", "/OU=admin/OU=submit/CN=two-roles"},
                                 {"no-cn", "/OU=admin/O=claude-pool"}})
      REQUIRE(sh("openssl req -new -key " + ca + "/node-a.key -subj " + subject + " -out " + dir
                 + "/" + name + ".csr && openssl x509 -req -in " + dir + "/" + name
                 + ".csr -CA " + ca + "/ca.pem -CAkey " + ca + "/ca.key -set_serial 9 -days 1 "
                 "-extfile " + both + " -out " + dir + "/" + name + ".pem") == 0);
  }
  ~cert_set() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  cert_set(const cert_set&) = delete;
  cert_set& operator=(const cert_set&) = delete;

  tls_options node(const std::string& name) const {
    return {ca + "/" + name + ".pem", ca + "/" + name + ".key", ca + "/ca.pem", ""};
  }
  tls_options stranger() const {
    return {other_ca + "/stranger.pem", other_ca + "/stranger.key", other_ca + "/ca.pem", ""};
  }
  std::string encrypted_key() const { return dir + "/node-a.encrypted.key"; }
  std::string server_only() const { return dir + "/server-only.pem"; }  // node-a's key
  /// One of the handmade certificates above, with node-a's key.
  tls_options handmade(const std::string& name) const {
    return {dir + "/" + name + ".pem", ca + "/node-a.key", ca + "/ca.pem", ""};
  }

  // A scratch file in the set's directory, with `text` and `mode`.
  std::string file(const std::string& name, const std::string& text, mode_t mode) const {
    auto path = dir + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
};

const cert_set& certs() {
  static cert_set set;
  return set;
}

std::string copy_of(const std::string& from, const std::string& name, mode_t mode) {
  std::ifstream in(from);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return certs().file(name, text, mode);
}

}  // namespace

TEST_CASE("check_tls accepts a node's own certificate, key and CA", "[tls]") {
  REQUIRE_NOTHROW(check_tls(certs().node("node-a")));
  REQUIRE_NOTHROW(check_tls(certs().stranger()));
  REQUIRE_NOTHROW(check_tls({}));  // no TLS at all is a valid choice too
}

TEST_CASE("check_tls names what is wrong before any connection", "[tls]") {
  auto o = certs().node("node-a");
  auto refused_with = [&](const std::string& words) {
    REQUIRE_THROWS_WITH(check_tls(o), Contains(words));
  };

  SECTION("an option missing: all three or none") {
    o.key.clear();
    refused_with("--tls-key is required with --tls-cert and --tls-ca");
    o = {"", "", "", "secret"};
    refused_with("--tls-cert, --tls-key and --tls-ca are required with --tls-passphrase");
  }
  SECTION("a file missing or unreadable") {
    o.cafile = certs().dir + "/no-such-ca.pem";
    refused_with("cannot read " + o.cafile + " (--tls-ca): No such file or directory");
    o = certs().node("node-a");
    o.certificate = certs().dir;
    refused_with("cannot read " + o.certificate + " (--tls-cert): Is a directory");
  }
  SECTION("garbage instead of PEM") {
    o.certificate = certs().file("garbage.pem", "not a certificate\n", 0644);
    refused_with(o.certificate + " (--tls-cert) holds no PEM certificate");
    o = certs().node("node-a");
    o.key = certs().file("garbage.key", "not a key\n", 0600);
    refused_with(o.key + " (--tls-key) holds no PEM private key");
    o = certs().node("node-a");
    o.cafile = certs().file("empty-ca.pem", "", 0644);
    refused_with(o.cafile + " (--tls-ca) holds no PEM certificate");
  }
  SECTION("a key that is not the certificate's") {
    o.key = certs().node("node-b").key;
    refused_with(o.key + " (--tls-key) is not the key of the certificate " + o.certificate);
  }
  SECTION("a certificate from another CA") {
    o.cafile = certs().stranger().cafile;
    refused_with(o.certificate + " (--tls-cert) is not accepted as a server by the CA in " +
                 o.cafile + " (--tls-ca): unable to get local issuer certificate");
  }
  SECTION("a certificate that may serve but not connect (a node does both)") {
    o.certificate = certs().server_only();
    refused_with(o.certificate + " (--tls-cert) is not accepted as a client by the CA in " +
                 o.cafile + " (--tls-ca): unsuitable certificate purpose");
  }
  SECTION("a key that group or others can read") {
    o.key = copy_of(o.key, "readable.key", 0640);
    refused_with(o.key + " (--tls-key) has mode 0640: a private key must be readable by its "
                 "owner only (chmod 600 " + o.key + ")");
    ::chmod(o.key.c_str(), 0604);
    refused_with("has mode 0604");
  }
  SECTION("an encrypted key: without, with a wrong, with the right passphrase") {
    o.key = certs().encrypted_key();
    refused_with(o.key + " (--tls-key) is encrypted: --tls-passphrase is required");
    o.passphrase = "wrong-one";
    refused_with("--tls-passphrase does not decrypt " + o.key);
    o.passphrase = "right-one";
    REQUIRE_NOTHROW(check_tls(o));
  }
}

TEST_CASE("make_tls_context builds a context only for valid options", "[tls]") {
  CHECK(make_tls_context({}) == nullptr);  // no TLS: the node speaks tokens
  auto bad = certs().node("node-a");
  bad.key = certs().node("node-b").key;
  REQUIRE_THROWS_AS(make_tls_context(bad), tls_error);
  CHECK(make_tls_context(certs().node("node-a")) != nullptr);
  auto encrypted = certs().node("node-a");
  encrypted.key = certs().encrypted_key();
  encrypted.passphrase = "right-one";
  CHECK(make_tls_context(encrypted) != nullptr);
}

namespace {

struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};

std::unique_ptr<X509, x509_free> load_certificate(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "r"), std::fclose);
  REQUIRE(f);
  std::unique_ptr<X509, x509_free> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  REQUIRE(cert);
  return cert;
}

}  // namespace

TEST_CASE("a certificate names its principal (CN) and role (OU)", "[tls]") {
  auto admin = identity_of(load_certificate(certs().node("node-a").certificate).get());
  CHECK(admin.principal == "node-a");
  CHECK(admin.role == node_role::admin);
  auto submit = identity_of(load_certificate(certs().node("client-c").certificate).get());
  CHECK(submit.principal == "client-c");
  CHECK(submit.role == node_role::submit);
  REQUIRE_THROWS_WITH(identity_of(load_certificate(certs().handmade("no-role").certificate).get()),
                      Contains("has no role: its subject needs OU=admin or OU=submit"));
  REQUIRE_THROWS_WITH(identity_of(load_certificate(certs().handmade("two-roles").certificate).get()),
                      Contains("names two roles"));
  REQUIRE_THROWS_WITH(identity_of(load_certificate(certs().handmade("no-cn").certificate).get()),
                      Contains("needs exactly one CN"));
  REQUIRE_THROWS_WITH(identity_of(nullptr), Contains("no certificate"));
}

namespace {

// Takes its step as an argument: CAF 0.17 dereferences a null argument tuple when a
// function actor is spawned without arguments (UBSan reports it).
caf::behavior adder(int step) {
  return {[step](int x) { return x + step; },
          [](const std::string& text) { return text + "!"; }};
}

// One node of a cluster, in this process: its own config and actor system, as if it were
// its own program.
struct node {
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  node() {
    cfg.load<caf::io::middleman>();
    sys.emplace(cfg);
  }
};

// A TLS node publishing `adder` to every principal its certificates name, and keeping what
// it saw: the principals it made a gate for, the refusals it logged.
struct server {
  node n;
  caf::actor handle;
  std::unique_ptr<node_listener> listener;
  std::mutex m;
  std::vector<std::string> gates;
  std::vector<std::string> refusals;

  explicit server(const tls_options& tls) : handle(n.sys->spawn(adder, 1)) {
    listener_hooks hooks;
    hooks.gate_for = [this](const peer_credential& who) {
      std::lock_guard<std::mutex> lock(m);
      gates.push_back(who.principal + "/" + std::string(to_string(who.role)));
      return std::make_pair(caf::actor_cast<caf::strong_actor_ptr>(handle),
                            std::set<std::string>{});
    };
    hooks.on_refused = [this](const std::string& what) {
      std::lock_guard<std::mutex> lock(m);
      refusals.push_back(what);
    };
    listener = std::make_unique<node_listener>(*n.sys, "127.0.0.1", 0, std::move(hooks),
                                               make_tls_context(tls));
  }
  ~server() {
    listener.reset();
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  }
  std::uint16_t port() const { return listener->port(); }
  std::vector<std::string> seen_gates() {
    std::lock_guard<std::mutex> lock(m);
    return gates;
  }
};

// What a connection attempt came to, within a bound: a hang must fail the run rather than
// stall it.
constexpr auto connect_bound = std::chrono::seconds(40);

template <class Connect>
connect_result try_connect(const char* what, Connect connect) {
  auto start = steady_clock::now();
  auto done = std::async(std::launch::async, connect);
  if (done.wait_for(connect_bound) != std::future_status::ready) {
    std::cerr << "tls test: " << what << ": no answer within 40 s" << std::endl;
    std::_Exit(3);
  }
  auto r = done.get();
  auto ms = std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
  std::cerr << "tls test: " << what << ": "
            << (r.failure ? r.failure->message : std::string("connected")) << " in " << ms
            << " ms" << std::endl;
  return r;
}

connect_result tls_connect(const char* what, node& client, std::uint16_t port,
                           const tls_context& tls) {
  return try_connect(what, [&] {
    return connect_authenticated(*client.sys, "127.0.0.1", port, tls);
  });
}

connect_result tls_connect(const char* what, node& client, std::uint16_t port,
                           const tls_options& tls) {
  return tls_connect(what, client, port, make_tls_context(tls));
}

/// A TLS client that presents no certificate at all (and checks none).
tls_context anonymous_context() {
  tls_context ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

/// The stranger's certificate and key, checking nothing of the server: so the refusal seen
/// is the node's.
tls_context stranger_context() {
  auto ctx = anonymous_context();
  auto o = certs().stranger();
  REQUIRE(SSL_CTX_use_certificate_chain_file(ctx.get(), o.certificate.c_str()) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), o.key.c_str(), SSL_FILETYPE_PEM) == 1);
  return ctx;
}

int ask(node& client, const caf::strong_actor_ptr& remote, int x) {
  caf::scoped_actor self{*client.sys};
  int reply = -1;
  self->request(caf::actor_cast<caf::actor>(remote), std::chrono::seconds(5), x)
    .receive([&](int y) { reply = y; }, [&](caf::error&) { reply = -2; });
  return reply;
}

}  // namespace

TEST_CASE("a node with a certificate from the cluster's CA connects and is answered", "[tls]") {
  server s(certs().node("node-a"));
  node client;
  auto r = tls_connect("valid peer", client, s.port(), certs().node("node-b"));
  REQUIRE_FALSE(r.failure);
  CHECK(ask(client, r.actor, 41) == 42);
  CHECK(s.seen_gates() == std::vector<std::string>{"node-b/admin"});
}

TEST_CASE("the certificate's OU is the peer's role, its CN the principal", "[tls]") {
  server s(certs().node("node-a"));
  node client;
  auto r = tls_connect("submit-role peer", client, s.port(), certs().node("client-c"));
  REQUIRE_FALSE(r.failure);
  CHECK(ask(client, r.actor, 1) == 2);
  CHECK(s.seen_gates() == std::vector<std::string>{"client-c/submit"});
}

TEST_CASE("a certificate without a role, or with two, is refused with a reason", "[tls]") {
  server s(certs().node("node-a"));
  node client;
  for (auto name : {"no-role", "two-roles", "no-cn"}) {
    auto r = tls_connect(name, client, s.port(), certs().handmade(name));
    REQUIRE(r.failure);
    CHECK(r.failure->what == connect_failure::kind::refused);
    CHECK_THAT(r.failure->message, Contains("refused this certificate"));
  }
  CHECK(s.seen_gates().empty());
  CHECK(s.listener->refused() == 3);
  std::lock_guard<std::mutex> lock(s.m);
  REQUIRE_FALSE(s.refusals.empty()); // the log is rate-limited: the first line names why
  CHECK_THAT(s.refusals[0], Contains("has no role: its subject needs OU=admin or OU=submit"));
}

TEST_CASE("a node without a certificate is refused by a TLS node", "[tls]") {
  server s(certs().node("node-a"));
  node anonymous;
  auto r = tls_connect("no certificate", anonymous, s.port(), anonymous_context());
  REQUIRE(r.failure);
  CHECK(r.failure->what != connect_failure::kind::unreachable);
  CHECK(s.seen_gates().empty());
}

TEST_CASE("a node with a certificate from another CA is refused", "[tls]") {
  server s(certs().node("node-a"));
  node stranger;
  auto r = tls_connect("certificate from another CA", stranger, s.port(), stranger_context());
  REQUIRE(r.failure);
  CHECK(r.failure->what == connect_failure::kind::refused);
  CHECK_THAT(r.failure->message, Contains("refused this certificate"));
  CHECK(s.seen_gates().empty());
}

TEST_CASE("a token or plain BASP is refused by a TLS node", "[tls]") {
  server s(certs().node("node-a"));
  node plain;
  auto r = try_connect("a token", [&] {
    return connect_authenticated(*plain.sys, "127.0.0.1", s.port(), std::string(64, 'a'));
  });
  REQUIRE(r.failure);
  auto basp = std::async(std::launch::async, [&] {
    return plain.sys->middleman().remote_actor("127.0.0.1", s.port());
  });
  REQUIRE(basp.wait_for(connect_bound) == std::future_status::ready);
  CHECK_FALSE(basp.get());
  CHECK(s.seen_gates().empty());
}

TEST_CASE("a TLS node does not connect to a server from another CA", "[tls]") {
  server s(certs().stranger());
  node client;
  auto r = tls_connect("server from another CA", client, s.port(), certs().node("node-a"));
  REQUIRE(r.failure);
  CHECK(r.failure->what == connect_failure::kind::handshake);
}

TEST_CASE("refused peers leave a TLS node serving valid ones", "[tls]") {
  server s(certs().node("node-a"));
  node anonymous, stranger, client;
  CHECK(tls_connect("no certificate", anonymous, s.port(), anonymous_context()).failure);
  CHECK(tls_connect("certificate from another CA", stranger, s.port(), certs().stranger())
          .failure);
  CHECK(tls_connect("no role", stranger, s.port(), certs().handmade("no-role")).failure);
  auto r = tls_connect("valid peer after refusals", client, s.port(), certs().node("node-b"));
  REQUIRE_FALSE(r.failure);
  CHECK(ask(client, r.actor, 1) == 2);
  CHECK(s.listener->refused() == 3);
}

TEST_CASE("a node whose key is encrypted serves with the right passphrase", "[tls]") {
  auto o = certs().node("node-a");
  o.key = certs().encrypted_key();
  o.passphrase = "right-one";
  server s(o);
  node client;
  auto r = tls_connect("valid peer, server key encrypted", client, s.port(),
                       certs().node("node-b"));
  REQUIRE_FALSE(r.failure);
  CHECK(ask(client, r.actor, 6) == 7);
}

TEST_CASE("large messages and many requests cross a TLS connection intact", "[tls]") {
  server s(certs().node("node-a"));
  node client;
  auto r = tls_connect("valid peer", client, s.port(), certs().node("node-b"));
  REQUIRE_FALSE(r.failure);
  caf::scoped_actor self{*client.sys};
  auto remote = caf::actor_cast<caf::actor>(r.actor);
  // Many TLS records per message (16 KiB each): the stream must read what OpenSSL holds.
  std::string big(3 * 1024 * 1024 + 17, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4093)
    big[i] = static_cast<char>('a' + i % 26);
  std::string echoed;
  self->request(remote, std::chrono::seconds(30), big)
    .receive([&](std::string& y) { echoed = std::move(y); }, [&](caf::error&) {});
  CHECK(echoed == big + "!");
  // Many small ones in flight at once.
  for (int i = 0; i < 500; ++i)
    self->send(remote, i);
  int answered = 0;
  for (int i = 0; i < 500; ++i)
    self->receive([&](int y) { answered += y == i + 1; },
                  caf::after(std::chrono::seconds(30)) >> [] {});
  CHECK(answered == 500);
}
