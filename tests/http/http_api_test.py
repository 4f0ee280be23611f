#!/usr/bin/env python3
"""The HTTP API through a real client: `claude-pool serve --http` (the real CLI against the
bundled mock API, no API key) driven with Python's http.client. Every route, errors that name
the field, refusals by role, a page cursor, 1,000 concurrent submissions all accounted for,
and /metrics read by Prometheus' own text parser with values that match /v1/status.

Usage: http_api_test.py PATH/TO/claude-pool
"""
import concurrent.futures
import http.client
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


def main():
    work = tempfile.mkdtemp(prefix="cp-http-")
    home = os.path.join(work, "home")
    tokens = os.path.join(work, "tokens")
    os.makedirs(home)
    env = dict(os.environ, HOME=home)
    env.pop("ANTHROPIC_API_KEY", None)  # the bundled mock answers
    http_port_file = os.path.join(work, "http.port")
    config = os.path.join(work, "pool.json")
    with open(config, "w") as f:  # room for the 1,000 concurrent submissions of one client
        json.dump({"remote": {"max_pending_per_client": 5000}}, f)
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
          ("get", "/v1/openapi.json"), ("get", "/v1/whoami"), ("get", "/")}


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
    status, _ = submitter.call("GET", "/v1/events")
    check(status == 403, "the event stream is the admin's: %s" % status)
    stream = EventStream(admin.port, admin.token)
    check(stream.status == 200, "events: 200")
    status, body = submitter.call("POST", "/v1/tasks", {"prompt": "followed [[mock:delay_ms=300]]"})
    tid = body["id"]
    done = stream.wait_for(lambda e: e[1] == "task" and e[2]["id"] == tid
                           and e[2]["state"] == "completed")
    check(done is not None, "the stream tells the task completed")
    states = [e[2]["state"] for e in stream.events if e[1] == "task" and e[2]["id"] == tid]
    check(states[:1] == ["pending"] and "running" in states, "pending, running, completed: %s" % states)
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
    check_openapi(admin, anonymous, first)


if __name__ == "__main__":
    main()
