// The public process_runner API, which hands every request to the I/O loop, and the loop's
// thread, shutdown and spawning (see process_runner_impl.hpp).
#include "runtime/process/process_runner.hpp"

#include "runtime/process/process_runner_impl.hpp"

#include "runtime/process/descendant_sweep.hpp"
#include "runtime/process/spawn.hpp"

#include <boost/asio/post.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace claude_pool::runtime {

const char* to_string(process_end e) {
  switch (e) {
    case process_end::exited: return "exited";
    case process_end::signaled: return "signaled";
    case process_end::timed_out: return "timed_out";
    case process_end::cancelled: return "cancelled";
    case process_end::spawn_failed: return "spawn_failed";
  }
  return "unknown";
}

process_runner::impl::impl() {
  thread = std::thread([this] {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (...) {
        // Only allocation failures can get here; keep serving the other children.
      }
    }
  });
}

void process_runner::impl::shutdown() {
  shutting_down = true;
  asio::post(ioc, [this] {
    for (auto& [id, c] : children) begin_stop(c, stop_reason::shutdown);
    release_if_idle();
  });
  thread.join();
}

void process_runner::impl::release_if_idle() {
  if (!shutting_down || !children.empty()) return;
  close_spawner();  // its pending read would keep the loop running
  guard.reset();
  if (sigchld) sigchld->cancel();
}

void process_runner::impl::deliver(std::uint64_t id, completion& done, process_outcome outcome) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    active.erase(id);
  }
  try {
    if (done) done(std::move(outcome));
  } catch (...) {
    // A completion must not throw; swallowing keeps the loop alive for the other children.
  }
}

void process_runner::impl::spawn(std::uint64_t id, process_request req, completion done) {
  if (shutting_down) {
    process_outcome o;
    o.end = process_end::cancelled;
    deliver(id, done, std::move(o));
    return;
  }
  auto c = std::make_shared<child>(ioc, id, std::move(req), std::move(done));
  std::string error;
  try {
    if (launch(c, error)) return;
  } catch (const std::exception& e) {
    error = "cannot start " + c->req.executable + ": " + e.what();
  }
  process_outcome o;
  o.end = process_end::spawn_failed;
  o.spawn_error = std::move(error);
  o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - c->started);
  deliver(id, c->done, std::move(o));
}

bool process_runner::impl::prepare_child(const child_ptr& c, child_pipes& p, spawn_spec& spec,
                                         std::string& error) {
  int e = 0;
  if (!open_pipe(p.in_r, p.in_w, e) || !open_pipe(p.out_r, p.out_w, e) ||
      !open_pipe(p.err_r, p.err_w, e))
    return error = "cannot create pipes for " + c->req.executable + ": " + errno_text(e), false;
  c->out.limit = c->req.stdout_limit;
  c->out.buf.resize(64 * 1024);
  c->err.limit = c->req.stderr_limit;
  c->err.buf.resize(8 * 1024);
  c->token_entry = std::string(run_token_variable) + "=" + instance + "-" + std::to_string(c->id);
  c->started = clock_type::now();
  spec.executable = c->req.executable;
  spec.args = c->req.args;
  spec.env_unset = c->req.env_unset;
  spec.env_set = c->req.env_set;
  spec.working_dir = c->req.working_dir;
  spec.guardian_token = c->token_entry;
  return true;
}

bool process_runner::impl::launch(const child_ptr& c, std::string& error) {
  if (use_spawner(error)) return error.empty() && launch_by_spawner(c, error);
  child_pipes p;
  spawn_spec spec;
  if (!prepare_child(c, p, spec, error)) return false;
  auto& [in_r, in_w, out_r, out_w, err_r, err_w] = p;
  spec.in = spawn_stream::descriptor(in_r.get());
  spec.out = spawn_stream::descriptor(out_w.get());
  spec.err = spawn_stream::descriptor(err_w.get());
  spawn_result started = runtime::spawn(spec);  // the free function, not impl::spawn above
  in_r.reset();
  out_w.reset();
  err_w.reset();
  if (!started) return error = std::move(started.error), false;
  const pid_t pid = started.pid;

  c->pid = pid;
  try {
    attach(c, in_w, out_r, err_r);
  } catch (const std::exception& e) {
    // Running but unwatchable (e.g. epoll refused a descriptor): do not leave it behind.
    ::kill(-pid, SIGKILL);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    kill_processes_with_env(c->token_entry, 0);
    children.erase(c->id);
    close_all(*c);
    return error = "cannot watch the child process of " + c->req.executable + ": " + e.what(), false;
  }
  return true;
}

std::string process_runner::impl::random_instance() {
  std::random_device rd;
  std::uint64_t bits = (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ static_cast<std::uint64_t>(::getpid()) ^
                       static_cast<std::uint64_t>(clock_type::now().time_since_epoch().count());
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i, bits >>= 4) out += hex[bits & 0xf];
  return out;
}

process_runner::process_runner() : impl_(std::make_unique<impl>()) {}

process_runner::~process_runner() { impl_->shutdown(); }

std::uint64_t process_runner::start(process_request req, completion done) {
  std::uint64_t id = ++impl_->next_id;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->active.insert(id);
  }
  asio::post(impl_->ioc, [this, id, req = std::move(req), done = std::move(done)]() mutable {
    impl_->spawn(id, std::move(req), std::move(done));
  });
  return id;
}

bool process_runner::cancel(std::uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->active.count(id) == 0) return false;
  }
  asio::post(impl_->ioc, [this, id] {
    auto it = impl_->children.find(id);
    if (it != impl_->children.end()) impl_->begin_stop(it->second, stop_reason::cancel);
  });
  return true;
}

bool process_runner::write(std::uint64_t id, std::string data) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->active.count(id) == 0) return false;
  }
  asio::post(impl_->ioc, [this, id, data = std::move(data)]() mutable {
    auto it = impl_->children.find(id);
    if (it == impl_->children.end() || !it->second->in_open) return;
    it->second->writes.push_back(std::move(data));
    impl_->pump(it->second);
  });
  return true;
}

bool process_runner::close_stdin(std::uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->active.count(id) == 0) return false;
  }
  asio::post(impl_->ioc, [this, id] {
    auto it = impl_->children.find(id);
    if (it == impl_->children.end()) return;
    it->second->close_requested = true;
    impl_->pump(it->second);
  });
  return true;
}

std::size_t process_runner::running() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->active.size();
}

} // namespace claude_pool::runtime
