// Children started through the spawner (spawner_link.hpp, spawner/claude_pool_spawner.cpp):
// the request goes out without waiting, the child is wired into the loop at once (pipes,
// timer), and the spawner's replies — failed, exited — arrive on the loop like any other
// I/O; signals for a child go to the spawner, which knows its pid. See
// process_runner_impl.hpp.
#include "runtime/process/process_runner_impl.hpp"

#include "runtime/process/descendant_sweep.hpp"
#include "runtime/process/launch_plan.hpp"
#include "runtime/process/spawn.hpp"
#include "runtime/process/spawner_protocol.hpp"

#include <boost/asio/post.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>

namespace claude_pool::runtime {

namespace proto = spawner_protocol;

bool process_runner::impl::use_spawner(std::string& error) {
  if (spawner) return true;
  if (!spawner_looked_up) {
    spawner_looked_up = true;
    spawner_path = detail::find_spawner();
  }
  if (spawner_path.empty()) return false;
  try {
    spawner = std::make_unique<detail::spawner_link>(spawner_path);
    spawner_sd.emplace(ioc, spawner->release_socket());
    spawner_in.clear();
    spawner_buf.resize(4096);
    read_spawner();
    return true;
  } catch (const std::exception& e) {
    spawner.reset();
    // A spawner named by CLAUDE_POOL_SPAWNER must work; one found by the rule may be
    // missing its permissions or the like: then children are forked as before, said once.
    if (std::getenv("CLAUDE_POOL_SPAWNER")) {
      error = e.what();
      spawner_looked_up = false; // try again next time (it may be fixed)
      return true;               // and fail this launch with the reason
    }
    std::fprintf(stderr, "claude-pool: %s; starting children from this process instead\n", e.what());
    spawner_path.clear();
    return false;
  }
}

bool process_runner::impl::launch_by_spawner(const child_ptr& c, std::string& error) {
  child_pipes p;
  spawn_spec spec; // its run token: prepare() below puts it in the environment
  if (!prepare_child(c, p, spec, error)) return false;
  auto& [in_r, in_w, out_r, out_w, err_r, err_w] = p;
  detail::launch_plan plan;
  if (!detail::prepare(spec, plan, error)) return false;
  proto::spawn_request r{c->id, plan.path, plan.working_dir, std::move(plan.argv_storage),
                         std::move(plan.env_storage), c->token_entry};
  auto frame = proto::encode(r);
  if (frame.size() > proto::max_frame)
    return error = "cannot start " + c->req.executable + ": its arguments and environment take "
                   + std::to_string(frame.size()) + " bytes",
           false;
  const int fds[3] = {in_r.get(), out_w.get(), err_w.get()};
  if (!spawner->send(spawner_sd->native_handle(), frame, fds, 3, error)) {
    on_spawner_lost(error);
    error = "cannot start " + c->req.executable + ": " + error;
    return false;
  }
  in_r.reset(); // the spawner has its own copies now
  out_w.reset();
  err_w.reset();
  c->by_spawner = true;
  c->path = plan.path;
  spawned[c->id] = c;
  attach(c, in_w, out_r, err_r);
  return true;
}

void process_runner::impl::read_spawner() {
  spawner_sd->async_read_some(
    asio::buffer(spawner_buf), [this](const error_code& ec, std::size_t n) {
      if (ec == asio::error::operation_aborted) return; // closed on purpose
      if (ec) return on_spawner_lost("the spawner " + spawner_path + " exited");
      spawner_in.append(spawner_buf.data(), n);
      std::size_t at = 0;
      while (spawner_in.size() - at >= 4) {
        std::uint32_t len = 0;
        for (int i = 0; i < 4; ++i)
          len |= static_cast<std::uint32_t>(static_cast<unsigned char>(spawner_in[at + i])) << (8 * i);
        if (spawner_in.size() - at - 4 < len) break;
        on_spawner_reply(spawner_in.data() + at + 4, len);
        at += 4 + len;
        if (!spawner_sd) return; // a reply's handling lost the spawner
      }
      spawner_in.erase(0, at);
      read_spawner();
    });
}

void process_runner::impl::on_spawner_reply(const char* payload, std::size_t size) {
  proto::reply r;
  if (!proto::decode(payload, size, r)) return on_spawner_lost("the spawner sent a malformed reply");
  auto it = spawned.find(r.id);
  if (it == spawned.end()) return;
  auto c = it->second;
  switch (r.kind) {
    case proto::reply_kind::failed: {
      spawned.erase(it);
      detail::launch_plan plan;
      plan.executable = c->req.executable;
      plan.path = c->path;
      plan.working_dir = c->req.working_dir;
      process_outcome o;
      o.end = process_end::spawn_failed;
      o.spawn_error = detail::describe_failure(plan, detail::child_failure{r.a, r.b});
      o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - c->started);
      children.erase(c->id);
      close_all(*c);
      deliver(c->id, c->done, std::move(o));
      release_if_idle();
      break;
    }
    case proto::reply_kind::exited:
      spawned.erase(it);
      c->pid = r.b;
      c->status_known = true;
      c->status = r.a;
      on_reaped(c);
      break;
  }
}

void process_runner::impl::on_spawner_lost(const std::string& why) {
  std::vector<child_ptr> orphaned;
  for (auto& [id, c] : spawned) orphaned.push_back(c);
  spawned.clear();
  close_spawner();
  std::vector<std::string> tokens;
  for (auto& c : orphaned) tokens.push_back(c->token_entry);
  // Their commands got SIGKILL with the spawner (their parent-death signal); what escaped
  // is found the old way, by run token.
  if (!tokens.empty()) {
    try {
      kill_processes_with_env(tokens, 0);
    } catch (...) {
    }
  }
  if (!orphaned.empty())
    std::fprintf(stderr, "claude-pool: %s; its %zu running children are reported as killed\n",
                 why.c_str(), orphaned.size());
  for (auto& c : orphaned) { // reported as killed: a crash, which the pool may retry
    c->status_known = true;
    c->status = SIGKILL; // the wait status of "killed by SIGKILL"
    on_reaped(c);
  }
  release_if_idle();
}

void process_runner::impl::signal_by_spawner(const child_ptr& c, int sig) {
  if (!spawner_sd || spawned.count(c->id) == 0) return; // ended, or the spawner is gone
  std::string error;
  if (!spawner->send(spawner_sd->native_handle(), proto::encode(proto::signal_request{c->id, sig}),
                     nullptr, 0, error))
    // Not here: the caller may be walking the children. The loss is handled on its own.
    asio::post(ioc, [this, error] {
      if (spawner_sd) on_spawner_lost(error);
    });
}

void process_runner::impl::close_spawner() {
  if (spawner_sd) {
    error_code ignored;
    spawner_sd->close(ignored);
    spawner_sd.reset();
  }
  spawner.reset(); // reaps it (it exits on EOF, or is dead already)
}

} // namespace claude_pool::runtime
