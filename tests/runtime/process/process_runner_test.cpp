#include "runtime/process/process_runner.hpp"

#include "runtime/process/descendant_sweep.hpp"

#include "../../support/eventually.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

using namespace claude_pool::runtime;
using namespace std::chrono_literals;
using claude_pool::testing::eventually;

namespace {

constexpr auto generous = 30s;

process_outcome run_one(process_runner& runner, process_request req) {
  auto promise = std::make_shared<std::promise<process_outcome>>();
  auto future = promise->get_future();
  runner.start(std::move(req), [promise](process_outcome o) { promise->set_value(std::move(o)); });
  REQUIRE(future.wait_for(generous) == std::future_status::ready);
  return future.get();
}

process_request fake(const std::string& mode) {
  process_request req;
  req.executable = CLAUDE_POOL_FAKE_CLI;
  req.env_set = {{"FAKE_CLAUDE_MODE", mode}};
  return req;
}

process_request command(std::string exe, std::vector<std::string> args) {
  process_request req;
  req.executable = std::move(exe);
  req.args = std::move(args);
  return req;
}

// A fresh directory per call, for pid files and other scratch files.
std::string scratch_dir() {
  std::string tmpl = "/tmp/process_runner_test.XXXXXX";
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}


int wait_for_pidfile(const std::string& path) {
  int pid = 0;
  bool found = eventually([&] {
    std::ifstream in(path);
    return static_cast<bool>(in >> pid);
  });
  REQUIRE(found);
  REQUIRE(pid > 0);
  return pid;
}

// Gone, or a zombie waiting for whoever inherited it: either way no longer running.
bool process_gone(int pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren == std::string::npos || stat.size() < paren + 3 || stat[paren + 2] == 'Z' ||
         stat[paren + 2] == 'X';
}

} // namespace

TEST_CASE("a child's stdout, stderr and exit code are reported", "[process_runner]") {
  process_runner runner;
  auto o = run_one(runner, command("/bin/sh", {"-c", "echo hi; echo oops >&2; exit 3"}));
  CHECK(o.end == process_end::exited);
  CHECK(std::string(to_string(o.end)) == "exited");
  CHECK(o.exit_code == 3);
  CHECK(o.signal == 0);
  CHECK(o.stdout_data == "hi\n");
  CHECK(o.stderr_data == "oops\n");
  CHECK_FALSE(o.stdout_truncated);
  CHECK(o.pid > 0);
  CHECK(o.spawn_error.empty());
}

TEST_CASE("a bare executable name is found in PATH and argv is passed verbatim", "[process_runner]") {
  process_runner runner;
  auto dir = scratch_dir();
  auto req = fake("argv");
  req.args = {"a b", "", "$HOME", "q\"uote", "--opt=x;y", "*"};
  req.env_set.emplace_back("FAKE_CLAUDE_ARGV_FILE", dir + "/argv.json");
  auto o = run_one(runner, req);
  CHECK(o.end == process_end::exited);
  CHECK(slurp(dir + "/argv.json") == R"(["a b","","$HOME","q\"uote","--opt=x;y","*"])");

  auto echo = run_one(runner, command("echo", {"found"}));
  CHECK(echo.end == process_end::exited);
  CHECK(echo.stdout_data == "found\n");
}

TEST_CASE("one MiB of stdin round-trips byte-exact through cat", "[process_runner]") {
  process_runner runner;
  std::string input((1u << 20) + 17, '\0');
  std::mt19937 gen(42);
  for (auto& ch : input) ch = static_cast<char>(gen() & 0xff);
  auto req = command("/bin/cat", {});
  req.stdin_data = input;
  auto o = run_one(runner, req);
  CHECK(o.end == process_end::exited);
  CHECK(o.exit_code == 0);
  CHECK(o.stdout_data.size() == input.size());
  CHECK(o.stdout_data == input);
}

TEST_CASE("a child that writes a lot before reading stdin does not deadlock", "[process_runner]") {
  process_runner runner;
  auto req = command("/bin/sh", {"-c", "head -c 3000000 /dev/zero; wc -c"});
  req.stdin_data.assign(2u << 20, 'p');
  auto o = run_one(runner, req);
  CHECK(o.end == process_end::exited);
  REQUIRE(o.stdout_data.size() > 3000000u);
  CHECK(o.stdout_data.substr(3000000) == "2097152\n");
}

TEST_CASE("stdin for a child that never reads it does not kill us with SIGPIPE", "[process_runner]") {
  process_runner runner;
  auto req = command("/bin/true", {});
  req.stdin_data.assign(4u << 20, 'x');
  auto o = run_one(runner, req);
  CHECK(o.end == process_end::exited);
  CHECK(o.exit_code == 0);
}

TEST_CASE("output beyond the limits is discarded and flagged", "[process_runner]") {
  process_runner runner;
  auto req = fake("huge");
  req.env_set.emplace_back("FAKE_CLAUDE_BYTES", std::to_string(1u << 20));
  req.stdout_limit = 1000;
  auto o = run_one(runner, req);
  CHECK(o.end == process_end::exited);
  CHECK(o.exit_code == 0);
  CHECK(o.stdout_data.size() == 1000);
  CHECK(o.stdout_truncated);
  CHECK(o.stdout_data.rfind("{\"type\":\"result\"", 0) == 0);

  auto err = command("/bin/sh", {"-c", "head -c 100000 /dev/zero >&2; echo small"});
  err.stderr_limit = 10;
  auto e = run_one(runner, err);
  CHECK(e.stderr_data == std::string(10, '\0'));
  CHECK(e.stderr_truncated);
  CHECK(e.stdout_data == "small\n");
  CHECK_FALSE(e.stdout_truncated);

  req.stdout_limit = 2u << 20;
  auto whole = run_one(runner, req);
  CHECK(whole.stdout_data.size() == (1u << 20));
  CHECK_FALSE(whole.stdout_truncated);
}

TEST_CASE("a missing or unusable executable is a spawn failure that names it", "[process_runner]") {
  process_runner runner;
  auto missing = run_one(runner, command("/nonexistent/dir/claude", {}));
  CHECK(missing.end == process_end::spawn_failed);
  CHECK(missing.spawn_error == "executable not found: /nonexistent/dir/claude");
  CHECK(missing.pid == 0);

  auto unknown = run_one(runner, command("no-such-claude-binary-xyz", {}));
  CHECK(unknown.end == process_end::spawn_failed);
  CHECK(unknown.spawn_error == "executable not found in PATH: no-such-claude-binary-xyz");

  auto dir = scratch_dir();
  std::string plain = dir + "/not_executable";
  std::ofstream(plain) << "#!/bin/sh\necho no\n";
  ::chmod(plain.c_str(), 0644);
  auto denied = run_one(runner, command(plain, {}));
  CHECK(denied.end == process_end::spawn_failed);
  CHECK_THAT(denied.spawn_error, Catch::Contains("permission denied") && Catch::Contains(plain));

  auto directory = run_one(runner, command(dir, {}));
  CHECK(directory.end == process_end::spawn_failed);
  CHECK_THAT(directory.spawn_error, Catch::Contains(dir));

  auto empty = run_one(runner, command("", {}));
  CHECK(empty.end == process_end::spawn_failed);
  CHECK_FALSE(empty.spawn_error.empty());
  CHECK(runner.running() == 0);
}

TEST_CASE("a bad working directory is a spawn failure", "[process_runner]") {
  process_runner runner;
  auto req = command("/bin/pwd", {});
  req.working_dir = "/nonexistent/workdir";
  auto o = run_one(runner, req);
  CHECK(o.end == process_end::spawn_failed);
  CHECK_THAT(o.spawn_error, Catch::Contains("/nonexistent/workdir") && Catch::Contains("/bin/pwd"));

  req.working_dir = "/tmp";
  auto ok = run_one(runner, req);
  CHECK(ok.end == process_end::exited);
  CHECK(ok.stdout_data == "/tmp\n");
}

TEST_CASE("a crashing child is reported as signaled", "[process_runner]") {
  process_runner runner;
  auto o = run_one(runner, fake("crash"));
  CHECK(o.end == process_end::signaled);
  CHECK(o.signal == SIGABRT);
  CHECK(o.exit_code == -1);
  CHECK_THAT(o.stderr_data, Catch::Contains("crashing"));
}

TEST_CASE("a timeout stops the whole process group", "[process_runner]") {
  process_runner runner;
  auto dir = scratch_dir();
  auto req = fake("spawn_child");
  req.env_set.emplace_back("FAKE_CLAUDE_PIDFILE", dir + "/grandchild.pid");
  req.timeout = 1500ms;
  auto o = run_one(runner, req);
  CHECK(o.end == process_end::timed_out);
  CHECK(o.signal == SIGINT);
  CHECK(o.elapsed >= 1500ms);
  CHECK_THAT(o.stderr_data, Catch::Contains("started grandchild"));
  int grandchild = wait_for_pidfile(dir + "/grandchild.pid");
  CHECK(eventually([&] { return process_gone(grandchild); }));
}

TEST_CASE("cancel stops a child and its group and reports cancelled", "[process_runner]") {
  process_runner runner;
  auto dir = scratch_dir();
  auto req = fake("spawn_child");
  req.env_set.emplace_back("FAKE_CLAUDE_PIDFILE", dir + "/grandchild.pid");
  std::promise<process_outcome> promise;
  auto future = promise.get_future();
  auto id = runner.start(req, [&](process_outcome o) { promise.set_value(std::move(o)); });
  int grandchild = wait_for_pidfile(dir + "/grandchild.pid");
  CHECK(runner.running() == 1);
  CHECK(runner.cancel(id));
  REQUIRE(future.wait_for(generous) == std::future_status::ready);
  auto o = future.get();
  CHECK(o.end == process_end::cancelled);
  CHECK(o.signal == SIGINT);
  CHECK(eventually([&] { return process_gone(grandchild); }));
  CHECK_FALSE(runner.cancel(id));
  CHECK_FALSE(runner.cancel(id + 1000));
  CHECK(runner.running() == 0);
}

TEST_CASE("a child that ignores SIGINT is killed after the grace period", "[process_runner]") {
  process_runner runner;
  auto dir = scratch_dir();
  auto req = fake("hang_ignore_int");
  req.env_set.emplace_back("FAKE_CLAUDE_PIDFILE", dir + "/ready.pid");
  req.kill_grace = 300ms;
  std::promise<process_outcome> promise;
  auto future = promise.get_future();
  auto id = runner.start(req, [&](process_outcome o) { promise.set_value(std::move(o)); });
  wait_for_pidfile(dir + "/ready.pid");
  CHECK(runner.cancel(id));
  REQUIRE(future.wait_for(generous) == std::future_status::ready);
  auto o = future.get();
  CHECK(o.end == process_end::cancelled);
  CHECK(o.signal == SIGKILL);
  CHECK(o.elapsed >= 300ms);
}

TEST_CASE("a descendant that left the session and cleared its environment is killed with its "
          "command (the spawner inherits it)",
          "[process_runner][spawner]") {
  process_runner runner;
  auto dir = scratch_dir();
  auto req = fake("leak_child");
  req.env_set.emplace_back("FAKE_CLAUDE_PIDFILE", dir + "/leaked.pid");
  // Own session and an empty environment (no run token): when its parent dies it becomes the
  // spawner's child (the spawner is a subreaper), which belongs to no running command.
  req.env_set.emplace_back("FAKE_CLAUDE_CHILD_ENV", "clear");
  auto o = run_one(runner, req);
  CHECK(o.end == process_end::exited);
  CHECK(o.exit_code == 0);
  CHECK_THAT(o.stdout_data, Catch::Contains("left a grandchild behind"));
  CHECK(o.elapsed < 500ms);  // its pipes closed when it died, not by the runner's bound
  int leaked = wait_for_pidfile(dir + "/leaked.pid");
  CHECK(eventually([&] { return process_gone(leaked); }));
}

TEST_CASE("without a spawner, a descendant that escaped the sweep and holds the pipes does not "
          "delay the report forever",
          "[process_runner]") {
  ::setenv("CLAUDE_POOL_SPAWNER", "none", 1);
  process_runner runner;
  auto dir = scratch_dir();
  auto req = fake("leak_child");
  req.env_set.emplace_back("FAKE_CLAUDE_PIDFILE", dir + "/leaked.pid");
  // Own session and an empty environment (no run token): neither the group kill nor the sweep
  // reaches it, as documented for the guardian path.
  req.env_set.emplace_back("FAKE_CLAUDE_CHILD_ENV", "clear");
  auto o = run_one(runner, req);
  ::unsetenv("CLAUDE_POOL_SPAWNER");
  CHECK(o.end == process_end::exited);
  CHECK(o.exit_code == 0);
  CHECK_THAT(o.stdout_data, Catch::Contains("left a grandchild behind"));
  CHECK(o.elapsed >= 500ms);  // the pipes were closed by the runner's bound, not by EOF
  int leaked = wait_for_pidfile(dir + "/leaked.pid");
  CHECK_FALSE(process_gone(leaked));
  ::kill(leaked, SIGKILL);  // escaped by design: the test cleans it up
}

TEST_CASE("env_unset removes a variable and env_set adds or overrides one", "[process_runner]") {
  ::setenv("CLAUDE_POOL_TEST_REMOVED", "1", 1);
  ::setenv("CLAUDE_POOL_TEST_OVERRIDDEN", "old", 1);
  process_runner runner;
  auto req = command("/usr/bin/env", {});
  req.env_unset = {"CLAUDE_POOL_TEST_REMOVED"};
  req.env_set = {{"CLAUDE_POOL_TEST_ADDED", "yes"}, {"CLAUDE_POOL_TEST_OVERRIDDEN", "new"}};
  auto o = run_one(runner, req);
  ::unsetenv("CLAUDE_POOL_TEST_REMOVED");
  ::unsetenv("CLAUDE_POOL_TEST_OVERRIDDEN");
  CHECK(o.end == process_end::exited);
  CHECK_THAT(o.stdout_data, Catch::Contains("\nCLAUDE_POOL_TEST_ADDED=yes\n"));
  CHECK_THAT(o.stdout_data, Catch::Contains("\nCLAUDE_POOL_TEST_OVERRIDDEN=new\n"));
  CHECK_THAT(o.stdout_data, !Catch::Contains("CLAUDE_POOL_TEST_OVERRIDDEN=old"));
  CHECK_THAT(o.stdout_data, !Catch::Contains("CLAUDE_POOL_TEST_REMOVED"));
  CHECK_THAT(o.stdout_data, Catch::Contains("PATH="));
}

namespace {
// Starts `count` children of `/bin/true` from several threads at once and waits for all.
void run_many_true(process_runner& runner, int count) {
  std::atomic<int> done{0}, ok{0};
  std::promise<void> all_done;
  auto future = all_done.get_future();
  std::vector<std::thread> starters;
  for (int t = 0; t < 8; ++t)
    starters.emplace_back([&] {
      for (int i = 0; i < count / 8; ++i)
        runner.start(command("/bin/true", {}), [&](process_outcome o) {
          if (o.end == process_end::exited && o.exit_code == 0) ++ok;
          if (++done == count) all_done.set_value();
        });
    });
  for (auto& t : starters) t.join();
  REQUIRE(future.wait_for(generous) == std::future_status::ready);
  CHECK(ok == count);
  CHECK(runner.running() == 0);
}
} // namespace

TEST_CASE("64 concurrent children all complete, five rounds in a row", "[process_runner]") {
  process_runner runner;
  for (int round = 0; round < 5; ++round) {
    INFO("round " << round);
    run_many_true(runner, 64);
  }
}

TEST_CASE("without pidfd the SIGCHLD fallback still sees every exit", "[process_runner]") {
  ::setenv("CLAUDE_POOL_NO_PIDFD", "1", 1);
  process_runner runner;
  ::unsetenv("CLAUDE_POOL_NO_PIDFD");
  for (int round = 0; round < 3; ++round) run_many_true(runner, 64);
  auto o = run_one(runner, command("/bin/sh", {"-c", "echo hi; exit 3"}));
  CHECK(o.exit_code == 3);
  CHECK(o.stdout_data == "hi\n");
  auto req = fake("hang");
  req.timeout = 200ms;
  CHECK(run_one(runner, req).end == process_end::timed_out);
}

TEST_CASE("without pidfd a runner that ran many children is destroyed without hanging",
          "[process_runner]") {
  // A SIGCHLD still queued when the destructor cancelled its wait used to re-arm the wait,
  // so the I/O thread never ended (seen in about 3 of 10 runs of this loop).
  for (int i = 0; i < 10; ++i) {
    INFO("runner " << i);
    ::setenv("CLAUDE_POOL_NO_PIDFD", "1", 1);
    auto runner = std::make_shared<process_runner>();
    ::unsetenv("CLAUDE_POOL_NO_PIDFD");
    run_many_true(*runner, 64);
    // On a thread of its own, so that a hang fails the test instead of stalling the run.
    auto done = std::make_shared<std::promise<void>>();
    auto destroyed = done->get_future();
    std::thread([r = std::move(runner), done]() mutable {
      r.reset();
      done->set_value();
    }).detach();
    REQUIRE(destroyed.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  }
}

TEST_CASE("the destructor kills running children, reports them and returns", "[process_runner]") {
  auto dir = scratch_dir();
  std::mutex mutex;
  std::vector<process_outcome> outcomes;
  std::vector<int> pids;
  {
    process_runner runner;
    for (int i = 0; i < 3; ++i) {
      auto req = fake(i == 0 ? "hang_ignore_int" : "hang");
      req.env_set.emplace_back("FAKE_CLAUDE_PIDFILE", dir + "/" + std::to_string(i) + ".pid");
      runner.start(req, [&](process_outcome o) {
        std::lock_guard<std::mutex> lock(mutex);
        outcomes.push_back(std::move(o));
      });
    }
    for (int i = 0; i < 3; ++i) pids.push_back(wait_for_pidfile(dir + "/" + std::to_string(i) + ".pid"));
    CHECK(runner.running() == 3);
  }
  REQUIRE(outcomes.size() == 3);
  for (auto& o : outcomes) {
    CHECK(o.end == process_end::cancelled);
    CHECK(o.signal == SIGKILL);
  }
  for (int pid : pids) CHECK(process_gone(pid));
}

TEST_CASE("spawn failures and successes can be mixed freely from many threads", "[process_runner]") {
  process_runner runner;
  std::atomic<int> failed{0}, exited{0}, done{0};
  std::promise<void> all_done;
  auto future = all_done.get_future();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i)
        runner.start(command((i + t) % 2 ? "/bin/true" : "/no/such/binary", {}), [&](process_outcome o) {
          ++(o.end == process_end::spawn_failed ? failed : exited);
          if (++done == 40) all_done.set_value();
        });
    });
  for (auto& t : threads) t.join();
  REQUIRE(future.wait_for(generous) == std::future_status::ready);
  CHECK(failed == 20);
  CHECK(exited == 20);
}

// ---- the guardian and the sweep --------------------------------------------------------------

TEST_CASE("the guardian passes the command's exit code and killing signal on unchanged", "[process_runner]") {
  process_runner runner;
  auto exit3 = run_one(runner, fake("exit3"));
  CHECK(exit3.end == process_end::exited);
  CHECK(exit3.exit_code == 3);
  CHECK(exit3.signal == 0);
  CHECK_THAT(exit3.stderr_data, Catch::Contains("exit status 3"));

  auto crash = run_one(runner, fake("crash"));
  CHECK(crash.end == process_end::signaled);
  CHECK(crash.signal == SIGABRT);
  CHECK(crash.exit_code == -1);

  auto high = run_one(runner, command("/bin/sh", {"-c", "exit 255"}));
  CHECK(high.end == process_end::exited);
  CHECK(high.exit_code == 255);

  for (int sig : {SIGTERM, SIGKILL, SIGSEGV, SIGINT, SIGHUP}) {
    INFO("signal " << sig);
    auto o = run_one(runner, command("/bin/sh", {"-c", "kill -" + std::to_string(sig) + " $$"}));
    CHECK(o.end == process_end::signaled);
    CHECK(o.signal == sig);
    CHECK(o.exit_code == -1);
  }
}

TEST_CASE("every child carries its own run token, which env_set cannot replace", "[process_runner]") {
  process_runner runner;
  auto token_of = [&] {
    auto req = command("/usr/bin/env", {});
    req.env_set = {{run_token_variable, "forged"}};
    auto o = run_one(runner, req);
    std::string key = std::string("\n") + run_token_variable + "=";
    auto at = ("\n" + o.stdout_data).find(key);
    REQUIRE(at != std::string::npos);
    auto line = o.stdout_data.substr(at + key.size() - 1);
    return line.substr(0, line.find('\n'));
  };
  auto first = token_of(), second = token_of();
  CHECK(first != "forged");
  CHECK(first != second);
  CHECK_THAT(first, Catch::Matches("[0-9a-f]{16}-[0-9]+"));
}

namespace {
process_request grandchild_ignoring_term(const std::string& pidfile, bool then_exit) {
  auto req = fake("grandchild_ignores_term");
  req.env_set.emplace_back("FAKE_CLAUDE_PIDFILE", pidfile);
  if (then_exit) req.env_set.emplace_back("FAKE_CLAUDE_THEN", "exit");
  return req;
}
} // namespace

TEST_CASE("a grandchild in its own session that ignores SIGTERM is gone after the CLI exits normally",
          "[process_runner]") {
  process_runner runner;
  auto dir = scratch_dir();
  auto o = run_one(runner, grandchild_ignoring_term(dir + "/grandchild.pid", true));
  CHECK(o.end == process_end::exited);
  CHECK(o.exit_code == 0);
  CHECK_THAT(o.stdout_data, Catch::Contains("left a grandchild that ignores SIGTERM"));
  int grandchild = wait_for_pidfile(dir + "/grandchild.pid");
  CHECK(eventually([&] { return process_gone(grandchild); }));
}

TEST_CASE("a grandchild in its own session that ignores SIGTERM is gone after a timeout", "[process_runner]") {
  process_runner runner;
  auto dir = scratch_dir();
  auto req = grandchild_ignoring_term(dir + "/grandchild.pid", false);
  req.timeout = 1000ms;
  auto o = run_one(runner, req);
  CHECK(o.end == process_end::timed_out);
  CHECK(o.signal == SIGINT);
  int grandchild = wait_for_pidfile(dir + "/grandchild.pid");
  CHECK(eventually([&] { return process_gone(grandchild); }));
}

TEST_CASE("a grandchild in its own session that ignores SIGTERM is gone after cancel", "[process_runner]") {
  process_runner runner;
  auto dir = scratch_dir();
  std::promise<process_outcome> promise;
  auto future = promise.get_future();
  auto id = runner.start(grandchild_ignoring_term(dir + "/grandchild.pid", false),
                         [&](process_outcome o) { promise.set_value(std::move(o)); });
  int grandchild = wait_for_pidfile(dir + "/grandchild.pid");
  CHECK_FALSE(process_gone(grandchild));
  CHECK(runner.cancel(id));
  REQUIRE(future.wait_for(generous) == std::future_status::ready);
  auto o = future.get();
  CHECK(o.end == process_end::cancelled);
  CHECK(o.signal == SIGINT);
  CHECK(eventually([&] { return process_gone(grandchild); }));
}

TEST_CASE("a grandchild is gone even when guardian and CLI were SIGKILLed by the destructor", "[process_runner]") {
  auto dir = scratch_dir();
  int grandchild = 0;
  std::promise<process_outcome> promise;
  auto future = promise.get_future();
  {
    process_runner runner;
    runner.start(grandchild_ignoring_term(dir + "/grandchild.pid", false),
                 [&](process_outcome o) { promise.set_value(std::move(o)); });
    grandchild = wait_for_pidfile(dir + "/grandchild.pid");
  }
  REQUIRE(future.wait_for(generous) == std::future_status::ready);
  auto o = future.get();
  CHECK(o.end == process_end::cancelled);
  CHECK(o.signal == SIGKILL);  // the guardian could not sweep: the runner's own sweep did
  CHECK(eventually([&] { return process_gone(grandchild); }));
}

namespace {
// A `sleep 300` whose whole environment is `entry`; posix_spawn is safe in a threaded test.
pid_t sleeper_with(const std::string& entry) {
  std::string env_entry = entry;
  char* argv[] = {const_cast<char*>("sleep"), const_cast<char*>("300"), nullptr};
  char* envp[] = {env_entry.data(), nullptr};
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, "/bin/sleep", nullptr, nullptr, argv, envp) == 0);
  // Until it has exec'd, /proc shows our environment instead of `entry`.
  REQUIRE(eventually([&] { return slurp("/proc/" + std::to_string(pid) + "/environ") == entry + '\0'; }));
  return pid;
}

bool alive_child(pid_t pid) {
  int st = 0;
  return ::waitpid(pid, &st, WNOHANG) == 0;
}

bool killed_child(pid_t pid) {
  int st = 0;
  return ::waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}
} // namespace

TEST_CASE("kill_processes_with_env kills only processes carrying the exact entry", "[process_runner][sweep]") {
  std::random_device rd;
  const std::string base = "SWEEP_TEST_TOKEN=" + std::to_string(rd()) + std::to_string(rd());
  pid_t a = sleeper_with(base + "-a");
  pid_t b = sleeper_with(base + "-b");
  pid_t longer = sleeper_with(base + "-ab");  // the entry is matched whole, not as a prefix

  CHECK(kill_processes_with_env(base + "-a", 0) == 1);
  CHECK(killed_child(a));
  CHECK(alive_child(b));
  CHECK(alive_child(longer));

  CHECK(kill_processes_with_env(base + "-b", b) == 0);  // `except` is spared
  CHECK(alive_child(b));
  CHECK(kill_processes_with_env(base + "-nobody", 0) == 0);

  CHECK(kill_processes_with_env(std::vector<std::string>{base + "-b", base + "-ab"}, 0) == 2);
  CHECK(killed_child(b));
  CHECK(killed_child(longer));

  CHECK_THROWS_AS(kill_processes_with_env("no equals sign", 0), std::invalid_argument);
}

// ---- the spawner (runtime/process/spawner_link.hpp) ------------------------------------------

namespace {

/// The parent of process `pid` (0 when it is gone).
int parent_of(int pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream in(stat.substr(paren + 2));
  char state = 0;
  int ppid = 0;
  in >> state >> ppid;
  return ppid;
}

std::string comm_of(int pid) {
  auto c = slurp("/proc/" + std::to_string(pid) + "/comm");
  return c.empty() ? c : c.substr(0, c.size() - 1);
}

} // namespace

TEST_CASE("children are started by the spawner, not forked from this process",
          "[process_runner][spawner]") {
  process_runner runner;
  auto o = run_one(runner, command("/bin/sh", {"-c", "echo $PPID"}));
  REQUIRE(o.end == process_end::exited);
  int spawner = std::stoi(o.stdout_data);
  CHECK(spawner != ::getpid());
  CHECK(comm_of(spawner) == "claude-pool-spa"); // the kernel keeps 15 characters
  CHECK(parent_of(spawner) == ::getpid());
  // The same spawner serves the next child: one per runner.
  auto again = run_one(runner, command("/bin/sh", {"-c", "echo $PPID"}));
  CHECK(std::stoi(again.stdout_data) == spawner);
}

TEST_CASE("a dead spawner: its running children end as killed, and the next start gets a new "
          "spawner",
          "[process_runner][spawner]") {
  process_runner runner;
  auto dir = scratch_dir();
  auto promise = std::make_shared<std::promise<process_outcome>>();
  auto future = promise->get_future();
  runner.start(command("/bin/sh", {"-c", "echo $$ > " + dir + "/pid; exec sleep 300"}),
               [promise](process_outcome o) { promise->set_value(std::move(o)); });
  int child = wait_for_pidfile(dir + "/pid");
  int spawner = parent_of(child);
  REQUIRE(spawner > 0);
  REQUIRE(spawner != ::getpid());
  ::kill(spawner, SIGKILL);
  REQUIRE(future.wait_for(generous) == std::future_status::ready);
  auto o = future.get();
  CHECK(o.end == process_end::signaled); // a crash, which the pool may retry
  CHECK(o.signal == SIGKILL);
  CHECK(eventually([&] { return process_gone(child); }));
  auto next = run_one(runner, command("/bin/sh", {"-c", "echo $PPID; exit 4"}));
  CHECK(next.end == process_end::exited);
  CHECK(next.exit_code == 4);
  CHECK(std::stoi(next.stdout_data) != spawner);
}

TEST_CASE("CLAUDE_POOL_SPAWNER chooses the spawner: none forks under a guardian, a bad path "
          "fails the start naming it",
          "[process_runner][spawner]") {
  ::setenv("CLAUDE_POOL_SPAWNER", "none", 1);
  {
    process_runner runner;
    auto o = run_one(runner, command("/bin/sh", {"-c", "echo $PPID; exit 5"}));
    CHECK(o.exit_code == 5);
    int guardian = std::stoi(o.stdout_data);
    CHECK(guardian == o.pid); // the guardian leads the group and is the command's parent
  }
  ::setenv("CLAUDE_POOL_SPAWNER", "/nonexistent/claude-pool-spawner", 1);
  {
    process_runner runner;
    auto o = run_one(runner, command("/bin/true", {}));
    CHECK(o.end == process_end::spawn_failed);
    CHECK_THAT(o.spawn_error, Catch::Contains("/nonexistent/claude-pool-spawner"));
  }
  ::unsetenv("CLAUDE_POOL_SPAWNER");
}
