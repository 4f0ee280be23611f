// The fault matrix: every fault a CLI process can throw, through the whole pool, each
// followed by a normal task on the same pool. For each: the task ends in a terminal state
// with a reason naming the fault, the pool keeps serving, the slot is restarted or not as
// the failure class says, and no process of the run is left. Prints the matrix as run.
#include <algorithm>
#include <catch2/catch.hpp>

#include <iomanip>
#include <iostream>
#include <utility>

#include "real_cli_fixture.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;

namespace {

struct fault {
  std::string name;        ///< what the CLI does
  std::string mode;        ///< the fake CLI's mode for this task
  std::string subtype;     ///< the reason the task must carry
  bool restarts_slot;      ///< the supervisor restarts the slot afterwards
  task_state state = task_state::failed;
};

void print_row(const fault& f, const task_record& rec, std::uint32_t restarts, int leftovers) {
  std::cout << "| " << std::left << std::setw(38) << f.name << " | " << std::setw(9)
            << to_string(rec.state) << " | " << std::setw(22)
            << rec.result->subtype.value_or("") << " | " << std::setw(8)
            << (restarts ? "yes" : "no") << " | " << std::setw(9) << "completed"
            << " | " << leftovers << " |\n";
}

} // namespace

TEST_CASE("every CLI fault ends its task with a reason, the pool keeps serving, and nothing "
          "is left running",
          "[integration][faults]") {
  std::vector<fault> faults{
    {"crash by signal (SIGABRT)", "crash", "crashed", true},
    {"exit code 3, no output", "exit3", "exit_error", true},
    {"hang (timeout 2 s)", "hang", "timeout", true},
    {"hang ignoring SIGINT (SIGKILL after grace)", "hang_ignore_int", "timeout", true},
    {"garbage on stdout", "garbage", "unparsable_output", false},
    {"nothing on stdout", "empty", "empty_output", false},
    {"invalid UTF-8 in the result", "invalid_utf8", "unparsable_output", false},
    {"50 MB on stdout (cap 1 MB)", "huge", "output_too_large", false},
    {"output dripping slowly", "drip", "success", false, task_state::completed},
    {"grandchild ignoring SIGTERM, own session", "grandchild_ignores_term", "success", false,
     task_state::completed},
    {"permission prompt", "permission_prompt", "permission_prompt", false},
  };
  static bool header_printed = false; // sections re-enter this body once per fault
  if (!std::exchange(header_printed, true))
    std::cout << "\n| fault | task | reason | slot restarted | next task | processes left |\n"
              << "|---|---|---|---|---|---|\n";
  for (auto& f : faults) {
    DYNAMIC_SECTION(f.name) {
      std::random_device rd;
      auto marker_value = std::to_string(rd()) + std::to_string(rd());
      pool_config cfg;
      cfg.initial_slots = 1;
      cfg.claude_bin = CLAUDE_POOL_FAKE_CLI;
      cfg.task_timeout_secs = 2;
      cfg.max_output_bytes = 1 << 20;
      cfg.restart_backoff_min_ms = 10;
      cfg.restart_backoff_max_ms = 50;
      cfg.cli_env = {{"FAKE_CLAUDE_BYTES", std::to_string(50 << 20)},
                     {"FAKE_CLAUDE_DRIP_MS", "1"},
                     {"FAKE_CLAUDE_THEN", "exit"},
                     {"FAULT_MATRIX_MARKER", marker_value}};
      claude_pool::pool p(cfg);
      // The fake takes its mode from the first line of the prompt.
      auto rec = p.run("FAKE_MODE=" + f.mode + "\nthe task");
      INFO(nlohmann::json(rec).dump());
      CHECK(rec.state == f.state);
      REQUIRE(rec.result);
      CHECK(rec.result->subtype == f.subtype);
      // The pool serves the next task (on the restarted slot where there was a restart).
      auto next = p.run("FAKE_MODE=ok\nthe next task");
      CHECK(next.state == task_state::completed);
      auto restarts = p.status().slots.at(0).restart_count;
      CHECK((restarts > 0) == f.restarts_slot);
      auto marker = "FAULT_MATRIX_MARKER=" + marker_value;
      CHECK(eventually([&] { return processes_with_marker(marker) == 0; }));
      print_row(f, rec, restarts, processes_with_marker(marker));
    }
  }
}

TEST_CASE("API faults through the real CLI: auth opens the breaker, rate limits wait, 5xx fails",
          "[integration][faults]") {
  struct api_fault {
    std::string name;
    std::string directives;
    task_state state;
    std::string expect; ///< what the record shows
  };
  std::vector<api_fault> faults{
    {"API 401 (bad key)", "[[mock:status=401]]", task_state::failed,
     "breaker open, slot kept, no restart"},
    {"API 429 once", "[[mock:status=429]] [[mock:status_times=1]]", task_state::completed,
     "waited 1 cool-down"},
    {"API 529 once", "[[mock:status=529]] [[mock:status_times=1]]", task_state::completed,
     "waited 1 cool-down"},
    {"API 500", "[[mock:status=500]]", task_state::failed, "slot healthy"},
  };
  static bool header_printed = false;
  if (!std::exchange(header_printed, true))
    std::cout << "\n| API fault (real CLI) | task | record shows |\n|---|---|---|\n";
  for (auto& f : faults) {
    DYNAMIC_SECTION(f.name) {
      real_cli_fixture fx;
      auto cfg = fx.config(1);
      cfg.rate_limit_cooldown_secs = 1;
      claude_pool::pool p(cfg);
      auto rec = p.run("api fault " + f.directives);
      INFO(nlohmann::json(rec).dump());
      CHECK(rec.state == f.state);
      auto slot = p.status().slots.at(0);
      if (f.name.find("401") != std::string::npos) {
        CHECK(slot.state != slot_state::errored);
        CHECK(slot.restart_count == 0);
        auto st = p.status();
        CHECK(std::any_of(st.events.begin(), st.events.end(),
                          [](const pool_event& e) { return e.kind == "auth_failed"; }));
      } else if (f.state == task_state::completed) {
        CHECK(rec.rate_limit_waits == 1);
      } else {
        CHECK(slot.state != slot_state::errored);
        CHECK(p.run("fine afterwards").state == task_state::completed);
      }
      CHECK(processes_with_marker(fx.marker) == 0);
      std::cout << "| " << f.name << " | " << to_string(rec.state) << " | " << f.expect
                << " |\n";
    }
  }
}
