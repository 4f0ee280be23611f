#include "benchmarks/harness/report_summary.hpp"

#include <cstdio>
#include <sstream>

namespace claude_pool::bench {

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

std::string rate(double per_s) {
  return fixed(per_s, per_s < 10 ? 2 : per_s < 100 ? 1 : 0) + "/s";
}

namespace {

using json = nlohmann::json;

double number(const json& j, const json::json_pointer& p, double fallback = 0) {
  return j.contains(p) && j.at(p).is_number() ? j.at(p).get<double>() : fallback;
}

json target(std::string what, json met, std::string measured) {
  return {{"target", std::move(what)}, {"met", std::move(met)}, {"measured", std::move(measured)}};
}

/// A figure reported beside the targets, with no threshold to meet: `met` stays null and
/// `figure` says it was measured (null alone means its scenario did not run).
json figure(std::string what, const std::string& measured) {
  auto t = target(std::move(what), nullptr, measured);
  t["figure"] = true;
  return t;
}

/// Folds one more check into a target that holds only if every check holds.
void all_of(json& met, bool ok) { met = met.is_null() ? json(ok) : json(met.get<bool>() && ok); }

json process_targets(const json& steps) {
  json vs_raw, beats;
  std::string raw_text, beats_text;
  for (auto& s : steps) {
    if (!s.contains("variants"))
      continue;
    auto c = std::to_string(s.value("concurrency", 0));
    auto& v = s["variants"];
    auto ratio = number(v, "/pool/ratio_to_raw_spawn"_json_pointer);
    all_of(vs_raw, ratio >= 0.90);
    raw_text += (raw_text.empty() ? "" : ", ") + ("c=" + c + ": " + fixed(ratio * 100, 1) + "%");
    auto pool = number(v, "/pool/throughput"_json_pointer);
    std::string losses;
    for (auto other : {"xargs", "parallel", "python"})
      if (v.contains(other)) {
        auto t = v[other].value("throughput", 0.0);
        all_of(beats, pool > t);
        if (pool <= t)
          losses += std::string(losses.empty() ? "" : ", ") + other + " " + fixed(t, 0) + "/s";
      }
    beats_text += (beats_text.empty() ? "" : "; ") + ("c=" + c + ": pool " + fixed(pool, 0) + "/s"
                                                      + (losses.empty() ? " beats all" : " loses to " + losses));
  }
  return json::array({target("process: pool >= 90% of the raw posix_spawn loop at every concurrency",
                             vs_raw, raw_text),
                      target("process: pool beats xargs -P, GNU parallel and the Python runner",
                             beats, beats_text)});
}

json routing_targets(const json& steps) {
  json tput, idle;
  std::string tput_text, idle_text;
  for (auto& s : steps) {
    if (!s.contains("throughput"))
      continue;
    auto slots = s.value("slots", 0);
    if (slots == 16) {
      auto t = s.value("throughput", 0.0);
      tput = t >= 100000;
      tput_text = fixed(t, 0) + " tasks/s with 16 slots";
    }
    auto p99_us = number(s, "/idle_slot_latency_us/submit_to_start/p99"_json_pointer);
    all_of(idle, p99_us < 1000);
    idle_text += (idle_text.empty() ? "" : ", ") + (std::to_string(slots) + " slots: "
                                                    + fixed(p99_us / 1000, 3) + " ms");
  }
  return json::array({target("routing: >= 100k tasks/s on 2 cores with 16 slots", tput, tput_text),
                      target("routing: p99 submit->start < 1 ms when a slot is idle", idle,
                             idle_text)});
}

json real_cli_target(const json& steps) {
  json met;
  std::string text;
  for (auto& s : steps) {
    if (!s.contains("variants"))
      continue;
    auto ratio = number(s["variants"], "/pool/ratio_to_xargs"_json_pointer);
    all_of(met, ratio >= 0.99);
    text += (text.empty() ? "" : ", ") + ("c=" + std::to_string(s.value("concurrency", 0)) + ": "
                                          + fixed(ratio * 100, 1) + "% of xargs");
  }
  return target("real CLI: one-shot >= 99% of xargs -P at the same concurrency", met, text);
}

json warm_targets(const json& steps) {
  json met, lighter;
  std::string text, mem_text;
  for (auto& s : steps) {
    if (!s.contains("warm_steady_state") || !s["warm_steady_state"].is_object())
      continue;
    auto& w = s["warm_steady_state"];
    auto ratio = w.value("warm_to_one_shot", 0.0);
    auto c = std::to_string(s.value("concurrency", 0));
    all_of(met, ratio >= 10);
    text += (text.empty() ? "" : ", ") + ("c=" + c + ": " + fixed(ratio, 1) + "x");
    auto a = number(w, "/one_shot/rss_mib_seconds_per_task"_json_pointer);
    auto b = number(w, "/warm/rss_mib_seconds_per_task"_json_pointer);
    all_of(lighter, b < a);
    mem_text += (mem_text.empty() ? "" : ", ")
                + ("c=" + c + ": " + fixed(b, 1) + " vs " + fixed(a, 1) + " MiB*s per task");
  }
  return json::array(
    {target("warm: >= 10x the one-shot tasks/s at the same slot count (steady state)", met, text),
     target("warm: less memory per completed task than one-shot", lighter, mem_text)});
}

json scale_targets(const json& scale) {
  json slot_met, record_met;
  std::string slot_text, record_text;
  if (scale.contains("idle_slots") && scale["idle_slots"].contains("heap_bytes_per_slot")) {
    auto b = scale["idle_slots"].value("heap_bytes_per_slot", 0.0);
    auto rss = scale["idle_slots"].value("rss_bytes_per_slot", 0.0);
    slot_met = b < 4096 && rss < 4096;
    slot_text = fixed(b, 0) + " B heap, " + fixed(rss, 0) + " B RSS per idle slot";
  }
  if (scale.contains("task_records") && scale["task_records"].contains("heap_bytes_per_record")) {
    auto b = scale["task_records"].value("heap_bytes_per_record", 0.0);
    record_met = b < 1024;
    record_text = fixed(b, 0) + " B heap per completed record (prompt and output inline)";
  }
  // The facade's blocking calls: a batch call (one answer per submission) is the facade's
  // way to many submissions; a single submit() is two thread hand-offs per call and is
  // reported beside it, not held to this.
  json facade_met;
  std::string facade_text;
  if (scale.contains("submission") && scale["submission"].contains("facade_batch_rate_with_queue")) {
    auto& sub = scale["submission"];
    auto batch = sub.value("facade_batch_rate_with_queue", 0.0);
    facade_met = batch >= 250000;
    facade_text = fixed(batch, 0) + "/s through submit_all() with "
                  + std::to_string(sub.value("queued", 0)) + " queued (submit(): "
                  + fixed(sub.value("facade_rate_with_queue", 0.0), 0) + "/s)";
  }
  return json::array({target("scale: idle slot < 4 KiB", slot_met, slot_text),
                      target("scale: task record < 1 KiB plus its prompt and output", record_met,
                             record_text),
                      target("scale: facade >= 250k submits/s", facade_met, facade_text)});
}

json durability_figure(const json& d) {
  const std::string what = "durability: SQLite tasks/s vs in-memory (no target: a figure)";
  if (d.contains("error"))
    return target(what, nullptr, "failed: " + d["error"].get<std::string>());
  if (!d.contains("variants"))
    return target(what, nullptr, "did not run");
  auto& v = d["variants"];
  return figure(what, rate(number(v, "/sqlite/throughput"_json_pointer)) + " vs "
                        + rate(number(v, "/memory/throughput"_json_pointer)) + " = "
                        + fixed(d.value("sqlite_to_memory", 0.0), 3) + "x memory ("
                        + fixed(number(v, "/sqlite/ratio_to_none"_json_pointer), 3)
                        + "x no store); SQLite costs "
                        + fixed(d.value("sqlite_cost_us_per_task", 0.0), 1) + " us per task");
}

} // namespace

json evaluate_targets(const json& scenarios) {
  json out = json::array();
  auto steps = [&](const char* name) { return scenarios.value(name, json::array()); };
  for (auto& t : process_targets(steps("process")))
    out.push_back(t);
  for (auto& t : routing_targets(steps("routing")))
    out.push_back(t);
  out.push_back(real_cli_target(steps("real_cli")));
  for (auto& t : warm_targets(steps("real_cli")))
    out.push_back(t);
  for (auto& t : scale_targets(scenarios.value("scale", json::object())))
    out.push_back(t);
  out.push_back(durability_figure(scenarios.value("durability", json::object())));
  return out;
}

namespace {

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width)
    s.insert(0, width - s.size(), ' ');
  return s;
}

} // namespace

std::string summary_text(const json& report) {
  std::ostringstream out;
  auto& sc = report["scenarios"];
  if (sc.contains("routing") && !sc["routing"].empty()) {
    out << "routing only (instant executor)\n"
        << "  slots    tasks/s   idle p50 start   idle p99 start   idle p99 done   peak RSS\n";
    for (auto& s : sc["routing"])
      out << pad(std::to_string(s.value("slots", 0)), 7) << pad(fixed(s.value("throughput", 0.0), 0), 11)
          << pad(fixed(number(s, "/idle_slot_latency_us/submit_to_start/p50"_json_pointer), 1) + " us", 17)
          << pad(fixed(number(s, "/idle_slot_latency_us/submit_to_start/p99"_json_pointer), 1) + " us", 17)
          << pad(fixed(number(s, "/idle_slot_latency_us/submit_to_done/p99"_json_pointer), 1) + " us", 16)
          << pad(std::to_string(s.value("peak_rss_kib", 0) / 1024) + " MiB", 11) << "\n";
  }
  auto comparison = [&](const char* name, const char* title, const char* baseline,
                        std::vector<const char*> variants) {
    if (!sc.contains(name) || sc[name].empty())
      return;
    out << title << "\n     c";
    for (auto v : variants)
      out << pad(v, 20);
    out << "\n";
    for (auto& s : sc[name]) {
      out << pad(std::to_string(s.value("concurrency", 0)), 6);
      for (auto v : variants) {
        std::string cell = "-";
        if (s.contains("variants") && s["variants"].contains(v)) {
          auto& x = s["variants"][v];
          cell = rate(x.value("throughput", 0.0));
          if (std::string(v) != baseline)
            cell += " (" + fixed(x.value(std::string("ratio_to_") + baseline, 0.0), 3) + ")";
        } else if (s.contains("error")) {
          cell = "error";
        }
        out << pad(cell, 20);
      }
      out << "\n";
    }
  };
  comparison("process", "process level (minimal fake CLI): tasks/s (ratio to raw_spawn)",
             "raw_spawn", {"raw_spawn", "process_runner", "pool", "xargs", "parallel", "python"});
  comparison("real_cli", "real CLI against the mock API: tasks/s (ratio to xargs)", "xargs",
             {"xargs", "pool", "raw_spawn", "process_runner"});
  if (sc.contains("scale") && !sc["scale"].empty()) {
    auto& s = sc["scale"];
    out << "scale\n";
    if (s.contains("idle_slots"))
      out << "  idle slot: " << fixed(s["idle_slots"].value("heap_bytes_per_slot", 0.0), 0)
          << " B heap, " << fixed(s["idle_slots"].value("rss_bytes_per_slot", 0.0), 0)
          << " B RSS (" << s["idle_slots"].value("slots", 0) << " slots)\n";
    if (s.contains("task_records"))
      out << "  task record: " << fixed(s["task_records"].value("heap_bytes_per_record", 0.0), 0)
          << " B heap, " << fixed(s["task_records"].value("rss_bytes_per_record", 0.0), 0)
          << " B RSS (" << s["task_records"].value("records", 0) << " records)\n";
    if (s.contains("submission"))
      out << "  submissions/s with " << s["submission"].value("queued", 0) << " queued: "
          << fixed(s["submission"].value("rate_with_queue", 0.0), 0) << " (actor requests), "
          << fixed(s["submission"].value("facade_rate_with_queue", 0.0), 0)
          << " (facade submit()), "
          << fixed(s["submission"].value("facade_batch_rate_with_queue", 0.0), 0)
          << " (facade submit_all()); filling: " << fixed(s["submission"].value("fill_rate", 0.0), 0)
          << "/s\n";
  }
  if (sc.contains("durability") && sc["durability"].contains("variants")) {
    auto& d = sc["durability"];
    auto& v = d["variants"];
    out << "durability (routing pool, instant executor, " << d.value("slots", 0) << " slots, "
        << d.value("tasks", 0) << " tasks x " << d.value("rounds", 0) << " rounds)\n"
        << "  store" << pad("tasks/s", 12) << pad("us/task", 10) << pad("vs none", 10) << "\n";
    for (auto name : {"none", "memory", "sqlite"}) {
      if (!v.contains(name))
        continue;
      auto t = v[name].value("throughput", 0.0);
      out << "  " << name << pad(fixed(t, 0), 17 - std::string(name).size())
          << pad(t > 0 ? fixed(1e6 / t, 1) : "-", 10)
          << pad(fixed(v[name].value("ratio_to_none", 0.0), 3), 10) << "\n";
    }
    out << "  sqlite / memory " << fixed(d.value("sqlite_to_memory", 0.0), 3)
        << " (median of per-round ratios); SQLite costs "
        << fixed(d.value("sqlite_cost_us_per_task", 0.0), 1) << " us per task, memory "
        << fixed(d.value("memory_cost_us_per_task", 0.0), 1) << "\n";
  }
  out << "targets\n";
  for (auto& t : report["targets"]) {
    auto& met = t["met"];
    auto mark = !met.is_null()            ? (met.get<bool>() ? "[met]    " : "[MISSED] ")
                : t.value("figure", false) ? "[figure] "
                                           : "[skipped]";
    out << "  " << mark << " " << t.value("target", "") << ": " << t.value("measured", "") << "\n";
  }
  return out.str();
}

} // namespace claude_pool::bench
