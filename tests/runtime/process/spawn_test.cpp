#include "runtime/process/spawn.hpp"

#include "runtime/process/descriptors.hpp"

#include "../../support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

using namespace claude_pool::runtime;
using claude_pool::testing::temp_dir;
using Catch::Matchers::Contains;

namespace {

// The exit code, or 128 + signal.
int reap(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string contents(const std::string& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

spawn_spec shell_free(std::string executable, std::vector<std::string> args) {
  spawn_spec spec;
  spec.executable = std::move(executable);
  spec.args = std::move(args);
  return spec;
}

} // namespace

TEST_CASE("spawn runs a program found in PATH, with argv as given and stdout in a file",
          "[spawn]") {
  temp_dir dir("spawn-test");
  auto spec = shell_free("printf", {"%s|%s", "a b", "$HOME;"});
  spec.out = spawn_stream::file(dir / "out");
  auto started = spawn(spec);
  REQUIRE(started);
  CHECK(reap(started.pid) == 0);
  CHECK(contents(dir / "out") == "a b|$HOME;");  // no shell: nothing expanded or split
}

TEST_CASE("spawn names the executable and the cause when it cannot start", "[spawn]") {
  temp_dir dir("spawn-test");
  auto missing = spawn(shell_free("no-such-program-for-spawn-xyz", {}));
  CHECK_FALSE(missing);
  CHECK(missing.error == "executable not found in PATH: no-such-program-for-spawn-xyz");

  auto spec = shell_free("/bin/true", {});
  spec.working_dir = dir / "gone";
  auto no_dir = spawn(spec);
  CHECK_FALSE(no_dir);
  CHECK_THAT(no_dir.error, Contains("cannot change to working directory " + dir / "gone") &&
                             Contains("/bin/true"));

  auto not_executable = spawn(shell_free(dir.path, {}));
  CHECK_FALSE(not_executable);
  CHECK_THAT(not_executable.error, Contains("permission denied") && Contains(dir.path));
}

TEST_CASE("spawn sets and unsets environment variables and sends stderr where stdout goes",
          "[spawn]") {
  temp_dir dir("spawn-test");
  ::setenv("SPAWN_TEST_DROPPED", "inherited", 1);
  ::setenv("SPAWN_TEST_REPLACED", "inherited", 1);
  auto spec = shell_free("/bin/sh", {"-c", "echo \"[$SPAWN_TEST_DROPPED][$SPAWN_TEST_REPLACED]\"; "
                                           "env | grep -c SPAWN_TEST_REPLACED= >&2; pwd"});
  spec.env_unset = {"SPAWN_TEST_DROPPED"};
  spec.env_set = {{"SPAWN_TEST_REPLACED", "set"}};
  spec.working_dir = dir.path;
  spec.out = spawn_stream::file(dir / "log");
  spec.err = spawn_stream::same_as_out();
  auto started = spawn(spec);
  ::unsetenv("SPAWN_TEST_DROPPED");
  ::unsetenv("SPAWN_TEST_REPLACED");
  REQUIRE(started);
  CHECK(reap(started.pid) == 0);
  CHECK(contents(dir / "log") == "[][set]\n1\n" + dir.path + "\n");
}

TEST_CASE("spawn starts a child with a clean signal mask and, when asked, in its own group",
          "[spawn]") {
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &term, &old);
  auto spec = shell_free("/bin/sleep", {"30"});
  spec.new_process_group = true;
  spec.in = spawn_stream::null_device();
  auto started = spawn(spec);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  REQUIRE(started);
  CHECK(::getpgid(started.pid) == started.pid);
  REQUIRE(::kill(-started.pid, SIGTERM) == 0);
  CHECK(reap(started.pid) == 128 + SIGTERM);  // SIGTERM was not blocked in the child
}

TEST_CASE("spawn passes a descriptor as stdin and can close every other one", "[spawn]") {
  temp_dir dir("spawn-test");
  unique_fd r, w, stray_r, stray_w;
  int e = 0;
  REQUIRE(open_pipe(r, w, e));
  REQUIRE(open_pipe(stray_r, stray_w, e));
  // Not close-on-exec: only close_other_descriptors keeps it out of the child.
  int inherited = ::dup(stray_w.get());
  REQUIRE(inherited >= 0);
  const std::string fd = std::to_string(inherited);
  auto spec = shell_free("/bin/sh", {"-c", "cat; [ -e /proc/$$/fd/" + fd + " ] && echo open || echo closed"});
  spec.in = spawn_stream::descriptor(r.get());
  spec.out = spawn_stream::file(dir / "out");
  spec.close_other_descriptors = true;
  auto started = spawn(spec);
  spec.in = spawn_stream::null_device();
  spec.out = spawn_stream::file(dir / "kept");
  spec.close_other_descriptors = false;
  auto keeping = spawn(spec);
  ::close(inherited);
  REQUIRE(started);
  REQUIRE(keeping);
  r.reset();
  REQUIRE(::write(w.get(), "fed\n", 4) == 4);
  w.reset();
  CHECK(reap(started.pid) == 0);
  CHECK(reap(keeping.pid) == 0);
  CHECK(contents(dir / "out") == "fed\nclosed\n");
  CHECK(contents(dir / "kept") == "open\n");
}
