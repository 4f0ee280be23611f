#include "claude_pool/pool.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>
#include <random>
#include <unistd.h>

#include "actors/chain_registry.hpp"
#include "actors/pool_actor.hpp"
#include "runtime/cli/cli_executor.hpp"
#include "runtime/cli/credential_env.hpp"
#include "runtime/worktrees/git_worktrees.hpp"

namespace claude_pool {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::claude_pool>();
}

struct pool::impl {
  std::unique_ptr<caf::actor_system_config> own_cfg;
  std::unique_ptr<caf::actor_system> own_sys;
  caf::actor_system* sys = nullptr;
  std::shared_ptr<task_executor> executor;
  pool_actor actor;
  chain_registry_actor chains;

  // The git worktrees: made at start with worktree_isolation (a pool outside a git
  // repository is refused then), else at the first chain that asks for a worktree.
  std::mutex worktree_mutex;
  std::shared_ptr<git_worktrees> worktrees;
  std::string project_dir;
  std::optional<std::string> worktree_base_dir;
  std::string owner;
  std::vector<std::string> worktree_notes;
  std::function<void(const pool_event&)> on_event;
  pool_config config;

  std::shared_ptr<git_worktrees> get_worktrees() {
    std::lock_guard<std::mutex> lock(worktree_mutex);
    if (!worktrees)
      worktrees = std::make_shared<git_worktrees>(project_dir, worktree_base_dir, owner);
    return worktrees;
  }

  void start(pool_config cfg, pool_options opts) {
    if (auto problem = validate(cfg); !problem.empty())
      throw pool_error(pool_errc::invalid_request, problem);
    for (std::size_t i = 0; i < opts.slots.size(); ++i) {
      auto& named = opts.slots[i].credential;
      if (named && std::none_of(cfg.credentials.begin(), cfg.credentials.end(),
                                [&](auto& c) { return c.name == *named; }))
        throw pool_error(pool_errc::invalid_request,
                         "slots[" + std::to_string(i) + "].credential: \"" + *named
                           + "\" is not one of pool_config.credentials");
    }
    // The CLI's logins: a variable a credential names must be there before any task runs.
    if (!opts.executor)
      if (auto problem = check_credentials(cfg); !problem.empty())
        throw pool_error(pool_errc::invalid_request, "pool_config.credentials: " + problem);
    project_dir = cfg.working_dir.value_or(".");
    worktree_base_dir = cfg.worktree_base_dir;
    // Unique per pool instance: a pool only ever removes the worktrees it made.
    owner = "pool-" + std::to_string(::getpid()) + "-"
            + std::to_string(std::random_device{}() % 1000000);
    if (cfg.worktree_isolation) {
      try {
        get_worktrees();
      } catch (const std::exception& e) {
        throw pool_error(pool_errc::invalid_request,
                         std::string("pool_config.worktree_isolation: ") + e.what());
      }
    }
    config = cfg;
    pool_services services;
    std::vector<stored_chain> chains_before;
    load_store(cfg, opts, services, chains_before);
    auto store = services.store; // the chains write to it too
    executor = opts.executor ? opts.executor
                             : std::make_shared<cli_executor>(cfg, opts.default_claude_bin);
    on_event = opts.on_event;
    bool by_default = cfg.worktree_isolation;
    services.executor = executor;
    services.worktrees = worktrees;
    services.slot_configs = std::move(opts.slots);
    services.on_event = std::move(opts.on_event);
    services.on_task_change = std::move(opts.on_task_change);
    services.on_task_progress = std::move(opts.on_task_progress);
    services.on_store_write = std::move(opts.on_store_write);
    actor = sys->spawn(pool_behavior, std::move(cfg), std::move(services));
    chains = sys->spawn(chain_registry_behavior,
                        chain_registry_deps{actor, by_default, [this] { return get_worktrees(); },
                                            std::move(store), std::move(chains_before)});
    // The pool answers the chain messages of its client protocol through this registry;
    // sent before anyone else has the pool's handle, so it arrives first.
    caf::anon_send(actor, chains_atom_v, chains);
  }

  /// Opens the store (the given one, or SQLite at `store_path`) and reads what it holds;
  /// a store that cannot be opened or read refuses the pool (`store_failed`, naming it).
  static void load_store(const pool_config& cfg, pool_options& opts, pool_services& services,
                         std::vector<stored_chain>& chains) {
    try {
      auto store = opts.store;
      if (!store && cfg.store_path)
        store = open_sqlite_store(*cfg.store_path);
      if (!store)
        return;
      store->claim();
      // Only the tasks that have not ended and the newest ended ones come into memory; the
      // older history stays in the store (result, wait and list read it there).
      services.recovered = store->load_for_start(retained_ended_records(cfg, true));
      services.stored_counts = store->count_tasks();
      chains = store->load_chains();
      services.spent_before = store->load_spent();
      // A session resumes only in the directory it was made in.
      for (auto& [slot, s] : store->load_sessions())
        if (s.working_dir == cfg.working_dir.value_or(""))
          services.sessions[slot] = s.session_id;
      services.store = std::move(store);
    } catch (const std::exception& e) {
      throw pool_error(pool_errc::store_failed, e.what());
    }
  }

  /// Gives back the slots' worktrees (chains give back their own): removed when clean,
  /// kept and reported when they hold uncommitted changes or commits.
  void release_slot_worktrees() {
    std::shared_ptr<git_worktrees> wt;
    {
      std::lock_guard<std::mutex> lock(worktree_mutex);
      wt = worktrees;
    }
    if (!wt)
      return;
    for (auto& w : wt->list()) {
      if (w.name.rfind("slot-", 0) != 0)
        continue;
      std::string note;
      try {
        note = wt->release(w.name).note;
      } catch (const std::exception& e) {
        note = "worktree " + w.path + " could not be removed (kept): " + e.what();
      }
      if (note.empty())
        continue;
      {
        std::lock_guard<std::mutex> lock(worktree_mutex);
        worktree_notes.push_back(note);
      }
      if (on_event)
        on_event(pool_event{now_ms(), "worktree_kept", slot_id{w.name}, note});
    }
  }

  /// Sends one request and blocks for its answer; errors become `pool_error`.
  template <class Result, class... Ts>
  Result ask(Ts&&... xs) {
    return ask_to<Result>(actor, std::forward<Ts>(xs)...);
  }

  // One blocking actor per calling thread, made at its first call and kept until the pool
  // stops: making one per call (registry entry, mailbox, its end) cost about as much as the
  // round trip itself.
  std::mutex callers_mutex;
  std::map<std::thread::id, std::unique_ptr<caf::scoped_actor>> callers;

  caf::scoped_actor& caller() {
    std::lock_guard<std::mutex> lock(callers_mutex);
    auto& self = callers[std::this_thread::get_id()];
    if (!self)
      self = std::make_unique<caf::scoped_actor>(*sys);
    return *self;
  }

  template <class Result, class Handle, class... Ts>
  Result ask_to(const Handle& dest, Ts&&... xs) {
    auto& self = caller();
    std::optional<Result> out;
    caf::error failure;
    // No request timeout: tasks may legitimately run for hours. The pool answers every
    // request, and the facade owns the pool's lifetime, so the answer cannot be lost.
    self->request(dest, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](Result& r) { out = std::move(r); },
               [&](caf::error& err) { failure = std::move(err); });
    if (!out)
      throw to_exception(failure);
    return std::move(*out);
  }

  pool_error to_exception(const caf::error& err) {
    auto code = err.category() == caf::atom("claudepool")
                  ? static_cast<pool_errc>(err.code())
                  : pool_errc::invalid_message;
    return pool_error(code, error_context(err).value_or(sys->render(err)));
  }
};

pool::pool(pool_config cfg, pool_options opts) : impl_(std::make_unique<impl>()) {
  impl_->own_cfg = std::make_unique<caf::actor_system_config>();
  add_message_types(*impl_->own_cfg);
  // The pool's actors wait on events almost all the time: CAF's default work-stealing
  // workers poll while idle and take CPU from the CLI processes; the sharing scheduler
  // sleeps (measured: +14-21 % tasks/s with a minimal CLI, pool CPU 1.58 s → 0.18 s).
  impl_->own_cfg->set("scheduler.policy", caf::atom("sharing"));
  if (opts.scheduler_threads > 0)
    impl_->own_cfg->set("scheduler.max-threads",
                        static_cast<caf::config_value::integer>(opts.scheduler_threads));
  impl_->own_sys = std::make_unique<caf::actor_system>(*impl_->own_cfg);
  impl_->sys = impl_->own_sys.get();
  impl_->start(std::move(cfg), std::move(opts));
}

pool::pool(caf::actor_system& sys, pool_config cfg, pool_options opts)
  : impl_(std::make_unique<impl>()) {
  impl_->sys = &sys;
  impl_->start(std::move(cfg), std::move(opts));
}

pool::~pool() {
  if (!impl_ || !impl_->actor)
    return;
  {
    // Stop the pool and wait until it is gone; its slots follow it and stop their tasks.
    caf::scoped_actor self{*impl_->sys};
    self->monitor(impl_->actor);
    self->send_exit(impl_->actor, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }
  impl_->actor = nullptr;
  impl_->chains = nullptr;
  impl_->callers.clear(); // before their actor system goes
  if (impl_->own_sys) {
    impl_->own_sys.reset(); // waits for every actor, slots included
    impl_->own_cfg.reset();
  }
  impl_->executor.reset(); // last owner: stops any child still running
  impl_->release_slot_worktrees(); // no CLI runs in them any more
}

task_id pool::submit(task_submission sub) {
  return impl_->ask<task_id>(submit_atom_v, std::move(sub));
}

task_record pool::run(task_submission sub) {
  return impl_->ask<task_record>(run_atom_v, std::move(sub));
}

task_record pool::wait(const task_id& id) { return impl_->ask<task_record>(wait_atom_v, id); }

task_record pool::result(const task_id& id) {
  return impl_->ask<task_record>(result_atom_v, id);
}

task_record pool::cancel(const task_id& id) {
  return impl_->ask<task_record>(cancel_atom_v, id);
}

task_record pool::approve(const task_id& id) {
  return impl_->ask<task_record>(approve_atom_v, id);
}

task_record pool::reject(const task_id& id, const std::string& feedback) {
  return impl_->ask<task_record>(reject_atom_v, id, feedback);
}

bool is_refusal(pool_errc code) {
  return code == pool_errc::draining || code == pool_errc::budget_exhausted
         || code == pool_errc::task_budget_exceeds_remaining
         || code == pool_errc::store_failed; // a full disk: the task was not recorded
}

task_record refused_record(const task_submission& sub, const pool_error& why) {
  auto rec = task_record::new_pending(make_task_id(), sub.prompt);
  rec.tags = sub.tags;
  rec.config = sub.config;
  rec.max_attempts = sub.max_attempts;
  rec.review_required = sub.review_required;
  rec.max_rejections = sub.max_rejections;
  if (why.code == pool_errc::draining) {
    rec.result = task_result::failure(std::string("not started: ") + why.what(), "cancelled");
    rec.transition_to(task_state::cancelled);
  } else {
    rec.result = task_result::failure(std::string("not started: ") + why.what(),
                                      to_string(why.code));
    rec.transition_to(task_state::failed);
  }
  return rec;
}

// In messages of up to `chunk` submissions, all sent before any answer is read: the pool
// accepts a message's submissions in one reaction (one store write, one routing pass), and
// no single message keeps it from its other work for long.
std::vector<pool::submitted> pool::submit_all(std::vector<task_submission> subs) {
  constexpr std::size_t chunk = 4096;
  auto& self = impl_->caller();
  using batch = std::vector<task_submission>;
  using handle = decltype(self->request(impl_->actor, caf::infinite, submit_atom_v, batch{}));
  std::vector<handle> answers;
  for (std::size_t at = 0; at < subs.size(); at += chunk) {
    auto end = std::min(subs.size(), at + chunk);
    batch part(std::make_move_iterator(subs.begin() + static_cast<std::ptrdiff_t>(at)),
               std::make_move_iterator(subs.begin() + static_cast<std::ptrdiff_t>(end)));
    answers.push_back(self->request(impl_->actor, caf::infinite, submit_atom_v, std::move(part)));
  }
  std::vector<submitted> out;
  out.reserve(subs.size());
  for (std::size_t i = 0; i < answers.size(); ++i) {
    auto part_size = std::min(chunk, subs.size() - i * chunk);
    answers[i].receive(
      [&](std::vector<submit_answer>& part) {
        for (auto& a : part) {
          submitted one;
          if (a.id)
            one.id = std::move(*a.id);
          else
            one.error = pool_error(static_cast<pool_errc>(a.error_code), a.error);
          out.push_back(std::move(one));
        }
      },
      [&](caf::error& err) { // the pool stopped: every submission of the part says so
        auto why = impl_->to_exception(err);
        for (std::size_t k = 0; k < part_size; ++k)
          out.push_back(submitted{std::nullopt, why});
      });
  }
  return out;
}

// `run` requests, all sent before any answer is read: each task is accepted in order and has
// its waiter from the start, so its record reaches us even when retention takes ended records
// out of memory before we would have asked for it.
std::vector<task_record> pool::fan_out(std::vector<task_submission> subs) {
  auto& self = impl_->caller();
  using handle = decltype(self->request(impl_->actor, caf::infinite, run_atom_v, subs[0]));
  std::vector<handle> answers;
  answers.reserve(subs.size());
  for (auto& sub : subs)
    answers.push_back(self->request(impl_->actor, caf::infinite, run_atom_v, sub));
  std::vector<task_record> out(subs.size());
  std::optional<pool_error> bug; // a malformed submission: the caller's, not an outcome
  for (std::size_t i = 0; i < answers.size(); ++i)
    answers[i].receive([&](task_record& rec) { out[i] = std::move(rec); },
                       [&](caf::error& err) {
                         auto e = impl_->to_exception(err);
                         if (is_refusal(e.code))
                           out[i] = refused_record(subs[i], e);
                         else if (!bug)
                           bug = e; // thrown once every answer is in (none left behind)
                       });
  if (bug)
    throw *bug;
  return out;
}

std::vector<task_record> pool::list(const task_filter& filter) {
  return impl_->ask<std::vector<task_record>>(list_atom_v, filter);
}

pool_status pool::status() { return impl_->ask<pool_status>(status_atom_v); }

session_metrics pool::metrics(const metrics_filter& filter) {
  return impl_->ask<session_metrics>(metrics_atom_v, filter);
}

std::uint64_t pool::scale_up(std::uint64_t n) {
  return impl_->ask<std::uint64_t>(scale_up_atom_v, n);
}

std::uint64_t pool::scale_down(std::uint64_t n, bool force) {
  return impl_->ask<std::uint64_t>(scale_down_atom_v, n, force);
}

std::uint64_t pool::set_target(std::uint64_t n, bool force) {
  return impl_->ask<std::uint64_t>(set_target_atom_v, n, force);
}

drain_summary pool::drain(std::chrono::milliseconds deadline) {
  auto summary =
    impl_->ask<drain_summary>(drain_atom_v, static_cast<std::uint64_t>(deadline.count()));
  impl_->release_slot_worktrees(); // every task has ended: no CLI runs in them any more
  return summary;
}

chain_id pool::start_chain(chain_definition def) {
  return impl_->ask_to<chain_id>(impl_->chains, start_chain_atom_v, std::move(def));
}

chain_record pool::chain_status(const chain_id& id) {
  return impl_->ask_to<chain_record>(impl_->chains, status_atom_v, id);
}

chain_record pool::wait_chain(const chain_id& id) {
  return impl_->ask_to<chain_record>(impl_->chains, wait_atom_v, id);
}

chain_record pool::cancel_chain(const chain_id& id) {
  return impl_->ask_to<chain_record>(impl_->chains, cancel_atom_v, id);
}

std::vector<chain_record> pool::list_chains() {
  return impl_->ask_to<std::vector<chain_record>>(impl_->chains, list_atom_v);
}

std::vector<std::string> pool::worktree_notes() {
  std::lock_guard<std::mutex> lock(impl_->worktree_mutex);
  return impl_->worktree_notes;
}

pool_client_actor pool::handle() const { return impl_->actor; }

const pool_config& pool::config() const { return impl_->config; }

void pool::record_event(pool_event ev) {
  caf::anon_send(impl_->actor, event_atom_v, std::move(ev));
}

chain_registry_actor pool::chains() const { return impl_->chains; }

caf::actor_system& pool::system() { return *impl_->sys; }

} // namespace claude_pool
