#pragma once

// Internal to spawn.cpp (no Boost, no CAF): how a child of the process runner is started
// under a guardian (spawn_spec::guardian_token).
//
// The guardian
// The runner's fork does not exec the command. The forked process becomes a guardian: the
// leader of a new process group, which forks the command into that same group, and waits.
//
//   runner (I/O thread) ── fork ──> guardian (pgid = its pid; PDEATHSIG = SIGTERM)
//                                     └─ fork + execve ──> command (PDEATHSIG = SIGKILL)
//                                           └─ tools, possibly setsid()'d, inheriting
//                                              CLAUDE_POOL_RUN_TOKEN=<runner>-<child id>
//
// - The command's end is reported as before. The guardian collects the command's status with
//   waitpid, then sweeps (below), then hands the same status on: `_exit(code)` when the
//   command exited, or, when it was killed by signal S, resets S to SIG_DFL (and RLIMIT_CORE to
//   0, so nothing is dumped) and raises S on itself. The runner reaps the guardian and sees
//   exactly what it saw when it reaped the command directly (exited/code, signaled/S).
// - The group is killed without losing that status: the guardian cannot SIGKILL its own group
//   (that would kill itself before it exits with the status), so its sweep is one /proc pass
//   that SIGKILLs every member of its group and every carrier of its run token, skipping only
//   itself; then it exits as above. After reaping it, the runner still sends SIGKILL to the
//   group (the group id stays valid while any member lives) and sweeps the token a second time
//   (which also covers a guardian that died by SIGKILL and so could not sweep).
// - When the runner's process dies (even by SIGKILL), the kernel sends the guardian SIGTERM
//   (PR_SET_PDEATHSIG, checked against getppid() so a stray SIGTERM is not mistaken for it);
//   the guardian sweeps, then SIGKILLs its whole group, itself last (kill(0, SIGKILL)).
// - Signals: the guardian blocks every signal and takes them with sigwaitinfo, so nothing sent
//   to the group (SIGTERM, SIGHUP, ...) ends it before the command: the command gets its own
//   copy and the guardian reports whatever the command did with it. SIGINT is ignored outright,
//   so the runner's graceful stop (SIGINT to the group) reaches only the command, which may
//   still print its result. The runner's SIGKILL escalation ends guardian and command together
//   (the command also has PDEATHSIG = SIGKILL towards the guardian).
// - stdio: the command's 0/1/2 are the pipes; the guardian closes its copies and every other
//   inherited descriptor (it never execs, so O_CLOEXEC would not help), so EOF behaves as
//   before. A failure before the command's execve travels back through the close-on-exec
//   status pipe as (stage, errno), from the guardian or from the command, as before.
// - Pools in pools: a guardian is not exec'd, so /proc shows it with the runner's own initial
//   environment, including an outer runner's token when the runner's process is itself a child
//   (or a tool's descendant) of another runner. The guardian renames that entry in its private
//   copy (CLAUDE_POOL_RUN_TOKEN= -> CLAUDE_POOL_RUN_GUARD=), so the outer sweep does not kill it
//   before it has swept its own command's descendants, which carry only the inner token. It
//   still dies with the runner's process (parent-death signal). Without this, SIGKILLing a
//   pool that runs under a runner left its tools behind every time.
// - Between the runner's fork and the guardian's exit only async-signal-safe calls are made;
//   every buffer is prepared before the first fork.
// - Cost: the guardian is a copy-on-write image of the runner's process that lives as long as
//   the command; pages the runner later writes are duplicated for it (bounded by the runner's
//   resident memory at the fork, shared by no one else).
//
// Why not PR_SET_CHILD_SUBREAPER on the runner's process: it is a per-process attribute and
// this library may be embedded in an application. Every orphaned descendant of *any* child of
// that application (not only ours) would be reparented to it and would stay a zombie unless
// someone called waitpid(-1) — which the runner must not do, as it would steal the
// application's own children's exit statuses. It would also not help when our process is
// SIGKILLed, which is exactly when orphans are created. The run token plus the guardian covers
// both cases without touching process-wide state.

#include <sys/types.h>

namespace claude_pool::runtime::detail {

struct launch_plan;

/// The guardian's part, run by spawn() (spawn.hpp) in the child it forked for a spec with a
/// guardian_token: becomes the guardian described above, forks and execs the command, and never
/// returns. `status_fd` is the close-on-exec write end of spawn()'s status pipe.
[[noreturn]] void run_guardian(const launch_plan& plan, int status_fd);

} // namespace claude_pool::runtime::detail
