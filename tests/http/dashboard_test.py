#!/usr/bin/env python3
"""The dashboard (GET /) in a real browser: headless Chromium driven over the DevTools
protocol (python3-websocket) against `claude-pool serve --http` with the real CLI and the
bundled mock API. The page's own JavaScript must follow a task to `completed` through the
event stream, show its output, cancel a running task with the admin's button, fit a 390 px
phone screen, and, with a submit token, follow that principal's own tasks over its stream
(no other principal's task, no admin buttons).

Usage: dashboard_test.py PATH/TO/claude-pool SCREENSHOT.png
"""
import base64
import http.client
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import websocket

APP, SCREENSHOT = sys.argv[1], sys.argv[2]
CHROMIUM = "/usr/bin/chromium"


class Failure(Exception):
    pass


def wait_for_file(path, proc, seconds=120, lines=1):
    """The file's text once it has `lines` non-empty lines (written by `proc`)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path):
            text = open(path).read()
            if len([l for l in text.split("\n") if l.strip()]) >= lines:
                return text
        if proc.poll() is not None:
            raise Failure("%s exited early with %s" % (proc.args[0], proc.returncode))
        time.sleep(0.05)
    raise Failure("no %s after %d s" % (path, seconds))


class Api:
    def __init__(self, port, token):
        self.port, self.token = port, token

    def call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": "Bearer " + self.token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        res = conn.getresponse()
        data = json.loads(res.read().decode() or "null")
        conn.close()
        return res.status, data

    def submit(self, prompt, **fields):
        status, body = self.call("POST", "/v1/tasks", dict(fields, prompt=prompt))
        if status != 201:
            raise Failure("submitting %r: %s %s" % (prompt, status, body))
        return body["id"]


class Browser:
    """Headless Chromium and one page of it, spoken to over the DevTools protocol."""

    def __init__(self, work, env):
        self.profile = os.path.join(work, "chromium-profile")
        self.log = open(os.path.join(work, "chromium.log"), "w")
        # Its own process group, so the browser and every helper process it starts end together.
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-port=0", "--user-data-dir=" + self.profile,
             "--no-first-run", "--no-default-browser-check", "about:blank"],
            env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            start_new_session=True)
        self.ws = None
        self.ids = itertools.count(1)

    def connect(self):
        # Its two lines: the port, then the browser's own target.
        port = int(wait_for_file(os.path.join(self.profile, "DevToolsActivePort"),
                                 self.proc, 60, lines=2).split("\n")[0])
        deadline = time.time() + 30
        while True:  # the first page target shows up shortly after the port file
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/json/list")
            pages = [t for t in json.loads(conn.getresponse().read()) if t["type"] == "page"]
            conn.close()
            if pages:
                break
            if time.time() > deadline:
                raise Failure("Chromium shows no page target")
            time.sleep(0.1)
        # No Origin header: Chromium refuses DevTools connections from origins it was not told of.
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=60,
                                              suppress_origin=True)
        self.send("Page.enable")
        self.send("Runtime.enable")

    def send(self, method, **params):
        mid = next(self.ids)
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:  # events (Runtime.consoleAPICalled, Page.*) come in between: skip them
            msg = json.loads(self.ws.recv())
            if msg.get("method") == "Runtime.exceptionThrown":
                print("page exception:", msg["params"]["exceptionDetails"].get("exception", {})
                      .get("description"), flush=True)
            if msg.get("id") == mid:
                if "error" in msg:
                    raise Failure("%s: %s" % (method, msg["error"]))
                return msg["result"]

    def js(self, expression):
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                        awaitPromise=True)
        if "exceptionDetails" in res:
            raise Failure("JavaScript %r threw: %s" % (expression, res["exceptionDetails"]))
        return res["result"].get("value")

    def wait(self, what, expression, seconds=60):
        """Polls `expression` until it is truthy; fails naming `what` and what the page says."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                value = self.js(expression)
            except Failure:  # e.g. the page is between documents while it loads
                value = None
            if value:
                return value
            time.sleep(0.15)
        state = self.js("JSON.stringify({url: location.href, mode: document.getElementById('conn')"
                        "?.dataset.mode, error: document.getElementById('error')?.textContent,"
                        " rows: [...document.querySelectorAll('#tasks tr[data-task-id]')]"
                        ".map(r => r.dataset.taskId + ':' + r.dataset.state)})")
        raise Failure("%s: not within %d s (page: %s)" % (what, seconds, state))

    def navigate(self, url):
        self.send("Page.navigate", url=url)

    def viewport(self, width, height, mobile=False):
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=3 if mobile else 1, mobile=mobile)
        self.wait("the viewport is %d px wide" % width, "window.innerWidth === %d" % width, 10)

    def click(self, selector):
        if not self.js("(() => { const e = document.querySelector(%s); if (!e) return false;"
                       " e.click(); return true; })()" % json.dumps(selector)):
            raise Failure("nothing to click at %s" % selector)

    def close(self):
        if self.ws:
            try:
                self.ws.close()
            except Exception:
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:  # helpers (renderers, zygote) outliving the browser process
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()


def row(task, state=None):
    sel = 'tr[data-task-id="%s"]' % task + ('[data-state="%s"]' % state if state else "")
    return "document.querySelector(%s) !== null" % json.dumps("#tasks " + sel)


def fits_width(browser, what):
    got = browser.wait(what + " fits 390 px without scrolling sideways",
                       "document.documentElement.scrollWidth <= window.innerWidth"
                       " && [document.documentElement.scrollWidth, window.innerWidth]", 10)
    print("  %s at 390 px: scrollWidth %d <= innerWidth %d" % (what, got[0], got[1]), flush=True)


def kill_cli(serve_pid, seconds=30):
    """SIGKILLs the CLI process(es) `claude-pool serve` runs now (its children); their pids."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        pids = []
        for entry in os.listdir("/proc"):
            try:
                with open("/proc/%s/stat" % entry) as f:  # "pid (comm) state ppid ..."
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == serve_pid:
                pids.append(int(entry))
        if pids:
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            return pids
        time.sleep(0.1)
    raise Failure("serve runs no CLI process to kill")


def wait_api_state(api, task, state, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        status, rec = api.call("GET", "/v1/tasks/" + task)
        if status == 200 and rec["state"] == state:
            return rec
        time.sleep(0.15)
    raise Failure("the API never said %s is %s (last: %s %s)" % (task, state, status, rec))


def run(browser, base, admin, submitter, admin_token, submit_token, serve_pid):
    step = lambda text: print("-", text, flush=True)
    browser.viewport(1280, 900)
    browser.navigate(base + "/#token=" + admin_token)
    browser.wait("the page knows the admin", "document.body.dataset.role === 'admin'")
    browser.wait("the page shows the two slots",
                 "document.querySelectorAll('#slots tr[data-slot-id]').length === 2")
    browser.wait("the event stream is live", "document.getElementById('conn').dataset.mode === 'live'")
    if browser.js("location.hash") != "":
        raise Failure("the token stays in the address bar")
    step("admin view: two slots, event stream live, token out of the address bar")

    # A task submitted through the API: the page follows it to completed over the stream.
    seen = int(browser.js("document.getElementById('conn').dataset.events"))
    first = submitter.submit("say hi [[mock:reply=hello from the dashboard test]]", tags=["dash"])
    browser.wait("the task is listed", row(first), 30)
    browser.wait("the page shows the task completed", row(first, "completed"), 90)
    streamed = int(browser.js("document.getElementById('conn').dataset.events"))
    if streamed <= seen or browser.js("document.getElementById('conn').dataset.mode") != "live":
        raise Failure("completed without stream events (%d before, %d after)" % (seen, streamed))
    browser.click('#tasks tr[data-task-id="%s"]' % first)
    browser.wait("the detail view shows the output",
                 "!document.getElementById('detail').hidden && document.getElementById('detail')"
                 ".dataset.taskId === %s && (document.getElementById('detail-output') || {})"
                 ".textContent === 'hello from the dashboard test'" % json.dumps(first))
    if "say hi" not in browser.js("document.getElementById('detail-prompt').textContent"):
        raise Failure("the detail view lacks the prompt")
    browser.click("#detail-close")
    step("task %s: completed via %d stream events, output in the detail view"
         % (first, streamed - seen))

    # The admin's cancel button on a task that would run for a minute.
    slow = admin.submit("a long one [[mock:delay_ms=60000]]", tags=["slow"])
    browser.wait("the long task runs", row(slow, "running"), 60)
    browser.click('#tasks tr[data-task-id="%s"]' % slow)
    browser.wait("a cancel button", "document.querySelector('#detail [data-action=cancel]') !== null")
    browser.click("#detail [data-action=cancel]")
    wait_api_state(admin, slow, "cancelled")
    browser.wait("the page shows it cancelled", row(slow, "cancelled"), 30)
    browser.wait("the cancel button goes", "document.querySelector('[data-action=cancel]') === null")
    browser.click("#detail-close")
    step("task %s: cancelled from the page (the API agrees)" % slow)

    # The review gate: approve from the page.
    review = submitter.submit("review me", review_required=True, tags=["review"])
    browser.wait("the task awaits review", row(review, "pending_review"), 90)
    browser.click('#tasks tr[data-task-id="%s"]' % review)
    browser.wait("approve and reject buttons", "document.querySelector('#detail [data-action=approve]') !== null"
                 " && document.querySelector('#detail [data-action=reject]') !== null")
    browser.click("#detail [data-action=approve]")
    wait_api_state(admin, review, "completed")
    browser.wait("the page shows it approved", row(review, "completed"), 30)
    browser.click("#detail-close")
    step("task %s: approved from the page" % review)

    # Some life for the screenshot: a batch that ends, one that keeps a slot busy.
    batch = [submitter.submit("summarise part %d [[mock:delay_ms=%d]]" % (i, 200 + 250 * i),
                              tags=["batch"]) for i in range(6)]
    busy = admin.submit("refactor the parser [[mock:delay_ms=30000]]", tags=["long"],
                        max_attempts=2)
    for task in batch:
        browser.wait("batch task %s completed" % task, row(task, "completed"), 120)
    busy_slot = ("[...document.querySelectorAll('#slots tr[data-state=busy]')]"
                 ".some(r => r.textContent.includes(%s))" % json.dumps(busy))
    browser.wait("a slot busy with the long task", busy_slot, 60)
    # A pool event through the stream: the long task's CLI dies, its slot restarts, it runs again.
    killed = kill_cli(serve_pid)
    browser.wait("the slot's restart in the recent events",
                 "document.querySelector('#events li[data-kind=slot_restarted]') !== null", 60)
    browser.wait("the long task runs again", busy_slot + " && " + row(busy, "running"), 60)
    browser.wait("the slot table counts the restart",
                 "document.querySelector('#slots tr[data-restarts=\"1\"]') !== null", 30)
    step("killed the CLI (pid %s): slot_restarted shown, the task runs again" % killed)
    browser.wait("throughput counted", "document.getElementById('throughput').textContent !== '0 /min'")
    shot = base64.b64decode(browser.send("Page.captureScreenshot", format="png")["data"])
    with open(SCREENSHOT, "wb") as f:
        f.write(shot)
    step("screenshot at 1280x900: %s (%d bytes)" % (SCREENSHOT, len(shot)))

    # A phone: nothing wider than the screen (tables scroll in their own box).
    browser.viewport(390, 844, mobile=True)
    fits_width(browser, "the page")
    browser.click('#tasks tr[data-task-id="%s"]' % first)
    browser.wait("the detail view on the phone", "(document.getElementById('detail-output') || {})"
                 ".textContent === 'hello from the dashboard test'")
    fits_width(browser, "the detail view")
    browser.click("#detail-close")
    admin.call("POST", "/v1/tasks/%s/cancel" % busy)

    # The submit token: its stream tells of its own tasks only; no admin buttons.
    browser.viewport(1280, 900)
    browser.navigate("about:blank")
    browser.navigate(base + "/#token=" + submit_token)
    browser.wait("the page knows the submitter", "document.body.dataset.role === 'submit'")
    browser.wait("the submitter's stream is live", "document.getElementById('conn').dataset.mode === 'live'")
    browser.wait("the submitter's task is listed", row(first, "completed"), 30)
    if browser.js(row(slow)):
        raise Failure("the submitter sees the admin's task %s" % slow)
    later = submitter.submit("one more [[mock:delay_ms=300]]", tags=["dash"])
    browser.wait("a new task shows completed through the stream", row(later, "completed"), 90)
    browser.click('#tasks tr[data-task-id="%s"]' % first)
    browser.wait("the detail view for the submitter", "(document.getElementById('detail-output') || {})"
                 ".textContent === 'hello from the dashboard test'")
    buttons = browser.js("document.querySelectorAll('[data-action]').length")
    if buttons != 0:
        raise Failure("the submit role sees %d admin buttons" % buttons)
    if browser.js(row(slow)):
        raise Failure("the submitter's stream brought the admin's task %s" % slow)
    step("submit view: live, its tasks listed (%s followed through its stream), no admin buttons"
         % later)


def main():
    work = tempfile.mkdtemp(prefix="cp-dash-")
    home = os.path.join(work, "home")
    tokens = os.path.join(work, "tokens")
    os.makedirs(home)
    env = dict(os.environ, HOME=home)
    env.pop("ANTHROPIC_API_KEY", None)  # the bundled mock answers
    http_port_file = os.path.join(work, "http.port")
    started = time.time()
    serve = subprocess.Popen(
        [APP, "serve", "--slots", "2", "--port", "0", "--port-file", os.path.join(work, "port"),
         "--token-dir", tokens, "--http", "0", "--http-port-file", http_port_file,
         "--budget", "5", "--drain-timeout", "5"],
        env=env, stdin=subprocess.DEVNULL)
    browser = None
    ok = False
    try:
        port = int(wait_for_file(http_port_file, serve))
        admin_token = open(os.path.join(tokens, "admin.token")).read().strip()
        submit_token = open(os.path.join(tokens, "submit.token")).read().strip()
        browser = Browser(work, env)
        browser.connect()
        run(browser, "http://127.0.0.1:%d" % port, Api(port, admin_token),
            Api(port, submit_token), admin_token, submit_token, serve.pid)
        ok = True
    except (Failure, websocket.WebSocketException, OSError) as e:
        print("FAILED:", e, flush=True)
        log = os.path.join(work, "chromium.log")
        if os.path.exists(log):
            print("chromium log (tail):", open(log).read()[-2000:], flush=True)
    finally:
        if browser:
            browser.close()
        serve.send_signal(signal.SIGTERM)
        try:
            code = serve.wait(timeout=120)
        except subprocess.TimeoutExpired:
            serve.kill()
            code = "killed"
        if code != 0:
            print("FAILED: serve exits 0 on SIGTERM: %s" % code, flush=True)
            ok = False
    if not ok:
        print("dashboard test failed (work dir kept: %s)" % work)
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)
    print("all dashboard checks passed in %.1f s" % (time.time() - started))


if __name__ == "__main__":
    main()
