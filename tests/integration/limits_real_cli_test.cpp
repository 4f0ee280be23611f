// API limits through the real CLI and the bundled mock: retry-after, persistent overload,
// a refused login on one slot of four, a stalled stream, a subscription usage window, and
// the requests a task costs warm and one-shot. Figures are printed for the notes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "actors/limit_policy.hpp"
#include "real_cli_fixture.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;

namespace {

bool mentions(const mock_api::logged_request& r, const std::string& word) {
  for (auto& t : user_texts(r.body))
    if (t.find(word) != std::string::npos)
      return true;
  return false;
}

std::vector<mock_api::logged_request> requests_for(const real_cli_fixture& fx,
                                                   const std::string& word) {
  std::vector<mock_api::logged_request> out;
  for (auto& r : fx.model_requests())
    if (mentions(r, word))
      out.push_back(r);
  return out;
}

bool has_event(const pool_status& st, const std::string& kind) {
  return std::any_of(st.events.begin(), st.events.end(),
                     [&](const pool_event& e) { return e.kind == kind; });
}

std::uint64_t event_time(const pool_status& st, const std::string& kind) {
  for (auto& e : st.events)
    if (e.kind == kind)
      return e.at_ms;
  return 0;
}

} // namespace

TEST_CASE("retry-after from the server spaces every request, the CLI's and the pool's",
          "[integration][limits]") {
  real_cli_fixture fx;
  auto cfg = fx.config(1);
  cfg.cli_max_retries = 2; // the CLI waits out two retry-afters itself, the pool the third
  claude_pool::pool p(cfg);
  // Three 429s with retry-after 3 s (one CLI run: a request and two retries), then an answer.
  auto rec = p.run("spaced [[mock:status=429]] [[mock:status_times=3]] [[mock:retry_after=3]]"
                   " [[mock:reply=finally]]");
  INFO(nlohmann::json(rec).dump());
  REQUIRE(rec.state == task_state::completed);
  CHECK(rec.result->output == "finally");
  CHECK(rec.rate_limit_waits == 1);
  CHECK(rec.attempts.empty()); // waiting is not an attempt
  auto seen = requests_for(fx, "spaced");
  REQUIRE(seen.size() == 4);
  std::cout << "retry-after 3 s, request spacing at the mock (ms):";
  for (std::size_t i = 1; i < seen.size(); ++i) {
    auto gap = seen[i].at_ms - seen[i - 1].at_ms;
    std::cout << ' ' << gap;
    CHECK(gap >= 2900);
  }
  std::cout << '\n';
  auto st = p.status();
  REQUIRE(has_event(st, "rate_limited"));
  for (auto& e : st.events)
    if (e.kind == "rate_limited")
      CHECK_THAT(e.message, Catch::Contains("the server asked for 3.0 s"));
}

TEST_CASE("a persistent 529 ends at max_wait_secs with a reason that says so",
          "[integration][limits]") {
  real_cli_fixture fx;
  auto cfg = fx.config(1);
  cfg.rate_limit_cooldown_secs = 1;
  cfg.max_wait_secs = 4;
  claude_pool::pool p(cfg);
  auto start = now_ms();
  auto rec = p.run("always overloaded [[mock:status=529]]");
  auto took = now_ms() - start;
  INFO(nlohmann::json(rec).dump());
  REQUIRE(rec.state == task_state::failed);
  CHECK_THAT(rec.result->output, Catch::StartsWith("API overloaded (529) for "));
  CHECK_THAT(rec.result->output, Catch::Contains("max_wait_secs 4"));
  CHECK(rec.attempts.empty());
  CHECK(rec.rate_limit_waits >= 2);
  CHECK(took >= 4000);
  std::cout << "persistent 529, max_wait_secs 4: failed after " << describe_duration(took)
            << ", " << rec.rate_limit_waits << " waits, "
            << requests_for(fx, "always overloaded").size() << " requests: "
            << rec.result->output.substr(0, 60) << "\n";
}

TEST_CASE("a 401 on one slot of four stops the other three and sends no further request",
          "[integration][limits]") {
  real_cli_fixture fx;
  auto cfg = fx.config(4);
  cfg.auth_failure = "park";
  cfg.auth_probe_secs = 3600;
  claude_pool::pool p(cfg);
  std::vector<task_id> slow;
  for (int i = 0; i < 3; ++i)
    slow.push_back(p.submit("slow " + std::to_string(i) + " [[mock:delay_ms=60000]]"));
  REQUIRE(eventually([&] { return requests_for(fx, "slow").size() == 3; }));
  auto refused = p.submit("refused [[mock:status=401]]");
  REQUIRE(eventually([&] { return has_event(p.status(), "auth_failed"); },
                     std::chrono::seconds(60)));
  auto tripped = event_time(p.status(), "auth_failed");
  // The three running tasks are stopped and wait, parked, with no attempt used.
  REQUIRE(eventually([&] { return p.status().running == 0; }, std::chrono::seconds(30)));
  auto stopped_after = now_ms() - tripped;
  for (auto& id : slow) {
    auto rec = p.result(id);
    CHECK(rec.state == task_state::pending);
    CHECK(rec.attempts.empty());
    REQUIRE(rec.wait_reason);
    CHECK_THAT(*rec.wait_reason, Catch::Contains("credentials refused"));
  }
  CHECK(p.result(refused).state == task_state::pending);
  // Their processes are gone, and nothing asked the API after the breaker opened.
  REQUIRE(eventually([&] { return processes_with_marker(fx.marker) == 0; }));
  std::size_t later = 0;
  for (auto& r : fx.model_requests())
    later += static_cast<std::uint64_t>(r.at_ms) > tripped;
  CHECK(later == 0);
  std::cout << "401 on one slot of four: the other three stopped within " << stopped_after
            << " ms of the breaker opening; requests after it: " << later << "\n";
  CHECK(stopped_after < 5000);
}

TEST_CASE("a stalled stream is interrupted at stall_secs and counts as a crash",
          "[integration][limits]") {
  for (auto mode : {execution_mode::one_shot, execution_mode::warm}) {
    real_cli_fixture fx;
    auto cfg = fx.config(1);
    cfg.stall_secs = 3;
    cfg.execution = mode;
    std::uint64_t took = 0;
    {
      claude_pool::pool p(cfg);
      if (mode == execution_mode::warm) // a warm process that has run a task before
        REQUIRE(p.run("warm up").state == task_state::completed);
      auto start = now_ms();
      auto rec = p.run("stalls [[mock:chunk_delay_ms=60000]]");
      took = now_ms() - start;
      INFO(nlohmann::json(rec).dump());
      REQUIRE(rec.state == task_state::failed);
      CHECK(rec.result->subtype == "stalled");
      CHECK_THAT(rec.result->output, Catch::Contains("stall_secs"));
      CHECK(took >= 3000);
      CHECK(took < 30000);
      // The slot is replaced (a crash), its process with it; the next task runs.
      CHECK(p.run("after the stall").state == task_state::completed);
    }
    CHECK(eventually([&] { return processes_with_marker(fx.marker) == 0; }));
    std::cout << "stalled stream (" << (mode == execution_mode::warm ? "warm" : "one-shot")
              << "), stall_secs 3: stopped after " << describe_duration(took) << "\n";
  }
}

TEST_CASE("warm and one-shot runs send only the task's own requests", "[integration][limits]") {
  real_cli_fixture fx;
  std::size_t per_mode[2] = {0, 0};
  for (int warm = 0; warm < 2; ++warm) {
    auto cfg = fx.config(1);
    cfg.cli_env.erase("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"); // the pool sets it itself
    if (warm)
      cfg.execution = execution_mode::warm;
    claude_pool::pool p(cfg);
    std::string word = warm ? "warmrun" : "oneshotrun";
    for (int i = 0; i < 4; ++i)
      REQUIRE(p.run(word + " " + std::to_string(i)).state == task_state::completed);
    per_mode[warm] = requests_for(fx, word).size();
  }
  std::size_t titles = 0;
  for (auto& r : fx.mock.requests())
    titles += r.is_title_request;
  std::cout << "requests for 4 tasks: one-shot " << per_mode[0] << ", warm " << per_mode[1]
            << ", title requests " << titles << "\n";
  CHECK(per_mode[0] == 4);
  CHECK(per_mode[1] == 4);
  CHECK(titles == 0);
}

TEST_CASE("a subscription usage window: tasks wait for its reset, none fails, none pays an "
          "attempt, nothing is asked before the reset",
          "[integration][limits][window]") {
  real_cli_fixture fx;
  auto cfg = fx.config(2);
  // A subscriber's login (OAuth), as CLI_LIMITS_FACTS.md measured: no API key, no --bare.
  cfg.cli_env.erase("ANTHROPIC_API_KEY");
  cfg.cli_env["CLAUDE_CODE_OAUTH_TOKEN"] = "sk-ant-oat01-fake";
  cfg.cli_env["CLAUDE_CODE_SUBSCRIPTION_TYPE"] = "max";
  cfg.bare = false;
  claude_pool::pool p(cfg);
  auto reset_s = static_cast<std::uint64_t>(now_ms() / 1000 + 20);
  auto limit = " [[mock:limit_until=" + std::to_string(reset_s) + "]]";
  std::vector<task_id> ids;
  for (int i = 0; i < 10; ++i)
    ids.push_back(p.submit("windowed " + std::to_string(i) + limit));
  REQUIRE(eventually([&] { return has_event(p.status(), "rate_limited"); },
                     std::chrono::seconds(60)));
  auto st = p.status();
  REQUIRE(st.cooldown_reason);
  CHECK_THAT(*st.cooldown_reason, Catch::Contains("usage limit (five_hour window)"));
  REQUIRE(st.cooldown_until_ms);
  CHECK(*st.cooldown_until_ms >= reset_s * 1000);
  for (auto& id : ids) {
    auto rec = p.wait(id);
    INFO(nlohmann::json(rec).dump());
    CHECK(rec.state == task_state::completed);
    CHECK(rec.attempts.empty());
  }
  // Requests before the reset: only those that found the limit (one per slot at most, sent
  // before the pool knew), none after the first rejection.
  std::size_t refused = 0, early_after_known = 0;
  auto known = event_time(st, "rate_limited");
  for (auto& r : requests_for(fx, "windowed")) {
    refused += r.status == 429;
    early_after_known += static_cast<std::uint64_t>(r.at_ms) > known + 1000
                         && static_cast<std::uint64_t>(r.at_ms) < reset_s * 1000;
  }
  std::cout << "usage window 20 s ahead, 10 tasks on 2 slots: " << refused
            << " requests refused, " << early_after_known
            << " sent early after the limit was known; all completed\n";
  CHECK(refused <= 2);
  CHECK(early_after_known == 0);
}

TEST_CASE("two credentials, one exhausted: the other runs every task at its cap",
          "[integration][limits][credentials]") {
  real_cli_fixture fx;
  auto cfg = fx.config(4);
  // Two subscribers' logins (OAuth tokens from the pool's environment), two slots each.
  cfg.cli_env.erase("ANTHROPIC_API_KEY");
  cfg.cli_env["CLAUDE_CODE_SUBSCRIPTION_TYPE"] = "max";
  cfg.bare = false;
  ::setenv("CLAUDE_POOL_TEST_TOKEN_A", "sk-ant-oat01-exhausted", 1);
  ::setenv("CLAUDE_POOL_TEST_TOKEN_B", "sk-ant-oat01-fresh", 1);
  credential_profile a, b;
  a.name = "exhausted";
  a.oauth_token_env = "CLAUDE_POOL_TEST_TOKEN_A";
  b.name = "fresh";
  b.oauth_token_env = "CLAUDE_POOL_TEST_TOKEN_B";
  b.max_concurrent = 2;
  cfg.credentials = {a, b};
  claude_pool::pool p(cfg);
  // The exhausted login's window resets in a minute; the fresh one has room.
  auto reset_s = static_cast<std::uint64_t>(now_ms() / 1000 + 60);
  auto directive = " [[mock:limit_until=" + std::to_string(reset_s) + "]] [[mock:for_credential="
                   + mock_api::credential_fingerprint("sk-ant-oat01-exhausted") + "]]";
  std::vector<task_id> ids;
  auto started = now_ms();
  for (int i = 0; i < 10; ++i)
    ids.push_back(p.submit("shared " + std::to_string(i) + directive));
  std::uint64_t most_running_fresh = 0;
  bool done = false;
  while (!done && now_ms() - started < 120000) {
    auto st = p.status();
    for (auto& c : st.credentials)
      if (c.name == "fresh")
        most_running_fresh = std::max(most_running_fresh, c.running);
    done = st.completed == ids.size();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto took = now_ms() - started;
  for (auto& id : ids) {
    auto rec = p.wait(id);
    INFO(nlohmann::json(rec).dump());
    CHECK(rec.state == task_state::completed);
    CHECK(rec.attempts.empty());
  }
  auto st = p.status();
  const credential_status* exhausted = nullptr;
  for (auto& c : st.credentials)
    if (c.name == "exhausted")
      exhausted = &c;
  REQUIRE(exhausted);
  REQUIRE(exhausted->waiting_until_ms);
  CHECK(*exhausted->waiting_until_ms >= reset_s * 1000);
  // The exhausted login was asked at most once per slot (before the pool knew); the batch
  // finished on the fresh one long before the reset, never more than 2 at once there.
  std::size_t to_exhausted = 0, to_fresh = 0;
  for (auto& r : requests_for(fx, "shared")) {
    to_exhausted += r.credential == mock_api::credential_fingerprint("sk-ant-oat01-exhausted");
    to_fresh += r.credential == mock_api::credential_fingerprint("sk-ant-oat01-fresh");
  }
  std::cout << "two credentials, one exhausted for 60 s: 10 tasks done in " << took
            << " ms; requests to the exhausted login " << to_exhausted << ", to the fresh one "
            << to_fresh << "; at most " << most_running_fresh << " running on it\n";
  CHECK(to_exhausted <= 2);
  CHECK(to_fresh >= 10);
  CHECK(most_running_fresh <= 2);
  CHECK(now_ms() < reset_s * 1000);
}
