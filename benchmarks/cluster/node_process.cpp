#include "benchmarks/cluster/node_process.hpp"

#include "runtime/process/spawn.hpp"

#include <cerrno>
#include <csignal>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include <sys/resource.h>
#include <sys/wait.h>

namespace claude_pool::bench {

namespace {

constexpr auto poll_interval = std::chrono::milliseconds(20);

} // namespace

node_process::node_process(const std::vector<std::string>& argv, std::string log,
                           const std::vector<std::string>& unset)
  : log_(std::move(log)) {
  runtime::spawn_spec spec;
  spec.executable = argv.at(0);
  spec.args.assign(argv.begin() + 1, argv.end());
  spec.env_unset = unset;
  spec.in = runtime::spawn_stream::null_device();
  spec.out = runtime::spawn_stream::file(log_);
  spec.err = runtime::spawn_stream::same_as_out();
  // A killed benchmark takes its nodes along (and they take their CLI processes along).
  spec.parent_death_signal = SIGKILL;
  // The benchmark's own sockets (a client's connection) stay out of the node.
  spec.close_other_descriptors = true;
  auto started = runtime::spawn(spec);
  if (!started)
    throw std::runtime_error(started.error);
  pid_ = started.pid;
}

node_process::~node_process() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
}

void node_process::reaped(int status, const rusage& ru) {
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  cpu_s_ = secs(ru.ru_utime) + secs(ru.ru_stime);
  reaped_ = true;
  exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool node_process::running() {
  if (reaped_)
    return false;
  int st = 0;
  rusage ru{};
  if (::wait4(pid_, &st, WNOHANG, &ru) == pid_)
    reaped(st, ru);
  return !reaped_;
}

std::uint16_t node_process::wait_for_port(const std::string& file, std::chrono::seconds bound) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in(file);
    unsigned port = 0;
    if (in >> port && port != 0 && port < 65536)
      return static_cast<std::uint16_t>(port);
    if (!running())
      throw std::runtime_error("the node exited (" + std::to_string(exit_)
                               + ") before it listened: " + log_tail());
    std::this_thread::sleep_for(poll_interval);
  }
  throw std::runtime_error("no port in " + file + " after " + std::to_string(bound.count())
                           + " s: " + log_tail());
}

void node_process::terminate() {
  if (running())
    ::kill(pid_, SIGTERM);
}

bool node_process::wait_until(std::chrono::steady_clock::time_point until) {
  while (running() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(poll_interval);
  return !running();
}

int node_process::stop(std::chrono::milliseconds grace) {
  terminate();
  if (!wait_until(std::chrono::steady_clock::now() + grace)) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    rusage ru{};
    while (::wait4(pid_, &st, 0, &ru) < 0 && errno == EINTR) {
    }
    reaped(st, ru);
  }
  return exit_;
}

std::string node_process::log_tail(std::size_t bytes) const {
  std::ifstream in(log_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > bytes ? "…" + text.substr(text.size() - bytes) : text;
}

} // namespace claude_pool::bench
