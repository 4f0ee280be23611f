#include "benchmarks/harness/pool_driver.hpp"

#include <future>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "benchmarks/harness/bench_executors.hpp"
#include "claude_pool/pool.hpp"
#include "runtime/store/task_store.hpp"

namespace claude_pool::bench {

namespace {

/// Shared by the driver actor and the blocked caller; the actor may still hold it for a
/// moment after the caller was released.
struct drive_progress {
  drive_plan plan;
  drive_samples* samples = nullptr;
  std::size_t sent = 0;
  std::size_t answered = 0;
  std::promise<void> all_answered;
};
using progress_ptr = std::shared_ptr<drive_progress>;

void send_next(caf::event_based_actor* self, const pool_client_actor& pool, const progress_ptr& pr);

void on_answer(caf::event_based_actor* self, const pool_client_actor& pool, const progress_ptr& pr,
               std::size_t i, bool ok, const std::string& why) {
  auto& s = *pr->samples;
  s.answered[i] = now_ns();
  if (!ok && s.failed++ == 0)
    s.first_failure = why;
  if (pr->sent < pr->plan.tasks)
    send_next(self, pool, pr);
  if (++pr->answered == pr->plan.tasks) {
    pr->all_answered.set_value();
    self->quit();
  }
}

void send_next(caf::event_based_actor* self, const pool_client_actor& pool, const progress_ptr& pr) {
  auto i = pr->sent++;
  task_submission sub;
  sub.prompt = pr->plan.prompt + " " + std::to_string(i);
  pr->samples->submitted[i] = now_ns();
  auto failed = [self, pool, pr, i](caf::error& err) {
    on_answer(self, pool, pr, i, false, caf::to_string(err));
  };
  if (pr->plan.until_done) {
    self->request(pool, caf::infinite, run_atom_v, std::move(sub))
      .then(
        [self, pool, pr, i](task_record& rec) {
          bool ok = rec.state == task_state::completed;
          on_answer(self, pool, pr, i, ok, ok || !rec.result ? "" : rec.result->output);
        },
        failed);
  } else {
    self->request(pool, caf::infinite, submit_atom_v, std::move(sub))
      .then([self, pool, pr, i](task_id&) { on_answer(self, pool, pr, i, true, ""); }, failed);
  }
}

caf::behavior driver(caf::event_based_actor* self, pool_client_actor pool, progress_ptr pr) {
  auto window = pr->plan.window == 0 ? pr->plan.tasks : pr->plan.window;
  for (std::size_t k = 0; k < window && pr->sent < pr->plan.tasks; ++k)
    send_next(self, pool, pr);
  // Everything happens in response handlers; this keeps the actor alive until quit().
  return {[](int) {}};
}

double us_between(std::int64_t from, std::int64_t to) { return static_cast<double>(to - from) / 1e3; }

} // namespace

void drive(pool& p, const drive_plan& plan, drive_samples& samples) {
  if (plan.tasks == 0)
    return;
  auto pr = std::make_shared<drive_progress>();
  pr->plan = plan;
  pr->samples = &samples;
  auto done = pr->all_answered.get_future();
  p.system().spawn(driver, p.handle(), pr);
  if (done.wait_for(std::chrono::duration<double>(plan.timeout_s)) != std::future_status::ready)
    throw std::runtime_error("the pool did not answer " + std::to_string(plan.tasks)
                             + " requests within " + std::to_string(plan.timeout_s) + " s");
}

drive_result run_through_pool(const pool_config& cfg, std::shared_ptr<task_executor> executor,
                              const drive_plan& plan, std::shared_ptr<task_store> store) {
  drive_samples samples(plan.tasks);
  auto t0 = now_ns();
  {
    pool_options opts;
    opts.executor = std::make_shared<timing_executor>(std::move(executor), samples.started);
    opts.store = std::move(store);
    pool p(cfg, std::move(opts));
    drive(p, plan, samples);
  }
  auto t1 = now_ns();
  drive_result r;
  r.wall_s = static_cast<double>(t1 - t0) / 1e9;
  r.failed = samples.failed;
  r.first_failure = samples.first_failure;
  std::int64_t first = 0, last = 0;
  for (std::size_t i = 0; i < plan.tasks; ++i) {
    auto sub = samples.submitted[i];
    if (first == 0 || sub < first)
      first = sub;
    last = std::max(last, samples.answered[i]);
    if (samples.started[i] != 0)
      r.submit_to_start_us.push_back(us_between(sub, samples.started[i]));
    r.submit_to_done_us.push_back(us_between(sub, samples.answered[i]));
  }
  r.run_s = static_cast<double>(last - first) / 1e9;
  return r;
}

} // namespace claude_pool::bench
