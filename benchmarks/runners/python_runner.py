#!/usr/bin/env python3
"""Runs one command many times with a bounded number at once, the way a Python user would
without claude-pool: concurrent.futures threads, each running subprocess.run with the prompt
on stdin and stdout/stderr captured. Part of the claude-pool benchmark harness.

    python_runner.py --jobs N --tasks M [--prompt TEXT] -- COMMAND [ARG...]

Task i gets "TEXT #i" on stdin. Prints one JSON line: {"ok": n, "failed": n, "elapsed_s": s}
(elapsed excludes interpreter start-up; the harness times the whole process). Exit status 1
when any run failed.
"""
import argparse
import concurrent.futures
import json
import subprocess
import sys
import time


def run_one(command, prompt):
    done = subprocess.run(command, input=prompt.encode(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    return done.returncode == 0 and len(done.stdout) > 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--prompt", default="benchmark task")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_one, command, f"{args.prompt} #{i}")
                   for i in range(args.tasks)]
        results = [f.result() for f in futures]
    elapsed = time.monotonic() - started
    ok = sum(1 for r in results if r)
    print(json.dumps({"ok": ok, "failed": len(results) - ok, "elapsed_s": elapsed}))
    return 0 if ok == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
