#!/usr/bin/env python3
"""The HTTP API through a real client: `claude-pool serve --http` (the real CLI against the
bundled mock API, no API key) driven with Python's http.client. Every route, errors that name
the field, refusals by role, a page cursor, 1,000 concurrent submissions all accounted for,
and /metrics read by Prometheus' own text parser with values that match /v1/status.

Usage: http_api_test.py PATH/TO/claude-pool
"""
import concurrent.futures
import hashlib
import hmac
import http.client
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from prometheus_client.parser import text_string_to_metric_families

APP = sys.argv[1]
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


class Api:
    def __init__(self, port, token=None):
        self.port, self.token = port, token

    def call(self, method, path, body=None, token="default"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = {}
        tok = self.token if token == "default" else token
        if tok:
            headers["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        res = conn.getresponse()
        raw = res.read().decode()
        conn.close()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw
        return res.status, parsed


HOOK_SECRET = "webhook-test-secret"


class Receiver:
    """A loopback HTTP server in a thread: the webhooks' endpoints (/hooks checks each
    signature with Python's own hmac; /flaky answers 500 to its first request) and an OTLP
    collector for the CLI's own telemetry (/v1/metrics, /v1/logs)."""

    def __init__(self):
        self.hooks, self.flaky, self.otlp = [], [], []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        n = int(self.rfile.readline().strip(), 16)
                        if n == 0:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(n)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def do_POST(self):
                raw = self.body()
                status = 200
                with outer.lock:
                    if self.path.startswith("/hooks"):
                        ts = self.headers.get("X-Claude-Pool-Timestamp", "")
                        want = "sha256=" + hmac.new(HOOK_SECRET.encode(), ts.encode() + b"." + raw,
                                                    hashlib.sha256).hexdigest()
                        outer.hooks.append((self.headers.get("X-Claude-Pool-Event"),
                                            json.loads(raw),
                                            hmac.compare_digest(
                                                want, self.headers.get("X-Claude-Pool-Signature", ""))))
                    elif self.path.startswith("/flaky"):
                        status = 500 if not outer.flaky else 200
                        outer.flaky.append((self.headers.get("X-Claude-Pool-Delivery"), status))
                    else:
                        outer.otlp.append((self.path, raw))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)


def check_watching(receiver, admin):
    """Webhooks and the CLI's telemetry, once every task has ended: each task's end reached
    /hooks once, correctly signed; /flaky got its delivery again after a 500; the CLI
    processes exported their metrics with the slot as a resource attribute."""
    tasks, cursor = [], None
    while True:
        status, page = admin.call("GET", "/v1/tasks?limit=1000" + ("&after=" + cursor if cursor else ""))
        tasks += page["tasks"]
        cursor = page["next"]
        if not cursor:
            break
    ended = {t["id"]: t["state"] for t in tasks if t["state"] in ("completed", "failed", "cancelled")}
    deadline = time.time() + 120
    while time.time() < deadline:
        with receiver.lock:
            told = {h[1]["task"]["id"] for h in receiver.hooks if h[0] in ("task_completed", "task_failed", "task_cancelled")}
        if set(ended) <= told:
            break
        time.sleep(0.1)
    with receiver.lock:
        hooks, flaky, otlp = list(receiver.hooks), list(receiver.flaky), list(receiver.otlp)
    ends = {}
    for kind, body, signed in hooks:
        if kind in ("task_completed", "task_failed", "task_cancelled"):
            ends.setdefault(body["task"]["id"], []).append(kind)
    missing = [i for i in ended if ends.get(i) != ["task_" + ended[i]]]
    check(not missing, "every ended task's end told once by webhook: %d of %d wrong, e.g. %s"
          % (len(missing), len(ended), [(i, ended[i], ends.get(i)) for i in missing[:3]]))
    check(hooks and all(signed for _, _, signed in hooks),
          "every webhook signed with the secret: %d of %d" % (sum(s for _, _, s in hooks), len(hooks)))
    check(len(flaky) >= 2 and flaky[0][1] == 500 and flaky[1][0] == flaky[0][0],
          "a delivery answered 500 comes again with the same id: %s" % flaky[:2])
    metrics = [raw for path, raw in otlp if path == "/v1/metrics"]
    check(any(b"claude_pool.slot" in raw and b"claude_code" in raw for raw in metrics),
          "the CLI's own OTLP metrics reach the collector with claude_pool.slot (%d posts)"
          % len(metrics))
    print("webhooks: %d deliveries for %d ended tasks, flaky endpoint tried %d times; "
          "CLI telemetry: %d OTLP metric posts" % (len(hooks), len(ended), len(flaky), len(metrics)),
          flush=True)


def main():
    work = tempfile.mkdtemp(prefix="cp-http-")
    home = os.path.join(work, "home")
    tokens = os.path.join(work, "tokens")
    os.makedirs(home)
    env = dict(os.environ, HOME=home, CP_HOOK_SECRET=HOOK_SECRET)
    env.pop("ANTHROPIC_API_KEY", None)  # the bundled mock answers
    receiver = Receiver()
    http_port_file = os.path.join(work, "http.port")
    config = os.path.join(work, "pool.json")
    with open(config, "w") as f:  # room for the 1,000 concurrent submissions of one client
        json.dump({"remote": {"max_pending_per_client": 5000},
                   "webhooks": [{"url": receiver.url("/hooks/pool"), "secret_env": "CP_HOOK_SECRET"},
                                {"url": receiver.url("/flaky"), "events": ["task_completed"],
                                 "backoff_ms": 50}],
                   "cli_telemetry": {"env": {
                       "OTEL_METRICS_EXPORTER": "otlp",
                       "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                       "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url("")}}}, f)
    proc = subprocess.Popen(
        [APP, "serve", "--slots", "2", "--port", "0", "--port-file", os.path.join(work, "port"),
         "--token-dir", tokens, "--http", "0", "--http-port-file", http_port_file,
         "--config", config],
        env=env, stdin=subprocess.DEVNULL)
    try:
        port = int(wait_for_file(http_port_file, proc))
        admin_token = open(os.path.join(tokens, "admin.token")).read().strip()
        submit_token = open(os.path.join(tokens, "submit.token")).read().strip()
        admin, submitter = Api(port, admin_token), Api(port, submit_token)
        run_checks(admin, submitter, Api(port))
        # 1,000 concurrent submissions: every one gets an id, and the pool holds every one.
        def submit(i):
            return submitter.call("POST", "/v1/tasks",
                                  {"prompt": "bulk %d [[mock:delay_ms=1]]" % i})
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(submit, range(1000)))
        ids = [b["id"] for s, b in results if s == 201]
        check(len(ids) == 1000, "1000 submissions answered 201: %d" % len(ids))
        check(len(set(ids)) == 1000, "1000 distinct ids")
        status, body = admin.call("POST", "/v1/drain", {"timeout_secs": 0})
        check(status == 200, "drain: %s %s" % (status, body))
        status, st = admin.call("GET", "/v1/status")
        held = st["pending"] + st["running"] + st["completed"] + st["failed"] + st["cancelled"]
        bulk = 0
        cursor = None
        while True:  # page through the submitter's tasks: every bulk task is there
            path = "/v1/tasks?limit=500" + ("&after=" + cursor if cursor else "")
            status, page = submitter.call("GET", path)
            bulk += sum(1 for t in page["tasks"] if t["prompt"].startswith("bulk "))
            cursor = page["next"]
            if not cursor:
                break
        check(bulk == 1000, "all 1000 bulk tasks listed: %d" % bulk)
        print("1000 concurrent API submissions: %d ids, %d listed, pool holds %d tasks"
              % (len(ids), bulk, held), flush=True)
        check_watching(receiver, admin)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed"
        check(code == 0, "serve exits 0 on SIGTERM: %s" % code)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all HTTP API checks passed")


class EventStream:
    """Reads GET /v1/events in a thread: (id, event, data) tuples as they arrive."""

    def __init__(self, port, token, last_event_id=None):
        self.events, self.status = [], None
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        headers = {"Authorization": "Bearer " + token}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", "/v1/events", headers=headers)
        self.res = self.conn.getresponse()
        self.status = self.res.status
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        ev = {}
        try:
            while True:
                line = self.res.readline().decode()
                if not line:
                    return
                line = line.rstrip("\n")
                if line == "":
                    if "event" in ev:
                        self.events.append((int(ev.get("id", 0)), ev["event"],
                                            json.loads(ev.get("data", "{}"))))
                    ev = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(": ")
                    ev[key] = value
        except Exception:
            return

    def wait_for(self, pred, seconds=120):
        deadline = time.time() + seconds
        while time.time() < deadline:
            for e in list(self.events):
                if pred(e):
                    return e
            time.sleep(0.05)
        return None

    def close(self):
        self.conn.close()


SERVED = {("post", "/v1/tasks"), ("get", "/v1/tasks"), ("get", "/v1/tasks/{id}"),
          ("get", "/v1/tasks/{id}/wait"), ("post", "/v1/tasks/{id}/cancel"),
          ("post", "/v1/tasks/{id}/approve"), ("post", "/v1/tasks/{id}/reject"),
          ("get", "/v1/status"), ("get", "/v1/metrics"), ("post", "/v1/scale"),
          ("post", "/v1/drain"), ("get", "/v1/events"), ("get", "/metrics"),
          ("get", "/v1/openapi.json"), ("get", "/v1/whoami"), ("get", "/"),
          ("post", "/v1/chains"), ("get", "/v1/chains/{id}"), ("get", "/v1/chains/{id}/wait"),
          ("post", "/v1/chains/{id}/cancel")}


def check_openapi(admin, anonymous, task):
    """The document lists exactly the routes this test uses, and each one it lists is served
    (an unserved path gets httplib's bare 404, never a JSON error)."""
    status, doc = anonymous.call("GET", "/v1/openapi.json")
    check(status == 200 and str(doc.get("openapi", "")).startswith("3."), "openapi.json")
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    check(documented == SERVED, "documented routes == served routes: %s" % (documented ^ SERVED))
    for method, path in sorted(documented):
        if path in ("/v1/drain", "/v1/events"):
            continue  # drain ends the pool's work (exercised at the end); events stream
        url = path.replace("{id}", task)
        status, body = admin.call(method.upper(), url, {} if method == "post" else None)
        check(not (status == 404 and body == ""), "%s %s is served: %s" % (method, url, status))
    check(admin.call("GET", "/v1/whoami") == (200, {"principal": "admin", "role": "admin"}),
          "whoami: the admin token")
    status, me = anonymous.call("GET", "/v1/whoami")
    check(status == 401, "whoami without a token: 401 (%s)" % status)
    status, page = anonymous.call("GET", "/")
    check(status == 200 and "<html" in page.lower(), "GET / serves the dashboard page")
    conn = http.client.HTTPConnection("127.0.0.1", admin.port, timeout=30)
    conn.request("GET", "/v1/events", headers={"Authorization": "Bearer " + admin.token})
    res = conn.getresponse()
    check(res.status == 200 and res.getheader("Content-Type", "").startswith("text/event-stream"),
          "GET /v1/events streams")
    conn.close()


def check_events(admin, submitter):
    stream = EventStream(admin.port, admin.token)
    check(stream.status == 200, "events: 200")
    own = EventStream(submitter.port, submitter.token)
    check(own.status == 200, "a submit-role stream: 200")
    status, body = admin.call("POST", "/v1/tasks", {"prompt": "the admin's own"})
    admins = body["id"]
    status, body = submitter.call("POST", "/v1/tasks", {"prompt": "followed [[mock:delay_ms=300]]",
                                                        "live_progress": True})
    tid = body["id"]
    done = stream.wait_for(lambda e: e[1] == "task" and e[2]["id"] == tid
                           and e[2]["state"] == "completed")
    check(done is not None, "the stream tells the task completed")
    states = [e[2]["state"] for e in stream.events if e[1] == "task" and e[2]["id"] == tid]
    check(states[:1] == ["pending"] and "running" in states, "pending, running, completed: %s" % states)
    progress = [e[2] for e in stream.events if e[1] == "progress" and e[2]["id"] == tid]
    check(progress and progress[-1].get("turns", 0) >= 1,
          "live progress of a live_progress task: %s" % progress[-1:])
    # The submitter's stream: its own task, start to end, and nothing else.
    mine = own.wait_for(lambda e: e[1] == "task" and e[2]["id"] == tid
                        and e[2]["state"] == "completed", seconds=60)
    check(mine is not None and mine[0] == done[0], "the submitter's stream tells its task ended")
    check(admin.call("GET", "/v1/tasks/%s/wait?timeout=120" % admins)[0] == 200, "admin task ends")
    foreign = [e for e in own.events if e[1] not in ("task", "progress") or e[2]["id"] != tid]
    check(not foreign, "a submit-role stream shows only its own tasks: %s" % foreign[:3])
    own_states = [e[2]["state"] for e in own.events if e[1] == "task"]
    check(own_states[:1] == ["pending"], "its stream starts at pending: %s" % own_states)
    own.close()
    stream.close()
    # Resume: from the event before "completed", the completed one comes again.
    running = [e for e in stream.events if e[1] == "task" and e[2]["id"] == tid
               and e[2]["state"] == "running"][0]
    resumed = EventStream(admin.port, admin.token, last_event_id=running[0])
    again = resumed.wait_for(lambda e: e[1] == "task" and e[2]["id"] == tid
                             and e[2]["state"] == "completed", seconds=30)
    check(again is not None and again[0] == done[0], "Last-Event-ID resumes with the same ids")
    check(all(e[0] > running[0] for e in resumed.events), "only events after Last-Event-ID")
    resumed.close()
    print("event stream: %d events for the task, resumed at %d" % (len(states), running[0]),
          flush=True)


def check_chains(admin, submitter):
    """A chain over HTTP: its steps run through the caller's gate (the node's policy applies),
    the second step gets the first one's output, the caller and the admin see it, another
    submit principal would not; a bad definition is refused naming the field."""
    status, body = submitter.call("POST", "/v1/chains", {"steps": [
        {"name": "first", "prompt": "one [[mock:reply=alpha]]"},
        {"name": "second", "prompt": "two after {previous_output} [[mock:reply=beta]]"}]})
    check(status == 201 and "id" in body, "start a chain: %s %s" % (status, body))
    cid = body["id"]
    status, rec = submitter.call("GET", "/v1/chains/%s/wait?timeout=120" % cid)
    check(status == 200 and rec.get("state") == "completed", "the chain completes: %s" % rec)
    steps = rec.get("steps", [])
    check([s.get("output") for s in steps] == ["alpha", "beta"], "the steps' outputs: %s" % steps)
    check("after alpha" in (steps[1].get("prompt") or ""), "step two saw step one's output")
    status, seen = admin.call("GET", "/v1/chains/" + cid)
    check(status == 200 and seen["id"] == cid, "the admin sees the submitter's chain: %s" % status)
    status, body = submitter.call("POST", "/v1/chains", {"steps": [{"name": "x"}]})
    check(status == 400 and "prompt" in body["error"]["message"], "a step without prompt: %s" % body)
    status, body = submitter.call("POST", "/v1/chains", {"steps": [
        {"name": "a", "prompt": "p", "config": {"model": "claude-not-allowed"}}]})
    refused = status == 403 or (status == 201 and submitter.call(
        "GET", "/v1/chains/%s/wait?timeout=120" % body["id"])[1].get("state") == "failed")
    check(refused, "a step the policy refuses does not run: %s %s" % (status, body))
    status, body = submitter.call("GET", "/v1/chains/c-unknown")
    check(status == 404 and body["error"]["code"] == "unknown_chain", "unknown chain: 404")
    print("chain over HTTP: %s, steps %s" % (rec.get("state"), [s.get("output") for s in steps]),
          flush=True)


def run_checks(admin, submitter, anonymous):
    # Authentication: no token, a wrong token.
    status, body = anonymous.call("GET", "/v1/status")
    check(status == 401 and body["error"]["code"] == "not_authenticated", "no token: 401")
    status, _ = Api(admin.port, "0" * 64).call("GET", "/v1/status")
    check(status == 401, "a wrong token: 401")
    # Submit and wait through the real CLI.
    status, body = submitter.call("POST", "/v1/tasks",
                                  {"prompt": "hello [[mock:reply=hi from the mock]]",
                                   "tags": ["http"]})
    check(status == 201 and "id" in body, "submit: 201 with an id: %s %s" % (status, body))
    first = body["id"]
    status, rec = submitter.call("GET", "/v1/tasks/%s/wait?timeout=120" % first)
    check(status == 200 and rec["state"] == "completed", "wait: completed: %s" % rec)
    check("hi from the mock" in rec.get("result", {}).get("output", ""), "the CLI's answer")
    status, rec = submitter.call("GET", "/v1/tasks/" + first)
    check(status == 200 and rec["id"] == first, "get a task")
    # Errors name the field or the task.
    status, body = submitter.call("POST", "/v1/tasks", {"prompt": 5})
    check(status == 400 and "prompt" in body["error"]["message"], "bad field named: %s" % body)
    status, body = submitter.call("POST", "/v1/tasks", "{not json")
    check(status == 400, "malformed body: 400")
    status, body = admin.call("GET", "/v1/tasks/t-does-not-exist")
    check(status == 404 and body["error"]["code"] == "unknown_task", "unknown task: 404")
    status, body = submitter.call("GET", "/v1/tasks/t-does-not-exist")
    check(status == 403, "a submitter learns nothing of ids it did not submit: %s" % status)
    status, body = submitter.call("GET", "/v1/tasks?limit=abc")
    check(status == 400 and "limit" in body["error"]["message"], "bad limit named")
    status, body = submitter.call("GET", "/v1/tasks?state=sleeping")
    check(status == 400, "bad state: 400")
    # Roles: a submitter sees only its own tasks and may not administer.
    status, body = admin.call("POST", "/v1/tasks", {"prompt": "the admin's own"})
    admins = body["id"]
    status, page = submitter.call("GET", "/v1/tasks")
    check(all(t["id"] != admins for t in page["tasks"]), "a submitter does not list others")
    status, body = submitter.call("GET", "/v1/tasks/" + admins)
    check(status in (403, 404), "a submitter cannot read another's task: %s" % status)
    for method, path, payload in [("GET", "/v1/metrics", None), ("GET", "/metrics", None),
                                  ("POST", "/v1/scale", {"target": 3}),
                                  ("POST", "/v1/drain", {"timeout_secs": 1})]:
        status, body = submitter.call(method, path, payload)
        check(status == 403, "submit role refused %s %s: %s" % (method, path, status))
    admin.call("GET", "/v1/tasks/%s/wait?timeout=120" % admins)
    # Paging: limit and the next cursor walk every task once.
    seen, cursor = [], None
    while True:
        status, page = admin.call("GET", "/v1/tasks?limit=1" + ("&after=" + cursor if cursor else ""))
        seen += [t["id"] for t in page["tasks"]]
        cursor = page["next"]
        if not cursor:
            break
    check(seen == [first, admins], "paging with limit=1: %s" % seen)
    # One client may hold at most remote.max_pending_per_client tasks (here 5000) at once.
    status, page = admin.call("GET", "/v1/tasks?tag=http")
    check([t["id"] for t in page["tasks"]] == [first], "filter by tag")
    # Cancel a task that would run for a minute; the wait route times out with 202 first.
    status, body = submitter.call("POST", "/v1/tasks", {"prompt": "slow [[mock:delay_ms=60000]]"})
    slow = body["id"]
    status, rec = submitter.call("GET", "/v1/tasks/%s/wait?timeout=1" % slow)
    check(status == 202 and rec["state"] in ("pending", "running"), "wait times out: 202")
    status, rec = submitter.call("POST", "/v1/tasks/%s/cancel" % slow)
    check(status == 200 and rec["state"] == "cancelled", "cancel: %s %s" % (status, rec))
    status, body = submitter.call("POST", "/v1/tasks/%s/cancel" % slow)
    check(status == 409, "cancel again: 409")
    status, body = submitter.call("POST", "/v1/tasks/%s/approve" % first)
    check(status == 403, "approve is the admin's: %s" % status)
    status, body = admin.call("POST", "/v1/tasks/%s/approve" % first)
    check(status == 409 and body["error"]["code"] == "not_pending_review", "approve: 409")
    status, body = admin.call("POST", "/v1/tasks/%s/reject" % first, {})
    check(status == 400 and "feedback" in body["error"]["message"], "reject needs feedback")
    # The review gate: a task submitted for review is approved over HTTP.
    status, body = submitter.call("POST", "/v1/tasks", {"prompt": "review me",
                                                        "review_required": True})
    review = body["id"]
    status, rec = submitter.call("GET", "/v1/tasks/%s/wait?timeout=120" % review)
    check(rec["state"] == "pending_review", "ends pending_review: %s" % rec["state"])
    status, rec = admin.call("POST", "/v1/tasks/%s/approve" % review)
    check(status == 200 and rec["state"] == "completed", "approved: %s" % status)
    # Status, metrics, scaling.
    status, st = admin.call("GET", "/v1/status")
    check(status == 200 and len(st["slots"]) == 2, "status: two slots")
    status, m = admin.call("GET", "/v1/metrics")
    check(status == 200 and m["completed_tasks"] == 3, "metrics: %s" % m)
    status, body = admin.call("POST", "/v1/scale", {"target": 3})
    check(status == 200 and body["target_slots"] == 3, "scale to 3: %s" % body)
    status, body = admin.call("POST", "/v1/scale", {"target": 1000})
    check(status == 400 and body["error"]["code"] == "out_of_bounds", "scale beyond max: 400")
    # Prometheus: its own parser reads the page; the figures match the status.
    status, text = admin.call("GET", "/metrics")
    check(status == 200, "/metrics: 200")
    status, st = admin.call("GET", "/v1/status")
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    for state in ("completed", "cancelled", "pending"):
        got = samples.get(("claude_pool_tasks", (("state", state),)))
        check(got == st[state], "/metrics tasks{state=%s} %s == status %s" % (state, got, st[state]))
    check(any(name == "claude_pool_task_duration_seconds_count" for name, _ in samples),
          "a duration histogram")
    check(not any(first in str(labels) for _, labels in samples), "no task id in labels")
    check_events(admin, submitter)
    check_chains(admin, submitter)
    check_openapi(admin, anonymous, first)


if __name__ == "__main__":
    main()
