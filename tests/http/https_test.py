#!/usr/bin/env python3
"""The HTTP API over TLS, through Python's http.client and ssl against `claude-pool serve`
(the real CLI against the bundled mock API):
  - a token node with --http-tls-cert/--http-tls-key: HTTPS verified against the CA, bearer
    tokens as over HTTP, plain HTTP refused;
  - a mutual-TLS node: its HTTP API speaks HTTPS with the node's files and takes the principal
    and role from the client's certificate (CN, OU), no token; no certificate, no entry;
  - a non-loopback --http-bind without TLS (or --allow-insecure) is refused, naming the option.

Usage: https_test.py PATH/TO/claude-pool PATH/TO/make-certs
"""
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time

APP, MAKE_CERTS = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED:", what, flush=True)


def wait_for_file(path, proc, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path) and open(path).read().strip():
            return open(path).read().strip()
        if proc.poll() is not None:
            raise SystemExit("serve exited early with %s" % proc.returncode)
        time.sleep(0.05)
    raise SystemExit("no %s after %d s" % (path, seconds))


def call(port, context, method, path, body=None, token=None):
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=120, context=context)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    res = conn.getresponse()
    raw = res.read().decode()
    conn.close()
    return res.status, json.loads(raw) if raw.startswith("{") else raw


def serve(work, name, extra, env):
    port_file = os.path.join(work, name + ".http.port")
    proc = subprocess.Popen([APP, "serve", "--slots", "1", "--port", "0", "--http", "0",
                             "--http-port-file", port_file] + extra,
                            env=env, stdin=subprocess.DEVNULL)
    return proc, int(wait_for_file(port_file, proc))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = "killed"
    check(code == 0, "serve exits 0 on SIGTERM: %s" % code)


def main():
    work = tempfile.mkdtemp(prefix="cp-https-")
    certs = os.path.join(work, "certs")
    subprocess.run([MAKE_CERTS, certs, "node", "ops", "alice:submit"], check=True,
                   stdout=subprocess.DEVNULL)
    home = os.path.join(work, "home")
    os.makedirs(home)
    env = dict(os.environ, HOME=home)
    env.pop("ANTHROPIC_API_KEY", None)
    ca = os.path.join(certs, "ca.pem")
    pem = lambda n: os.path.join(certs, n + ".pem")
    key = lambda n: os.path.join(certs, n + ".key")

    # Refused before anything listens: another address than loopback without TLS.
    refused = subprocess.run([APP, "serve", "--slots", "1", "--port", "0", "--http", "0",
                              "--token-dir", os.path.join(work, "t0"), "--http-bind", "0.0.0.0"],
                             env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=120)
    check(refused.returncode != 0 and "--http-bind" in refused.stderr
          and "--http-tls-cert" in refused.stderr,
          "a non-loopback bind without TLS is refused, naming the options: %s" % refused.stderr[-300:])

    # A token node with an HTTPS API.
    tokens = os.path.join(work, "tokens")
    proc, port = serve(work, "token-node", ["--token-dir", tokens, "--http-tls-cert", pem("node"),
                                            "--http-tls-key", key("node")], env)
    try:
        verified = ssl.create_default_context(cafile=ca)
        admin = open(os.path.join(tokens, "admin.token")).read().strip()
        status, me = call(port, verified, "GET", "/v1/whoami", token=admin)
        check(status == 200 and me.get("role") == "admin", "HTTPS with a token: %s %s" % (status, me))
        status, _ = call(port, verified, "GET", "/v1/status")
        check(status == 401, "HTTPS without a token: 401 (%s)" % status)
        status, body = call(port, verified, "POST", "/v1/tasks", {"prompt": "over https"}, token=admin)
        check(status == 201, "submit over HTTPS: %s %s" % (status, body))
        status, rec = call(port, verified, "GET", "/v1/tasks/%s/wait?timeout=120" % body["id"], token=admin)
        check(status == 200 and rec["state"] == "completed", "the task completes: %s" % rec.get("state"))
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            plain.request("GET", "/v1/status")
            answered = plain.getresponse().status
        except Exception as e:  # the TLS server drops a plain request
            answered = type(e).__name__
        check(answered != 200, "plain HTTP to the HTTPS port gets nothing: %s" % answered)
    finally:
        stop(proc)

    # A mutual-TLS node: clients are their certificates.
    proc, port = serve(work, "tls-node", ["--tls-cert", pem("node"), "--tls-key", key("node"),
                                          "--tls-ca", ca], env)
    try:
        def as_(name):
            ctx = ssl.create_default_context(cafile=ca)
            ctx.load_cert_chain(pem(name), key(name))
            return ctx
        status, me = call(port, as_("alice"), "GET", "/v1/whoami")
        check(status == 200 and me == {"principal": "alice", "role": "submit"},
              "alice's certificate: the submit role: %s %s" % (status, me))
        status, me = call(port, as_("ops"), "GET", "/v1/whoami")
        check(status == 200 and me == {"principal": "ops", "role": "admin"},
              "ops' certificate: the admin role: %s %s" % (status, me))
        status, body = call(port, as_("alice"), "POST", "/v1/scale", {"target": 2})
        check(status == 403, "a submit certificate cannot scale: %s" % status)
        status, body = call(port, as_("alice"), "POST", "/v1/tasks", {"prompt": "by certificate"})
        check(status == 201, "alice submits: %s %s" % (status, body))
        status, rec = call(port, as_("alice"), "GET", "/v1/tasks/%s/wait?timeout=120" % body["id"])
        check(status == 200 and rec["state"] == "completed", "alice's task completes")
        try:
            status, _ = call(port, ssl.create_default_context(cafile=ca), "GET", "/v1/whoami")
            outcome = status
        except (ssl.SSLError, ConnectionError, OSError) as e:
            outcome = type(e).__name__
        check(outcome != 200, "no client certificate, no entry: %s" % outcome)
    finally:
        stop(proc)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all HTTPS checks passed")


if __name__ == "__main__":
    main()
