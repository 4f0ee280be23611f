// A child's end: noticing its exit (pidfd, or SIGCHLD as the fallback), reaping it, stopping
// its group (SIGINT, grace, SIGKILL), sweeping its descendants and reporting it once its pipes
// are closed (see process_runner_impl.hpp).
#include "runtime/process/process_runner_impl.hpp"

#include "runtime/process/descendant_sweep.hpp"

#include <boost/asio/post.hpp>

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace claude_pool::runtime {

namespace {

// Pipes still held open by a descendant that escaped both the group kill and the sweep (it
// left the group and exec'd without the run token) are closed this long after the reap.
constexpr std::chrono::milliseconds pipe_drain_bound{500};

} // namespace

void process_runner::impl::watch_exit(const child_ptr& c) {
  if (c->by_spawner) return;  // the spawner reaps it and says so
  unique_fd pidfd(use_pidfd ? static_cast<int>(::syscall(SYS_pidfd_open, c->pid, 0)) : -1);
  error_code assign_error;
  if (pidfd.get() >= 0) c->exit_watch.assign(pidfd.get(), assign_error);
  if (pidfd.get() < 0 || assign_error) return watch_by_sigchld(c);
  pidfd.release();
  c->exit_watch.async_wait(asio::posix::stream_descriptor::wait_read, [this, c](const error_code& ec) {
    if (c->finished || c->reaped) return;
    // Readable pidfd means the child is a zombie; should waitpid still say "running", the
    // edge is spent, so hand the child to the SIGCHLD watch instead of losing it.
    if (ec || !try_reap(c)) watch_by_sigchld(c);
  });
}

void process_runner::impl::watch_by_sigchld(const child_ptr& c) {
  if (!sigchld) {
    sigchld.emplace(ioc, SIGCHLD);
    arm_sigchld();
  }
  sigchld_watched[c->pid] = c;
  scan_sigchld_watched();  // catches an exit that happened before the handler existed
}

void process_runner::impl::arm_sigchld() {
  sigchld->async_wait([this](const error_code& ec, int) {
    if (ec) return;
    scan_sigchld_watched();
    // A SIGCHLD already queued when release_if_idle() cancelled the wait still arrives here
    // without an error; waiting again would keep ioc.run() (and the destructor) from ever
    // returning.
    if (shutting_down && children.empty()) return;
    arm_sigchld();
  });
}

void process_runner::impl::scan_sigchld_watched() {
  std::vector<child_ptr> candidates;
  for (auto& [pid, c] : sigchld_watched) candidates.push_back(c);
  for (auto& c : candidates)
    if (c->reaped || try_reap(c)) sigchld_watched.erase(c->pid);
}

bool process_runner::impl::try_reap(const child_ptr& c) {
  int st = 0;
  pid_t r;
  do r = ::waitpid(c->pid, &st, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  c->status_known = r == c->pid;  // ECHILD: reaped by someone else (SIGCHLD ignored?)
  c->status = st;
  on_reaped(c);
  return true;
}

void process_runner::impl::signal_group(const child_ptr& c, int sig) {
  if (c->by_spawner) return signal_by_spawner(c, sig);
  if (::kill(-c->pid, sig) != 0 && errno == ESRCH && !c->reaped) ::kill(c->pid, sig);
}

void process_runner::impl::sweep_later(const std::string& token_entry) {
  sweep_pending.push_back(token_entry);
  if (sweep_pending.size() > 1) return;
  asio::post(ioc, [this] {
    std::vector<std::string> entries;
    entries.swap(sweep_pending);
    try {
      kill_processes_with_env(entries, 0);
    } catch (...) {
      // Only allocation failures; the guardians swept already.
    }
  });
}

void process_runner::impl::on_reaped(const child_ptr& c) {
  c->reaped = true;
  // The group id cannot be reused while any member lives, and we fork nothing in between:
  // this reaches only stragglers of this child's group.
  // (A spawner's child was reaped by the spawner, which did both while the zombie still held
  // the group id; here the pid may already be someone else's.)
  if (!c->by_spawner) {
    ::kill(-c->pid, SIGKILL);
    sweep_later(c->token_entry);
  }
  c->deadline.cancel();
  c->grace.cancel();
  error_code ignored;
  c->exit_watch.close(ignored);
  if (c->out.open || c->err.open) {
    c->drain.expires_after(pipe_drain_bound);
    c->drain.async_wait([this, c](const error_code& ec) {
      if (ec || c->finished) return;
      c->out.open = c->err.open = false;  // a descendant in another session holds them
      maybe_finish(c);
    });
  }
  maybe_finish(c);
}

void process_runner::impl::begin_stop(const child_ptr& c, stop_reason why) {
  if (c->finished || c->reaped) return;
  if (c->stop == stop_reason::none) c->stop = why;
  if (why == stop_reason::shutdown || c->req.kill_grace.count() <= 0) {
    c->grace.cancel();
    return signal_group(c, SIGKILL);
  }
  if (c->stop != why) return;  // already stopping gracefully
  signal_group(c, SIGINT);
  c->grace.expires_after(c->req.kill_grace);
  c->grace.async_wait([this, c](const error_code& ec) {
    if (!ec && !c->finished && !c->reaped) signal_group(c, SIGKILL);
  });
}

void process_runner::impl::close_all(child& c) {
  c.finished = true;
  error_code ignored;
  c.deadline.cancel();
  c.grace.cancel();
  c.drain.cancel();
  c.in.close(ignored);
  c.out.sd.close(ignored);
  c.err.sd.close(ignored);
  c.exit_watch.close(ignored);
}

void process_runner::impl::maybe_finish(const child_ptr& c) {
  if (c->finished || !c->reaped || c->out.open || c->err.open) return;
  close_all(*c);
  sigchld_watched.erase(c->pid);

  process_outcome o;
  o.pid = c->pid;
  if (c->status_known && WIFEXITED(c->status)) o.exit_code = WEXITSTATUS(c->status);
  if (c->status_known && WIFSIGNALED(c->status)) o.signal = WTERMSIG(c->status);
  switch (c->stop) {
    case stop_reason::timeout: o.end = process_end::timed_out; break;
    case stop_reason::cancel:
    case stop_reason::shutdown: o.end = process_end::cancelled; break;
    case stop_reason::none: o.end = o.signal != 0 ? process_end::signaled : process_end::exited; break;
  }
  o.stdout_data = std::move(c->out.data);
  o.stdout_truncated = c->out.truncated;
  o.stderr_data = std::move(c->err.data);
  o.stderr_truncated = c->err.truncated;
  o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - c->started);
  children.erase(c->id);
  deliver(c->id, c->done, std::move(o));
  release_if_idle();
}

} // namespace claude_pool::runtime
