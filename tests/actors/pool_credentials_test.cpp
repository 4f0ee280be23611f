// Several credentials in one pool (issue 17), with a scripted executor: slots are spread
// over the credentials and keep theirs; a limit or a refused login stops only its own
// credential while the others keep working; max_concurrent and start_stagger_ms hold.
#include <catch2/catch.hpp>

#include <map>
#include <mutex>

#include "../support/eventually.hpp"
#include "../support/scripted_executor.hpp"
#include "actors/credential_state.hpp"
#include "claude_pool/pool.hpp"

using namespace claude_pool;
using claude_pool::testing::eventually;
using claude_pool::testing::scripted_executor;

namespace {

credential_profile profile(std::string name, std::optional<std::uint64_t> cap = {},
                           std::uint64_t stagger_ms = 0) {
  credential_profile c;
  c.name = std::move(name);
  c.max_concurrent = cap;
  c.start_stagger_ms = stagger_ms;
  return c;
}

pool_config two_credentials(std::uint64_t slots) {
  pool_config cfg;
  cfg.initial_slots = slots;
  cfg.scaling.max_slots = 16;
  cfg.rate_limit_cooldown_secs = 1;
  cfg.credentials = {profile("team-a"), profile("team-b")};
  return cfg;
}

pool_options with(std::shared_ptr<task_executor> exec) {
  pool_options o;
  o.executor = std::move(exec);
  return o;
}

std::string credential_of(const execution_request& r) {
  return r.config.credential ? r.config.credential->name : "(none)";
}

task_result ok() {
  task_result r;
  r.success = true;
  r.output = "ok";
  return r;
}

task_result refused_with(int status, std::optional<std::uint64_t> retry_after_ms = {}) {
  auto r = task_result::failure("API Error: " + std::to_string(status), "success");
  r.api_error_status = status;
  r.retry_after_ms = retry_after_ms;
  return r;
}

const credential_status* find(const pool_status& st, const std::string& name) {
  for (auto& c : st.credentials)
    if (c.name == name)
      return &c;
  return nullptr;
}

std::size_t count_for(scripted_executor& exec, const std::string& name) {
  std::size_t n = 0;
  for (auto& r : exec.requests())
    n += credential_of(r) == name;
  return n;
}

/// Finishes whatever runs (with the executor's answer) until every task of `ids` completed.
bool finish_all(scripted_executor& exec, claude_pool::pool& p, const std::vector<task_id>& ids) {
  return eventually([&] {
    for (auto& r : exec.requests())
      exec.finish(r.task);
    for (auto& id : ids)
      if (p.result(id).state != task_state::completed)
        return false;
    return true;
  });
}

} // namespace

TEST_CASE("choose_credential fills the credential with most room, in config order",
          "[actors][credentials]") {
  pool_config cfg;
  CHECK_FALSE(choose_credential(cfg, {})); // no profiles: the pool's environment
  cfg.credentials = {profile("a", 1), profile("b", 2), profile("c", 2)};
  std::vector<slot_config> made;
  for (int i = 0; i < 7; ++i) {
    std::vector<const slot_config*> siblings;
    for (auto& s : made)
      siblings.push_back(&s);
    slot_config next;
    next.credential = choose_credential(cfg, siblings);
    made.push_back(next);
  }
  std::vector<std::string> names;
  for (auto& s : made)
    names.push_back(*s.credential);
  // a, b, c while all have room (fewest first), then b and c up to their caps; all full:
  // the fewest slots per unit of cap (a: 1/1, b: 2/2, c: 2/2 → a first, then b).
  CHECK(names == std::vector<std::string>{"a", "b", "c", "b", "c", "a", "b"});
}

TEST_CASE("a credential's caps: held while paused, max_concurrent, start_stagger_ms",
          "[actors][credentials]") {
  credential_state c;
  c.max_concurrent = 2;
  c.start_stagger_ms = 100;
  CHECK(c.may_start(0, 1000));
  CHECK(c.may_start(1, 1000));
  CHECK_FALSE(c.may_start(2, 1000)); // at its cap
  c.last_start_ms = 1000;
  CHECK_FALSE(c.may_start(0, 1050)); // staggered
  CHECK(c.free_at(1050) == std::optional<std::uint64_t>(1100));
  CHECK(c.may_start(0, 1100));
  c.cooldown_until = 5000;
  CHECK(c.held(1100));
  CHECK_FALSE(c.may_start(0, 1100));
  CHECK(c.free_at(1100) == std::optional<std::uint64_t>(5000));
  CHECK_FALSE(c.held(5000));
  slot_record own, hosted;
  own.config.edit().credential = "team-a";
  hosted.node = "host-1";
  CHECK(credential_key(own) == "team-a");
  CHECK(credential_key(hosted) == "host-1:default"); // a slot host's own login
}

TEST_CASE("slots are bound to credentials at start and keep theirs across a restart",
          "[actors][credentials]") {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = [](const execution_request& r) {
    if (r.prompt == "crash")
      return task_result::failure("scripted crash", "crashed");
    return ok();
  };
  auto cfg = two_credentials(4);
  cfg.credentials[0].max_concurrent = 1;
  cfg.restart_backoff_min_ms = 10;
  cfg.restart_backoff_max_ms = 20;
  claude_pool::pool p(cfg, with(exec));
  REQUIRE(eventually([&] { return p.status().slots.size() == 4; }));
  auto st = p.status();
  std::map<std::string, int> bound;
  for (auto& s : st.slots)
    ++bound[s.config->credential.value_or("?")];
  CHECK(bound == std::map<std::string, int>{{"team-a", 1}, {"team-b", 3}});
  REQUIRE(find(st, "team-a"));
  CHECK(find(st, "team-a")->slots == 1);
  CHECK(find(st, "team-a")->max_concurrent == std::optional<std::uint64_t>(1));
  // Every execution runs with its slot's credential.
  for (int i = 0; i < 8; ++i)
    CHECK(p.run("task " + std::to_string(i)).state == task_state::completed);
  for (auto& r : exec->requests()) {
    auto slot = std::find_if(st.slots.begin(), st.slots.end(),
                             [&](const slot_record& s) { return s.id == r.slot; });
    REQUIRE(slot != st.slots.end());
    CHECK(credential_of(r) == *slot->config->credential);
  }
  // A restarted slot keeps its credential.
  p.run("crash");
  REQUIRE(eventually([&] {
    for (auto& s : p.status().slots)
      if (s.restart_count == 1)
        return s.state == slot_state::idle;
    return false;
  }));
  std::map<std::string, int> after;
  for (auto& s : p.status().slots)
    ++after[s.config->credential.value_or("?")];
  CHECK(after == bound);
}

TEST_CASE("a rate-limited credential waits while the other keeps running its tasks",
          "[actors][credentials][limits]") {
  auto exec = std::make_shared<scripted_executor>(false); // the test finishes executions
  exec->answer = [](const execution_request& r) {
    if (credential_of(r) == "team-a")
      return refused_with(429, 600000); // retry-after: 10 minutes
    return ok();
  };
  claude_pool::pool p(two_credentials(2), with(exec));
  std::vector<task_id> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(p.submit("task " + std::to_string(i)));
  // Both slots have a task before any ends (else one slot could run them all).
  REQUIRE(exec->wait_for_live(2));
  REQUIRE(finish_all(*exec, p, ids));
  for (auto& id : ids) {
    auto rec = p.wait(id);
    CHECK(rec.state == task_state::completed);
    CHECK(rec.attempts.empty()); // a limit never uses an attempt
  }
  // team-a was asked once, then paused; team-b ran everything, the limited task included.
  CHECK(count_for(*exec, "team-a") == 1);
  CHECK(count_for(*exec, "team-b") == 6);
  auto st = p.status();
  auto a = find(st, "team-a");
  REQUIRE(a);
  REQUIRE(a->waiting_until_ms);
  CHECK(*a->waiting_until_ms >= now_ms() + 500000);
  REQUIRE(a->wait_reason);
  CHECK_THAT(*a->wait_reason, Catch::Contains("API rate limit (429)"));
  CHECK_FALSE(find(st, "team-b")->waiting_until_ms);
  CHECK_FALSE(st.cooldown_until_ms); // the pool as a whole does not wait
  bool named = false;
  for (auto& e : st.events)
    named = named || (e.kind == "rate_limited"
                      && e.message.find("credential \"team-a\"") != std::string::npos);
  CHECK(named);
}

TEST_CASE("a refused login stops only its credential, the others run the tasks",
          "[actors][credentials][limits]") {
  auto exec = std::make_shared<scripted_executor>(false); // the test finishes executions
  exec->answer = [](const execution_request& r) {
    return credential_of(r) == "team-a" ? refused_with(401) : ok();
  };
  auto cfg = two_credentials(4); // two slots each
  cfg.auth_failure = "fail";
  cfg.auth_probe_secs = 3600;
  claude_pool::pool p(cfg, with(exec));
  std::vector<task_id> ids;
  for (int i = 0; i < 8; ++i)
    ids.push_back(p.submit("task " + std::to_string(i)));
  REQUIRE(exec->wait_for_live(4));
  // One of team-a's tasks is refused: the other team-a task is stopped, team-b's are not.
  task_id first_a, first_b;
  for (auto& r : exec->requests())
    (credential_of(r) == "team-a" ? first_a : first_b) = r.task;
  REQUIRE(exec->finish(first_a));
  REQUIRE(exec->wait_for_cancels(1));
  REQUIRE(finish_all(*exec, p, ids));
  for (auto& id : ids) {
    auto rec = p.result(id);
    CHECK(rec.state == task_state::completed); // fail mode, yet nothing failed: b ran them
    CHECK(rec.attempts.empty());
  }
  CHECK(count_for(*exec, "team-a") == 2); // the refused one and the one stopped with it
  auto st = p.status();
  auto a = find(st, "team-a");
  REQUIRE(a);
  CHECK(a->login_refused);
  CHECK_FALSE(find(st, "team-b")->login_refused);
  std::string message;
  for (auto& e : st.events)
    if (e.kind == "auth_failed")
      message = e.message;
  CHECK_THAT(message, Catch::Contains("credential \"team-a\""));
  CHECK_THAT(message, Catch::Contains("its tasks run on the other credentials"));
}

TEST_CASE("when every credential is refused, waiting tasks fail (auth_failure: fail)",
          "[actors][credentials][limits]") {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = [](const execution_request&) { return refused_with(401); };
  auto cfg = two_credentials(2);
  cfg.auth_failure = "fail";
  cfg.auth_probe_secs = 3600;
  claude_pool::pool p(cfg, with(exec));
  // Both credentials' slots are up first: with one alone up, it would be every credential.
  REQUIRE(eventually([&] { return p.status().slots.size() == 2; }));
  std::vector<task_id> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(p.submit("task " + std::to_string(i)));
  for (auto& id : ids) {
    auto rec = p.wait(id);
    CHECK(rec.state == task_state::failed);
    REQUIRE(rec.result);
    CHECK(rec.result->subtype.value_or("") != "slot_assignment_timeout");
  }
  // Each credential was refused once; nothing was retried against a refusing login.
  CHECK(count_for(*exec, "team-a") == 1);
  CHECK(count_for(*exec, "team-b") == 1);
  auto st = p.status();
  REQUIRE(st.cooldown_reason);
  CHECK_THAT(*st.cooldown_reason, Catch::Contains("refused; next check"));
}

TEST_CASE("max_concurrent caps a credential's running tasks, start_stagger_ms spaces starts",
          "[actors][credentials]") {
  SECTION("cap") {
    auto exec = std::make_shared<scripted_executor>(false);
    pool_config cfg;
    cfg.initial_slots = 4;
    cfg.credentials = {profile("only", 2)};
    claude_pool::pool p(cfg, with(exec));
    std::vector<task_id> ids;
    for (int i = 0; i < 6; ++i)
      ids.push_back(p.submit("task " + std::to_string(i)));
    REQUIRE(finish_all(*exec, p, ids));
    CHECK(exec->max_running() == 2); // four slots, two at a time
  }
  SECTION("stagger") {
    auto exec = std::make_shared<scripted_executor>(true);
    std::mutex m;
    std::vector<std::uint64_t> starts;
    exec->answer = [&](const execution_request&) {
      std::lock_guard<std::mutex> lock(m);
      starts.push_back(now_ms());
      return ok();
    };
    pool_config cfg;
    cfg.initial_slots = 3;
    cfg.credentials = {profile("only", std::nullopt, 200)};
    claude_pool::pool p(cfg, with(exec));
    std::vector<task_id> ids;
    for (int i = 0; i < 4; ++i)
      ids.push_back(p.submit("task " + std::to_string(i)));
    for (auto& id : ids)
      CHECK(p.wait(id).state == task_state::completed);
    std::lock_guard<std::mutex> lock(m);
    REQUIRE(starts.size() == 4);
    for (std::size_t i = 1; i < starts.size(); ++i)
      CHECK(starts[i] - starts[i - 1] >= 199); // never two starts within the stagger
  }
}
