#include "program/metrics_table.hpp"
#include "program/progress_display.hpp"

#include "actors/limit_policy.hpp"

#include <string>

namespace claude_pool::app {

void print_metrics_table(std::ostream& out, const session_metrics& m) {
  out << "tasks      " << m.total_tasks << " (" << m.completed_tasks << " completed, "
      << m.failed_tasks << " failed, " << m.cancelled_tasks << " cancelled)\n"
      << "spend      " << format_microdollars(m.total_spend_microdollars) << " total, "
      << format_microdollars(m.avg_cost_microdollars) << " per completed task, " << format_microdollars(m.max_cost_microdollars)
      << " max\n"
      << "time (ms)  median " << m.median_elapsed_ms << ", average " << m.avg_elapsed_ms
      << ", min " << m.min_elapsed_ms << ", max " << m.max_elapsed_ms << "\n"
      << "turns      " << m.avg_turns << " on average\n"
      << "session    " << m.session_duration_ms << " ms\n";
  for (auto& mm : m.model_breakdown)
    out << "model      " << mm.model << ": " << mm.task_count << " tasks, "
        << format_microdollars(mm.total_cost_microdollars) << ", " << mm.avg_elapsed_ms << " ms average, "
        << mm.total_turns << " turns\n";
}

void print_status_table(std::ostream& out, const pool_status& st) {
  out << "tasks      " << st.pending << " pending, " << st.running << " running, "
      << st.completed << " completed, " << st.failed << " failed, " << st.cancelled
      << " cancelled" << (st.draining ? " (draining)" : "") << "\n"
      << "slots      " << st.slots.size() << " (target " << st.target_slots << ")\n";
  if (st.cooldown_until_ms) {
    // Every idle slot waits for the same thing: say what, and until when.
    out << "waiting    no task starts before " << describe_time_utc(*st.cooldown_until_ms);
    if (st.cooldown_reason)
      out << ": " << *st.cooldown_reason;
    out << "\n";
  }
  // Credentials: shown when there are several, or when one of them waits.
  bool any_waits = false;
  for (auto& c : st.credentials)
    any_waits = any_waits || c.waiting_until_ms || c.login_refused;
  if (st.credentials.size() > 1 || any_waits)
    for (auto& c : st.credentials) {
      out << "credential " << c.name << ": " << c.slots << " slots, " << c.running << " running";
      if (c.max_concurrent)
        out << " (cap " << *c.max_concurrent << ")";
      if (c.login_refused)
        out << ", login refused";
      if (c.waiting_until_ms)
        out << ", waiting until " << describe_time_utc(*c.waiting_until_ms)
            << (c.wait_reason ? ": " + *c.wait_reason : std::string());
      out << "\n";
    }
  for (auto& s : st.slots) {
    out << "  " << s.id.value << "  " << to_string(s.state) << ", " << s.tasks_completed
        << " tasks, " << format_microdollars(s.cost_microdollars) << ", " << s.restart_count << " restarts";
    if (s.last_error)
      out << " (last error: " << *s.last_error << ")";
    out << "\n";
    if (s.current_task)
      if (auto p = st.progress.find(s.current_task->value); p != st.progress.end())
        out << "    " << s.current_task->value << ": " << describe_progress(p->second) << "\n";
  }
  if (st.budget) {
    auto& b = *st.budget;
    out << "budget     " << format_microdollars(b.spent_microdollars) << " spent, "
        << format_microdollars(b.reserved_microdollars) << " reserved";
    if (b.cap_microdollars)
      out << " of " << format_microdollars(*b.cap_microdollars) << " (" << b.grants << " granted, "
          << b.refusals << " refused)";
    out << "\n";
  }
  for (auto& ev : st.events)
    out << "event      " << ev.kind << (ev.slot_id ? " [" + ev.slot_id->value + "]" : "")
        << ": " << ev.message << "\n";
}

} // namespace claude_pool::app
