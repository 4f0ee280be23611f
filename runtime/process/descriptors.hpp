#pragma once
// File descriptors as the tree's process code uses them (spawn, the process runner, git):
// an owning handle, a close-on-exec pipe whose ends cannot land on 0/1/2, and errno as words.

#include <unistd.h>

#include <string>
#include <utility>

namespace claude_pool::runtime {

/// Owns one descriptor; closes it when destroyed or reset.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);  // never retried: on Linux the fd is gone even on EINTR
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

/// A close-on-exec pipe whose ends are >= 3, so dup2 onto 0/1/2 in a child cannot clobber
/// one stream with another. False with `err` (errno) set when it cannot be made.
bool open_pipe(unique_fd& read_end, unique_fd& write_end, int& err);

/// A close-on-exec duplicate of `fd` numbered >= 3 (same reason as open_pipe).
bool duplicate_above_stdio(int fd, unique_fd& copy, int& err);

/// strerror, thread-safe.
std::string errno_text(int e);

} // namespace claude_pool::runtime
