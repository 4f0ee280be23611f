#include "benchmarks/harness/report_chart.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <vector>

#include "benchmarks/harness/report_summary.hpp"

namespace claude_pool::bench {

namespace {

using json = nlohmann::json;

constexpr double width = 980;
constexpr double label_x = 16;   // row labels
constexpr double bar_x = 190;    // bars start here
constexpr double bar_span = 560; // the longest bar
constexpr double bar_h = 15;
constexpr double row_gap = 4;

const std::map<std::string, std::string> colours = {
  {"raw_spawn", "#7f7f7f"}, {"process_runner", "#aec7e8"}, {"pool", "#1f77b4"},  {"xargs", "#ff7f0e"},
  {"parallel", "#2ca02c"},  {"python", "#9467bd"}, {"routing", "#1f77b4"},
  {"memory", "#1f77b4"}, {"pool_warm", "#d62728"}, {"one_shot", "#1f77b4"},
  {"warm", "#d62728"}, {"none", "#7f7f7f"}, {"sqlite", "#ff7f0e"}};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

/// Accumulates SVG elements top to bottom; `y` is where the next element goes.
struct canvas {
  std::ostringstream body;
  double y = 0;

  void text(double x, double at_y, const std::string& s, int size = 12, const char* weight = "normal",
            const char* anchor = "start", const char* fill = "#222") {
    body << "<text x=\"" << x << "\" y=\"" << at_y << "\" font-size=\"" << size
         << "\" font-weight=\"" << weight << "\" text-anchor=\"" << anchor << "\" fill=\"" << fill
         << "\">" << escape(s) << "</text>\n";
  }
  void rect(double x, double at_y, double w, double h, const std::string& fill) {
    body << "<rect x=\"" << x << "\" y=\"" << at_y << "\" width=\"" << std::max(w, 0.5)
         << "\" height=\"" << h << "\" fill=\"" << fill << "\"/>\n";
  }
  void dashed(double x, double y0, double y1, const char* stroke = "#d62728") {
    body << "<line x1=\"" << x << "\" y1=\"" << y0 << "\" x2=\"" << x << "\" y2=\"" << y1
         << "\" stroke=\"" << stroke << "\" stroke-width=\"1.5\" stroke-dasharray=\"4,3\"/>\n";
  }
  void heading(const std::string& title, const std::string& subtitle) {
    y += 26;
    text(label_x, y, title, 15, "bold");
    if (!subtitle.empty()) {
      y += 16;
      text(label_x, y, subtitle, 11, "normal", "start", "#555");
    }
    y += 10;
  }
  /// One bar of `value` on a scale whose full span is `scale_max`.
  void bar(const std::string& label, double value, double scale_max, const std::string& colour,
           const std::string& annotation) {
    double w = scale_max > 0 ? value / scale_max * bar_span : 0;
    text(bar_x - 8, y + bar_h - 3, label, 12, "normal", "end");
    rect(bar_x, y, w, bar_h, colour);
    text(bar_x + w + 6, y + bar_h - 3, annotation, 11);
    y += bar_h + row_gap;
  }
  double x_of(double value, double scale_max) const {
    return bar_x + (scale_max > 0 ? value / scale_max * bar_span : 0);
  }
};

double disturbance(const json& step) {
  auto p = "/step/other_processes_cpu_share"_json_pointer;
  return step.contains(p) ? step.at(p).get<double>() : 0.0;
}

/// A warning line when a step shared the machine with other busy processes.
void disturbance_note(canvas& c, double share) {
  if (share <= 0.05)
    return;
  c.text(bar_x, c.y + 10,
         "disturbed: other processes took " + fixed(share * 100, 0)
           + "% of the CPU during this step",
         10, "normal", "start", "#d62728");
  c.y += 14;
}

std::string colour_of(const std::string& variant) {
  auto it = colours.find(variant);
  return it == colours.end() ? "#17becf" : it->second;
}

void routing_panel(canvas& c, const json& steps) {
  if (steps.empty())
    return;
  c.heading("1. Routing only: tasks/s through the actors (in-process executor, no processes)",
            "dashed: target 100k tasks/s with 16 slots; label: idle-slot p99 submit->start");
  double top = 100000;
  for (auto& s : steps)
    top = std::max(top, s.value("throughput", 0.0));
  top *= 1.15;
  double worst = 0;
  for (auto& s : steps)
    worst = std::max(worst, disturbance(s));
  disturbance_note(c, worst);
  double y0 = c.y;
  for (auto& s : steps) {
    auto p99 = s.contains("/idle_slot_latency_us/submit_to_start/p99"_json_pointer)
                 ? s.at("/idle_slot_latency_us/submit_to_start/p99"_json_pointer).get<double>()
                 : 0.0;
    c.bar(std::to_string(s.value("slots", 0)) + " slots", s.value("throughput", 0.0), top,
          colour_of("routing"),
          rate(s.value("throughput", 0.0)) + "   idle p99 submit->start " + fixed(p99 / 1000, 3)
            + " ms");
  }
  c.dashed(c.x_of(100000, top), y0 - 4, c.y);
}

/// Panels 2 and 3: per concurrency, one bar per variant, annotated with its ratio.
void comparison_panel(canvas& c, const json& steps, const std::string& title,
                      const std::string& subtitle, const std::string& baseline,
                      const std::vector<std::string>& order, double target_ratio) {
  if (steps.empty())
    return;
  c.heading(title, subtitle);
  for (auto& s : steps) {
    if (!s.contains("variants")) {
      c.text(label_x, c.y + 12, "c=" + std::to_string(s.value("concurrency", 0)) + ": "
                                  + s.value("error", std::string("no figures")), 12);
      c.y += 20;
      continue;
    }
    auto& v = s["variants"];
    double top = 0;
    for (auto& [name, x] : v.items())
      top = std::max(top, x.value("throughput", 0.0));
    top *= 1.1;
    c.text(label_x, c.y + 12, "c=" + std::to_string(s.value("concurrency", 0)), 13, "bold");
    if (disturbance(s) > 0.05) {
      c.y += 2; // the note goes beside the "c=N" heading, the bars below both
      disturbance_note(c, disturbance(s));
    }
    double y0 = c.y;
    for (auto& name : order) {
      if (!v.contains(name))
        continue;
      auto& x = v[name];
      std::string note = rate(x.value("throughput", 0.0));
      if (name != baseline)
        note += "   " + fixed(x.value("ratio_to_" + baseline, 0.0), 3) + "x " + baseline;
      if (x.value("failed", 0) > 0)
        note += "   (" + std::to_string(x.value("failed", 0)) + " failed)";
      c.bar(name, x.value("throughput", 0.0), top, colour_of(name), note);
    }
    if (v.contains(baseline))
      c.dashed(c.x_of(target_ratio * v[baseline].value("throughput", 0.0), top), y0 - 2, c.y - row_gap + 2);
    c.y += 6;
  }
}

/// Warm against one-shot over a long batch (the real-CLI steps' `warm_steady_state`).
void warm_panel(canvas& c, const json& steps) {
  bool any = false;
  for (auto& s : steps)
    any = any || (s.contains("warm_steady_state") && s["warm_steady_state"].is_object());
  if (!any)
    return;
  c.heading("3b. Warm slots vs one-shot, long batch: tasks/s",
            "label: warm / one-shot ratio (target 10x) and RSS of all CLI processes per task");
  for (auto& s : steps) {
    if (!s.contains("warm_steady_state") || !s["warm_steady_state"].is_object())
      continue;
    auto& w = s["warm_steady_state"];
    double top = 1.1 * std::max(w["one_shot"].value("tasks_per_s", 0.0),
                                w["warm"].value("tasks_per_s", 0.0));
    c.text(label_x, c.y + 12,
           "c=" + std::to_string(s.value("concurrency", 0)) + ", "
             + std::to_string(w["warm"].value("tasks", 0)) + " tasks",
           13, "bold");
    c.y += 18;
    for (const char* name : {"one_shot", "warm"}) {
      auto& x = w[name];
      std::string note = rate(x.value("tasks_per_s", 0.0)) + "   "
                         + fixed(x.value("rss_mib_seconds_per_task", 0.0), 1) + " MiB*s per task";
      if (std::string(name) == "warm")
        note += "   " + fixed(w.value("warm_to_one_shot", 0.0), 1) + "x one-shot";
      c.bar(name, x.value("tasks_per_s", 0.0), top, colour_of(name), note);
    }
    c.y += 6;
  }
}

void scale_panel(canvas& c, const json& scale) {
  if (scale.empty())
    return;
  c.heading("4. Scale: bytes of memory per item (heap in use; RSS in the label)",
            "dashed: the target (idle slot < 4096 B, task record < 1024 B)");
  auto memory_bar = [&](const std::string& label, const json& j, const char* heap_key,
                        const char* rss_key, double target, const std::string& count) {
    if (!j.contains(heap_key))
      return;
    double heap = j.value(heap_key, 0.0), rss = j.value(rss_key, 0.0);
    double top = std::max({heap, target}) * 1.25;
    double y0 = c.y;
    c.bar(label, heap, top, colour_of("memory"),
          fixed(heap, 0) + " B heap, " + fixed(rss, 0) + " B RSS (" + count + ")");
    c.dashed(c.x_of(target, top), y0 - 2, c.y - row_gap + 2);
  };
  if (scale.contains("idle_slots"))
    memory_bar("idle slot", scale["idle_slots"], "heap_bytes_per_slot", "rss_bytes_per_slot", 4096,
               std::to_string(scale["idle_slots"].value("slots", 0)) + " slots");
  if (scale.contains("task_records"))
    memory_bar("task record", scale["task_records"], "heap_bytes_per_record",
               "rss_bytes_per_record", 1024,
               std::to_string(scale["task_records"].value("records", 0)) + " records");
  if (scale.contains("submission")) {
    auto& s = scale["submission"];
    c.y += 4;
    c.text(label_x, c.y + 12,
           "submissions/s with " + std::to_string(s.value("queued", 0)) + " queued: "
             + fixed(s.value("rate_with_queue", 0.0), 0) + " (pool actor requests), "
             + fixed(s.value("facade_rate_with_queue", 0.0), 0) + " (facade submit())",
           12);
    c.y += 20;
  }
}

/// No store, the in-memory store and SQLite: tasks/s through the routing pool.
void durability_panel(canvas& c, const json& d) {
  if (d.empty())
    return;
  c.heading("5. Durability: tasks/s with no store, the in-memory store and SQLite",
            "routing pool, instant executor; label: ratio to no store and the cost per task "
            "(a figure, no target)");
  if (!d.contains("variants")) {
    c.text(label_x, c.y + 12, d.value("error", std::string("no figures")), 12);
    c.y += 20;
    return;
  }
  disturbance_note(c, disturbance(d));
  auto& v = d["variants"];
  double top = 0;
  for (auto& [name, x] : v.items())
    top = std::max(top, x.value("throughput", 0.0));
  top *= 1.1;
  auto none = v.contains("none") ? v["none"].value("throughput", 0.0) : 0.0;
  for (const char* name : {"none", "memory", "sqlite"}) {
    if (!v.contains(name))
      continue;
    auto t = v[name].value("throughput", 0.0);
    std::string note = rate(t);
    if (std::string(name) != "none") {
      note += "   " + fixed(v[name].value("ratio_to_none", 0.0), 3) + "x none";
      if (t > 0 && none > 0) {
        auto extra_us = (1 / t - 1 / none) * 1e6;
        note += std::string("   ") + (extra_us >= 0 ? "+" : "") + fixed(extra_us, 1) + " us per task";
      }
    }
    c.bar(name, t, top, colour_of(name), note);
  }
}

} // namespace

std::string render_chart(const json& report) {
  canvas c;
  auto& m = report["machine"];
  c.y = 8;
  c.heading("claude-pool benchmark (" + report.value("mode", std::string()) + ")",
            std::to_string(m.value("nproc", 0)) + " cores, " + m.value("cpu_model", std::string())
              + ", " + m.value("kernel", std::string()) + "; claude CLI "
              + report["versions"].value("claude_cli", std::string("n/a")));
  auto& sc = report["scenarios"];
  routing_panel(c, sc.value("routing", json::array()));
  comparison_panel(c, sc.value("process", json::array()),
                   "2. Process level: tasks/s running a minimal fake CLI",
                   "label: ratio to the raw posix_spawn+waitpid loop (the physical limit); "
                   "dashed: 90% of it (the pool's target)",
                   "raw_spawn", {"raw_spawn", "process_runner", "pool", "xargs", "parallel", "python"},
                   0.90);
  comparison_panel(c, sc.value("real_cli", json::array()),
                   "3. Real claude CLI against the mock API: tasks/s",
                   "label: ratio to xargs -P running the same command lines; dashed: 97% of xargs "
                   "(the pool's target)",
                   "xargs", {"xargs", "pool", "pool_warm", "raw_spawn", "process_runner"}, 0.97);
  warm_panel(c, sc.value("real_cli", json::array()));
  scale_panel(c, sc.value("scale", json::object()));
  durability_panel(c, sc.value("durability", json::object()));
  c.y += 8;

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << c.y
      << "\" viewBox=\"0 0 " << width << " " << c.y
      << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << c.body.str() << "</svg>\n";
  return svg.str();
}

} // namespace claude_pool::bench
