#include "runtime/process/launch_plan.hpp"

#include "runtime/process/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace claude_pool::runtime::detail {

namespace {

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string current_dir() {
  std::string buf(4096, '\0');
  while (::getcwd(buf.data(), buf.size()) == nullptr) {
    if (errno != ERANGE) return {};
    buf.resize(buf.size() * 2);
  }
  return buf.c_str();
}

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  std::string cwd = current_dir();
  return cwd.empty() ? path : cwd + "/" + path;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

bool fill_environment(const spawn_spec& spec, launch_plan& plan, std::string& error) {
  // Reading environ races with setenv() in other threads, as any exec does.
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) plan.env_storage.emplace_back(*e);
  auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  auto erase_key = [&](const std::string& key) {
    auto& env = plan.env_storage;
    env.erase(std::remove_if(env.begin(), env.end(), [&](const std::string& kv) { return key_of(kv) == key; }),
              env.end());
  };
  for (const auto& key : spec.env_unset) erase_key(key);
  for (const auto& [key, value] : spec.env_set) {
    if (key.empty() || key.find('=') != std::string::npos)
      return error = "cannot start " + spec.executable + ": invalid environment variable name '" + key + "'", false;
    erase_key(key);
    plan.env_storage.push_back(key + "=" + value);
  }
  if (spec.guardian_token.empty()) return true;
  // The run token always wins: neither env_set nor an inherited value (a pool started by a
  // pool) may replace it, or the sweep would look for the wrong processes.
  erase_key(key_of(spec.guardian_token));
  plan.env_storage.push_back(spec.guardian_token);
  plan.token_entry = spec.guardian_token;
  plan.token_entries[0] = plan.token_entry.c_str();
  return true;
}

bool find_executable(const spawn_spec& spec, launch_plan& plan, std::string& error) {
  if (spec.executable.find('/') != std::string::npos) {
    plan.path = absolute(spec.executable);
    return true;
  }
  std::string search = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& kv : plan.env_storage)
    if (kv.compare(0, 5, "PATH=") == 0) search = kv.substr(5);
  std::size_t begin = 0;
  while (plan.path.empty() && begin <= search.size()) {
    std::size_t end = search.find(':', begin);
    if (end == std::string::npos) end = search.size();
    std::string dir = search.substr(begin, end - begin);
    std::string candidate = absolute((dir.empty() ? std::string(".") : dir) + "/" + spec.executable);
    if (is_executable_file(candidate)) plan.path = candidate;
    begin = end + 1;
  }
  if (plan.path.empty()) return error = "executable not found in PATH: " + spec.executable, false;
  return true;
}

// The descriptor that becomes stream `target` of the child (>= 3, so the dup2s in the child
// cannot clobber each other), or -1 to keep the inherited one.
bool resolve_stream(const spawn_stream& s, int target, launch_plan& plan, int& source, std::string& error) {
  const std::string& exe = plan.executable;
  int e = 0;
  unique_fd fd;
  switch (s.what) {
    case spawn_stream::kind::inherit: return true;
    case spawn_stream::kind::same_as_out:
      if (target != 2) return error = "cannot start " + exe + ": only stderr can go where stdout goes", false;
      plan.err_to_out = true;
      return true;
    case spawn_stream::kind::descriptor:
      if (s.fd >= 3) return source = s.fd, true;
      if (!duplicate_above_stdio(s.fd, fd, e))
        return error = "cannot pass descriptor " + std::to_string(s.fd) + " to " + exe + ": " + errno_text(e), false;
      break;
    case spawn_stream::kind::null_device:
    case spawn_stream::kind::file: {
      const bool null = s.what == spawn_stream::kind::null_device;
      const std::string path = null ? "/dev/null" : s.path;
      const int flags = target == 0 ? O_RDONLY : (null ? O_WRONLY : O_WRONLY | O_CREAT | O_TRUNC);
      fd.reset(::open(path.c_str(), flags | O_CLOEXEC, 0600));
      if (fd.get() < 0)
        e = errno;
      else if (fd.get() < 3)
        duplicate_above_stdio(fd.get(), fd, e);
      if (e != 0) return error = "cannot open " + path + " for " + exe + ": " + errno_text(e), false;
      break;
    }
  }
  source = fd.get();
  plan.opened.push_back(std::move(fd));
  return true;
}

} // namespace

bool prepare(const spawn_spec& spec, launch_plan& plan, std::string& error) {
  if (spec.executable.empty()) return error = "cannot start a process: the executable name is empty", false;
  plan.executable = spec.executable;
  if (!fill_environment(spec, plan, error) || !find_executable(spec, plan, error)) return false;
  if (!resolve_stream(spec.in, 0, plan, plan.in, error) || !resolve_stream(spec.out, 1, plan, plan.out, error) ||
      !resolve_stream(spec.err, 2, plan, plan.err, error))
    return false;
  plan.argv_storage.reserve(spec.args.size() + 1);
  plan.argv_storage.push_back(spec.executable);
  plan.argv_storage.insert(plan.argv_storage.end(), spec.args.begin(), spec.args.end());
  plan.argv = pointers_to(plan.argv_storage);
  plan.envp = pointers_to(plan.env_storage);
  plan.working_dir = spec.working_dir;
  plan.new_process_group = spec.new_process_group;
  plan.close_other_descriptors = spec.close_other_descriptors;
  plan.parent_death_signal = spec.parent_death_signal;
  plan.parent = ::getpid();
  return true;
}

// ---- after fork: async-signal-safe calls only ----------------------------------------------

void report_and_exit(int status_fd, child_stage stage, int err) {
  child_failure f{static_cast<int>(stage), err};
  const char* p = reinterpret_cast<const char*>(&f);
  std::size_t left = sizeof f;
  while (left > 0) {
    ssize_t n = ::write(status_fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::_exit(127);
}

void reset_dispositions() {
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // EINVAL for some: fine
}

bool attach_stdio(const launch_plan& plan) {
  // All sources are >= 3, so each dup2 creates a fresh descriptor without FD_CLOEXEC.
  const int sources[3] = {plan.in, plan.out, plan.err};
  for (int target = 0; target < 3; ++target)
    if (sources[target] >= 0 && ::dup2(sources[target], target) < 0) return false;
  return !plan.err_to_out || ::dup2(1, 2) >= 0;
}

void close_from(int low) {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, static_cast<unsigned>(low), ~0u, 0u) == 0) return;
#endif
  int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    for (int fd = low; fd < 65536; ++fd) ::close(fd);
    return;
  }
  alignas(8) char buf[4096];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long pos = 0; pos < n;) {
      unsigned short reclen;
      std::memcpy(&reclen, buf + pos + 16, sizeof reclen);  // linux_dirent64: d_reclen at 16
      const char* name = buf + pos + 19;                    // d_name at 19
      if (reclen == 0) break;
      pos += reclen;
      int fd = 0;
      bool numeric = *name != '\0';
      for (const char* c = name; *c != '\0' && numeric; ++c) {
        numeric = *c >= '0' && *c <= '9';
        fd = fd * 10 + (*c - '0');
      }
      if (numeric && fd >= low && fd != dir) ::close(fd);
    }
  }
  ::close(dir);
}

void exec_or_report(const launch_plan& plan, int status_fd) {
  if (!plan.working_dir.empty() && ::chdir(plan.working_dir.c_str()) != 0)
    report_and_exit(status_fd, child_stage::chdir, errno);
  ::execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  report_and_exit(status_fd, child_stage::exec, errno);
}

// ---- back in the caller ---------------------------------------------------------------------

bool failed_before_exec(int status_read_end, child_failure& failure) {
  std::size_t got = 0;
  while (got < sizeof failure) {
    ssize_t n = ::read(status_read_end, reinterpret_cast<char*>(&failure) + got, sizeof failure - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got == sizeof failure;
}

std::string describe_failure(const launch_plan& plan, child_failure f) {
  const std::string& exe = plan.executable;
  switch (static_cast<child_stage>(f.stage)) {
    case child_stage::chdir:
      return "cannot change to working directory " + plan.working_dir + " for " + exe + ": " + errno_text(f.error);
    case child_stage::exec: {
      struct stat st;
      bool exists = ::stat(plan.path.c_str(), &st) == 0;
      if (f.error == ENOENT && exists)
        return "cannot execute " + exe + ": its #! interpreter was not found";
      if (f.error == ENOENT) return "executable not found: " + exe;
      if (f.error == EACCES && exists && S_ISDIR(st.st_mode)) return "permission denied: " + exe + " is a directory";
      if (f.error == EACCES) return "permission denied: " + exe + " is not executable";
      if (f.error == ENOEXEC) return "not an executable format: " + exe;
      return "cannot execute " + exe + ": " + errno_text(f.error);
    }
    case child_stage::fork: return "cannot fork to start " + exe + ": " + errno_text(f.error);
    case child_stage::setup: break;
  }
  return "cannot set up the child process for " + exe + ": " + errno_text(f.error);
}

} // namespace claude_pool::runtime::detail
