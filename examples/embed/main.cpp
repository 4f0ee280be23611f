// Two ways to embed claude-pool:
//  1. the facade with its own actor system: blocking calls, no CAF knowledge needed;
//  2. inside your own CAF actor system, talking to the pool actor with typed messages.
// The `claude` executable comes from $CLAUDE_POOL_CLAUDE_BIN (default: claude on PATH).
#include <cstdlib>
#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <claude_pool/pool.hpp>

int main() {
  claude_pool::pool_config cfg;
  cfg.initial_slots = 2;
  cfg.task_timeout_secs = 600;
  if (auto bin = std::getenv("CLAUDE_POOL_CLAUDE_BIN"))
    cfg.claude_bin = bin;

  // 1. The facade owns an actor system.
  {
    claude_pool::pool pool(cfg);
    auto rec = pool.run("Summarise the actor model in one sentence.");
    std::cout << "facade: " << to_string(rec.state) << ": "
              << (rec.result ? rec.result->output : "") << "\n";
    if (rec.state != claude_pool::task_state::completed)
      return 1;
  }

  // 2. The caller's actor system; the pool is an ordinary typed actor in it.
  caf::actor_system_config sys_cfg;
  claude_pool::add_message_types(sys_cfg);
  caf::actor_system sys{sys_cfg};
  claude_pool::pool pool(sys, cfg);
  caf::scoped_actor self{sys};
  bool ok = false;
  self->request(pool.handle(), caf::infinite, claude_pool::run_atom_v,
                claude_pool::task_submission{"Name one use of a task queue.", {"example"}, {}})
    .receive(
      [&](const claude_pool::task_record& rec) {
        ok = rec.state == claude_pool::task_state::completed;
        std::cout << "actor: " << to_string(rec.state) << ": "
                  << (rec.result ? rec.result->output : "") << "\n";
      },
      [&](const caf::error& err) { std::cerr << "actor: " << sys.render(err) << "\n"; });
  return ok ? 0 : 1;
}
