#!/usr/bin/env bash
# A chain killed mid-step (SIGKILL of the whole pool) resumes after a restart on the same
# store: the earlier step's output is intact, no step runs twice to completion, and the step
# that was running when the pool died leaves no process behind.
#   chain_resume_test.sh CLAUDE_POOL FAKE_CLAUDE
# The CLI is a wrapper around the fake CLI that logs every prompt and, the first time it sees
# step two's prompt, hangs (so the pool can be killed while that step runs).
set -euo pipefail
pool_bin=$1
fake_bin=$2
work=$(mktemp -d /tmp/claude-pool-chain-resume-XXXXXX)
pool_pid=
cleanup() {
  [ -n "$pool_pid" ] && kill -9 "$pool_pid" 2>/dev/null || true
  [ -f "$work/hang.pid" ] && kill -9 "$(cat "$work/hang.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat >"$work/cli" <<WRAP
#!/usr/bin/env bash
prompt=\$(cat)
printf '%s\n' "\$prompt" >>"$work/prompts.log"
if [[ \$prompt == second* && ! -e "$work/hung-once" ]]; then
  touch "$work/hung-once"
  echo \$\$ >"$work/hang.pid.tmp" && mv "$work/hang.pid.tmp" "$work/hang.pid"
  exec sleep 300
fi
printf '%s' "\$prompt" | exec "$fake_bin"
WRAP
chmod +x "$work/cli"
cat >"$work/chain.json" <<'JSON'
{"steps": [{"name": "one", "prompt": "alpha"},
           {"name": "two", "prompt": "second after {previous_output}"},
           {"name": "three", "prompt": "third after {previous_output}"}]}
JSON

common=(--store "$work/store.db" --claude-bin "$work/cli" --mock-api off --no-progress)
"$pool_bin" chain "${common[@]}" "$work/chain.json" >"$work/out1" 2>"$work/err1" &
pool_pid=$!
for _ in $(seq 600); do [ -s "$work/hang.pid" ] && break; sleep 0.1; done
[ -s "$work/hang.pid" ] || { cat "$work/err1" >&2; fail "step two never started"; }
hung=$(cat "$work/hang.pid")
id=$(sed -n 's/^\[chain\] \(chain-[^ ]*\) started.*/\1/p' "$work/err1" | head -1)
[ -n "$id" ] || { cat "$work/err1" >&2; fail "the chain's id was not printed"; }
kill -9 "$pool_pid"
wait "$pool_pid" 2>/dev/null || true
pool_pid=
# The hung step's process dies with the pool (the spawner kills its children's groups).
for _ in $(seq 300); do kill -0 "$hung" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$hung" 2>/dev/null; then fail "step two's process $hung outlived the killed pool"; fi

"$pool_bin" chain "${common[@]}" --resume "$id" >"$work/out2" 2>"$work/err2" \
  || { cat "$work/err2" >&2; fail "the resumed chain did not complete"; }
want="fake: third after fake: second after fake: alpha"
[ "$(cat "$work/out2")" = "$want" ] || fail "final output '$(cat "$work/out2")', wanted '$want'"
alpha=$(grep -c '^alpha$' "$work/prompts.log")
second=$(grep -c '^second after fake: alpha$' "$work/prompts.log")
third=$(grep -c '^third after' "$work/prompts.log")
[ "$alpha" = 1 ] || fail "step one ran $alpha times (wanted once: its output was kept)"
[ "$second" = 2 ] || fail "step two ran $second times (wanted 2: killed once, then completed)"
[ "$third" = 1 ] || fail "step three ran $third times"
grep -q "resumed" "$work/err2" || fail "no 'resumed' line: $(cat "$work/err2")"
echo "ok: chain $id resumed at step two after SIGKILL; step one ran once, step two completed once"
