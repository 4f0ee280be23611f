#include "runtime/cli/cli_result.hpp"

#include <array>
#include <cmath>

#include <nlohmann/json.hpp>

#include "messages/utf8.hpp"

namespace claude_pool {

using nlohmann::json;

namespace {

/// At most `limit` bytes of process text, as valid UTF-8 (a CLI may print anything).
std::string cap(std::string_view s, std::size_t limit) {
  if (s.size() <= limit)
    return to_valid_utf8(s);
  return to_valid_utf8(s.substr(0, limit)) + "\n… (" + std::to_string(s.size() - limit)
         + " more bytes)";
}

/// The CLI prints one JSON object; tolerate log lines before it by taking the last line
/// that parses as an object with `"type": "result"`. The same finds the `result` event that
/// ends a stream-json event stream.
std::optional<json> find_result_object(std::string_view out) {
  auto try_parse = [](std::string_view text) -> std::optional<json> {
    auto j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_object() && j.value("type", "") == "result")
      return j;
    return std::nullopt;
  };
  if (auto whole = try_parse(out))
    return whole;
  std::size_t end = out.size();
  while (end > 0) {
    auto start = out.rfind('\n', end - 1);
    auto line_start = start == std::string_view::npos ? 0 : start + 1;
    auto line = out.substr(line_start, end - line_start);
    if (!line.empty())
      if (auto j = try_parse(line))
        return j;
    if (start == std::string_view::npos)
      break;
    end = start;
  }
  return std::nullopt;
}

/// The last non-empty line (an event stream's first lines are the long `system/init`).
std::string_view last_line(std::string_view out) {
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.remove_suffix(1);
  auto nl = out.rfind('\n');
  return nl == std::string_view::npos ? out : out.substr(nl + 1);
}

/// The model that did the work: the `modelUsage` entry with the highest cost (the CLI
/// may also list a small model it used for the session title).
std::optional<std::string> main_model(const json& result) {
  auto it = result.find("modelUsage");
  if (it == result.end() || !it->is_object() || it->empty())
    return std::nullopt;
  std::string best;
  double best_cost = -1;
  for (auto m = it->begin(); m != it->end(); ++m) {
    double cost = m->is_object() ? m->value("costUSD", 0.0) : 0.0;
    if (cost > best_cost) {
      best_cost = cost;
      best = m.key();
    }
  }
  return model_name_of(best);
}

/// The result's `usage` (the tokens of every turn, summed by the CLI); nothing when it has
/// none or holds no count.
std::optional<token_usage> usage_of(const json& result) {
  auto it = result.find("usage");
  if (it == result.end() || !it->is_object())
    return std::nullopt;
  auto count = [&](const char* name) -> std::uint64_t {
    auto f = it->find(name);
    return f != it->end() && f->is_number_unsigned() ? f->get<std::uint64_t>() : 0;
  };
  token_usage u{count("input_tokens"), count("output_tokens"),
                count("cache_creation_input_tokens"), count("cache_read_input_tokens")};
  if (u.input_tokens + u.output_tokens + u.cache_creation_input_tokens
        + u.cache_read_input_tokens == 0)
    return std::nullopt;
  return u;
}

std::string error_text(const json& result, const std::string& subtype) {
  if (auto r = result.find("result"); r != result.end() && r->is_string())
    return r->get<std::string>();
  if (auto e = result.find("errors"); e != result.end() && e->is_array() && !e->empty()) {
    std::string joined;
    for (auto& err : *e)
      joined += (joined.empty() ? "" : "; ") + (err.is_string() ? err.get<std::string>() : err.dump());
    return joined;
  }
  if (subtype == "error_max_turns")
    return "the task reached its max_turns limit before finishing";
  if (subtype == "error_max_budget_usd")
    return "the task reached its max_budget_usd limit; the CLI dropped the answer";
  return "the CLI reported an error (subtype " + subtype + ")";
}

void add_failure_details(task_result& r, const runtime::process_outcome& run,
                         const cli_run_context& ctx) {
  r.failed_command = ctx.command;
  if (run.signal == 0 && run.exit_code >= 0)
    r.exit_code = run.exit_code; // also a cancelled or timed-out child that exited itself
  else if (run.signal != 0)
    r.exit_code = 128 + run.signal; // the shell's convention, so a reader sees the signal
  r.stderr_text = cap(run.stderr_data, result_stderr_limit);
}

task_result from_result_json(const json& j, const runtime::process_outcome& run,
                             const cli_run_context& ctx) {
  task_result r;
  std::string subtype = j.value("subtype", std::string("unknown"));
  bool is_error = j.value("is_error", false);
  r.subtype = subtype;
  if (auto c = j.find("total_cost_usd"); c != j.end() && c->is_number())
    r.cost_microdollars = usd_to_microdollars(c->get<double>());
  if (auto t = j.find("num_turns"); t != j.end() && t->is_number_unsigned())
    r.turns_used = t->get<std::uint32_t>();
  if (auto s = j.find("session_id"); s != j.end() && s->is_string())
    r.session_id = s->get<std::string>();
  r.model = main_model(j);
  r.usage = usage_of(j);
  if (auto a = j.find("api_error_status"); a != j.end() && a->is_number_integer())
    r.api_error_status = a->get<std::int32_t>();
  if (auto so = j.find("structured_output"); so != j.end() && !so->is_null())
    r.structured_output = *so;

  bool exit_ok = run.end == runtime::process_end::exited && run.exit_code == 0;
  r.success = !is_error && subtype == "success" && exit_ok;
  r.budget_exceeded = subtype == "error_max_budget_usd"
                      || (ctx.max_budget_usd
                          && r.cost_microdollars > usd_to_microdollars(*ctx.max_budget_usd));
  if (r.success) {
    r.output = j.value("result", std::string());
    if (ctx.wants_structured_output && !r.structured_output) {
      r.success = false;
      r.subtype = "missing_structured_output";
      r.output = "the task asked for json_schema output but the model ended without "
                 "structured output; its text was: "
                 + cap(r.output, 2000);
    }
  } else {
    r.output = error_text(j, subtype);
    if (r.api_error_status)
      r.output = "API error " + std::to_string(*r.api_error_status) + ": " + r.output;
  }
  if (!r.success)
    add_failure_details(r, run, ctx);
  return r;
}

} // namespace

std::uint64_t usd_to_microdollars(double usd) {
  if (!std::isfinite(usd) || usd <= 0)
    return 0;
  return static_cast<std::uint64_t>(std::llround(usd * 1e6));
}

std::string model_name_of(std::string_view key) {
  auto bracket = key.find('[');
  return std::string(bracket == std::string_view::npos ? key : key.substr(0, bracket));
}

std::optional<std::string> find_permission_prompt(std::string_view text) {
  // The CLI's own phrasing when a tool needs approval that -p mode cannot give. Plain
  // "permission denied" (a tool's ordinary error text) is deliberately absent.
  static constexpr std::array<std::string_view, 5> patterns{
    "requested permissions to use", "haven't granted it yet", "have not granted it yet",
    "waiting for permission", "Do you want to proceed?"};
  for (auto p : patterns) {
    if (auto pos = text.find(p); pos != std::string_view::npos) {
      auto line_start = text.rfind('\n', pos);
      line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
      auto line_end = text.find('\n', pos);
      auto line = text.substr(line_start, line_end == std::string_view::npos
                                            ? std::string_view::npos
                                            : line_end - line_start);
      return "the CLI stopped at a permission prompt, which -p mode cannot answer (\""
             + cap(line, 300)
             + "\"): allow the tool with allowed_tools or choose another permission_mode";
    }
  }
  return std::nullopt;
}

task_result interpret_cli_run(const runtime::process_outcome& run, const cli_run_context& ctx) {
  task_result r;
  using runtime::process_end;
  switch (run.end) {
    case process_end::spawn_failed:
      r = task_result::failure("could not start the claude CLI: " + run.spawn_error,
                               "spawn_failed");
      r.failed_command = ctx.command;
      r.elapsed_ms = static_cast<std::uint64_t>(run.elapsed.count());
      return r;
    case process_end::timed_out:
      r = task_result::failure("the task exceeded its timeout of "
                                 + std::to_string(ctx.timeout_secs)
                                 + " s; its process group was stopped",
                               "timeout");
      add_failure_details(r, run, ctx);
      break;
    case process_end::cancelled:
      r = task_result::failure("the task was cancelled; its process group was stopped",
                               "cancelled");
      add_failure_details(r, run, ctx);
      // A CLI interrupted by SIGINT may still print what it spent: keep the cost.
      if (auto j = find_result_object(run.stdout_data))
        r.cost_microdollars = usd_to_microdollars(j->value("total_cost_usd", 0.0));
      break;
    case process_end::exited:
    case process_end::signaled:
      if (run.stdout_truncated) {
        r = task_result::failure("the CLI printed more than max_output_bytes; the result "
                                 "was discarded",
                                 "output_too_large");
        add_failure_details(r, run, ctx);
      } else if (auto j = find_result_object(run.stdout_data)) {
        r = from_result_json(*j, run, ctx);
      } else if (run.end == process_end::signaled) {
        r = task_result::failure("the claude CLI was killed by signal "
                                   + std::to_string(run.signal) + " before printing a result",
                                 "crashed");
        add_failure_details(r, run, ctx);
      } else if (run.exit_code != 0) {
        r = task_result::failure("the claude CLI exited with code "
                                   + std::to_string(run.exit_code) + " without a result",
                                 "exit_error");
        add_failure_details(r, run, ctx);
      } else {
        r = task_result::failure(
          run.stdout_data.empty() ? "the claude CLI printed nothing on stdout"
          : ctx.event_stream
            ? "the claude CLI's event stream ended without a result event; its last line: "
                + cap(last_line(run.stdout_data), 300)
            : "the claude CLI's output is not a result JSON: " + cap(run.stdout_data, 300),
          run.stdout_data.empty() ? "empty_output" : "unparsable_output");
        add_failure_details(r, run, ctx);
      }
      break;
  }
  r.elapsed_ms = static_cast<std::uint64_t>(run.elapsed.count());
  if (!r.success && ctx.detect_permission_prompts) {
    auto found = find_permission_prompt(run.stderr_data);
    if (!found)
      found = find_permission_prompt(r.output);
    if (found) {
      r.output = *found + ". CLI said: " + cap(r.output, 1000);
      r.subtype = "permission_prompt";
    }
  }
  return r;
}

} // namespace claude_pool
