#include "runtime/process/descendant_sweep.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>

// Everything up to the C++ wrappers at the end runs in the forked guardian too: system calls,
// stack buffers and memcmp/memcpy/strlen only (async-signal-safe), no allocation, no stdio.

namespace claude_pool::runtime {

namespace {

// The fixed part of a linux_dirent64 record; the NUL-terminated name follows it.
struct dirent64_head {
  std::uint64_t ino;
  std::int64_t off;
  unsigned short reclen;
  unsigned char type;
};
constexpr std::size_t dirent_name_offset = offsetof(dirent64_head, type) + 1;

// "/proc/<pid>/<leaf>" into `buf` (64 bytes are plenty).
void proc_path(char* buf, pid_t pid, const char* leaf) {
  char digits[16];
  int n = 0;
  auto v = static_cast<unsigned long>(pid);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < 16);
  for (const char* s = "/proc/"; *s != '\0';) *buf++ = *s++;
  while (n > 0) *buf++ = digits[--n];
  *buf++ = '/';
  while (*leaf != '\0') *buf++ = *leaf++;
  *buf = '\0';
}

bool parse_pid(const char* name, pid_t& pid) {
  long v = 0;
  if (*name == '\0') return false;
  for (; *name != '\0'; ++name) {
    if (*name < '0' || *name > '9' || v > 100000000L) return false;
    v = v * 10 + (*name - '0');
  }
  pid = static_cast<pid_t>(v);
  return v > 0;
}

int open_proc_file(pid_t pid, const char* leaf) {
  char path[64];
  proc_path(path, pid, leaf);
  int fd;
  do fd = ::open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  return fd;
}

// The process group from /proc/<pid>/stat ("pid (comm) state ppid pgrp ..."; comm may hold
// spaces and parentheses, hence the last ')').
bool in_group(pid_t pid, pid_t pgid) {
  int fd = open_proc_file(pid, "stat");
  if (fd < 0) return false;
  char buf[512];
  ssize_t n;
  do n = ::read(fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* p = nullptr;
  for (ssize_t i = n - 1; i >= 0 && p == nullptr; --i)
    if (buf[i] == ')') p = buf + i + 1;
  if (p == nullptr) return false;
  for (int field = 0; field < 2; ++field) {  // skip " state", then " ppid"
    while (*p == ' ') ++p;
    while (*p != ' ' && *p != '\0') ++p;
  }
  while (*p == ' ') ++p;
  long group = 0;
  bool any = false;
  for (; *p >= '0' && *p <= '9'; ++p, any = true) group = group * 10 + (*p - '0');
  return any && group == pgid;
}

struct entry_set {
  const char* const* entries;
  const std::size_t* lengths;
  std::size_t count;
};

bool is_one_of(const char* s, std::size_t len, const entry_set& set) {
  for (std::size_t i = 0; i < set.count; ++i)
    if (set.lengths[i] == len && std::memcmp(set.entries[i], s, len) == 0) return true;
  return false;
}

// Whether the NUL-separated /proc/<pid>/environ holds one of the entries. Unreadable (another
// user's process, a zombie, gone): false.
bool environ_has(pid_t pid, const entry_set& set) {
  if (set.count == 0) return false;
  int fd = open_proc_file(pid, "environ");
  if (fd < 0) return false;
  char buf[4096];
  char current[sweep_max_entry_length + 1];
  std::size_t len = 0;
  bool too_long = false, found = false;
  while (!found) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n && !found; ++i) {
      if (buf[i] == '\0') {
        found = !too_long && is_one_of(current, len, set);
        len = 0;
        too_long = false;
      } else if (len < sizeof current) {
        current[len++] = buf[i];
      } else {
        too_long = true;
      }
    }
  }
  if (!found && len > 0 && !too_long) found = is_one_of(current, len, set);  // no final NUL
  ::close(fd);
  return found;
}

bool targeted(pid_t pid, const sweep_target& t, const entry_set& set) {
  return (t.pgid > 0 && in_group(pid, t.pgid)) || environ_has(pid, set);
}

// Pins the process with a pidfd, checks again that it is the one we mean, then signals
// through the pidfd: a pid recycled in between cannot be hit.
bool kill_pinned(pid_t pid, const sweep_target& t, const entry_set& set) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    bool sent = targeted(pid, t, set) && ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0;
    ::close(pidfd);
    return sent;
  }
  if (errno == ESRCH) return false;  // gone already
#endif
  return ::kill(pid, SIGKILL) == 0;  // old kernel or seccomp: the plain, racy way
}

} // namespace

std::size_t sweep_pass(const sweep_target& t) noexcept {
  const int saved_errno = errno;
  std::size_t lengths[sweep_max_entries];
  entry_set set{t.entries, lengths, t.entries == nullptr ? 0 : t.entry_count};
  if (set.count > sweep_max_entries) set.count = sweep_max_entries;
  for (std::size_t i = 0; i < set.count; ++i) lengths[i] = std::strlen(t.entries[i]);
  if (set.count == 0 && t.pgid <= 0) return 0;

  const pid_t self = ::getpid();
  int dir;
  do dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (dir < 0 && errno == EINTR);
  if (dir < 0) {
    errno = saved_errno;
    return 0;
  }
  std::size_t killed = 0;
  alignas(8) char buf[8192];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (long pos = 0; pos < n;) {
      dirent64_head head;
      std::memcpy(&head, buf + pos, sizeof head);
      const char* name = buf + pos + dirent_name_offset;
      if (head.reclen == 0) break;  // cannot happen; never loop forever
      pos += head.reclen;
      pid_t pid = 0;
      if (!parse_pid(name, pid) || pid == self || pid == t.except) continue;
      if (targeted(pid, t, set) && kill_pinned(pid, t, set)) ++killed;
    }
  }
  ::close(dir);
  errno = saved_errno;
  return killed;
}

std::size_t kill_processes_with_env(const std::vector<std::string>& entries, pid_t except) {
  for (const auto& e : entries)
    if (e.find('=') == std::string::npos || e.size() > sweep_max_entry_length ||
        e.find('\0') != std::string::npos)
      throw std::invalid_argument("kill_processes_with_env: not a NAME=value entry of at most 255 bytes: " +
                                  e.substr(0, 64));
  std::size_t killed = 0;
  std::vector<const char*> batch;
  for (std::size_t i = 0; i < entries.size(); i += sweep_max_entries) {
    batch.clear();
    for (std::size_t j = i; j < entries.size() && j < i + sweep_max_entries; ++j) batch.push_back(entries[j].c_str());
    sweep_target t;
    t.entries = batch.data();
    t.entry_count = batch.size();
    t.except = except;
    killed += sweep_pass(t);
  }
  return killed;
}

std::size_t kill_processes_with_env(const std::string& entry, pid_t except) {
  return kill_processes_with_env(std::vector<std::string>{entry}, except);
}

} // namespace claude_pool::runtime
