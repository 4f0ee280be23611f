// Process hygiene of the claude-pool program: when it is SIGKILLed mid-batch (no destructor, no
// signal handler runs), no CLI process and no tool the CLI started may outlive it, not even a
// tool in its own session that ignores SIGTERM and SIGINT.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/eventually.hpp"
#include "runtime/process/process_runner.hpp"

extern char** environ;

using namespace std::chrono_literals;
using claude_pool::testing::eventually;

namespace {

constexpr auto generous = 60s;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}


struct proc_entry {
  int pid;
  char state;
  int session;
};

bool has_entry(const std::string& environ_data, const std::string& entry, bool prefix = false) {
  for (std::size_t at = 0; at < environ_data.size();) {
    std::size_t nul = environ_data.find('\0', at);
    if (nul == std::string::npos) nul = environ_data.size();
    std::size_t len = prefix ? std::min(entry.size(), nul - at) : nul - at;
    if (environ_data.compare(at, len, entry) == 0 && (!prefix || nul - at >= entry.size())) return true;
    at = nul + 1;
  }
  return false;
}

// Live (not zombie) processes whose environment holds `entry`.
std::vector<proc_entry> carriers_of(const std::string& entry) {
  std::vector<proc_entry> found;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return found;
  while (dirent* d = ::readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(d->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    const std::string base = "/proc/" + std::to_string(pid);
    if (!has_entry(slurp(base + "/environ"), entry)) continue;
    // "pid (comm) state ppid pgrp session ..."
    std::string stat = slurp(base + "/stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 1));
    proc_entry p{static_cast<int>(pid), '?', 0};
    int ppid = 0, pgrp = 0;
    rest >> p.state >> ppid >> pgrp >> p.session;
    if (p.state != 'Z' && p.state != 'X') found.push_back(p);
  }
  ::closedir(dir);
  return found;
}

std::string describe(const std::vector<proc_entry>& ps) {
  std::string out;
  for (auto& p : ps) {
    std::string comm = slurp("/proc/" + std::to_string(p.pid) + "/comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    out += std::to_string(p.pid) + " " + comm + " (" + p.state + ", session " + std::to_string(p.session) + ")\n";
  }
  return out;
}

// A batch of 6 tasks on 3 slots whose CLI (the fake) leaves a tool behind that ignores SIGTERM
// and SIGINT in its own session, then hangs; every descendant inherits `marker`.
struct hung_batch {
  std::string dir, tasks, marker;
  std::vector<std::string> args;
  std::vector<std::string> env;  // NAME=value

  hung_batch() {
    std::random_device rd;
    marker = "HYGIENE_MARKER=" + std::to_string(rd()) + "-" + std::to_string(rd());
    char tmpl[] = "/tmp/claude-pool-hygiene.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    tasks = dir + "/tasks.jsonl";
    std::ofstream out(tasks);
    for (int i = 0; i < 6; ++i) out << "{\"prompt\":\"x\"}\n";
    args = {"batch", "--slots", "3", "--claude-bin", CLAUDE_POOL_FAKE_CLI, "--mock-api", "off", tasks};
    // Our environment minus what would change the pool's choices (the pool passes it on).
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv = *e;
      std::string key = kv.substr(0, kv.find('='));
      if (key == "ANTHROPIC_API_KEY" || key == "ANTHROPIC_BASE_URL" || key == "CLAUDE_POOL_CLAUDE_BIN" ||
          key.rfind("FAKE_CLAUDE_", 0) == 0)
        continue;
      env.push_back(kv);
    }
    env.push_back("FAKE_CLAUDE_MODE=grandchild_ignores_term");
    env.push_back(marker);
  }
  ~hung_batch() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  // The tools: marker carriers that lead their own session (the fake's grandchildren).
  std::size_t tools() const {
    std::size_t n = 0;
    for (auto& p : carriers_of(marker)) n += p.session == p.pid ? 1 : 0;
    return n;
  }

  // True when nothing carrying the marker is left alive; kills and lists leftovers otherwise.
  bool nothing_left() const {
    std::vector<proc_entry> left;
    bool none = eventually([&] {
      left = carriers_of(marker);
      return left.empty();
    });
    UNSCOPED_INFO("still alive:\n" << describe(left));
    for (auto& p : left) ::kill(p.pid, SIGKILL);  // do not let a failure leak into other tests
    return none;
  }
};

} // namespace

TEST_CASE("a SIGKILLed claude-pool leaves no CLI process and no tool behind", "[integration][hygiene]") {
  hung_batch batch;
  std::vector<std::string> args = batch.args;
  args.insert(args.begin(), CLAUDE_POOL_APP);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : batch.env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t files;
  ::posix_spawn_file_actions_init(&files);
  ::posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
  ::posix_spawn_file_actions_addopen(&files, 2, (batch.dir + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pool = 0;
  int rc = ::posix_spawn(&pool, CLAUDE_POOL_APP, &files, nullptr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&files);
  REQUIRE(rc == 0);

  bool three_tools = eventually([&] { return batch.tools() >= 3; });
  INFO("claude-pool stderr:\n" << slurp(batch.dir + "/stderr"));
  INFO("marker carriers before the kill:\n" << describe(carriers_of(batch.marker)));
  if (!three_tools) ::kill(pool, SIGKILL);
  REQUIRE(three_tools);
  // claude-pool, its spawner, and per slot the CLI and its tool.
  CHECK(carriers_of(batch.marker).size() >= 8);

  REQUIRE(::kill(pool, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(pool, &status, 0) == pool);
  CHECK(WIFSIGNALED(status));
  CHECK(batch.nothing_left());
}

TEST_CASE("claude-pool run by a process_runner and stopped with SIGKILL leaves nothing behind",
          "[integration][hygiene]") {
  // Pool in a pool: the inner guardians are forks of claude-pool and so show the outer run
  // token; the outer runner's sweep must not kill them before they swept their own tools.
  hung_batch batch;
  claude_pool::runtime::process_runner runner;
  claude_pool::runtime::process_request req;
  req.executable = CLAUDE_POOL_APP;
  req.args = batch.args;
  req.env_unset = {"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CLAUDE_POOL_CLAUDE_BIN"};
  req.env_set = {{"FAKE_CLAUDE_MODE", "grandchild_ignores_term"},
                 {batch.marker.substr(0, batch.marker.find('=')), batch.marker.substr(batch.marker.find('=') + 1)}};
  req.kill_grace = std::chrono::milliseconds(0);  // cancel = SIGKILL to claude-pool's group at once
  std::promise<claude_pool::runtime::process_outcome> done;
  auto id = runner.start(req, [&](claude_pool::runtime::process_outcome o) { done.set_value(std::move(o)); });

  bool three_tools = eventually([&] { return batch.tools() >= 3; });
  INFO("marker carriers before the kill:\n" << describe(carriers_of(batch.marker)));
  bool inner_spawner = false;  // the inner pool's children come from its spawner
  for (auto& p : carriers_of(batch.marker))
    inner_spawner |= slurp("/proc/" + std::to_string(p.pid) + "/comm") == "claude-pool-spa\n";
  if (three_tools && !inner_spawner) {  // CLAUDE_POOL_SPAWNER=none: guardians
    std::size_t hidden = 0;  // inner guardians, whose copy of the outer token was renamed
    for (auto& p : carriers_of(batch.marker))
      hidden += has_entry(slurp("/proc/" + std::to_string(p.pid) + "/environ"), "CLAUDE_POOL_RUN_GUARD=", true);
    CHECK(hidden == 3);
  }
  REQUIRE(runner.cancel(id));
  auto future = done.get_future();
  REQUIRE(future.wait_for(generous) == std::future_status::ready);
  auto outcome = future.get();
  INFO("claude-pool stderr:\n" << outcome.stderr_data);
  REQUIRE(three_tools);
  CHECK(outcome.end == claude_pool::runtime::process_end::cancelled);
  CHECK(outcome.signal == SIGKILL);
  CHECK(batch.nothing_left());
}
