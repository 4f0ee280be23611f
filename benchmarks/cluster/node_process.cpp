#include "benchmarks/cluster/node_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace claude_pool::bench {

namespace {

constexpr auto poll_interval = std::chrono::milliseconds(20);

bool drops(const std::string& entry, const std::vector<std::string>& unset) {
  for (auto& name : unset)
    if (entry.rfind(name + "=", 0) == 0)
      return true;
  return false;
}

} // namespace

node_process::node_process(const std::vector<std::string>& argv, std::string log,
                           const std::vector<std::string>& unset)
  : log_(std::move(log)) {
  // Everything the child needs is built before fork(): between fork and exec a threaded
  // parent's child may only make async-signal-safe calls.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (!drops(*e, unset))
      env.emplace_back(*e);
  std::vector<char*> args, envp;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || in < 0) {
    if (out >= 0)
      ::close(out);
    if (in >= 0)
      ::close(in);
    throw std::runtime_error("cannot open " + log_ + ": " + std::strerror(errno));
  }
  auto parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // posix_spawn cannot ask for PR_SET_PDEATHSIG: a killed benchmark takes its nodes along
    // (and they take their CLI processes along).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
#ifdef SYS_close_range
    // The benchmark's own sockets (a client's connection) stay out of the node.
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
#endif
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(out);
  ::close(in);
  if (pid_ < 0)
    throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
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
