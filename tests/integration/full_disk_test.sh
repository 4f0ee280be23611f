#!/usr/bin/env bash
# Issue 21: a store on a full file system refuses new work with a clear error and loses no
# earlier record; once space returns, work is taken again.
#
# The store lives on a small tmpfs, mounted in a private mount namespace (`unshare -rm`, no
# privilege needed; as root without user namespaces `unshare -m`, else a plain mount undone by
# a trap), so nothing stays mounted when the test ends, however it ends. Where it can, the test
# also runs in its own PID namespace (--kill-child): if it dies, the kernel ends every process
# it started. It fills the tmpfs to the last block with a filler file and checks:
#   1. a batch on the empty tmpfs completes;
#   2. a batch that finds the store already open (a reader holds it, so SQLite's -wal and -shm
#      files exist) and the disk full: every line is a refused record (failed, store_failed,
#      "not accepted", "the disk is full"), exit 1, and no CLI ran;
#   3. a batch on the full disk that must open the store itself: refused as a whole, non-zero
#      exit, naming the store, no CLI ran;
#   4. after the filler is removed, a batch completes again (exit 0);
#   5. a served pool (opened while there was room) whose disk fills under it: `submit` is
#      refused with "not accepted" / "the disk is full" and nothing runs; when space returns
#      the same pool takes work again without a restart;
#   6. the store holds every accepted task, completed, and nothing of a refused one.
# Whether a CLI ran is told by a wrapper used as --claude-bin, which appends each prompt it
# gets to a log outside the tmpfs before exec'ing the fake CLI.
#
# Usage: full_disk_test.sh PATH/TO/claude-pool PATH/TO/fake_claude
# Exit 0 passed, 1 failed, 77 skipped (no way to mount a tmpfs, or no SQLite reader).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PATH/TO/claude-pool PATH/TO/fake_claude" >&2
  exit 2
fi
APP=$(realpath "$1")
FAKE=$(realpath "$2")
SELF=$(realpath "${BASH_SOURCE[0]}")

skip() {
  echo "SKIPPED: $*"
  exit 77
}

# ---------------------------------------------------------------------------------------------
# Outside: find a way to mount a tmpfs and run the body there.
if [[ -z "${FULL_DISK_TEST_MODE:-}" ]]; then
  [[ -x "$APP" ]] || { echo "FAILED: $APP is not an executable" >&2; exit 1; }
  [[ -x "$FAKE" ]] || { echo "FAILED: $FAKE is not an executable" >&2; exit 1; }
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/claude-pool-full-disk.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
  mkdir "$scratch/probe"
  # shellcheck disable=SC2016 # expanded by the sh that runs it
  probe='mount -t tmpfs -o size=64k tmpfs "$1" && umount "$1"'
  reasons=()
  mode=""
  if command -v unshare >/dev/null; then
    for flags in "-rm --pid --fork --kill-child --mount-proc" "-rm" \
                 "-m --pid --fork --kill-child --mount-proc" "-m"; do
      # shellcheck disable=SC2086 # the flags are words
      if out=$(unshare $flags sh -c "$probe" sh "$scratch/probe" 2>&1); then
        mode="unshare $flags"
        break
      fi
      reasons+=("unshare $flags: ${out//$'\n'/ }")
    done
  else
    reasons+=("no unshare program")
  fi
  if [[ -z "$mode" && $EUID -eq 0 ]]; then
    if out=$(sh -c "$probe" sh "$scratch/probe" 2>&1); then
      mode="direct"
    else
      reasons+=("mount as root: ${out//$'\n'/ }")
    fi
  elif [[ -z "$mode" ]]; then
    reasons+=("not root, so no plain mount either")
  fi
  if [[ -z "$mode" ]]; then
    echo "SKIPPED: cannot mount a tmpfs here:"
    printf '  %s\n' "${reasons[@]}"
    exit 77
  fi
  echo "-- the tmpfs is mounted by: $mode"
  rc=0
  if [[ "$mode" == direct ]]; then
    FULL_DISK_TEST_MODE=direct FULL_DISK_TEST_SCRATCH="$scratch" bash "$SELF" "$@" || rc=$?
  else
    # shellcheck disable=SC2086 # $mode is "unshare" and its flags
    FULL_DISK_TEST_MODE=namespace FULL_DISK_TEST_SCRATCH="$scratch" $mode bash "$SELF" "$@" || rc=$?
  fi
  exit "$rc"
fi

# ---------------------------------------------------------------------------------------------
# Inside: the body.
scratch=$FULL_DISK_TEST_SCRATCH
mnt=$scratch/mnt
store=$mnt/store.db
filler=$mnt/filler
runlog=$scratch/cli-runs.log
failures=0
serve_pid=""
holder_pid=""

cleanup() {
  set +e
  exec 9>&-
  if [[ -n "$serve_pid" ]]; then
    kill -KILL "$serve_pid" 2>/dev/null
    wait "$serve_pid" 2>/dev/null
  fi
  if [[ -n "$holder_pid" ]]; then
    kill -KILL "$holder_pid" 2>/dev/null
    wait "$holder_pid" 2>/dev/null
  fi
  if mountpoint -q "$mnt" 2>/dev/null; then
    umount "$mnt" || umount -l "$mnt"
  fi
}
trap cleanup EXIT

check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then
    echo "ok: $what"
  else
    echo "FAILED: $what"
    failures=$((failures + 1))
  fi
}

# A SQLite reader: the sqlite3 program, else Debian's python3 (its sqlite3 module).
if command -v sqlite3 >/dev/null; then
  sql() { sqlite3 -batch "$store" "$1"; }
  holder=(sqlite3 -batch "$store")
  holder_ready='select count(*) from tasks;'
elif [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import sqlite3' 2>/dev/null; then
  sql() {
    /usr/bin/python3 -c '
import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))' "$store" "$1"
  }
  holder=(/usr/bin/python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select count(*) from tasks").fetchone()[0], flush=True)
sys.stdin.read()' "$store")
  holder_ready=''
else
  skip "neither the sqlite3 program nor /usr/bin/python3 with its sqlite3 module, to read the store"
fi

mkdir -p "$mnt"
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$mnt"
: >"$runlog"

# The CLI: a wrapper that logs each prompt (outside the tmpfs), then runs the fake CLI on it.
# Bash built-ins only: the pool may give its children a bare environment.
wrapper=$scratch/claude-wrapper
cat >"$wrapper" <<EOF
#!$BASH
input=\$(</dev/stdin)
printf '%s\n' "\${input%%\$'\n'*}" >>'$runlog'
exec '$FAKE' <<<"\$input"
EOF
chmod +x "$wrapper"

pool_flags=(--claude-bin "$wrapper" --store "$store" --slots 2 --mock-api off)

run_batch() { # run_batch NAME PROMPT... : sets batch_rc, batch_out (file), batch_err (file)
  local name=$1
  shift
  local input=$scratch/$name.jsonl
  : >"$input"
  for p in "$@"; do printf '{"prompt":"%s"}\n' "$p" >>"$input"; done
  batch_out=$scratch/$name.out
  batch_err=$scratch/$name.err
  batch_rc=0
  timeout -k 5 60 "$APP" batch "${pool_flags[@]}" --quiet --no-progress "$input" \
    >"$batch_out" 2>"$batch_err" || batch_rc=$?
  echo "-- batch $name: exit $batch_rc, $(wc -l <"$batch_out") lines out"
  if [[ -s "$batch_err" ]]; then sed 's/^/   stderr: /' "$batch_err"; fi
}

fill() { # fill the tmpfs to the last block (again, when something freed room)
  cat /dev/zero >>"$filler" 2>/dev/null || true
  local avail
  avail=$(df --output=avail -B1 "$mnt" | tail -n 1 | tr -d ' ')
  echo "-- filled: $(stat -c %s "$filler") bytes of filler, $avail bytes left"
  [[ "$avail" == 0 ]] || { echo "FAILED: the tmpfs still has $avail bytes after filling"; exit 1; }
}

ran() { grep -Fxq "$1" "$runlog"; }
ran_none() { # ran_none PROMPT... : no CLI got any of them
  local p
  for p in "$@"; do
    if ran "$p"; then return 1; fi
  done
}
all_lines() { # all_lines FILE COUNT PATTERN... : COUNT lines, each holding every pattern
  local file=$1 count=$2 line pat
  shift 2
  [[ $(wc -l <"$file") -eq $count ]] || return 1
  while IFS= read -r line; do
    for pat in "$@"; do
      [[ "$line" == *"$pat"* ]] || return 1
    done
  done <"$file"
}
no_line() { ! grep -Fq "$2" "$1"; }
in_store() { # in_store PROMPT : state of its record(s) in the store, one per line
  sql "select json_extract(record, '\$.state') from tasks
       where json_extract(record, '\$.prompt') = '$1' order by seq"
}

# 1. Room on the disk: a batch completes and is kept.
first=(full-disk-first-1 full-disk-first-2 full-disk-first-3)
run_batch first "${first[@]}"
check "a batch on a tmpfs with room exits 0" test "$batch_rc" -eq 0
check "... every line completed" all_lines "$batch_out" 3 '"state":"completed"'
for p in "${first[@]}"; do check "... the CLI ran '$p'" ran "$p"; done

# 2. The disk fills while the store is open (a reader holds it, so -wal and -shm exist):
# each submission's own write fails, and the pool refuses it.
mkfifo "$scratch/holder.in"
"${holder[@]}" <"$scratch/holder.in" >"$scratch/holder.out" 2>&1 &
holder_pid=$!
exec 9>"$scratch/holder.in"
[[ -z "$holder_ready" ]] || echo "$holder_ready" >&9
for _ in $(seq 100); do [[ -s "$scratch/holder.out" ]] && break; sleep 0.05; done
check "a reader holds the store open (it sees the first batch's 3 tasks)" \
  grep -qx 3 "$scratch/holder.out"
fill
held=(full-disk-held-1 full-disk-held-2 full-disk-held-3)
run_batch held "${held[@]}"
check "a batch on a full disk, store open: exit 1" test "$batch_rc" -eq 1
check "... every line is a failed record refused with store_failed, saying the disk is full" \
  all_lines "$batch_out" 3 '"state":"failed"' '"subtype":"store_failed"' \
  'cannot record the task, so it was not accepted' 'the disk is full' "$store"
check "... the CLI ran none of them" ran_none "${held[@]}"
exec 9>&-
wait "$holder_pid" || true
holder_pid=""
echo "-- holder output: $(tr '\n' ' ' <"$scratch/holder.out")"

# 3. A batch on the full disk that must open the store itself: SQLite cannot make its -shm
# file, so the pool refuses to start at all. Refused as a whole, naming the store.
fill # the reader's -wal and -shm files are gone: take that room too
unheld=(full-disk-unheld-1 full-disk-unheld-2)
run_batch unheld "${unheld[@]}"
check "a batch on a full disk that must open the store: non-zero exit" test "$batch_rc" -ne 0
check "... no line says completed" no_line "$batch_out" '"state":"completed"'
check "... the error names the store" grep -Fq "task store $store" "$batch_err"
# SQLite reports the -shm file it cannot make as an I/O error; the store names the cause.
check "... and says the disk is full" grep -Fq 'the disk is full' "$batch_err"
check "... the CLI ran none of them" ran_none "${unheld[@]}"

# 4. Room again: a new batch completes.
rm -f "$filler"
after=(full-disk-after-1 full-disk-after-2 full-disk-after-3)
run_batch after "${after[@]}"
check "after the filler is removed a batch exits 0" test "$batch_rc" -eq 0
check "... every line completed" all_lines "$batch_out" 3 '"state":"completed"'
for p in "${after[@]}"; do check "... the CLI ran '$p'" ran "$p"; done

# 5. A served pool whose disk fills under it refuses each submission, then recovers by itself.
srv=$scratch/serve
mkdir -p "$srv"
"$APP" serve "${pool_flags[@]}" --port 0 --port-file "$srv/port" --token-dir "$srv/tokens" \
  >"$srv/out" 2>"$srv/err" &
serve_pid=$!
for _ in $(seq 200); do
  [[ -s "$srv/port" ]] && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.05
done
[[ -s "$srv/port" ]] || { echo "FAILED: serve did not start:"; cat "$srv/err"; exit 1; }
node=127.0.0.1:$(cat "$srv/port")
submit() { # submit NAME PROMPT : sets submit_rc, submit_out (file), submit_err (file)
  submit_out=$srv/$1.out
  submit_err=$srv/$1.err
  submit_rc=0
  timeout -k 5 60 "$APP" submit --node "$node" --token-file "$srv/tokens/submit.token" \
    --wait --json "$2" >"$submit_out" 2>"$submit_err" || submit_rc=$?
  echo "-- submit $2: exit $submit_rc"
  if [[ -s "$submit_err" ]]; then sed 's/^/   stderr: /' "$submit_err"; fi
}
submit before full-disk-served-before
check "a served pool with room completes a submission" \
  all_lines "$submit_out" 1 '"state":"completed"'
fill
submit full full-disk-served-full
check "the disk full under a served pool: submit fails" test "$submit_rc" -ne 0
check "... refused: not accepted, the disk is full" \
  grep -Fq 'cannot record the task, so it was not accepted' "$submit_err"
check "... naming the cause" grep -Fq 'the disk is full' "$submit_err"
check "... the CLI did not run it" ran_none full-disk-served-full
rm -f "$filler"
submit again full-disk-served-again
check "space back: the same pool completes a submission (no restart)" \
  all_lines "$submit_out" 1 '"state":"completed"'
kill -TERM "$serve_pid"
serve_rc=0
wait "$serve_pid" || serve_rc=$?
serve_pid=""
check "the served pool drains and exits 0 on SIGTERM" test "$serve_rc" -eq 0
check "... it logged the store failure" grep -Fq 'the disk is full' "$srv/err"

# 6. The store: every accepted task there and completed, nothing of a refused one.
check "the store passes SQLite's integrity check" test "$(sql 'pragma integrity_check')" = ok
for p in "${first[@]}" "${after[@]}" full-disk-served-before full-disk-served-again; do
  check "the store keeps '$p', completed" test "$(in_store "$p")" = completed
done
for p in "${held[@]}" "${unheld[@]}" full-disk-served-full; do
  check "the store holds nothing of refused '$p'" test -z "$(in_store "$p")"
done
check "the store holds exactly the 8 accepted tasks" test "$(sql 'select count(*) from tasks')" = 8
check "the CLI ran exactly the 8 accepted tasks" test "$(wc -l <"$runlog")" -eq 8

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) FAILED"
  exit 1
fi
echo "all checks passed"
